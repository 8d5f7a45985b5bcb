/**
 * `update`: what `helm dependency update` does — resolve each `Chart.yaml` dependency's
 * version range at its source, vendor the archives into `charts/` and write
 * `Chart.lock` with Helm's digest — plus chartproof's per-dependency content digests,
 * with everything downloaded and verified before anything is written.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { parseChartReference } from '../chart/oci.js';
import { loadChartFile } from '../chart/load.js';
import { createChartArchive, loadChartDirectory } from '../chart/package.js';
import { fetchRepoIndex } from '../chart/repo.js';
import type { ChartDependency, ChartLock, ChartLockDependency } from '../chart/types.js';
import {
  chartVersionTags,
  isLenientSemver,
  parseVersionConstraint,
  satisfiesConstraint,
} from '../chart/version.js';
import { ChartproofError, type ErrorCode } from '../errors.js';
import { messageOf } from '../internal/guards.js';
import { digestOf } from '../oci/digest.js';
import { writeFileAtomic } from '../fs.js';
import { hashReq } from './digest.js';
import { readLockFile, writeLockFile } from './lockfile.js';
import { type DependencySourceOptions, dependencyId, fetchDependency } from './sources.js';
import { readLockedChart } from './vendored.js';

/** Options of {@link updateDependencies}. @public */
export interface UpdateOptions extends DependencySourceOptions {
  /**
   * Write `digest`/`manifestDigest` into each lock entry (default true). With false the
   * lock is exactly what Helm writes.
   */
  pin?: boolean;
  /**
   * Accept a dependency whose locked version is unchanged but whose source now serves
   * other content than the digest the old lock pinned. Default false: such a
   * dependency fails the update (`changed`).
   */
  force?: boolean;
  /** The lock's `generated` time. Default: now. */
  generated?: Date;
  /**
   * Seconds since the epoch for the entries of archives packaged from `file://`
   * dependencies. Default: each file's modification time, like Helm.
   */
  sourceDateEpoch?: number;
  /** Resolve and download, but write nothing. */
  dryRun?: boolean;
}

/**
 * One dependency of an {@link UpdateReport}:
 * - `downloaded`: fetched from its repository, verified, to be written to `charts/`;
 * - `already-downloaded`: the same chart as an earlier dependency (an alias);
 * - `packaged`: a `file://` dependency packaged from its directory;
 * - `local`: an empty repository: the chart is expected in `charts/<name>/`;
 * - `changed`: the source serves other content than the old lock pinned for this version;
 * - `failed`: it could not be resolved, fetched or verified.
 * @public
 */
export interface UpdatedDependency {
  name: string;
  /** The version range in `Chart.yaml`. */
  constraint: string;
  /** The resolved version written to the lock (empty when resolution failed). */
  version: string;
  /** The repository as written to the lock (`@name` rewritten to its URL). */
  repository: string;
  status: 'downloaded' | 'already-downloaded' | 'packaged' | 'local' | 'changed' | 'failed';
  /** `sha256:` of the archive. */
  digest?: string;
  /** OCI: the manifest digest. */
  manifestDigest?: string;
  /** The old lock's pin, when `changed` or replaced with `force`. */
  previous?: string;
  /** OCI: `registry/repo/name:tag` as Helm prints it after `Pulled:`. */
  pulled?: string;
  /** `oci://…:tag` or the archive's URL. */
  source?: string;
  /** `charts/<name>-<version>.tgz` for archives written. */
  file?: string;
  detail?: string;
  errorCode?: ErrorCode;
  /** Classic repositories without an index digest: the pin is trust-on-first-use. */
  warning?: string;
}

/** A classic repository whose index was read. @public */
export interface UpdatedRepository {
  url: string;
  /** The `repositories.yaml` name when the repository is configured there (Helm: "managed"). */
  name?: string;
}

/** Result of {@link updateDependencies}. @public */
export interface UpdateReport {
  /** True when every dependency resolved and verified (nothing is written otherwise). */
  ok: boolean;
  lockFile: string;
  /** Whether the lock file was (re)written: false when Helm's digest and the pins are unchanged. */
  lockWritten: boolean;
  /** The lock (as written, or as it would be). */
  lock?: ChartLock;
  repositories: UpdatedRepository[];
  dependencies: UpdatedDependency[];
  /** Archives written into `charts/`. */
  written: string[];
  /** Outdated archives removed from `charts/` (Helm: "Deleting outdated charts"). */
  removed: string[];
  /** Files in `charts/` Helm would try to delete but cannot read as charts: left alone. */
  notRemoved: Array<{ file: string; reason: string }>;
}

/** Go's RFC 3339 with nanoseconds (`time.Time` in JSON), in UTC. */
function goTime(d: Date): string {
  const iso = d.toISOString();
  const fraction = iso.slice(19, -1).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${fraction === '.' ? '' : fraction}Z`;
}

function constraintOf(dep: ChartDependency) {
  try {
    return parseVersionConstraint(dep.version ?? '');
  } catch (err) {
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `dependency ${JSON.stringify(dep.name)} has an invalid version/constraint format: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function satisfies(version: string, dep: ChartDependency): boolean {
  return satisfiesConstraint(version, constraintOf(dep));
}

/** Helm's `GetLocalPath`: `file://` paths relative to the chart, or absolute. */
async function localPath(repository: string, chartDir: string): Promise<string> {
  const p = repository.slice('file://'.length);
  const path = isAbsolute(p) ? resolvePath(p) : join(chartDir, p);
  try {
    await lstat(path);
  } catch {
    throw new ChartproofError('NOT_FOUND', `directory ${path} not found`);
  }
  return path;
}

/** Rewrites `@name` / `alias:name` repositories to their URLs, as Helm does before hashing. */
function resolveRepositories(
  deps: ChartDependency[],
  repositories: Record<string, string>,
): { deps: ChartDependency[]; names: Map<string, string> } {
  const names = new Map<string, string>();
  const missing: string[] = [];
  const out = deps.map((dep) => {
    const repository = dep.repository ?? '';
    const alias = repository.startsWith('@')
      ? repository.slice(1)
      : repository.startsWith('alias:')
        ? repository.slice('alias:'.length)
        : undefined;
    if (alias === undefined) {
      const managed = Object.entries(repositories).find(
        ([, url]) => url.replace(/\/+$/, '') === repository.replace(/\/+$/, ''),
      );
      if (managed && !repository.startsWith('oci://')) names.set(repository, managed[0]);
      return { ...dep };
    }
    const url = Object.hasOwn(repositories, alias) ? repositories[alias] : undefined;
    if (url === undefined) {
      missing.push(repository);
      return { ...dep };
    }
    names.set(url, alias);
    return { ...dep, repository: url };
  });
  if (missing.length > 0)
    throw new ChartproofError(
      'NOT_FOUND',
      `no repository definition for ${missing.join(', ')}. Please add them via 'helm repo add' (or pass --repository-config)`,
    );
  return { deps: out, names };
}

/** Helm's resolver for an OCI dependency: an explicit version is used as is, else the highest tag in range. */
async function resolveOci(dep: ChartDependency, options: UpdateOptions): Promise<string> {
  const wanted = dep.version ?? '';
  const constraint = constraintOf(dep);
  if (wanted !== '' && isLenientSemver(wanted)) return wanted;
  const base = (dep.repository ?? '').replace(/\/+$/, '');
  const repo = options.client.repository(parseChartReference(`${base}/${dep.name}`));
  const tags = await repo.tags(options.signal ? { signal: options.signal } : {});
  const found = chartVersionTags(tags).find((t) => satisfiesConstraint(t.version, constraint))?.version;
  if (found === undefined)
    throw new ChartproofError(
      'NOT_FOUND',
      `can't get a valid version for ${JSON.stringify(dep.name)} (repository ${JSON.stringify(dep.repository)}, version ${JSON.stringify(wanted)})`,
    );
  return found;
}

/** Helm's resolver for a classic repository: the newest index entry with URLs in range. */
async function resolveRepo(dep: ChartDependency, options: UpdateOptions): Promise<string> {
  const index = await fetchRepoIndex(
    options.client,
    dep.repository ?? '',
    options.signal ? { signal: options.signal } : {},
  );
  const versions = Object.hasOwn(index.entries, dep.name) ? index.entries[dep.name]! : undefined;
  if (!versions)
    throw new ChartproofError('NOT_FOUND', `${dep.name} chart not found in repo ${dep.repository}`);
  const found = versions.find((e) => e.urls.length > 0 && satisfies(e.version, dep));
  if (!found)
    throw new ChartproofError(
      'NOT_FOUND',
      `can't get a valid version for ${JSON.stringify(dep.name)} (repository ${JSON.stringify(dep.repository)}, version ${JSON.stringify(dep.version ?? '')}). Make sure a matching chart version exists in the repo, or change the version constraint in Chart.yaml`,
    );
  return found.version;
}

interface Staged {
  file: string;
  data: Uint8Array;
}

/**
 * Updates a chart directory's dependencies like `helm dependency update`: resolves
 * each `Chart.yaml` dependency's version range (classic repositories: the newest
 * `index.yaml` entry in range; OCI: an explicit version as written, else the highest
 * `X.Y.Z` tag in range; `file://`: the local chart's version, which must satisfy the
 * range; an empty repository: the chart must already be in `charts/<name>/`),
 * downloads every archive and verifies it (index digest, OCI layer digest, the chart's
 * name and version), packages `file://` charts, and only then writes the archives into
 * `charts/` (each atomically), removes outdated archives as Helm does, and writes the
 * lock (atomically, last) with Helm's digest and — unless `pin: false` — each
 * dependency's content digest (and OCI manifest digest). `@name` / `alias:name`
 * repositories must be in `repositories`. A dependency whose version did not change
 * but whose content no longer matches the old lock's pin fails unless `force`.
 * @throws ChartproofError `INVALID_ARGUMENT` (not a chart directory, bad constraint),
 *   `NOT_FOUND` (undefined repository name, missing local chart), `CHART_INVALID`, `IO`
 * @public
 */
export async function updateDependencies(chartDir: string, options: UpdateOptions): Promise<UpdateReport> {
  let isDir = false;
  try {
    isDir = (await lstat(chartDir)).isDirectory();
  } catch (err) {
    throw new ChartproofError('IO', `could not find ${chartDir}: ${(err as Error).message}`, { cause: err });
  }
  if (!isDir) throw new ChartproofError('INVALID_ARGUMENT', 'only unpacked charts can be updated');
  const chart = await readLockedChart(chartDir, options.signal);
  const lockFileName = chart.metadata.apiVersion === 'v1' ? 'requirements.lock' : 'Chart.lock';
  const lockFile = join(chartDir, lockFileName);
  const report: UpdateReport = {
    ok: true,
    lockFile,
    lockWritten: false,
    repositories: [],
    dependencies: [],
    written: [],
    removed: [],
    notRemoved: [],
  };
  const declared = chart.metadata.dependencies;
  if (declared === undefined) return report; // Helm: nothing to do
  let oldLock: ChartLock | undefined;
  try {
    oldLock = await readLockFile(chartDir, lockFileName);
  } catch (err) {
    if (!(err instanceof ChartproofError && err.code === 'NOT_FOUND')) throw err;
  }
  const { deps, names } = resolveRepositories(declared, options.repositories ?? {});
  for (const d of deps) constraintOf(d); // Helm checks every constraint before resolving

  // Resolve versions (classic indexes are read once per repository).
  const seenRepos = new Set<string>();
  const staged: Staged[] = [];
  const stage = (result: UpdatedDependency, data: Uint8Array) => staged.push({ file: result.file!, data });
  const locked: ChartLockDependency[] = [];
  const results: UpdatedDependency[] = [];
  for (const dep of deps) {
    options.signal?.throwIfAborted();
    const repository = dep.repository ?? '';
    const result: UpdatedDependency = {
      name: dep.name,
      constraint: dep.version ?? '',
      version: '',
      repository,
      status: 'downloaded',
    };
    results.push(result);
    const entry: ChartLockDependency = { name: dep.name, repository, version: '' };
    locked.push(entry);
    try {
      if (repository === '') {
        const vendored = chart.vendored.find((v) => v.file === `charts/${dep.name}`);
        if (!vendored)
          throw new ChartproofError('NOT_FOUND', `directory ${join(chartDir, 'charts', dep.name)} not found`);
        if (vendored.error !== undefined)
          throw new ChartproofError(
            'CHART_INVALID',
            `unable to load chart 'charts/${dep.name}': ${vendored.error}`,
          );
        if (!satisfies(vendored.version ?? '', dep))
          throw new ChartproofError(
            'CHART_INVALID',
            `dependency ${dep.name} at version ${vendored.version} does not satisfy the constraint ${dep.version ?? ''}`,
          );
        result.status = 'local';
        result.version = entry.version = dep.version ?? '';
      } else if (repository.startsWith('file://')) {
        const dir = await localPath(repository, chartDir);
        const { chart: sub, mtimes } = await loadChartDirectory(
          dir,
          options.signal ? { signal: options.signal } : {},
        );
        if (!satisfies(sub.metadata.version, dep))
          throw new ChartproofError(
            'NOT_FOUND',
            `can't get a valid version for ${JSON.stringify(dep.name)} (repository ${JSON.stringify(repository)}, version ${JSON.stringify(dep.version ?? '')})`,
          );
        result.version = entry.version = sub.metadata.version;
        const data = await createChartArchive(
          sub,
          mtimes,
          options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: options.sourceDateEpoch },
        );
        result.status = 'packaged';
        result.digest = digestOf(data);
        result.file = `charts/${sub.metadata.name}-${sub.metadata.version}.tgz`;
        result.source = dir;
        stage(result, data);
      } else if (repository.startsWith('oci://')) {
        result.version = entry.version = await resolveOci(dep, options);
      } else if (/^https?:\/\//i.test(repository)) {
        if (!seenRepos.has(repository)) {
          seenRepos.add(repository);
          const repo: UpdatedRepository = { url: repository };
          const name = names.get(repository);
          if (name !== undefined) repo.name = name;
          report.repositories.push(repo);
        }
        result.version = entry.version = await resolveRepo(dep, options);
      } else {
        throw new ChartproofError(
          'UNSUPPORTED',
          `dependency ${dep.name}: repository ${JSON.stringify(repository)} is not oci://, http(s)://, file:// or a repositories.yaml name`,
        );
      }
    } catch (err) {
      options.signal?.throwIfAborted();
      fail(result, err);
    }
  }

  // Download and verify (each chart once, like Helm's "Already downloaded").
  const downloaded = new Map<string, UpdatedDependency>();
  for (const [i, result] of results.entries()) {
    if (result.status !== 'downloaded') continue;
    const entry = locked[i]!;
    try {
      const fetched = await fetchDependency(entry, options);
      const earlier = downloaded.get(fetched.location);
      result.source = fetched.location;
      result.digest = fetched.digest;
      if (fetched.manifestDigest) {
        result.manifestDigest = fetched.manifestDigest;
        result.pulled = fetched.location.replace(/^oci:\/\//, '');
      }
      if (!fetched.sourceVerified)
        result.warning = `${fetched.location}: the repository index has no digest; pinned the downloaded bytes (trust on first use)`;
      if (earlier) {
        result.status = 'already-downloaded';
        continue;
      }
      downloaded.set(fetched.location, result);
      result.file = `charts/${dependencyId(entry)}.tgz`;
      stage(result, fetched.archive);
    } catch (err) {
      options.signal?.throwIfAborted();
      fail(result, err);
    }
  }

  // Content that changed under an unchanged version is what pins guard against.
  for (const [i, result] of results.entries()) {
    const old = oldLock?.dependencies.find(
      (d) => d.name === result.name && d.version === result.version && d.repository === result.repository,
    );
    if (!old?.digest || !result.digest || old.digest === result.digest || result.status === 'packaged')
      continue;
    result.previous = old.digest;
    if (!options.force) {
      result.status = 'changed';
      result.detail = `the lock pins ${old.digest} for ${dependencyId(locked[i]!)}, the source now serves ${result.digest}`;
    }
  }

  report.dependencies = results;
  report.ok = results.every((r) => r.status !== 'failed' && r.status !== 'changed');
  if (!report.ok) return report;

  if (options.pin !== false) {
    results.forEach((r, i) => {
      const entry = locked[i]!;
      if (r.digest) entry.digest = r.digest;
      if (r.manifestDigest) entry.manifestDigest = r.manifestDigest;
    });
  }
  const digest = hashReq(deps, locked);
  const lock: ChartLock = {
    digest,
    dependencies: locked,
    generated: goTime(options.generated ?? new Date()),
  };
  report.lock = lock;
  const unchanged =
    oldLock !== undefined &&
    oldLock.digest === digest &&
    oldLock.dependencies.length === locked.length &&
    oldLock.dependencies.every(
      (d, i) =>
        (d.digest ?? '') === (locked[i]!.digest ?? '') &&
        (d.manifestDigest ?? '') === (locked[i]!.manifestDigest ?? ''),
    );
  if (unchanged) report.lock = { ...lock, generated: oldLock!.generated ?? lock.generated! };
  if (options.dryRun) return report;

  const writeOptions = options.signal ? { signal: options.signal } : {};
  for (const s of staged) {
    await writeFileAtomic(join(chartDir, s.file), s.data, 0o644, { dirMode: 0o755, ...writeOptions });
    report.written.push(s.file);
  }
  await removeOutdated(chartDir, new Set(report.written), results, report);
  if (!unchanged) {
    await writeLockFile(chartDir, lockFileName, lock, writeOptions);
    report.lockWritten = true;
  }
  return report;
}

function fail(result: UpdatedDependency, err: unknown): void {
  result.status = 'failed';
  result.detail = messageOf(err);
  if (err instanceof ChartproofError) result.errorCode = err.code;
}

/**
 * Helm's `safeMoveDeps` clean-up: every file in `charts/` that was not just written
 * and loads as a chart is deleted, except charts of empty-repository dependencies;
 * files that do not load are left alone (and reported).
 */
async function removeOutdated(
  chartDir: string,
  written: Set<string>,
  results: UpdatedDependency[],
  report: UpdateReport,
): Promise<void> {
  const local = new Set(results.filter((r) => r.status === 'local').map((r) => r.name));
  const dir = join(chartDir, 'charts');
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ChartproofError('IO', `cannot list ${dir}: ${(err as Error).message}`, { cause: err });
  }
  for (const name of entries.sort()) {
    const file = `charts/${name}`;
    if (written.has(file)) continue;
    const path = join(dir, name);
    const st = await lstat(path);
    if (st.isDirectory()) continue;
    let chartName: string;
    try {
      chartName = (await loadChartFile(path)).metadata.name;
    } catch (err) {
      report.notRemoved.push({ file, reason: messageOf(err) });
      continue;
    }
    if (local.has(chartName)) continue;
    await rm(path, { force: true });
    report.removed.push(file);
  }
}
