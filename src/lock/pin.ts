/**
 * `pin`: records each locked dependency's content digest in `Chart.lock`, resolved
 * at its source, without touching Helm's top-level digest.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChartLock, ChartLockDependency } from '../chart/types.js';
import { ChartproofError, type ErrorCode } from '../errors.js';
import { messageOf } from '../internal/guards.js';
import { readLockFile, writeLockFile } from './lockfile.js';
import { type DependencySourceOptions, dependencyId, dependencySource, fetchDependency } from './sources.js';
import { findVendored, type LockedChart, readLockedChart } from './vendored.js';
import { checkLock, lockUnresolved } from './verify.js';

/** Options of {@link pinDependencies}. @public */
export interface PinOptions extends DependencySourceOptions {
  /**
   * Replace digests already pinned when the source now serves other content.
   * Without it such a change is reported as `changed` and nothing is written: a
   * dependency that changed under the same version is exactly what pinning guards
   * against.
   */
  force?: boolean;
  /** Report what would be pinned without writing the lock. */
  dryRun?: boolean;
  /** Called once per dependency as it is resolved. */
  onDependency?: (result: PinnedDependency) => void;
}

/**
 * One dependency of a {@link PinReport}:
 * - `pinned`: a digest was recorded (or replaced, with `force`: see `previous`);
 * - `unchanged`: the pinned digest already matched the source;
 * - `skipped`: a local dependency (`file://` or empty repository) with no vendored
 *   archive to pin;
 * - `changed`: the source serves content other than the pinned digest;
 * - `vendored-mismatch`: the archive in `charts/` differs from the source;
 * - `failed`: the source could not be fetched or served another chart.
 * @public
 */
export interface PinnedDependency {
  name: string;
  version: string;
  status: 'pinned' | 'unchanged' | 'skipped' | 'changed' | 'vendored-mismatch' | 'failed';
  /** The content digest (`sha256:` of the chart archive) now in the lock, or found at the source. */
  digest?: string;
  /** OCI sources: the manifest digest. */
  manifestDigest?: string;
  /** The digest pinned before, when it differs. */
  previous?: string;
  /** Where the digest was taken from: the source location, or `charts/<file>` for local dependencies. */
  source?: string;
  detail?: string;
  /** `failed`: the error's code (`NETWORK`, `MANIFEST_UNKNOWN`, `DIGEST_MISMATCH`…), when it had one. */
  errorCode?: ErrorCode;
  /** Classic repositories without an index digest: the pin is trust-on-first-use. */
  warning?: string;
}

/** Result of {@link pinDependencies}. @public */
export interface PinReport {
  /** True when every dependency is `pinned`, `unchanged` or `skipped`. */
  ok: boolean;
  /** The lock file's path. */
  lockFile: string;
  /** Whether the lock file was rewritten (false when nothing changed, on failure, or on a dry run). */
  written: boolean;
  /** Helm's top-level lock digest, unchanged by pinning. */
  digest: string;
  dependencies: PinnedDependency[];
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    throw new ChartproofError('IO', `cannot read chart ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Loads a chart directory and its lock file; the lock must be in sync with `Chart.yaml`. @internal */
export async function loadLockedChart(
  chartDir: string,
  signal?: AbortSignal,
): Promise<{ chart: LockedChart; lock: ChartLock; lockFileName: string }> {
  if (!(await isDirectory(chartDir)))
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `${chartDir} is not a chart directory (pinning and building rewrite files in it)`,
    );
  const chart = await readLockedChart(chartDir, signal);
  // Helm reads requirements.lock for apiVersion v1 charts (written by Helm 2), else Chart.lock.
  let lockFileName = 'Chart.lock';
  if (chart.metadata.apiVersion === 'v1') {
    try {
      await stat(join(chartDir, 'requirements.lock'));
      lockFileName = 'requirements.lock';
    } catch {
      // no requirements.lock: Helm 3 wrote Chart.lock
    }
  }
  let lock: ChartLock;
  try {
    lock = await readLockFile(chartDir, lockFileName);
  } catch (err) {
    throw lockMissing(err, chartDir, lockFileName);
  }
  const sync = checkLock(chart.metadata, lock);
  if (!sync.inSync) throw new ChartproofError('LOCK_OUT_OF_SYNC', sync.message ?? 'the lock is out of sync');
  // Helm's digest can be recomputed by whoever edits the lock: it must also resolve Chart.yaml.
  const unresolved = lockUnresolved(chart.metadata, lock);
  if (unresolved) throw new ChartproofError('LOCK_OUT_OF_SYNC', unresolved);
  return { chart, lock, lockFileName };
}

function lockMissing(err: unknown, chartDir: string, fileName: string): unknown {
  if (err instanceof ChartproofError && err.code === 'NOT_FOUND')
    return new ChartproofError(
      'IO',
      `${join(chartDir, fileName)} does not exist: run 'helm dependency update' first`,
      { cause: err },
    );
  return err;
}

async function pinOne(
  dep: ChartLockDependency,
  vendoredDigest: string | undefined,
  options: PinOptions,
): Promise<{ result: PinnedDependency; pinned?: { digest: string; manifestDigest?: string } }> {
  const result: PinnedDependency = { name: dep.name, version: dep.version ?? '', status: 'pinned' };
  const source = dependencySource(dep, options.repositories);
  if (source.kind === 'local') {
    if (vendoredDigest === undefined) {
      result.status = 'skipped';
      result.detail = `local dependency (${dep.repository || 'empty repository'}) with no archive in charts/`;
      return { result };
    }
    result.source = `charts/${dependencyId(dep)}.tgz`;
    result.digest = vendoredDigest;
    result.detail = 'local dependency: pinned from the vendored archive';
    return finish(dep, result, { digest: vendoredDigest }, options);
  }
  let fetched: Awaited<ReturnType<typeof fetchDependency>>;
  try {
    fetched = await fetchDependency(dep, options);
  } catch (err) {
    options.signal?.throwIfAborted();
    result.status = 'failed';
    result.detail = messageOf(err);
    if (err instanceof ChartproofError) result.errorCode = err.code;
    return { result };
  }
  result.source = fetched.location;
  result.digest = fetched.digest;
  if (fetched.manifestDigest) result.manifestDigest = fetched.manifestDigest;
  if (!fetched.sourceVerified)
    result.warning = `${fetched.location}: the repository index has no digest; pinned the downloaded bytes (trust on first use)`;
  if (vendoredDigest !== undefined && vendoredDigest !== fetched.digest) {
    result.status = 'vendored-mismatch';
    result.detail = `charts/ holds ${vendoredDigest}, the source serves ${fetched.digest}`;
    return { result };
  }
  const pinned: { digest: string; manifestDigest?: string } = { digest: fetched.digest };
  if (fetched.manifestDigest) pinned.manifestDigest = fetched.manifestDigest;
  return finish(dep, result, pinned, options);
}

function finish(
  dep: ChartLockDependency,
  result: PinnedDependency,
  pinned: { digest: string; manifestDigest?: string },
  options: PinOptions,
): { result: PinnedDependency; pinned?: { digest: string; manifestDigest?: string } } {
  if (dep.digest && dep.digest !== pinned.digest) {
    result.previous = dep.digest;
    if (!options.force) {
      result.status = 'changed';
      result.detail = `the lock pins ${dep.digest}, the source now serves ${pinned.digest}`;
      return { result };
    }
    return { result, pinned };
  }
  if (dep.digest === pinned.digest && (dep.manifestDigest ?? '') === (pinned.manifestDigest ?? '')) {
    result.status = 'unchanged';
    return { result, pinned };
  }
  return { result, pinned };
}

/**
 * Pins every locked dependency of a chart directory: resolves it at its source
 * (OCI: pulls the chart at the locked version and records the chart layer digest,
 * which is the archive's sha256, and the manifest digest; classic repository:
 * downloads the archive, checks it against the `index.yaml` digest, and records its
 * sha256; local `file://`/empty repositories: the vendored archive's sha256), checks
 * that the source serves a chart with the locked name and version and that a
 * vendored copy in `charts/` is identical, then writes `digest` (and
 * `manifestDigest`) into each lock entry. Helm's top-level digest and `generated`
 * are unchanged, so Helm still accepts the lock; Helm ignores the new fields.
 *
 * Nothing is written unless every dependency pins cleanly. A digest already pinned
 * that the source no longer matches is reported as `changed` (use `force` to accept
 * the new content).
 * @throws ChartproofError `INVALID_ARGUMENT` (not a directory), `NOT_FOUND` (no lock),
 *   `LOCK_OUT_OF_SYNC`, `CHART_INVALID`, `IO`
 * @public
 */
export async function pinDependencies(chartDir: string, options: PinOptions): Promise<PinReport> {
  const { chart, lock, lockFileName } = await loadLockedChart(chartDir, options.signal);
  const dependencies: PinnedDependency[] = [];
  const updated: ChartLockDependency[] = [];
  let changed = false;
  for (const dep of lock.dependencies) {
    const match = findVendored(chart.vendored, dep);
    const { result, pinned } = await pinOne(dep, match?.digest, options);
    dependencies.push(result);
    options.onDependency?.(result);
    const next: ChartLockDependency = { ...dep };
    if (pinned) {
      if (next.digest !== pinned.digest || next.manifestDigest !== pinned.manifestDigest) changed = true;
      next.digest = pinned.digest;
      if (pinned.manifestDigest) next.manifestDigest = pinned.manifestDigest;
      else delete next.manifestDigest;
    }
    updated.push(next);
  }
  const ok = dependencies.every((d) => ['pinned', 'unchanged', 'skipped'].includes(d.status));
  const lockFile = join(chartDir, lockFileName);
  const report: PinReport = { ok, lockFile, written: false, digest: lock.digest, dependencies };
  if (!ok || !changed || options.dryRun) return report;
  const next: ChartLock = { ...lock, dependencies: updated };
  // The per-dependency digests must not move Helm's top-level digest.
  const sync = checkLock(chart.metadata, next);
  if (!sync.inSync)
    throw new ChartproofError(
      'LOCK_OUT_OF_SYNC',
      `internal error: pinning changed the lock digest (${sync.actual})`,
    );
  await writeLockFile(chartDir, lockFileName, next, options.signal ? { signal: options.signal } : {});
  report.written = true;
  return report;
}
