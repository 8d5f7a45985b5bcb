/**
 * Safe reader for gzipped chart archives (`.tgz`).
 *
 * Follows Helm's archive loading rules (first path component stripped, absolute,
 * parent-directory and drive-letter paths rejected, per-file and total size limits,
 * UTF-8 BOM stripped) and is stricter than Helm: links, devices, FIFOs, unknown
 * entry types and duplicate names are rejected, the entry count and the raw
 * decompressed size are bounded, and every failure is a {@link ChartproofError}.
 * The tar stream is framed as Go's `archive/tar` frames it ({@link GoTarFraming}), so
 * chartproof and Helm read the same entries with the same names.
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

/** How Go's `archive/tar` (Helm's reader) sees one entry. */
interface GoTarEntry {
  name: string;
  /** `hd.FileInfo().IsDir()`: Helm skips the entry. */
  dir: boolean;
  /** Bytes of data that follow the header (0 for header-only types). */
  dataBytes: number;
}

const TAR_BLOCK = 512;
/** Go's `maxSpecialFileSize`: the largest PAX or GNU long-name header it reads. */
const MAX_SPECIAL_FILE = 1024 * 1024;
const KNOWN_TYPEFLAGS = new Set(['0', '\0', '1', '2', '3', '4', '5', '6', '7', 'x', 'g', 'L', 'K']);
const HEADER_ONLY_TYPEFLAGS = new Set(['1', '2', '3', '4', '5', '6']);

function tarError(detail: string): ChartproofError {
  return new ChartproofError('CHART_INVALID', `unable to read chart archive: ${detail}`);
}

/** Go's `parseString`: up to the first NUL. */
function cString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return Buffer.from(b.buffer, b.byteOffset, nul === -1 ? b.byteLength : nul).toString('utf8');
}

/** Go's `parseNumeric` (octal, or base-256 when the high bit is set); NaN where Go fails. */
function goNumeric(b: Uint8Array): number {
  if (b.byteLength > 0 && (b[0]! & 0x80) !== 0) {
    if ((b[0]! & 0x40) !== 0) return -1; // negative: only ever an error or meaningless here
    let x = 0;
    for (let i = 0; i < b.byteLength; i++) x = x * 256 + (i === 0 ? b[0]! & 0x7f : b[i]!);
    return x >= 2 ** 63 ? Number.NaN : x;
  }
  let start = 0;
  let end = b.byteLength;
  while (start < end && (b[start] === 0x20 || b[start] === 0)) start++;
  while (end > start && (b[end - 1] === 0x20 || b[end - 1] === 0)) end--;
  if (start === end) return 0;
  const s = cString(b.subarray(start, end));
  return /^[0-7]+$/.test(s) ? Number.parseInt(s, 8) : Number.NaN;
}

/** Go's `parsePAX`: strict `<len> <key>=<value>\n` records; the last of a key wins. */
function goPax(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let rest = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  while (rest.byteLength > 0) {
    const space = rest.indexOf(0x20);
    const lengthText = space === -1 ? '' : rest.subarray(0, space).toString('latin1');
    const length = /^[+-]?\d+$/.test(lengthText) ? Number(lengthText) : Number.NaN;
    if (!(length >= 5 && length <= rest.byteLength && length > space + 1) || rest[length - 1] !== 0x0a)
      throw tarError('invalid PAX record');
    const record = rest.subarray(space + 1, length - 1).toString('utf8');
    const eq = record.indexOf('=');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    const nulChecked = ['path', 'linkpath', 'uname', 'gname'].includes(key) ? value : key;
    if (eq <= 0 || nulChecked.includes('\0')) throw tarError('invalid PAX record');
    records.set(key, value);
    rest = rest.subarray(length);
  }
  return records;
}

/**
 * Follows the tar stream the way Go's `archive/tar` does and keeps tar-stream to the
 * same reading: it stops at the end-of-archive marker (entries after it are not
 * Helm's), drops PAX global headers (Go ignores them), refuses what Go refuses or
 * reads differently from tar-stream (sparse files, unknown types, STAR and old-GNU
 * prefixes), and records each entry as Go sees it, so the reader can check that
 * tar-stream agrees on every name and size.
 */
class GoTarFraming extends Transform {
  readonly entries: GoTarEntry[] = [];
  #pending: Buffer = Buffer.alloc(0);
  /** Data bytes to pass through (or drop) before the next header. */
  #skip = 0;
  /** An extension header (`x`, `g`, `L`, `K`) waiting for its data. */
  #extension: { header: Buffer; size: number } | undefined;
  #pax: Map<string, string> | undefined;
  #longName: string | undefined;
  #zeroBlock = false;
  #ended = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#pending = this.#pending.byteLength === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    try {
      this.#consume();
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb();
  }

  #consume(): void {
    for (;;) {
      if (this.#ended) {
        this.#pending = Buffer.alloc(0);
        return;
      }
      if (this.#skip > 0) {
        if (this.#pending.byteLength === 0) return;
        const take = Math.min(this.#skip, this.#pending.byteLength);
        this.push(this.#pending.subarray(0, take));
        this.#pending = this.#pending.subarray(take);
        this.#skip -= take;
        continue;
      }
      const extension = this.#extension;
      if (extension) {
        const padded = Math.ceil(extension.size / TAR_BLOCK) * TAR_BLOCK;
        if (this.#pending.byteLength < padded) return;
        const data = this.#pending.subarray(0, extension.size);
        const typeflag = String.fromCharCode(extension.header[156]!);
        if (typeflag === 'g') {
          // Go returns a global header as an entry of its own, which Helm skips;
          // tar-stream would apply it to later entries. Drop it from the stream.
          if (this.#pax || this.#longName !== undefined)
            throw tarError('PAX global header between an entry and its extension headers');
          goPax(data);
        } else {
          this.push(extension.header);
          this.push(this.#pending.subarray(0, padded));
          if (typeflag === 'x') this.#pax = goPax(data);
          else if (typeflag === 'L') this.#longName = cString(data);
        }
        this.#pending = this.#pending.subarray(padded);
        this.#extension = undefined;
        continue;
      }
      if (this.#pending.byteLength < TAR_BLOCK) return;
      const block = this.#pending.subarray(0, TAR_BLOCK);
      this.#pending = this.#pending.subarray(TAR_BLOCK);
      if (block.every((b) => b === 0)) {
        this.push(block);
        // Two zero blocks end the archive for Go; a zero block followed by a header is an error.
        if (this.#zeroBlock) this.#ended = true;
        this.#zeroBlock = true;
        continue;
      }
      if (this.#zeroBlock) throw tarError('data after a zero block');
      this.#header(block);
    }
  }

  #header(block: Buffer): void {
    let unsigned = 0;
    let signed = 0;
    for (let i = 0; i < TAR_BLOCK; i++) {
      const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
      unsigned += b;
      signed += b > 127 ? b - 256 : b;
    }
    const checksum = goNumeric(block.subarray(148, 156));
    if (checksum !== unsigned && checksum !== signed) throw tarError('invalid tar header checksum');
    const typeflag = String.fromCharCode(block[156]!);
    if (!KNOWN_TYPEFLAGS.has(typeflag))
      throw tarError(`tar entry type ${JSON.stringify(typeflag)} is not supported`);
    const magic = block.subarray(257, 263).toString('latin1');
    const version = block.subarray(263, 265).toString('latin1');
    const format =
      magic === 'ustar\0'
        ? block.subarray(508, 512).toString('latin1') === 'tar\0'
          ? 'star'
          : 'ustar'
        : magic === 'ustar ' && version === ' \0'
          ? 'gnu'
          : 'v7';
    const numbers = [
      block.subarray(100, 108),
      block.subarray(108, 116),
      block.subarray(116, 124),
      block.subarray(136, 148),
    ];
    if (format !== 'v7') numbers.push(block.subarray(329, 337), block.subarray(337, 345));
    if (format === 'star') numbers.push(block.subarray(476, 488), block.subarray(488, 500));
    const size = goNumeric(block.subarray(124, 136));
    const mode = goNumeric(block.subarray(100, 108));
    if (!(size >= 0) || numbers.some((n) => Number.isNaN(goNumeric(n))))
      throw tarError('invalid number in tar header');

    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > MAX_SPECIAL_FILE) throw tarError('tar extension header is too large');
      this.#extension = { header: block, size };
      return;
    }

    let prefix = '';
    if (format === 'ustar') prefix = cString(block.subarray(345, 500));
    else if (format === 'star' && block[476] !== 0 && !block.subarray(345, 476).includes(0)) {
      // Go reads a 131-byte prefix here, tar-stream 155 bytes: they disagree on the name.
      throw tarError('unsupported tar header format (STAR prefix)');
    } else if (format === 'star') prefix = cString(block.subarray(345, 476));
    else if (format === 'gnu') {
      // Go falls back to the USTAR prefix when atime/ctime do not parse (golang.org/issue/12594);
      // tar-stream never reads a prefix in GNU headers.
      const bad = (b: Buffer) => b[0] !== 0 && Number.isNaN(goNumeric(b));
      if (bad(block.subarray(345, 357)) || bad(block.subarray(357, 369)))
        throw tarError('unsupported tar header format (GNU header with a prefix)');
    }
    const field = cString(block.subarray(0, 100));
    let name = prefix ? `${prefix}/${field}` : field;
    let entrySize = size;
    const pax = this.#pax;
    if (pax) {
      for (const key of pax.keys()) {
        if (key.startsWith('GNU.sparse.')) throw tarError('sparse files are not supported');
      }
      const path = pax.get('path');
      if (path) name = path;
      const paxSize = pax.get('size');
      if (paxSize) {
        entrySize = /^[+-]?\d+$/.test(paxSize) ? Number(paxSize) : Number.NaN;
        if (!(entrySize >= 0)) throw tarError('invalid PAX size');
      }
    }
    if (this.#longName) name = this.#longName;
    this.#pax = undefined;
    this.#longName = undefined;
    let type = typeflag;
    if (type === '\0') type = name.endsWith('/') ? '5' : '0';
    const dataBytes = HEADER_ONLY_TYPEFLAGS.has(type) ? 0 : entrySize;
    this.entries.push({
      name,
      dir: type === '5' || mode - (mode % 0o10000) === 0o40000,
      dataBytes,
    });
    this.push(block);
    this.#skip = Math.ceil(dataBytes / TAR_BLOCK) * TAR_BLOCK;
  }
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
  const framing = new GoTarFraming();
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
    framing,
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
      const seenByHelm = framing.entries.shift();
      if (type !== 'directory' && type !== 'file' && type !== 'contiguous-file') {
        throw new ChartproofError(
          'CHART_INVALID',
          `chart archive entry ${JSON.stringify(header.name)} is ${describeType(type)}; links and special files are not allowed`,
        );
      }
      // Helm's reader (Go's archive/tar) must see the same entry: same name, same data.
      if (
        seenByHelm?.name !== header.name ||
        seenByHelm.dataBytes !== (type === 'directory' ? 0 : (header.size ?? 0))
      ) {
        throw new ChartproofError(
          'CHART_INVALID',
          `chart archive entry ${JSON.stringify(header.name)} is read differently by Helm's tar reader`,
        );
      }
      // Directories, including files whose mode says directory, which Helm skips too.
      if (seenByHelm.dir) {
        entry.resume();
        continue;
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
