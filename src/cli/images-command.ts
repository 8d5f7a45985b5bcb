import { writeFileAtomic } from '../fs.js';
import { parseYamlBounded } from '../internal/bounded-parse.js';
import type { Chart } from '../chart/types.js';
import type { RenderOptions } from '../render/render.js';
import { parseManifests } from '../render/parse.js';
import { formatImageList, listImages } from '../workloads/images.js';
import { buildImageOverlay, deepMerge } from '../workloads/overlay.js';
import type { Command } from './commands.js';
import { Exit, UsageError } from './io.js';
import { RENDER_OPTIONS, renderForCommand, reportRenderFailure } from './template-command.js';

/**
 * `chartproof images [NAME] CHART [template flags] [--json]`: renders the chart as
 * `helm template` would and lists every container image it runs (hooks included unless
 * `--no-hooks`/`--skip-tests`), normalised like Docker, one per line; `--json` adds where
 * each is used and the findings (invalid references). With `--prefix REGISTRY/PATH` it
 * builds the values overlay that points every image there (`--overlay FILE` writes it),
 * proven by a second render.
 */
export const IMAGES_COMMAND: Command = {
  usage: 'images [NAME] CHART [template flags] [--prefix REGISTRY/PATH [--overlay FILE]]',
  summary: 'list the container images a chart runs (rendered as helm template would)',
  help:
    '\nTakes the flags of `chartproof template`. Text: one normalised reference per line, sorted,\n' +
    'without duplicates (docker.io/library/nginx:latest for nginx). --json: { images: [{ image (as\n' +
    'written), normalized, registry, repository, tag?, digest?, pinned, source?, index, apiVersion?,\n' +
    'kind, name?, namespace?, container?, containerKind, field }] (one entry per use, in document\n' +
    'order), findings: [{ rule, severity, message, … }] }.\n' +
    'Exit 1 when an image reference is invalid.\n' +
    '\n--prefix REGISTRY/PATH: map every image to REGISTRY/PATH/<repository> (same tag and digest),\n' +
    'build the values overlay that points the chart there (repository, registry, global.imageRegistry\n' +
    'and full-reference layouts), render again with it and refuse (exit 1, IMAGE_OVERLAY_INCOMPLETE)\n' +
    'when an image still points elsewhere. Text: "source -> target" lines; --overlay FILE writes\n' +
    'values-internal.yaml (else it goes to stdout after the lines); --json: { images: [{ source,\n' +
    'target }], rewrites, overlay }. Values for the overlay search come from -f files; --set lines\n' +
    'are rendered but apply after the overlay.\n',
  options: { ...RENDER_OPTIONS, prefix: { type: 'string' }, overlay: { type: 'string' } },
  async run(ctx) {
    if (ctx.args.length < 1 || ctx.args.length > 2) {
      throw new UsageError(`expected 1 or 2 arguments: chartproof ${this.usage}`);
    }
    const name = ctx.args.length === 2 ? ctx.args[0]! : 'release-name';
    const chartRef = ctx.args.length === 2 ? ctx.args[1]! : ctx.args[0]!;
    const showOnly = ((ctx.values['show-only'] as string[] | undefined) ?? []).slice();
    let text: string;
    let chart: Chart;
    let renderOptions: RenderOptions;
    try {
      const {
        result,
        chart: loaded,
        options,
      } = await renderForCommand(
        ctx,
        name,
        chartRef,
        ctx.values['name-template'] as string | undefined,
        showOnly,
      );
      text = result.text;
      chart = loaded;
      renderOptions = options;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      return reportRenderFailure(ctx, e, showOnly);
    }
    const prefix = ctx.values.prefix as string | undefined;
    if (prefix !== undefined) return overlayCommand(ctx, chart, renderOptions, prefix);
    if (ctx.values.overlay !== undefined) throw new UsageError('--overlay needs --prefix');
    const inventory = listImages(parseManifests(text, { origin: 'remote' }));
    if (ctx.flags.json) {
      ctx.io.stdout(`${JSON.stringify(inventory, null, 2)}\n`);
    } else {
      ctx.io.stdout(formatImageList(inventory.images));
      for (const f of inventory.findings) ctx.io.stderr(`warning: ${f.message}\n`);
    }
    return inventory.findings.length > 0 ? Exit.verification : Exit.ok;
  },
};

async function overlayCommand(
  ctx: Parameters<Command['run']>[0],
  chart: Chart,
  render: RenderOptions,
  prefix: string,
): Promise<number> {
  // The -f files, as plain values, are searched for image layouts (later files win).
  let values: Record<string, unknown> = {};
  for (const f of render.values?.valueFiles ?? []) {
    const parsed = parseYamlBounded(f.text, {}, { what: f.name });
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      values = deepMerge(values, parsed as Record<string, unknown>);
  }
  const overlay = buildImageOverlay(chart, { prefix, values, render: { ...render, showOnly: [] } });
  const file = ctx.values.overlay as string | undefined;
  if (file !== undefined) await writeFileAtomic(file, overlay.yaml, 0o644);
  if (ctx.flags.json) {
    ctx.io.stdout(
      `${JSON.stringify({ images: overlay.images, rewrites: overlay.rewrites, overlay: overlay.values }, null, 2)}\n`,
    );
  } else {
    for (const m of overlay.images) ctx.io.stdout(`${m.source} -> ${m.target}\n`);
    if (file === undefined) ctx.io.stdout(`---\n${overlay.yaml}`);
  }
  return Exit.ok;
}
