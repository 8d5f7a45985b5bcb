/**
 * Safe reader for gzipped chart archives (`.tgz`).
 *
 * Follows Helm's archive loading rules (first path component stripped, absolute,
 * parent-directory and drive-letter paths rejected, per-file and total size limits,
 * UTF-8 BOM stripped) and is stricter than Helm: links, devices, FIFOs, unknown
 * entry types and duplicate names are rejected, the entry count and the raw
 * decompressed size are bounded, and every failure is a {@link ChartproofError}.
 */

import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { ChartproofError } from '../errors.js';
import { messageOf } from '../internal/guards.js';
import type { Digest } from '../oci/digest.js';
import type { ChartFile } from './types.js';

/**
 * Limits and cancellation for chart loading. Every limit may only be made smaller
 * than Helm's in practice; the defaults are Helm's where Helm has one.
 * @public
 */
export interface LoadOptions {
  /** Maximum total decompressed size of all files (default 100 MiB, Helm's limit). Shared by nested subchart archives. */
  maxTotalBytes?: number;
  /** Maximum decompressed size of one file (default 5 MiB, Helm's limit). */
  maxFileBytes?: number;
  /** Maximum number of tar entries, directories included (default 10 000). Shared by nested subchart archives. */
  maxEntries?: number;
  /** Maximum size of the compressed archive (default 100 MiB). */
  maxCompressedBytes?: number;
  /** Maximum subchart nesting depth (default 10). */
  maxDepth?: number;
  /** Aborts loading; the promise then rejects with code `ABORTED`. */
  signal?: AbortSignal;
}

/** Default limits. @internal */
export const DEFAULT_LIMITS = {
  maxTotalBytes: 100 * 1024 * 1024,
  maxFileBytes: 5 * 1024 * 1024,
  maxEntries: 10_000,
  maxCompressedBytes: 100 * 1024 * 1024,
  maxDepth: 10,
} as const;

/** Budget shared by an archive and the subchart archives nested in it. @internal */
export interface LoadBudget {
  remainingBytes: number;
  remainingEntries: number;
  readonly maxTotalBytes: number;
  readonly maxFileBytes: number;
  readonly maxEntries: number;
  readonly maxCompressedBytes: number;
  readonly maxDepth: number;
  readonly signal: AbortSignal | undefined;
}

/** Creates the shared budget from options, validating the numbers. @internal */
export function createBudget(options: LoadOptions = {}): LoadBudget {
  const pick = (key: keyof typeof DEFAULT_LIMITS): number => {
    const value = options[key];
    if (value === undefined) return DEFAULT_LIMITS[key];
    if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
      throw new ChartproofError('INVALID_ARGUMENT', `option ${key} must be a non-negative finite number`);
    }
    return Math.floor(value);
  };
  const maxTotalBytes = pick('maxTotalBytes');
  const maxEntries = pick('maxEntries');
  return {
    remainingBytes: maxTotalBytes,
    remainingEntries: maxEntries,
    maxTotalBytes,
    maxFileBytes: pick('maxFileBytes'),
    maxEntries,
    maxCompressedBytes: pick('maxCompressedBytes'),
    maxDepth: pick('maxDepth'),
    signal: options.signal,
  };
}

/** Result of reading one archive. @internal */
export interface ArchiveContents {
  files: ChartFile[];
  digest: Digest;
}

const CHUNK = 64 * 1024;
/** Allowance for a tar header, PAX records and padding per entry when bounding raw decompressed bytes. */
const PER_ENTRY_OVERHEAD = 4096;
const FIXED_OVERHEAD = 1024 * 1024;
const DRIVE_PATH = /^[a-zA-Z]:\//;
/** Thrown by the feeder when the tar reader was destroyed; never surfaces if the reader has its own error. */
const READER_STOPPED = new Error('tar reader stopped');

function* chunksOf(data: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < data.byteLength; i += CHUNK)
    yield data.subarray(i, Math.min(i + CHUNK, data.byteLength));
}

/** Counts bytes flowing through and fails once `limit` is passed; optionally hashes them. */
class Meter extends Transform {
  count = 0;
  readonly hash = createHash('sha256');
  constructor(
    private readonly limit: () => number,
    private readonly onExceeded: () => ChartproofError,
    private readonly hashing: boolean,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.count += chunk.byteLength;
    if (this.count > this.limit()) {
      cb(this.onExceeded());
      return;
    }
    if (this.hashing) this.hash.update(chunk);
    cb(null, chunk);
  }
}

function toReadable(data: Uint8Array | ReadableStream<Uint8Array> | Readable): Readable {
  if (data instanceof Uint8Array) return Readable.from(chunksOf(data), { objectMode: false });
  if (data instanceof Readable) return data;
  if (data && typeof (data as ReadableStream<Uint8Array>).getReader === 'function') {
    // biome-ignore lint/suspicious/noExplicitAny: DOM and node:stream/web ReadableStream types differ nominally.
    return Readable.fromWeb(data as any);
  }
  throw new ChartproofError(
    'INVALID_ARGUMENT',
    'chart archive data must be a Uint8Array or a ReadableStream',
  );
}

function drained(stream: tar.Extract): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) {
      resolve();
      return;
    }
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

function describeType(type: string | null | undefined): string {
  switch (type) {
    case 'symlink':
      return 'a symbolic link';
    case 'link':
      return 'a hard link';
    case 'character-device':
      return 'a character device';
    case 'block-device':
      return 'a block device';
    case 'fifo':
      return 'a FIFO';
    default:
      return `of unsupported type ${JSON.stringify(type ?? 'unknown')}`;
  }
}

/** Applies Helm's path rules to one tar entry name; returns the chart-relative name. */
function normalizeEntryName(original: string): string {
  if (original.startsWith('/') || original.startsWith('\\')) {
    // Stricter than Helm, which silently drops the empty first component.
    throw new ChartproofError('CHART_INVALID', 'chart illegally contains absolute paths');
  }
  const delimiter = original.includes('\\') ? '\\' : '/';
  const parts = original.split(delimiter);
  let name = parts.slice(1).join('/');
  if (name.startsWith('/'))
    throw new ChartproofError('CHART_INVALID', 'chart illegally contains absolute paths');
  name = cleanPath(name);
  if (name === '.') {
    throw new ChartproofError(
      'CHART_INVALID',
      `chart illegally contains content outside the base directory: ${JSON.stringify(original)}`,
    );
  }
  if (name.startsWith('..'))
    throw new ChartproofError('CHART_INVALID', 'chart illegally references parent directory');
  if (DRIVE_PATH.test(name))
    throw new ChartproofError('CHART_INVALID', 'chart contains illegally named files');
  if (parts[0] === 'Chart.yaml')
    throw new ChartproofError('CHART_INVALID', 'chart yaml not in base directory');
  return name;
}

/** Lexical path cleaning with `/` separators (same results as Go's `path.Clean`). @internal */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

function stripBom(data: Uint8Array): Uint8Array {
  if (data.byteLength >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf)
    return data.subarray(3);
  return data;
}

function totalError(budget: LoadBudget): ChartproofError {
  return new ChartproofError(
    'SIZE_LIMIT_EXCEEDED',
    `decompressed chart is larger than the maximum size ${budget.maxTotalBytes}`,
  );
}

function wrapError(err: unknown, budget: LoadBudget): ChartproofError {
  if (err instanceof ChartproofError) return err;
  if (budget.signal?.aborted || (err instanceof Error && err.name === 'AbortError')) {
    return new ChartproofError('ABORTED', 'chart loading was aborted', { cause: err });
  }
  const message = messageOf(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new ChartproofError('CHART_INVALID', `chart archive is not valid gzip data: ${message}`, {
      cause: err,
    });
  }
  return new ChartproofError('CHART_INVALID', `unable to read chart archive: ${message}`, { cause: err });
}

/** Reads one archive with a shared budget. @internal */
export async function readArchive(
  data: Uint8Array | ReadableStream<Uint8Array> | Readable,
  budget: LoadBudget,
): Promise<ArchiveContents> {
  if (budget.signal?.aborted) throw wrapError(budget.signal.reason, budget);
  const source = toReadable(data);
  const compressed = new Meter(
    () => budget.maxCompressedBytes,
    () =>
      new ChartproofError(
        'SIZE_LIMIT_EXCEEDED',
        `compressed chart archive is larger than the maximum size ${budget.maxCompressedBytes}`,
      ),
    true,
  );
  // Raw tar bytes = file data (bounded by maxTotalBytes) + per-entry headers and
  // padding. The allowance grows with the entries seen, so streams of zero blocks,
  // padding or trailing junk are cut off after about 1 MiB of extra data.
  const entriesAtStart = budget.remainingEntries;
  const raw = new Meter(
    () =>
      budget.maxTotalBytes +
      FIXED_OVERHEAD +
      (entriesAtStart - budget.remainingEntries + 1) * PER_ENTRY_OVERHEAD,
    () => totalError(budget),
    false,
  );
  // Accept V7 (pre-ustar) headers like Go's archive/tar does; the bundled types omit the option.
  const extractOptions = { allowUnknownFormat: true } as Parameters<typeof tar.extract>[0];
  const extract = tar.extract(extractOptions);

  // tar-stream is built on streamx, so it is fed by hand with backpressure instead of
  // being a stage of node's pipeline().
  const feed = async (chunks: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of chunks) {
      if (extract.destroyed) throw READER_STOPPED;
      if (!extract.write(chunk)) await drained(extract);
    }
    if (!extract.destroyed) (extract as unknown as { end(): void }).end();
  };
  let pipeError: unknown;
  const piped = pipeline(
    source,
    compressed,
    createGunzip(),
    raw,
    feed,
    budget.signal ? { signal: budget.signal } : {},
  ).then(
    () => undefined,
    (err: unknown) => {
      pipeError = err;
      extract.destroy(err instanceof Error ? err : new Error(String(err)));
    },
  );

  const files: ChartFile[] = [];
  const seen = new Set<string>();
  let loopError: unknown;
  try {
    for await (const entry of extract) {
      const header = entry.header;
      if (budget.remainingEntries <= 0) {
        throw new ChartproofError(
          'SIZE_LIMIT_EXCEEDED',
          `chart archive has more than the maximum of ${budget.maxEntries} entries`,
        );
      }
      budget.remainingEntries--;
      const type = header.type;
      if (type === 'directory') {
        entry.resume();
        continue;
      }
      if (type !== 'file' && type !== 'contiguous-file') {
        throw new ChartproofError(
          'CHART_INVALID',
          `chart archive entry ${JSON.stringify(header.name)} is ${describeType(type)}; links and special files are not allowed`,
        );
      }
      const name = normalizeEntryName(header.name);
      const size = header.size ?? 0;
      if (size > budget.remainingBytes) throw totalError(budget);
      if (size > budget.maxFileBytes) {
        throw new ChartproofError(
          'SIZE_LIMIT_EXCEEDED',
          `decompressed chart file ${JSON.stringify(header.name)} is larger than the maximum file size ${budget.maxFileBytes}`,
        );
      }
      if (seen.has(name)) {
        throw new ChartproofError(
          'CHART_INVALID',
          `chart archive contains duplicate entry ${JSON.stringify(name)}`,
        );
      }
      seen.add(name);
      const buffer = new Uint8Array(size);
      let written = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        if (written + chunk.byteLength > size) {
          throw new ChartproofError(
            'CHART_INVALID',
            `chart archive entry ${JSON.stringify(header.name)} is corrupt`,
          );
        }
        buffer.set(chunk, written);
        written += chunk.byteLength;
      }
      if (written < size) throw totalError(budget);
      budget.remainingBytes -= size;
      if (budget.remainingBytes <= 0) throw totalError(budget);
      files.push({ name, data: stripBom(buffer) });
    }
  } catch (err) {
    loopError = err;
    source.destroy();
    extract.destroy();
  }
  await piped;
  if (loopError instanceof ChartproofError) throw loopError;
  if (pipeError instanceof ChartproofError) throw pipeError;
  // The tar reader's own error explains more than the feeder noticing it stopped.
  const cause = loopError ?? (pipeError === READER_STOPPED ? undefined : pipeError);
  if (cause !== undefined) throw wrapError(cause, budget);
  if (pipeError !== undefined) throw wrapError(pipeError, budget);
  if (files.length === 0) throw new ChartproofError('CHART_INVALID', 'no files in chart archive');
  return { files, digest: `sha256:${compressed.hash.digest('hex')}` };
}

/**
 * Reads a gzipped chart archive into its files, applying Helm's path rules and size
 * limits plus chartproof's stricter safety rules (no links, devices, FIFOs or
 * duplicate names; bounded entry count and expansion).
 *
 * Names are relative to the chart root (the archive's first path component is
 * dropped) with `/` separators; a leading UTF-8 BOM is removed from every file.
 * Directory entries are skipped. Errors: `CHART_INVALID`, `SIZE_LIMIT_EXCEEDED`,
 * `ABORTED`.
 * @public
 */
export async function readArchiveEntries(
  data: Uint8Array | ReadableStream<Uint8Array>,
  options?: LoadOptions,
): Promise<ChartFile[]> {
  return (await readArchive(data, createBudget(options))).files;
}
