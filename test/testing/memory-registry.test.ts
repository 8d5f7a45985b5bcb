import { afterEach, describe, expect, it } from 'vitest';
import { parseWwwAuthenticate } from '../../src/oci/auth/challenge.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { type Digest, digestOf } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { MemoryRegistry, type RunningRegistry } from '../../src/testing/index.js';

const BASE = 'http://registry.test';
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: ArrayBuffer) => new TextDecoder().decode(b);

async function errorCodes(res: Response): Promise<string[]> {
  const body = (await res.json()) as { errors?: Array<{ code: string }> };
  return (body.errors ?? []).map((e) => e.code);
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** Pushes a blob with a single POST; returns its descriptor. */
async function pushBlob(
  registry: MemoryRegistry,
  name: string,
  content: string,
  mediaType = 'application/octet-stream',
  headers: Record<string, string> = {},
): Promise<Descriptor> {
  const data = bytes(content);
  const digest = digestOf(data);
  const res = await registry.fetch(`${BASE}/v2/${name}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...headers },
    body: data,
  });
  expect(res.status).toBe(201);
  return { mediaType, digest, size: data.byteLength };
}

function imageManifest(config: Descriptor, layers: Descriptor[], extra: Record<string, unknown> = {}) {
  return { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers, ...extra };
}

async function putManifest(
  registry: MemoryRegistry,
  name: string,
  reference: string,
  manifest: unknown,
  contentType: string = MediaType.OciManifest,
  headers: Record<string, string> = {},
): Promise<{ res: Response; desc: Descriptor; data: Uint8Array }> {
  const data = bytes(JSON.stringify(manifest));
  const res = await registry.fetch(`${BASE}/v2/${name}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': contentType, ...headers },
    body: data,
  });
  return { res, desc: { mediaType: contentType, digest: digestOf(data), size: data.byteLength }, data };
}

/** A repository holding a Helm-like artifact tagged `1.0.0`. */
async function seededArtifact(registry: MemoryRegistry, name = 'charts/app') {
  const config = await pushBlob(registry, name, '{}', MediaType.HelmConfig);
  const layer = await pushBlob(registry, name, 'chart tarball', MediaType.HelmChartContent);
  const put = await putManifest(registry, name, '1.0.0', imageManifest(config, [layer]));
  expect(put.res.status).toBe(201);
  return { config, layer, manifest: put.desc, manifestBytes: put.data };
}

/** Seeds a tagged artifact straight into the store (no HTTP, so no auth needed). */
async function seedStore(registry: MemoryRegistry, name: string, tag = '1.0.0'): Promise<Descriptor> {
  const store = registry.repository(name);
  const config = bytes('{}');
  const configDesc: Descriptor = { mediaType: MediaType.OciEmpty, digest: digestOf(config), size: 2 };
  await store.push(configDesc, config);
  const data = bytes(JSON.stringify(imageManifest(configDesc, [])));
  const desc: Descriptor = {
    mediaType: MediaType.OciManifest,
    digest: digestOf(data),
    size: data.byteLength,
  };
  await store.push(desc, data);
  await store.tag(desc, tag);
  return desc;
}

describe('MemoryRegistry', () => {
  describe('the API base and routing', () => {
    it('answers GET /v2/ with 200 {} and the API version header on any host', async () => {
      const registry = new MemoryRegistry();
      for (const host of ['http://registry.test', 'https://other.example:5000']) {
        const res = await registry.fetch(`${host}/v2/`);
        expect(res.status).toBe(200);
        expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
        expect(await res.json()).toEqual({});
      }
    });

    it('answers unknown routes with 404 and invalid names with NAME_INVALID', async () => {
      const registry = new MemoryRegistry();
      expect((await registry.fetch(`${BASE}/nope`)).status).toBe(404);
      const res = await registry.fetch(`${BASE}/v2/Bad_Name/tags/list`);
      expect(res.status).toBe(400);
      expect(await errorCodes(res)).toEqual(['NAME_INVALID']);
    });

    it('logs every request with its headers', async () => {
      const registry = new MemoryRegistry();
      await registry.fetch(`${BASE}/v2/`, { headers: { 'x-test': 'yes' } });
      expect(registry.requests).toEqual([
        { method: 'GET', url: `${BASE}/v2/`, headers: expect.objectContaining({ 'x-test': 'yes' }) },
      ]);
    });
  });

  describe('blob uploads', () => {
    it('accepts a monolithic POST then PUT and serves the blob back', async () => {
      const registry = new MemoryRegistry();
      const data = bytes('hello blob');
      const digest = digestOf(data);
      const start = await registry.fetch(`${BASE}/v2/app/blobs/uploads/`, { method: 'POST' });
      expect(start.status).toBe(202);
      const location = start.headers.get('location')!;
      expect(location).toMatch(/^\/v2\/app\/blobs\/uploads\/[0-9a-f-]{36}$/);
      expect(start.headers.get('range')).toBe('0-0');

      const put = await registry.fetch(new URL(`${location}?digest=${digest}`, BASE), {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: data,
      });
      expect(put.status).toBe(201);
      expect(put.headers.get('location')).toBe(`/v2/app/blobs/${digest}`);
      expect(put.headers.get('docker-content-digest')).toBe(digest);

      const get = await registry.fetch(`${BASE}/v2/app/blobs/${digest}`);
      expect(get.status).toBe(200);
      expect(get.headers.get('docker-content-digest')).toBe(digest);
      expect(get.headers.get('content-length')).toBe(String(data.byteLength));
      expect(text(await get.arrayBuffer())).toBe('hello blob');

      const head = await registry.fetch(`${BASE}/v2/app/blobs/${digest}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(data.byteLength));
      expect(head.body).toBeNull();
      expect(registry.repository('app').get(digest)).toEqual(data);
    });

    it('accepts a single POST with ?digest= and rejects a wrong digest with DIGEST_INVALID', async () => {
      const registry = new MemoryRegistry();
      const desc = await pushBlob(registry, 'app', 'single post');
      expect(registry.repository('app').get(desc.digest)).toEqual(bytes('single post'));

      const wrong = digestOf('something else');
      const res = await registry.fetch(`${BASE}/v2/app/blobs/uploads/?digest=${wrong}`, {
        method: 'POST',
        body: bytes('single post!'),
      });
      expect(res.status).toBe(400);
      expect(await errorCodes(res)).toEqual(['DIGEST_INVALID']);
      expect(registry.repository('app').get(wrong)).toBeUndefined();
    });

    it('accepts chunks in order, answers 416 to an out-of-order chunk and reports the offset', async () => {
      const registry = new MemoryRegistry();
      const whole = bytes('0123456789abcde');
      const digest = digestOf(whole);
      const start = await registry.fetch(`${BASE}/v2/app/blobs/uploads/`, {
        method: 'POST',
        headers: { 'content-length': '0' },
      });
      let location = new URL(start.headers.get('location')!, BASE).toString();
      const patch = (range: string, chunk: Uint8Array) =>
        registry.fetch(location, {
          method: 'PATCH',
          headers: { 'content-type': 'application/octet-stream', 'content-range': range },
          body: chunk,
        });

      const first = await patch('0-4', whole.subarray(0, 5));
      expect(first.status).toBe(202);
      expect(first.headers.get('range')).toBe('0-4');
      location = new URL(first.headers.get('location')!, BASE).toString();

      const skipped = await patch('10-14', whole.subarray(10));
      expect(skipped.status).toBe(416);
      expect(await errorCodes(skipped)).toEqual(['BLOB_UPLOAD_INVALID']);

      const status = await registry.fetch(location);
      expect(status.status).toBe(204);
      expect(status.headers.get('range')).toBe('0-4');
      expect(status.headers.get('location')).toBe(new URL(location).pathname);

      const second = await patch('5-9', whole.subarray(5, 10));
      expect(second.status).toBe(202);
      expect(second.headers.get('range')).toBe('0-9');

      // The final chunk travels with the closing PUT.
      const put = await registry.fetch(`${location}?digest=${digest}`, {
        method: 'PUT',
        headers: { 'content-range': '10-14', 'content-type': 'application/octet-stream' },
        body: whole.subarray(10),
      });
      expect(put.status).toBe(201);
      expect(registry.repository('app').get(digest)).toEqual(whole);
    });

    it('appends PATCH bodies without Content-Range as a stream', async () => {
      const registry = new MemoryRegistry();
      const start = await registry.fetch(`${BASE}/v2/app/blobs/uploads/`, { method: 'POST' });
      const location = new URL(start.headers.get('location')!, BASE).toString();
      for (const part of ['stream', 'ed ', 'chunks']) {
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(bytes(part));
            c.close();
          },
        });
        const res = await registry.fetch(location, { method: 'PATCH', body, duplex: 'half' } as RequestInit);
        expect(res.status).toBe(202);
      }
      const digest = digestOf('streamed chunks');
      const put = await registry.fetch(`${location}?digest=${digest}`, { method: 'PUT' });
      expect(put.status).toBe(201);
      expect(text(await (await registry.fetch(`${BASE}/v2/app/blobs/${digest}`)).arrayBuffer())).toBe(
        'streamed chunks',
      );
    });

    it('cancels the session when the closing digest does not match', async () => {
      const registry = new MemoryRegistry();
      const start = await registry.fetch(`${BASE}/v2/app/blobs/uploads/`, { method: 'POST' });
      const location = new URL(start.headers.get('location')!, BASE).toString();
      const put = await registry.fetch(`${location}?digest=${digestOf('expected')}`, {
        method: 'PUT',
        body: bytes('actual'),
      });
      expect(put.status).toBe(400);
      expect(await errorCodes(put)).toEqual(['DIGEST_INVALID']);
      const status = await registry.fetch(location);
      expect(status.status).toBe(404);
      expect(await errorCodes(status)).toEqual(['BLOB_UPLOAD_UNKNOWN']);
    });

    it('deletes an upload session with 204', async () => {
      const registry = new MemoryRegistry();
      const start = await registry.fetch(`${BASE}/v2/app/blobs/uploads/`, { method: 'POST' });
      const location = new URL(start.headers.get('location')!, BASE).toString();
      expect((await registry.fetch(location, { method: 'DELETE' })).status).toBe(204);
      expect((await registry.fetch(location)).status).toBe(404);
    });

    it('mounts a blob from another repository (201) and opens a session when it cannot (202)', async () => {
      const registry = new MemoryRegistry();
      const desc = await pushBlob(registry, 'source/app', 'shared layer');
      const mounted = await registry.fetch(
        `${BASE}/v2/target/app/blobs/uploads/?mount=${desc.digest}&from=source/app`,
        { method: 'POST' },
      );
      expect(mounted.status).toBe(201);
      expect(mounted.headers.get('location')).toBe(`/v2/target/app/blobs/${desc.digest}`);
      expect(registry.repository('target/app').get(desc.digest)).toEqual(bytes('shared layer'));

      const missing = digestOf('not there');
      const fallback = await registry.fetch(
        `${BASE}/v2/target/app/blobs/uploads/?mount=${missing}&from=source/app`,
        { method: 'POST' },
      );
      expect(fallback.status).toBe(202);
      expect(fallback.headers.get('location')).toMatch(/^\/v2\/target\/app\/blobs\/uploads\//);
    });

    it('serves byte ranges and answers 416 to an unsatisfiable one', async () => {
      const registry = new MemoryRegistry();
      const desc = await pushBlob(registry, 'app', '0123456789');
      const url = `${BASE}/v2/app/blobs/${desc.digest}`;
      const part = await registry.fetch(url, { headers: { range: 'bytes=2-5' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe('bytes 2-5/10');
      expect(text(await part.arrayBuffer())).toBe('2345');
      const suffix = await registry.fetch(url, { headers: { range: 'bytes=-3' } });
      expect(text(await suffix.arrayBuffer())).toBe('789');
      const beyond = await registry.fetch(url, { headers: { range: 'bytes=10-' } });
      expect(beyond.status).toBe(416);
      expect(beyond.headers.get('content-range')).toBe('bytes */10');
    });

    it('deletes blobs and answers BLOB_UNKNOWN, NAME_UNKNOWN and DIGEST_INVALID', async () => {
      const registry = new MemoryRegistry();
      const desc = await pushBlob(registry, 'app', 'doomed');
      const url = `${BASE}/v2/app/blobs/${desc.digest}`;
      expect((await registry.fetch(url, { method: 'DELETE' })).status).toBe(202);
      const gone = await registry.fetch(url);
      expect(gone.status).toBe(404);
      expect(await errorCodes(gone)).toEqual(['BLOB_UNKNOWN']);
      const noRepo = await registry.fetch(`${BASE}/v2/nobody/blobs/${desc.digest}`);
      expect(noRepo.status).toBe(404);
      expect(await errorCodes(noRepo)).toEqual(['NAME_UNKNOWN']);
      const badDigest = await registry.fetch(`${BASE}/v2/app/blobs/sha256:short`);
      expect(badDigest.status).toBe(400);
      expect(await errorCodes(badDigest)).toEqual(['DIGEST_INVALID']);
    });
  });

  describe('manifests', () => {
    it('stores the exact bytes and serves them by tag and digest with the right headers', async () => {
      const registry = new MemoryRegistry();
      const { manifest, manifestBytes } = await seededArtifact(registry);
      for (const ref of ['1.0.0', manifest.digest]) {
        const res = await registry.fetch(`${BASE}/v2/charts/app/manifests/${ref}`, {
          headers: { accept: MediaType.OciManifest },
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe(MediaType.OciManifest);
        expect(res.headers.get('docker-content-digest')).toBe(manifest.digest);
        expect(res.headers.get('content-length')).toBe(String(manifest.size));
        expect(new Uint8Array(await res.arrayBuffer())).toEqual(manifestBytes);
      }
      const head = await registry.fetch(`${BASE}/v2/charts/app/manifests/1.0.0`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('docker-content-digest')).toBe(manifest.digest);
      expect(head.headers.get('content-length')).toBe(String(manifest.size));
      expect(head.body).toBeNull();
    });

    it('answers a PUT with 201, Location and Docker-Content-Digest, also by digest', async () => {
      const registry = new MemoryRegistry();
      const config = await pushBlob(registry, 'app', '{}', MediaType.OciEmpty);
      const m = imageManifest(config, []);
      const digest = digestOf(JSON.stringify(m));
      const { res } = await putManifest(registry, 'app', digest, m);
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`/v2/app/manifests/${digest}`);
      expect(res.headers.get('docker-content-digest')).toBe(digest);

      const other = await putManifest(registry, 'app', digestOf('nope'), m);
      expect(other.res.status).toBe(400);
      expect(await errorCodes(other.res)).toEqual(['DIGEST_INVALID']);
    });

    it('rejects missing blobs, mismatched media types, invalid JSON and invalid tags', async () => {
      const registry = new MemoryRegistry();
      const config = await pushBlob(registry, 'app', '{}');
      const ghost: Descriptor = { mediaType: MediaType.OciLayer, digest: digestOf('ghost'), size: 5 };

      const missing = await putManifest(registry, 'app', 'v1', imageManifest(config, [ghost]));
      expect(missing.res.status).toBe(400);
      expect(await missing.res.json()).toMatchObject({
        errors: [{ code: 'MANIFEST_BLOB_UNKNOWN', detail: { digest: ghost.digest } }],
      });

      const mismatch = await putManifest(
        registry,
        'app',
        'v1',
        imageManifest(config, []),
        MediaType.OciIndex,
      );
      expect(mismatch.res.status).toBe(400);
      expect(await errorCodes(mismatch.res)).toEqual(['MANIFEST_INVALID']);

      const notJson = await registry.fetch(`${BASE}/v2/app/manifests/v1`, {
        method: 'PUT',
        headers: { 'content-type': MediaType.OciManifest },
        body: '{not json',
      });
      expect(await errorCodes(notJson)).toEqual(['MANIFEST_INVALID']);

      const badTag = await putManifest(registry, 'app', '-bad', imageManifest(config, []));
      expect(badTag.res.status).toBe(400);
      expect(await errorCodes(badTag.res)).toEqual(['TAG_INVALID']);
      expect(await registry.repository('app').tags()).toEqual([]);
    });

    it('answers 413 to a manifest over maxManifestBytes', async () => {
      const registry = new MemoryRegistry({ maxManifestBytes: 200 });
      const config = await pushBlob(registry, 'app', '{}');
      const big = imageManifest(config, [], { annotations: { padding: 'x'.repeat(300) } });
      const { res } = await putManifest(registry, 'app', 'big', big);
      expect(res.status).toBe(413);
      expect(await errorCodes(res)).toEqual(['SIZE_INVALID']);
    });

    it('requires the children of an index to exist', async () => {
      const registry = new MemoryRegistry();
      const { manifest } = await seededArtifact(registry, 'app');
      const ghost = { ...manifest, digest: digestOf('ghost') as Digest };
      const index = (children: Descriptor[]) => ({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: children,
      });
      const bad = await putManifest(registry, 'app', 'multi', index([manifest, ghost]), MediaType.OciIndex);
      expect(bad.res.status).toBe(400);
      expect(await errorCodes(bad.res)).toEqual(['MANIFEST_BLOB_UNKNOWN']);
      const good = await putManifest(registry, 'app', 'multi', index([manifest]), MediaType.OciIndex);
      expect(good.res.status).toBe(201);
      const res = await registry.fetch(`${BASE}/v2/app/manifests/multi`);
      expect(res.headers.get('content-type')).toBe(MediaType.OciIndex);
    });

    it('deletes a tag (content stays) and a manifest by digest (tags go)', async () => {
      const registry = new MemoryRegistry();
      const { manifest } = await seededArtifact(registry, 'app');
      await registry.repository('app').tag(manifest, 'latest');
      expect((await registry.fetch(`${BASE}/v2/app/manifests/latest`, { method: 'DELETE' })).status).toBe(
        202,
      );
      expect((await registry.fetch(`${BASE}/v2/app/manifests/latest`)).status).toBe(404);
      expect((await registry.fetch(`${BASE}/v2/app/manifests/${manifest.digest}`)).status).toBe(200);

      const del = await registry.fetch(`${BASE}/v2/app/manifests/${manifest.digest}`, { method: 'DELETE' });
      expect(del.status).toBe(202);
      const gone = await registry.fetch(`${BASE}/v2/app/manifests/1.0.0`);
      expect(gone.status).toBe(404);
      expect(await errorCodes(gone)).toEqual(['MANIFEST_UNKNOWN']);
    });

    it('answers NAME_UNKNOWN for a repository that does not exist', async () => {
      const registry = new MemoryRegistry();
      const res = await registry.fetch(`${BASE}/v2/nobody/manifests/latest`);
      expect(res.status).toBe(404);
      expect(await errorCodes(res)).toEqual(['NAME_UNKNOWN']);
    });

    it('honours If-None-Match and If-Match on tag pushes', async () => {
      const registry = new MemoryRegistry();
      const { config, manifest } = await seededArtifact(registry, 'app');
      const next = imageManifest(config, [], { annotations: { v: '2' } });
      const refused = await putManifest(registry, 'app', '1.0.0', next, MediaType.OciManifest, {
        'if-none-match': '*',
      });
      expect(refused.res.status).toBe(412);
      const stale = await putManifest(registry, 'app', '1.0.0', next, MediaType.OciManifest, {
        'if-match': `"${digestOf('stale')}"`,
      });
      expect(stale.res.status).toBe(412);
      const absent = await putManifest(registry, 'app', 'fresh', next, MediaType.OciManifest, {
        'if-match': '*',
      });
      expect(absent.res.status).toBe(412);
      const ok = await putManifest(registry, 'app', '1.0.0', next, MediaType.OciManifest, {
        'if-match': `"${manifest.digest}"`,
      });
      expect(ok.res.status).toBe(201);
      expect((await registry.repository('app').resolve('1.0.0')).digest).toBe(ok.desc.digest);
    });
  });

  describe('tag listing', () => {
    it('paginates with the server page size and a Link header, in lexical order', async () => {
      const registry = new MemoryRegistry({ tagPageSize: 2 });
      const { manifest } = await seededArtifact(registry, 'app');
      for (const tag of ['c', 'a', 'e', 'b', 'd']) await registry.repository('app').tag(manifest, tag);

      const seen: string[][] = [];
      let url: string | undefined = `${BASE}/v2/app/tags/list`;
      const links: string[] = [];
      while (url) {
        const res: Response = await registry.fetch(url);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { name: string; tags: string[] };
        expect(body.name).toBe('app');
        seen.push(body.tags);
        const link = res.headers.get('link');
        if (link) links.push(link);
        const m = link ? /^<([^>]+)>; rel="next"$/.exec(link) : null;
        url = m ? new URL(m[1]!, BASE).toString() : undefined;
      }
      expect(seen).toEqual([
        ['1.0.0', 'a'],
        ['b', 'c'],
        ['d', 'e'],
      ]);
      expect(links[0]).toBe('</v2/app/tags/list?n=2&last=a>; rel="next"');
    });

    it('honours n and last, and n=0 returns an empty list without Link', async () => {
      const registry = new MemoryRegistry();
      const { manifest } = await seededArtifact(registry, 'app');
      for (const tag of ['a', 'b', 'c']) await registry.repository('app').tag(manifest, tag);
      const page = await registry.fetch(`${BASE}/v2/app/tags/list?n=2&last=a`);
      expect(((await page.json()) as { tags: string[] }).tags).toEqual(['b', 'c']);
      expect(page.headers.get('link')).toBeNull();
      const zero = await registry.fetch(`${BASE}/v2/app/tags/list?n=0`);
      expect(((await zero.json()) as { tags: string[] }).tags).toEqual([]);
      expect(zero.headers.get('link')).toBeNull();
    });
  });

  describe('referrers', () => {
    async function withReferrers(registry: MemoryRegistry) {
      const { manifest: subject, config } = await seededArtifact(registry, 'app');
      const sbom = await putManifest(
        registry,
        'app',
        'sbom',
        imageManifest(config, [], { artifactType: 'application/vnd.example.sbom', subject }),
      );
      const sig = await putManifest(
        registry,
        'app',
        'sig',
        imageManifest(config, [], {
          artifactType: 'application/vnd.example.sig',
          subject,
          annotations: { who: 'me' },
        }),
      );
      return { subject, sbom, sig };
    }

    it('lists referrers as an image index, filters by artifactType and sends OCI-Subject on push', async () => {
      const registry = new MemoryRegistry();
      const { subject, sbom, sig } = await withReferrers(registry);
      expect(sbom.res.headers.get('oci-subject')).toBe(subject.digest);

      const all = await registry.fetch(`${BASE}/v2/app/referrers/${subject.digest}`);
      expect(all.status).toBe(200);
      expect(all.headers.get('content-type')).toBe(MediaType.OciIndex);
      const index = (await all.json()) as { schemaVersion: number; manifests: Descriptor[] };
      expect(index.schemaVersion).toBe(2);
      expect(index.manifests.map((d) => d.digest).sort()).toEqual([sbom.desc.digest, sig.desc.digest].sort());

      const filtered = await registry.fetch(
        `${BASE}/v2/app/referrers/${subject.digest}?artifactType=application/vnd.example.sig`,
      );
      expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
      expect(((await filtered.json()) as { manifests: Descriptor[] }).manifests).toEqual([
        {
          mediaType: MediaType.OciManifest,
          digest: sig.desc.digest,
          size: sig.desc.size,
          artifactType: 'application/vnd.example.sig',
          annotations: { who: 'me' },
        },
      ]);
    });

    it('paginates referrers with Link and answers 400 to a bad digest', async () => {
      const registry = new MemoryRegistry({ referrersPageSize: 1 });
      const { subject, sbom, sig } = await withReferrers(registry);
      const first = await registry.fetch(`${BASE}/v2/app/referrers/${subject.digest}`);
      const link = /^<([^>]+)>; rel="next"$/.exec(first.headers.get('link') ?? '');
      expect(link).not.toBeNull();
      const second = await registry.fetch(new URL(link![1]!, BASE));
      expect(second.headers.get('link')).toBeNull();
      const digests = [
        ...((await first.json()) as { manifests: Descriptor[] }).manifests,
        ...((await second.json()) as { manifests: Descriptor[] }).manifests,
      ].map((d) => d.digest);
      expect(digests.sort()).toEqual([sbom.desc.digest, sig.desc.digest].sort());

      const bad = await registry.fetch(`${BASE}/v2/app/referrers/sha256:xyz`);
      expect(bad.status).toBe(400);
      expect(await errorCodes(bad)).toEqual(['DIGEST_INVALID']);
    });

    it('answers 404 without the referrers API and omits OCI-Subject', async () => {
      const registry = new MemoryRegistry({ referrersApi: false });
      const { subject, sbom } = await withReferrers(registry);
      expect(sbom.res.status).toBe(201);
      expect(sbom.res.headers.get('oci-subject')).toBeNull();
      expect((await registry.fetch(`${BASE}/v2/app/referrers/${subject.digest}`)).status).toBe(404);
      registry.referrersApi = true;
      expect((await registry.fetch(`${BASE}/v2/app/referrers/${subject.digest}`)).status).toBe(200);
    });

    it('simulates GitLab answering the referrers tag with the subject itself', async () => {
      const registry = new MemoryRegistry({ referrersApi: false, answerReferrersTagWithSubject: true });
      const { manifest } = await seededArtifact(registry, 'app');
      const tag = manifest.digest.replace(':', '-');
      const res = await registry.fetch(`${BASE}/v2/app/manifests/${tag}`, {
        headers: { accept: MediaType.OciIndex },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(manifest.digest);
      registry.answerReferrersTagWithSubject = false;
      expect((await registry.fetch(`${BASE}/v2/app/manifests/${tag}`)).status).toBe(404);
    });
  });

  describe('bearer token authentication', () => {
    const auth = { type: 'bearer', username: 'alice', password: 's3cret', service: 'test-registry' } as const;

    async function token(registry: MemoryRegistry, scope: string, authorization?: string): Promise<Response> {
      const url = new URL(`${BASE}/token`);
      url.searchParams.set('service', 'test-registry');
      url.searchParams.append('scope', scope);
      return registry.fetch(url, { headers: authorization ? { authorization } : {} });
    }

    it('challenges, issues a token for the scope and then serves the request', async () => {
      const registry = new MemoryRegistry({ auth });
      await seedStore(registry, 'app');
      const first = await registry.fetch(`${BASE}/v2/app/tags/list`);
      expect(first.status).toBe(401);
      expect(await errorCodes(first)).toEqual(['UNAUTHORIZED']);
      const [challenge] = parseWwwAuthenticate(first.headers.get('www-authenticate'));
      expect(challenge).toEqual({
        scheme: 'bearer',
        params: { realm: `${BASE}/token`, service: 'test-registry', scope: 'repository:app:pull' },
      });

      const issued = await token(registry, challenge!.params.scope!, basic('alice', 's3cret'));
      expect(issued.status).toBe(200);
      const body = (await issued.json()) as { token: string; access_token: string; expires_in: number };
      expect(body.token).toBe(body.access_token);
      expect(body.expires_in).toBe(300);

      const second = await registry.fetch(`${BASE}/v2/app/tags/list`, {
        headers: { authorization: `Bearer ${body.token}` },
      });
      expect(second.status).toBe(200);
      expect(((await second.json()) as { tags: string[] }).tags).toEqual(['1.0.0']);
    });

    it('refuses a wrong password and anonymous callers without anonymousPull', async () => {
      const registry = new MemoryRegistry({ auth });
      expect((await token(registry, 'repository:app:pull', basic('alice', 'wrong'))).status).toBe(401);
      expect((await token(registry, 'repository:app:pull')).status).toBe(401);
    });

    it('does not let a pull-scoped token push', async () => {
      const registry = new MemoryRegistry({ auth });
      const { token: pullToken } = (await (
        await token(registry, 'repository:app:pull', basic('alice', 's3cret'))
      ).json()) as { token: string };
      const res = await registry.fetch(`${BASE}/v2/app/blobs/uploads/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${pullToken}` },
      });
      expect(res.status).toBe(401);
      const [challenge] = parseWwwAuthenticate(res.headers.get('www-authenticate'));
      expect(challenge?.params.scope).toBe('repository:app:pull,push');
      expect(challenge?.params.error).toBe('insufficient_scope');

      const { token: pushToken } = (await (
        await token(registry, 'repository:app:pull,push', basic('alice', 's3cret'))
      ).json()) as { token: string };
      const ok = await registry.fetch(`${BASE}/v2/app/blobs/uploads/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${pushToken}` },
      });
      expect(ok.status).toBe(202);
    });

    it('gives anonymous callers a pull-only token when anonymousPull is set', async () => {
      const registry = new MemoryRegistry({ auth, anonymousPull: true });
      await seedStore(registry, 'app');
      const issued = await token(registry, 'repository:app:pull,push');
      expect(issued.status).toBe(200);
      const headers = { authorization: `Bearer ${((await issued.json()) as { token: string }).token}` };
      expect((await registry.fetch(`${BASE}/v2/app/manifests/1.0.0`, { headers })).status).toBe(200);
      expect(
        (await registry.fetch(`${BASE}/v2/app/blobs/uploads/`, { method: 'POST', headers })).status,
      ).toBe(401);
    });

    it('supports the OAuth2 POST with password and refresh_token grants', async () => {
      const registry = new MemoryRegistry({ auth });
      const post = (form: Record<string, string>) =>
        registry.fetch(`${BASE}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form).toString(),
        });
      const first = await post({
        grant_type: 'password',
        username: 'alice',
        password: 's3cret',
        service: 'test-registry',
        client_id: 'chartproof',
        access_type: 'offline',
        scope: 'repository:app:pull repository:other:pull,push',
      });
      expect(first.status).toBe(200);
      const body = (await first.json()) as { access_token: string; refresh_token: string; scope: string };
      expect(body.refresh_token).toEqual(expect.any(String));
      expect(body.scope).toBe('repository:app:pull repository:other:pull,push');

      const refreshed = await post({
        grant_type: 'refresh_token',
        refresh_token: body.refresh_token,
        service: 'test-registry',
        client_id: 'chartproof',
        scope: 'repository:other:push',
      });
      expect(refreshed.status).toBe(200);
      const { access_token } = (await refreshed.json()) as { access_token: string };
      const upload = await registry.fetch(`${BASE}/v2/other/blobs/uploads/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access_token}` },
      });
      expect(upload.status).toBe(202);

      expect((await post({ grant_type: 'password', username: 'alice', password: 'no' })).status).toBe(401);
      expect((await post({ grant_type: 'refresh_token', refresh_token: 'forged' })).status).toBe(401);
    });

    it('expires tokens after tokenTtlSeconds', async () => {
      let now = 1_000_000;
      const registry = new MemoryRegistry({ auth: { ...auth, tokenTtlSeconds: 60 }, now: () => now });
      await seedStore(registry, 'app');
      const { token: t } = (await (
        await token(registry, 'repository:app:pull', basic('alice', 's3cret'))
      ).json()) as { token: string };
      const headers = { authorization: `Bearer ${t}` };
      expect((await registry.fetch(`${BASE}/v2/app/tags/list`, { headers })).status).toBe(200);
      now += 61_000;
      expect((await registry.fetch(`${BASE}/v2/app/tags/list`, { headers })).status).toBe(401);
    });
  });

  describe('basic authentication', () => {
    it('challenges without credentials, refuses wrong ones and serves right ones', async () => {
      const registry = new MemoryRegistry({ auth: { type: 'basic', username: 'bob', password: 'pw' } });
      const none = await registry.fetch(`${BASE}/v2/`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Basic realm="memory-registry"');
      const wrong = await registry.fetch(`${BASE}/v2/`, { headers: { authorization: basic('bob', 'nope') } });
      expect(wrong.status).toBe(401);
      const right = await registry.fetch(`${BASE}/v2/`, { headers: { authorization: basic('bob', 'pw') } });
      expect(right.status).toBe(200);
      const desc = await pushBlob(registry, 'app', 'authorised', undefined, {
        authorization: basic('bob', 'pw'),
      });
      expect(registry.repository('app').get(desc.digest)).toEqual(bytes('authorised'));
    });
  });

  describe('fault injection', () => {
    it('answers 429 with Retry-After for the matching request only, then recovers', async () => {
      const registry = new MemoryRegistry();
      await seededArtifact(registry, 'app');
      registry.failNext({ status: 429, retryAfter: '2', method: 'GET', path: /\/tags\/list/, times: 2 });
      expect((await registry.fetch(`${BASE}/v2/`)).status).toBe(200);
      for (let i = 0; i < 2; i++) {
        const res = await registry.fetch(`${BASE}/v2/app/tags/list`);
        expect(res.status).toBe(429);
        expect(res.headers.get('retry-after')).toBe('2');
        expect(await errorCodes(res)).toEqual(['TOOMANYREQUESTS']);
      }
      expect((await registry.fetch(`${BASE}/v2/app/tags/list`)).status).toBe(200);
    });

    it('uses faults in the order they were added, with custom bodies', async () => {
      const registry = new MemoryRegistry();
      registry.failNext({ status: 503, body: 'maintenance' });
      registry.failNext({ status: 500 });
      const a = await registry.fetch(`${BASE}/v2/`);
      expect([a.status, await a.text()]).toEqual([503, 'maintenance']);
      const b = await registry.fetch(`${BASE}/v2/`);
      expect([b.status, await errorCodes(b)]).toEqual([500, ['UNKNOWN']]);
      expect((await registry.fetch(`${BASE}/v2/`)).status).toBe(200);
    });

    it('drops connections: fetch rejects with ECONNRESET, handle() too', async () => {
      const registry = new MemoryRegistry();
      registry.dropNext({ method: 'GET' });
      const err = await registry.fetch(`${BASE}/v2/`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TypeError);
      expect((err as TypeError).message).toBe('fetch failed');
      expect(((err as TypeError).cause as { code?: string }).code).toBe('ECONNRESET');
      expect((await registry.fetch(`${BASE}/v2/`)).status).toBe(200);

      registry.dropNext();
      await expect(registry.handle(new Request(`${BASE}/v2/`))).rejects.toThrow('fetch failed');
    });
  });

  describe('blob redirects', () => {
    it('redirects blob GETs to another origin, which fetch follows without Authorization', async () => {
      const registry = new MemoryRegistry({ auth: { type: 'basic', username: 'bob', password: 'pw' } });
      const authorization = basic('bob', 'pw');
      const desc = await pushBlob(registry, 'app', 'redirected blob', undefined, { authorization });
      registry.redirectBlobsTo('http://cdn.test');
      const url = `${BASE}/v2/app/blobs/${desc.digest}`;

      const manual = await registry.fetch(url, { headers: { authorization }, redirect: 'manual' });
      expect(manual.status).toBe(307);
      expect(manual.headers.get('location')).toBe(`http://cdn.test/_blobs/app/${desc.digest}`);

      registry.requests.length = 0;
      const followed = await registry.fetch(url, { headers: { authorization } });
      expect(followed.status).toBe(200);
      expect(followed.redirected).toBe(true);
      expect(followed.url).toBe(`http://cdn.test/_blobs/app/${desc.digest}`);
      expect(text(await followed.arrayBuffer())).toBe('redirected blob');
      expect(registry.requests.map((r) => [new URL(r.url).host, r.headers.authorization])).toEqual([
        ['registry.test', authorization],
        ['cdn.test', undefined],
      ]);

      registry.redirectBlobsTo(undefined);
      expect((await registry.fetch(url, { headers: { authorization }, redirect: 'manual' })).status).toBe(
        200,
      );
    });
  });

  describe('over HTTP with listen()', () => {
    let server: RunningRegistry | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it('serves the API on a free loopback port', async () => {
      const registry = new MemoryRegistry();
      server = await registry.listen();
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(server.url).toBe(`http://${server.host}`);
      const res = await fetch(`${server.url}/v2/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    });

    it('pushes a streamed chunked blob and a manifest, and pulls them back', async () => {
      const registry = new MemoryRegistry();
      server = await registry.listen();
      const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
      const digest = digestOf(big);
      const start = await fetch(`${server.url}/v2/app/blobs/uploads/`, { method: 'POST' });
      let location = new URL(start.headers.get('location')!, server.url).toString();
      const half = big.byteLength / 2;
      for (const [from, to] of [
        [0, half],
        [half, big.byteLength],
      ] as const) {
        const chunk = big.subarray(from, to);
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            for (let o = 0; o < chunk.byteLength; o += 65536) c.enqueue(chunk.slice(o, o + 65536));
            c.close();
          },
        });
        const res = await fetch(location, {
          method: 'PATCH',
          headers: { 'content-range': `${from}-${to - 1}`, 'content-type': 'application/octet-stream' },
          body,
          duplex: 'half',
        } as RequestInit);
        expect(res.status).toBe(202);
        expect(res.headers.get('range')).toBe(`0-${to - 1}`);
        location = new URL(res.headers.get('location')!, server.url).toString();
      }
      expect((await fetch(`${location}?digest=${digest}`, { method: 'PUT' })).status).toBe(201);

      const m = imageManifest({ mediaType: MediaType.OciConfig, digest, size: big.byteLength }, []);
      const put = await fetch(`${server.url}/v2/app/manifests/v1`, {
        method: 'PUT',
        headers: { 'content-type': MediaType.OciManifest },
        body: JSON.stringify(m),
      });
      expect(put.status).toBe(201);

      const blob = await fetch(`${server.url}/v2/app/blobs/${digest}`);
      expect(blob.headers.get('content-length')).toBe(String(big.byteLength));
      expect(digestOf(new Uint8Array(await blob.arrayBuffer()))).toBe(digest);
      const head = await fetch(`${server.url}/v2/app/manifests/v1`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(JSON.stringify(m).length));
    });

    it('destroys the socket for a drop fault', async () => {
      const registry = new MemoryRegistry();
      server = await registry.listen();
      registry.dropNext({ path: /^\/v2\/$/ });
      const err = await fetch(`${server.url}/v2/`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TypeError);
      expect((await fetch(`${server.url}/v2/`)).status).toBe(200);
    });

    it('redirects blobs to another host name of the same server, which gets no Authorization', async () => {
      const registry = new MemoryRegistry({ auth: { type: 'basic', username: 'bob', password: 'pw' } });
      server = await registry.listen();
      const authorization = basic('bob', 'pw');
      const desc = await pushBlob(registry, 'app', 'over http', undefined, { authorization });
      const port = new URL(server.url).port;
      registry.redirectBlobsTo(`http://localhost:${port}`);
      registry.requests.length = 0;
      const res = await fetch(`${server.url}/v2/app/blobs/${desc.digest}`, { headers: { authorization } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('over http');
      expect(registry.requests.map((r) => [new URL(r.url).hostname, r.headers.authorization])).toEqual([
        ['127.0.0.1', authorization],
        ['localhost', undefined],
      ]);
    });

    it('closes every connection on close()', async () => {
      const registry = new MemoryRegistry();
      server = await registry.listen();
      const url = server.url;
      expect((await fetch(`${url}/v2/`)).status).toBe(200);
      await server.close();
      server = undefined;
      await expect(fetch(`${url}/v2/`)).rejects.toThrow();
    });
  });
});
