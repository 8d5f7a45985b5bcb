import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChartproofError, CopyError } from '../../src/errors.js';
import {
  type Descriptor,
  digestOf,
  exportToLayout,
  importFromLayout,
  MediaType,
  OciLayout,
  RegistryClient,
  readAll,
  referrersTag,
} from '../../src/oci/index.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { chartArtifact, manifest, pushAll, referrerOf } from '../helpers/content.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { makeTempDir, removeDir } from '../helpers/services.js';

const BUNDLE = MediaType.SigstoreBundleV03;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

async function tempDir(): Promise<string> {
  const d = await makeTempDir('chartproof-layout-');
  dirs.push(d);
  return d;
}

function client(registry: MemoryRegistry): RegistryClient {
  return new RegistryClient({ fetch: registry.fetch, plainHttp: true, retry: { maxRetries: 0 } });
}

/** A source registry holding a chart, an OCI 1.1 referrer of it and a cosign `.sig` tag. */
async function seededSource() {
  const registry = new MemoryRegistry();
  const repo = client(registry).repository('src.test/charts/app');
  const chart = chartArtifact('app', '1.2.3', 40_000);
  await pushAll(repo, [chart.config, chart.layer]);
  await repo.pushManifest(chart.manifest.data, { tags: ['1.2.3'] });
  const subject = chart.manifest.desc;
  const bundle = referrerOf(subject, BUNDLE, 'bundle-payload');
  await pushAll(repo, [bundle.empty, bundle.layer]);
  await repo.pushManifest(bundle.manifest.data);
  const sig = manifest(bundle.empty.desc, [bundle.layer.desc], {
    annotations: { 'dev.cosignproject.cosign/signature': 'x' },
  });
  const sigTag = `${referrersTag(subject.digest)}.sig`;
  await repo.pushManifest(sig.data, { tags: [sigTag] });
  return { registry, repo, chart, bundle, sig, sigTag };
}

async function layoutFiles(dir: string): Promise<Map<string, { ino: number; mtimeMs: number }>> {
  const out = new Map<string, { ino: number; mtimeMs: number }>();
  for (const alg of await readdir(join(dir, 'blobs'))) {
    for (const f of await readdir(join(dir, 'blobs', alg))) {
      const st = await stat(join(dir, 'blobs', alg, f));
      out.set(`${alg}/${f}`, { ino: st.ino, mtimeMs: st.mtimeMs });
    }
  }
  const st = await stat(join(dir, 'index.json'));
  out.set('index.json', { ino: st.ino, mtimeMs: st.mtimeMs });
  return out;
}

function blobFile(dir: string, d: Descriptor): string {
  return join(dir, 'blobs', 'sha256', d.digest.slice('sha256:'.length));
}

function causes(e: unknown): unknown[] {
  const out: unknown[] = [];
  for (let c = e; c !== undefined && c !== null && out.length < 10; c = (c as { cause?: unknown }).cause)
    out.push(c);
  return out;
}

describe('OciLayout', () => {
  describe('round trip registry → layout → registry', () => {
    it('keeps digests, tags, referrers and cosign tags, in the spec on-disk format', async () => {
      const src = await seededSource();
      const dir = await tempDir();
      const results = await exportToLayout(src.repo, ['1.2.3'], dir);
      const subject = src.chart.manifest.desc;
      expect(results[0]!.descriptor.digest).toBe(subject.digest);
      expect(results[0]!.referrers.map((d) => d.digest)).toEqual([src.bundle.manifest.desc.digest]);
      expect(results[0]!.cosignTags).toEqual([src.sigTag]);

      // on disk: oci-layout, index.json with ref.name tags, blobs/<alg>/<hex> matching their digests
      expect(await readFile(join(dir, 'oci-layout'), 'utf8')).toBe('{"imageLayoutVersion":"1.0.0"}');
      const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
      expect(index.schemaVersion).toBe(2);
      expect(index.mediaType).toBe(MediaType.OciIndex);
      const refNames = index.manifests
        .map((d: Descriptor) => d.annotations?.['org.opencontainers.image.ref.name'])
        .filter(Boolean)
        .sort();
      expect(refNames).toEqual(['1.2.3', src.sigTag].sort());
      const byDigest = new Map(index.manifests.map((d: Descriptor) => [d.digest, d]));
      expect(byDigest.has(src.bundle.manifest.desc.digest)).toBe(true); // untagged referrer recorded
      for (const part of [
        src.chart.config,
        src.chart.layer,
        src.chart.manifest,
        src.bundle.manifest,
        src.sig,
      ]) {
        expect(digestOf(await readFile(blobFile(dir, part.desc)))).toBe(part.desc.digest);
      }
      expect(await readdir(join(dir, 'ingest'))).toEqual([]);

      // a fresh instance finds tags and referrers from disk
      const layout = await OciLayout.open(dir);
      expect(await layout.tags()).toEqual(['1.2.3', src.sigTag].sort());
      expect((await layout.resolve('1.2.3')).digest).toBe(subject.digest);
      expect((await layout.resolve(`charts/app:1.2.3`)).digest).toBe(subject.digest);
      expect((await layout.resolve(subject.digest)).mediaType).toBe(MediaType.OciManifest);
      const refs = await layout.referrers(subject);
      expect(refs.map((d) => d.digest)).toEqual([src.bundle.manifest.desc.digest]);
      expect(refs[0]!.artifactType).toBe(BUNDLE);
      expect(await layout.referrers(subject, { artifactType: 'application/other' })).toEqual([]);

      // import into another registry (referrers API off: the tag fallback is used)
      const target = new MemoryRegistry({ referrersApi: false });
      const dst = client(target).repository('dst.test/mirror/app');
      const imported = await importFromLayout(dir, dst, { '1.2.3': '1.2.3' });
      expect(imported[0]!.descriptor.digest).toBe(subject.digest);
      expect((await dst.resolve('1.2.3')).digest).toBe(subject.digest);
      expect((await dst.resolve(src.sigTag)).digest).toBe(src.sig.desc.digest);
      expect((await dst.referrers(subject)).map((d) => d.digest)).toEqual([src.bundle.manifest.desc.digest]);
      const fetched = await dst.fetchManifest('1.2.3');
      expect(Buffer.from(fetched.bytes).equals(Buffer.from(src.chart.manifest.data))).toBe(true);
      const layer = await readAll(await dst.fetch(src.chart.layer.desc), 1 << 20);
      expect(Buffer.from(layer).equals(Buffer.from(src.chart.layer.data))).toBe(true);
    });

    it('re-exports without rewriting anything', async () => {
      const src = await seededSource();
      const dir = await tempDir();
      await exportToLayout(src.repo, ['1.2.3'], dir);
      const before = await layoutFiles(dir);
      const events: string[] = [];
      await exportToLayout(src.repo, ['1.2.3'], dir, { onProgress: (e) => events.push(e.type) });
      expect(events).not.toContain('copied');
      expect(events).toContain('skipped');
      expect(await layoutFiles(dir)).toEqual(before);
    });
  });

  describe('when the layout is damaged', () => {
    it('refuses a corrupted blob on import and tags nothing', async () => {
      const src = await seededSource();
      const dir = await tempDir();
      await exportToLayout(src.repo, ['1.2.3'], dir);
      const path = blobFile(dir, src.chart.layer.desc);
      const bytes = await readFile(path);
      bytes[100] = bytes[100]! ^ 0xff; // same size, other content
      await writeFile(path, bytes);

      const layout = await OciLayout.open(dir);
      await expectChartproofError(
        readAll(await layout.fetch(src.chart.layer.desc), 1 << 20),
        'DIGEST_MISMATCH',
      );

      // straight into a store: the source stream's DIGEST_MISMATCH is the cause
      const target = new MemoryRegistry();
      const store = target.repository('direct/app');
      const err = await importFromLayout(dir, store, ['1.2.3']).catch((e) => e);
      expect(err).toBeInstanceOf(CopyError);
      expect(err.origin).toBe('source');
      expect(causes(err).some((c) => c instanceof ChartproofError && c.code === 'DIGEST_MISMATCH')).toBe(
        true,
      );
      expect(await store.tags()).toEqual([]);
      expect(store.get(src.chart.layer.desc.digest)).toBeUndefined();

      // over HTTP: the upload is refused and nothing is tagged
      const dst = client(target).repository('dst.test/mirror/app');
      const err2 = await importFromLayout(dir, dst, ['1.2.3']).catch((e) => e);
      expect(err2).toBeInstanceOf(CopyError);
      expect(err2.message).toMatch(/digest mismatch/i);
      expect(await target.repository('mirror/app').tags()).toEqual([]);
      expect(target.repository('mirror/app').get(src.chart.layer.desc.digest)).toBeUndefined();
    });

    it('refuses a truncated blob with SIZE_MISMATCH', async () => {
      const src = await seededSource();
      const dir = await tempDir();
      await exportToLayout(src.repo, ['1.2.3'], dir);
      const path = blobFile(dir, src.chart.layer.desc);
      await writeFile(path, (await readFile(path)).subarray(0, 10));
      const layout = await OciLayout.open(dir);
      await expectChartproofError(layout.fetch(src.chart.layer.desc), 'SIZE_MISMATCH');
      expect(await layout.exists(src.chart.layer.desc)).toBe(false);
      // a re-push of the blob replaces the damaged file through a verified write
      await layout.push(src.chart.layer.desc, src.chart.layer.data);
      expect(digestOf(await readFile(path))).toBe(src.chart.layer.desc.digest);
    });

    it.each([
      ['garbage', 'not json{'],
      ['truncated', 'TRUNCATE'],
      ['not an index', '{"schemaVersion":2}'],
      [
        'a traversal digest',
        '{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:../../x","size":1}]}',
      ],
    ])('gives a clear error for an index.json that is %s', async (_name, content) => {
      const src = await seededSource();
      const dir = await tempDir();
      await exportToLayout(src.repo, ['1.2.3'], dir);
      const indexPath = join(dir, 'index.json');
      const text = content === 'TRUNCATE' ? (await readFile(indexPath, 'utf8')).slice(0, 60) : content;
      await writeFile(indexPath, text);
      await expectChartproofError(OciLayout.open(dir), 'INVALID_MANIFEST', /index\.json/);
    });

    it('reports a directory that is not a layout', async () => {
      const dir = await tempDir();
      await expectChartproofError(OciLayout.open(join(dir, 'none')), 'NOT_FOUND', /oci-layout/);
      await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"9.0.0"}');
      await expectChartproofError(OciLayout.open(dir), 'INVALID_MANIFEST', /oci-layout/);
    });
  });

  describe('digests as paths', () => {
    it('refuses path-traversal digests everywhere', async () => {
      const dir = await tempDir();
      const layout = await OciLayout.open(dir, { create: true });
      await writeFile(join(dir, 'x'), 'secret');
      const bad = { mediaType: 'application/octet-stream', digest: 'sha256:../../x', size: 6 } as Descriptor;
      const bad2 = { ...bad, digest: `sha256:${'../'.repeat(20)}${'a'.repeat(4)}` } as Descriptor;
      for (const d of [bad, bad2]) {
        await expectChartproofError(layout.fetch(d), 'INVALID_DIGEST');
        await expectChartproofError(layout.exists(d), 'INVALID_DIGEST');
        await expectChartproofError(layout.push(d, new TextEncoder().encode('secret')), 'INVALID_DIGEST');
        await expectChartproofError(layout.tag(d, 'v1'), 'INVALID_DIGEST');
        await expectChartproofError(layout.referrers(d), 'INVALID_DIGEST');
      }
      await expectChartproofError(layout.resolve('sha256:../../x'), 'NOT_FOUND');
    });
  });

  describe('push', () => {
    it('verifies content and never leaves a partial blob under its digest name', async () => {
      const dir = await tempDir();
      const layout = await OciLayout.open(dir, { create: true });
      const a = chartArtifact('x', '1.0.0', 5000);
      const wrong = new Uint8Array(a.layer.data);
      wrong[0] = wrong[0]! ^ 1;
      await expectChartproofError(layout.push(a.layer.desc, new Blob([wrong]).stream()), 'DIGEST_MISMATCH');
      expect(await layout.exists(a.layer.desc)).toBe(false);
      await expect(stat(blobFile(dir, a.layer.desc))).rejects.toThrow();
      expect(await readdir(join(dir, 'ingest'))).toEqual([]);
      // tagging content that is absent is refused
      await expectChartproofError(layout.tag(a.manifest.desc, 'v1'), 'NOT_FOUND');
      await layout.push(a.layer.desc, new Blob([a.layer.data as Uint8Array<ArrayBuffer>]).stream());
      expect(await layout.exists(a.layer.desc)).toBe(true);
      // pushing it again keeps the existing file
      const before = await stat(blobFile(dir, a.layer.desc));
      await layout.push(a.layer.desc, a.layer.data);
      const after = await stat(blobFile(dir, a.layer.desc));
      expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    });
  });

  describe('when an export is interrupted', () => {
    it('leaves a layout that opens and a re-run completes', async () => {
      const src = await seededSource();
      const dir = await tempDir();
      const controller = new AbortController();
      let copied = 0;
      const err = await exportToLayout(src.repo, ['1.2.3'], dir, {
        concurrency: 1,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.type === 'copied' && ++copied === 2) controller.abort(new Error('stop'));
        },
      }).catch((e) => e);
      expect(err).toBeInstanceOf(Error);
      expect(controller.signal.aborted).toBe(true);

      const partial = await OciLayout.open(dir);
      expect(await partial.tags()).toEqual([]); // tags are written last
      await expectChartproofError(partial.resolve('1.2.3'), 'NOT_FOUND');
      expect(await readdir(join(dir, 'ingest'))).toEqual([]);

      const results = await exportToLayout(src.repo, ['1.2.3'], dir);
      expect(results[0]!.descriptor.digest).toBe(src.chart.manifest.desc.digest);
      const layout = await OciLayout.open(dir);
      expect(await layout.tags()).toEqual(['1.2.3', src.sigTag].sort());
      expect((await layout.referrers(src.chart.manifest.desc)).map((d) => d.digest)).toEqual([
        src.bundle.manifest.desc.digest,
      ]);
    });
  });
});
