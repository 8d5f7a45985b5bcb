/**
 * Severities and the finding shape shared by every scanner: the rendered-manifest
 * rules here and the mirror's scanners (`chartproof/mirror` re-exports them).
 */

/** Finding severities, lowest first. @public */
export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

/** Every {@link Severity}, lowest first. @public */
export const SEVERITIES: readonly Severity[] = Object.freeze(['info', 'low', 'medium', 'high', 'critical']);

/** True when `value` is one of {@link SEVERITIES}. @internal */
export function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && (SEVERITIES as readonly string[]).includes(value);
}

/** True when severity `a` is at least as severe as `b` (`severityAtLeast('high', 'medium')` is true). @public */
export function severityAtLeast(a: Severity, b: Severity): boolean {
  return SEVERITIES.indexOf(a) >= SEVERITIES.indexOf(b);
}

/** One result of a scanner. @public */
export interface Finding {
  /** Stable rule id, e.g. `cluster-scoped-rbac`. Branch on this, not on `message`. */
  rule: string;
  severity: Severity;
  /** Human-readable; not API. */
  message: string;
  /** `name-version` of the chart, with subcharts as a path: `app-1.0.0 > common-2.0.0`. */
  chart: string;
  /** Path inside the chart (`templates/job.yaml`, `values.yaml`), when the finding has one. */
  file?: string;
  /** 1-based line in `file`, when known (values are parsed, so value findings carry `detail.path` instead). */
  line?: number;
  /** Name of the scanner that produced the finding; set by `runScanners` (chartproof/mirror). */
  scanner?: string;
  /** Rule-specific data (image reference, hook types, values path, ...). */
  detail?: Record<string, unknown>;
}
