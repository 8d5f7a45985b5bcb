import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import {
  exportToLayout,
  importFromLayout,
  MediaType,
  OciLayout,
  RegistryClient,
} from '../../src/oci/index.js';
import { pushAll, referrerOf } from '../helpers/content.js';
import { type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { makeTempDir, removeDir, requireTool } from '../helpers/services.js';
import { skopeoCopy, skopeoEndpoint, skopeoInspectRaw } from '../helpers/skopeo.js';

const missing = requireTool('docker-registry') ?? requireTool('skopeo');

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe.skipIf(missing !== undefined)(`OCI layouts interop with skopeo ${missing ?? ''}`, () => {
  let reg: StartedRegistry;
  let client: RegistryClient;
  let dir: string;
  let pushedDigest: string;
  let referrerDigest: string;

  beforeAll(async () => {
    reg = await startDockerRegistry('plain');
    client = new RegistryClient({ plainHttp: true });
    dir = await makeTempDir('chartproof-layout-skopeo-');
    const archive = new Uint8Array(20_000).map((_, i) => (i * 7) % 251);
    const pushed = await pushChart(
      client,
      archive,
      { apiVersion: 'v2', name: 'demo', version: '0.1.0' },
      `oci://${reg.host}/charts`,
    );
    pushedDigest = pushed.digest;
    // a signature-like OCI 1.1 referrer (distribution 2.8: stored through the referrers tag)
    const repo = client.repository(`${reg.host}/charts/demo`);
    const sig = referrerOf(await repo.resolve('0.1.0'), MediaType.SigstoreBundleV03);
    await pushAll(repo, [sig.empty, sig.layer]);
    await repo.pushManifest(sig.manifest.data);
    referrerDigest = sig.manifest.desc.digest;
  });
  afterAll(async () => {
    await client?.close();
    await reg?.stop();
    if (dir) removeDir(dir);
  });

  it('skopeo reads a layout chartproof exported, with the same manifest digest', async () => {
    const layoutDir = join(dir, 'exported');
    const [result] = await exportToLayout(client.repository(`${reg.host}/charts/demo`), ['0.1.0'], layoutDir);
    expect(result!.descriptor.digest).toBe(pushedDigest);
    expect(result!.referrers.map((d) => d.digest)).toEqual([referrerDigest]);
    // the referrer is an untagged index.json entry; skopeo still picks the tagged one
    const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8'));
    expect(index.manifests.map((d: { digest: string }) => d.digest).sort()).toEqual(
      [pushedDigest, referrerDigest].sort(),
    );

    const layoutRaw = await skopeoInspectRaw(`oci:${layoutDir}:0.1.0`);
    expect(sha256(layoutRaw)).toBe(pushedDigest);
    await skopeoCopy(`oci:${layoutDir}:0.1.0`, `docker://${reg.host}/other/demo:0.1.0`, {
      dest: skopeoEndpoint(reg),
      extra: ['--preserve-digests'],
    });
    const raw = await skopeoInspectRaw(`docker://${reg.host}/other/demo:0.1.0`, skopeoEndpoint(reg));
    expect(sha256(raw)).toBe(pushedDigest);
    const original = await skopeoInspectRaw(`docker://${reg.host}/charts/demo:0.1.0`, skopeoEndpoint(reg));
    expect(raw.equals(original)).toBe(true);
  });

  it('chartproof imports a layout skopeo wrote, with the same manifest digest', async () => {
    const layoutDir = join(dir, 'from-skopeo');
    await skopeoCopy(`docker://${reg.host}/charts/demo:0.1.0`, `oci:${layoutDir}:0.1.0`, {
      src: skopeoEndpoint(reg),
      extra: ['--preserve-digests'],
    });
    const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8'));
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('0.1.0');

    const layout = await OciLayout.open(layoutDir);
    expect(await layout.tags()).toEqual(['0.1.0']);
    expect((await layout.resolve('0.1.0')).digest).toBe(pushedDigest);

    const dst = client.repository(`${reg.host}/imported/demo`);
    const [result] = await importFromLayout(layoutDir, dst, ['0.1.0']);
    expect(result!.descriptor.digest).toBe(pushedDigest);
    const raw = await skopeoInspectRaw(`docker://${reg.host}/imported/demo:0.1.0`, skopeoEndpoint(reg));
    expect(sha256(raw)).toBe(pushedDigest);
  });
});
