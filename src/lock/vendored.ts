/**
 * Reads a chart (directory or `.tgz`) for dependency checks: its metadata and lock,
 * and each vendored subchart in `charts/` with its archive digest. Unlike the chart
 * loader, a broken vendored archive does not stop the reading: it is reported with
 * its digest and error, so a tampered dependency shows up as a digest mismatch.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { createBudget, readArchive } from '../chart/archive.js';
import { loadChartArchive, loadFiles } from '../chart/load.js';
import { lockHasNullDependency } from '../chart/metadata.js';
import { readChartDirectory } from '../chart/package.js';
import type { ChartFile, ChartLock, ChartMetadata } from '../chart/types.js';
import { ChartproofError } from '../errors.js';
import { messageOf as message } from '../internal/guards.js';
import { digestOf } from '../oci/digest.js';

/** A subchart found in `charts/`. @internal */
export interface VendoredChart {
  /** `charts/<entry>`: an archive file or a directory. */
  file: string;
  /** From its `Chart.yaml`; undefined when it does not load. */
  name?: string;
  version?: string;
  /** `sha256:<hex>` of the archive; undefined for expanded directories. */
  digest?: string;
  /** Why it does not load as a chart. */
  error?: string;
}

/** A chart read for dependency checks. @internal */
export interface LockedChart {
  metadata: ChartMetadata;
  lock?: ChartLock;
  /** True when the lock lists a null dependency (dropped from `lock`, hashed as `null` by Helm). */
  lockHasNull?: boolean;
  vendored: VendoredChart[];
  /** True when read from a directory (false for a `.tgz`). */
  directory: boolean;
}

async function readFiles(
  path: string,
  signal: AbortSignal | undefined,
): Promise<{ files: ChartFile[]; directory: boolean }> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    const why = code === 'ENOENT' ? 'no such file or directory' : message(err);
    throw new ChartproofError('IO', `cannot read chart ${path}: ${why}`, { cause: err });
  }
  if (isDir) {
    const { files } = await readChartDirectory(path, signal ? { signal } : {});
    return { files, directory: true };
  }
  let data: Uint8Array;
  try {
    data = new Uint8Array(await readFile(path, signal ? { signal } : {}));
  } catch (err) {
    throw new ChartproofError('IO', `cannot read chart ${path}: ${message(err)}`, { cause: err });
  }
  if (!(data[0] === 0x1f && data[1] === 0x8b))
    throw new ChartproofError('CHART_INVALID', `file '${path}' does not appear to be a gzipped archive`);
  const { files } = await readArchive(data, createBudget(signal ? { signal } : {}));
  return { files, directory: false };
}

/**
 * Reads a chart directory or archive: the chart itself is loaded and validated
 * without its `charts/` entries; each `charts/` entry (as Helm groups them: names
 * starting with `_` or `.` skipped, `.prov` files ignored) is hashed and loaded on
 * its own.
 * @internal
 */
export async function readLockedChart(path: string, signal?: AbortSignal): Promise<LockedChart> {
  const { files, directory } = await readFiles(path, signal);
  const own: ChartFile[] = [];
  const groups = new Map<string, ChartFile[]>();
  for (const f of files) {
    if (!f.name.startsWith('charts/')) {
      own.push(f);
      continue;
    }
    if (extname(f.name) === '.prov') continue;
    const rest = f.name.slice('charts/'.length);
    const slash = rest.indexOf('/');
    const group = slash === -1 ? rest : rest.slice(0, slash);
    if (group.startsWith('_') || group.startsWith('.')) continue;
    let list = groups.get(group);
    if (!list) {
      list = [];
      groups.set(group, list);
    }
    list.push({ name: rest, data: f.data });
  }
  const chart = await loadFiles(own, createBudget(signal ? { signal } : {}), 0);
  const vendored: VendoredChart[] = [];
  for (const [group, list] of groups) {
    signal?.throwIfAborted();
    const entry: VendoredChart = { file: `charts/${group}` };
    try {
      if (extname(group) === '.tgz' && list.length === 1 && list[0]!.name === group) {
        const data = list[0]!.data;
        entry.digest = digestOf(data);
        const sub = await loadChartArchive(data, signal ? { signal } : {});
        entry.name = sub.metadata.name;
        entry.version = sub.metadata.version;
      } else {
        const stripped: ChartFile[] = [];
        for (const f of list) {
          const slash = f.name.indexOf('/');
          if (slash !== -1) stripped.push({ name: f.name.slice(slash + 1), data: f.data });
        }
        const sub = await loadFiles(stripped, createBudget(signal ? { signal } : {}), 1);
        entry.name = sub.metadata.name;
        entry.version = sub.metadata.version;
      }
    } catch (err) {
      signal?.throwIfAborted();
      entry.error = message(err);
    }
    vendored.push(entry);
  }
  const out: LockedChart = { metadata: chart.metadata, vendored, directory };
  if (chart.lock) out.lock = chart.lock;
  // The loader keeps the last lock file it reads, as Helm's does.
  const lockFile = own.findLast((f) => f.name === 'Chart.lock' || f.name === 'requirements.lock');
  if (lockFile && lockHasNullDependency(lockFile.data, lockFile.name)) out.lockHasNull = true;
  return out;
}

/**
 * The vendored entry for a locked dependency: a chart with the same name and
 * version, else an unreadable archive named `<name>-<version>.tgz`.
 * @internal
 */
export function findVendored(
  vendored: readonly VendoredChart[],
  dep: { name: string; version?: string },
): VendoredChart | undefined {
  const version = dep.version ?? '';
  return (
    vendored.find((v) => v.name === dep.name && v.version === version) ??
    vendored.find((v) => v.error !== undefined && v.file === `charts/${dep.name}-${version}.tgz`)
  );
}
