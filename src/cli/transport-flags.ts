import type { RegistryClientOptions } from '../oci/client.js';
import { formatRegistryEvent } from '../oci/transport/events.js';
import type { Timeouts } from '../oci/transport/fetch.js';
import { DEFAULT_MIN_THROUGHPUT } from '../oci/transport/fetch.js';
import type { CliIo } from './io.js';
import { UsageError } from './io.js';

/** The global flags that tune the transport: `--timeout`, `--min-speed`, `--verbose`. */
export const TRANSPORT_OPTIONS = {
  timeout: { type: 'string' },
  'min-speed': { type: 'string' },
  verbose: { type: 'boolean' },
} as const;

export const TRANSPORT_HELP = `  --timeout DURATION           total deadline of each request for a manifest, index,
                               tag list, token or index.yaml: 30s, 500ms, 2m (default 30s, 0 = none)
  --min-speed RATE             slowest blob transfer in bytes/s, averaged over 30 s: 512, 1k,
                               2M (default 1k, 0 = none)
  --verbose                    log requests, responses, redirects, retries and auth to stderr (redacted)
`;

/**
 * Parses a duration: a number with `ms`, `s` or `m`, or a bare number of seconds.
 * @throws UsageError
 */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m)
    throw new UsageError(`${flag} expects a duration such as 30s, 500ms or 2m, got ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  return Math.round(ms);
}

/**
 * Parses a rate in bytes per second: a number with an optional `k`/`M` (×1024) suffix,
 * optionally followed by `B`, `/s` or `B/s`.
 * @throws UsageError
 */
export function parseRate(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmM]i?)?B?(?:\/s)?$/.exec(text.trim());
  if (!m)
    throw new UsageError(
      `${flag} expects bytes per second such as 512, 1k or 2M, got ${JSON.stringify(text)}`,
    );
  const unit = (m[2] ?? '').toLowerCase().replace('i', '');
  return Math.round(Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1));
}

/** `timeouts` from `--timeout` and `--min-speed` (undefined when neither is given). */
export function timeoutsFromFlags(values: Record<string, unknown>): Timeouts | undefined {
  const out: Timeouts = {};
  if (typeof values.timeout === 'string') out.request = parseDuration(values.timeout, '--timeout');
  if (typeof values['min-speed'] === 'string') {
    const rate = parseRate(values['min-speed'], '--min-speed');
    out.minThroughput = {
      bytes: rate * DEFAULT_MIN_THROUGHPUT.seconds,
      seconds: DEFAULT_MIN_THROUGHPUT.seconds,
    };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The client's event hook for `--verbose`: one redacted line per event on stderr. */
export function verboseHook(io: CliIo): NonNullable<RegistryClientOptions['onEvent']> {
  return (event) => io.stderr(`chartproof: ${formatRegistryEvent(event)}\n`);
}
