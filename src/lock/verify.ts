/**
 * Offline `Chart.lock` checks: is the lock in sync with `Chart.yaml` (as
 * `helm dependency build` decides), and is every locked dependency vendored in
 * `charts/`.
 * @packageDocumentation
 */
import { stat } from 'node:fs/promises';
import { loadChartFile } from '../chart/load.js';
import { loadChartDirectory } from '../chart/package.js';
import type { Chart, ChartLock, ChartMetadata } from '../chart/types.js';
import { ChartproofError } from '../errors.js';
import { hashReq, hashV2Req } from './digest.js';

/** Helm 4's `dependency build` error for a stale `Chart.lock` (Helm 3 stops after "dependencies"). */
const OUT_OF_SYNC_V3 =
  "the lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml). Please update the dependencies with 'helm dependency update'";
/** Helm's error for a stale `requirements.lock` of an apiVersion v1 chart. */
const OUT_OF_SYNC_V1 =
  'the lock file (requirements.lock) is out of sync with the dependencies file (requirements.yaml). Please update the dependencies';
/** What Helm logs before falling back to the Helm 2 hash. */
const V2_FALLBACK_WARNING = 'a valid Helm v3 hash was not found. Checking against Helm v2 hash...';

/**
 * Result of {@link checkLock}.
 * @public
 */
export interface LockCheck {
  /** True when the lock digest matches (or there is neither a lock nor a dependency). */
  inSync: boolean;
  /**
   * Which hash decided: `v3` (`HashReq`), `v2` (`HashV2Req`, apiVersion v1 charts
   * only, after the v3 hash failed), or `none` (no lock file).
   */
  method: 'v3' | 'v2' | 'none';
  /** The digest recorded in the lock (`''` without a lock). */
  expected: string;
  /** The digest computed from `Chart.yaml` and the lock (`''` without a lock). */
  actual: string;
  /** When out of sync: Helm's `dependency build` error text (or ours when the lock is missing). */
  message?: string;
  /** When the Helm 2 hash was accepted: the warning Helm logs. */
  warning?: string;
}

/**
 * Checks a lock against the chart's declared dependencies the way
 * `helm dependency build` does: `HashReq(dependencies, lock.dependencies)` must equal
 * `lock.digest`; for apiVersion v1 charts `HashV2Req(dependencies)` is accepted too
 * (with Helm's warning). On mismatch `message` holds Helm 4's error text.
 *
 * Offline limitation: Helm hashes `@repo` / `alias:repo` repositories after
 * resolving them through `repositories.yaml`; here they are hashed as written.
 * @public
 */
export function checkLock(metadata: ChartMetadata, lock: ChartLock | undefined): LockCheck {
  const v1 = metadata.apiVersion === 'v1';
  const req = metadata.dependencies;
  if (lock === undefined) {
    if (req === undefined || req.length === 0)
      return { inSync: true, method: 'none', expected: '', actual: '' };
    const file = v1 ? 'requirements.lock' : 'Chart.lock';
    return {
      inSync: false,
      method: 'none',
      expected: '',
      actual: '',
      message: `the lock file (${file}) is missing. Please update the dependencies with 'helm dependency update'`,
    };
  }
  const expected = lock.digest;
  const v3 = hashReq(req, lock.dependencies);
  if (v3 === expected) return { inSync: true, method: 'v3', expected, actual: v3 };
  if (!v1) return { inSync: false, method: 'v3', expected, actual: v3, message: OUT_OF_SYNC_V3 };
  const v2 = hashV2Req(req);
  if (v2 === expected)
    return { inSync: true, method: 'v2', expected, actual: v2, warning: V2_FALLBACK_WARNING };
  return { inSync: false, method: 'v2', expected, actual: v2, message: OUT_OF_SYNC_V1 };
}

/**
 * One dependency of a {@link DepsReport}.
 * @public
 */
export interface DependencyResult {
  /** Dependency (chart) name; for `not-locked`, the vendored chart's name. */
  name: string;
  /** Locked version; for `not-locked`, the vendored chart's version. */
  version: string;
  /**
   * `ok`: vendored with the locked version; `missing`: not in `charts/`;
   * `version-mismatch`: vendored with another version; `not-locked`: vendored but
   * not in the lock.
   */
  status: 'ok' | 'missing' | 'version-mismatch' | 'not-locked';
  detail?: string;
}

/**
 * Result of {@link verifyDependencies}.
 * @public
 */
export interface DepsReport {
  /** True when the lock is in sync and every dependency is `ok`. */
  ok: boolean;
  lock: LockCheck;
  dependencies: DependencyResult[];
}

async function loadChart(path: string): Promise<Chart> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    const why = code === 'ENOENT' ? 'no such file or directory' : (err as Error).message;
    throw new ChartproofError('IO', `cannot read chart ${path}: ${why}`, { cause: err });
  }
  return isDir ? (await loadChartDirectory(path)).chart : loadChartFile(path);
}

/**
 * Compares the lock with the vendored subcharts: each locked dependency must be in
 * `charts/` (as an archive or an expanded directory) as a chart whose `Chart.yaml`
 * name is the dependency name (not its alias) and whose version equals the locked
 * version; anything vendored but not locked is reported as `not-locked`.
 * @internal
 */
export function compareVendored(lock: ChartLock | undefined, vendored: readonly Chart[]): DependencyResult[] {
  const remaining = vendored.map((c) => ({ name: c.metadata.name, version: c.metadata.version }));
  const take = (i: number) => remaining.splice(i, 1)[0]!;
  const results: DependencyResult[] = [];
  const locked = lock?.dependencies ?? [];
  for (const dep of locked) {
    const name = dep.name;
    const version = dep.version ?? '';
    const exact = remaining.findIndex((c) => c.name === name && c.version === version);
    if (exact !== -1) {
      take(exact);
      results.push({ name, version, status: 'ok' });
      continue;
    }
    const sameName = remaining.findIndex((c) => c.name === name);
    if (sameName !== -1) {
      const found = take(sameName);
      results.push({
        name,
        version,
        status: 'version-mismatch',
        detail: `charts/ has ${name} version ${found.version}, Chart.lock has ${version}`,
      });
      continue;
    }
    results.push({ name, version, status: 'missing', detail: `${name}-${version} is not in charts/` });
  }
  for (const c of remaining) {
    results.push({
      name: c.name,
      version: c.version,
      status: 'not-locked',
      detail: `charts/ has ${c.name}-${c.version}, which the lock does not list`,
    });
  }
  return results;
}

/**
 * Verifies a chart's dependencies offline, from a chart directory or a `.tgz`:
 * the lock is in sync with `Chart.yaml` ({@link checkLock}), every locked dependency
 * is vendored in `charts/` with the locked version, and nothing unlocked is vendored.
 * Per-dependency content digests are not checked (Helm's lock has none).
 *
 * Errors ({@link ChartproofError}): `IO`, `CHART_INVALID`, `CHART_METADATA_INVALID`,
 * `SIZE_LIMIT_EXCEEDED`.
 * @public
 */
export async function verifyDependencies(path: string): Promise<DepsReport> {
  const chart = await loadChart(path);
  const lock = checkLock(chart.metadata, chart.lock);
  const dependencies = compareVendored(chart.lock, chart.dependencies);
  return { ok: lock.inSync && dependencies.every((d) => d.status === 'ok'), lock, dependencies };
}
