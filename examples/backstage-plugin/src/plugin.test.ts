import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { createChartArchive, loadChartArchive, loadChartDirectory, pushChart } from 'chartproof/chart';
import { RegistryClient } from 'chartproof/oci';
import { renderChart } from 'chartproof/render';
import { generateKeyPair, keyFileSigner, signLegacy } from 'chartproof/sign';
import { MemoryRegistry } from 'chartproof/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartproofPlugin } from './plugin';
import { chartproofRegistryServiceRef } from './registry';

// biome-ignore lint/suspicious/noExplicitAny: release JSON built and tampered with in the test
type Json = Record<string, any>;

const FILES: Record<string, string> = {
  'Chart.yaml': 'apiVersion: v2\nname: app\nversion: 1.0.0\n',
  'values.yaml': 'replicas: 1\n',
  'templates/cm.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: "{{ .Values.replicas }}"\n',
};

const b64 = (d: Uint8Array | string) => Buffer.from(d).toString('base64');

/** The release Secret Helm stores for `chart` installed as prod/web (base64(base64(gzip(JSON)))). */
function releaseSecret(chart: Awaited<ReturnType<typeof loadChartArchive>>, tamper = false): Json {
  const rendered = renderChart(chart, { releaseName: 'web', namespace: 'prod', revision: 1 });
  const templates = chart.templates.map((t) => ({ name: t.name, data: b64(t.data) }));
  if (tamper) templates[0]!.data = b64('kind: ClusterRoleBinding\n');
  const release = {
    name: 'web',
    info: { status: 'deployed', notes: rendered.notes },
    chart: {
      metadata: chart.metadata,
      lock: null,
      templates,
      values: chart.values,
      schema: null,
      files: chart.files.map((f) => ({ name: f.name, data: b64(f.data) })),
    },
    config: {},
    manifest: rendered.manifests.map((m) => `---\n# Source: ${m.path}\n${m.content}\n`).join(''),
    hooks: [],
    version: 1,
    namespace: 'prod',
  };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'helm.sh/release.v1',
    metadata: {
      name: 'sh.helm.release.v1.web.v1',
      namespace: 'prod',
      labels: { name: 'web', owner: 'helm', status: 'deployed', version: '1' },
    },
    data: { release: b64(b64(gzipSync(JSON.stringify(release)))) },
  };
}

describe('chartproof backend plugin', () => {
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let secret: Json;
  let digest: string;
  const dir = mkdtempSync(join(tmpdir(), 'chartproof-backstage-'));

  beforeAll(async () => {
    // A signed chart in an in-memory registry, and an unsigned one next to it.
    const registry = new MemoryRegistry();
    const client = new RegistryClient({ fetch: registry.fetch, plainHttp: true });
    for (const [name, text] of Object.entries(FILES)) {
      mkdirSync(dirname(join(dir, 'app', name)), { recursive: true });
      writeFileSync(join(dir, 'app', name), text);
    }
    const { chart: source, mtimes } = await loadChartDirectory(join(dir, 'app'));
    const archive = await createChartArchive(source, mtimes, { sourceDateEpoch: 0 });
    const chart = await loadChartArchive(archive);
    await pushChart(client, archive, chart.metadata, 'oci://registry.test/charts');
    await pushChart(client, archive, chart.metadata, 'oci://registry.test/unsigned');
    const repo = client.repository('registry.test/charts/app');
    const subject = await repo.resolve('1.0.0');
    digest = subject.digest;
    const keys = await generateKeyPair({ password: '' });
    await signLegacy(repo, subject, await keyFileSigner(keys.privateKeyPem, ''));
    secret = releaseSecret(chart);

    backend = await startTestBackend({
      features: [
        chartproofPlugin,
        mockServices.rootConfig.factory({
          data: {
            chartproof: {
              trust: {
                registries: ['registry.test'],
                verify: { keys: [keys.publicKeyPem], tlog: 'skip' },
                charts: { reference: 'oci://registry.test/charts/{name}:{version}' },
              },
              timeoutMs: 30_000,
            },
          },
        }),
        // The registry client is a service: replaced here by one backed by the in-memory registry.
        createServiceFactory({ service: chartproofRegistryServiceRef, deps: {}, factory: () => client }),
      ],
    });
  });
  afterAll(async () => {
    await backend?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /health is open; the other routes need valid Backstage credentials', async () => {
    const bad = mockCredentials.user.invalidHeader();
    const health = await request(backend.server).get('/api/chartproof/health').set('Authorization', bad);
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const denied = await request(backend.server)
      .post('/api/chartproof/verify')
      .set('Authorization', bad)
      .send({ reference: 'oci://registry.test/charts/app:1.0.0' });
    expect(denied.status).toBe(401);
    const user = await request(backend.server)
      .post('/api/chartproof/verify')
      .set('Authorization', mockCredentials.user.header())
      .send({ reference: 'oci://registry.test/charts/app:1.0.0' });
    expect(user.status).toBe(200);
  });

  it('POST /verify: a signed chart verifies and comes back digest-pinned', async () => {
    const res = await request(backend.server)
      .post('/api/chartproof/verify')
      .send({ reference: 'oci://registry.test/charts/app:1.0.0' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      verified: true,
      pinned: `registry.test/charts/app@${digest}`,
      digest,
      format: 'legacy',
      signatures: 1,
    });
  });

  it('POST /verify: unsigned (422), outside the trusted registries or malformed (400)', async () => {
    const unsigned = await request(backend.server)
      .post('/api/chartproof/verify')
      .send({ reference: 'oci://registry.test/unsigned/app:1.0.0' });
    expect(unsigned.status).toBe(422);
    expect(unsigned.body).toMatchObject({ verified: false, code: 'SIGNATURE_NOT_FOUND' });
    const elsewhere = await request(backend.server)
      .post('/api/chartproof/verify')
      .send({ reference: 'oci://evil.example/charts/app:1.0.0' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error.message).toMatch(/not under an allowed registry \(registry\.test\)/);
    const lookalike = await request(backend.server)
      .post('/api/chartproof/verify')
      .send({ reference: 'registry.test.evil.example/charts/app:1.0.0' });
    expect(lookalike.status).toBe(400);
    const empty = await request(backend.server).post('/api/chartproof/verify').send({});
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('INVALID_ARGUMENT');
  });

  it('POST /audit: a release matching its signed chart passes; a tampered one fails', async () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [secret] };
    const ok = await request(backend.server)
      .post('/api/chartproof/audit')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(list));
    expect(ok.status).toBe(200);
    expect(ok.body.summary).toEqual({ releases: 1, passed: 1, failed: 0, ignoredSecrets: 0 });
    expect(ok.body.ok).toBe(true);
    expect(ok.body.releases[0]).toMatchObject({
      namespace: 'prod',
      name: 'web',
      chart: { name: 'app', version: '1.0.0' },
      pinned: `registry.test/charts/app@${digest}`,
      result: 'passed',
    });

    const tampered = { ...list, items: [releaseSecret(await chartOf(), true)] };
    const bad = await request(backend.server)
      .post('/api/chartproof/audit')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(tampered));
    expect(bad.status).toBe(200);
    expect(bad.body.ok).toBe(false);
    const content = bad.body.releases[0].checks.find((c: Json) => c.id === 'chart-content');
    expect(content).toMatchObject({ status: 'failed' });
    expect(content.reason).toContain('templates/cm.yaml');
  });

  it('POST /audit: refuses bodies that are not a Secret list', async () => {
    const notJson = await request(backend.server)
      .post('/api/chartproof/audit')
      .set('Content-Type', 'application/json')
      .send('{"items": [');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('INVALID_ARGUMENT');
    const empty = await request(backend.server)
      .post('/api/chartproof/audit')
      .set('Content-Type', 'application/json');
    expect(empty.status).toBe(400);
  });

  async function chartOf() {
    const { chart: source, mtimes } = await loadChartDirectory(join(dir, 'app'));
    return loadChartArchive(await createChartArchive(source, mtimes, { sourceDateEpoch: 0 }));
  }
});
