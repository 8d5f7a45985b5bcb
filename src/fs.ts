import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ChartproofError } from './errors.js';

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Mode of a parent directory that has to be created. Default 0700. */
  dirMode?: number;
  /** Checked before the final rename: an aborted write leaves nothing behind. */
  signal?: AbortSignal | undefined;
}

/**
 * Writes a file through a temporary sibling (fsynced, then renamed into place), so a
 * reader sees the old content or the new, never half of it. Creates missing parent
 * directories. Failures are `IO` errors and leave no temporary file.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o600,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: options.dirMode ?? 0o700 });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
      await handle.close();
      await chmod(tmp, mode);
      options.signal?.throwIfAborted();
      await rename(tmp, path);
    } catch (e) {
      await handle.close().catch(() => {});
      await rm(tmp, { force: true });
      throw e;
    }
  } catch (e) {
    if (options.signal?.aborted && e === options.signal.reason) throw e;
    throw new ChartproofError('IO', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
