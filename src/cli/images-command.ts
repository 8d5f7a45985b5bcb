import { parseManifests } from '../render/parse.js';
import { formatImageList, listImages } from '../workloads/images.js';
import type { Command } from './commands.js';
import { Exit, UsageError } from './io.js';
import { RENDER_OPTIONS, renderForCommand, reportRenderFailure } from './template-command.js';

/**
 * `chartproof images [NAME] CHART [template flags] [--json]`: renders the chart as
 * `helm template` would and lists every container image it runs (hooks included unless
 * `--no-hooks`/`--skip-tests`), normalised like Docker, one per line; `--json` adds where
 * each is used and the findings (invalid references).
 */
export const IMAGES_COMMAND: Command = {
  usage: 'images [NAME] CHART [template flags]',
  summary: 'list the container images a chart runs (rendered as helm template would)',
  help:
    '\nTakes the flags of `chartproof template`. Text: one normalised reference per line, sorted,\n' +
    'without duplicates (docker.io/library/nginx:latest for nginx). --json: { images: [{ reference,\n' +
    'normalized, pinned, source, kind, name, namespace, container, containerKind, field }], findings }.\n' +
    'Exit 1 when an image reference is invalid.\n',
  options: RENDER_OPTIONS,
  async run(ctx) {
    if (ctx.args.length < 1 || ctx.args.length > 2) {
      throw new UsageError(`expected 1 or 2 arguments: chartproof ${this.usage}`);
    }
    const name = ctx.args.length === 2 ? ctx.args[0]! : 'release-name';
    const chartRef = ctx.args.length === 2 ? ctx.args[1]! : ctx.args[0]!;
    const showOnly = ((ctx.values['show-only'] as string[] | undefined) ?? []).slice();
    let text: string;
    try {
      const { result } = await renderForCommand(
        ctx,
        name,
        chartRef,
        ctx.values['name-template'] as string | undefined,
        showOnly,
      );
      text = result.text;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      return reportRenderFailure(ctx, e, showOnly);
    }
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
