import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { MediaType } from '../../src/oci/index.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { captureIo } from '../helpers/cli-io.js';
import { blob, manifest, pushAll } from '../helpers/content.js';

/** An image-like artifact (OCI image manifest with one layer). */
function image(seed: string) {
  const config = blob(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }), MediaType.OciConfig);
  const layer = blob(`layer of ${seed}`, 'application/vnd.oci.image.layer.v1.tar+gzip');
  return { config, layer, manifest: manifest(config.desc, [layer.desc]) };
}

describe('chartproof verify-images', () => {
  let registry: MemoryRegistry;
  let server: { host: string; close(): Promise<void> };
  let dir: string;
  const env = () => ({ HOME: dir, COSIGN_PASSWORD: 'pw' });
  const digests: Record<string, string> = {};

  beforeAll(async () => {
    registry = new MemoryRegistry();
    server = await registry.listen();
    dir = mkdtempSync(join(tmpdir(), 'cp-vimg-'));
    for (const name of ['good', 'bad']) {
      const a = image(name);
      const store = registry.repository(`apps/${name}`);
      await pushAll(store, [a.config, a.layer, a.manifest]);
      await store.tag(a.manifest.desc, '1.0');
      digests[name] = a.manifest.desc.digest;
    }
    const keygen = captureIo('', env());
    expect(await run(['keygen', '--output-key-prefix', join(dir, 'cosign')], keygen.io)).toBe(0);
    const sign = captureIo('', env());
    const code = await run(
      ['--plain-http', 'sign', '--key', join(dir, 'cosign.key'), `${server.host}/apps/good:1.0`],
      sign.io,
    );
    expect(code, sign.err()).toBe(0);
    const chart = join(dir, 'app');
    mkdirSync(join(chart, 'templates'), { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: app\nversion: 1.0.0\n');
    writeFileSync(join(chart, 'values.yaml'), `registry: ${server.host}\nsidecar: true\n`);
    writeFileSync(
      join(chart, 'templates', 'deploy.yaml'),
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {{ .Values.registry }}/apps/good:1.0\n        {{- if .Values.sidecar }}\n        - name: sidecar\n          image: {{ .Values.registry }}/apps/bad:1.0\n        {{- end }}\n',
    );
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const verifyArgs = () => [
    '--plain-http',
    'verify-images',
    join(dir, 'app'),
    '--key',
    join(dir, 'cosign.pub'),
    '--insecure-ignore-tlog',
  ];

  it('pins the signed image and fails on the unsigned sidecar (exit 1)', async () => {
    const c = captureIo('', env());
    const code = await run(verifyArgs(), c.io);
    expect(code, c.err()).toBe(1);
    expect(c.out()).toContain(`OK   ${server.host}/apps/good@${digests.good}\n`);
    expect(c.out()).toMatch(new RegExp(`FAIL ${server.host}/apps/bad:1\\.0: .*no signatures`));
  });

  it('passes when every rendered image is signed (the sidecar turned off), with --json', async () => {
    const c = captureIo('', env());
    const code = await run(['--json', ...verifyArgs(), '--set', 'sidecar=false'], c.io);
    expect(code, c.err()).toBe(0);
    const out = JSON.parse(c.out());
    expect(out).toMatchObject({ verified: 1, failed: 0 });
    expect(out.images[0]).toMatchObject({ verified: true, digest: digests.good });
  });
});
