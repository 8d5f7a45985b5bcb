/**
 * Chart scanning: a small {@link Scanner} interface, a policy evaluation
 * ({@link evaluateFindings}, {@link runScanners}) and a built-in scanner
 * ({@link builtinScanner}, defined in `builtin-scanner.ts` and re-exported here) whose
 * checks need no template rendering.
 *
 * The built-in checks are textual heuristics over `values.yaml` and template
 * sources. They target the "compromised maintainer" threat (a new chart version
 * that adds a ClusterRoleBinding, a pre-install hook or an init container that
 * reads Secrets); they are a tripwire, not a proof that a chart is safe. See
 * docs/scanning.md for each rule's known false positives and negatives.
 */

import { ChartproofError, redact } from '../errors.js';
import type { Chart } from '../chart/types.js';

export type { BuiltinRule, BuiltinRuleId, BuiltinScannerOptions } from './builtin-scanner.js';
export { BUILTIN_RULES, builtinScanner } from './builtin-scanner.js';

export type { Finding, Severity } from '../workloads/severity.js';
export { SEVERITIES, severityAtLeast } from '../workloads/severity.js';

import {
  type Finding,
  isSeverity,
  SEVERITIES,
  type Severity,
  severityAtLeast,
} from '../workloads/severity.js';

/** Options of {@link Scanner.scan} and {@link runScanners}. @public */
export interface ScanOptions {
  signal?: AbortSignal;
}

/**
 * A chart scanner. Implementations receive the loaded chart (subcharts in
 * `chart.dependencies`) and return findings; they must not modify the chart.
 * External tools (trivy, kubescape, ...) can be wrapped behind this interface
 * outside the library.
 * @public
 */
export interface Scanner {
  /** Short name used in reports and in `scanner-error` findings. */
  name: string;
  scan(chart: Chart, options?: ScanOptions): Promise<Finding[]>;
}

/**
 * Severity thresholds: findings at or above `block` block the chart; findings at or
 * above `warn` (and below `block`) are warnings. An unset threshold never triggers.
 * @public
 */
export interface ScanPolicy {
  block?: Severity;
  warn?: Severity;
}

/** The outcome of applying a {@link ScanPolicy} to findings. @public */
export interface ScanVerdict {
  /** True when at least one finding reached the `block` threshold. */
  blocked: boolean;
  /** Every finding, in deterministic order (chart, file, line, rule). */
  findings: Finding[];
  /** Findings at or above `block`. */
  blocking: Finding[];
  /** Findings at or above `warn` that are not blocking. */
  warnings: Finding[];
}

function compareText(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Orders findings by chart, file, line, rule (then message), without locale rules. @public */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    compareText(a.chart, b.chart) ||
    compareText(a.file, b.file) ||
    (a.line ?? 0) - (b.line ?? 0) ||
    compareText(a.rule, b.rule) ||
    compareText(a.message, b.message)
  );
}

function assertPolicy(policy: ScanPolicy): void {
  for (const key of ['block', 'warn'] as const) {
    const value = policy?.[key];
    if (value !== undefined && !isSeverity(value)) {
      throw new ChartproofError(
        'INVALID_ARGUMENT',
        `scan policy ${key} must be one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(value)}`,
      );
    }
  }
}

/**
 * Splits findings by a policy. The returned lists are sorted with {@link compareFindings}.
 *
 * Errors ({@link ChartproofError}): `INVALID_ARGUMENT` for an unknown threshold.
 * @public
 */
export function evaluateFindings(findings: readonly Finding[], policy: ScanPolicy): ScanVerdict {
  assertPolicy(policy);
  const sorted = [...findings].sort(compareFindings);
  const blocking: Finding[] = [];
  const warnings: Finding[] = [];
  for (const f of sorted) {
    if (policy.block !== undefined && severityAtLeast(f.severity, policy.block)) blocking.push(f);
    else if (policy.warn !== undefined && severityAtLeast(f.severity, policy.warn)) warnings.push(f);
  }
  return { blocked: blocking.length > 0, findings: sorted, blocking, warnings };
}

/** `name-version` of a chart. @internal */
export function chartLabel(chart: Chart): string {
  return `${chart.metadata?.name ?? ''}-${chart.metadata?.version ?? ''}`;
}

function isValidFinding(f: unknown): f is Finding {
  const x = f as Finding | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.rule === 'string' &&
    x.rule !== '' &&
    isSeverity(x.severity) &&
    typeof x.message === 'string' &&
    typeof x.chart === 'string'
  );
}

/**
 * Runs scanners over a chart (concurrently) and evaluates their findings with
 * `policy`.
 *
 * A scanner that throws, or returns something that is not a list of well-formed
 * findings, yields one `scanner-error` finding at `high` severity instead of its
 * results: a broken scanner must not silently pass a chart (with `block: high`
 * the chart is blocked). Aborting `signal` rejects with the abort reason instead.
 *
 * Errors ({@link ChartproofError}): `INVALID_ARGUMENT` for an unknown threshold.
 * @public
 */
export async function runScanners(
  chart: Chart,
  scanners: readonly Scanner[],
  policy: ScanPolicy,
  options: ScanOptions = {},
): Promise<ScanVerdict> {
  assertPolicy(policy);
  const { signal } = options;
  signal?.throwIfAborted();
  const results = await Promise.all(
    scanners.map(async (scanner): Promise<Finding[]> => {
      const name = String(scanner?.name ?? '');
      const failed = (reason: string): Finding[] => [
        {
          rule: 'scanner-error',
          severity: 'high',
          message: redact(`scanner '${name}' failed: ${reason}`),
          chart: chartLabel(chart),
          scanner: name,
          detail: { scanner: name },
        },
      ];
      let found: unknown;
      try {
        found = await scanner.scan(chart, signal ? { signal } : {});
      } catch (err) {
        if (signal?.aborted) throw err;
        return failed(err instanceof Error ? err.message : String(err));
      }
      if (!Array.isArray(found)) return failed('it did not return a list of findings');
      const bad = found.findIndex((f) => !isValidFinding(f));
      if (bad >= 0) return failed(`finding #${bad} is malformed (needs rule, severity, message, chart)`);
      return (found as Finding[]).map((f) => ({ ...f, scanner: name }));
    }),
  );
  signal?.throwIfAborted();
  return evaluateFindings(results.flat(), policy);
}
