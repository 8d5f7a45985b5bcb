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

/** Marks a request whose connection is dropped. @internal */
export const DROP: unique symbol = Symbol('chartproof.memory-registry.drop');

/** A queued fault with its remaining count. @internal */
export type QueuedFault =
  | { kind: 'fail'; options: FailNextOptions; remaining: number }
  | { kind: 'drop'; options: DropNextOptions; remaining: number };

/**
 * The ordered list of pending faults; the first one matching a request is used
 * (and consumed once its count is exhausted).
 * @internal
 */
export class FaultQueue {
  readonly #faults: QueuedFault[] = [];

  add(kind: 'fail' | 'drop', options: FailNextOptions | DropNextOptions): void {
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
