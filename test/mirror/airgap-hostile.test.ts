import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import { generateKeyPair, keyFileSigner } from '../../src/keys/keys.js';
import { AIRGAP_MANIFEST_FILE, type AirgapManifest, exportMirror } from '../../src/mirror/airgap.js';
import { importMirror } from '../../src/mirror/airgap-import.js';
import { type MirrorSpec, parseMirrorSpec } from '../../src/mirror/spec.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { digestOf } from '../../src/oci/digest.js';
import { OciLayout } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/media-types.js';
import { copy } from '../../src/oci/copy.js';
import { ChartproofError } from '../../src/errors.js';
import { signLegacy } from '../../src/sign/legacy.js';
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
`;

/** Writes a JSON document into a layout as content of `mediaType`. */
async function putJson(layout: OciLayout, mediaType: string, value: unknown): Promise<Descriptor> {
  const data = new TextEncoder().encode(JSON.stringify(value));
  const desc: Descriptor = { mediaType, digest: digestOf(data), size: data.byteLength };
  await layout.push(desc, data);
  return desc;
}

/** Hostile or failing air-gap imports of charts with images. */
describe('mirror import with images: hostile bundles and failing targets', () => {
  let up: ListeningFixture;
  let gap: ListeningFixture;
  let dir: string;
  let upKeys: { privateKeyPem: string; publicKeyPem: string };
  const env = { COSIGN_PASSWORD: 'in' };

  beforeAll(async () => {
    up = await listeningFixture();
    gap = await listeningFixture();
    dir = mkdtempSync(join(tmpdir(), 'cp-airgap-hostile-'));
    upKeys = await generateKeyPair({ password: 'up' });
    const inKeys = await generateKeyPair({ password: 'in' });
    writeFileSync(join(dir, 'up.pub'), upKeys.publicKeyPem);
    writeFileSync(join(dir, 'in.key'), inKeys.privateKeyPem);
    const img = imageIndex('team/app', { layerBytes: 1024 });
    const repo = up.client.repository(`${up.server.host}/team/app`);
    for (const p of img.parts) await repo.push(p.desc, p.data);
    const desc = await repo.pushManifest(img.index.data, { tags: ['1.0'] });
    await signLegacy(repo, desc, await keyFileSigner(upKeys.privateKeyPem, 'up'));
    await pushAppChart('web', '1.0.0');
    // An older version of the chart, signed with the same upstream key as 1.0.0.
    await pushAppChart('web', '0.9.0');
    const charts = up.client.repository(`${up.server.host}/charts/web`);
    for (const version of ['1.0.0', '0.9.0'])
      await signLegacy(
        charts,
        await charts.resolve(version),
        await keyFileSigner(upKeys.privateKeyPem, 'up'),
      );
  });

  /** A chart deploying the upstream team/app:1.0, pushed upstream. */
  async function pushAppChart(name: string, version: string): Promise<void> {
    await pushChart(
      up.client,
      await makeChartArchive(name, version, {
        'templates/deploy.yaml': DEPLOYMENT,
        'values.yaml': `image:\n  registry: ${up.server.host}\n  repository: team/app\n  tag: "1.0"\n`,
      }),
      { name, version, apiVersion: 'v2' },
      `oci://${up.server.host}/charts`,
    );
  }

  afterAll(async () => {
    await up?.close();
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
  const manifestOf = (out: string) =>
    JSON.parse(readFileSync(join(out, AIRGAP_MANIFEST_FILE), 'utf8')) as AirgapManifest;

  async function exportOnce(name: string): Promise<string> {
    const out = join(dir, name);
    const r = await exportMirror(spec('127.0.0.1:9', 'x'), out, { client: client() });
    expect(r.results[0]!.status, r.results[0]!.reason).toBe('copied');
    return out;
  }

  it('reports a target failure while checking an image as failed (exit 3), not refused', async () => {
    const out = await exportOnce('export-target-fails');
    expect(manifestOf(out).entries[0]!.images).toHaveLength(1);
    // The image's internal repository cannot be read (the chart's can): a registry failure.
    gap.registry.failNext({ status: 403, path: /\/failing\/images\/.*\/manifests\//, times: 10 });
    const r = await importMirror(spec(gap.server.host, 'failing'), out, { client: client(), env });
    gap.registry.clearFaults();
    expect(r.results[0]!.images?.[0]?.status).toBe('failed');
    expect(r.results[0]!.status, r.results[0]!.reason).toBe('failed');
    expect(r.summary).toMatchObject({ copied: 0, refused: 0, failed: 1 });
    expect(gap.registry.repositories().filter((n) => n.startsWith('failing/'))).toEqual([]);
  });

  it('reports a layout it cannot read (an I/O error) as failed (exit 3), not refused as tampered', async () => {
    const out = await exportOnce('export-unreadable');
    const read = OciLayout.prototype.fetch;
    const spy = vi.spyOn(OciLayout.prototype, 'fetch').mockImplementation(function (
      this: OciLayout,
      desc,
      options,
    ) {
      if (desc.mediaType === MediaType.HelmChartContent)
        return Promise.reject(new ChartproofError('IO', `cannot read ${desc.digest}: EIO: i/o error, read`));
      return read.call(this, desc, options);
    });
    try {
      const r = await importMirror(spec(gap.server.host, 'unreadable'), out, { client: client(), env });
      expect(spy).toHaveBeenCalled();
      expect(r.results[0]!.status, r.results[0]!.reason).toBe('failed');
      expect(r.results[0]!.reason).toMatch(/EIO/);
      expect(r.summary).toMatchObject({ copied: 0, refused: 0, failed: 1 });
    } finally {
      spy.mockRestore();
    }
    expect(gap.registry.repositories().filter((n) => n.startsWith('unreadable/'))).toEqual([]);
  });

  it('reports an image layout it cannot read as failed, not refused', async () => {
    const out = await exportOnce('export-unreadable-image');
    const image = manifestOf(out).entries[0]!.images![0]!.digest;
    const read = OciLayout.prototype.fetch;
    const spy = vi.spyOn(OciLayout.prototype, 'fetch').mockImplementation(function (
      this: OciLayout,
      desc,
      options,
    ) {
      if (desc.digest === image)
        return Promise.reject(new ChartproofError('IO', `cannot read ${desc.digest}: EIO: i/o error, read`));
      return read.call(this, desc, options);
    });
    try {
      const r = await importMirror(spec(gap.server.host, 'unreadable-image'), out, { client: client(), env });
      expect(spy).toHaveBeenCalled();
      expect(r.results[0]!.images?.[0]?.status).toBe('failed');
      expect(r.results[0]!.status, r.results[0]!.reason).toBe('failed');
      expect(r.results[0]!.reason).toMatch(/EIO/);
    } finally {
      spy.mockRestore();
    }
  });

  it('imports in bounded time a chart whose layout has a planted referrer index listing one child many times, nested', async () => {
    const out = await exportOnce('export-dag');
    const entry = manifestOf(out).entries[0]!;
    const layout = await OciLayout.open(join(out, entry.layout));
    const chartRoot = await layout.resolve(entry.tag);
    const put = (mediaType: string, value: unknown) => putJson(layout, mediaType, value);
    const config = await put('application/vnd.oci.image.config.v1+json', {});
    let child = await put(MediaType.OciManifest, {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config,
      layers: [],
    });
    // Three levels, each listing the level below 512 times: 134 million walks when every
    // listing is followed again (minutes of a blocked event loop; 10^9 with 1000: no
    // end), from a few small files. Followed once each, it takes well under a second:
    // the bound below is a hang guard, not a performance target.
    for (let level = 0; level < 3; level++)
      child = await put(MediaType.OciIndex, {
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: Array.from({ length: 512 }, () => child),
        ...(level === 2
          ? {
              artifactType: 'application/vnd.example.planted',
              subject: { mediaType: chartRoot.mediaType, digest: chartRoot.digest, size: chartRoot.size },
            }
          : {}),
      });
    const t0 = Date.now();
    const r = await importMirror(spec(gap.server.host, 'dag'), out, { client: client(), env });
    expect(r.results[0]!.status, r.results[0]!.reason).toBe('copied');
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 120_000);

  it('refuses a chart whose planted referrers would take its in-memory quarantine past 256 MiB, before reading them', async () => {
    const out = await exportOnce('export-big-referrer');
    const entry = manifestOf(out).entries[0]!;
    const layout = await OciLayout.open(join(out, entry.layout));
    const chartRoot = await layout.resolve(entry.tag);
    // 257 MiB of zeros, written to the layout as a layer of a referrer of the chart.
    const size = 257 * 1024 * 1024;
    const chunk = new Uint8Array(1024 * 1024);
    const hash = createHash('sha256');
    for (let i = 0; i < size / chunk.byteLength; i++) hash.update(chunk);
    const big: Descriptor = {
      mediaType: 'application/octet-stream',
      digest: `sha256:${hash.digest('hex')}` as Descriptor['digest'],
      size,
    };
    let sent = 0;
    await layout.push(
      big,
      new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent === size) c.close();
          else {
            c.enqueue(chunk.slice());
            sent += chunk.byteLength;
          }
        },
      }),
    );
    const put = (mediaType: string, value: unknown) => putJson(layout, mediaType, value);
    const config = await put('application/vnd.oci.empty.v1+json', {});
    await put(MediaType.OciManifest, {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: 'application/vnd.example.planted',
      config,
      layers: [big],
      subject: { mediaType: chartRoot.mediaType, digest: chartRoot.digest, size: chartRoot.size },
    });
    const r = await importMirror(spec(gap.server.host, 'big'), out, { client: client(), env });
    expect(r.results[0]!.status, r.results[0]!.reason).toBe('refused');
    expect(r.results[0]!.reason).toMatch(/past 268435456 bytes/);
    expect(gap.registry.repositories().filter((n) => n.startsWith('big/'))).toEqual([]);
  }, 120_000);

  it('two charts imported side by side never overwrite each other’s image tag with another digest', async () => {
    // A second signed build of the image (another digest), and a second chart deploying
    // the same image tag.
    const other = imageIndex('team/app-rebuilt', { layerBytes: 1024 });
    const repo = up.client.repository(`${up.server.host}/team/app`);
    for (const p of other.parts) await repo.push(p.desc, p.data);
    const rebuilt = await repo.pushManifest(other.index.data, { tags: ['1.0-rebuilt'] });
    await signLegacy(repo, rebuilt, await keyFileSigner(upKeys.privateKeyPem, 'up'));
    await pushAppChart('api', '1.0.0');
    const both = (host: string, prefix: string) =>
      spec(host, prefix, {
        charts: [
          { name: 'web', source: `oci://${up.server.host}/charts/web`, versions: ['1.0.0'] },
          { name: 'api', source: `oci://${up.server.host}/charts/api`, versions: ['1.0.0'] },
        ],
      });
    const out = join(dir, 'export-two-charts');
    const exported = await exportMirror(both('127.0.0.1:9', 'x'), out, { client: client() });
    expect(exported.results.map((r) => r.status)).toEqual(['copied', 'copied']);
    // The media gives api's entry the rebuilt image (signed too) for the same tag.
    const m = manifestOf(out);
    const api = m.entries.find((e) => e.name === 'api')!;
    const image = api.images![0]!;
    await copy(repo, '1.0-rebuilt', await OciLayout.open(join(out, image.layout)), undefined, {
      referrers: true,
      cosignTags: true,
    });
    image.digest = rebuilt.digest;
    writeFileSync(join(out, AIRGAP_MANIFEST_FILE), JSON.stringify(m));

    const r = await importMirror(both(gap.server.host, 'two'), out, { client: client(), env });
    const byStatus = r.results.map((x) => x.status).sort();
    expect(byStatus, JSON.stringify(r.results.map((x) => x.reason))).toEqual(['copied', 'refused']);
    const refused = r.results.find((x) => x.status === 'refused')!;
    expect(refused.reason).toMatch(/another chart of this import writes .* not overwritten/);
    // The tag names the digest the copied chart's overlay was proven with.
    const copied = r.results.find((x) => x.status === 'copied')!;
    const target = copied.images![0]!.target;
    const tagged = await gap.client
      .repository(target.slice(0, target.lastIndexOf(':')))
      .resolve(target.slice(target.lastIndexOf(':') + 1));
    expect(tagged.digest).toBe(copied.images![0]!.digest);
  }, 60_000);

  it('refuses a directory export whose chart or image layout directory is a symbolic link', async () => {
    for (const which of ['chart', 'image'] as const) {
      const out = await exportOnce(`export-symlink-${which}`);
      const entry = manifestOf(out).entries[0]!;
      const rel = which === 'chart' ? entry.layout : entry.images![0]!.layout;
      // The layout moved elsewhere and linked back: a directory export is untrusted input.
      const elsewhere = join(dir, `elsewhere-${which}`);
      renameSync(join(out, rel), elsewhere);
      symlinkSync(elsewhere, join(out, rel));
      const r = await importMirror(spec(gap.server.host, `link-${which}`), out, { client: client(), env });
      expect(r.results[0]!.status, r.results[0]!.reason).toBe('refused');
      expect(r.results[0]!.reason).toMatch(/is not a directory \(a symbolic link or a file\)/);
      expect(gap.registry.repositories().filter((n) => n.startsWith(`link-${which}/`))).toEqual([]);
    }
  });

  it('refuses another version signed with the same key filed under the requested tag (a downgrade)', async () => {
    const verified = (host: string, prefix: string) =>
      spec(host, prefix, {
        charts: [
          {
            name: 'web',
            source: `oci://${up.server.host}/charts/web`,
            versions: ['1.0.0'],
            verify: { key: join(dir, 'up.pub'), insecureIgnoreTlog: true },
          },
        ],
      });
    const out = join(dir, 'export-downgrade');
    const exported = await exportMirror(verified('127.0.0.1:9', 'x'), out, { client: client() });
    expect(exported.results[0]!.status, exported.results[0]!.reason).toBe('copied');
    // The media swaps in the signed 0.9.0 under the tag 1.0.0, the manifest file fixed up.
    const m = manifestOf(out);
    const entry = m.entries[0]!;
    const layout = await OciLayout.open(join(out, entry.layout));
    const older = await copy(
      up.client.repository(`${up.server.host}/charts/web`),
      '0.9.0',
      layout,
      undefined,
      {
        tags: [entry.tag],
        referrers: true,
        cosignTags: true,
      },
    );
    entry.digest = older.descriptor.digest;
    entry.sourceDigest = older.descriptor.digest;
    writeFileSync(join(out, AIRGAP_MANIFEST_FILE), JSON.stringify(m));

    const r = await importMirror(verified(gap.server.host, 'downgrade'), out, { client: client(), env });
    expect(r.results[0]!.status, r.results[0]!.reason).toBe('refused');
    expect(r.results[0]!.reason).toMatch(/0\.9\.0/);
    expect(gap.registry.repositories().filter((n) => n.startsWith('downgrade/'))).toEqual([]);
  });
});
