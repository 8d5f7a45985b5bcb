/** Retry policy for transient failures. @public */
export interface RetryPolicy {
  /** Retries after the first attempt. Default 4. 0 disables retries. */
  maxRetries?: number;
  /** First backoff in ms. Default 250. */
  baseDelayMs?: number;
  /** Longest backoff, and longest `Retry-After` honoured, in ms. Default 30 000. */
  maxDelayMs?: number;
  /** Jitter fraction applied to computed backoffs (0..1). Default 0.2. */
  jitter?: number;
}

export { isRetryableStatus } from '../../errors.js';

/**
 * Parses `Retry-After` (delta-seconds or HTTP-date) into milliseconds from `now`.
 * Returns undefined when absent or unparsable.
 * @public
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // HTTP-date: IMF-fixdate, or the obsolete RFC 850 and asctime forms (RFC 9110 §5.6.7).
  if (
    !/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? +\d{1,2}[ -][A-Z][a-z]{2}[ -]\d{2,4} \d{2}:\d{2}:\d{2} GMT$|^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}$/.test(
      v,
    )
  ) {
    return undefined;
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/** Backoff before retry number `attempt` (1-based), with jitter. */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const base = policy.baseDelayMs ?? 250;
  const max = policy.maxDelayMs ?? 30_000;
  const jitter = policy.jitter ?? 0.2;
  const raw = Math.min(max, base * 2 ** (attempt - 1));
  return Math.min(max, Math.max(0, Math.round(raw * (1 - jitter + 2 * jitter * random()))));
}

/** Resolves after `ms`, or rejects with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
