import { attributeErrors } from '../errors.js';
import { parseManifests } from '../render/parse.js';
import { verifyImages } from '../verify/images.js';
import { listImages } from '../workloads/images.js';
import type { Command } from './commands.js';
import { Exit, UsageError } from './io.js';
import { POLICY_OPTIONS, policyFromFlags, TLOG_WARNING, verifyFormatFromFlags } from './policy-flags.js';
import { isRemoteChart, RENDER_OPTIONS, renderForCommand, reportRenderFailure } from './template-command.js';

/** One image's outcome. */
interface ImageResult {
  image: string;
  verified: boolean;
  pinned?: string;
  digest?: string;
  format?: string;
  error?: { code: string; message: string };
}

/**
 * `chartproof verify-images [NAME] CHART [template flags] (--key PUB | --certificate-identity…)`:
 * renders the chart, lists every image it runs and verifies each image's cosign
 * signatures with the same policy and checks as `verify` (bundles, then legacy `.sig`);
 * prints each image's digest-pinned reference. The verification is `verifyImages`
 * (src/verify/images.ts); this command renders, lists and prints. Exit 1 when any image
 * is unsigned or fails the policy, 3 when a registry failed to answer for one.
 */
export const VERIFY_IMAGES_COMMAND: Command = {
  usage:
    'verify-images [NAME] CHART [template flags] (--key PUB | --certificate-identity X --certificate-oidc-issuer Y)',
  summary: 'verify that every image a chart runs is signed (cosign policy), and pin each to a digest',
  help:
    '\nTakes the flags of `chartproof template` (`--api-versions` without its -a short form, which is\n' +
    '`--annotations` here) and of `chartproof verify`. Text: `OK <pinned>` or `FAIL <image>: <reason>`\n' +
    'per image; --json: { images: [{ image, verified, pinned?, digest?, format?, error? }], verified, failed }.\n',
  options: {
    ...RENDER_OPTIONS,
    'api-versions': { type: 'string', multiple: true },
    ...POLICY_OPTIONS,
    format: { type: 'string' },
    concurrency: { type: 'string' },
  },
  async run(ctx) {
    if (ctx.args.length < 1 || ctx.args.length > 2) {
      throw new UsageError(`expected 1 or 2 arguments: chartproof ${this.usage}`);
    }
    const policy = await policyFromFlags(ctx);
    const format = verifyFormatFromFlags(ctx);
    const concurrency = Number(ctx.values.concurrency ?? 4);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
      throw new UsageError('--concurrency must be an integer from 1 to 32');
    }
    if (policy.tlog === 'skip') ctx.io.stderr(TLOG_WARNING);
    const name = ctx.args.length === 2 ? ctx.args[0]! : 'release-name';
    const chartRef = ctx.args.length === 2 ? ctx.args[1]! : ctx.args[0]!;
    let text: string;
    const showOnly = ((ctx.values['show-only'] as string[] | undefined) ?? []).slice();
    try {
      text = (
        await renderForCommand(
          ctx,
          name,
          chartRef,
          ctx.values['name-template'] as string | undefined,
          showOnly,
        )
      ).result.text;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      return reportRenderFailure(ctx, e, showOnly);
    }
    const inventory = listImages(parseManifests(text, { origin: 'remote' }));
    // More images than verifyImages accepts is a property of the chart: local or pulled.
    const outcome = await attributeErrors(isRemoteChart(ctx, chartRef) ? 'remote' : 'local', () =>
      verifyImages(
        ctx.client,
        inventory.images.map((i) => i.normalized),
        { policy, concurrency, ...(format ? { formats: [format] } : {}) },
      ),
    );
    const results: ImageResult[] = outcome.images.map((r) =>
      r.verified
        ? { image: r.image, verified: true, pinned: r.pinned, digest: r.digest, format: r.format }
        : { image: r.image, verified: false, ...(r.error ? { error: r.error } : {}) },
    );
    for (const f of inventory.findings) {
      results.push({
        image: f.message,
        verified: false,
        error: { code: 'INVALID_REFERENCE', message: f.message },
      });
    }
    const failed = results.filter((r) => !r.verified).length;
    if (ctx.flags.json) {
      ctx.io.stdout(
        `${JSON.stringify({ images: results, verified: results.length - failed, failed }, null, 2)}\n`,
      );
    } else {
      for (const r of results) {
        ctx.io.stdout(
          r.verified ? `OK   ${r.pinned}\n` : `FAIL ${r.image}: ${r.error?.message ?? 'not verified'}\n`,
        );
      }
    }
    if (failed === 0) return Exit.ok;
    return outcome.registryFailures > 0 ? Exit.registry : Exit.verification;
  },
};
