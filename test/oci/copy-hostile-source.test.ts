import { describe, expect, it } from 'vitest';
import { CopyError } from '../../src/errors.js';
import { staticCredentials } from '../../src/oci/auth/credentials.js';
import { RegistryClient } from '../../src/oci/client.js';
import { copy } from '../../src/oci/copy.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { MediaType } from '../../src/oci/media-types.js';
import { referrersTag } from '../../src/oci/referrers.js';
import { MemoryStore } from '../../src/oci/memory-store.js';
import type { ReadOnlyTarget } from '../../src/oci/target.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { chartArtifact, pushAll, referrerOf } from '../helpers/content.js';

// A hostile source registry answers the referrers listing of the copied root with
// whatever it likes. The destination has no referrers API, so copy maintains its
// `sha256-<hex>` fallback tags itself.

async function setup(listing: (root: Descriptor, victim: Descriptor, stray: Descriptor) => Descriptor[]) {
  const registry = new MemoryRegistry({ referrersApi: false });
  const a = chartArtifact('app', '1.0.0');
  const victim = chartArtifact('victim', '2.0.0');
  const src = registry.repository('charts/app');
  await pushAll(src, [a.config, a.layer, a.manifest, victim.config, victim.layer, victim.manifest]);
  await src.tag(a.manifest.desc, '1.0.0');
  // The victim is already at the destination (another image of the mirror).
  const dstStore = registry.repository('mirror/app');
  await pushAll(dstStore, [victim.config, victim.layer, victim.manifest]);
  await dstStore.tag(victim.manifest.desc, '2.0.0');
  // A signature-like manifest whose subject is the victim, not the root.
  const stray = referrerOf(victim.manifest.desc, 'application/vnd.example.sig', 'forged');
  await pushAll(src, [stray.empty, stray.layer, stray.manifest]);
  const rootHex = a.manifest.desc.digest.slice('sha256:'.length);
  const fetchFn: typeof registry.fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (url.pathname === `/v2/charts/app/referrers/sha256:${rootHex}`) {
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: listing(a.manifest.desc, victim.manifest.desc, stray.manifest.desc),
      });
      return new Response(body, { status: 200, headers: { 'content-type': MediaType.OciIndex } });
    }
    return registry.fetch(input, init);
  };
  const client = new RegistryClient({ plainHttp: true, fetch: fetchFn });
  return { registry, a, victim, stray, client };
}

describe('copy from a hostile source: referrers listing', () => {
  it('does not copy a "referrer" whose subject is another manifest (nor attach it there)', async () => {
    const { registry, victim, stray, client } = await setup((_root, _victim, s) => [s]);
    const src = client.repository('src.test/charts/app');
    const dst = client.repository('dst.test/mirror/app');
    const err = await copy(src, '1.0.0', dst, '1.0.0', { referrers: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopyError);
    expect((err as CopyError).origin).toBe('source');
    const dstStore = registry.repository('mirror/app');
    // The stray manifest was not written, and the victim gained no referrers tag.
    expect(await dstStore.exists(stray.manifest.desc)).toBe(false);
    await expect(dstStore.resolve(referrersTag(victim.manifest.desc.digest))).rejects.toThrow();
    // Nor was the root tagged.
    await expect(dstStore.resolve('1.0.0')).rejects.toThrow();
  });

  it('does not report the subject as its own referrer', async () => {
    const { a, client } = await setup((root) => [root]);
    const src = client.repository('src.test/charts/app');
    const dst = client.repository('dst.test/mirror/app');
    const result = await copy(src, '1.0.0', dst, '1.0.0', { referrers: true });
    expect(result.descriptor.digest).toBe(a.manifest.desc.digest);
    expect(result.referrers).toEqual([]);
  });
});

describe('copy into a registry that answers oddly', () => {
  it('an upload Location on another host gets no credentials', async () => {
    const PASSWORD = 'SECRET-hunter2';
    for (const auth of [
      { type: 'basic' as const, username: 'alice', password: PASSWORD },
      { type: 'bearer' as const, username: 'alice', password: PASSWORD },
    ]) {
      const registry = new MemoryRegistry({ auth });
      const a = chartArtifact('app', '1.0.0');
      const seen: Array<{ host: string; authorization: string | null; url: string }> = [];
      const fetchFn: typeof registry.fetch = async (input, init) => {
        const req = new Request(input, init);
        const url = new URL(req.url);
        seen.push({ host: url.host, authorization: req.headers.get('authorization'), url: req.url });
        if (url.host === 'evil.test') return new Response('nope', { status: 500 });
        const res = await registry.fetch(input, init);
        if (req.method === 'POST' && url.pathname.endsWith('/blobs/uploads/') && res.status === 202) {
          const headers = new Headers(res.headers);
          headers.set('location', 'https://evil.test/v2/charts/app/blobs/uploads/x');
          return new Response(null, { status: 202, headers });
        }
        return res;
      };
      const client = new RegistryClient({
        fetch: fetchFn,
        credentials: staticCredentials({ 'registry.test': { username: 'alice', password: PASSWORD } }),
        retry: { maxRetries: 0 },
      });
      const dst = client.repository('registry.test/charts/app');
      await expect(dst.push(a.layer.desc, a.layer.data)).rejects.toThrow();
      const evil = seen.filter((s) => s.host === 'evil.test');
      expect(evil.length).toBeGreaterThan(0);
      for (const s of evil) {
        expect(s.authorization).toBeNull();
        expect(s.url).not.toContain('alice');
      }
    }
  });

  it('an upload request answered 201 is not taken as the blob stored, unless it names it', async () => {
    const registry = new MemoryRegistry();
    const a = chartArtifact('app', '1.0.0');
    let echo: string | undefined;
    const fetchFn: typeof registry.fetch = async (input, init) => {
      const req = new Request(input, init);
      const url = new URL(req.url);
      if (req.method === 'POST' && url.pathname.endsWith('/blobs/uploads/') && !url.searchParams.has('mount'))
        return new Response(null, { status: 201, headers: echo ? { 'docker-content-digest': echo } : {} });
      return registry.fetch(input, init);
    };
    const client = new RegistryClient({ plainHttp: true, fetch: fetchFn });
    const dst = client.repository('registry.test/mirror/app');
    await expect(dst.push(a.layer.desc, a.layer.data)).rejects.toMatchObject({ code: 'PROTOCOL' });
    echo = a.config.desc.digest;
    await expect(dst.push(a.layer.desc, a.layer.data)).rejects.toMatchObject({ code: 'PROTOCOL' });
    echo = a.layer.desc.digest;
    await expect(dst.push(a.layer.desc, a.layer.data)).resolves.toBeUndefined();
  });

  it('a mount answered 201 for another digest is not taken as mounted', async () => {
    const registry = new MemoryRegistry();
    const a = chartArtifact('app', '1.0.0');
    const other = chartArtifact('other', '9.9.9');
    await pushAll(registry.repository('charts/app'), [a.config, a.layer, a.manifest]);
    const fetchFn: typeof registry.fetch = async (input, init) => {
      const req = new Request(input, init);
      const url = new URL(req.url);
      if (req.method === 'POST' && url.searchParams.has('mount')) {
        return new Response(null, {
          status: 201,
          headers: {
            location: `/v2/mirror/app/blobs/${other.layer.desc.digest}`,
            'docker-content-digest': other.layer.desc.digest,
          },
        });
      }
      return registry.fetch(input, init);
    };
    const client = new RegistryClient({ plainHttp: true, fetch: fetchFn });
    const dst = client.repository('registry.test/mirror/app');
    expect(await dst.mount(a.layer.desc, 'charts/app').catch(() => false)).toBe(false);
    // The copy's path (mount, else upload) then uploads the blob it was asked for.
    expect(await dst.mountOrPush(a.layer.desc, 'charts/app', async () => a.layer.data)).toBe('pushed');
    expect(await registry.repository('mirror/app').exists(a.layer.desc)).toBe(true);
  });
});

describe('copy from a source that does not check digests', () => {
  it('an index that lists itself fails with DIGEST_MISMATCH instead of hanging', async () => {
    const digest = `sha256:${'ab'.repeat(32)}` as const;
    let body = '';
    for (let size = 0, i = 0; i < 4; i++) {
      body = JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [{ mediaType: MediaType.OciIndex, digest, size }],
      });
      size = Buffer.byteLength(body);
    }
    const bytes = new TextEncoder().encode(body);
    const root: Descriptor = { mediaType: MediaType.OciIndex, digest, size: bytes.byteLength };
    const src: ReadOnlyTarget = {
      resolve: async () => root,
      exists: async () => true,
      fetch: async () =>
        new ReadableStream({
          start(c) {
            c.enqueue(bytes);
            c.close();
          },
        }),
    };
    const dst = new MemoryStore();
    const outcome = await Promise.race([
      copy(src, digest, dst).then(
        () => 'copied',
        (e: unknown) => e,
      ),
      new Promise((resolve) => setTimeout(() => resolve('hung'), 1000)),
    ]);
    expect(outcome).toBeInstanceOf(CopyError);
    expect((outcome as CopyError).origin).toBe('source');
  });
});

describe('copy of a manifest naming a malformed digest', () => {
  it('fails with INVALID_MANIFEST before sending the digest in any URL', async () => {
    const registry = new MemoryRegistry();
    const a = chartArtifact('app', '1.0.0');
    const bad = '../../../victim/manifests/latest';
    const m = JSON.parse(new TextDecoder().decode(a.manifest.data)) as { layers: Descriptor[] };
    m.layers.push({ mediaType: 'application/octet-stream', digest: bad as Descriptor['digest'], size: 3 });
    const data = new TextEncoder().encode(JSON.stringify(m));
    const bytes = new Map<string, Uint8Array>([
      [a.config.desc.digest, a.config.data],
      [a.layer.desc.digest, a.layer.data],
    ]);
    const { digestOf } = await import('../../src/oci/digest.js');
    const root: Descriptor = {
      mediaType: MediaType.OciManifest,
      digest: digestOf(data),
      size: data.byteLength,
    };
    bytes.set(root.digest, data);
    const src: ReadOnlyTarget = {
      resolve: async () => root,
      exists: async () => false,
      fetch: async (d) =>
        new ReadableStream({
          start(c) {
            c.enqueue(bytes.get(d.digest) ?? new Uint8Array(3));
            c.close();
          },
        }),
    };
    const paths: string[] = [];
    const client = new RegistryClient({
      plainHttp: true,
      fetch: async (input, init) => {
        paths.push(new Request(input, init).url);
        return registry.fetch(input, init);
      },
    });
    const dst = client.repository('registry.test/mirror/app');
    const err = await copy(src, root.digest, dst, 'v1').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_MANIFEST' });
    expect(paths.filter((p) => p.includes('victim'))).toEqual([]);
  });
});
