import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyImages } from '../../src/mirror/images.js';
import { BlobMountCache } from '../../src/oci/mount-cache.js';
import { parseMirrorSpec } from '../../src/mirror/spec.js';
import type { MirrorPlanItem } from '../../src/mirror/plan.js';
import { imageIndex } from '../helpers/content.js';
import { type ListeningFixture, listeningFixture } from '../helpers/registry.js';

/**
 * apply plans each chart on its own and runs charts side by side: when the upstream tag
 * named another digest for another chart's plan (re-published mid-run, or a registry
 * answering differently), the internal tag must not be written over by the second copy.
 */
describe('image tags claimed once per run', () => {
  let fx: ListeningFixture;
  const digests: string[] = [];

  beforeAll(async () => {
    fx = await listeningFixture();
    const repo = fx.repo('team/app');
    for (const [name, tag] of [
      ['build-1', '1.0'],
      ['build-2', '1.0-rebuilt'],
    ] as const) {
      const img = imageIndex(name, { layerBytes: 512 });
      for (const p of img.parts) await repo.push(p.desc, p.data);
      digests.push((await repo.pushManifest(img.index.data, { tags: [tag] })).digest);
    }
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('refuses a second digest for a tag another chart of the run wrote; the tag keeps the first', async () => {
    const spec = parseMirrorSpec({
      target: { registry: fx.server.host, prefix: 'internal', plainHttp: true },
      images: true,
      charts: [{ name: 'web', source: `oci://${fx.server.host}/charts/web`, versions: ['1.0.0'] }],
    });
    const source = `${fx.server.host}/team/app:1.0`;
    const target = `${fx.server.host}/internal/images/team/app:1.0`;
    const planned = (name: string, digest: string) =>
      ({
        name,
        version: '1.0.0',
        images: [{ source, target, digest, action: 'copy' }],
      }) as unknown as MirrorPlanItem;
    const inflight = new Map();
    const claims = new Map<string, string>();
    const mountCache = new BlobMountCache();
    const noSign = async () => {};
    const run = (item: MirrorPlanItem) =>
      copyImages(item, spec, {}, undefined, noSign, mountCache, { client: fx.client }, inflight, claims);
    const [first] = await run(planned('web', digests[0]!));
    expect(first).toMatchObject({ status: 'copied', digest: digests[0] });
    const [second] = await run(planned('api', digests[1]!));
    expect(second).toMatchObject({ status: 'refused' });
    expect(second!.reason).toMatch(/another chart of this run writes .* not overwritten/);
    const tagged = await fx.client.repository(`${fx.server.host}/internal/images/team/app`).resolve('1.0');
    expect(tagged.digest).toBe(digests[0]);
  });
});
