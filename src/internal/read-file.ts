/**
 * Reading a local file whose size nobody promised: a values file, a key, a config.
 * A path can name something endless (`/dev/zero`, a FIFO whose writer never stops,
 * `<(yes)`) or a file far larger than the format allows; reading it whole first
 * would exhaust memory before any limit is checked. So the read stops one byte past
 * the bound, whatever the file is, and a regular file that is declared larger is
 * refused before anything is read. Pipes and process substitution keep working.
 *
 * Internal: never exported from the public entry points.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { ChartproofError, type ErrorSource } from '../errors.js';

export interface ReadFileBoundedOptions {
  /** Largest accepted size; one byte more fails with `SIZE_LIMIT_EXCEEDED`. */
  maxBytes: number;
  /** What the file is, for messages (`values file`, `passphrase file`). */
  what: string;
  /** The error source (default `local`). */
  source?: ErrorSource;
  /** A missing file fails with `NOT_FOUND` instead of `IO`. */
  notFoundCode?: boolean;
  signal?: AbortSignal;
}

const CHUNK = 64 * 1024;

/**
 * The bytes of `path`, at most `maxBytes` of them.
 * @throws ChartproofError `SIZE_LIMIT_EXCEEDED`; `IO` (or `NOT_FOUND` with `notFoundCode`) when it cannot be read
 */
export async function readFileBounded(path: string, options: ReadFileBoundedOptions): Promise<Buffer> {
  const { maxBytes, what } = options;
  const source = options.source ?? 'local';
  const tooLarge = () =>
    new ChartproofError('SIZE_LIMIT_EXCEEDED', `${what} ${path} is larger than ${maxBytes} bytes`, {
      source,
    });
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw failed(path, what, e, source, options.notFoundCode === true);
  }
  try {
    const info = await handle.stat();
    if (info.isFile() && info.size > maxBytes) throw tooLarge();
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      // One byte past the bound is enough to know it is too large.
      const want = Math.min(CHUNK, maxBytes + 1 - total);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(buf, 0, want, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw tooLarge();
      parts.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  } catch (e) {
    if (e instanceof ChartproofError || (e as Error)?.name === 'AbortError') throw e;
    throw failed(path, what, e, source, options.notFoundCode === true);
  } finally {
    await handle.close().catch(() => {});
  }
}

/** {@link readFileBounded} for synchronous APIs (no `signal`). */
export function readFileBoundedSync(path: string, options: Omit<ReadFileBoundedOptions, 'signal'>): Buffer {
  const { maxBytes, what } = options;
  const source = options.source ?? 'local';
  const tooLarge = () =>
    new ChartproofError('SIZE_LIMIT_EXCEEDED', `${what} ${path} is larger than ${maxBytes} bytes`, {
      source,
    });
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw failed(path, what, e, source, options.notFoundCode === true);
  }
  try {
    const info = fstatSync(fd);
    if (info.isFile() && info.size > maxBytes) throw tooLarge();
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(CHUNK, maxBytes + 1 - total);
      const buf = Buffer.allocUnsafe(want);
      const n = readSync(fd, buf, 0, want, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw tooLarge();
      parts.push(n === want ? buf : buf.subarray(0, n));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  } catch (e) {
    if (e instanceof ChartproofError) throw e;
    throw failed(path, what, e, source, options.notFoundCode === true);
  } finally {
    try {
      closeSync(fd);
    } catch {
      // already failed or closed: nothing to add
    }
  }
}

/** {@link readFileBounded} as UTF-8 text. */
export async function readTextFileBounded(path: string, options: ReadFileBoundedOptions): Promise<string> {
  return (await readFileBounded(path, options)).toString('utf8');
}

function failed(
  path: string,
  what: string,
  e: unknown,
  source: ErrorSource,
  notFound: boolean,
): ChartproofError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (notFound && code === 'ENOENT')
    return new ChartproofError('NOT_FOUND', `${path} does not exist`, { cause: e, source });
  return new ChartproofError('IO', `cannot read ${what} ${path}: ${(e as Error).message}`, {
    cause: e,
    source,
  });
}
