/**
 * A directory as one tar file, for media that carries single files better than trees
 * (air-gapped transfers). Packing is reproducible: entries sorted by path, mode 0644
 * (files) or 0755 (directories), owner 0, modification time 0, so the same tree gives
 * the same bytes. Unpacking treats the tar as untrusted: only regular files and
 * directories, relative paths without `..` (a `./` prefix is accepted), no duplicates,
 * bounded entry count, sizes and extension headers; the whole tar is validated from its
 * headers before the first byte is written.
 */
import { randomBytes } from 'node:crypto';
import { constants, createReadStream, createWriteStream, type Stats } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { ChartproofError } from '../errors.js';
import { readTarEntries, TarFormatError } from '../internal/tar-reader.js';

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

/**
 * The path of a tar entry inside the target, normalised: leading `./` prefixes are
 * dropped (a `tar -cf x.tar .` re-tar) and `''` names the root itself. Undefined when
 * unsafe: absolute, `..`, empty or `.` components after the prefix, backslashes, NULs,
 * drive letters.
 */
function safePath(name: string): string | undefined {
  let rel = name;
  while (rel.startsWith('./')) rel = rel.slice(2);
  rel = rel.replace(/\/+$/, '');
  if (rel === '.' || rel === '') return '';
  if (rel.startsWith('/') || rel.includes('\\') || rel.includes('\0')) return undefined;
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  if (/^[a-zA-Z]:/.test(parts[0]!)) return undefined;
  return parts.join('/');
}

/** Opens `path` for reading only when it is a regular file (a FIFO would block `open`). */
async function openRegular(path: string): Promise<{ handle: FileHandle; size: number }> {
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code === 'ENOENT')
      throw new ChartproofError('NOT_FOUND', `${path} does not exist`, { cause: e });
    throw ioError(`cannot read ${path}`, e);
  }
  if (!st.isFile()) throw new ChartproofError('INVALID_ARGUMENT', `${path} is not a regular file`);
  const handle = await open(
    path,
    constants.O_RDONLY | constants.O_NOFOLLOW | (constants.O_NONBLOCK ?? 0),
  ).catch((e) => {
    throw ioError(`cannot read ${path}`, e);
  });
  const now = await handle.stat();
  if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev) {
    await handle.close();
    throw new ChartproofError('INVALID_ARGUMENT', `${path} changed while it was opened`);
  }
  return { handle, size: now.size };
}

/**
 * Unpacks the tar file `tarPath` into the directory `dir` (created; it must not exist
 * or be empty). Only regular files and directories are accepted; entry names may
 * start with `./` (a `tar -cf x.tar .` of an export), the `./` entry itself included.
 *
 * The tar is validated completely before anything is written, in one pass over its
 * headers that never reads entry data: entry count, paths (nothing escapes `dir`),
 * types, duplicates after normalisation, declared sizes (per file and in total, before
 * anything is allocated) and extension-header sizes. A second pass writes the files,
 * checking the same rules again.
 * @throws ChartproofError `INVALID_ARGUMENT` (unsafe or unsupported entry, duplicate,
 *   not a tar, not a regular file), `SIZE_LIMIT_EXCEEDED`, `NOT_FOUND`, `IO`
 * @internal
 */
export async function unpackTar(tarPath: string, dir: string, options: UnpackTarOptions = {}): Promise<void> {
  const limits = {
    maxEntries: options.maxEntries ?? 100_000,
    maxFile: options.maxFileBytes ?? 1024 ** 3,
    maxTotal: options.maxTotalBytes ?? 16 * 1024 ** 3,
    signal: options.signal,
  };
  const { signal } = options;
  signal?.throwIfAborted();
  const { handle, size } = await openRegular(tarPath);
  try {
    await mkdir(dir, { recursive: true }).catch((e) => {
      throw ioError(`cannot create ${dir}`, e);
    });
    if ((await readdir(dir)).length > 0)
      throw new ChartproofError('INVALID_ARGUMENT', `${dir} is not empty: will not unpack over it`);
    await walkTar(handle, size, tarPath, limits, undefined);
    await walkTar(handle, size, tarPath, limits, dir);
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    if (e instanceof ChartproofError) throw e;
    if (e instanceof TarFormatError)
      throw new ChartproofError('INVALID_ARGUMENT', `${tarPath} is not a readable tar file: ${e.message}`, {
        cause: e,
      });
    throw ioError(`cannot unpack ${tarPath}`, e);
  } finally {
    await handle.close().catch(() => {});
  }
}

interface TarLimits {
  maxEntries: number;
  maxFile: number;
  maxTotal: number;
  signal: AbortSignal | undefined;
}

/** A path of the tree a tar's entries make. */
interface TreeNode {
  file: boolean;
  children?: Map<string, TreeNode>;
}

/** One pass over the entries: validates them all, and writes them when `dir` is given. */
async function walkTar(
  handle: FileHandle,
  size: number,
  tarPath: string,
  limits: TarLimits,
  dir: string | undefined,
): Promise<void> {
  const bad = (message: string) => new ChartproofError('INVALID_ARGUMENT', `${tarPath}: ${message}`);
  const seen = new Set<string>();
  // The tree the entries make (directories: their own, or as parents), one node per path.
  const tree: TreeNode = { file: false };
  let count = 0;
  let total = 0;
  await readTarEntries(handle, size, limits.maxFile, (entry) => {
    if (++count > limits.maxEntries)
      throw new ChartproofError('SIZE_LIMIT_EXCEEDED', `${tarPath}: more than ${limits.maxEntries} entries`);
    if (count % 1024 === 0) limits.signal?.throwIfAborted();
    const rel = safePath(entry.name);
    if (rel === undefined) throw bad(`unsafe path ${JSON.stringify(entry.name)}`);
    if (entry.type !== 'file' && entry.type !== 'directory')
      throw bad(`entry ${JSON.stringify(entry.name)} is a ${entry.type}: only files and directories`);
    if (rel === '') {
      if (entry.type !== 'directory') throw bad(`unsafe path ${JSON.stringify(entry.name)}`);
      return; // the `./` entry of a re-tar: the target itself
    }
    if (seen.has(rel)) throw bad(`duplicate entry ${JSON.stringify(entry.name)}`);
    seen.add(rel);
    // `a` then `a/b` (or the reverse) cannot both be written: a bundle that is not a tree.
    const parts = rel.split('/');
    let node = tree;
    for (let i = 0; i < parts.length; i++) {
      if (node.file)
        throw bad(
          `entry ${JSON.stringify(rel)} is inside ${JSON.stringify(parts.slice(0, i).join('/'))}, which is a file`,
        );
      node.children ??= new Map();
      let next = node.children.get(parts[i]!);
      if (!next) {
        next = { file: false };
        node.children.set(parts[i]!, next);
      }
      node = next;
    }
    if (entry.type === 'file') {
      if (node.children?.size)
        throw bad(`entry ${JSON.stringify(rel)} is a file where another entry has a directory`);
      node.file = true;
    }
    total += entry.size;
    if (total > limits.maxTotal)
      throw new ChartproofError(
        'SIZE_LIMIT_EXCEEDED',
        `${tarPath}: content exceeds ${limits.maxTotal} bytes`,
      );
    if (dir === undefined) return;
    const target = join(dir, ...rel.split('/'));
    if (entry.type === 'directory')
      return mkdir(target, { recursive: true }).then(
        () => undefined,
        (e) => {
          throw ioError(`cannot create ${target}`, e);
        },
      );
    return extractFile(handle, entry.offset, entry.size, target, limits.signal);
  });
}

/** Copies `length` bytes at `offset` of the tar into a new file `target`. */
async function extractFile(
  handle: FileHandle,
  offset: number,
  length: number,
  target: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  let out: FileHandle | undefined;
  try {
    await mkdir(dirname(target), { recursive: true });
    out = await open(target, 'wx', 0o644);
    const buf = Buffer.alloc(Math.min(length, 1024 * 1024));
    for (let done = 0; done < length; ) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, length - done), offset + done);
      if (bytesRead === 0) throw new TarFormatError(`${target}: unexpected end of file`);
      for (let w = 0; w < bytesRead; ) w += (await out.write(buf, w, bytesRead - w)).bytesWritten;
      done += bytesRead;
    }
  } catch (e) {
    if (e instanceof TarFormatError || (signal?.aborted && e === signal.reason)) throw e;
    throw ioError(`cannot write ${target}`, e);
  } finally {
    await out?.close().catch(() => {});
  }
}

/** True when `path` names a tar file (by its `.tar` extension). @internal */
export function isTarPath(path: string): boolean {
  return /\.tar$/i.test(path);
}
