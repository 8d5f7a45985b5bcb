// Auditing deployed Helm releases, on the in-memory registry: a chart is pushed and
// signed; two releases of it are stored the way Helm stores them (the Secret
// `sh.helm.release.v1.<name>.v<rev>`: base64 of base64 of gzip of the release JSON), as
// `kubectl get secrets -A -l owner=helm -o json` would print them. One was installed
// from the signed chart; in the other someone added a ClusterRoleBinding to the chart
// and the applied manifest. `auditReleases` tells them apart.
//
//   npm run build && node examples/audit-releases.mjs
//
// Against a cluster: auditReleases({ kubeconfig: '~/.kube/config path' }, { trust, client }),
// or `chartproof audit --kubeconfig ~/.kube/config --config trust.yaml`.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadChartArchive, packageChart, pushChart } from '../dist/chart.js';
import { RegistryClient } from '../dist/oci.js';
import { auditReleases, parseTrustConfig } from '../dist/policy.js';
import { renderChart } from '../dist/render.js';
import { generateKeyPair, keyFileSigner, signLegacy } from '../dist/sign.js';
import { MemoryRegistry } from '../dist/testing.js';

const work = await mkdtemp(join(tmpdir(), 'chartproof-audit-'));
const registry = new MemoryRegistry();
const client = new RegistryClient({ fetch: registry.fetch, plainHttp: true });
const b64 = (data) => Buffer.from(data).toString('base64');

/** What Helm's storage driver writes for a release of `chart` installed with `config`. */
function helmReleaseSecret(chart, name, namespace, config, tamper) {
  const rendered = renderChart(chart, {
    releaseName: name,
    namespace,
    values: { jsonValues: [JSON.stringify(config)] },
  });
  const release = {
    name,
    info: { status: 'deployed', description: 'Install complete' },
    chart: {
      metadata: chart.metadata,
      templates: chart.templates.map((t) => ({ name: t.name, data: b64(t.data) })),
      values: chart.values,
      files: chart.files.map((f) => ({ name: f.name, data: b64(f.data) })),
    },
    config,
    manifest: rendered.manifests.map((m) => `---\n# Source: ${m.path}\n${m.content}\n`).join(''),
    hooks: [],
    version: 1,
    namespace,
  };
  tamper?.(release);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'helm.sh/release.v1',
    metadata: {
      name: `sh.helm.release.v1.${name}.v1`,
      namespace,
      labels: { name, owner: 'helm', version: '1' },
    },
    data: { release: b64(b64(gzipSync(JSON.stringify(release), { level: 9 }))) },
  };
}

try {
  // The release pipeline: package, push, sign.
  const dir = join(work, 'web');
  await mkdir(join(dir, 'templates'), { recursive: true });
  await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: web\nversion: 1.2.0\n');
  await writeFile(join(dir, 'values.yaml'), 'replicas: 1\n');
  await writeFile(
    join(dir, 'templates', 'deployment.yaml'),
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n',
  );
  const { path } = await packageChart(dir, { destination: work, sourceDateEpoch: 1_700_000_000 });
  const archive = await readFile(path);
  const chart = await loadChartArchive(archive);
  await pushChart(client, archive, chart.metadata, 'oci://registry.test/charts');
  const { privateKeyPem, publicKeyPem } = await generateKeyPair({ password: 'demo' });
  const repo = client.repository('registry.test/charts/web');
  await signLegacy(repo, await repo.resolve('1.2.0'), await keyFileSigner(privateKeyPem, 'demo'));

  // What `kubectl get secrets -A -l owner=helm -o json` prints for the cluster.
  const crb =
    'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: web-admin';
  const kubectlOutput = JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      helmReleaseSecret(chart, 'shop', 'prod', { replicas: 3 }),
      helmReleaseSecret(chart, 'shop', 'staging', { replicas: 1 }, (release) => {
        release.chart.templates.push({ name: 'templates/crb.yaml', data: b64(crb) });
        release.manifest += `---\n# Source: web/templates/crb.yaml\n${crb}\n`;
      }),
    ],
  });

  const trust = parseTrustConfig({
    registries: ['registry.test'],
    verify: { keys: [publicKeyPem], tlog: 'skip' }, // key-only signatures: no transparency log here
    charts: { reference: 'oci://registry.test/charts/{name}:{version}' },
  });
  const report = await auditReleases({ json: kubectlOutput }, { trust, client });
  for (const r of report.releases) {
    console.log(`${r.namespace}/${r.name} v${r.revision} (${r.chart.name} ${r.chart.version}): ${r.result}`);
    for (const c of r.checks)
      console.log(`  ${c.id.padEnd(16)} ${c.status}${c.reason ? `  ${c.reason}` : ''}`);
  }
  console.log(`ok: ${report.ok}`);
} finally {
  await client.close();
  await rm(work, { recursive: true, force: true });
}
