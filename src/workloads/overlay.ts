/**
 * A values overlay (`values-internal.yaml`) that points every image of a chart at an
 * internal registry, checked by rendering the chart again with it.
 *
 * Charts do not declare their images; they build image references in templates from
 * values. The common layouts are recognised in the chart's values (defaults, the
 * subcharts' defaults under their names, then the caller's values):
 * - `{ repository, tag?, digest? }`: `repository` becomes `<prefix>/<repository path>`;
 * - `{ registry, repository, … }` (Bitnami and many others): `registry` becomes the
 *   prefix (and `repository` the normalised path when Docker Hub's `library/` was
 *   implied);
 * - `global.imageRegistry` (Bitnami's common chart): the prefix, and
 *   `global.security.allowInsecureImages: true` where the chart has that switch
 *   (Bitnami charts refuse images other than their own without it);
 * - a string under a key named `image` or ending in `Image` that is a full reference
 *   (`image: nginx:1.27`): the internal reference with the same tag and digest.
 * Only values that name an image the chart actually renders are rewritten, so an
 * unrelated `repository` key is left alone. Arrays are replaced whole (Helm merges maps,
 * not lists). The overlay is proven by a second render: every image must then come
 * from the prefix, or {@link buildImageOverlay} refuses (`IMAGE_OVERLAY_INCOMPLETE`),
 * naming each image and where it is used.
 */
import { stringify } from 'yaml';
import type { Chart } from '../chart/types.js';
import { ChartproofError } from '../errors.js';
import { parseReference } from '../oci/reference.js';
import { parseManifests } from '../render/parse.js';
import { type RenderOptions, type RenderResult, renderChart } from '../render/render.js';
import { type ContainerImage, listImages, type NormalizedImage, normalizeImage } from './images.js';

/** Options of {@link buildImageOverlay}. @public */
export interface ImageOverlayOptions {
  /**
   * Where the images are mirrored: `registry.internal/mirror`. An image
   * `docker.io/bitnami/nginx:1.27` maps to `registry.internal/mirror/bitnami/nginx:1.27`
   * (the source registry's host is dropped, as Harbor proxy caches and Zarf do; two
   * sources that would land on the same repository are refused).
   */
  prefix: string;
  /**
   * The values the chart is installed with (a mirror spec's `values`), applied over the
   * chart's defaults for both renders. The overlay is meant to be passed after them
   * (`helm install -f values.yaml -f values-internal.yaml`).
   */
  values?: Record<string, unknown>;
  /**
   * Render options of both renders (release name, namespace, kube version, …). Their
   * `values` (`-f` files, `--set` lines) are rendered but not searched for image
   * layouts; `--set` lines apply after the overlay (Helm's order), so a `--set` that
   * moves an image makes the overlay incomplete and it is refused.
   */
  render?: RenderOptions;
  /** Chart label for messages; default `name-version`. */
  chart?: string;
}

/** One image of the chart and where it goes. @public */
export interface ImageMapping {
  /** The normalised upstream reference, as rendered (`docker.io/bitnami/nginx:1.27`). */
  source: string;
  /** The internal reference with the same tag and digest. */
  target: string;
}

/** One rewritten value. @public */
export interface OverlayRewrite {
  /** Dotted values path (`image.registry`, `sidecars[0].image`). */
  path: string;
  from: unknown;
  to: unknown;
  layout: 'repository' | 'registry' | 'global-registry' | 'full-reference' | 'bitnami-substitution';
}

/** The result of {@link buildImageOverlay}. @public */
export interface ImageOverlay {
  /** The overlay values (only the changed keys; arrays whole). */
  values: Record<string, unknown>;
  /** The overlay as `values-internal.yaml` text, with a header comment. */
  yaml: string;
  /** Every image the chart renders (with the given values), sorted, and its internal reference. */
  images: ImageMapping[];
  rewrites: OverlayRewrite[];
}

const IMAGE_KEY = /^(image|.*Image)$/;
const MAX_NODES = 200_000;

/**
 * Builds `values-internal.yaml` for a chart and proves it: renders the chart, lists its
 * images, rewrites the image values found in the common layouts, renders again with
 * the overlay and checks that every image now comes from `prefix`.
 * @throws ChartproofError `INVALID_ARGUMENT` for a bad prefix or two images mapping to
 *   one internal repository; `IMAGE_OVERLAY_INCOMPLETE` when an image still points
 *   elsewhere after the overlay (an image the values do not expose); render errors
 * @public
 */
export function buildImageOverlay(chart: Chart, options: ImageOverlayOptions): ImageOverlay {
  return buildImageOverlayWith(chart, options, renderChart);
}

/** {@link buildImageOverlay} rendering through `render` (shared renders). @internal */
export function buildImageOverlayWith(
  chart: Chart,
  options: ImageOverlayOptions,
  render: Render,
): ImageOverlay {
  const prefix = checkPrefix(options.prefix);
  const label = options.chart ?? `${chart.metadata.name}-${chart.metadata.version}`;
  const userValues = options.values ?? {};
  const before = renderImages(chart, options, [userValues], render);
  const images = mapImages(before, prefix);

  const effective = deepMerge(effectiveDefaults(chart), userValues);
  const byRepo = new Map<string, NormalizedImage>();
  for (const img of before) byRepo.set(`${img.registry}/${img.repository}`, img);
  const rewrites: OverlayRewrite[] = [];
  const budget = { nodes: 0 };
  const rewritten = rewriteNode(effective, [], { prefix, byRepo, rewrites, budget });
  const overlay = (diff(effective, rewritten) ?? {}) as Record<string, unknown>;

  const after = renderImages(chart, options, [userValues, overlay], render);
  const outside = after.filter((i) => !i.normalized.startsWith(`${prefix}/`));
  if (outside.length > 0) {
    const lines = [...new Set(outside.map((i) => `${i.normalized} (${i.source ?? '?'} ${i.field})`))];
    throw new ChartproofError(
      'IMAGE_OVERLAY_INCOMPLETE',
      `${label}: with the values overlay, ${lines.length} image use(s) still point outside ${prefix}: ${lines.slice(0, 20).join(', ')}${lines.length > 20 ? ', …' : ''}; the chart's values do not expose ${lines.length === 1 ? 'this image' : 'these images'} in a layout chartproof rewrites (see docs/images.md)`,
    );
  }
  const header = `# values-internal.yaml for ${label}, generated by chartproof: every image from ${prefix}.\n# Install with: helm install … -f values-internal.yaml (after any other -f files).\n`;
  const body = Object.keys(overlay).length === 0 ? '{}\n' : stringify(overlay, { lineWidth: 0 });
  return { values: overlay, yaml: header + body, images, rewrites };
}

function checkPrefix(raw: string): string {
  const prefix = typeof raw === 'string' ? raw.replace(/\/+$/, '') : '';
  if (
    !prefix ||
    /^[a-z][a-z0-9+.-]*:\/\//i.test(prefix) ||
    /[@:]\S*\//.test(prefix.split('/').slice(1).join('/'))
  ) {
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `invalid image prefix ${JSON.stringify(raw)}: use registry[/path]`,
    );
  }
  try {
    const ref = parseReference(`${prefix}/x`);
    if (`${ref.registry}/${ref.repository}` !== `${prefix}/x`) throw new Error('normalised');
  } catch (e) {
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `invalid image prefix ${JSON.stringify(raw)}: use a registry host and optional path in normalised form (registry.internal/mirror)`,
      { cause: e },
    );
  }
  return prefix;
}

type Render = (chart: Chart, options: RenderOptions) => RenderResult;

function renderImages(
  chart: Chart,
  options: ImageOverlayOptions,
  layers: Record<string, unknown>[],
  render: Render,
): ContainerImage[] {
  const files = layers
    .filter((v) => Object.keys(v).length > 0)
    .map((v, i) => ({ name: i === 0 ? 'values' : 'values-internal.yaml', text: JSON.stringify(v) }));
  const result = render(chart, {
    ...options.render,
    ...(files.length > 0 ? { values: { valueFiles: files } } : {}),
  });
  return listImages(parseManifests(result.text, { origin: 'remote' })).images;
}

function targetOf(img: NormalizedImage, prefix: string): string {
  return `${prefix}/${img.repository}${img.tag !== undefined ? `:${img.tag}` : ''}${img.digest !== undefined ? `@${img.digest}` : ''}`;
}

function mapImages(images: readonly ContainerImage[], prefix: string): ImageMapping[] {
  const out = new Map<string, string>();
  const repoOwner = new Map<string, string>();
  for (const img of images) {
    if (img.normalized.startsWith(`${prefix}/`)) continue;
    const owner = repoOwner.get(img.repository);
    const source = `${img.registry}/${img.repository}`;
    if (owner !== undefined && owner !== source) {
      throw new ChartproofError(
        'INVALID_ARGUMENT',
        `images ${owner} and ${source} would both be mirrored to ${prefix}/${img.repository}`,
      );
    }
    repoOwner.set(img.repository, source);
    out.set(img.normalized, targetOf(img, prefix));
  }
  return [...out]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([source, target]) => ({ source, target }));
}

/** The chart's defaults with each subchart's defaults under its name (or alias), recursively. */
function effectiveDefaults(chart: Chart, depth = 0): Record<string, unknown> {
  const values = structuredClone(chart.values ?? {}) as Record<string, unknown>;
  if (depth > 16) return values;
  for (const dep of chart.dependencies) {
    const declared = chart.metadata.dependencies?.find((d) => d.name === dep.metadata.name);
    const key = declared?.alias ?? dep.metadata.name;
    const sub = effectiveDefaults(dep, depth + 1);
    const existing = values[key];
    values[key] = isRecord(existing) ? deepMerge(sub, existing) : sub;
  }
  return values;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Values maps merged as Helm merges `-f` files (maps deeply, anything else replaced). Not exported from `chartproof/workloads`. */
export function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isRecord(b) && isRecord(v) ? deepMerge(b, v) : v;
  }
  return out;
}

interface WalkState {
  prefix: string;
  byRepo: Map<string, NormalizedImage>;
  rewrites: OverlayRewrite[];
  budget: { nodes: number };
}

function pathText(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p),
    '',
  );
}

/** The rendered image a values `registry`/`repository` pair names, if any. */
function matchRepository(
  registry: unknown,
  repository: string,
  state: WalkState,
): NormalizedImage | undefined {
  const written = typeof registry === 'string' && registry !== '' ? `${registry}/${repository}` : repository;
  try {
    const n = normalizeImage(written);
    return state.byRepo.get(`${n.registry}/${n.repository}`);
  } catch {
    return undefined;
  }
}

function rewriteNode(node: unknown, path: (string | number)[], state: WalkState): unknown {
  if (++state.budget.nodes > MAX_NODES)
    throw new ChartproofError('SIZE_LIMIT_EXCEEDED', `values have more than ${MAX_NODES} nodes`);
  if (path.length > 128) return node;
  if (Array.isArray(node)) return node.map((v, i) => rewriteNode(v, [...path, i], state));
  if (!isRecord(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = rewriteNode(v, [...path, k], state);

  // global.imageRegistry (Bitnami common): only when the chart renders any image at all.
  if (
    path.length >= 1 &&
    path[path.length - 1] === 'global' &&
    'imageRegistry' in node &&
    state.byRepo.size > 0
  ) {
    if (out.imageRegistry !== state.prefix) {
      state.rewrites.push({
        path: pathText([...path, 'imageRegistry']),
        from: node.imageRegistry,
        to: state.prefix,
        layout: 'global-registry',
      });
      out.imageRegistry = state.prefix;
    }
  }
  // Bitnami charts refuse substituted images unless global.security.allowInsecureImages
  // is true ("insecure" there means "not Bitnami's own image"); the substitution is the
  // point of the overlay, and the second render proves where every image comes from.
  if (
    path.length >= 2 &&
    path[path.length - 1] === 'security' &&
    path[path.length - 2] === 'global' &&
    'allowInsecureImages' in node &&
    node.allowInsecureImages !== true &&
    state.byRepo.size > 0
  ) {
    state.rewrites.push({
      path: pathText([...path, 'allowInsecureImages']),
      from: node.allowInsecureImages,
      to: true,
      layout: 'bitnami-substitution',
    });
    out.allowInsecureImages = true;
  }
  // { registry?, repository, tag?, digest? }
  if (typeof node.repository === 'string' && node.repository !== '') {
    const img = matchRepository(node.registry, node.repository, state);
    if (img) {
      if (typeof node.registry === 'string') {
        state.rewrites.push({
          path: pathText([...path, 'registry']),
          from: node.registry,
          to: state.prefix,
          layout: 'registry',
        });
        out.registry = state.prefix;
        if (node.repository !== img.repository) {
          state.rewrites.push({
            path: pathText([...path, 'repository']),
            from: node.repository,
            to: img.repository,
            layout: 'registry',
          });
          out.repository = img.repository;
        }
      } else {
        const to = `${state.prefix}/${img.repository}`;
        state.rewrites.push({
          path: pathText([...path, 'repository']),
          from: node.repository,
          to,
          layout: 'repository',
        });
        out.repository = to;
      }
    }
  }
  // image: full-reference strings
  for (const [k, v] of Object.entries(node)) {
    if (typeof v !== 'string' || !IMAGE_KEY.test(k) || v === '') continue;
    let n: NormalizedImage;
    try {
      n = normalizeImage(v);
    } catch {
      continue;
    }
    const img = state.byRepo.get(`${n.registry}/${n.repository}`);
    if (!img) continue;
    const to = targetOf(n, state.prefix);
    state.rewrites.push({ path: pathText([...path, k]), from: v, to, layout: 'full-reference' });
    out[k] = to;
  }
  return out;
}

/** The part of `after` that differs from `before`: changed map keys recursively, anything else whole. */
function diff(before: unknown, after: unknown): unknown {
  if (isRecord(before) && isRecord(after)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(after)) {
      const d = diff(before[k], v);
      if (d !== undefined) out[k] = d;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return JSON.stringify(before) === JSON.stringify(after) ? undefined : after;
}
