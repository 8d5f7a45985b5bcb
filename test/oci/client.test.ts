import { describe, expect, it } from 'vitest';
import { ChartproofError, CopyError, RegistryError } from '../../src/errors.js';
import {
  copy,
  type Descriptor,
  digestOf,
  MediaType,
  RegistryClient,
  type RegistryClientOptions,
  referrersTag,
  staticCredentials,
} from '../../src/oci/index.js';
import { clientTransport } from '../../src/oci/internal/transport.js';
import { MemoryRegistry, type MemoryRegistryOptions } from '../../src/testing/index.js';
import { blob, chartArtifact, pushAll, referrerOf } from '../helpers/content.js';

const HOST = 'registry.test';

function setup(registryOptions: MemoryRegistryOptions = {}, clientOptions: RegistryClientOptions = {}) {
  const registry = new MemoryRegistry(registryOptions);
  const client = new RegistryClient({
    fetch: registry.fetch,
    plainHttp: true,
    retry: { baseDelayMs: 1, maxDelayMs: 2000 },
    ...clientOptions,
  });
  return { registry, client };
}

async function readText(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

describe('RegistryClient against the in-memory registry', () => {
  describe('push and pull', () => {
    it('round-trips a chart artifact byte for byte and resolves tags to digests', async () => {
      const { client } = setup();
      const repo = client.repository(`${HOST}/charts/app`);
      const a = chartArtifact('app', '1.0.0');
      await pushAll(repo, [a.config, a.layer]);
      const desc = await repo.pushManifest(a.manifest.data, { tags: ['1.0.0', 'latest'] });
      expect(desc.digest).toBe(a.manifest.desc.digest);
      expect(await repo.resolve('1.0.0')).toEqual(a.manifest.desc);
      const fetched = await repo.fetchManifest('latest');
      expect(Buffer.from(fetched.bytes).equals(Buffer.from(a.manifest.data))).toBe(true);
      const layer = await repo.fetch(a.layer.desc);
      expect(Buffer.from(await new Response(layer).arrayBuffer()).equals(Buffer.from(a.layer.data))).toBe(
        true,
      );
      expect(await repo.exists(a.config.desc)).toBe(true);
      expect(await repo.exists(blob('missing').desc)).toBe(false);
      expect(await repo.tags()).toEqual(['1.0.0', 'latest']);
    });

    it('streams a blob upload monolithically and in chunks', async () => {
      const { client, registry } = setup();
      const data = new Uint8Array(300_000).map((_, i) => i % 199);
      const b = blob(data);
      const streamed = client.repository(`${HOST}/a/streamed`);
      await streamed.push(b.desc, new Blob([data]).stream());
      const chunked = client.repository(`${HOST}/a/chunked`, { upload: { chunkSize: 64 * 1024 } });
      await chunked.push(b.desc, data);
      expect(registry.repository('a/streamed').get(b.desc.digest)?.byteLength).toBe(300_000);
      expect(registry.repository('a/chunked').get(b.desc.digest)?.byteLength).toBe(300_000);
      const patches = registry.requests.filter((r) => r.method === 'PATCH');
      expect(patches.length).toBe(5);
    });

    it('resumes a chunked upload after a 416 answer', async () => {
      const { client, registry } = setup();
      const data = new Uint8Array(100_000).fill(3);
      const b = blob(data);
      registry.failNext({ status: 416, method: 'PATCH', times: 1 });
      const repo = client.repository(`${HOST}/a/resume`, { upload: { chunkSize: 40_000 } });
      await repo.push(b.desc, data);
      expect(registry.repository('a/resume').get(b.desc.digest)?.byteLength).toBe(100_000);
      expect(registry.requests.some((r) => r.method === 'GET' && r.url.includes('/blobs/uploads/'))).toBe(
        true,
      );
    });

    it('refuses content whose digest does not match before anything is stored', async () => {
      const { client, registry } = setup();
      const repo = client.repository(`${HOST}/a/b`);
      const b = blob('hello');
      await expect(repo.push({ ...b.desc, digest: digestOf('other') }, b.data)).rejects.toMatchObject({
        code: 'DIGEST_MISMATCH',
      });
      await expect(
        repo.push({ ...b.desc, digest: digestOf('other') }, new Blob([b.data]).stream()),
      ).rejects.toBeInstanceOf(ChartproofError);
      expect(registry.repository('a/b').digests()).toEqual([]);
    });
  });

  describe('when the registry sends tampered content', () => {
    function tampering(
      registry: MemoryRegistry,
      mutate: (res: Response, url: string) => Promise<Response> | Response,
    ) {
      return async (input: string | URL | Request, init?: RequestInit) => {
        const res = await registry.fetch(input, init);
        return mutate(res, String(input instanceof Request ? input.url : input));
      };
    }

    it('fails a blob whose bytes differ with DIGEST_MISMATCH', async () => {
      const registry = new MemoryRegistry();
      const a = chartArtifact('x', '1');
      await pushAll(registry.repository('t/x'), [a.config, a.layer]);
      const client = new RegistryClient({
        plainHttp: true,
        fetch: tampering(registry, async (res, url) => {
          if (!url.includes('/blobs/sha256:') || res.status !== 200) return res;
          const bytes = new Uint8Array(await res.arrayBuffer());
          bytes[0] = bytes[0]! ^ 0xff;
          return new Response(bytes, { status: 200, headers: { 'content-length': String(bytes.length) } });
        }),
      });
      const stream = await client.repository(`${HOST}/t/x`).fetch(a.layer.desc);
      await expect(readText(stream)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    });

    it('fails early when Content-Length disagrees with the descriptor', async () => {
      const registry = new MemoryRegistry();
      const a = chartArtifact('x', '1');
      await pushAll(registry.repository('t/x'), [a.config, a.layer]);
      const client = new RegistryClient({
        plainHttp: true,
        fetch: tampering(registry, async (res, url) => {
          if (!url.includes('/blobs/sha256:') || res.status !== 200) return res;
          const bytes = new Uint8Array(await res.arrayBuffer());
          const longer = new Uint8Array(bytes.length + 10);
          longer.set(bytes);
          return new Response(longer, { status: 200, headers: { 'content-length': String(longer.length) } });
        }),
      });
      await expect(client.repository(`${HOST}/t/x`).fetch(a.layer.desc)).rejects.toMatchObject({
        code: 'SIZE_MISMATCH',
      });
    });

    it('rejects a manifest fetched by digest whose bytes hash differently', async () => {
      const registry = new MemoryRegistry();
      const a = chartArtifact('x', '1');
      const repo = registry.repository('t/x');
      await pushAll(repo, [a.config, a.layer, a.manifest]);
      const other = chartArtifact('y', '2');
      const client = new RegistryClient({
        plainHttp: true,
        fetch: tampering(registry, (res, url) =>
          url.includes('/manifests/')
            ? new Response(other.manifest.data, {
                status: 200,
                headers: { 'content-type': MediaType.OciManifest },
              })
            : res,
        ),
      });
      await expect(
        client.repository(`${HOST}/t/x`).fetchManifest(a.manifest.desc.digest),
      ).rejects.toMatchObject({
        code: 'DIGEST_MISMATCH',
      });
    });
  });

  describe('retries', () => {
    it('retries 503 and dropped connections, then succeeds', async () => {
      const { client, registry } = setup();
      registry.failNext({ status: 503, times: 2, method: 'GET' });
      registry.dropNext({ times: 1, method: 'GET' });
      const tags = await client
        .repository(`${HOST}/r/x`)
        .tags()
        .catch((e) => e);
      // The repository does not exist: the final answer is a 404, after the faults were retried.
      expect(tags).toBeInstanceOf(RegistryError);
      expect((tags as RegistryError).status).toBe(404);
      expect(registry.requests.filter((r) => r.url.includes('/tags/list')).length).toBe(4);
    });

    it('honours Retry-After on 429', async () => {
      const { client, registry } = setup();
      const a = chartArtifact('x', '1');
      await pushAll(registry.repository('r/x'), [a.config, a.layer, a.manifest]);
      registry.repository('r/x').tag(a.manifest.desc, 'v1');
      registry.failNext({ status: 429, retryAfter: '1', times: 1 });
      const started = Date.now();
      const desc = await client.repository(`${HOST}/r/x`).resolve('v1');
      expect(desc.digest).toBe(a.manifest.desc.digest);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    });

    it('gives up when Retry-After asks for longer than the policy allows', async () => {
      const { client, registry } = setup({}, { retry: { maxDelayMs: 500, baseDelayMs: 1 } });
      registry.failNext({ status: 429, retryAfter: '120', times: 1 });
      await expect(client.repository(`${HOST}/r/x`).tags()).rejects.toMatchObject({
        code: 'TOOMANYREQUESTS',
        status: 429,
      });
    });

    it('stops after maxRetries with the last error', async () => {
      const { client, registry } = setup({}, { retry: { maxRetries: 2, baseDelayMs: 1 } });
      registry.failNext({ status: 500, times: 10 });
      await expect(client.repository(`${HOST}/r/x`).tags()).rejects.toMatchObject({ status: 500 });
      expect(registry.requests.length).toBe(3);
    });

    it('aborts with the signal reason', async () => {
      const { client, registry } = setup({}, { retry: { baseDelayMs: 5000, maxDelayMs: 5000 } });
      registry.failNext({ status: 503, times: 10 });
      const controller = new AbortController();
      const reason = new Error('stop now');
      setTimeout(() => controller.abort(reason), 50);
      await expect(client.repository(`${HOST}/r/x`).tags({ signal: controller.signal })).rejects.toBe(reason);
    });
  });

  describe('authentication', () => {
    it('runs the bearer token flow once and reuses the token', async () => {
      const { client, registry } = setup(
        { auth: { type: 'bearer', username: 'alice', password: 's3cret' } },
        { credentials: staticCredentials({ [HOST]: { username: 'alice', password: 's3cret' } }) },
      );
      const repo = client.repository(`${HOST}/auth/app`);
      const a = chartArtifact('app', '1');
      await pushAll(repo, [a.config, a.layer]);
      await repo.pushManifest(a.manifest.data, { tags: ['1'] });
      await repo.resolve('1');
      await repo.resolve('1');
      const tokenRequests = registry.requests.filter((r) => new URL(r.url).pathname === '/token');
      // one token for pull+push, one for pull: not one per request
      expect(tokenRequests.length).toBeLessThanOrEqual(2);
      expect(
        registry.requests.filter((r) => r.headers.authorization?.startsWith('Bearer ')).length,
      ).toBeGreaterThan(4);
    });

    it('reports wrong credentials as AUTH_FAILED', async () => {
      const { client } = setup(
        { auth: { type: 'bearer', username: 'alice', password: 's3cret' } },
        { credentials: staticCredentials({ [HOST]: { username: 'alice', password: 'wrong' } }) },
      );
      const err = await client
        .repository(`${HOST}/auth/app`)
        .tags()
        .catch((e) => e);
      expect(err).toBeInstanceOf(ChartproofError);
      expect(err.code).toBe('AUTH_FAILED');
      expect(String(err.message)).not.toContain('wrong');
    });

    it('uses basic auth when challenged for it', async () => {
      const { client, registry } = setup(
        { auth: { type: 'basic', username: 'bob', password: 'pw' } },
        { credentials: staticCredentials({ [HOST]: { username: 'bob', password: 'pw' } }) },
      );
      const repo = client.repository(`${HOST}/basic/app`);
      await repo.push(blob('x').desc, blob('x').data);
      expect(await repo.exists(blob('x').desc)).toBe(true);
      expect(registry.requests.some((r) => r.headers.authorization?.startsWith('Basic '))).toBe(true);
    });

    it('answers UNAUTHORIZED without credentials', async () => {
      const { client } = setup({ auth: { type: 'basic', username: 'bob', password: 'pw' } });
      await expect(client.repository(`${HOST}/basic/app`).tags()).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        status: 401,
      });
    });

    it('does not forward Authorization to another host on a blob redirect', async () => {
      const { client, registry } = setup(
        { auth: { type: 'basic', username: 'bob', password: 'pw' } },
        { credentials: staticCredentials({ [HOST]: { username: 'bob', password: 'pw' } }) },
      );
      const a = chartArtifact('app', '1');
      await pushAll(registry.repository('redir/app'), [a.config, a.layer]);
      registry.redirectBlobsTo('http://cdn.test');
      const stream = await client.repository(`${HOST}/redir/app`).fetch(a.layer.desc);
      expect((await new Response(stream).arrayBuffer()).byteLength).toBe(a.layer.desc.size);
      const cdn = registry.requests.filter((r) => new URL(r.url).host === 'cdn.test');
      expect(cdn.length).toBe(1);
      expect(cdn[0]!.headers.authorization).toBeUndefined();
    });
  });

  describe('referrers', () => {
    async function withSignature(options: MemoryRegistryOptions) {
      const { client, registry } = setup(options);
      const repo = client.repository(`${HOST}/ref/app`);
      const a = chartArtifact('app', '1');
      await pushAll(repo, [a.config, a.layer]);
      const subject = await repo.pushManifest(a.manifest.data, { tags: ['1'] });
      const sig = referrerOf(subject, 'application/vnd.example.sig');
      const sbom = referrerOf(subject, 'application/vnd.example.sbom', 'sbom');
      await pushAll(repo, [sig.empty, sig.layer, sig.manifest, sbom.layer, sbom.manifest]);
      return { client, registry, repo, subject, sig, sbom };
    }

    it('lists referrers through the API with an artifactType filter', async () => {
      const { repo, subject, sig } = await withSignature({});
      expect((await repo.referrers(subject)).length).toBe(2);
      const only = await repo.referrers(subject, { artifactType: 'application/vnd.example.sig' });
      expect(only.map((d: Descriptor) => d.digest)).toEqual([sig.manifest.desc.digest]);
      expect(repo.referrersApi).toBe(true);
    });

    it('maintains and reads the sha256-<hex> tag index when the API is missing', async () => {
      const { repo, subject, registry, sig, sbom } = await withSignature({ referrersApi: false });
      expect(repo.referrersApi).toBe(false);
      const tagged = await registry.repository('ref/app').resolve(referrersTag(subject.digest));
      expect(tagged.mediaType).toBe(MediaType.OciIndex);
      const all = await repo.referrers(subject);
      expect(all.map((d: Descriptor) => d.digest).sort()).toEqual(
        [sig.manifest.desc.digest, sbom.manifest.desc.digest].sort(),
      );
      expect(all.find((d: Descriptor) => d.digest === sig.manifest.desc.digest)?.artifactType).toBe(
        'application/vnd.example.sig',
      );
      const filtered = await repo.referrers(subject, { artifactType: 'application/vnd.example.sbom' });
      expect(filtered.map((d: Descriptor) => d.digest)).toEqual([sbom.manifest.desc.digest]);
    });

    it('remembers the capability per registry, but not from an unknown repository', async () => {
      const { client, registry, subject } = await withSignature({});
      const fresh = new RegistryClient({ fetch: registry.fetch, plainHttp: true });
      // An unknown repository on a registry with the API answers 404 NAME_UNKNOWN.
      const unknown = fresh.repository(`${HOST}/nobody/here`);
      expect(await unknown.referrers(subject)).toEqual([]);
      expect(unknown.referrersApi).toBeUndefined();
      expect(clientTransport(fresh).referrersApiOf(HOST)).toBeUndefined();
      // A registry without the API (404 for the route) is remembered for its other repositories.
      registry.referrersApi = false;
      const first = fresh.repository(`${HOST}/ref/app`);
      expect((await first.referrers(subject)).length).toBe(0);
      expect(clientTransport(fresh).referrersApiOf(HOST)).toBe(false);
      const before = registry.requests.length;
      expect(await fresh.repository(`${HOST}/ref/other`).referrers(subject)).toEqual([]);
      expect(registry.requests.slice(before).some((r) => r.url.includes('/referrers/'))).toBe(false);
      expect(clientTransport(client).referrersApiOf(HOST)).toBe(true); // each client keeps its own
    });

    it('does not report the subject itself when the registry answers the referrers tag with it', async () => {
      const { client, registry } = setup({ referrersApi: false, answerReferrersTagWithSubject: true });
      const repo = client.repository(`${HOST}/gitlab/app`);
      const a = chartArtifact('app', '1');
      await pushAll(repo, [a.config, a.layer]);
      const subject = await repo.pushManifest(a.manifest.data, { tags: ['1'] });
      expect(await repo.referrers(subject)).toEqual([]);
      expect(
        registry.requests.some((r) => r.url.endsWith(`/manifests/${referrersTag(subject.digest)}`)),
      ).toBe(true);
    });
  });

  describe('tags', () => {
    it('follows Link pagination across pages', async () => {
      const { client, registry } = setup({ tagPageSize: 2 });
      const a = chartArtifact('app', '1');
      const store = registry.repository('p/app');
      await pushAll(store, [a.config, a.layer, a.manifest]);
      for (const t of ['a', 'b', 'c', 'd', 'e']) await store.tag(a.manifest.desc, t);
      expect(await client.repository(`${HOST}/p/app`).tags()).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(registry.requests.filter((r) => r.url.includes('/tags/list')).length).toBe(3);
    });

    it('stops at maxPages', async () => {
      const { client, registry } = setup({ tagPageSize: 1 });
      const a = chartArtifact('app', '1');
      const store = registry.repository('p/app');
      await pushAll(store, [a.config, a.layer, a.manifest]);
      for (const t of ['a', 'b', 'c', 'd']) await store.tag(a.manifest.desc, t);
      await expect(client.repository(`${HOST}/p/app`, { maxPages: 2 }).tags()).rejects.toMatchObject({
        code: 'PAGINATION_LIMIT',
      });
    });
  });

  describe('copy', () => {
    it('copies an artifact with its referrers and cosign tags, mounting within one registry', async () => {
      const { client, registry } = setup();
      const src = client.repository(`${HOST}/src/app`);
      const a = chartArtifact('app', '1.2.3');
      await pushAll(src, [a.config, a.layer]);
      const subject = await src.pushManifest(a.manifest.data, { tags: ['1.2.3'] });
      const sig = referrerOf(subject, 'application/vnd.dev.sigstore.bundle.v0.3+json');
      await pushAll(src, [sig.empty, sig.layer, sig.manifest]);
      const legacy = referrerOf(subject, 'application/vnd.example.legacy');
      await pushAll(src, [legacy.layer]);
      await src.pushManifest(
        new TextEncoder().encode(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.OciManifest,
            config: legacy.empty.desc,
            layers: [legacy.layer.desc],
          }),
        ),
        { tags: [`${referrersTag(subject.digest)}.sig`] },
      );
      const events: string[] = [];
      const dst = client.repository(`${HOST}/dst/app`);
      const result = await copy(src, '1.2.3', dst, '1.2.3', {
        referrers: true,
        cosignTags: true,
        onProgress: (e) => events.push(e.type),
      });
      expect(result.descriptor.digest).toBe(subject.digest);
      expect(result.referrers.map((d) => d.digest)).toEqual([sig.manifest.desc.digest]);
      expect(result.cosignTags).toEqual([`${referrersTag(subject.digest)}.sig`]);
      expect(events).toContain('mounted');
      expect(events[events.length - 1]).toBe('tagged');
      expect((await dst.resolve('1.2.3')).digest).toBe(subject.digest);
      expect((await dst.referrers(subject)).map((d) => d.digest)).toEqual([sig.manifest.desc.digest]);
      // copying again skips everything
      const again: string[] = [];
      await copy(src, '1.2.3', dst, '1.2.3', { onProgress: (e) => again.push(e.type) });
      expect(again).toEqual(['skipped', 'tagged']);
      expect(registry.repository('dst/app').get(a.layer.desc.digest)?.byteLength).toBe(a.layer.desc.size);
    });

    it('copies between two registries and leaves no tag when interrupted', async () => {
      const source = new MemoryRegistry();
      const target = new MemoryRegistry();
      const srcClient = new RegistryClient({ fetch: source.fetch, plainHttp: true });
      const dstClient = new RegistryClient({
        fetch: target.fetch,
        plainHttp: true,
        retry: { maxRetries: 0 },
      });
      const a = chartArtifact('app', '2.0.0', 50_000);
      const src = srcClient.repository('src.test/charts/app');
      await pushAll(src, [a.config, a.layer]);
      await src.pushManifest(a.manifest.data, { tags: ['2.0.0'] });
      target.failNext({ status: 500, method: 'PUT', path: /\/blobs\/uploads\//, times: 1 });
      const dst = dstClient.repository('dst.test/mirror/app');
      const err = await copy(src, '2.0.0', dst, '2.0.0').catch((e) => e);
      expect(err).toBeInstanceOf(CopyError);
      expect(err.origin).toBe('destination');
      expect(await target.repository('mirror/app').tags()).toEqual([]);
      // once the destination recovers, the same copy completes
      const ok = await copy(src, '2.0.0', dst, '2.0.0');
      expect(ok.descriptor.digest).toBe(a.manifest.desc.digest);
      expect(await target.repository('mirror/app').tags()).toEqual(['2.0.0']);
    });

    it('reports a missing source tag as a source error', async () => {
      const { client } = setup();
      const err = await copy(
        client.repository(`${HOST}/none/x`),
        'nope',
        client.repository(`${HOST}/dst/x`),
      ).catch((e) => e);
      expect(err).toBeInstanceOf(CopyError);
      expect(err.origin).toBe('source');
    });
  });
});
