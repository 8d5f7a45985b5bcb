/**
 * chartproof/lock: Chart.lock integrity. Helm's lock digest (HashReq and the Helm 2
 * fallback) with Helm's out-of-sync wording; per-dependency content digests
 * (helm/helm#32243's `digest` field, plus the OCI `manifestDigest`) pinned at each
 * dependency's source; verification of vendored archives offline and of sources
 * online; and a `dependency build` that verifies before it writes.
 * @packageDocumentation
 */
export type { ChartLock, ChartLockDependency } from '../chart/types.js';
export type { ChartproofErrorOptions, ErrorCode, ErrorSource } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';
export type { BuildOptions, BuildReport, BuiltDependency } from './build.js';
export { buildDependencies } from './build.js';
export { hashReq, hashV2Req } from './digest.js';
export { formatLock, lockFileName, readLockFile, writeLockFile } from './lockfile.js';
export type { PinnedDependency, PinOptions, PinReport } from './pin.js';
export { pinDependencies } from './pin.js';
export type { DependencySource, DependencySourceOptions, FetchedDependency } from './sources.js';
export { dependencySource, fetchDependency, helmRepositoriesPath, readHelmRepositories } from './sources.js';
export type {
  DependencyResult,
  DependencyStatus,
  DepsReport,
  LockCheck,
  VerifyDependenciesOptions,
} from './verify.js';
export type { UpdatedDependency, UpdatedRepository, UpdateOptions, UpdateReport } from './update.js';
export { updateDependencies } from './update.js';
export { checkLock, verifyDependencies } from './verify.js';
