import { attributeErrors, ChartproofError, isChartproofError } from '../errors.js';

/** Exit codes of the CLI. */
export const Exit = {
  ok: 0,
  /** Verification or policy failure. */
  verification: 1,
  /** Usage error or invalid input. */
  usage: 2,
  /** Registry or network failure. */
  registry: 3,
} as const;

/** A usage error: printed with a hint, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Checks the number of positional arguments of a command. */
export function expectArgs(args: string[], count: number, usage: string): string[] {
  if (args.length !== count) throw new UsageError(`expected ${count} argument(s): chartproof ${usage}`);
  return args;
}

/**
 * Helm's `--version RANGE` and `--devel` for a chart fetched by version (pull, inspect,
 * template…): `--devel` lets prereleases match when no `--version` is given (Helm turns
 * it into `>0.0.0-0`) and is ignored with one, as Helm ignores it.
 */
export function versionFlags(values: Record<string, unknown>): {
  version?: string;
  includePrerelease?: true;
} {
  const version = values.version as string | undefined;
  if (version) return { version };
  return values.devel === true ? { includePrerelease: true } : {};
}

/** Codes that mean "the content or signature did not verify", wherever it came from. */
const VERIFICATION = new Set([
  'DIGEST_MISMATCH',
  'SIZE_MISMATCH',
  'TRAILING_DATA',
  'SIGNATURE_INVALID',
  'SIGNATURE_NOT_FOUND',
  'LOCK_OUT_OF_SYNC',
  'IMAGE_OVERLAY_INCOMPLETE',
]);
/** Codes that are about the caller's input when nothing says where the input came from. */
const INPUT = new Set([
  'INVALID_REFERENCE',
  'INVALID_DIGEST',
  'INVALID_ARGUMENT',
  'INVALID_MANIFEST',
  'INVALID_CONFIG',
  'CREDENTIALS_INVALID',
  'IO',
  'CHART_INVALID',
  'CHART_METADATA_INVALID',
  'KEY_INVALID',
  'KEY_UNSUPPORTED',
  'KEY_PASSWORD_INVALID',
]);

/**
 * Node's errors for local files (ENOENT, EACCES, EISDIR, …): they name a `path`.
 * Socket errors (ECONNREFUSED…) name an address instead and stay registry failures.
 */
function isSystemFileError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException | undefined;
  return (
    e instanceof Error && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code) && typeof e.path === 'string'
  );
}

/** True for node:util parseArgs errors (unknown flag, missing value, …). */
export function isParseArgsError(err: unknown): boolean {
  return (
    typeof (err as { code?: unknown })?.code === 'string' &&
    (err as { code: string }).code.startsWith('ERR_PARSE_ARGS')
  );
}

/**
 * The errors in `err`'s cause chain (itself first), bounded.
 */
function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err, i = 0; e !== undefined && e !== null && i < 8; i++) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/**
 * The CLI's JSON error object (`--json`): `{code, message, exitCode, source?}`, the same
 * for failures a command reports itself and for those that reach the top level.
 */
export function errorJson(err: unknown, message: string, exitCode: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    code: isChartproofError(err)
      ? err.code
      : err instanceof UsageError || isParseArgsError(err)
        ? 'USAGE'
        : 'INTERNAL',
    message,
    exitCode,
  };
  if (isChartproofError(err) && err.source) out.source = err.source;
  return out;
}

/**
 * Maps an error to the CLI's exit code (docs/errors.md, "Exit codes"):
 * - 1: content or a signature failed verification (`DIGEST_MISMATCH`, `SIZE_MISMATCH`,
 *   `TRAILING_DATA`, `SIGNATURE_*`, `LOCK_OUT_OF_SYNC`), also when wrapped (a
 *   `CopyError` whose cause is a digest mismatch);
 * - 2: usage errors, and any error whose `source` is `local` (a file, directory,
 *   archive or argument the user gave: a gzip bomb, an unreadable file…); Node's
 *   own file errors; input codes (`INVALID_*`, `CHART_*`, `KEY_*`, `IO`…) when the
 *   source is unknown;
 * - 3: everything else: registries, networks, and content a registry sent that is
 *   malformed or too large (`source` `remote`).
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || isParseArgsError(err)) return Exit.usage;
  for (const e of causes(err)) {
    if (isChartproofError(e) && VERIFICATION.has(e.code)) return Exit.verification;
  }
  if (isChartproofError(err)) {
    const source = causes(err).find((e) => isChartproofError(e) && e.source !== undefined) as
      | ChartproofError
      | undefined;
    if (source?.source === 'local') return Exit.usage;
    if (source?.source === 'remote') return Exit.registry;
    if (INPUT.has(err.code)) return Exit.usage;
    return Exit.registry;
  }
  if (isSystemFileError(err)) return Exit.usage;
  return Exit.registry;
}

/**
 * Runs a phase that reads the user's local input (files, directories, archives,
 * flags): chartproof errors it throws are attributed to `local` (exit 2 unless they
 * are verification failures), and Node's file errors become `IO` errors.
 */
export async function local<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await attributeErrors('local', fn);
  } catch (e) {
    if (!isChartproofError(e) && isSystemFileError(e)) {
      throw new ChartproofError('IO', e.message, { cause: e, source: 'local' });
    }
    throw e;
  }
}

/** Runs a phase that parses content a registry or repository sent: errors are attributed to `remote`. */
export function remote<T>(fn: () => T | Promise<T>): Promise<T> {
  return attributeErrors('remote', fn);
}

/**
 * How much one read of standard input may take, and what it is (named in the error).
 * Standard input is local input: past `maxBytes` the read fails with
 * `SIZE_LIMIT_EXCEEDED` (`source: 'local'`, exit 2) as soon as the limit is passed.
 */
export interface StdinLimit {
  /** Bytes accepted; one more fails. */
  maxBytes: number;
  /** What is read, for the message (`password`, `values`, `Secret list`…). */
  what: string;
}

/** Largest password or passphrase read from standard input (registry tokens are a few KiB). */
export const MAX_SECRET_STDIN_BYTES = 64 * 1024;
/**
 * Largest values text read from standard input (`-f -`, `--set-file k=-`): the
 * renderer's values-file bound (`ValuesYamlLimits.maxBytes` default, 16 MiB).
 */
export const MAX_VALUES_STDIN_BYTES = 16 * 1024 * 1024;

/**
 * Reads `chunks` to the end as UTF-8 text, failing with `SIZE_LIMIT_EXCEEDED` as soon
 * as more than `limit.maxBytes` bytes have come: reading stops there (the iterator
 * is closed, which destroys a Node stream), nothing past the limit is kept.
 */
export async function readBounded(
  chunks: AsyncIterable<Uint8Array | string>,
  limit: StdinLimit,
): Promise<string> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const c of chunks) {
    const b = Buffer.isBuffer(c) ? c : typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c);
    total += b.byteLength;
    if (total > limit.maxBytes) {
      throw new ChartproofError(
        'SIZE_LIMIT_EXCEEDED',
        `standard input (${limit.what}) is larger than ${limit.maxBytes} bytes`,
        { source: 'local' },
      );
    }
    parts.push(b);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  stdout: (chunk: string | Uint8Array) => void;
  stderr: (text: string) => void;
  /** Reads standard input to the end, bounded by `limit` (see {@link readBounded}). */
  readStdin: (limit: StdinLimit) => Promise<string>;
  env: Record<string, string | undefined>;
  /** stderr is a terminal (progress is then redrawn in place). */
  stderrIsTTY?: boolean;
}

/** Process-backed IO. */
export function processIo(): CliIo {
  return {
    stdout: (c) => {
      process.stdout.write(c);
    },
    stderr: (t) => {
      process.stderr.write(t);
    },
    readStdin: (limit) => readBounded(process.stdin, limit),
    env: process.env,
    stderrIsTTY: process.stderr.isTTY === true,
  };
}
