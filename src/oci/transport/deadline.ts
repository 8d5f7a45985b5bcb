import type { ChartproofError } from '../../errors.js';
import type { HttpResponse, MinThroughput } from './fetch.js';

/**
 * A total deadline: its `signal` aborts (with a `TIMEOUT` error as reason) once `ms`
 * have passed, unless cleared first. `ms` of 0 or less never fires.
 */
export class Deadline {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #end: number;
  #error: ChartproofError | (() => ChartproofError);

  /**
   * `error` may be a function: it is then called once, if the error is needed (an
   * error object per request costs a stack trace and message redaction; see the
   * benchmarks in docs/oci.md).
   */
  constructor(ms: number, error: ChartproofError | (() => ChartproofError)) {
    this.#error = error;
    this.#end = ms > 0 && Number.isFinite(ms) ? Date.now() + ms : Number.POSITIVE_INFINITY;
    if (ms > 0 && Number.isFinite(ms)) {
      this.#timer = setTimeout(() => this.#controller.abort(this.error), ms);
      // A pending deadline alone does not keep the process alive.
      this.#timer.unref?.();
    }
  }

  /** The `TIMEOUT` error the deadline fails with. */
  get error(): ChartproofError {
    if (typeof this.#error === 'function') this.#error = this.#error();
    return this.#error;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Milliseconds left (Infinity without a deadline). */
  remaining(): number {
    return Math.max(0, this.#end - Date.now());
  }

  get expired(): boolean {
    return this.#controller.signal.aborted;
  }

  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }
}

/** How a response body is watched by {@link guardBody}. */
export interface BodyGuard {
  /** Documents: the body fails when this deadline fires. */
  deadline?: Deadline | undefined;
  /** Blobs: the body fails when it flows slower than this. */
  minThroughput?: MinThroughput | undefined;
  /** Builds the error of a too-slow body. */
  slowError?: () => ChartproofError;
  /** The caller's signal: its reason passes through unchanged. */
  signal?: AbortSignal | undefined;
  /** Maps any other body error (e.g. a reset connection) to a typed one. */
  mapError: (e: unknown) => unknown;
  /** Called once when the body ends, fails or is cancelled (or at once without a body). */
  onSettled: (error?: unknown) => void;
  now?: () => number;
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * Wraps a response so that reading its body honours a deadline or a minimum rate.
 * Errors surface on the read that detects them and cancel the underlying body (which
 * releases the connection).
 */
export function guardBody(res: HttpResponse, guard: BodyGuard): HttpResponse {
  if (!res.body || NULL_BODY_STATUSES.has(res.status)) {
    guard.onSettled();
    return res;
  }
  const now = guard.now ?? Date.now;
  const reader = res.body.getReader();
  const mt = guard.minThroughput && guard.minThroughput.bytes > 0 ? guard.minThroughput : undefined;
  const windowMs = mt ? mt.seconds * 1000 : 0;
  // Throughput is measured on a clock that only runs while the reader waits for data.
  let waited = 0;
  let pendingSince: number | undefined;
  const buckets: Array<{ t: number; bytes: number }> = [];
  let inWindow = 0;
  let settled = false;
  let ctrl: ReadableStreamDefaultController<Uint8Array> | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;

  const settle = (error?: unknown) => {
    if (settled) return;
    settled = true;
    if (ticker !== undefined) clearInterval(ticker);
    guard.deadline?.signal.removeEventListener('abort', onDeadline);
    guard.onSettled(error);
  };
  const fail = (error: unknown) => {
    if (settled) return;
    try {
      ctrl?.error(error);
    } catch {
      // already closed
    }
    reader.cancel(error).catch(() => {});
    settle(error);
  };
  const onDeadline = () => fail(guard.deadline!.error);
  const virtualNow = () => waited + (pendingSince === undefined ? 0 : now() - pendingSince);
  const check = () => {
    if (!mt || settled || pendingSince === undefined) return;
    const v = virtualNow();
    if (v < windowMs) return;
    while (buckets.length > 0 && buckets[0]!.t <= v - windowMs) inWindow -= buckets.shift()!.bytes;
    if (inWindow < mt.bytes) fail(guard.slowError!());
  };

  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        ctrl = controller;
        if (guard.deadline) {
          if (guard.deadline.expired) {
            fail(guard.deadline.error);
            return;
          }
          guard.deadline.signal.addEventListener('abort', onDeadline, { once: true });
        }
      },
      async pull(controller) {
        if (settled) return;
        // The rate is watched from the first read on (a body never read costs nothing).
        if (mt && ticker === undefined) {
          ticker = setInterval(check, Math.max(10, Math.min(1000, windowMs / 4)));
          ticker.unref?.();
        }
        pendingSince = now();
        let result: Awaited<ReturnType<typeof reader.read>>;
        try {
          result = await reader.read();
        } catch (e) {
          if (guard.deadline?.expired) fail(guard.deadline.error);
          else if (guard.signal?.aborted) fail(guard.signal.reason);
          else fail(guard.mapError(e));
          return;
        }
        if (settled) return;
        waited += now() - pendingSince;
        pendingSince = undefined;
        if (result.done) {
          controller.close();
          settle();
          return;
        }
        if (mt) {
          const last = buckets[buckets.length - 1];
          if (last && waited - last.t < windowMs / 20) last.bytes += result.value.byteLength;
          else buckets.push({ t: waited, bytes: result.value.byteLength });
          inWindow += result.value.byteLength;
        }
        controller.enqueue(result.value);
      },
      cancel(reason) {
        settle();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return { status: res.status, statusText: res.statusText, headers: res.headers, body: stream };
}
