/**
 * One mirror step loads a chart archive and renders it for the scanner (with the chart's
 * defaults and with the spec's values) and again for the image overlay (with the spec's
 * values, then with the overlay). The render with the spec's values is the same render
 * both times: it is done once and shared, and so is the loaded chart.
 *
 * Both memos are `WeakMap`s keyed by the caller's objects (the archive's bytes, the
 * loaded chart), so they live as long as the plan item that holds the archive. A render
 * is a pure function of the chart and its options: sharing one changes no result.
 * Options that do not change the output (deadline, signal, a value file's name) are not
 * part of the key (the first caller's deadline applies); a failed render is not kept.
 */
import { loadChartArchive } from '../chart/load.js';
import type { Chart } from '../chart/types.js';
import { type RenderOptions, type RenderResult, renderChart } from '../render/render.js';

const charts = new WeakMap<Uint8Array, Promise<Chart>>();
const renders = new WeakMap<Chart, Map<string, RenderResult>>();

/** The chart in `archive`, loaded once for the scanner and the image overlay. @internal */
export function loadedChart(archive: Uint8Array, signal?: AbortSignal): Promise<Chart> {
  let p = charts.get(archive);
  if (!p) {
    const loading = loadChartArchive(archive, signal ? { signal } : {});
    p = loading;
    // A failed (or aborted) load is not kept: the next caller loads again.
    loading.catch(() => {
      if (charts.get(archive) === loading) charts.delete(archive);
    });
    charts.set(archive, loading);
  }
  return p;
}

/** The render's inputs that change its output, or undefined when it cannot be shared. */
function renderKey(options: RenderOptions): string | undefined {
  // Caller-supplied functions (warnings, template functions, `--set-file` reader).
  if (options.warn || options.funcs || options.values?.readFile) return undefined;
  const { signal: _s, timeoutMs: _t, values, ...rest } = options;
  const v = values && {
    ...values,
    ...(values.valueFiles ? { valueFiles: values.valueFiles.map((f) => f.text) } : {}),
  };
  // Keys sorted: two callers spreading the same options in another order share a render.
  const sorted = (o: object) => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([sorted(rest), v ? sorted(v) : null]);
}

/**
 * `renderChart`, giving the same result object for the same chart object and inputs
 * (read-only: callers must not change it). @internal
 */
export function sharedRender(chart: Chart, options: RenderOptions): RenderResult {
  const key = renderKey(options);
  if (key === undefined) return renderChart(chart, options);
  let done = renders.get(chart);
  const hit = done?.get(key);
  if (hit) return hit;
  const result = renderChart(chart, options);
  if (!done) {
    done = new Map();
    renders.set(chart, done);
  }
  done.set(key, result);
  return result;
}
