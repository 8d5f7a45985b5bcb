/**
 * A directory as one tar file, for media that carries single files better than trees
 * (air-gapped transfers). Packing is reproducible: entries sorted by path, mode 0644
 * (files) or 0755 (directories), owner 0, modification time 0, so the same tree gives
 * the same bytes. Unpacking treats the tar as untrusted: only regular files and
 * directories, relative paths without `..`, no duplicates, bounded entry count and
 * sizes; anything else is an error before a byte lands outside the target directory.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import * as tar from 'tar-stream';
import { ChartproofError } from '../errors.js';

/** Limits of {@link unpackTar}. @internal */
export interface UnpackTarOptions {
  /** Maximum number of entries, directories included. Default 100 000. */
  maxEntries?: number;
  /** Maximum size of one file. Default 1 GiB. */
  maxFileBytes?: number;
  /** Maximum total size of all files. Default 16 GiB. */
  maxTotalBytes?: number;
  signal?: AbortSignal;
}

function ioError(what: string, e: unknown): ChartproofError {
  if (e instanceof ChartproofError) return e;
  return new ChartproofError('IO', `${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

/** Relative paths of everything under `dir`, sorted, directories before their content. */
async function walk(dir: string, prefix = ''): Promise<Array<{ path: string; dir: boolean }>> {
  const out: Array<{ path: string; dir: boolean }> = [];
  const names = (await readdir(join(dir, prefix))).sort();
  for (const name of names) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = await lstat(join(dir, rel));
    if (st.isDirectory()) {
      out.push({ path: rel, dir: true });
      out.push(...(await walk(dir, rel)));
    } else if (st.isFile()) out.push({ path: rel, dir: false });
    else throw new ChartproofError('INVALID_ARGUMENT', `${join(dir, rel)}: not a regular file or directory`);
  }
  return out;
}

/**
 * Packs the files and directories under `dir` into the tar file `tarPath`, written
 * through a temporary sibling and renamed into place (a reader never sees half a tar).
 * @throws ChartproofError `IO`, `INVALID_ARGUMENT` (a link or special file in `dir`)
 * @internal
 */
export async function packDirectory(
  dir: string,
  tarPath: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const { signal } = options;
  const tmp = `${tarPath}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const entries = await walk(dir);
    await mkdir(dirname(tarPath), { recursive: true });
    const pack = tar.pack();
    const written = pipeline(pack, createWriteStream(tmp, { flags: 'wx' }), signal ? { signal } : {});
    const add = async () => {
      const common = { uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) };
      for (const e of entries) {
        signal?.throwIfAborted();
        if (e.dir) {
          await new Promise<void>((resolve, reject) =>
            pack.entry({ ...common, name: `${e.path}/`, type: 'directory', mode: 0o755 }, (err) =>
              err ? reject(err) : resolve(),
            ),
          );
          continue;
        }
        const file = join(dir, e.path);
        const { size } = await lstat(file);
        await new Promise<void>((resolve, reject) => {
          const sink = pack.entry({ ...common, name: e.path, type: 'file', mode: 0o644, size }, (err) =>
            err ? reject(err) : resolve(),
          );
          createReadStream(file).on('error', reject).pipe(sink);
        });
      }
      pack.finalize();
    };
    await Promise.all([
      add().catch((e) => {
        pack.destroy(e);
        throw e;
      }),
      written,
    ]);
    const handle = await open(tmp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    signal?.throwIfAborted();
    await rename(tmp, tarPath);
  } catch (e) {
    await rm(tmp, { force: true });
    if (signal?.aborted) throw signal.reason;
    throw ioError(`cannot write ${tarPath}`, e);
  }
}

/** A safe relative path inside the target, or undefined. */
function safePath(name: string): string | undefined {
  const trimmed = name.replace(/\/+$/, '');
  if (trimmed === '' || trimmed.startsWith('/') || trimmed.includes('\\') || trimmed.includes('\0'))
    return undefined;
  const parts = trimmed.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  if (/^[a-zA-Z]:/.test(parts[0]!)) return undefined;
  return parts.join(sep);
}

/**
 * Unpacks the tar file `tarPath` into the directory `dir` (created; it must not exist
 * or be empty). Only regular files and directories are accepted.
 * @throws ChartproofError `INVALID_ARGUMENT` (unsafe or unsupported entry, duplicate,
 *   not a tar), `SIZE_LIMIT_EXCEEDED`, `IO`
 * @internal
 */
export async function unpackTar(tarPath: string, dir: string, options: UnpackTarOptions = {}): Promise<void> {
  const maxEntries = options.maxEntries ?? 100_000;
  const maxFile = options.maxFileBytes ?? 1024 ** 3;
  const maxTotal = options.maxTotalBytes ?? 16 * 1024 ** 3;
  const { signal } = options;
  await mkdir(dir, { recursive: true }).catch((e) => {
    throw ioError(`cannot create ${dir}`, e);
  });
  if ((await readdir(dir)).length > 0)
    throw new ChartproofError('INVALID_ARGUMENT', `${dir} is not empty: will not unpack over it`);
  const seen = new Set<string>();
  let count = 0;
  let total = 0;
  const extract = tar.extract();
  const bad = (message: string) => new ChartproofError('INVALID_ARGUMENT', `${tarPath}: ${message}`);
  extract.on('entry', (header, stream, next) => {
    // The entry's own errors also reach the extractor, which rejects the pipeline.
    stream.on('error', () => {});
    const fail = (e: unknown) => {
      stream.resume();
      next(e as Error);
    };
    try {
      signal?.throwIfAborted();
      if (++count > maxEntries)
        throw new ChartproofError('SIZE_LIMIT_EXCEEDED', `${tarPath}: more than ${maxEntries} entries`);
      const rel = safePath(header.name);
      if (rel === undefined) throw bad(`unsafe path ${JSON.stringify(header.name)}`);
      if (seen.has(rel)) throw bad(`duplicate entry ${JSON.stringify(header.name)}`);
      seen.add(rel);
      const target = join(dir, rel);
      if (header.type === 'directory') {
        stream.resume();
        mkdir(target, { recursive: true }).then(
          () => next(),
          (e) => next(ioError(`cannot create ${target}`, e)),
        );
        return;
      }
      if (header.type !== 'file')
        throw bad(`entry ${JSON.stringify(header.name)} is a ${header.type}: only files and directories`);
      const size = header.size ?? 0;
      if (size > maxFile)
        throw new ChartproofError(
          'SIZE_LIMIT_EXCEEDED',
          `${tarPath}: ${header.name} exceeds ${maxFile} bytes`,
        );
      total += size;
      if (total > maxTotal)
        throw new ChartproofError('SIZE_LIMIT_EXCEEDED', `${tarPath}: content exceeds ${maxTotal} bytes`);
      mkdir(dirname(target), { recursive: true })
        .then(() => pipeline(stream, createWriteStream(target, { flags: 'wx', mode: 0o644 })))
        .then(
          () => next(),
          (e) => fail(ioError(`cannot write ${target}`, e)),
        );
    } catch (e) {
      fail(e);
    }
  });
  try {
    // Anything that is not a tar stops at its first header.
    await pipeline(
      createReadStream(tarPath),
      new Limit(maxTotal * 2 + 1024 ** 2),
      extract,
      signal ? { signal } : {},
    );
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    if (e instanceof ChartproofError) throw e;
    if ((e as NodeJS.ErrnoException)?.code === 'ENOENT')
      throw new ChartproofError('NOT_FOUND', `${tarPath} does not exist`, { cause: e });
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `${tarPath} is not a readable tar file: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

/** Bounds the raw stream (headers and padding included) so a hostile tar cannot run forever. */
class Limit extends Transform {
  #left: number;
  constructor(limit: number) {
    super();
    this.#left = limit;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#left -= chunk.byteLength;
    if (this.#left < 0) done(new ChartproofError('SIZE_LIMIT_EXCEEDED', 'tar stream exceeds its size limit'));
    else done(null, chunk);
  }
}

/** True when `path` names a tar file (by its `.tar` extension). @internal */
export function isTarPath(path: string): boolean {
  return /\.tar$/i.test(path);
}
