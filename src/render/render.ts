/**
 * `renderChart`: a loaded chart rendered as `helm template` (Helm v4.1.4) renders it —
 * values, dependencies, schema, templates, NOTES, hooks, install order, CRDs.
 * No filesystem or network access happens here: values files and `--set-file`
 * contents are handed in by the caller.
 */
import type { Chart } from '../chart/types.js';
import { renderTemplates } from './engine.js';
import { helmFuncs } from './funcs/index.js';
import {
  type CrdFile,
  formatTemplateOutput,
  type RenderedHook,
  type SortedManifest,
  sortManifests,
} from './manifests.js';
import type { FuncMap } from './template/index.js';
import { prepareRender } from './values/render-values.js';
import { mergeUserValues, type UserValuesOptions } from './values/user-values.js';
import { parseValuesYaml } from './values/yaml.js';

/** Options of {@link renderChart}, named after `helm template`'s flags. @public */
export interface RenderOptions {
  /** Release name (`helm template NAME`); default `release-name`. */
  releaseName?: string;
  /** `--namespace`; default `default`. */
  namespace?: string;
  /** `--is-upgrade`. */
  isUpgrade?: boolean;
  /** `.Release.Revision` (`helm template` always uses 1; installs and upgrades set the release's). Default 1. */
  revision?: number;
  /** `--kube-version`, e.g. `1.31.0` or `v1.31`. Default: Helm's (v1.20.0 in Helm's own builds, see docs). */
  kubeVersion?: string;
  /** `--api-versions`, appended to Helm's default list. */
  apiVersions?: readonly string[];
  /** `-f`, `--set`, `--set-string`, `--set-file`, `--set-json`, `--set-literal`. */
  values?: UserValuesOptions;
  /** `--skip-schema-validation`. */
  skipSchemaValidation?: boolean;
  /** `--include-crds` (only affects {@link RenderResult.text}; CRDs are always returned). */
  includeCrds?: boolean;
  /** `--skip-tests` (only affects {@link RenderResult.text}). */
  skipTests?: boolean;
  /** `--no-hooks` (only affects {@link RenderResult.text}). */
  noHooks?: boolean;
  /** `--show-only` (only affects {@link RenderResult.text}). */
  showOnly?: readonly string[];
  /** Render every subchart's NOTES.txt too (`--render-subchart-notes`). */
  subchartNotes?: boolean;
  /** Abort the render. */
  signal?: AbortSignal;
  /** Total time the render may take, in milliseconds (default 60 000). */
  timeoutMs?: number;
  /** Total characters the templates may produce (default 64 Mi). */
  maxOutput?: number;
  /** Helm's warnings (coalescing, conditions); Helm prints them on stderr. */
  warn?: (message: string) => void;
  /** Extra or replacement template functions (as Helm's CustomTemplateFuncs). */
  funcs?: FuncMap;
}

/** The result of {@link renderChart}. @public */
export interface RenderResult {
  /** Non-hook documents in Helm's install order. */
  manifests: SortedManifest[];
  /** Hook documents (tests included), in install order of kinds. */
  hooks: RenderedHook[];
  /** CRD files of the chart tree (`crds/`), in Helm's order. */
  crds: CrdFile[];
  /** Rendered NOTES.txt (top chart, plus subcharts with `subchartNotes`). */
  notes: string;
  /** Every rendered template file by path (partials excluded), before splitting. */
  files: ReadonlyMap<string, string>;
  /** `helm template`'s standard output for the given output options. */
  text: string;
}

/** Default {@link RenderOptions.maxOutput}: 64 Mi characters for all templates together. */
const DEFAULT_RENDER_MAX_OUTPUT = 64 * 1024 * 1024;

/** The error and phase of a failed render, so callers can print Helm's suffix. */
export type RenderPhase = 'values' | 'render';

/** Marks errors raised where Helm appends "Use --debug flag to render out invalid YAML". */
const RENDER_PHASE = Symbol.for('chartproof.render.phase');

const RENDER_PARTIAL = Symbol.for('chartproof.render.partial');

/** What Helm's `--debug` prints before a render error: the rendered files, when the failure came after rendering. @public */
export function renderErrorPartialOutput(err: unknown): string {
  return (err as Record<symbol, string | undefined> | null)?.[RENDER_PARTIAL] ?? '';
}

/** The phase in which a render error arose (`render` errors get Helm's `--debug` hint). @public */
export function renderErrorPhase(err: unknown): RenderPhase | undefined {
  return (err as Record<symbol, RenderPhase | undefined> | null)?.[RENDER_PHASE];
}

function tag<T>(err: T, phase: RenderPhase): T {
  if (err !== null && typeof err === 'object' && !Object.hasOwn(err, RENDER_PHASE)) {
    Object.defineProperty(err, RENDER_PHASE, { value: phase, enumerable: false });
  }
  return err;
}

const decoder = new TextDecoder();

/** The chart tree with each chart's defaults re-read from `values.yaml` with Helm's YAML semantics. */
function withHelmValues(chart: Chart): Chart {
  return {
    ...chart,
    values: chart.valuesYaml
      ? parseValuesYaml(decoder.decode(chart.valuesYaml), 'values.yaml')
      : chart.values,
    dependencies: chart.dependencies.map(withHelmValues),
  };
}

function crdFiles(chart: Chart, fullPath: string): CrdFile[] {
  const ext = (n: string) => {
    const dot = n.lastIndexOf('.');
    const slash = n.lastIndexOf('/');
    return dot > slash ? n.slice(dot).toLowerCase() : '';
  };
  const own = chart.files
    .filter((f) => f.name.startsWith('crds/') && ['.yaml', '.yml', '.json'].includes(ext(f.name)))
    .map((f) => ({ path: `${fullPath}/${f.name}`, content: decoder.decode(f.data) }));
  return [...own, ...chart.dependencies.flatMap((d) => crdFiles(d, `${fullPath}/charts/${d.metadata.name}`))];
}

/**
 * Renders a chart as `helm template` does and returns the documents, hooks, CRDs,
 * notes and the exact text Helm would print.
 *
 * Errors are `ChartproofError`s with Helm's message: `VALUES_INVALID` (values files,
 * `--set`, schema), `CHART_INVALID` (kubeVersion, dependencies), `TEMPLATE_PARSE`,
 * `TEMPLATE_EXEC`, `TEMPLATE_OUTPUT_INVALID`, `TEMPLATE_NOT_FOUND`, `RENDER_LIMIT`,
 * `TIMEOUT`, `ABORTED`. {@link renderErrorPhase} tells whether Helm would add its
 * `--debug` hint.
 * @public
 */
export function renderChart(chart: Chart, options: RenderOptions = {}): RenderResult {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let prepared: ReturnType<typeof prepareRender>;
  try {
    const userValues = mergeUserValues(options.values ?? {});
    prepared = prepareRender(withHelmValues(chart), {
      release: {
        name: options.releaseName ?? 'release-name',
        namespace: options.namespace ?? 'default',
        ...(options.isUpgrade ? { isUpgrade: true } : {}),
        ...(options.revision !== undefined ? { revision: options.revision } : {}),
      },
      userValues,
      ...(options.kubeVersion !== undefined ? { kubeVersion: options.kubeVersion } : {}),
      ...(options.apiVersions ? { apiVersions: options.apiVersions } : {}),
      ...(options.skipSchemaValidation ? { skipSchemaValidation: true } : {}),
      ...(options.warn ? { warn: options.warn } : {}),
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : '';
    throw tag(e, msg.startsWith('chart requires kubeVersion') ? 'render' : 'values');
  }
  const tree = prepared.chart;
  let files: Map<string, string>;
  try {
    files = renderTemplates(tree, prepared.values, {
      funcs: { ...helmFuncs(), ...(options.funcs ?? {}) },
      deadline,
      ...(options.signal ? { signal: options.signal } : {}),
      maxOutput: options.maxOutput ?? DEFAULT_RENDER_MAX_OUTPUT,
    });
  } catch (e) {
    throw tag(e, 'render');
  }
  // NOTES.txt: rendered like every template, then taken out of the manifests.
  let notes = '';
  const topNotes = `${tree.metadata.name}/templates/NOTES.txt`;
  for (const [name, text] of [...files]) {
    if (!name.endsWith('NOTES.txt')) continue;
    if (options.subchartNotes || name === topNotes) {
      if (notes.length > 0) notes += '\n';
      notes += text;
    }
    files.delete(name);
  }
  let sorted: ReturnType<typeof sortManifests>;
  try {
    sorted = sortManifests(files);
  } catch (e) {
    // What `helm template --debug` prints after a YAML error: every non-empty file.
    if (e !== null && typeof e === 'object') {
      let partial = '';
      for (const [name, content] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (content.trim() !== '') partial += `---\n# Source: ${name}\n${content}\n`;
      }
      Object.defineProperty(e, RENDER_PARTIAL, { value: partial, enumerable: false });
    }
    throw tag(e, 'render');
  }
  const crds = crdFiles(tree, tree.metadata.name);
  const text = formatTemplateOutput(sorted, {
    ...(options.includeCrds ? { crds } : {}),
    ...(options.noHooks ? { noHooks: true } : {}),
    ...(options.skipTests ? { skipTests: true } : {}),
    ...(options.showOnly ? { showOnly: options.showOnly } : {}),
  });
  return { manifests: sorted.manifests, hooks: sorted.hooks, crds, notes, files, text };
}
