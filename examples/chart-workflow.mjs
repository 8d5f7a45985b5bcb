// Chart workflow on the in-memory registry: package → push → pull → inspect.
//
//   npm run build && node examples/chart-workflow.mjs
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadChartArchive, packageChart, pullChart, pushChart } from '../dist/chart.js';
import { RegistryClient } from '../dist/oci.js';
import { MemoryRegistry } from '../dist/testing.js';

const work = await mkdtemp(join(tmpdir(), 'chartproof-example-'));
const registry = new MemoryRegistry();
const client = new RegistryClient({ fetch: registry.fetch, plainHttp: true });
try {
  // A small chart on disk.
  const dir = join(work, 'hello');
  await mkdir(join(dir, 'templates'), { recursive: true });
  await writeFile(
    join(dir, 'Chart.yaml'),
    'apiVersion: v2\nname: hello\nversion: 1.2.3\ndescription: A demo chart\nappVersion: "2.0"\n',
  );
  await writeFile(join(dir, 'values.yaml'), 'replicas: 2\nimage: nginx:1.27\n');
  await writeFile(
    join(dir, 'templates', 'deployment.yaml'),
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n',
  );

  // 1. package reproducibly (the same input and epoch give the same bytes anywhere)
  const packaged = await packageChart(dir, {
    destination: join(work, 'dist'),
    sourceDateEpoch: 1_700_000_000,
  });
  console.log(`packaged ${packaged.path}\n         ${packaged.digest}`);
  const again = await packageChart(dir, { destination: join(work, 'dist2'), sourceDateEpoch: 1_700_000_000 });
  console.log(`repackaged digest equal: ${again.digest === packaged.digest}`);

  // 2. push exactly as `helm push` would
  const archive = await readFile(packaged.path);
  const chart = await loadChartArchive(archive);
  const pushed = await pushChart(client, archive, chart.metadata, 'oci://registry.test/charts', {
    creationTime: '2024-01-01T00:00:00Z',
  });
  console.log(`pushed   oci://${pushed.ref}\n         ${pushed.digest}`);

  // 3. pull by semver range, get a digest-pinned reference back
  const pulled = await pullChart(client, 'oci://registry.test/charts/hello', { version: '^1.2' });
  console.log(`pulled   ${pulled.pinned}`);
  console.log(`archive identical: ${Buffer.from(pulled.archive).equals(archive)}`);

  // 4. inspect what was pulled
  const inspected = await loadChartArchive(pulled.archive);
  const { name, version, apiVersion, appVersion } = inspected.metadata;
  console.log(
    `inspect  ${JSON.stringify({ name, version, apiVersion, appVersion, templates: inspected.templates.length, digest: inspected.digest })}`,
  );
} finally {
  await client.close();
  await rm(work, { recursive: true, force: true });
}
