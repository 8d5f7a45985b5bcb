/** Test helpers: per-chart `.Values` of a prepared render, as Helm's engine scopes them. */
import type { Values } from '../../../src/render/values/index.js';
import type { ValuesChartTree } from '../../../src/render/values/index.js';

/**
 * `template path → .Values` for every chart of the tree (Helm's `recAllTpls`: the root
 * sees everything, a subchart the parent's table under its name, else an empty map),
 * keyed by chart path `root/charts/sub/...`.
 */
export function scopedValues(chart: ValuesChartTree, values: Values): Map<string, Values> {
  const out = new Map<string, Values>();
  const walk = (c: ValuesChartTree, v: Values, path: string) => {
    // Helm renders only `_` partials of library charts, so they print nothing.
    if (c.metadata.type !== 'library') out.set(path, v);
    for (const d of c.dependencies) {
      const name = d.metadata.name;
      const sub = Object.hasOwn(v, name) ? v[name] : undefined;
      const table =
        sub !== null && typeof sub === 'object' && !Array.isArray(sub)
          ? (sub as Values)
          : (Object.create(null) as Values);
      walk(d, table, `${path}/charts/${name}`);
    }
  };
  walk(chart, values, chart.metadata.name);
  return out;
}
