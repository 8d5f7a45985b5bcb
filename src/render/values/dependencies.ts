/**
 * Helm's `ProcessDependencies` (`pkg/chart/v2/util/dependencies.go`, v4.1.4): aliases,
 * `condition`/`tags` (disabled subcharts removed), then `import-values` bottom-up.
 * Works on a private copy of the chart tree; the input is never modified.
 */
import type { Chart, ChartDependency, ChartMetadata } from '../../chart/types.js';
import { normalizeVersion, parseVersionConstraint, satisfiesConstraint } from '../../chart/version.js';
import type { GoValue } from '../template/value.js';
import {
  coalesceValues,
  mergeChartValues,
  mergeTables,
  NoValueError,
  pathValue,
  valuesTable,
  type WarnFn,
} from './coalesce.js';
import {
  deepCopy,
  fail,
  getKey,
  goSprintV,
  hasKey,
  isTable,
  newMap,
  setKey,
  toGoValue,
  type Values,
} from './go.js';

/**
 * A chart whose `values` are Go values (null-prototype maps, float64 numbers): what
 * {@link processDependencies} returns and what coalescing and the engine consume.
 * @public
 */
export interface ValuesChartTree extends Chart {
  values: Values;
  dependencies: ValuesChartTree[];
}

/**
 * Masterminds `IsCompatibleRange(constraint, version)`: false when either does not
 * parse (an empty constraint does not parse). Prereleases match only when the
 * constraint names one.
 * @public
 */
export function isCompatibleRange(constraint: string, version: string): boolean {
  if (constraint.trim() === '') return false;
  const v = normalizeVersion(version.trim());
  if (v === undefined) return false;
  try {
    return satisfiesConstraint(v, parseVersionConstraint(constraint));
  } catch {
    return false;
  }
}

/** Deep-enough copy of a chart tree, values converted to Go values. @public */
export function toValuesTree(chart: Chart): ValuesChartTree {
  return {
    ...chart,
    metadata: copyMetadata(chart.metadata),
    values: toGoValue(chart.values ?? {}) as Values,
    dependencies: chart.dependencies.map(toValuesTree),
  };
}

function copyMetadata(md: ChartMetadata): ChartMetadata {
  const out: ChartMetadata = { ...md };
  if (md.dependencies !== undefined) {
    out.dependencies = md.dependencies.map((d) => (d === null || d === undefined ? d : { ...d }));
  }
  return out;
}

/** Options of {@link processDependencies}. @public */
export interface ProcessDependenciesOptions {
  /** Receives Helm's warnings (non-bool conditions/tags, missing import tables, coalescing). */
  warn?: WarnFn;
}

/**
 * Helm's `ProcessDependencies(chart, userValues)`: returns a processed copy of the
 * tree where aliased dependencies are renamed copies, dependencies disabled by
 * `condition` (first path that resolves to a bool wins; non-bools warn) or `tags`
 * are removed (from `dependencies` and `metadata.dependencies`), remaining
 * `metadata.dependencies` are `enabled: true` with `import-values` normalised to
 * `{child, parent}` maps, and each chart's `values` are its defaults merged with its
 * subcharts' (nulls kept) plus imported values (parent values win over imports).
 *
 * @throws ChartproofError `VALUES_INVALID` (`type mismatch on <sub>: …`).
 * @public
 */
export function processDependencies(
  chart: Chart,
  userValues: Values | null,
  options: ProcessDependenciesOptions = {},
): ValuesChartTree {
  const warn = options.warn ?? (() => {});
  const tree = toValuesTree(chart);
  processEnabled(tree, userValues ?? newMap(), '', warn);
  processImportValuesTree(tree, warn);
  return tree;
}

function getAliasDependency(charts: ValuesChartTree[], dep: ChartDependency): ValuesChartTree | undefined {
  for (const c of charts) {
    if (c.metadata.name !== dep.name) continue;
    if (!isCompatibleRange(dep.version ?? '', c.metadata.version)) continue;
    const out: ValuesChartTree = {
      ...c,
      metadata: copyMetadata(c.metadata),
      dependencies: c.dependencies.map((d) => ({ ...d })),
    };
    if (dep.alias !== undefined && dep.alias !== '') out.metadata.name = dep.alias;
    return out;
  }
  return undefined;
}

function processEnabled(c: ValuesChartTree, v: Values, path: string, warn: WarnFn): void {
  const reqs = c.metadata.dependencies;
  if (reqs === undefined || reqs === null) return;
  const chartDependencies: ValuesChartTree[] = [];
  for (const existing of c.dependencies) {
    const listed = reqs.some(
      (req) =>
        req !== null &&
        req !== undefined &&
        existing.metadata.name === req.name &&
        isCompatibleRange(req.version ?? '', existing.metadata.version),
    );
    if (!listed) chartDependencies.push(existing);
  }
  for (const req of reqs) {
    if (req === null || req === undefined) continue;
    const dep = getAliasDependency(c.dependencies, req);
    if (dep !== undefined) chartDependencies.push(dep);
    if (req.alias !== undefined && req.alias !== '') req.name = req.alias;
  }
  c.dependencies = chartDependencies;
  for (const r of reqs) if (r) r.enabled = true;
  const cvals = coalesceValues(c, v, warn);
  processTags(reqs, cvals, warn);
  processConditions(reqs, cvals, path, warn);
  const rm = new Set<string>();
  for (const r of reqs) if (r && !r.enabled) rm.add(r.name);
  const cd = c.dependencies.filter((n) => !rm.has(n.metadata.name));
  const cdMetadata = reqs.filter((n) => n === null || n === undefined || !rm.has(n.name));
  for (const t of cd) processEnabled(t, cvals, `${path}${t.metadata.name}.`, warn);
  c.metadata.dependencies = cdMetadata;
  c.dependencies = cd;
}

function processConditions(reqs: ChartDependency[], cvals: Values, cpath: string, warn: WarnFn): void {
  for (const r of reqs) {
    if (!r) continue;
    for (const cond of (r.condition ?? '').trim().split(',')) {
      if (cond.length === 0) continue;
      let vv: GoValue;
      try {
        vv = pathValue(cvals, cpath + cond);
      } catch (e) {
        if (!(e instanceof NoValueError))
          warn(`the method PathValue returned error: ${(e as Error).message}`);
        continue;
      }
      if (typeof vv === 'boolean') {
        r.enabled = vv;
        break;
      }
      warn(`returned non-bool value path=${cond} chart=${r.name}`);
    }
  }
}

function processTags(reqs: ChartDependency[], cvals: Values, warn: WarnFn): void {
  let vt: Values;
  try {
    vt = valuesTable(cvals, 'tags');
  } catch {
    return;
  }
  for (const r of reqs) {
    if (!r) continue;
    let hasTrue = false;
    let hasFalse = false;
    for (const k of r.tags ?? []) {
      if (!hasKey(vt, k)) continue;
      const b = getKey(vt, k);
      if (typeof b === 'boolean') {
        if (b) hasTrue = true;
        else hasFalse = true;
      } else warn(`returned non-bool value tag=${k} chart=${r.name}`);
    }
    if (!hasTrue && hasFalse) r.enabled = false;
    else if (hasTrue || (!hasTrue && !hasFalse)) r.enabled = true;
  }
}

function processImportValuesTree(c: ValuesChartTree, warn: WarnFn): void {
  for (const d of c.dependencies) processImportValuesTree(d, warn);
  processImportValues(c, warn);
}

/** `pathToMap`: nests `data` under a dotted path (`.` = top level). */
function pathToMap(path: string, data: Values): Values {
  if (path === '.') return data;
  let cur = data;
  const parts = path.split('.');
  for (let i = parts.length - 1; i >= 0; i--) {
    const m = newMap();
    setKey(m, parts[i] as string, cur);
    cur = m;
  }
  return cur;
}

function processImportValues(c: ValuesChartTree, warn: WarnFn): void {
  const reqs = c.metadata.dependencies;
  if (reqs === undefined || reqs === null) return;
  const cvals = mergeChartValues(c, null, warn);
  let b: Values = newMap();
  for (const r of reqs) {
    if (!r) continue;
    const outiv: GoValue[] = [];
    for (const riv of (r['import-values'] ?? []) as unknown[]) {
      if (typeof riv === 'string') {
        const child = `exports.${riv}`;
        outiv.push(childParent(child, '.'));
        let vm: Values;
        try {
          vm = valuesTable(cvals, `${r.name}.${child}`);
        } catch (e) {
          warn(`ImportValues missing table error=${(e as Error).message}`);
          continue;
        }
        b = mergeTables(b, vm, warn) as Values;
      } else if (isTable(riv) || (typeof riv === 'object' && riv !== null && !Array.isArray(riv))) {
        const iv = toGoValue(riv) as Values;
        const child = goSprintV(hasKey(iv, 'child') ? getKey(iv, 'child') : null);
        const parent = goSprintV(hasKey(iv, 'parent') ? getKey(iv, 'parent') : null);
        outiv.push(childParent(child, parent));
        let vv: Values;
        try {
          vv = valuesTable(cvals, `${r.name}.${child}`);
        } catch (e) {
          warn(`ImportValues missing table from chart chart=${r.name} error=${(e as Error).message}`);
          continue;
        }
        b = mergeTables(b, pathToMap(parent, vv), warn) as Values;
      }
    }
    if (outiv.length > 0) r['import-values'] = outiv;
    else delete r['import-values'];
  }
  c.values = mergeTables(deepCopy(cvals), b, warn) as Values;
}

function childParent(child: string, parent: string): Values {
  const m = newMap();
  setKey(m, 'child', child);
  setKey(m, 'parent', parent);
  return m;
}

/**
 * `helm template`/`install`'s `checkIfInstallable`: only `""`/`application` charts
 * render. @throws ChartproofError `CHART_INVALID` `<type> charts are not installable`.
 * @public
 */
export function checkInstallable(chart: Chart): void {
  const type = chart.metadata.type ?? '';
  if (type === '' || type === 'application') return;
  fail('CHART_INVALID', `${type} charts are not installable`);
}

/**
 * Helm's `action.CheckDependencies`: every `Chart.yaml` dependency must be present
 * (by chart name) among the loaded subcharts.
 * @throws ChartproofError `CHART_INVALID` `found in Chart.yaml, but missing in charts/ directory: a, b`.
 * @public
 */
export function checkDependencies(chart: Chart): void {
  const missing: string[] = [];
  for (const r of chart.metadata.dependencies ?? []) {
    if (!r) continue;
    if (!chart.dependencies.some((d) => d.metadata.name === r.name)) missing.push(r.name);
  }
  if (missing.length > 0) {
    fail('CHART_INVALID', `found in Chart.yaml, but missing in charts/ directory: ${missing.join(', ')}`);
  }
}
