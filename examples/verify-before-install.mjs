// Verify before install, on the in-memory registry: a chart is pushed and signed in both
// cosign formats; deploy tooling verifies it and hands the digest-pinned reference to
// `helm install`. An unsigned chart and a chart re-published under the same version are
// refused.
//
//   npm run build && node examples/verify-before-install.mjs
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadChartArchive, packageChart, pushChart } from '../dist/chart.js';
import { RegistryClient } from '../dist/oci.js';
import { generateKeyPair, keyFileSigner, signBundle, signLegacy } from '../dist/sign.js';
import { MemoryRegistry } from '../dist/testing.js';
import { verifyChart } from '../dist/verify.js';

const work = await mkdtemp(join(tmpdir(), 'chartproof-verify-'));
const registry = new MemoryRegistry();
const client = new RegistryClient({ fetch: registry.fetch, plainHttp: true });

/** Packages a chart directory with the given templates and pushes it like `helm push`. */
async function publish(name, version, templates) {
  const dir = join(work, `${name}-${Math.random().toString(16).slice(2)}`, name);
  await mkdir(join(dir, 'templates'), { recursive: true });
  await writeFile(join(dir, 'Chart.yaml'), `apiVersion: v2\nname: ${name}\nversion: ${version}\n`);
  for (const [file, text] of Object.entries(templates)) await writeFile(join(dir, 'templates', file), text);
  const { path } = await packageChart(dir, { destination: join(dir, '..'), sourceDateEpoch: 1_700_000_000 });
  const archive = await readFile(path);
  const chart = await loadChartArchive(archive);
  return pushChart(client, archive, chart.metadata, 'oci://registry.test/charts');
}

/** What a deploy pipeline does: verify, then install the pinned digest, never the tag. */
async function deploy(reference, publicKeyPem) {
  try {
    const result = await verifyChart(client, reference, {
      policy: { keys: [publicKeyPem], tlog: 'skip' }, // key-only signatures: no transparency log here
    });
    console.log(`verified ${reference} (${result.format}, ${result.verified} signature(s))`);
    for (const check of result.checks) console.log(`  - ${check}`);
    console.log(`  helm install payments oci://${result.pinned}`);
  } catch (err) {
    console.log(`refused  ${reference}: ${err.code}: ${err.message}`);
  }
}

try {
  const { privateKeyPem, publicKeyPem } = await generateKeyPair({ password: 'demo' });
  const signer = await keyFileSigner(privateKeyPem, 'demo');

  // The release pipeline: push, then sign the pushed digest in both formats.
  const pushed = await publish('payments-api', '1.4.2', { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\n' });
  const repo = client.repository('registry.test/charts/payments-api');
  const subject = await repo.resolve('1.4.2');
  await signLegacy(repo, subject, signer);
  await signBundle(repo, subject, signer);
  console.log(`signed   ${pushed.pinned}`);

  await deploy('registry.test/charts/payments-api:1.4.2', publicKeyPem);

  // An unsigned chart is refused.
  await publish('unsigned', '0.1.0', { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\n' });
  await deploy('registry.test/charts/unsigned:0.1.0', publicKeyPem);

  // The same version re-published with a backdoor: the tag now names unsigned content.
  await publish('payments-api', '1.4.2', {
    'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\n',
    'crb.yaml': 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n',
  });
  await deploy('registry.test/charts/payments-api:1.4.2', publicKeyPem);
  // The digest that was verified before still verifies.
  await deploy(pushed.pinned, publicKeyPem);
} finally {
  await client.close();
  await rm(work, { recursive: true, force: true });
}
