/**
 * A bounded reader of tar headers in a local file, for untrusted tars (air-gap
 * imports). It reads headers at their offsets and never buffers entry data, so
 * validating a tar costs one pass over its headers whatever the entries hold:
 *
 * - ustar, GNU and PAX formats; octal and base-256 sizes; the ustar `prefix` field;
 *   PAX `path`/`size`/`linkpath` records; GNU long names (`L`) and long links (`K`).
 * - Extension headers (PAX, GNU long names) are bounded ({@link MAX_EXTENSION_BYTES});
 *   a declared size past the end of the file is a truncated tar, refused before
 *   anything is read or allocated for it.
 * - Checksums are verified, so anything that is not a tar stops at its first header.
 *
 * Internal: never exported from the public entry points.
 */

import type { FileHandle } from 'node:fs/promises';
import { ChartproofError } from '../errors.js';

/** Largest PAX or GNU long-name extension header accepted (64 KiB). */
export const MAX_EXTENSION_BYTES = 64 * 1024;

const BLOCK = 512;
const WINDOW = 1024 * 1024;

/** One entry, with its data's offset and size in the file. */
export interface TarEntry {
  /** Name as stored (after PAX / GNU long-name overrides), not normalised. */
  name: string;
  /** `file`, `directory`, or the raw type for anything else (`symlink`, `link`, `fifo`, …). */
  type: string;
  size: number;
  /** Offset of the entry's data in the file. */
  offset: number;
}

const TYPES: Record<string, string> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
  S: 'gnu-sparse',
  V: 'gnu-volume-header',
  M: 'gnu-multivolume',
};

/** Positional reads through a 1 MiB window, so consecutive small headers cost one read. */
class Window {
  #buf = Buffer.alloc(0);
  #start = 0;
  constructor(
    private readonly handle: FileHandle,
    readonly fileSize: number,
  ) {}

  /** The bytes at `pos` when the window holds them all, else undefined (then {@link fill}). */
  get(pos: number, length: number): Buffer | undefined {
    if (pos < this.#start || pos + length > this.#start + this.#buf.length) return undefined;
    return this.#buf.subarray(pos - this.#start, pos - this.#start + length);
  }

  async fill(pos: number, length: number): Promise<Buffer> {
    const size = Math.max(Math.min(Math.max(WINDOW, length), this.fileSize - pos), 0);
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await this.handle.read(buf, got, buf.length - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.#buf = buf.subarray(0, got);
    this.#start = pos;
    return this.#buf.subarray(0, Math.min(length, got));
  }
}

function cString(buf: Buffer, start: number, length: number): string {
  const field = buf.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
}

/** A numeric field: octal ASCII, or GNU base-256 (high bit set). Undefined when malformed. */
function numeric(buf: Buffer, start: number, length: number): number | undefined {
  const field = buf.subarray(start, start + length);
  if (field[0]! & 0x80) {
    if (field[0] === 0xff) return undefined; // negative
    let v = BigInt(field[0]! & 0x7f);
    for (let i = 1; i < field.length; i++) v = (v << 8n) | BigInt(field[i]!);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(v);
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return Number.parseInt(text, 8);
}

const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** The header checksum: the unsigned byte sum with the checksum field as spaces (or, as old tars wrote, the signed sum). */
function checksumOk(header: Buffer): boolean {
  const stored = numeric(header, 148, 8);
  if (stored === undefined) return false;
  let unsigned = 8 * 0x20;
  let high = 0;
  for (let i = 0; i < BLOCK; i++) {
    if (i === 148) i = 156;
    const b = header[i]!;
    unsigned += b;
    if (b > 127) high++;
  }
  return stored === unsigned || stored === unsigned - 256 * high;
}

/** PAX extended header records (`<len> <key>=<value>\n`). */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    if (data[i] === 0) break;
    const space = data.indexOf(0x20, i);
    if (space < 0) throw new Error('malformed PAX record');
    const len = Number(data.subarray(i, space).toString('latin1'));
    if (!Number.isSafeInteger(len) || len <= space - i || i + len > data.length || data[i + len - 1] !== 0x0a)
      throw new Error('malformed PAX record');
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq < 0) throw new Error('malformed PAX record');
    out.set(record.slice(0, eq), record.slice(eq + 1));
    i += len;
  }
  return out;
}

/** Errors of the reader, before the caller adds the file name. */
export class TarFormatError extends Error {}

/**
 * Calls `visit` with each entry of the tar file open as `handle` (of `fileSize` bytes),
 * in order, awaiting it only when it returns a promise (headers in the current window
 * are read synchronously). A file entry declaring more than `maxFileBytes` throws
 * `SIZE_LIMIT_EXCEEDED` before anything is read or allocated for it. Format problems
 * throw {@link TarFormatError}.
 */
export async function readTarEntries(
  handle: FileHandle,
  fileSize: number,
  maxFileBytes: number,
  visit: (entry: TarEntry) => void | Promise<void>,
): Promise<void> {
  const win = new Window(handle, fileSize);
  let pos = 0;
  let longName: string | undefined;
  let pax = new Map<string, string>();
  let global = new Map<string, string>();
  for (;;) {
    if (pos + BLOCK > fileSize) {
      if (pos >= fileSize && pos > 0) return; // end without the zero blocks (lenient, like Go)
      throw new TarFormatError('unexpected end of file');
    }
    const header = win.get(pos, BLOCK) ?? (await win.fill(pos, BLOCK));
    if (header.length < BLOCK) throw new TarFormatError('unexpected end of file');
    if (header.equals(ZERO_BLOCK)) return; // end-of-archive marker
    if (!checksumOk(header))
      throw new TarFormatError(pos === 0 ? 'not a tar file' : 'invalid header checksum');
    const flag = String.fromCharCode(header[156]!);
    const declared = numeric(header, 124, 12);
    if (declared === undefined) throw new TarFormatError('invalid size field');
    const ustar = header.subarray(257, 263).toString('latin1') === 'ustar\0';
    let name = cString(header, 0, 100);
    if (ustar) {
      const prefix = cString(header, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const dataAt = pos + BLOCK;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (declared > MAX_EXTENSION_BYTES)
        throw new ChartproofError(
          'SIZE_LIMIT_EXCEEDED',
          `a ${flag === 'x' || flag === 'g' ? 'PAX' : 'GNU long-name'} header of ${declared} bytes exceeds ${MAX_EXTENSION_BYTES}`,
        );
      if (dataAt + declared > fileSize) throw new TarFormatError('unexpected end of file');
      const data = Buffer.from(win.get(dataAt, declared) ?? (await win.fill(dataAt, declared)));
      try {
        if (flag === 'x') pax = paxRecords(data);
        else if (flag === 'g') global = paxRecords(data);
        else if (flag === 'L') longName = cString(data, 0, data.length);
      } catch (e) {
        throw new TarFormatError((e as Error).message);
      }
      pos = dataAt + Math.ceil(declared / BLOCK) * BLOCK;
      continue;
    }
    const paxPath = pax.get('path') ?? global.get('path');
    if (paxPath !== undefined) name = paxPath;
    else if (longName !== undefined) name = longName;
    let size = declared;
    const paxSize = pax.get('size') ?? global.get('size');
    if (paxSize !== undefined) {
      if (!/^[0-9]+$/.test(paxSize)) throw new TarFormatError('invalid PAX size');
      size = Number(paxSize);
      if (!Number.isSafeInteger(size)) size = Number.POSITIVE_INFINITY;
    }
    const sparse = [...pax.keys()].some((k) => k.startsWith('GNU.sparse.'));
    pax = new Map();
    longName = undefined;
    const type = sparse ? 'gnu-sparse' : (TYPES[flag] ?? `type ${JSON.stringify(flag)}`);
    const dataSize = type === 'directory' ? 0 : size;
    if (type === 'file' && dataSize > maxFileBytes)
      throw new ChartproofError(
        'SIZE_LIMIT_EXCEEDED',
        `${JSON.stringify(name)} declares ${dataSize} bytes, more than the limit of ${maxFileBytes}`,
      );
    if (dataSize > fileSize - dataAt) throw new TarFormatError(`entry ${JSON.stringify(name)} is truncated`);
    const pending = visit({ name, type, size: dataSize, offset: dataAt });
    if (pending) await pending;
    pos = dataAt + Math.ceil(dataSize / BLOCK) * BLOCK;
  }
}
