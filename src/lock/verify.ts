/**
 * Offline `Chart.lock` checks: is the lock in sync with `Chart.yaml` (as
 * `helm dependency build` decides), and is every locked dependency vendored in
 * `charts/`.
 */
import type { ChartLock, ChartLockDependency, ChartMetadata } from '../chart/types.js';
import { parseVersionConstraint, satisfiesConstraint } from '../chart/version.js';
import { ChartproofError, type ErrorCode } from '../errors.js';
import { messageOf } from '../internal/guards.js';
import { hashReq, hashV2Req } from './digest.js';
import { type DependencySourceOptions, dependencyId, dependencySource, fetchDependency } from './sources.js';
import { findVendored, readLockedChart, type VendoredChart } from './vendored.js';

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
 * Why the lock is not what Helm's resolver writes for the chart's dependencies (one
 * entry per dependency, in order, with its name and repository and a version
 * satisfying its constraint), or undefined when it is. `@name` / `alias:name`
 * repositories are resolved to URLs before locking and are not compared offline.
 * @internal
 */
export function lockUnresolved(metadata: ChartMetadata, lock: ChartLock | undefined): string | undefined {
  if (lock === undefined) return undefined;
  const file = metadata.apiVersion === 'v1' ? 'requirements.lock' : 'Chart.lock';
  const req = metadata.dependencies ?? [];
  const locked = lock.dependencies ?? [];
  const what = `the lock file (${file}) does not resolve the dependencies of Chart.yaml`;
  const show = (s: unknown) => JSON.stringify(String(s ?? '')).slice(0, 200);
  if (req.length !== locked.length)
    return `${what}: it locks ${locked.length} dependencies, Chart.yaml declares ${req.length}`;
  for (let i = 0; i < req.length; i++) {
    const want = req[i];
    const got = locked[i];
    if (!want || !got) continue; // null entries: reported apart
    const at = `${what}: entry ${i + 1}`;
    if (got.name !== want.name) return `${at} is ${show(got.name)}, Chart.yaml declares ${show(want.name)}`;
    const repository = (want.repository ?? '').trim();
    if (!repository.startsWith('@') && !repository.startsWith('alias:') && got.repository !== want.repository)
      return `${at} (${show(got.name)}) comes from ${show(got.repository)}, Chart.yaml says ${show(want.repository)}`;
    if (repository === '') {
      // A chart already in charts/: Helm locks the constraint as written.
      if (got.version !== want.version)
        return `${at} (${show(got.name)}) is version ${show(got.version)}, Chart.yaml says ${show(want.version)}`;
      continue;
    }
    let inRange: boolean;
    try {
      inRange = satisfiesConstraint(got.version ?? '', parseVersionConstraint(want.version ?? ''));
    } catch {
      inRange = false; // Helm cannot resolve an improper constraint
    }
    if (!inRange)
      return `${at} (${show(got.name)}) is version ${show(got.version)}, outside Chart.yaml's ${show(want.version)}`;
  }
  return undefined;
}

/**
 * Status of one dependency in a {@link DepsReport}:
 * - `ok`: the pinned digest was checked and matched (vendored archive, and the
 *   source with `online`);
 * - `unpinned`: vendored at the locked version, but the lock has no digest, so the
 *   content was not verified;
 * - `digest-mismatch`: the vendored archive (`where: 'vendored'`) or the source
 *   (`where: 'source'`) differs from the pinned digest (`expected`/`actual`);
 * - `missing`: locked but not in `charts/`;
 * - `version-mismatch`: vendored with another version;
 * - `not-locked`: vendored but not in the lock;
 * - `unverifiable`: a digest is pinned but `charts/` holds an expanded directory,
 *   which has no archive digest;
 * - `invalid`: the vendored entry does not load as a chart (and no pinned digest
 *   says otherwise);
 * - `source-error`: `online` and the source could not be fetched.
 * @public
 */
export type DependencyStatus =
  | 'ok'
  | 'unpinned'
  | 'digest-mismatch'
  | 'missing'
  | 'version-mismatch'
  | 'not-locked'
  | 'unverifiable'
  | 'invalid'
  | 'source-error';

/**
 * One dependency of a {@link DepsReport}.
 * @public
 */
export interface DependencyResult {
  /** Dependency (chart) name; for `not-locked`, the vendored chart's name. */
  name: string;
  /** Locked version; for `not-locked`, the vendored chart's version. */
  version: string;
  status: DependencyStatus;
  /** For `digest-mismatch`: which copy differs from the pin. */
  where?: 'vendored' | 'source';
  /** The digest the lock pins (or, unpinned, the source's digest). */
  expected?: string;
  /** The digest found. */
  actual?: string;
  /** What was checked against the pinned digest. */
  checked: { vendored: boolean; source: boolean };
  /** `online`: the source location (`oci://…:tag` or the archive URL). */
  source?: string;
  detail?: string;
  /** `source-error`: the error's code (`NETWORK`, `MANIFEST_UNKNOWN`, `DIGEST_MISMATCH`…), when it had one. */
  errorCode?: ErrorCode;
}

/**
 * Result of {@link verifyDependencies}.
 * @public
 */
export interface DepsReport {
  /**
   * True when the lock is in sync and every dependency is `ok` (or `unpinned`
   * with `allowUnpinned`).
   */
  ok: boolean;
  /** True when the lock pins a content digest for every locked dependency (whether or not each matched). */
  allPinned: boolean;
  /** Whether the sources were contacted. */
  online: boolean;
  lock: LockCheck;
  dependencies: DependencyResult[];
}

/** Options of {@link verifyDependencies}. @public */
export interface VerifyDependenciesOptions extends Partial<DependencySourceOptions> {
  /** Also fetch each remote dependency from its source and check it against the pin (needs `client`). */
  online?: boolean;
  /** Accept dependencies without a pinned digest (checked by version only). Default false. */
  allowUnpinned?: boolean;
}

/**
 * Compares the lock with the vendored subcharts: each locked dependency must be in
 * `charts/` (as an archive or an expanded directory) as a chart whose `Chart.yaml`
 * name is the dependency name (not its alias) and whose version equals the locked
 * version, and its archive must match the pinned digest (lock entries of the same
 * chart and version, one per alias, share one vendored copy); anything vendored but
 * not locked is reported as `not-locked`.
 * @internal
 */
export function compareVendored(
  lock: ChartLock | undefined,
  vendored: readonly VendoredChart[],
): DependencyResult[] {
  const remaining = [...vendored];
  const matched: VendoredChart[] = [];
  const results: DependencyResult[] = [];
  for (const dep of lock?.dependencies ?? []) {
    const name = dep.name;
    const version = dep.version ?? '';
    const found = findVendored(remaining, dep) ?? findLocalVendored(remaining, dep);
    if (found) {
      remaining.splice(remaining.indexOf(found), 1);
      matched.push(found);
      results.push(checkVendored(dep, found));
      continue;
    }
    // Aliases: Helm locks the chart once per alias but vendors one archive for all.
    const shared = findVendored(matched, dep) ?? findLocalVendored(matched, dep);
    if (shared) {
      results.push(checkVendored(dep, shared));
      continue;
    }
    const sameName = remaining.findIndex((c) => c.name === name);
    const checked = { vendored: false, source: false };
    if (sameName !== -1) {
      const other = remaining.splice(sameName, 1)[0]!;
      results.push({
        name,
        version,
        status: 'version-mismatch',
        checked,
        detail: `charts/ has ${name} version ${other.version}, the lock has ${version}`,
      });
      continue;
    }
    results.push({
      name,
      version,
      status: 'missing',
      checked,
      detail: `${name}-${version} is not in charts/`,
    });
  }
  for (const c of remaining) {
    const r: DependencyResult = {
      name: c.name ?? c.file,
      version: c.version ?? '',
      status: 'not-locked',
      checked: { vendored: false, source: false },
      detail:
        c.error === undefined
          ? `charts/ has ${c.name}-${c.version}, which the lock does not list`
          : `${c.file} is not in the lock and does not load: ${c.error}`,
    };
    if (c.digest) r.actual = c.digest;
    results.push(r);
  }
  return results;
}

/**
 * A dependency without a repository lives in `charts/` as it is, and Helm locks its
 * constraint as written (`^1.0.0`): the vendored chart of that name whose version
 * satisfies it (Helm's CheckDependencies), when the locked text is a range.
 */
function findLocalVendored(
  vendored: readonly VendoredChart[],
  dep: ChartLockDependency,
): VendoredChart | undefined {
  if ((dep.repository ?? '') !== '' || !dep.version) return undefined;
  let constraint: ReturnType<typeof parseVersionConstraint>;
  try {
    constraint = parseVersionConstraint(dep.version);
  } catch {
    return undefined;
  }
  return vendored.find(
    (v) => v.name === dep.name && v.error === undefined && satisfiesConstraint(v.version ?? '', constraint),
  );
}

function checkVendored(dep: ChartLockDependency, found: VendoredChart): DependencyResult {
  const base = { name: dep.name, version: dep.version ?? '' };
  const checked = { vendored: false, source: false };
  if (dep.digest && found.digest && found.digest !== dep.digest) {
    const r: DependencyResult = {
      ...base,
      status: 'digest-mismatch',
      where: 'vendored',
      expected: dep.digest,
      actual: found.digest,
      checked: { vendored: true, source: false },
    };
    if (found.error) r.detail = `${found.file} also does not load: ${found.error}`;
    return r;
  }
  if (found.error !== undefined) {
    const r: DependencyResult = {
      ...base,
      status: 'invalid',
      checked,
      detail: `${found.file}: ${found.error}`,
    };
    if (found.digest) r.actual = found.digest;
    return r;
  }
  if (!dep.digest) {
    const r: DependencyResult = {
      ...base,
      status: 'unpinned',
      checked,
      detail: 'the lock pins no digest for it',
    };
    if (found.digest) r.actual = found.digest;
    return r;
  }
  if (!found.digest)
    return {
      ...base,
      status: 'unverifiable',
      expected: dep.digest,
      checked,
      detail: `charts/ holds ${dependencyId(dep)} as an expanded directory, which has no archive digest to check`,
    };
  return {
    ...base,
    status: 'ok',
    expected: dep.digest,
    actual: found.digest,
    checked: { vendored: true, source: false },
  };
}

/** `online`: checks one locked dependency at its source, updating `result`. */
async function checkSource(
  dep: ChartLockDependency,
  result: DependencyResult,
  options: DependencySourceOptions,
): Promise<void> {
  // Only dependencies that were found (or are simply absent) are worth fetching.
  if (result.status !== 'ok' && result.status !== 'unpinned' && result.status !== 'missing') return;
  if (dependencySourceKind(dep, options) === 'local') return;
  let digest: string;
  try {
    const fetched = await fetchDependency(dep, options);
    digest = fetched.digest;
    result.source = fetched.location;
  } catch (err) {
    options.signal?.throwIfAborted();
    result.status = 'source-error';
    result.detail = messageOf(err);
    if (err instanceof ChartproofError) result.errorCode = err.code;
    return;
  }
  result.checked.source = true;
  const wasMissing = result.status === 'missing';
  if (dep.digest) {
    if (digest !== dep.digest) {
      result.status = 'digest-mismatch';
      result.where = 'source';
      result.expected = dep.digest;
      result.actual = digest;
      delete result.detail;
      return;
    }
    if (wasMissing) {
      result.status = 'ok';
      result.expected = dep.digest;
      result.actual = digest;
      result.detail = 'not vendored; the source matches the pinned digest';
    }
    return;
  }
  // Unpinned: the best we can say is whether the vendored copy equals the source.
  if (result.status === 'unpinned' && result.actual !== undefined && result.actual !== digest) {
    result.status = 'digest-mismatch';
    result.where = 'vendored';
    result.expected = digest;
    result.detail = 'the lock pins no digest, and the vendored archive differs from the source';
  } else if (wasMissing) {
    result.status = 'unpinned';
    result.actual = digest;
    result.detail = 'not vendored, and the lock pins no digest';
  }
}

function dependencySourceKind(dep: ChartLockDependency, options: DependencySourceOptions): string {
  try {
    return dependencySource(dep, options.repositories).kind;
  } catch {
    return 'remote';
  }
}

/**
 * Verifies a chart's dependencies, from a chart directory or a `.tgz`: the lock is
 * in sync with `Chart.yaml` ({@link checkLock}); every locked dependency is vendored
 * in `charts/` with the locked version and its archive matches the digest pinned in
 * the lock (see `pinDependencies`); nothing unlocked is vendored. With `online`,
 * each remote dependency is also fetched from its source (OCI registry or classic
 * repository) and checked against the pin; a dependency that is not vendored then
 * passes when its source matches the pin.
 *
 * Errors ({@link ChartproofError}): `IO`, `CHART_INVALID`, `CHART_METADATA_INVALID`,
 * `SIZE_LIMIT_EXCEEDED`, `INVALID_ARGUMENT` (`online` without a client). Source
 * failures are reported per dependency as `source-error`.
 * @public
 */
export async function verifyDependencies(
  path: string,
  options: VerifyDependenciesOptions = {},
): Promise<DepsReport> {
  if (options.online && !options.client)
    throw new ChartproofError('INVALID_ARGUMENT', 'verifyDependencies: online checks need a client');
  const chart = await readLockedChart(path, options.signal);
  const lock = checkLock(chart.metadata, chart.lock);
  if (chart.lockHasNull && lock.inSync) {
    // Helm hashes a null entry as `null` (so this digest is not Helm's) and cannot build from it.
    lock.inSync = false;
    const file = chart.metadata.apiVersion === 'v1' ? 'requirements.lock' : 'Chart.lock';
    lock.message = `the lock file (${file}) lists an empty (null) dependency, which Helm cannot build from. Please update the dependencies with 'helm dependency update'`;
    delete lock.warning;
  }
  const unresolved = lock.inSync ? lockUnresolved(chart.metadata, chart.lock) : undefined;
  if (unresolved) {
    // Helm's digest is a plain hash anyone editing the lock can recompute: it says the
    // lock was not edited by mistake, not that it resolves Chart.yaml.
    lock.inSync = false;
    lock.message = unresolved;
    delete lock.warning;
  }
  const dependencies = compareVendored(chart.lock, chart.vendored);
  if (options.online && options.client) {
    const sourceOptions: DependencySourceOptions = { client: options.client };
    if (options.repositories) sourceOptions.repositories = options.repositories;
    if (options.signal) sourceOptions.signal = options.signal;
    const locked = chart.lock?.dependencies ?? [];
    for (let i = 0; i < locked.length; i++) await checkSource(locked[i]!, dependencies[i]!, sourceOptions);
  }
  const acceptable = (d: DependencyResult) =>
    d.status === 'ok' || (options.allowUnpinned === true && d.status === 'unpinned');
  return {
    ok: lock.inSync && dependencies.every(acceptable),
    allPinned: (chart.lock?.dependencies ?? []).every((d) => typeof d.digest === 'string' && d.digest !== ''),
    online: options.online === true,
    lock,
    dependencies,
  };
}
