import { discard } from '../../src/oci/transport/errors.js';
import { describe, expect, it } from 'vitest';
import { pullFetchedChart, resolveChartVersion } from '../../src/chart/oci.js';
import { ChartproofError } from '../../src/errors.js';
import { MemoryStore, MediaType, RegistryClient } from '../../src/oci/index.js';
import { clientTransport } from '../../src/oci/internal/transport.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { blob, chartArtifact, manifest, pushAll } from '../helpers/content.js';

const HOST = 'registry.test';

describe('the public OCI objects', () => {
  it('expose no raw requests, URLs or token scopes', () => {
    const registry = new MemoryRegistry();
    const client = new RegistryClient({ fetch: registry.fetch, plainHttp: true });
    const repo = client.repository(`${HOST}/charts/app`);
    for (const member of ['send', 'baseUrl', 'referrersApiOf', 'noteReferrersApi'])
      expect(member in client, `RegistryClient.${member}`).toBe(false);
    for (const member of ['send', 'url', 'scopes'])
      expect(member in repo, `Repository.${member}`).toBe(false);
  });

  it('lend the transport to chartproof code through the internal module only', async () => {
    const registry = new MemoryRegistry();
    const client = new RegistryClient({ fetch: registry.fetch, plainHttp: true });
    const t = clientTransport(client);
    expect(t.baseUrl(HOST)).toBe(`http://${HOST}`);
    const res = await t.send({ method: 'GET', url: `http://${HOST}/v2/`, scopes: [] });
    expect(res.status).toBe(200);
    await discard(res);
    expect(() => clientTransport({} as RegistryClient)).toThrow(ChartproofError);
  });
});

describe('MemoryStore as ManifestFetcher and Named', () => {
  it('fetches a manifest by tag or digest with its exact bytes', async () => {
    const store = new MemoryStore({ name: 'quarantine.invalid/source/app' });
    const a = chartArtifact('app', '1.0.0');
    await pushAll(store, [a.config, a.layer, a.manifest]);
    await store.tag(a.manifest.desc, '1.0.0');
    const byTag = await store.fetchManifest('1.0.0');
    expect(byTag.descriptor).toEqual(a.manifest.desc);
    expect(Buffer.from(byTag.bytes).equals(Buffer.from(a.manifest.data))).toBe(true);
    expect(byTag.manifest.schemaVersion).toBe(2);
    expect((await store.fetchManifest(a.manifest.desc.digest)).descriptor.digest).toBe(
      a.manifest.desc.digest,
    );
    expect(store.name).toBe('quarantine.invalid/source/app');
    expect(store.pinned(a.manifest.desc.digest)).toBe(
      `quarantine.invalid/source/app@${a.manifest.desc.digest}`,
    );
    expect(new MemoryStore().name).toBe('memory');
  });

  it('refuses what a registry would refuse: absent tags, blobs, mismatched media types', async () => {
    const store = new MemoryStore();
    const a = chartArtifact('app', '1.0.0');
    await pushAll(store, [a.config, a.layer]);
    await expect(store.fetchManifest('1.0.0')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.fetchManifest(a.layer.desc.digest)).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
    });
    // Pushed as an index, but its mediaType field says image manifest.
    const lying = manifest(a.config.desc, [a.layer.desc]);
    await store.push({ ...lying.desc, mediaType: MediaType.OciIndex }, lying.data);
    await expect(store.fetchManifest(lying.desc.digest)).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
    });
    const notJson = blob('not json', MediaType.OciManifest);
    await store.push(notJson.desc, notJson.data);
    await expect(store.fetchManifest(notJson.desc.digest)).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
    });
  });
});

describe('MemoryStore with checkManifests', () => {
  it('refuses manifests a registry refuses, and stores them otherwise', async () => {
    const a = chartArtifact('app', '1.0.0');
    const strict = new MemoryStore({ checkManifests: true });
    // Blobs first, as a registry requires.
    await expect(strict.push(a.manifest.desc, a.manifest.data)).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
      message: expect.stringContaining(`references unknown ${a.config.desc.digest}`),
    });
    await pushAll(strict, [a.config, a.layer, a.manifest]);
    expect(await strict.exists(a.manifest.desc)).toBe(true);
    const lying = manifest(a.config.desc, [a.layer.desc]);
    await expect(
      strict.push({ ...lying.desc, mediaType: MediaType.OciIndex }, lying.data),
    ).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
      message: expect.stringContaining('does not match'),
    });
    const noConfig = blob(JSON.stringify({ schemaVersion: 2, layers: [] }), MediaType.OciManifest);
    await expect(strict.push(noConfig.desc, noConfig.data)).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
    });
    const v1 = blob(JSON.stringify({ schemaVersion: 1 }), MediaType.OciManifest);
    await expect(strict.push(v1.desc, v1.data)).rejects.toMatchObject({ code: 'INVALID_MANIFEST' });
    // The default store keeps any bytes that match their descriptor.
    const lax = new MemoryStore();
    await lax.push(noConfig.desc, noConfig.data);
    expect(await lax.exists(noConfig.desc)).toBe(true);
  });
});

describe('MemoryStore with maxBytes', () => {
  it('refuses content past its bound before reading it; the same content twice counts once; delete frees', async () => {
    const small = blob('x'.repeat(60), 'application/octet-stream');
    const other = blob('y'.repeat(60), 'application/octet-stream');
    const store = new MemoryStore({ name: 'q', maxBytes: 100 });
    await store.push(small.desc, small.data);
    await store.push(small.desc, small.data);
    let read = false;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          read = true;
          c.enqueue(other.data);
          c.close();
        },
      },
      { highWaterMark: 0 },
    );
    await expect(store.push(other.desc, stream)).rejects.toMatchObject({
      code: 'SIZE_LIMIT_EXCEEDED',
      message: expect.stringContaining('past 100 bytes'),
    });
    expect(read).toBe(false);
    expect(() => store.putVerified(other.desc, other.data)).toThrow(/past 100 bytes/);
    await store.delete(small.desc);
    await store.push(other.desc, other.data);
    expect(await store.exists(other.desc)).toBe(true);
  });
});

describe('chart algorithms typed on roles', () => {
  it('resolve versions and pull a chart from a MemoryStore like from a registry', async () => {
    const store = new MemoryStore({ name: 'mem/charts/app' });
    for (const v of ['1.0.0', '1.2.0', '2.0.0-rc.1', 'latest']) {
      const a = chartArtifact('app', v);
      await pushAll(store, [a.config, a.layer, a.manifest]);
      await store.tag(a.manifest.desc, v);
    }
    expect(await resolveChartVersion(store, '^1.0.0')).toBe('1.2.0');
    expect(await resolveChartVersion(store, '1.0.0')).toBe('1.0.0');
    await expect(resolveChartVersion(store, '3.0.0')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const fetched = await store.fetchManifest('1.2.0');
    const { pulled, blobs } = await pullFetchedChart(store, fetched, '1.2.0');
    expect(pulled.version).toBe('1.2.0');
    expect(pulled.pinned).toBe(`mem/charts/app@${fetched.descriptor.digest}`);
    expect(blobs.get(pulled.chartDigest)).toEqual(pulled.archive);
  });
});
