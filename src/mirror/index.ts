/**
 * chartproof/mirror: chart mirroring lands here in a later release (see
 * docs/roadmap.md). The entry point currently holds the chart scanner that mirroring
 * (and later admission) applies before a chart is copied: the {@link Scanner}
 * interface, {@link runScanners} / {@link evaluateFindings} with block/warn severity
 * thresholds, and the rendering-free {@link builtinScanner} (docs/scanning.md). It
 * also re-exports the error types.
 * @packageDocumentation
 */
export type { ChartproofErrorOptions, ErrorCode } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';
export type {
  BuiltinRule,
  BuiltinRuleId,
  BuiltinScannerOptions,
  Finding,
  ScanOptions,
  ScanPolicy,
  Scanner,
  ScanVerdict,
  Severity,
} from './scan.js';
export {
  BUILTIN_RULES,
  builtinScanner,
  compareFindings,
  evaluateFindings,
  runScanners,
  SEVERITIES,
  severityAtLeast,
} from './scan.js';
