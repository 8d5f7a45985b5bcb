/**
 * chartproof/lock: Chart.lock integrity. First slice: Helm's lock digest (HashReq and
 * the Helm 2 fallback), out-of-sync detection with Helm's wording, and offline checks
 * of vendored dependencies. Per-dependency content digests, `pin` and `build` follow.
 * @packageDocumentation
 */
export type { ChartproofErrorOptions, ErrorCode } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';
export { hashReq, hashV2Req } from './digest.js';
export type { DependencyResult, DepsReport, LockCheck } from './verify.js';
export { checkLock, verifyDependencies } from './verify.js';
