import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, MediaType, RegistryClient, staticCredentials } from '../../src/oci/index.js';
import { chartArtifact, pushAll } from '../helpers/content.js';
import { type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { makeTempDir, removeDir, requireTool } from '../helpers/services.js';
import { skopeoCopy, skopeoEndpoint, skopeoInspectRaw } from '../helpers/skopeo.js';

const missing =
  requireTool('docker-registry') ??
  requireTool('skopeo') ??
  requireTool('openssl') ??
  requireTool('htpasswd');

describe.skipIf(missing !== undefined)('interop with skopeo (an independent OCI client)', () => {
  let reg: StartedRegistry;
  let client: RegistryClient;
  let dir: string;

  beforeAll(async () => {
    reg = await startDockerRegistry('tls-basic');
    client = new RegistryClient({
      ca: reg.caPem!,
      credentials: staticCredentials({ [reg.host]: { username: reg.username!, password: reg.password! } }),
    });
    dir = await makeTempDir('chartproof-skopeo-');
  });
  afterAll(async () => {
    await client?.close();
    await reg?.stop();
    if (dir) removeDir(dir);
  });

  it('skopeo copies a Helm chart artifact pushed by chartproof byte for byte', async () => {
    const a = chartArtifact('podinfo', '6.5.0', 30_000);
    const repo = client.repository(`${reg.host}/charts/podinfo`);
    await pushAll(repo, [a.config, a.layer]);
    await repo.pushManifest(a.manifest.data, { tags: ['6.5.0'] });

    const raw = await skopeoInspectRaw(`docker://${reg.host}/charts/podinfo:6.5.0`, skopeoEndpoint(reg));
    expect(raw.equals(Buffer.from(a.manifest.data))).toBe(true);

    const layout = join(dir, 'layout');
    await skopeoCopy(`docker://${reg.host}/charts/podinfo:6.5.0`, `oci:${layout}:6.5.0`, {
      src: skopeoEndpoint(reg),
    });
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(a.manifest.desc.digest);
    const blobPath = (d: string) => join(layout, 'blobs', 'sha256', d.slice('sha256:'.length));
    expect(digestOf(await readFile(blobPath(a.layer.desc.digest)))).toBe(a.layer.desc.digest);
    expect(digestOf(await readFile(blobPath(a.config.desc.digest)))).toBe(a.config.desc.digest);
  });

  it('chartproof reads what skopeo pushed, with equal digests', async () => {
    const layout = join(dir, 'layout');
    await skopeoCopy(`oci:${layout}:6.5.0`, `docker://${reg.host}/from-skopeo/podinfo:6.5.0`, {
      dest: skopeoEndpoint(reg),
    });
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    const repo = client.repository(`${reg.host}/from-skopeo/podinfo`);
    const m = await repo.fetchManifest('6.5.0');
    expect(m.descriptor.digest).toBe(index.manifests[0].digest);
    expect(m.descriptor.mediaType).toBe(MediaType.OciManifest);
    const manifest = m.manifest as {
      config: { mediaType: string };
      layers: Array<{ mediaType: string; digest: `sha256:${string}`; size: number }>;
    };
    expect(manifest.config.mediaType).toBe(MediaType.HelmConfig);
    const layer = manifest.layers[0]!;
    const bytes = new Uint8Array(await new Response(await repo.fetch(layer)).arrayBuffer());
    expect(digestOf(bytes)).toBe(layer.digest);
    expect(await repo.tags()).toEqual(['6.5.0']);
  });
});
