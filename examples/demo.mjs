// chartproof demo: runs against the in-memory OCI registry, no setup needed.
//
//   npm run demo
//
// 1. pushes a Helm-chart-shaped artifact and a signature-like referrer,
// 2. copies both into another repository (digests preserved, tag written last),
// 3. lists tags and referrers with the CLI over real HTTP,
// 4. shows that tampered content is refused.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { copy, digestOf, formatReference, MediaType, RegistryClient } from '../dist/oci.js';
import { MemoryRegistry } from '../dist/testing.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const enc = new TextEncoder();
const describe = (data, mediaType) => ({ mediaType, digest: digestOf(data), size: data.byteLength });

const registry = new MemoryRegistry();
const server = await registry.listen();
const client = new RegistryClient({ plainHttp: true });
try {
  console.log(`in-memory registry listening at ${server.url}\n`);

  // 1. push: blobs first, then the manifest by digest, the tag last
  const source = client.repository(`${server.host}/upstream/podinfo`);
  const config = enc.encode(JSON.stringify({ apiVersion: 'v2', name: 'podinfo', version: '6.5.0' }));
  const chart = enc.encode('pretend this is podinfo-6.5.0.tgz');
  const configDesc = describe(config, MediaType.HelmConfig);
  const chartDesc = describe(chart, MediaType.HelmChartContent);
  await source.push(configDesc, config);
  await source.push(chartDesc, chart);
  const manifest = enc.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: configDesc,
      layers: [chartDesc],
    }),
  );
  const subject = await source.pushManifest(manifest, { tags: ['6.5.0'] });
  console.log(`pushed   ${source.name}:6.5.0 -> ${subject.digest}`);

  const empty = enc.encode('{}');
  const bundle = enc.encode('{"pretend":"sigstore bundle"}');
  const emptyDesc = describe(empty, MediaType.OciEmpty);
  const bundleDesc = describe(bundle, MediaType.SigstoreBundleV03);
  await source.push(emptyDesc, empty);
  await source.push(bundleDesc, bundle);
  const sig = await source.pushManifest(
    enc.encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        artifactType: MediaType.SigstoreBundleV03,
        config: emptyDesc,
        layers: [bundleDesc],
        subject,
      }),
    ),
  );
  console.log(`attached a referrer ${sig.digest}`);

  // 2. copy with referrers
  const mirror = client.repository(`${server.host}/internal/podinfo`);
  const result = await copy(source, '6.5.0', mirror, '6.5.0', {
    referrers: true,
    onProgress: (e) =>
      console.log(`  ${e.type.padEnd(8)} ${e.descriptor.mediaType} ${e.descriptor.digest.slice(0, 19)}…`),
  });
  const pinned = formatReference({ ...mirror.reference, tag: '6.5.0', digest: result.descriptor.digest });
  console.log(`copied   -> ${pinned}  (same digest: ${result.descriptor.digest === subject.digest})\n`);

  // 3. the CLI, over HTTP
  // The CLI runs as a separate process; this one keeps serving the registry meanwhile.
  const run = async (...args) =>
    (await promisify(execFile)(process.execPath, [cli, '--plain-http', ...args], { encoding: 'utf8' }))
      .stdout;
  console.log(
    `$ chartproof tags ${server.host}/internal/podinfo\n${await run('tags', `${server.host}/internal/podinfo`)}`,
  );
  const refs = JSON.parse(await run('referrers', `${server.host}/internal/podinfo:6.5.0`));
  console.log(
    `$ chartproof referrers ${server.host}/internal/podinfo:6.5.0\n  ${refs.manifests.length} referrer(s): ${refs.manifests.map((d) => d.artifactType).join(', ')}\n`,
  );

  // 4. tampering is detected
  const evil = new RegistryClient({
    fetch: async (input, init) => {
      const res = await registry.fetch(input, init);
      if (!String(input).includes('/blobs/') || res.status !== 200) return res;
      return new Response(enc.encode('pretend this is a BACKDOORED .tgz'), { status: 200 });
    },
    plainHttp: true,
  });
  try {
    const stream = await evil.repository(`${server.host}/internal/podinfo`).fetch(chartDesc);
    await new Response(stream).arrayBuffer();
    console.log('tampered content was accepted (this must not happen)');
    process.exitCode = 1;
  } catch (err) {
    console.log(`tampered blob refused: ${err.code}: ${err.message}`);
  }
} finally {
  await client.close();
  await server.close();
}
