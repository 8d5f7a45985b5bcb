import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import { generateKeyPair, keyFileSigner } from '../../src/keys/keys.js';
import { AIRGAP_MANIFEST_FILE, type AirgapManifest, exportMirror } from '../../src/mirror/airgap.js';
import { importMirror } from '../../src/mirror/airgap-import.js';
import { imageLayoutPath } from '../../src/mirror/airgap-images.js';
import { applyMirror } from '../../src/mirror/apply.js';
import { fetchValuesOverlays } from '../../src/mirror/images.js';
import { type MirrorSpec, parseMirrorSpec } from '../../src/mirror/spec.js';
import type { Descriptor } from '../../src/oci/index.js';
import { OciLayout } from '../../src/oci/layout.js';
import { signLegacy } from '../../src/sign/legacy.js';
import { signBundle } from '../../src/sign/referrer.js';
import { verifyChart } from '../../src/verify/chart.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { imageIndex } from '../helpers/content.js';
import { type ListeningFixture, listeningFixture } from '../helpers/registry.js';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        - name: sidecar
          image: {{ .Values.sidecar.image | quote }}
`;

describe('mirror export/import with images (in-memory registries on loopback)', () => {
  let up: ListeningFixture;
  let direct: ListeningFixture;
  let gap: ListeningFixture;
  let dir: string;
  let upKeys: { privateKeyPem: string; publicKeyPem: string };
  let inKeys: { privateKeyPem: string; publicKeyPem: string };
  const images: Record<string, Descriptor> = {};
  const env = { COSIGN_PASSWORD: 'in' };

  async function pushImage(path: string, tag: string, how: 'legacy' | 'bundle' | 'none', shared: Uint8Array) {
    const img = imageIndex(path, { layerBytes: 4096, shared });
    const repo = up.client.repository(`${up.server.host}/${path}`);
    for (const p of img.parts) await repo.push(p.desc, p.data);
    const desc = await repo.pushManifest(img.index.data, { tags: [tag] });
    const signer = await keyFileSigner(upKeys.privateKeyPem, 'up');
    if (how === 'legacy') await signLegacy(repo, desc, signer);
    if (how === 'bundle') await signBundle(repo, desc, signer);
    images[`${path}:${tag}`] = desc;
  }

  beforeAll(async () => {
    up = await listeningFixture();
    direct = await listeningFixture();
    gap = await listeningFixture();
    dir = mkdtempSync(join(tmpdir(), 'cp-airgap-images-'));
    upKeys = await generateKeyPair({ password: 'up' });
    inKeys = await generateKeyPair({ password: 'in' });
    writeFileSync(join(dir, 'up.pub'), upKeys.publicKeyPem);
    writeFileSync(join(dir, 'in.key'), inKeys.privateKeyPem);
    const base = new Uint8Array(8192).fill(7);
    await pushImage('team/app', '1.0', 'legacy', base);
    await pushImage('team/sidecar', '2.0', 'bundle', base);
    await pushImage('team/unsigned', '1.0', 'none', base);
    const values = (sidecar: string) =>
      `image:\n  registry: ${up.server.host}\n  repository: team/app\n  tag: "1.0"\nsidecar:\n  image: ${up.server.host}/${sidecar}\n`;
    for (const [version, sidecar] of [
      ['1.0.0', 'team/sidecar:2.0'],
      ['2.0.0', 'team/unsigned:1.0'],
    ] as const) {
      const archive = await makeChartArchive('web', version, {
        'templates/deploy.yaml': DEPLOYMENT,
        'values.yaml': values(sidecar),
      });
      await pushChart(
        up.client,
        archive,
        { name: 'web', version, apiVersion: 'v2' },
        `oci://${up.server.host}/charts`,
      );
    }
  });

  afterAll(async () => {
    await up?.close();
    await direct?.close();
    await gap?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function spec(host: string, prefix: string, extra: Record<string, unknown> = {}): MirrorSpec {
    return parseMirrorSpec({
      target: { registry: host, prefix, plainHttp: true },
      images: { verify: { key: join(dir, 'up.pub'), insecureIgnoreTlog: true } },
      sign: { key: join(dir, 'in.key') },
      charts: [{ name: 'web', source: `oci://${up.server.host}/charts/web`, versions: ['1.0.0'] }],
      ...extra,
    });
  }
  const client = () => up.client;
  const writes = (f: ListeningFixture) =>
    f.registry.requests.filter((q) => q.method !== 'GET' && q.method !== 'HEAD').length;
  const manifestOf = (out: string) =>
    JSON.parse(readFileSync(join(out, AIRGAP_MANIFEST_FILE), 'utf8')) as AirgapManifest;

  it('export + import gives the digests of a direct apply, the overlay artifact, signatures; re-import skips', async () => {
    const applied = await applyMirror(spec(direct.server.host, 'mirror'), { client: client(), env });
    expect(applied.results[0]!.status, applied.results[0]!.reason).toBe('copied');

    // The exporting spec's target (the direct one) already holds the chart and its images:
    // export still writes all of them.
    const out = join(dir, 'export1');
    const exported = await exportMirror(spec(direct.server.host, 'mirror'), out, { client: client() });
    expect(exported.results[0]!.status, exported.results[0]!.reason).toBe('copied');
    expect(exported.summary.images).toEqual({ copied: 2, skipped: 0, refused: 0, failed: 0 });
    const entry = manifestOf(out).entries[0]!;
    expect(entry.images?.map((i) => [i.source, i.digest, i.layout, i.tag])).toEqual([
      [
        `${up.server.host}/team/app:1.0`,
        images['team/app:1.0']!.digest,
        imageLayoutPath(`${up.server.host}/team/app`),
        '1.0',
      ],
      [
        `${up.server.host}/team/sidecar:2.0`,
        images['team/sidecar:2.0']!.digest,
        imageLayoutPath(`${up.server.host}/team/sidecar`),
        '2.0',
      ],
    ]);
    expect(entry.images!.every((i) => i.signatures === 1 && i.verification?.verified)).toBe(true);
    expect(entry.overlay?.prefix).toBe(`${direct.server.host}/mirror/images`);
    // A plain OCI layout per image repository, tagged with the upstream tag, every platform in it.
    const appLayout = await OciLayout.open(join(out, entry.images![0]!.layout));
    expect(await appLayout.tags()).toContain('1.0');
    const index = await appLayout.resolve('1.0');
    expect(index.digest).toBe(images['team/app:1.0']!.digest);

    const imported = await importMirror(spec(gap.server.host, 'mirror'), out, { client: client(), env });
    const r = imported.results[0]!;
    expect(r.status, r.reason).toBe('copied');
    expect(r.digest).toBe(applied.results[0]!.digest);
    expect(r.images?.map((i) => [i.status, i.digest])).toEqual(
      applied.results[0]!.images?.map((i) => [i.status, i.digest]),
    );
    expect(imported.summary.images).toEqual({ copied: 2, skipped: 0, refused: 0, failed: 0 });
    expect(r.images!.every((i) => i.signaturesCarried === 1 && i.internalSignature?.legacy)).toBe(true);

    for (const [path, tag] of [
      ['team/app', '1.0'],
      ['team/sidecar', '2.0'],
    ] as const) {
      const target = `${gap.server.host}/mirror/images/${path}`;
      const fetched = await client().repository(target).fetchManifest(tag);
      expect(fetched.descriptor.digest).toBe(images[`${path}:${tag}`]!.digest);
      for (const m of fetched.manifest.manifests as Descriptor[])
        expect(await client().repository(target).exists(m)).toBe(true);
      for (const key of [upKeys, inKeys])
        await expect(
          verifyChart(client(), `${target}@${fetched.descriptor.digest}`, {
            policy: { keys: [key.publicKeyPem], tlog: 'skip' },
          }),
        ).resolves.toBeTruthy();
    }
    // The overlay artifact next to the imported chart, computed for the importing target.
    const overlays = await fetchValuesOverlays(client(), `${gap.server.host}/mirror/web:1.0.0`);
    expect(overlays).toHaveLength(1);
    expect(overlays[0]!.digest).toBe(r.overlay?.digest);
    expect(overlays[0]!.prefix).toBe(`${gap.server.host}/mirror/images`);
    expect(overlays[0]!.yaml).toBe(
      applied.results[0]!.overlay!.yaml.replaceAll(direct.server.host, gap.server.host),
    );
    expect(overlays[0]!.images.map((i) => i.digest)).toEqual(r.images!.map((i) => i.digest));

    // Re-import: everything skipped, nothing written.
    const before = writes(gap);
    const again = await importMirror(spec(gap.server.host, 'mirror'), out, { client: client(), env });
    expect(again.results[0]!.status, again.results[0]!.reason).toBe('skipped');
    expect(again.summary.images).toEqual({ copied: 0, skipped: 2, refused: 0, failed: 0 });
    expect(again.results[0]!.overlay?.digest).toBe(r.overlay?.digest);
    expect(writes(gap)).toBe(before);
  });

  it('is reproducible: the same export twice gives the same tar bytes', async () => {
    const a = join(dir, 'repro-a.tar');
    const b = join(dir, 'repro-b.tar');
    // An unreachable target: export never consults it, for charts or images.
    for (const file of [a, b]) {
      const r = await exportMirror(spec('127.0.0.1:9', 'x'), file, { client: client() });
      expect(r.summary.images).toEqual({ copied: 2, skipped: 0, refused: 0, failed: 0 });
    }
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    // The platform manifests, pushed concurrently, are listed in a canonical order.
    const out = join(dir, 'repro-dir');
    await exportMirror(spec('127.0.0.1:9', 'x'), out, { client: client() });
    const index = JSON.parse(
      readFileSync(join(out, imageLayoutPath(`${up.server.host}/team/app`), 'index.json'), 'utf8'),
    ) as { manifests: Descriptor[] };
    const untagged = index.manifests.filter((d) => !d.annotations).map((d) => d.digest);
    expect(untagged).toHaveLength(2);
    expect(untagged).toEqual([...untagged].sort());
  });

  it('refuses at export a chart whose image is unsigned upstream, as apply does, and exports nothing of it', async () => {
    const out = join(dir, 'export-unsigned');
    const r = await exportMirror(
      spec('127.0.0.1:9', 'x', {
        charts: [{ name: 'web', source: `oci://${up.server.host}/charts/web`, versions: ['2.0.0'] }],
      }),
      out,
      { client: client() },
    );
    expect(r.results[0]!.status).toBe('refused');
    expect(r.results[0]!.reason).toMatch(/image .*team\/unsigned:1\.0: upstream signature/);
    expect(manifestOf(out).entries).toEqual([]);
  });

  async function exportOnce(name: string): Promise<string> {
    const out = join(dir, name);
    const r = await exportMirror(spec('127.0.0.1:9', 'x'), out, { client: client() });
    expect(r.results[0]!.status, r.results[0]!.reason).toBe('copied');
    return out;
  }

  async function expectNothingWritten(prefix: string, run: () => Promise<unknown>): Promise<void> {
    const before = writes(gap);
    await run();
    expect(writes(gap)).toBe(before);
    expect(gap.registry.repositories().filter((n) => n.startsWith(`${prefix}/`))).toEqual([]);
  }

  it('refuses a tampered image blob, writing nothing', async () => {
    const out = await exportOnce('export-tampered');
    const entry = manifestOf(out).entries[0]!;
    const layoutDir = join(out, entry.images![1]!.layout);
    const layout = await OciLayout.open(layoutDir);
    const index = JSON.parse(
      readFileSync(join(layoutDir, 'blobs', 'sha256', (await layout.resolve('2.0')).digest.slice(7)), 'utf8'),
    );
    const arm = JSON.parse(
      readFileSync(join(layoutDir, 'blobs', 'sha256', index.manifests[1].digest.slice(7)), 'utf8'),
    );
    const layer = join(layoutDir, 'blobs', 'sha256', arm.layers.at(-1).digest.slice(7));
    const bytes = readFileSync(layer);
    bytes[bytes.length - 1] ^= 0xff; // same size, other content
    writeFileSync(layer, bytes);

    await expectNothingWritten('tampered', async () => {
      const r = await importMirror(spec(gap.server.host, 'tampered'), out, { client: client(), env });
      expect(r.summary).toMatchObject({ copied: 0, refused: 1 });
      expect(r.results[0]!.reason).toMatch(
        /image .*team\/sidecar:2\.0: the image layout is damaged or was tampered/,
      );
    });
  });

  it('refuses an image missing from the export (entry or layout), writing nothing', async () => {
    const out = await exportOnce('export-missing');
    const file = join(out, AIRGAP_MANIFEST_FILE);
    const original = readFileSync(file, 'utf8');
    const m = JSON.parse(original) as AirgapManifest;
    m.entries[0]!.images = m.entries[0]!.images!.slice(1);
    writeFileSync(file, JSON.stringify(m));
    await expectNothingWritten('missing', async () => {
      const r = await importMirror(spec(gap.server.host, 'missing'), out, { client: client(), env });
      expect(r.summary).toMatchObject({ copied: 0, refused: 1 });
      expect(r.results[0]!.reason).toMatch(/image .*team\/app:1\.0: not in the export/);
    });

    writeFileSync(file, original);
    rmSync(join(out, m.entries[0]!.images![0]!.layout), { recursive: true });
    await expectNothingWritten('missing', async () => {
      const r = await importMirror(spec(gap.server.host, 'missing'), out, { client: client(), env });
      expect(r.summary).toMatchObject({ copied: 0, refused: 1 });
      expect(r.results[0]!.reason).toMatch(
        /image .*team\/sidecar:2\.0: the image layout is damaged or missing/,
      );
    });

    // An export made without images, imported by a spec that mirrors them: refused.
    const plain = join(dir, 'export-plain');
    await exportMirror(spec('127.0.0.1:9', 'x', { images: false }), plain, { client: client() });
    expect(manifestOf(plain).entries[0]!.images).toBeUndefined();
    await expectNothingWritten('missing', async () => {
      const r = await importMirror(spec(gap.server.host, 'missing'), plain, { client: client(), env });
      expect(r.results[0]!.status).toBe('refused');
      expect(r.results[0]!.reason).toMatch(/exported without images/);
    });
  });

  it('refuses a consistent but substituted image (unsigned, manifest file fixed up): upstream signature', async () => {
    const out = await exportOnce('export-substituted');
    const evil = imageIndex('team/evil', { layerBytes: 512 });
    const m = manifestOf(out);
    const app = m.entries[0]!.images![0]!;
    const layout = await OciLayout.open(join(out, app.layout));
    for (const p of [...evil.parts, evil.index]) await layout.push(p.desc, p.data);
    await layout.tag(evil.index.desc, '1.0');
    app.digest = evil.index.desc.digest;
    writeFileSync(join(out, AIRGAP_MANIFEST_FILE), JSON.stringify(m));
    await expectNothingWritten('substituted', async () => {
      const r = await importMirror(spec(gap.server.host, 'substituted'), out, { client: client(), env });
      expect(r.results[0]!.status).toBe('refused');
      expect(r.results[0]!.reason).toMatch(/image .*team\/app:1\.0: upstream signature/);
      expect(r.results[0]!.images?.[0]?.verification).toMatchObject({ method: 'cosign', verified: false });
    });
  });
});
