/**
 * The mirror's chart scanner: the chart is rendered as `helm template` would render it
 * (with its defaults, and again with the values the spec gives for it) and the rules of
 * `chartproof/workloads` run on the rendered objects. The text heuristics of
 * {@link builtinScanner} keep the rules rendering cannot see (`template-lookup`,
 * `crd-directory`, `v1-requirements`, `secret-env`). Each render is tried on its own: a
 * render that fails is reported as a `render-failed` finding, the rules still run on
 * the renders that succeed, and the text heuristics are then kept whole (no rendered
 * rule replaces them), so a chart cannot shed the rendered rules by failing one render.
 */
import type { Chart } from '../chart/types.js';
import { parseManifests } from '../render/parse.js';
import { type RenderOptions, type RenderResult, renderChart } from '../render/render.js';
import { RULES, type WorkloadRuleId } from '../workloads/catalog.js';
import { evaluateWorkloadRules } from '../workloads/rules.js';
import { isSeverity, type Severity } from '../workloads/severity.js';
import { ChartproofError } from '../errors.js';
import {
  BUILTIN_RULES,
  type BuiltinRuleId,
  type BuiltinScannerOptions,
  builtinScanner,
} from './builtin-scanner.js';
import { chartLabel, type Finding, type ScanOptions, type Scanner } from './scan.js';

/** Built-in text rules that the rendered rules replace when the chart renders. */
const REPLACED_BY_RENDERING = new Set([
  'image-not-allowed',
  'image-not-pinned',
  'cluster-scoped-rbac',
  'cluster-admin-binding',
  'admission-webhook',
  'crd-in-templates',
  'helm-hook',
  'host-path',
  'host-namespace',
  'privileged-container',
  'init-container',
]);

/**
 * The finding of a render that failed (`info` unless `severities` says otherwise: e.g.
 * `high` to refuse, at `block: high`, charts that do not render). @public
 */
export const RENDER_FAILED = 'render-failed';

/** Whether `id` names a rule {@link renderingScanner}'s `severities` take. @internal */
export function isScanRuleId(id: string): boolean {
  return id === RENDER_FAILED || BUILTIN_RULES.some((r) => r.id === id) || RULES.has(id as WorkloadRuleId);
}

/** Options of {@link renderingScanner}. @public */
export interface RenderingScannerOptions extends Omit<BuiltinScannerOptions, 'severities'> {
  /**
   * Per-rule severity overrides, by the id of a built-in text rule
   * ({@link BUILTIN_RULES}) or of a rendered workload rule (`WORKLOAD_RULES` of
   * `chartproof/workloads`); an id both use applies to both. `render-failed` sets the
   * severity of a failed render's finding (default `info`).
   */
  severities?: Partial<Record<BuiltinRuleId | WorkloadRuleId | typeof RENDER_FAILED, Severity>>;
  /** Values to render with in addition to the chart's defaults (a second render). */
  values?: Record<string, unknown>;
  /** `--kube-version` of the renders. */
  kubeVersion?: string;
  /** Release name and namespace of the renders (default `release-name`, `default`). */
  releaseName?: string;
  namespace?: string;
  /** Total time each render may take (ms). Default 30 000. */
  timeoutMs?: number;
}

function key(f: Finding): string {
  return JSON.stringify([f.rule, f.file, f.message]);
}

/**
 * A {@link Scanner} (named `builtin`, replacing {@link builtinScanner}) that renders
 * the chart and evaluates the workload rules on the result, keeping the text rules
 * rendering cannot replace; falls back to the text heuristics alone when rendering fails.
 * @public
 */
export function renderingScanner(options: RenderingScannerOptions = {}): Scanner {
  return renderingScannerWith(options, renderChart);
}

/**
 * {@link renderingScanner} rendering through `render` (the mirror shares its renders
 * with the image overlay). @internal
 */
export function renderingScannerWith(
  options: RenderingScannerOptions,
  render: (chart: Chart, options: RenderOptions) => RenderResult,
): Scanner {
  const builtinIds = new Set<string>(BUILTIN_RULES.map((r) => r.id));
  const textSeverities: Partial<Record<BuiltinRuleId, Severity>> = {};
  const renderedSeverities: Partial<Record<WorkloadRuleId, Severity>> = {};
  let renderFailedSeverity: Severity = 'info';
  for (const [rule, severity] of Object.entries(options.severities ?? {})) {
    if (rule === RENDER_FAILED) {
      if (!isSeverity(severity))
        throw new ChartproofError('INVALID_ARGUMENT', `severity of rule '${rule}' must be a severity`);
      renderFailedSeverity = severity;
      continue;
    }
    if (!isScanRuleId(rule)) throw new ChartproofError('INVALID_ARGUMENT', `unknown scan rule '${rule}'`);
    const builtin = builtinIds.has(rule);
    const workload = RULES.has(rule as WorkloadRuleId);
    if (!isSeverity(severity))
      throw new ChartproofError('INVALID_ARGUMENT', `severity of rule '${rule}' must be a severity`);
    if (builtin) textSeverities[rule as BuiltinRuleId] = severity;
    if (workload) renderedSeverities[rule as WorkloadRuleId] = severity;
  }
  const { severities: _all, ...rest } = options;
  // Both validate the severities they are given (INVALID_ARGUMENT), the text rules here.
  const text = builtinScanner({ ...rest, severities: textSeverities });
  return {
    name: 'builtin',
    async scan(chart: Chart, scanOptions: ScanOptions = {}): Promise<Finding[]> {
      const heuristics = await text.scan(chart, scanOptions);
      const label = chartLabel(chart);
      const renders: { with: string; values?: Record<string, unknown> }[] = [{ with: 'defaults' }];
      if (options.values && Object.keys(options.values).length > 0) {
        renders.push({ with: 'spec values', values: options.values });
      }
      const rendered: Finding[] = [];
      /** Renders that failed: which values, and the first line of the error. */
      const failed: { with: string; message: string }[] = [];
      for (const r of renders) {
        let manifests: ReturnType<typeof parseManifests>;
        try {
          const result = render(chart, {
            releaseName: options.releaseName ?? 'release-name',
            namespace: options.namespace ?? 'default',
            ...(options.kubeVersion !== undefined ? { kubeVersion: options.kubeVersion } : {}),
            ...(r.values
              ? { values: { valueFiles: [{ name: 'mirror spec values', text: JSON.stringify(r.values) }] } }
              : {}),
            includeCrds: true,
            timeoutMs: options.timeoutMs ?? 30_000,
            ...(scanOptions.signal ? { signal: scanOptions.signal } : {}),
          });
          manifests = parseManifests(result.text, { origin: 'remote' });
        } catch (e) {
          scanOptions.signal?.throwIfAborted();
          const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
          failed.push({ with: r.with, message });
          continue;
        }
        const opts = {
          chart: label,
          ...(options.allowedImages ? { allowedImages: options.allowedImages } : {}),
          severities: renderedSeverities,
          ...(scanOptions.signal ? { signal: scanOptions.signal } : {}),
        };
        for (const f of evaluateWorkloadRules(manifests, opts)) {
          rendered.push(r.values ? { ...f, message: `${f.message} (with the spec's values)` } : f);
        }
      }
      // The rendered rules replace the text rules they cover only when every render
      // succeeded: otherwise the part of the chart that did not render is seen by the
      // text heuristics alone.
      const kept =
        failed.length === 0 ? heuristics.filter((h) => !REPLACED_BY_RENDERING.has(h.rule)) : heuristics;
      const good = renders.filter((r) => !failed.some((f) => f.with === r.with)).map((r) => r.with);
      const renderFailed: Finding[] = failed.map((f) => ({
        rule: RENDER_FAILED,
        severity: renderFailedSeverity,
        message:
          `the chart could not be rendered with its ${f.with} (${f.message}); ` +
          (good.length === 0
            ? 'findings come from the text heuristics only'
            : `findings come from the text heuristics and the render with its ${good.join(' and ')}`),
        chart: label,
      }));
      const seen = new Set<string>();
      const out: Finding[] = [];
      for (const f of [...kept, ...rendered, ...renderFailed]) {
        const k = key(f);
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(f);
      }
      return out;
    },
  };
}
