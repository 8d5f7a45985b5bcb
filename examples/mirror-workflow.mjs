// Mirroring on in-memory registries: signed upstream charts are verified, scanned,
// copied byte for byte with their signatures, re-signed with the internal key and
// tagged; a risky chart is refused; a second run copies nothing.
//
//   npm run build && node examples/mirror-workflow.mjs
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageChart, pushChart } from '../dist/chart.js';
import { applyMirror, mirrorSummaryLine, parseMirrorSpec, planMirror } from '../dist/mirror.js';
import { RegistryClient } from '../dist/oci.js';
import { generateKeyPair, keyFileSigner, signBundle, signLegacy } from '../dist/sign.js';
import { MemoryRegistry } from '../dist/testing.js';
import { verifyChart } from '../dist/verify.js';

const work = await mkdtemp(join(tmpdir(), 'chartproof-mirror-'));
// Two registries: the public "upstream.test" and the company's "internal.test"
// (without the referrers API, like many internal registries: the tag fallback is used).
const upstream = new MemoryRegistry();
const internal = new MemoryRegistry({ referrersApi: false });
const fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  return (url.host === 'internal.test' ? internal : upstream).fetch(input, init);
};
const client = new RegistryClient({ fetch, plainHttp: true });

/** Packages a tiny chart, pushes it like `helm push`, and signs it with the upstream key. */
async function publish(name, version, signer, formats, templates = {}) {
  const dir = join(work, `${name}-${version}`, name);
  await mkdir(join(dir, 'templates'), { recursive: true });
  await writeFile(join(dir, 'Chart.yaml'), `apiVersion: v2\nname: ${name}\nversion: ${version}\n`);
  for (const [file, text] of Object.entries(templates)) await writeFile(join(dir, 'templates', file), text);
  const { path } = await packageChart(dir, { destination: join(dir, '..'), sourceDateEpoch: 1_700_000_000 });
  const metadata = { apiVersion: 'v2', name, version };
  const pushed = await pushChart(client, await readFile(path), metadata, 'oci://upstream.test/charts');
  const repo = client.repository(`upstream.test/charts/${name}`);
  const subject = await repo.resolve(version);
  if (formats.includes('legacy')) await signLegacy(repo, subject, signer);
  if (formats.includes('bundle')) await signBundle(repo, subject, signer);
  return pushed.digest;
}

try {
  // Keys: the vendor's (upstream) and ours (internal). Files, as a spec names them.
  const vendor = await generateKeyPair({ password: 'vendor' });
  const ours = await generateKeyPair({ password: 'internal' });
  await writeFile(join(work, 'vendor.pub'), vendor.publicKeyPem);
  await writeFile(join(work, 'internal.key'), ours.privateKeyPem, { mode: 0o600 });
  const vendorSigner = await keyFileSigner(vendor.privateKeyPem, 'vendor');

  const service =
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: podinfo\nspec:\n  ports: [{ port: 80 }]\n';
  await publish('podinfo', '6.5.0', vendorSigner, ['legacy', 'bundle'], { 'service.yaml': service });
  await publish('podinfo', '6.5.1', vendorSigner, ['bundle'], { 'service.yaml': service });
  await publish('redis', '18.1.0', vendorSigner, ['legacy']);
  // Signed by the vendor, but it binds cluster-admin: the scanner blocks it.
  await publish('sneaky', '0.1.0', vendorSigner, ['legacy', 'bundle'], {
    'crb.yaml':
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: sneaky\n' +
      'roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\n',
  });

  // The spec (the same fields as a mirror.yaml; relative paths resolve against baseDir).
  const verify = { key: 'vendor.pub', insecureIgnoreTlog: true };
  const spec = parseMirrorSpec(
    {
      target: { registry: 'internal.test', prefix: 'charts/vendor', plainHttp: true },
      sign: { key: 'internal.key', format: 'both' },
      scan: { block: 'high', warn: 'medium' },
      charts: [
        {
          name: 'podinfo',
          source: 'oci://upstream.test/charts/podinfo',
          versions: ['6.5.0', '~6.5.0'],
          verify,
        },
        { name: 'redis', source: 'oci://upstream.test/charts/redis', versions: ['18.1.0'], verify },
        { name: 'sneaky', source: 'oci://upstream.test/charts/sneaky', versions: ['0.1.0'], verify },
      ],
    },
    { baseDir: work },
  );

  // 1. plan: nothing is written
  for (const item of await planMirror(spec, { client }))
    console.log(`plan     ${item.action.padEnd(6)} ${item.name}-${item.version} (${item.requested})`);

  // 2. apply: verify, scan, copy with upstream signatures, sign, tag last
  const env = { COSIGN_PASSWORD: 'internal' };
  const report = await applyMirror(spec, { client, env });
  for (const r of report.results) {
    const detail =
      r.status === 'copied'
        ? `${r.signaturesCarried} upstream signature(s) carried, signed: ${Object.keys(r.internalSignature ?? {}).join('+')}`
        : r.reason;
    console.log(`apply    ${r.status.padEnd(7)} ${r.name}-${r.version}: ${detail}`);
  }
  console.log(mirrorSummaryLine(report));
  for (const r of report.results.filter((x) => x.pinned)) console.log(`pinned   ${r.pinned}`);

  // 3. what consumers check: our signature, and the vendor's, on the same digest
  const target = 'internal.test/charts/vendor/podinfo:6.5.1';
  const own = await verifyChart(client, target, { policy: { keys: [ours.publicKeyPem], tlog: 'skip' } });
  const theirs = await verifyChart(client, target, { policy: { keys: [vendor.publicKeyPem], tlog: 'skip' } });
  console.log(
    `verify   ${target}: internal key ${own.format} ok, vendor key ${theirs.format} ok, ${own.digest}`,
  );

  // 4. re-run: already there, nothing copied
  const again = await applyMirror(spec, { client, env });
  console.log(`re-run   ${mirrorSummaryLine(again)}`);
} finally {
  await client.close();
  await rm(work, { recursive: true, force: true });
}
