import { HELM_VECTORS as VECTORS } from '../helpers/vectors.js';
import { expectChartproofError as expectCode } from '../helpers/expect-error.js';
import { memoryFixture, TEST_HOST } from '../helpers/registry.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helmAnnotations } from '../../src/chart/annotations.js';
import { helmConfigJson } from '../../src/chart/config.js';
import { sanitizeHelmString } from '../../src/chart/sanitize.js';
import { buildChartManifest, pullChart, pushChart, resolveChartVersion } from '../../src/chart/oci.js';
import type { ChartMetadata } from '../../src/chart/types.js';
import { digestOf, MediaType, type RegistryClient } from '../../src/oci/index.js';

const haveVectors = existsSync(join(VECTORS, 'derived', 'oci', 'oci-signtest-manifest.json'));
const GOLDEN_SUITE = 'Helm golden OCI vector (signtest-0.1.0)';
if (!haveVectors)
  console.warn(
    `${GOLDEN_SUITE} skipped (its 2 tests): Helm vectors not found at ${VECTORS} (clone shared/ beside the repo)`,
  );

const GOLDEN_DIGEST = 'sha256:fbbade96da6050f68f94f122881e3b80051a18f13ab5f4081868dd494538f5c2';
const CONFIG_DIGEST = 'sha256:8d17cb6bf6ccd8c29aace9a658495cbd5e2e87fc267876e86117c7db681c9580';
const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

const SIGNTEST: ChartMetadata = {
  name: 'signtest',
  version: '0.1.0',
  description: 'A Helm chart for Kubernetes',
  apiVersion: 'v1',
};

function fakeChart(name: string, version: string): { archive: Uint8Array; meta: ChartMetadata } {
  return {
    archive: enc.encode(`fake tgz ${name} ${version}`),
    meta: { name, version, apiVersion: 'v2', description: `${name} chart` },
  };
}

describe.skipIf(!haveVectors)(GOLDEN_SUITE, () => {
  it('reproduces the manifest and config bytes helm push writes', async () => {
    const archive = await readFile(join(VECTORS, 'pkg/downloader/testdata/signtest-0.1.0.tgz'));
    const provenance = await readFile(join(VECTORS, 'pkg/downloader/testdata/signtest-0.1.0.tgz.prov'));
    const goldenManifest = await readFile(join(VECTORS, 'derived/oci/oci-signtest-manifest.json'));
    const goldenConfig = await readFile(join(VECTORS, 'derived/oci/oci-signtest-config.json'));

    const built = buildChartManifest(archive, SIGNTEST, { creationTime: '1977-09-02T22:04:05Z', provenance });
    expect(Buffer.from(built.config.data).equals(goldenConfig)).toBe(true);
    expect(built.config.desc).toEqual({ mediaType: MediaType.HelmConfig, digest: CONFIG_DIGEST, size: 99 });
    expect(text(built.manifest)).toBe(goldenManifest.toString('utf8'));
    expect(Buffer.from(built.manifest).equals(goldenManifest)).toBe(true);
    expect(built.manifest.byteLength).toBe(742);
    expect(digestOf(built.manifest)).toBe(GOLDEN_DIGEST);
    // layers sorted by digest: the provenance layer happens to come first
    expect(built.layers.map((l) => l.desc.mediaType)).toEqual([
      MediaType.HelmProvenance,
      MediaType.HelmChartContent,
    ]);
  });

  it('pushes the golden manifest and pulls the chart back', async () => {
    const archive = await readFile(join(VECTORS, 'pkg/downloader/testdata/signtest-0.1.0.tgz'));
    const provenance = await readFile(join(VECTORS, 'pkg/downloader/testdata/signtest-0.1.0.tgz.prov'));
    const { client } = memoryFixture({ retries: 'default' });
    const pushed = await pushChart(client, archive, SIGNTEST, `oci://${TEST_HOST}/charts`, {
      creationTime: '1977-09-02T22:04:05Z',
      provenance,
    });
    expect(pushed.digest).toBe(GOLDEN_DIGEST);
    expect(pushed.ref).toBe(`${TEST_HOST}/charts/signtest:0.1.0`);
    expect(pushed.pinned).toBe(`${TEST_HOST}/charts/signtest@${GOLDEN_DIGEST}`);
    expect(pushed.provenance?.size).toBe(695);
    const pulled = await pullChart(client, `oci://${TEST_HOST}/charts/signtest`, {
      version: '0.1.0',
      provenance: true,
    });
    expect(pulled.manifestDigest).toBe(GOLDEN_DIGEST);
    expect(Buffer.from(pulled.archive).equals(archive)).toBe(true);
    expect(Buffer.from(pulled.provenance!).equals(provenance)).toBe(true);
    expect(pulled.config).toEqual({ ...SIGNTEST });
  });
});

describe('helmConfigJson', () => {
  it('writes Go struct order, omits empty fields and defaults apiVersion to v1', () => {
    const meta: ChartMetadata = {
      type: 'application',
      dependencies: [
        { name: 'db', repository: 'oci://r/ns', version: '>=1.0.0', enabled: true, alias: 'database' },
        { name: 'cache', repository: '' },
      ],
      kubeVersion: '>=1.20',
      annotations: { zeta: 'z', alpha: '<a>' },
      deprecated: false,
      appVersion: '1.0',
      apiVersion: '',
      icon: 'https://x/icon.png',
      maintainers: [{ name: 'Ann', email: 'ann@example.com' }, { url: 'https://b' }],
      keywords: [],
      description: 'multi\nline\tdesc\u0007',
      version: '1.2.3+build.1',
      sources: ['https://src'],
      home: 'https://home',
      name: 'app',
    };
    expect(text(helmConfigJson(meta))).toBe(
      '{"name":"app","home":"https://home","sources":["https://src"],"version":"1.2.3+build.1",' +
        '"description":"multi line desc","maintainers":[{"name":"Ann","email":"ann@example.com"},{"url":"https://b"}],' +
        '"icon":"https://x/icon.png","apiVersion":"v1","appVersion":"1.0",' +
        '"annotations":{"alpha":"\\u003ca\\u003e","zeta":"z"},"kubeVersion":"\\u003e=1.20",' +
        '"dependencies":[{"name":"db","version":"\\u003e=1.0.0","repository":"oci://r/ns","enabled":true,"alias":"database"},' +
        '{"name":"cache","repository":""}],"type":"application"}',
    );
  });

  it('sanitises like Helm: whitespace to space, non-printables dropped', () => {
    expect(sanitizeHelmString('a\u00a0b\u200bc\u0000d\te')).toBe('a bcd e');
  });
});

describe('helmAnnotations', () => {
  const T = '2024-05-01T10:20:30Z';

  it('sets the computed annotations only when not blank', () => {
    expect(
      helmAnnotations({ name: 'app', version: '1.0.0', apiVersion: 'v2', description: '  ', home: '' }, T),
    ).toEqual({
      'org.opencontainers.image.title': 'app',
      'org.opencontainers.image.version': '1.0.0',
      'org.opencontainers.image.created': T,
    });
    expect(helmAnnotations({ name: 'app', version: '1.0.0', apiVersion: 'v2' }, '')).not.toHaveProperty(
      'org.opencontainers.image.created',
    );
  });

  it('fills url, source (first only) and authors', () => {
    const a = helmAnnotations(
      {
        name: 'app',
        version: '1.0.0',
        apiVersion: 'v2',
        description: 'Desc',
        home: 'https://home',
        sources: ['https://one', 'https://two'],
        maintainers: [{ name: 'Ann', email: 'ann@x.io' }, { name: 'Bob' }, { email: 'anon@x.io' }],
      },
      T,
    );
    expect(a).toEqual({
      'org.opencontainers.image.description': 'Desc',
      'org.opencontainers.image.title': 'app',
      'org.opencontainers.image.version': '1.0.0',
      'org.opencontainers.image.url': 'https://home',
      'org.opencontainers.image.created': T,
      'org.opencontainers.image.source': 'https://one',
      'org.opencontainers.image.authors': 'Ann (ann@x.io), Bob,  (anon@x.io)',
    });
  });

  it('lets chart annotations override everything but title and version', () => {
    const a = helmAnnotations(
      {
        name: 'app',
        version: '1.0.0',
        apiVersion: 'v2',
        description: 'Desc',
        annotations: {
          'org.opencontainers.image.title': 'evil',
          'org.opencontainers.image.version': '9.9.9',
          'org.opencontainers.image.created': '2000-01-01T00:00:00Z',
          'org.opencontainers.image.description': '',
          'example.com/extra': 'yes',
        },
      },
      T,
    );
    expect(a['org.opencontainers.image.title']).toBe('app');
    expect(a['org.opencontainers.image.version']).toBe('1.0.0');
    expect(a['org.opencontainers.image.created']).toBe('2000-01-01T00:00:00Z');
    expect(a['org.opencontainers.image.description']).toBe('');
    expect(a['example.com/extra']).toBe('yes');
  });
});

describe('push and pull against the in-memory registry', () => {
  async function pushVersions(client: RegistryClient, name: string, versions: string[]) {
    for (const v of versions) {
      const c = fakeChart(name, v);
      await pushChart(client, c.archive, c.meta, `oci://${TEST_HOST}/charts`, {
        creationTime: '2024-01-01T00:00:00Z',
      });
    }
  }

  it('stores 1.2.3+build.1 as tag 1.2.3_build.1 and pulls it back by version', async () => {
    const { client } = memoryFixture({ retries: 'default' });
    const c = fakeChart('app', '1.2.3+build.1');
    const pushed = await pushChart(client, c.archive, c.meta, `oci://${TEST_HOST}/charts/`);
    expect(pushed.ref).toBe(`${TEST_HOST}/charts/app:1.2.3_build.1`);
    expect(pushed.provenance).toBeUndefined();
    const manifest = JSON.parse(text(pushed.manifest));
    expect(manifest.annotations['org.opencontainers.image.created']).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    expect(Object.keys(manifest)).toEqual(['schemaVersion', 'config', 'layers', 'annotations']);

    const repo = client.repository(`${TEST_HOST}/charts/app`);
    expect(await repo.tags()).toEqual(['1.2.3_build.1']);

    const pulled = await pullChart(client, `oci://${TEST_HOST}/charts/app`, { version: '1.2.3+build.1' });
    expect(pulled.version).toBe('1.2.3+build.1');
    expect(pulled.tag).toBe('1.2.3_build.1');
    expect(pulled.manifestDigest).toBe(pushed.digest);
    expect(Buffer.from(pulled.archive).equals(Buffer.from(c.archive))).toBe(true);
    expect(pulled.provenance).toBeUndefined();

    // a + in the reference's tag works too
    const byTag = await pullChart(client, `oci://${TEST_HOST}/charts/app:1.2.3+build.1`);
    expect(byTag.manifestDigest).toBe(pushed.digest);
    await expectCode(
      pullChart(client, `oci://${TEST_HOST}/charts/app:1.2.3+build.1`, { version: '1.2.4' }),
      'INVALID_REFERENCE',
      /version mismatch/,
    );
  });

  it('resolves ranges like Helm', async () => {
    const { client } = memoryFixture({ retries: 'default' });
    await pushVersions(client, 'app', ['0.9.0', '1.0.0', '1.4.2', '1.10.0+meta', '2.0.0', '1.11.0-rc.1']);
    const repo = client.repository(`${TEST_HOST}/charts/app`);
    expect(await resolveChartVersion(repo, '^1.0.0')).toBe('1.10.0_meta');
    expect(await resolveChartVersion(repo, '^1.0.0', { includePrerelease: true })).toBe('1.11.0-rc.1');
    expect(await resolveChartVersion(repo, '>=1.11.0-rc.0')).toBe('2.0.0');
    expect(await resolveChartVersion(repo, '>=1.11.0-rc.0, <2.0.0')).toBe('1.11.0-rc.1');
    expect(await resolveChartVersion(repo, '')).toBe('2.0.0');
    expect(await resolveChartVersion(repo, '1.4.x')).toBe('1.4.2');
    expect(await resolveChartVersion(repo, '1.0.0 - 1.11.0')).toBe('1.10.0_meta');
    expect(await resolveChartVersion(repo, '1.4.2')).toBe('1.4.2');
    await expectCode(resolveChartVersion(repo, '^3.0.0'), 'NOT_FOUND', /could not locate a version matching/);
    await expectCode(resolveChartVersion(repo, '3.0.0'), 'NOT_FOUND', /could not locate a version matching/);
    await expectCode(resolveChartVersion(repo, '>>nonsense'), 'INVALID_ARGUMENT');

    const pulled = await pullChart(client, `oci://${TEST_HOST}/charts/app`, { version: '~1.4' });
    expect(pulled.version).toBe('1.4.2');
    expect(pulled.pinned).toMatch(new RegExp(`^${TEST_HOST}/charts/app@sha256:[0-9a-f]{64}$`));
    await expectCode(pullChart(client, `oci://${TEST_HOST}/charts/app`, { version: '^5' }), 'NOT_FOUND');
  });

  it('ignores tags that are not strict semver', async () => {
    const { client } = memoryFixture({ retries: 'default' });
    await pushVersions(client, 'app', ['1.0.0']);
    const repo = client.repository(`${TEST_HOST}/charts/app`);
    const desc = await repo.resolve('1.0.0');
    await repo.tag(desc, 'latest');
    await repo.tag(desc, 'v9.0.0');
    expect(await resolveChartVersion(repo, '*')).toBe('1.0.0');
    const empty = client.repository(`${TEST_HOST}/charts/none`);
    await expectCode(resolveChartVersion(empty, '^1'), 'NOT_FOUND');
  });

  it('pulls by digest, and checks a version given with a digest', async () => {
    const { client } = memoryFixture({ retries: 'default' });
    await pushVersions(client, 'app', ['1.0.0', '1.1.0']);
    const repo = client.repository(`${TEST_HOST}/charts/app`);
    const d1 = (await repo.resolve('1.0.0')).digest;
    const pulled = await pullChart(client, `oci://${TEST_HOST}/charts/app@${d1}`);
    expect(pulled.manifestDigest).toBe(d1);
    expect(pulled.version).toBe('1.0.0');
    expect(pulled.tag).toBe('');
    expect(pulled.pinned).toBe(`${TEST_HOST}/charts/app@${d1}`);
    expect((await pullChart(client, `oci://${TEST_HOST}/charts/app@${d1}`, { version: '1.0.0' })).tag).toBe(
      '1.0.0',
    );
    await expectCode(
      pullChart(client, `oci://${TEST_HOST}/charts/app@${d1}`, { version: '1.1.0' }),
      'INVALID_REFERENCE',
      /digest mismatch/,
    );
    // the version's tag is missing: the digest is accepted
    expect(
      (await pullChart(client, `oci://${TEST_HOST}/charts/app@${d1}`, { version: '7.0.0' })).manifestDigest,
    ).toBe(d1);
  });

  async function pushRaw(
    client: RegistryClient,
    tag: string,
    configMediaType: string,
    layers: Array<{ mediaType: string; data: Uint8Array }>,
    configData = enc.encode('{"name":"bad","version":"1.0.0"}'),
  ) {
    const repo = client.repository(`${TEST_HOST}/charts/bad`);
    const config = { mediaType: configMediaType, digest: digestOf(configData), size: configData.byteLength };
    await repo.push(config, configData);
    const descs = [];
    for (const l of layers) {
      const d = { mediaType: l.mediaType, digest: digestOf(l.data), size: l.data.byteLength };
      if (!(await repo.exists(d))) await repo.push(d, l.data);
      descs.push(d);
    }
    const manifest = enc.encode(JSON.stringify({ schemaVersion: 2, config, layers: descs }));
    await repo.pushManifest(manifest, { mediaType: MediaType.OciManifest, tags: [tag] });
  }

  it('rejects manifests that are not Helm charts', async () => {
    const { client } = memoryFixture({ retries: 'default' });
    const chart = { mediaType: MediaType.HelmChartContent, data: enc.encode('tgz') };
    await pushRaw(client, 'image', MediaType.OciConfig, [chart]);
    await expectCode(pullChart(client, `oci://${TEST_HOST}/charts/bad:image`), 'INVALID_MANIFEST', /config/);
    await pushRaw(client, 'two', MediaType.HelmConfig, [chart, { ...chart, data: enc.encode('tgz2') }]);
    await expectCode(
      pullChart(client, `oci://${TEST_HOST}/charts/bad:two`),
      'INVALID_MANIFEST',
      /2 chart layers/,
    );
    await pushRaw(client, 'none', MediaType.HelmConfig, [
      { mediaType: 'application/x-other', data: enc.encode('x') },
    ]);
    await expectCode(
      pullChart(client, `oci://${TEST_HOST}/charts/bad:none`),
      'INVALID_MANIFEST',
      /does not contain/,
    );
    await pushRaw(client, 'cfg', MediaType.HelmConfig, [chart], enc.encode('{"name":1}'));
    await expectCode(pullChart(client, `oci://${TEST_HOST}/charts/bad:cfg`), 'INVALID_CONFIG');
    await pushRaw(client, 'json', MediaType.HelmConfig, [chart], enc.encode('not json'));
    await expectCode(pullChart(client, `oci://${TEST_HOST}/charts/bad:json`), 'INVALID_CONFIG');
  });

  it('fetches config, chart and provenance at once; a bad config still wins, with nothing left running', async () => {
    let inFlight = 0;
    let most = 0;
    const fetched: string[] = [];
    const { client } = memoryFixture({
      retries: 'default',
      wrapFetch: (fetch) => async (input, init) => {
        const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
        const blobGet = (init?.method ?? 'GET') === 'GET' && url.pathname.includes('/blobs/sha256:');
        if (!blobGet) return fetch(input, init);
        fetched.push(url.pathname);
        most = Math.max(most, ++inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, 20));
          return await fetch(input, init);
        } finally {
          inFlight--;
        }
      },
    });
    const c = fakeChart('app', '1.0.0');
    await pushChart(client, c.archive, c.meta, `oci://${TEST_HOST}/charts`, {
      provenance: enc.encode('prov'),
    });
    const pulled = await pullChart(client, `oci://${TEST_HOST}/charts/app:1.0.0`, { provenance: true });
    expect(new TextDecoder().decode(pulled.provenance)).toBe('prov');
    expect(fetched).toHaveLength(3);
    expect(most).toBe(3);

    // A config that is not a chart's is reported as such (not as a later layer's failure),
    // after the other fetches have ended.
    const chart = { mediaType: MediaType.HelmChartContent, data: enc.encode('tgz') };
    await pushRaw(client, 'cfg2', MediaType.HelmConfig, [chart], enc.encode('{"name":1}'));
    fetched.length = 0;
    await expectCode(pullChart(client, `oci://${TEST_HOST}/charts/bad:cfg2`), 'INVALID_CONFIG');
    expect(fetched).toHaveLength(2);
    expect(inFlight).toBe(0);
  });

  it('accepts the legacy chart media type with a warning', async () => {
    const { client } = memoryFixture({ retries: 'default' });
    await pushRaw(client, 'legacy', MediaType.HelmConfig, [
      { mediaType: 'application/tar+gzip', data: enc.encode('old') },
    ]);
    const warnings: string[] = [];
    const pulled = await pullChart(client, `oci://${TEST_HOST}/charts/bad:legacy`, {
      onWarning: (w) => warnings.push(w),
    });
    expect(text(pulled.archive)).toBe('old');
    expect(warnings).toEqual(['chart media type application/tar+gzip is deprecated']);
  });

  it('requires the provenance layer when asked', async () => {
    const { client } = memoryFixture({ retries: 'default' });
    await pushVersions(client, 'app', ['1.0.0']);
    await expectCode(
      pullChart(client, `oci://${TEST_HOST}/charts/app:1.0.0`, { provenance: true }),
      'INVALID_MANIFEST',
      /application\/vnd\.cncf\.helm\.chart\.provenance\.v1\.prov/,
    );
    const c = fakeChart('signed', '1.0.0');
    const prov = enc.encode('-----BEGIN PGP SIGNED MESSAGE-----\n');
    const pushed = await pushChart(client, c.archive, c.meta, `oci://${TEST_HOST}/charts`, {
      provenance: prov,
    });
    expect(pushed.provenance?.mediaType).toBe(MediaType.HelmProvenance);
    const pulled = await pullChart(client, `oci://${TEST_HOST}/charts/signed:1.0.0`, { provenance: true });
    expect(text(pulled.provenance!)).toBe(text(prov));
  });

  it('enforces strict mode on full references', async () => {
    const { client } = memoryFixture({ retries: 'default' });
    const c = fakeChart('app', '1.0.0');
    await expectCode(
      pushChart(client, c.archive, c.meta, `oci://${TEST_HOST}/charts/boop:1.0.0`),
      'INVALID_REFERENCE',
      /strict mode enabled/,
    );
    await expectCode(
      pushChart(client, c.archive, c.meta, `oci://${TEST_HOST}/charts/app:latest`),
      'INVALID_REFERENCE',
      /strict mode enabled/,
    );
    // One creation time for both pushes: the manifest carries it (to the second), and
    // two pushes a second apart would otherwise differ.
    const creationTime = '2026-01-01T00:00:00Z';
    const ok = await pushChart(client, c.archive, c.meta, `oci://${TEST_HOST}/charts/app:1.0.0`, {
      creationTime,
    });
    expect(ok.ref).toBe(`${TEST_HOST}/charts/app:1.0.0`);
    const loose = await pushChart(client, c.archive, c.meta, `oci://${TEST_HOST}/charts/boop:latest`, {
      strict: false,
      creationTime,
    });
    expect(loose.ref).toBe(`${TEST_HOST}/charts/boop:latest`);
    expect(loose.digest).toBe(ok.digest);
    await expectCode(
      pushChart(client, c.archive, c.meta, `oci://${TEST_HOST}/charts@${ok.digest}`),
      'INVALID_REFERENCE',
    );
    await expectCode(
      pushChart(client, c.archive, c.meta, `oci://${TEST_HOST}/charts`, { creationTime: 'yesterday' }),
      'INVALID_ARGUMENT',
    );
  });

  it('pushes blobs before the manifest', async () => {
    const { registry, client } = memoryFixture({ retries: 'default' });
    const c = fakeChart('app', '1.0.0');
    await pushChart(client, c.archive, c.meta, `oci://${TEST_HOST}/charts`, {
      provenance: enc.encode('prov'),
    });
    const puts = registry.requests
      .filter((r) => r.method === 'PUT' || r.method === 'POST')
      .map((r) => `${r.method} ${new URL(r.url).pathname}`);
    const manifestAt = puts.findIndex((p) => p.includes('/manifests/'));
    expect(manifestAt).toBe(puts.length - 1);
    expect(puts[manifestAt]).toBe('PUT /v2/charts/app/manifests/1.0.0');
  });
});
