import { describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/oci/client.js';
import { copy } from '../../src/oci/copy.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { chartArtifact, pushAll } from '../helpers/content.js';

// `assumeRootAbsent` (used by mirror apply once its plan has listed the target's tags)
// drops the destination HEAD of the root manifest, and nothing else.

async function setup() {
  const registry = new MemoryRegistry();
  const a = chartArtifact('app', '1.0.0');
  const src = registry.repository('charts/app');
  await pushAll(src, [a.config, a.layer, a.manifest]);
  await src.tag(a.manifest.desc, '1.0.0');
  const requests: string[] = [];
  const client = new RegistryClient({
    plainHttp: true,
    fetch: registry.fetch,
    onEvent: (e) => {
      if (e.type === 'request') requests.push(`${e.method} ${new URL(e.url).pathname}`);
    },
  });
  return { registry, a, client, requests };
}

describe('copy with assumeRootAbsent', () => {
  describe('when the root is absent at the destination', () => {
    it.each([
      [false, 1],
      [true, 0],
    ])('assumeRootAbsent %s sends %i HEAD for the root and copies the same', async (assume, heads) => {
      const { registry, a, client, requests } = await setup();
      const src = client.repository('registry.test/charts/app');
      const dst = client.repository('registry.test/mirror/app');
      const result = await copy(src, '1.0.0', dst, '1.0.0', { assumeRootAbsent: assume });
      expect(result.descriptor.digest).toBe(a.manifest.desc.digest);
      const rootHeads = requests.filter(
        (r) => r === `HEAD /v2/mirror/app/manifests/${a.manifest.desc.digest}`,
      );
      expect(rootHeads).toHaveLength(heads);
      // Blobs are still checked one by one.
      expect(requests.filter((r) => r.startsWith('HEAD /v2/mirror/app/blobs/'))).toHaveLength(2);
      expect((await registry.repository('mirror/app').resolve('1.0.0')).digest).toBe(a.manifest.desc.digest);
    });
  });

  describe('when the root is there after all', () => {
    it('still ends with the tag on the same manifest, uploading nothing', async () => {
      const { registry, a, client, requests } = await setup();
      const src = client.repository('registry.test/charts/app');
      const dst = client.repository('registry.test/mirror/app');
      await copy(src, '1.0.0', dst, 'old');
      requests.length = 0;
      await copy(src, '1.0.0', dst, '1.0.0', { assumeRootAbsent: true });
      expect(requests.filter((r) => r.startsWith('POST') || r.startsWith('PATCH'))).toEqual([]);
      expect((await registry.repository('mirror/app').resolve('1.0.0')).digest).toBe(a.manifest.desc.digest);
    });
  });
});
