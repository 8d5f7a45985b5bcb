// Mirroring a chart together with the images it deploys, on in-memory registries: the
// images are copied whole (every platform, same digests, their signatures), signed with
// the internal key, and a values overlay (values-internal.yaml) is stored next to the
// mirrored chart. Installing with that overlay deploys only internal images.
//
//   npm run build && node examples/mirror-images.mjs
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadChartArchive, packageChart, pullChart, pushChart } from '../dist/chart.js';
import { applyMirror, fetchValuesOverlays, mirrorSummaryLine, parseMirrorSpec } from '../dist/mirror.js';
import { digestOf, RegistryClient } from '../dist/oci.js';
import { parseManifests, renderChart } from '../dist/render.js';
import { generateKeyPair, keyFileSigner, signBundle, signLegacy } from '../dist/sign.js';
import { MemoryRegistry } from '../dist/testing.js';
import { listImages } from '../dist/workloads.js';

const work = await mkdtemp(join(tmpdir(), 'chartproof-mirror-images-'));
// The public "upstream.test" and the company's "internal.test" (without the referrers
// API: the overlay and signatures are found through the tag fallback).
const upstream = new MemoryRegistry();
const internal = new MemoryRegistry({ referrersApi: false });
const fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  return (url.host === 'internal.test' ? internal : upstream).fetch(input, init);
};
const client = new RegistryClient({ fetch, plainHttp: true });
const json = (value) => new TextEncoder().encode(JSON.stringify(value));

/** Pushes a linux/amd64 + linux/arm64 image as an OCI index and signs it like the vendor. */
async function publishImage(path, tag, signer) {
  const repo = client.repository(`upstream.test/${path}`);
  const blob = async (mediaType, bytes) => {
    const desc = { mediaType, digest: digestOf(bytes), size: bytes.byteLength };
    await repo.push(desc, bytes);
    return desc;
  };
  const manifests = [];
  for (const architecture of ['amd64', 'arm64']) {
    const config = await blob(
      'application/vnd.oci.image.config.v1+json',
      json({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    );
    const layer = await blob('application/vnd.oci.image.layer.v1.tar', json(`${path} for ${architecture}`));
    const mediaType = 'application/vnd.oci.image.manifest.v1+json';
    const manifest = await repo.pushManifest(json({ schemaVersion: 2, mediaType, config, layers: [layer] }));
    manifests.push({ ...manifest, platform: { os: 'linux', architecture } });
  }
  const mediaType = 'application/vnd.oci.image.index.v1+json';
  const index = await repo.pushManifest(json({ schemaVersion: 2, mediaType, manifests }), { tags: [tag] });
  await signLegacy(repo, index, signer);
  await signBundle(repo, index, signer);
  return index.digest;
}

try {
  const vendor = await generateKeyPair({ password: 'vendor' });
  const ours = await generateKeyPair({ password: 'internal' });
  await writeFile(join(work, 'internal.key'), ours.privateKeyPem, { mode: 0o600 });
  await writeFile(join(work, 'vendor.pub'), vendor.publicKeyPem);
  const vendorSigner = await keyFileSigner(vendor.privateKeyPem, 'vendor');

  // 1. Upstream: two images, and a chart that deploys them. Its values name one image
  //    as registry/repository/tag, the other as a full reference pinned by digest.
  await publishImage('acme/web', '1.4.2', vendorSigner);
  const exporter = await publishImage('acme/exporter', '0.9.0', vendorSigner);
  const chartDir = join(work, 'web');
  await mkdir(join(chartDir, 'templates'), { recursive: true });
  await writeFile(join(chartDir, 'Chart.yaml'), 'apiVersion: v2\nname: web\nversion: 1.4.2\n');
  await writeFile(
    join(chartDir, 'values.yaml'),
    `image:\n  registry: upstream.test\n  repository: acme/web\n  tag: "1.4.2"\n` +
      `metrics:\n  image: upstream.test/acme/exporter:0.9.0@${exporter}\n`,
  );
  await writeFile(
    join(chartDir, 'templates', 'deployment.yaml'),
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: "{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        - name: metrics
          image: {{ .Values.metrics.image | quote }}
`,
  );
  const { path } = await packageChart(chartDir, { destination: work, sourceDateEpoch: 1_700_000_000 });
  await pushChart(
    client,
    await readFile(path),
    { apiVersion: 'v2', name: 'web', version: '1.4.2' },
    'oci://upstream.test/charts',
  );

  // 2. The spec: `images` mirrors every image the chart renders (under <target
  //    prefix>/images), each verified first against the vendor's key (no transparency
  //    log in this offline example); `images: true` takes the defaults.
  const spec = parseMirrorSpec(
    {
      target: { registry: 'internal.test', prefix: 'charts/vendor', plainHttp: true },
      sign: { key: 'internal.key' },
      images: { verify: { key: 'vendor.pub', insecureIgnoreTlog: true } },
      charts: [{ name: 'web', source: 'oci://upstream.test/charts/web', versions: ['1.4.2'] }],
    },
    { baseDir: work },
  );

  // 3. Apply: images first (whole, signed, tagged), then the overlay and the chart, tagged last.
  const report = await applyMirror(spec, { client, env: { COSIGN_PASSWORD: 'internal' } });
  for (const r of report.results) {
    console.log(`chart    ${r.status.padEnd(7)} ${r.name}-${r.version} -> ${r.pinned ?? r.reason}`);
    for (const i of r.images ?? []) {
      const signed = Object.keys(i.internalSignature ?? {}).join('+') || 'no';
      console.log(`image    ${i.status.padEnd(7)} ${i.source} -> ${i.pinned ?? i.reason}`);
      console.log(`         ${i.signaturesCarried} upstream signature(s) carried, signed: ${signed}`);
      console.log(`         upstream signature verified: ${i.verification?.verified === true}`);
    }
  }
  console.log(mirrorSummaryLine(report));

  // 4. The overlay stored next to the mirrored chart, as a user would fetch it: only one
  //    signed with the internal key counts (`chartproof mirror overlay REF --key internal.pub`).
  const chartRef = 'internal.test/charts/vendor/web:1.4.2';
  const [overlay] = await fetchValuesOverlays(client, chartRef, {
    policy: { keys: [ours.publicKeyPem], tlog: 'skip' },
  });
  await writeFile(join(work, 'values-internal.yaml'), overlay.yaml);
  console.log(
    `overlay  ${overlay.digest} (values-internal.yaml), signature verified: ${overlay.verified?.format}`,
  );
  for (const line of overlay.yaml.trimEnd().split('\n')) console.log(`  ${line}`);

  // 5. "Install": render the mirrored chart with the overlay, as `helm template` would
  //    (the integration tests run the real `helm install --dry-run=client` this way).
  const pulled = await pullChart(client, 'oci://internal.test/charts/vendor/web', { version: '1.4.2' });
  const chart = await loadChartArchive(pulled.archive);
  const text = await readFile(join(work, 'values-internal.yaml'), 'utf8');
  const rendered = renderChart(chart, {
    releaseName: 'web',
    values: { valueFiles: [{ name: 'values-internal.yaml', text }] },
  });
  for (const img of listImages(parseManifests(rendered.text)).images)
    console.log(`deploys  ${img.normalized}`);
  console.log(
    `$ helm install web oci://internal.test/charts/vendor/web --version 1.4.2 -f values-internal.yaml`,
  );
} finally {
  await client.close();
  await rm(work, { recursive: true, force: true });
}
