import { ChartproofError } from '../errors.js';
import { errorResponse, jsonResponse, type RegistryErrorCode } from './registry-responses.js';

/**
 * Which requests a fault applies to. Every criterion given must match.
 * @public
 */
export interface FaultMatch {
  /** How many matching requests the fault applies to. Default 1. */
  times?: number;
  /** Only requests with this method (case-insensitive), e.g. `'PUT'`. */
  method?: string;
  /** Only requests whose path and query (e.g. `/v2/app/blobs/uploads/?digest=…`) match. */
  path?: RegExp;
}

/**
 * An error response to answer instead of serving the request.
 * @public
 */
export interface FailNextOptions extends FaultMatch {
  /** HTTP status, 200–599 (e.g. 429, 500, 503). */
  status: number;
  /** Value of a `Retry-After` header, e.g. `'2'` or an HTTP date. */
  retryAfter?: string;
  /**
   * Response body. Default: a distribution-spec error body whose code follows the
   * status (`TOOMANYREQUESTS` for 429, `DENIED` for 403, `UNKNOWN` for 5xx, …).
   */
  body?: string;
}

/**
 * A connection reset instead of a response.
 * @public
 */
export type DropNextOptions = FaultMatch;

/**
 * A slow answer: the request is served as usual, but the response headers wait
 * `headersDelayMs` and the body then trickles out `bytesPerChunk` bytes every
 * `intervalMs` (a "dripping" server, for testing deadlines and minimum rates).
 * @public
 */
export interface SlowNextOptions extends FaultMatch {
  /** Pause between two body chunks, in ms. */
  intervalMs: number;
  /** Bytes per chunk. Default 1. */
  bytesPerChunk?: number;
  /** Delay before the response headers, in ms. Default 0. */
  headersDelayMs?: number;
}

/** Marks a request whose connection is dropped. @internal */
export const DROP: unique symbol = Symbol('chartproof.memory-registry.drop');

/** A queued fault with its remaining count. @internal */
export type QueuedFault =
  | { kind: 'fail'; options: FailNextOptions; remaining: number }
  | { kind: 'drop'; options: DropNextOptions; remaining: number }
  | { kind: 'slow'; options: SlowNextOptions; remaining: number };

/**
 * The ordered list of pending faults; the first one matching a request is used
 * (and consumed once its count is exhausted).
 * @internal
 */
export class FaultQueue {
  readonly #faults: QueuedFault[] = [];

  add(kind: 'fail' | 'drop' | 'slow', options: FailNextOptions | DropNextOptions | SlowNextOptions): void {
    const times = options.times ?? 1;
    if (!Number.isSafeInteger(times) || times < 1) {
      throw new ChartproofError('INVALID_ARGUMENT', `fault times must be a positive integer, got ${times}`);
    }
    if (kind === 'fail') {
      const status = (options as FailNextOptions).status;
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new ChartproofError('INVALID_ARGUMENT', `fault status must be 200-599, got ${status}`);
      }
      this.#faults.push({ kind, options: { ...(options as FailNextOptions) }, remaining: times });
    } else if (kind === 'slow') {
      const o = options as SlowNextOptions;
      const bad = (v: number | undefined, min: number) =>
        v !== undefined && !(Number.isFinite(v) && v >= min);
      if (
        bad(o.intervalMs, 0) ||
        o.intervalMs === undefined ||
        bad(o.bytesPerChunk, 1) ||
        bad(o.headersDelayMs, 0)
      ) {
        throw new ChartproofError(
          'INVALID_ARGUMENT',
          'slow fault needs intervalMs >= 0, bytesPerChunk >= 1 and headersDelayMs >= 0',
        );
      }
      this.#faults.push({ kind, options: { ...o }, remaining: times });
    } else {
      this.#faults.push({ kind, options: { ...options }, remaining: times });
    }
  }

  /** Takes the first fault matching the request, or undefined. */
  take(method: string, pathAndQuery: string): QueuedFault | undefined {
    const index = this.#faults.findIndex((f) => matches(f.options, method, pathAndQuery));
    if (index < 0) return undefined;
    const fault = this.#faults[index]!;
    fault.remaining--;
    if (fault.remaining === 0) this.#faults.splice(index, 1);
    return fault;
  }

  clear(): void {
    this.#faults.length = 0;
  }

  get size(): number {
    return this.#faults.length;
  }
}

function matches(m: FaultMatch, method: string, pathAndQuery: string): boolean {
  if (m.method !== undefined && m.method.toUpperCase() !== method.toUpperCase()) return false;
  if (m.path !== undefined) {
    m.path.lastIndex = 0;
    if (!m.path.test(pathAndQuery)) return false;
  }
  return true;
}

/** The response of a `fail` fault. @internal */
export function faultResponse(options: FailNextOptions): Response {
  const headers: Record<string, string> = {};
  if (options.retryAfter !== undefined) headers['retry-after'] = options.retryAfter;
  if (options.body !== undefined) {
    return new Response(options.body, { status: options.status, headers });
  }
  if (options.status < 400) return jsonResponse(options.status, {}, headers);
  return errorResponse(options.status, codeForStatus(options.status), 'injected fault', headers);
}

function codeForStatus(status: number): RegistryErrorCode {
  switch (status) {
    case 400:
      return 'UNSUPPORTED';
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'DENIED';
    case 404:
      return 'NAME_UNKNOWN';
    case 405:
    case 501:
      return 'UNSUPPORTED';
    case 413:
      return 'SIZE_INVALID';
    case 429:
      return 'TOOMANYREQUESTS';
    default:
      return 'UNKNOWN';
  }
}

/** The error fetch rejects with when a connection is reset. @internal */
export function connectionResetError(): TypeError {
  return new TypeError('fetch failed', {
    cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
  });
}

/**
 * Delays a response's headers and re-chunks its body to trickle out slowly. The
 * trickle stops when the reader cancels (or `signal` aborts). @internal
 */
export async function slowResponse(
  response: Response,
  options: SlowNextOptions,
  signal: AbortSignal,
): Promise<Response> {
  if (options.headersDelayMs) await pause(options.headersDelayMs, signal);
  if (!response.body) return response;
  const source = response.body.getReader();
  const size = options.bytesPerChunk ?? 1;
  let pending: Uint8Array = new Uint8Array(0);
  let first = true;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pending.byteLength === 0) {
          const { done, value } = await source.read();
          if (done) {
            controller.close();
            return;
          }
          pending = value;
        }
        if (!first) await pause(options.intervalMs, signal).catch(() => {});
        first = false;
        if (signal.aborted) {
          controller.error(signal.reason);
          source.cancel().catch(() => {});
          return;
        }
        controller.enqueue(pending.slice(0, size));
        pending = pending.subarray(size);
      },
      cancel(reason) {
        return source.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
