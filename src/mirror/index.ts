/**
 * chartproof/mirror: reserved entry point; its capability lands in a later release
 * (see docs/roadmap.md). It re-exports the error types so callers can already
 * import them from here.
 * @packageDocumentation
 */
export type { ChartproofErrorOptions, ErrorCode } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';
