// Chart.lock integrity on the in-memory registry: pin → build → verify, then a
// dependency is swapped upstream under the same version and every check catches it.
//
//   npm run build && node examples/deps-workflow.mjs
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageChart, pushChart } from '../dist/chart.js';
import { buildDependencies, formatLock, hashReq, pinDependencies, verifyDependencies } from '../dist/lock.js';
import { RegistryClient } from '../dist/oci.js';
import { MemoryRegistry } from '../dist/testing.js';

const work = await mkdtemp(join(tmpdir(), 'chartproof-deps-'));
const registry = new MemoryRegistry();
const client = new RegistryClient({ fetch: registry.fetch, plainHttp: true });

/** Packages a tiny library chart and pushes it like `helm push`. */
async function publishCommon(templates) {
  const dir = join(work, `src-${Math.random().toString(16).slice(2)}`, 'common');
  await mkdir(join(dir, 'templates'), { recursive: true });
  await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: common\nversion: 1.0.0\ntype: library\n');
  for (const [name, text] of Object.entries(templates)) await writeFile(join(dir, 'templates', name), text);
  const { path } = await packageChart(dir, { destination: join(dir, '..'), sourceDateEpoch: 1_700_000_000 });
  const archive = await readFile(path);
  const metadata = { apiVersion: 'v2', name: 'common', version: '1.0.0', type: 'library' };
  await pushChart(client, archive, metadata, 'oci://registry.test/charts');
}

try {
  await publishCommon({ '_helpers.tpl': '{{- define "common.name" -}}{{ .Chart.Name }}{{- end -}}\n' });

  // The application chart, with Chart.yaml and the Chart.lock `helm dependency update` writes.
  const app = join(work, 'app');
  await mkdir(app, { recursive: true });
  const dependency = { name: 'common', version: '1.0.0', repository: 'oci://registry.test/charts' };
  await writeFile(
    join(app, 'Chart.yaml'),
    'apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: common\n  version: 1.0.0\n  repository: oci://registry.test/charts\n',
  );
  await writeFile(
    join(app, 'Chart.lock'),
    formatLock({
      digest: hashReq([dependency], [dependency]),
      generated: '2025-01-01T00:00:00Z',
      dependencies: [dependency],
    }),
  );

  // 1. pin: record each dependency's content digest in Chart.lock (Helm's digest unchanged)
  const pin = await pinDependencies(app, { client });
  for (const d of pin.dependencies) console.log(`pinned   ${d.name}-${d.version} ${d.digest}`);
  console.log(`Chart.lock now:\n${await readFile(join(app, 'Chart.lock'), 'utf8')}`);

  // 2. build: download into charts/, each verified against its pin before it is written
  const build = await buildDependencies(app, { client });
  console.log(`build    ${build.ok ? 'ok' : 'FAILED'}: wrote ${build.written.join(', ')}`);

  // 3. verify offline (vendored archives) and online (sources)
  const offline = await verifyDependencies(app);
  const online = await verifyDependencies(app, { online: true, client });
  console.log(`verify   offline ok: ${offline.ok}, online ok: ${online.ok}`);

  // 4. upstream is compromised: same version, backdoored content
  await publishCommon({
    '_helpers.tpl': '{{- define "common.name" -}}{{ .Chart.Name }}{{- end -}}\n',
    'crb.yaml': 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n',
  });
  const swapped = await verifyDependencies(app, { online: true, client });
  const bad = swapped.dependencies[0];
  console.log(`swapped  online ok: ${swapped.ok}; ${bad.name}-${bad.version} ${bad.status} at ${bad.source}`);
  console.log(`           expected ${bad.expected}\n           actual   ${bad.actual}`);
  await rm(join(app, 'charts'), { recursive: true });
  const rebuild = await buildDependencies(app, { client });
  console.log(
    `rebuild  ok: ${rebuild.ok}; ${rebuild.dependencies[0].status}; wrote ${rebuild.written.length} files`,
  );
} finally {
  await client.close();
  await rm(work, { recursive: true, force: true });
}
