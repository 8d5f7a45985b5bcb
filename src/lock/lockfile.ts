/**
 * Reading and writing `Chart.lock` / `requirements.lock` the way Helm writes them
 * (`sigs.k8s.io/yaml.Marshal(lock)`: sorted keys, unindented sequences), with the
 * per-dependency `digest` of helm/helm#32243 and chartproof's `manifestDigest`.
 */
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { formatLock } from '../chart/lock-yaml.js';
import { parseLock } from '../chart/metadata.js';
import type { ChartLock } from '../chart/types.js';
import { ChartproofError } from '../errors.js';
import { writeFileAtomic } from '../fs.js';
import { readFileBounded } from '../internal/read-file.js';

export { formatLock };

/** `Chart.lock`, or `requirements.lock` for apiVersion v1 charts. @public */
export function lockFileName(apiVersion: string): 'Chart.lock' | 'requirements.lock' {
  return apiVersion === 'v1' ? 'requirements.lock' : 'Chart.lock';
}

/**
 * Reads and parses the lock file of a chart directory.
 * @throws ChartproofError `IO` when it cannot be read (`NOT_FOUND` when absent),
 *   `CHART_INVALID` when it does not parse
 * @public
 */
export async function readLockFile(chartDir: string, fileName: string): Promise<ChartLock> {
  const path = join(chartDir, fileName);
  // The bound of one file in a chart archive (the loader's `maxFileBytes` default).
  const data = await readFileBounded(path, {
    maxBytes: 5 * 1024 * 1024,
    what: fileName,
    notFoundCode: true,
  });
  return parseLock(data, fileName);
}

/**
 * Writes a lock file into a chart directory atomically (mode 0644, as Helm does).
 * Like Helm, refuses to write through a symlink.
 * @throws ChartproofError `IO`
 * @public
 */
export async function writeLockFile(
  chartDir: string,
  fileName: string,
  lock: ChartLock,
  options: { signal?: AbortSignal } = {},
): Promise<string> {
  const path = join(chartDir, fileName);
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) {
      const target = await readlink(path);
      throw new ChartproofError('IO', `the ${fileName} file is a symlink to ${JSON.stringify(target)}`);
    }
  } catch (err) {
    if (err instanceof ChartproofError) throw err;
    if ((err as NodeJS.ErrnoException | null)?.code !== 'ENOENT')
      throw new ChartproofError('IO', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
  const writeOptions: { signal?: AbortSignal } = {};
  if (options.signal) writeOptions.signal = options.signal;
  await writeFileAtomic(path, formatLock(lock), 0o644, writeOptions);
  return path;
}
