import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { MediaType } from '../../src/oci/index.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { captureIo } from '../helpers/cli-io.js';
import { blob, imageIndex, manifest, pushAll } from '../helpers/content.js';

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
    // An image signed only with a legacy `sha256-<hex>.sig` tag, and a multi-platform index.
    const legacy = image('legacy');
    const legacyStore = registry.repository('apps/legacy');
    await pushAll(legacyStore, [legacy.config, legacy.layer, legacy.manifest]);
    await legacyStore.tag(legacy.manifest.desc, '1.0');
    digests.legacy = legacy.manifest.desc.digest;
    const multi = imageIndex('multi');
    const multiStore = registry.repository('apps/multi');
    await pushAll(multiStore, [...multi.parts, multi.index]);
    await multiStore.tag(multi.index.desc, '1.0');
    digests.multi = multi.index.desc.digest;
    for (const [ref, format] of [
      ['apps/legacy:1.0', 'legacy'],
      ['apps/multi:1.0', 'bundle'],
    ]) {
      const s = captureIo('', env());
      const signed = await run(
        [
          '--plain-http',
          'sign',
          '--key',
          join(dir, 'cosign.key'),
          '--format',
          format!,
          `${server.host}/${ref}`,
        ],
        s.io,
      );
      expect(signed, s.err()).toBe(0);
    }
    // A chart whose images are a values list: `--set-json images=[…]`.
    const list = join(dir, 'list');
    mkdirSync(join(list, 'templates'), { recursive: true });
    writeFileSync(join(list, 'Chart.yaml'), 'apiVersion: v2\nname: list\nversion: 1.0.0\n');
    writeFileSync(join(list, 'values.yaml'), 'images: []\n');
    writeFileSync(
      join(list, 'templates', 'pod.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: list\nspec:\n  containers:\n{{- range $i, $image := .Values.images }}\n    - name: c{{ $i }}\n      image: {{ $image }}\n{{- end }}\n',
    );
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

  it('verify then verify-images of the pinned chart: the images of the chart verified, whatever the tag says later', async () => {
    const pkg = captureIo('', env());
    expect(await run(['package', join(dir, 'app'), '-d', dir], pkg.io), pkg.err()).toBe(0);
    const push = captureIo('', env());
    const pushArgs = ['--plain-http', 'push', join(dir, 'app-1.0.0.tgz'), `oci://${server.host}/charts`];
    expect(await run(pushArgs, push.io), push.err()).toBe(0);
    const sign = captureIo('', env());
    expect(
      await run(
        ['--plain-http', 'sign', '--key', join(dir, 'cosign.key'), `${server.host}/charts/app:1.0.0`],
        sign.io,
      ),
      sign.err(),
    ).toBe(0);
    const verify = captureIo('', env());
    const verified = await run(
      [
        '--plain-http',
        'verify',
        `${server.host}/charts/app:1.0.0`,
        '--key',
        join(dir, 'cosign.pub'),
        '--insecure-ignore-tlog',
      ],
      verify.io,
    );
    expect(verified, verify.err()).toBe(0);
    const pinned = JSON.parse(verify.out()).pinned as string;
    expect(pinned).toMatch(new RegExp(`^${server.host}/charts/app@sha256:[0-9a-f]{64}$`));
    // The tag moves to another chart (a sidecar-free build) after the verification.
    writeFileSync(join(dir, 'app', 'values.yaml'), `registry: ${server.host}\nsidecar: false\n`);
    try {
      const again = captureIo('', env());
      expect(await run(['package', join(dir, 'app'), '-d', join(dir, 'moved')], again.io)).toBe(0);
      const moved = captureIo('', env());
      expect(
        await run(
          ['--plain-http', 'push', join(dir, 'moved', 'app-1.0.0.tgz'), `oci://${server.host}/charts`],
          moved.io,
        ),
        moved.err(),
      ).toBe(0);
    } finally {
      writeFileSync(join(dir, 'app', 'values.yaml'), `registry: ${server.host}\nsidecar: true\n`);
    }
    const byPin = captureIo('', env());
    const args = (ref: string) => [
      '--plain-http',
      'verify-images',
      ref,
      '--key',
      join(dir, 'cosign.pub'),
      '--insecure-ignore-tlog',
    ];
    expect(await run(args(`oci://${pinned}`), byPin.io), byPin.err()).toBe(1);
    expect(byPin.out()).toMatch(new RegExp(`FAIL ${server.host}/apps/bad:1\\.0: `));
    const byTag = captureIo('', env());
    expect(await run([...args(`oci://${server.host}/charts/app`), '--version', '1.0.0'], byTag.io)).toBe(0);
    expect(byTag.out()).toBe(`OK   ${server.host}/apps/good@${digests.good}\n`);
  });

  /** `verify-images` of the `list` chart running `images` (repositories under the server). */
  const verifyList = (images: string[], ...extra: string[]) => [
    '--json',
    '--plain-http',
    'verify-images',
    join(dir, 'list'),
    '--set-json',
    `images=${JSON.stringify(images.map((i) => `${server.host}/${i}`))}`,
    '--key',
    join(dir, 'cosign.pub'),
    '--insecure-ignore-tlog',
    ...extra,
  ];

  it('verifies an image signed only in the legacy format; --format bundle rejects it (exit 1)', async () => {
    const c = captureIo('', env());
    expect(await run(verifyList(['apps/legacy:1.0']), c.io), c.err()).toBe(0);
    expect(JSON.parse(c.out())).toEqual({
      images: [
        {
          image: `${server.host}/apps/legacy:1.0`,
          verified: true,
          pinned: `${server.host}/apps/legacy@${digests.legacy}`,
          digest: digests.legacy,
          format: 'legacy',
        },
      ],
      verified: 1,
      failed: 0,
    });
    const b = captureIo('', env());
    expect(await run(verifyList(['apps/legacy:1.0'], '--format', 'bundle'), b.io), b.err()).toBe(1);
    expect(JSON.parse(b.out())).toMatchObject({
      images: [{ verified: false, error: { code: 'SIGNATURE_NOT_FOUND' } }],
      verified: 0,
      failed: 1,
    });
  });

  it('pins a multi-platform image to its index digest, and keeps a reference pinned by digest', async () => {
    const c = captureIo('', env());
    const code = await run(verifyList(['apps/multi:1.0', `apps/good@${digests.good}`]), c.io);
    expect(code, c.err()).toBe(0);
    const out = JSON.parse(c.out());
    expect(out.images.map((i: { pinned: string }) => i.pinned)).toEqual([
      `${server.host}/apps/good@${digests.good}`,
      `${server.host}/apps/multi@${digests.multi}`,
    ]);
    expect(out.images[1]).toMatchObject({ digest: digests.multi, format: 'bundle' });
  });

  it('lists each image once, sorted, and fails on the unsigned one (exit 1)', async () => {
    const c = captureIo('', env());
    const refs = ['apps/legacy:1.0', 'apps/bad:1.0', 'apps/legacy:1.0', 'apps/bad:1.0'];
    const code = await run(verifyList(refs), c.io);
    expect(code, c.err()).toBe(1);
    const out = JSON.parse(c.out());
    expect(out.images.map((i: { image: string }) => i.image)).toEqual([
      `${server.host}/apps/bad:1.0`,
      `${server.host}/apps/legacy:1.0`,
    ]);
    expect(out).toMatchObject({ verified: 1, failed: 1 });
    expect(out.images[0]).toEqual({
      image: `${server.host}/apps/bad:1.0`,
      verified: false,
      error: { code: 'SIGNATURE_NOT_FOUND', message: expect.stringMatching(/no signatures found/) },
    });
  });

  it('exits 3 when the registry fails to answer for an image', async () => {
    registry.failNext({ status: 403, path: /^\/v2\/apps\/legacy\/manifests\/1\.0$/ });
    try {
      const c = captureIo('', env());
      const code = await run(verifyList(['apps/legacy:1.0', 'apps/bad:1.0']), c.io);
      expect(code, c.err()).toBe(3);
      const out = JSON.parse(c.out());
      expect(out.images[1]).toMatchObject({ verified: false, error: { code: 'DENIED' } });
    } finally {
      registry.clearFaults();
    }
  });

  it('refuses a chart that runs more than 500 images before any request (exit 2)', async () => {
    const refs = Array.from({ length: 501 }, (_, i) => `apps/img${i}:1.0`);
    const before = registry.requests.length;
    const c = captureIo('', env());
    const code = await run(verifyList(refs), c.io);
    expect(code).toBe(2);
    expect(JSON.parse(c.err().trim().split('\n').at(-1)!)).toMatchObject({
      error: { code: 'SIZE_LIMIT_EXCEEDED', source: 'local' },
    });
    expect(registry.requests.length).toBe(before);
  });
});
