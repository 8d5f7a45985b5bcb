/**
 * `build`: downloads the locked dependencies into `charts/`, each verified against
 * its pinned digest before anything is written.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadChartFile } from '../chart/load.js';
import { ChartproofError, type ErrorCode } from '../errors.js';
import { messageOf } from '../internal/guards.js';
import { writeFileAtomic } from '../fs.js';
import { type DependencySourceOptions, dependencyId, dependencySource, fetchDependency } from './sources.js';
import { loadLockedChart } from './pin.js';
import { findVendored } from './vendored.js';

/** Options of {@link buildDependencies}. @public */
export interface BuildOptions extends DependencySourceOptions {
  /**
   * Download dependencies the lock pins no digest for (unverified, like Helm).
   * Default false: such dependencies fail the build.
   */
  allowUnpinned?: boolean;
  /** Called once per dependency as it is checked. */
  onDependency?: (result: BuiltDependency) => void;
}

/**
 * One dependency of a {@link BuildReport}:
 * - `downloaded`: fetched, verified against the pinned digest, written to `charts/`;
 * - `present`: `charts/` already holds an archive matching the pinned digest;
 * - `skipped`: a local dependency (`file://` or empty repository), left as it is;
 * - `unpinned`: the lock pins no digest (written only with `allowUnpinned`);
 * - `digest-mismatch`: the source served other content than the pinned digest;
 * - `failed`: the source could not be fetched or served another chart.
 * @public
 */
export interface BuiltDependency {
  name: string;
  version: string;
  status: 'downloaded' | 'present' | 'skipped' | 'unpinned' | 'digest-mismatch' | 'failed';
  /** The pinned digest. */
  expected?: string;
  /** The digest of what the source served. */
  actual?: string;
  source?: string;
  /** `charts/<name>-<version>.tgz`, when written or present. */
  file?: string;
  /**
   * `downloaded`: the archive already at `file` that did not match the pin (or did not
   * load) and is overwritten: its digest (undefined when unreadable) and why.
   */
  replaced?: { digest?: string; reason: string };
  detail?: string;
  /** `failed`: the error's code (`NETWORK`, `MANIFEST_UNKNOWN`, `DIGEST_MISMATCH`…), when it had one. */
  errorCode?: ErrorCode;
}

/** Result of {@link buildDependencies}. @public */
export interface BuildReport {
  /** True when every dependency is `downloaded`, `present`, `skipped` (or `unpinned` with `allowUnpinned`). */
  ok: boolean;
  dependencies: BuiltDependency[];
  /** Archives written into `charts/` (only when `ok`). */
  written: string[];
  /** Older archives of the same dependencies removed from `charts/` (only when `ok`). */
  removed: string[];
}

/**
 * Downloads a chart directory's locked dependencies into `charts/` as
 * `<name>-<version>.tgz`, like `helm dependency build`, but each archive must match
 * the digest pinned in the lock (see `pinDependencies`) and be a chart with the
 * locked name and version. Everything is downloaded and checked first; only when
 * every dependency passes are the archives written (each atomically), and then
 * other versions of the same charts removed from `charts/`. On any failure nothing
 * in `charts/` changes.
 * @throws ChartproofError `INVALID_ARGUMENT` (not a directory), `NOT_FOUND` (no lock),
 *   `LOCK_OUT_OF_SYNC`, `IO`
 * @public
 */
export async function buildDependencies(chartDir: string, options: BuildOptions): Promise<BuildReport> {
  const { chart, lock } = await loadLockedChart(chartDir, options.signal);
  const dependencies: BuiltDependency[] = [];
  const staged: Array<{ file: string; data: Uint8Array; name: string }> = [];
  for (const dep of lock.dependencies) {
    const version = dep.version ?? '';
    const file = `charts/${dependencyId(dep)}.tgz`;
    const result: BuiltDependency = { name: dep.name, version, status: 'downloaded' };
    const report = (r: BuiltDependency) => {
      dependencies.push(r);
      options.onDependency?.(r);
    };
    if (dependencySource(dep, options.repositories).kind === 'local') {
      result.status = 'skipped';
      result.detail = `local dependency (${dep.repository || 'empty repository'}): not downloaded`;
      report(result);
      continue;
    }
    if (dep.digest) result.expected = dep.digest;
    const present = findVendored(chart.vendored, dep);
    if (dep.digest && present?.digest === dep.digest && present.error === undefined) {
      result.status = 'present';
      result.file = file;
      report(result);
      continue;
    }
    if (!dep.digest && !options.allowUnpinned) {
      result.status = 'unpinned';
      result.detail = "the lock pins no digest for it: run 'chartproof deps pin' first";
      report(result);
      continue;
    }
    try {
      const fetched = await fetchDependency(dep, options);
      result.source = fetched.location;
      result.actual = fetched.digest;
      if (dep.digest && fetched.digest !== dep.digest) {
        result.status = 'digest-mismatch';
        report(result);
        continue;
      }
      if (!dep.digest) {
        result.status = 'unpinned';
        result.detail = 'downloaded without a pinned digest (allowUnpinned)';
      }
      result.file = file;
      const existing = chart.vendored.find((v) => v.file === file);
      if (existing && (existing.digest !== fetched.digest || existing.error !== undefined)) {
        result.replaced = {
          ...(existing.digest ? { digest: existing.digest } : {}),
          reason:
            existing.error !== undefined
              ? `it does not load: ${existing.error}`
              : dep.digest
                ? 'it did not match the pinned digest'
                : 'it differed from the source',
        };
      }
      staged.push({ file, data: fetched.archive, name: dep.name });
    } catch (err) {
      options.signal?.throwIfAborted();
      result.status = 'failed';
      result.detail = messageOf(err);
      if (err instanceof ChartproofError) result.errorCode = err.code;
    }
    report(result);
  }
  const acceptable = new Set([
    'downloaded',
    'present',
    'skipped',
    ...(options.allowUnpinned ? ['unpinned'] : []),
  ]);
  const ok = dependencies.every((d) => acceptable.has(d.status));
  const out: BuildReport = { ok, dependencies, written: [], removed: [] };
  if (!ok) return out;
  for (const s of staged) {
    await writeFileAtomic(join(chartDir, s.file), s.data, 0o644, {
      dirMode: 0o755,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    out.written.push(s.file);
  }
  out.removed = await removeOutdated(chartDir, lock.dependencies, options.signal);
  return out;
}

/** Removes `charts/*.tgz` archives of a locked chart name at a version other than the locked one. */
async function removeOutdated(
  chartDir: string,
  locked: ReadonlyArray<{ name: string; version?: string }>,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const keep = new Set(locked.map((d) => `${dependencyId(d)}.tgz`));
  const names = new Set(locked.map((d) => d.name));
  let entries: string[];
  try {
    entries = await readdir(join(chartDir, 'charts'));
  } catch (err) {
    throw new ChartproofError('IO', `cannot list ${join(chartDir, 'charts')}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const removed: string[] = [];
  for (const entry of entries.sort()) {
    if (!entry.endsWith('.tgz') || keep.has(entry)) continue;
    signal?.throwIfAborted();
    const path = join(chartDir, 'charts', entry);
    let name: string;
    try {
      name = (await loadChartFile(path)).metadata.name;
    } catch {
      continue; // not a chart we can read: not ours to delete
    }
    if (!names.has(name)) continue;
    await rm(path, { force: true });
    removed.push(`charts/${entry}`);
  }
  return removed;
}
