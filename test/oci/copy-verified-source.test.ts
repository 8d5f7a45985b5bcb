import { describe, expect, it } from 'vitest';
import { CopyError } from '../../src/errors.js';
import { copy, RegistryClient } from '../../src/oci/index.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { chartArtifact, pushAll } from '../helpers/content.js';

/**
 * Between two `Repository`s the destination does not hash a blob again (the source
 * stream is verified): a source that sends other bytes of the right length must still
 * fail the copy as a source error, with nothing stored or tagged at the destination.
 */
describe('copy from a registry that swaps a blob in transit', () => {
  it('fails as a source error and stores nothing', async () => {
    const source = new MemoryRegistry();
    const target = new MemoryRegistry();
    const a = chartArtifact('app', '1.0.0', 300_000);
    const tampering: typeof fetch = async (input, init) => {
      const res = await source.fetch(input as string, init);
      const url = typeof input === 'string' ? input : (input as Request).url;
      if (!url.includes(`/blobs/${a.layer.desc.digest}`) || (init?.method ?? 'GET') !== 'GET') return res;
      const bytes = new Uint8Array(await res.arrayBuffer());
      bytes[bytes.length - 1] ^= 0xff; // same length, other content
      return new Response(bytes, { status: res.status, headers: res.headers });
    };
    const srcClient = new RegistryClient({ fetch: tampering, plainHttp: true, retry: { maxRetries: 0 } });
    const dstClient = new RegistryClient({ fetch: target.fetch, plainHttp: true, retry: { maxRetries: 0 } });
    const seed = new RegistryClient({ fetch: source.fetch, plainHttp: true }).repository(
      'src.test/charts/app',
    );
    await pushAll(seed, [a.config, a.layer]);
    await seed.pushManifest(a.manifest.data, { tags: ['1.0.0'] });

    const err = await copy(
      srcClient.repository('src.test/charts/app'),
      '1.0.0',
      dstClient.repository('dst.test/mirror/app'),
      '1.0.0',
    ).catch((e) => e);
    expect(err).toBeInstanceOf(CopyError);
    expect((err as CopyError).origin).toBe('source');
    const dst = target.repository('mirror/app');
    expect(await dst.tags()).toEqual([]);
    expect(await dst.exists(a.layer.desc)).toBe(false);
  });
});
