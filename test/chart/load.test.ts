import { HELM_VECTORS as VECTORS } from '../helpers/vectors.js';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { readArchiveEntries } from '../../src/chart/archive.js';
import { loadChartArchive, loadChartFile } from '../../src/chart/load.js';
import { parseChartMetadata, validateChartMetadata } from '../../src/chart/metadata.js';
import type { Chart, ChartMetadata } from '../../src/chart/types.js';
import { ChartproofError, type ErrorCode } from '../../src/errors.js';

const HAVE_VECTORS = existsSync(join(VECTORS, 'MANIFEST.md'));
if (!HAVE_VECTORS)
  console.warn(`chart load vectors skipped: ${VECTORS} not found (clone shared/ beside the repo)`);

const vector = (path: string): Uint8Array => new Uint8Array(readFileSync(join(VECTORS, path)));

// ---- a tiny tar + gzip builder for hostile archives ----

interface Entry {
  name: string;
  data?: string | Uint8Array;
  type?: tar.Header['type'];
  linkname?: string;
}

async function tarOf(entries: Entry[]): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Uint8Array[] = [];
  const collected = (async () => {
    for await (const chunk of pack as AsyncIterable<Uint8Array>) chunks.push(chunk);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const header: tar.Header = {
        name: e.name,
        type: e.type ?? 'file',
        mode: 0o644,
        mtime: new Date(0),
      } as tar.Header;
      if (e.linkname !== undefined) header.linkname = e.linkname;
      pack.entry(header, e.data ?? '', (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await collected;
  return new Uint8Array(Buffer.concat(chunks));
}

async function tgz(entries: Entry[]): Promise<Uint8Array> {
  return new Uint8Array(gzipSync(await tarOf(entries)));
}

const CHART_YAML = 'apiVersion: v2\nname: demo\nversion: 0.1.0\n';
const minimal = (extra: Entry[] = [], chartYaml = CHART_YAML): Promise<Uint8Array> =>
  tgz([{ name: 'demo/Chart.yaml', data: chartYaml }, ...extra]);

async function rejection(p: Promise<unknown>): Promise<ChartproofError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ChartproofError);
    return err as ChartproofError;
  }
  throw new Error('expected a rejection');
}

async function expectError(p: Promise<unknown>, code: ErrorCode, message?: string | RegExp): Promise<void> {
  const err = await rejection(p);
  expect(err.code).toBe(code);
  if (typeof message === 'string') expect(err.message).toContain(message);
  else if (message) expect(err.message).toMatch(message);
}

function expectSyncError(fn: () => unknown, code: ErrorCode, message: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ChartproofError);
    expect((err as ChartproofError).code).toBe(code);
    expect((err as ChartproofError).message).toBe(message);
    return;
  }
  throw new Error('expected an error');
}

const BOM = [0xef, 0xbb, 0xbf];
const hasBom = (d: Uint8Array) => d[0] === BOM[0] && d[1] === BOM[1] && d[2] === BOM[2];

// ---- Helm vectors (MANIFEST section 4 and section 1 archives) ----

describe.skipIf(!HAVE_VECTORS)('Helm archive vectors', () => {
  const frobnitzChecks = (c: Chart, name = 'frobnitz') => {
    expect(c.metadata.name).toBe(name);
    expect(c.templates).toHaveLength(1);
    const deps = c.dependencies.map((d) => `${d.metadata.name}@${d.metadata.version}`).sort();
    expect(deps).toEqual(['alpine@0.1.0', 'mariner@4.3.2']);
    expect(c.files.some((f) => f.name.startsWith('charts/_ignore_me'))).toBe(false);
  };

  it('frobnitz-1.2.3.tgz: name, 1 template, 6 files, 2 dependencies, _ignore_me ignored', async () => {
    const c = await loadChartArchive(vector('pkg/chart/v2/loader/testdata/frobnitz-1.2.3.tgz'));
    frobnitzChecks(c);
    expect(c.files).toHaveLength(6);
    expect(c.metadata.apiVersion).toBe('v1');
    expect(c.metadata.dependencies?.map((d) => d.name)).toEqual(['alpine', 'mariner']);
    expect(c.lock?.digest).toBe('invalid');
    const alpine = c.dependencies.find((d) => d.metadata.name === 'alpine')!;
    expect(alpine.dependencies.map((d) => d.metadata.name).sort()).toEqual(['mast1', 'mast2']);
    const mariner = c.dependencies.find((d) => d.metadata.name === 'mariner')!;
    expect(mariner.dependencies.map((d) => d.metadata.name)).toEqual(['albatross']);
    expect(c.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('frobnitz.v1.tgz: dependencies come from requirements.yaml, which stays in files', async () => {
    const c = await loadChartArchive(vector('pkg/chart/v2/loader/testdata/frobnitz.v1.tgz'));
    frobnitzChecks(c);
    expect(c.metadata.dependencies?.map((d) => [d.name, d.repository])).toEqual([
      ['alpine', 'https://example.com/charts'],
      ['mariner', 'https://example.com/charts'],
    ]);
    expect(c.files.map((f) => f.name)).toContain('requirements.yaml');
  });

  it('frobnitz_backslash-1.2.3.tgz loads', async () => {
    const c = await loadChartArchive(vector('pkg/chart/v2/loader/testdata/frobnitz_backslash-1.2.3.tgz'));
    frobnitzChecks(c, 'frobnitz_backslash');
  });

  it('frobnitz_with_bom.tgz: BOM stripped from every file', async () => {
    const bytes = vector('pkg/chart/v2/loader/testdata/frobnitz_with_bom.tgz');
    const raw = await readArchiveEntries(bytes);
    for (const f of raw) expect(hasBom(f.data), f.name).toBe(false);
    const c = await loadChartArchive(bytes);
    expect(c.metadata.name).toBe('frobnitz');
    expect(hasBom(c.chartYaml)).toBe(false);
    for (const f of [...c.files, ...c.templates]) expect(hasBom(f.data), f.name).toBe(false);
    // The source Chart.yaml really starts with a BOM.
    expect(hasBom(vector('pkg/chart/v2/loader/testdata/frobnitz_with_bom/Chart.yaml'))).toBe(true);
    expect(parseChartMetadata(vector('pkg/chart/v2/loader/testdata/frobnitz_with_bom/Chart.yaml')).name).toBe(
      'frobnitz',
    );
  });

  it('source-dir Chart.yaml files parse and validate', () => {
    for (const p of ['frobnitz/Chart.yaml', 'frobnitz.v1/Chart.yaml']) {
      expect(parseChartMetadata(vector(`pkg/chart/v2/loader/testdata/${p}`)).name).toBe('frobnitz');
    }
  });

  it('util and repo copies of frobnitz load; repo copy digest matches the index digest', async () => {
    for (const p of [
      'pkg/chart/v2/util/testdata/frobnitz-1.2.3.tgz',
      'pkg/chart/v2/util/testdata/frobnitz_backslash-1.2.3.tgz',
    ]) {
      expect((await loadChartArchive(vector(p))).metadata.name).toMatch(/^frobnitz/);
    }
    const repo = await loadChartArchive(vector('pkg/repo/v1/testdata/repository/frobnitz-1.2.3.tgz'));
    expect(repo.digest).toBe('sha256:3bbfcddf35ae259e74bfdcecf384ab249b4943d14bd18688fb9138b61647a89e');
  });

  it('internal/chart/v3 archives load as v2-style charts (apiVersion not validated)', async () => {
    for (const p of ['frobnitz-1.2.3.tgz', 'frobnitz_with_bom.tgz', 'frobnitz_backslash-1.2.3.tgz']) {
      const c = await loadChartArchive(vector(`internal/chart/v3/loader/testdata/${p}`));
      expect(c.metadata.name).toMatch(/^frobnitz/);
    }
  });

  it('mariner/charts/albatross-0.1.0.tgz loads', async () => {
    const c = await loadChartArchive(
      vector('pkg/chart/v2/loader/testdata/mariner/charts/albatross-0.1.0.tgz'),
    );
    expect(c.metadata.name).toBe('albatross');
  });

  it('Helm-packaged action charts load (FEXTRA, comment, typeflag \\0, prerelease)', async () => {
    for (const [p, name] of [
      ['compressedchart-0.1.0.tgz', 'compressedchart'],
      ['compressedchart-0.1.0.tar.gz', 'compressedchart'],
      ['compressedchart-with-hyphens-0.1.0.tgz', 'compressedchart-with-hyphens'],
      ['pre-release-chart-0.1.0-alpha.tgz', 'pre-release-chart'],
    ] as const) {
      const c = await loadChartFile(join(VECTORS, 'pkg/action/testdata/charts', p));
      expect(c.metadata.name).toBe(name);
    }
  });

  it('chart-with-{compressed,uncompressed}-dependencies: 1 dependency (mariadb)', async () => {
    for (const p of [
      'chart-with-compressed-dependencies-2.1.8.tgz',
      'chart-with-uncompressed-dependencies-2.1.8.tgz',
    ]) {
      const c = await loadChartArchive(vector(`pkg/action/testdata/charts/${p}`));
      expect(c.metadata.dependencies?.map((d) => d.name)).toEqual(['mariadb']);
      expect(c.dependencies.map((d) => d.metadata.name)).toEqual(['mariadb']);
      expect(c.lock?.dependencies.map((d) => d.name)).toEqual(['mariadb']);
    }
  });

  it('corrupted-compressed-chart.tgz (0 bytes) is rejected', async () => {
    const path = join(VECTORS, 'pkg/action/testdata/charts/corrupted-compressed-chart.tgz');
    await expectError(
      loadChartFile(path),
      'CHART_INVALID',
      `file '${path}' does not appear to be a gzipped archive; got 'application/octet-stream'`,
    );
    await expectError(
      loadChartArchive(vector('pkg/action/testdata/charts/corrupted-compressed-chart.tgz')),
      'CHART_INVALID',
    );
  });

  it('empty-0.0.1.tgz: char device entry rejected (stricter than Helm)', async () => {
    await expectError(
      loadChartArchive(vector('pkg/getter/testdata/empty-0.0.1.tgz')),
      'CHART_INVALID',
      'chart archive entry "dev/null" is a character device',
    );
  });

  it('chart-bad-type: type foobar fails validation', async () => {
    const yaml = vector('pkg/cmd/testdata/testcharts/chart-bad-type/Chart.yaml');
    expectSyncError(
      () => parseChartMetadata(yaml),
      'CHART_METADATA_INVALID',
      'validation: chart.metadata.type must be application or library',
    );
    await expectError(
      loadChartArchive(await tgz([{ name: 'chart-bad-type/Chart.yaml', data: yaml }])),
      'CHART_METADATA_INVALID',
      'validation: chart.metadata.type must be application or library',
    );
  });

  it('reqtest and repository charts load', async () => {
    for (const p of [
      'pkg/cmd/testdata/testcharts/reqtest-0.1.0.tgz',
      'pkg/repo/v1/testdata/repository/sprocket-1.1.0.tgz',
      'pkg/repo/v1/testdata/repository/sprocket-1.2.0.tgz',
      'pkg/repo/v1/testdata/repository/universe/zarthal-1.0.0.tgz',
    ]) {
      const c = await loadChartArchive(vector(p));
      expect(c.metadata.name.length).toBeGreaterThan(0);
    }
  });

  it('hashtest and signtest archives load with the documented digests', async () => {
    const hashtest = await loadChartFile(join(VECTORS, 'pkg/provenance/testdata/hashtest-1.2.3.tgz'));
    expect(hashtest.metadata.name).toBe('hashtest');
    expect(hashtest.digest).toBe('sha256:c6841b3a895f1444a6738b5d04564a57e860ce42f8519c3be807fb6d9bee7888');
    const signtest = await loadChartArchive(vector('pkg/downloader/testdata/signtest-0.1.0.tgz'));
    expect(signtest.metadata.name).toBe('signtest');
    expect(signtest.digest).toBe('sha256:e5ef611620fb97704d8751c16bab17fedb68883bfb0edc76f78a70e9173f9b55');
    const cmdCopy = await loadChartFile(join(VECTORS, 'pkg/cmd/testdata/testcharts/signtest-0.1.0.tgz'));
    expect(cmdCopy.digest).toBe(signtest.digest);
  });

  it('a ReadableStream input gives the same chart and digest', async () => {
    const bytes = vector('pkg/downloader/testdata/signtest-0.1.0.tgz');
    const c = await loadChartArchive(new Blob([bytes]).stream());
    expect(c.digest).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  });
});

// ---- hostile and edge-case archives built in code ----

describe('archive safety rules', () => {
  it('loads a minimal chart with templates, values and schema', async () => {
    const c = await loadChartArchive(
      await minimal([
        { name: 'demo/values.yaml', data: 'a: 1\nb: {c: 2}\n---\nb: {d: 3}\nenabled: yes\n' },
        { name: 'demo/values.schema.json', data: '{}' },
        { name: 'demo/templates/x.yaml', data: 'kind: x' },
        { name: 'demo/crds/c.yaml', data: 'kind: CRD' },
      ]),
    );
    expect(c.metadata).toEqual({ apiVersion: 'v2', name: 'demo', version: '0.1.0' });
    expect(c.values).toEqual({ a: 1, b: { c: 2, d: 3 }, enabled: true });
    expect(new TextDecoder().decode(c.schema)).toBe('{}');
    expect(c.templates.map((f) => f.name)).toEqual(['templates/x.yaml']);
    expect(c.files.map((f) => f.name)).toEqual(['crds/c.yaml']);
  });

  it('rejects ../ escapes', async () => {
    await expectError(
      loadChartArchive(await minimal([{ name: 'demo/../../evil', data: 'x' }])),
      'CHART_INVALID',
      'chart illegally references parent directory',
    );
    await expectError(
      loadChartArchive(await minimal([{ name: 'demo/a/../../../evil', data: 'x' }])),
      'CHART_INVALID',
      'chart illegally references parent directory',
    );
  });

  it('rejects absolute paths', async () => {
    await expectError(
      loadChartArchive(await minimal([{ name: 'demo//etc/passwd', data: 'x' }])),
      'CHART_INVALID',
      'chart illegally contains absolute paths',
    );
    await expectError(
      loadChartArchive(await minimal([{ name: '/etc/passwd', data: 'x' }])),
      'CHART_INVALID',
      'chart illegally contains absolute paths',
    );
  });

  it('rejects Windows drive paths', async () => {
    await expectError(
      loadChartArchive(await minimal([{ name: 'demo/C:/x', data: 'x' }])),
      'CHART_INVALID',
      'chart contains illegally named files',
    );
    await expectError(
      loadChartArchive(await minimal([{ name: 'demo\\C:\\x', data: 'x' }])),
      'CHART_INVALID',
      'chart contains illegally named files',
    );
  });

  it('applies the backslash delimiter rule', async () => {
    const c = await loadChartArchive(await minimal([{ name: 'demo\\templates\\x.yaml', data: 'x' }]));
    expect(c.templates.map((f) => f.name)).toEqual(['templates/x.yaml']);
  });

  it('rejects entries that clean to the base directory', async () => {
    await expectError(
      loadChartArchive(await minimal([{ name: 'demo/sub/..', data: 'x' }])),
      'CHART_INVALID',
      'chart illegally contains content outside the base directory: "demo/sub/.."',
    );
  });

  it('rejects symlinks, hard links, devices and FIFOs, naming the entry', async () => {
    for (const [type, word] of [
      ['symlink', 'symbolic link'],
      ['link', 'hard link'],
      ['character-device', 'character device'],
      ['block-device', 'block device'],
      ['fifo', 'FIFO'],
    ] as const) {
      const entry: Entry = { name: `demo/templates/${type}`, type };
      if (type === 'symlink' || type === 'link') entry.linkname = '/etc/passwd';
      await expectError(
        loadChartArchive(await minimal([entry])),
        'CHART_INVALID',
        `chart archive entry "demo/templates/${type}" is a ${word}`,
      );
    }
  });

  it('rejects duplicate names after normalisation', async () => {
    await expectError(
      loadChartArchive(
        await minimal([
          { name: 'demo/values.yaml', data: 'a: 1' },
          { name: 'demo/./values.yaml', data: 'a: 2' },
        ]),
      ),
      'CHART_INVALID',
      'chart archive contains duplicate entry "values.yaml"',
    );
  });

  it('rejects Chart.yaml outside the base directory', async () => {
    // Helm's rule order: a root-level `Chart.yaml` cleans to "." first.
    await expectError(
      loadChartArchive(await tgz([{ name: 'Chart.yaml', data: CHART_YAML }])),
      'CHART_INVALID',
      'chart illegally contains content outside the base directory: "Chart.yaml"',
    );
    await expectError(
      loadChartArchive(await tgz([{ name: 'Chart.yaml/templates/x.yaml', data: 'x' }])),
      'CHART_INVALID',
      'chart yaml not in base directory',
    );
    await expectError(
      loadChartArchive(await tgz([{ name: 'demo/sub/Chart.yaml', data: CHART_YAML }])),
      'CHART_INVALID',
      'Chart.yaml file is missing',
    );
  });

  it('rejects an archive with no files', async () => {
    await expectError(
      loadChartArchive(await tgz([{ name: 'demo/', type: 'directory' }])),
      'CHART_INVALID',
      'no files in chart archive',
    );
  });

  it('enforces the per-file limit', async () => {
    await expectError(
      loadChartArchive(await minimal([{ name: 'demo/big.txt', data: 'x'.repeat(2000) }]), {
        maxFileBytes: 1000,
      }),
      'SIZE_LIMIT_EXCEEDED',
      'decompressed chart file "demo/big.txt" is larger than the maximum file size 1000',
    );
  });

  it('enforces the total limit (an archive of exactly the limit fails, like Helm)', async () => {
    const files: Entry[] = [
      { name: 'demo/a.txt', data: 'a'.repeat(2000) },
      { name: 'demo/b.txt', data: 'b'.repeat(2000) },
    ];
    const size = CHART_YAML.length + 4000;
    await expectError(
      loadChartArchive(await minimal(files), { maxTotalBytes: 3000 }),
      'SIZE_LIMIT_EXCEEDED',
      'decompressed chart is larger than the maximum size 3000',
    );
    await expectError(loadChartArchive(await minimal(files), { maxTotalBytes: size }), 'SIZE_LIMIT_EXCEEDED');
    expect((await loadChartArchive(await minimal(files), { maxTotalBytes: size + 1 })).files).toHaveLength(2);
  });

  it('stops a gzip bomb early', async () => {
    const zeros = Buffer.alloc(50 * 1024 * 1024);
    const started = Date.now();
    // Raw zeros: tar end-of-archive blocks forever, bounded by the decompressed-bytes meter.
    await expectError(
      loadChartArchive(new Uint8Array(gzipSync(zeros)), { maxTotalBytes: 1024 * 1024 }),
      'SIZE_LIMIT_EXCEEDED',
    );
    // A single 50 MiB file of zeros: rejected from its header.
    const bomb = await tgz([
      { name: 'demo/Chart.yaml', data: CHART_YAML },
      { name: 'demo/zeros', data: zeros },
    ]);
    expect(bomb.byteLength).toBeLessThan(200 * 1024);
    await expectError(
      loadChartArchive(bomb, { maxTotalBytes: 1024 * 1024 }),
      'SIZE_LIMIT_EXCEEDED',
      'decompressed chart is larger than the maximum size 1048576',
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('does not mistake header overhead for expansion (many long names with PAX headers)', async () => {
    const files = Array.from({ length: 500 }, (_, i) => ({
      name: `demo/${'d'.repeat(150)}/${'f'.repeat(100)}${i}.txt`,
      data: 'x'.repeat(10),
    }));
    const c = await loadChartArchive(await minimal(files), { maxTotalBytes: 10_000 });
    expect(c.files).toHaveLength(500);
  });

  it('bounds the compressed size', async () => {
    const bytes = await minimal([{ name: 'demo/r.txt', data: 'x'.repeat(1000) }]);
    await expectError(
      loadChartArchive(bytes, { maxCompressedBytes: 10 }),
      'SIZE_LIMIT_EXCEEDED',
      'compressed chart archive is larger than the maximum size 10',
    );
  });

  it('bounds the entry count', async () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ name: `demo/f${i}.txt`, data: 'x' }));
    await expectError(
      loadChartArchive(await minimal(many), { maxEntries: 10 }),
      'SIZE_LIMIT_EXCEEDED',
      'more than the maximum of 10 entries',
    );
  });

  const laughs = [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
  ].join('\n');

  it('YAML alias bombs fail fast in Chart.yaml and values.yaml', async () => {
    const started = Date.now();
    await expectError(
      loadChartArchive(await minimal([], `${CHART_YAML}${laughs}\n`)),
      'CHART_METADATA_INVALID',
      'cannot load Chart.yaml',
    );
    await expectError(
      loadChartArchive(await minimal([{ name: 'demo/values.yaml', data: laughs }])),
      'CHART_INVALID',
      'cannot load values.yaml',
    );
    expect(() => parseChartMetadata(`${CHART_YAML}${laughs}\n`)).toThrow(ChartproofError);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('invalid values.yaml is CHART_INVALID', async () => {
    await expectError(
      loadChartArchive(await minimal([{ name: 'demo/values.yaml', data: 'a: [1, 2' }])),
      'CHART_INVALID',
      'cannot load values.yaml',
    );
    await expectError(
      loadChartArchive(await minimal([{ name: 'demo/values.yaml', data: '- 1\n- 2\n' }])),
      'CHART_INVALID',
      'cannot load values.yaml',
    );
  });

  it('loads expanded and archived subcharts, skipping _ and . names, keeping charts/*.prov', async () => {
    const sub = await tgz([
      { name: 'packed/Chart.yaml', data: 'apiVersion: v2\nname: packed\nversion: 1.0.0\n' },
    ]);
    const c = await loadChartArchive(
      await minimal([
        { name: 'demo/charts/expanded/Chart.yaml', data: 'apiVersion: v2\nname: expanded\nversion: 1.0.0\n' },
        { name: 'demo/charts/expanded/templates/t.yaml', data: 't' },
        { name: 'demo/charts/packed-1.0.0.tgz', data: sub },
        { name: 'demo/charts/packed-1.0.0.tgz.prov', data: 'prov' },
        { name: 'demo/charts/_skip/Chart.yaml', data: 'not: valid: yaml: [' },
        { name: 'demo/charts/.hidden/Chart.yaml', data: 'x' },
      ]),
    );
    expect(c.dependencies.map((d) => d.metadata.name)).toEqual(['expanded', 'packed']);
    expect(c.dependencies[0]!.templates.map((f) => f.name)).toEqual(['templates/t.yaml']);
    // An archived subchart carries its archive's sha256; an expanded one has none.
    expect(c.dependencies[0]!.digest).toBeUndefined();
    expect(c.dependencies[1]!.digest).toBe(`sha256:${createHash('sha256').update(sub).digest('hex')}`);
    expect(c.files.map((f) => f.name)).toEqual(['charts/packed-1.0.0.tgz.prov']);
  });

  it('wraps subchart errors with the subchart and parent names', async () => {
    await expectError(
      loadChartArchive(await minimal([{ name: 'demo/charts/bad/Chart.yaml', data: 'name: bad\n' }])),
      'CHART_METADATA_INVALID',
      'error unpacking subchart bad in demo: validation: chart.metadata.version is required',
    );
    await expectError(
      loadChartArchive(await minimal([{ name: 'demo/charts/x.tgz', data: 'not gzip' }])),
      'CHART_INVALID',
      'error unpacking subchart x.tgz in demo',
    );
  });

  it('bounds subchart nesting depth (directories and archives)', async () => {
    const nested: Entry[] = [{ name: 'demo/Chart.yaml', data: CHART_YAML }];
    let prefix = 'demo';
    for (let i = 0; i < 4; i++) {
      prefix += `/charts/c${i}`;
      nested.push({ name: `${prefix}/Chart.yaml`, data: `apiVersion: v2\nname: c${i}\nversion: 1.0.0\n` });
    }
    const bytes = await tgz(nested);
    expect((await loadChartArchive(bytes)).dependencies).toHaveLength(1);
    await expectError(loadChartArchive(bytes, { maxDepth: 2 }), 'SIZE_LIMIT_EXCEEDED', 'maximum depth 2');

    let inner = await tgz([{ name: 'l0/Chart.yaml', data: 'apiVersion: v2\nname: l0\nversion: 1.0.0\n' }]);
    for (let i = 1; i < 4; i++) {
      inner = await tgz([
        { name: `l${i}/Chart.yaml`, data: `apiVersion: v2\nname: l${i}\nversion: 1.0.0\n` },
        { name: `l${i}/charts/l${i - 1}-1.0.0.tgz`, data: inner },
      ]);
    }
    expect((await loadChartArchive(inner)).metadata.name).toBe('l3');
    await expectError(loadChartArchive(inner, { maxDepth: 1 }), 'SIZE_LIMIT_EXCEEDED', 'maximum depth 1');
  });

  it('honours an abort signal', async () => {
    const ctrl = new AbortController();
    ctrl.abort();
    await expectError(loadChartArchive(await minimal(), { signal: ctrl.signal }), 'ABORTED');
  });
});

describe('loadChartFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chartproof-load-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a missing file', async () => {
    await expectError(loadChartFile(join(dir, 'nope.tgz')), 'IO', 'does not exist');
  });

  it('reports non-gzip files like Helm', async () => {
    const yamlPath = join(dir, 'Chart.yaml');
    writeFileSync(yamlPath, CHART_YAML);
    await expectError(
      loadChartFile(yamlPath),
      'CHART_INVALID',
      `file '${yamlPath}' seems to be a YAML file, but expected a gzipped archive`,
    );
    const txt = join(dir, 'x.tgz');
    writeFileSync(txt, 'hello');
    await expectError(
      loadChartFile(txt),
      'CHART_INVALID',
      "does not appear to be a gzipped archive; got 'application/octet-stream'",
    );
  });

  it('loads a built archive from disk', async () => {
    const p = join(dir, 'demo-0.1.0.tgz');
    const bytes = await minimal();
    writeFileSync(p, bytes);
    const c = await loadChartFile(p);
    expect(c.digest).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  });
});

describe('Chart.yaml metadata', () => {
  const meta = (extra: Partial<ChartMetadata>): ChartMetadata => ({
    apiVersion: 'v2',
    name: 'demo',
    version: '1.0.0',
    ...extra,
  });

  // Helm v4.1.4 (sigs.k8s.io/yaml): a number bound for a string field becomes Go's text
  // for it, so `version: 1.10` is "1.1" and `appVersion: 2.0` is "2" (`helm show chart`).
  it('drops unknown keys, defaults apiVersion to v1, converts numbers as Helm does', () => {
    const m = parseChartMetadata(
      'name: demo\nversion: 1.10\nappVersion: 2.0\nunknown: [1]\ndeprecated: true\n',
    );
    expect(m).toEqual({
      name: 'demo',
      version: '1.1',
      appVersion: '2',
      apiVersion: 'v1',
      deprecated: true,
    });
  });

  it('sanitises strings like Helm (white space to a space, non-printables dropped)', () => {
    const m = parseChartMetadata('name: demo\nversion: 1.0.0\ndescription: "a\\tb\\u0007c\\u00a0d"\n');
    expect(m.description).toBe('a bc d');
  });

  it('parses empty and null values.yaml documents as empty maps', async () => {
    for (const data of ['', '~\n', '---\n---\n']) {
      const c = await loadChartArchive(await minimal([{ name: 'demo/values.yaml', data }]));
      expect(c.values).toEqual({});
    }
  });

  it('ignores a values.yaml document begun after `...` without `---`, as Helm does', async () => {
    // Helm splits values.yaml at `---` lines and reads the first document of each part
    // (checked with `helm template`, Helm v4.1.4).
    const cases: [string, Record<string, unknown>][] = [
      ['a: 1\n...\nb: 2\n', { a: 1 }],
      ['a: 1\n...\n---\nb: 2\n', { a: 1, b: 2 }],
      ['a: 1\n---   # next\nb: 2\n', { a: 1, b: 2 }],
    ];
    for (const [data, values] of cases) {
      const c = await loadChartArchive(await minimal([{ name: 'demo/values.yaml', data }]));
      expect(c.values).toEqual(values);
    }
  });

  it('resolves aliases and << merge keys (explicit keys win)', () => {
    const m = parseChartMetadata(
      'base: &b {home: h, version: 9.9.9, icon: i}\nname: &n demo\nversion: 1.0.0\n<<: *b\n' +
        'maintainers: [{name: *n}]\nkeywords: [*n]\n',
    );
    expect(m).toMatchObject({ name: 'demo', version: '1.0.0', home: 'h', icon: 'i', keywords: ['demo'] });
    expect(m.maintainers).toEqual([{ name: 'demo' }]);
  });

  it('reports YAML errors as cannot load Chart.yaml', () => {
    expect(() => parseChartMetadata('name: [unclosed')).toThrow(/^cannot load Chart.yaml: /);
    expect(() => parseChartMetadata('- a\n- b\n')).toThrow(/^cannot load Chart.yaml: /);
  });

  it.each<[Partial<ChartMetadata>, string]>([
    [{ apiVersion: '' }, 'chart.metadata.apiVersion is required'],
    [{ name: '' }, 'chart.metadata.name is required'],
    [{ name: '..' }, 'chart.metadata.name ".." is not allowed'],
    [{ name: 'a/b' }, 'chart.metadata.name "a/b" is invalid'],
    [{ name: 'a/' }, 'chart.metadata.name "a/" is invalid'],
    [{ version: '' }, 'chart.metadata.version is required'],
    [{ version: '1.2.3.4' }, 'chart.metadata.version "1.2.3.4" is invalid'],
    [{ version: '1.0.0-01' }, 'chart.metadata.version "1.0.0-01" is invalid'],
    [{ type: 'foobar' }, 'chart.metadata.type must be application or library'],
    [{ maintainers: [null as never] }, 'maintainers must not contain empty or null nodes'],
    [{ dependencies: [null as never] }, 'dependencies must not contain empty or null nodes'],
    [
      { dependencies: [{ name: 'x', repository: '', alias: 'a.b' }] },
      'dependency "x" has disallowed characters in the alias',
    ],
    [
      {
        dependencies: [
          { name: 'x', repository: '' },
          { name: 'y', repository: '', alias: 'x' },
        ],
      },
      'more than one dependency with name or alias "x"',
    ],
  ])('validation %#', (extra, message) => {
    expectSyncError(
      () => validateChartMetadata(meta(extra)),
      'CHART_METADATA_INVALID',
      `validation: ${message}`,
    );
  });

  it.each(['1', 'v1.2', '1.2.3', '1.2.3-alpha.1+build.5', '1.0.0-0a', '0.0.0'])(
    'lenient version %s is valid',
    (v) => {
      expect(() => validateChartMetadata(meta({ version: v }))).not.toThrow();
    },
  );

  it('null list entries from YAML are reported by validation', () => {
    expect(() => parseChartMetadata(`${CHART_YAML}maintainers:\n  -\n`)).toThrow(
      'validation: maintainers must not contain empty or null nodes',
    );
    expect(() => parseChartMetadata(`${CHART_YAML}dependencies:\n  - ~\n`)).toThrow(
      'validation: dependencies must not contain empty or null nodes',
    );
  });
});

// ---- fuzzing: every mutation resolves or rejects with a ChartproofError ----

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(input: Uint8Array, rand: () => number): Uint8Array {
  let out = input.slice();
  const mode = Math.floor(rand() * 3);
  if (mode !== 1) out = out.subarray(0, Math.floor(rand() * out.byteLength));
  if (mode !== 0 && out.byteLength > 0) {
    const flips = 1 + Math.floor(rand() * 8);
    for (let i = 0; i < flips; i++) out[Math.floor(rand() * out.byteLength)] = Math.floor(rand() * 256);
  }
  return out;
}

async function settlesSafely(data: Uint8Array, label: string): Promise<'ok' | 'error'> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang on ${label}`)), 5000);
  });
  try {
    await Promise.race([loadChartArchive(data, { maxTotalBytes: 4 * 1024 * 1024 }), hang]);
    return 'ok';
  } catch (err) {
    if (!(err instanceof ChartproofError)) throw new Error(`${label}: non-chartproof error: ${String(err)}`);
    expect(err.message).not.toContain('tar reader stopped');
    return 'error';
  } finally {
    clearTimeout(timer);
  }
}

describe('fuzz', () => {
  it('300 truncations and byte flips never crash or hang', { timeout: 120_000 }, async () => {
    const base = HAVE_VECTORS
      ? vector('pkg/chart/v2/loader/testdata/frobnitz-1.2.3.tgz')
      : await minimal([
          { name: 'demo/values.yaml', data: 'a: 1\n' },
          { name: 'demo/templates/t.yaml', data: 'x' },
        ]);
    const tarBytes = new Uint8Array(gunzipSync(base));
    const rand = mulberry32(0xc0ffee);
    const counts = { ok: 0, error: 0 };
    for (let i = 0; i < 300; i++) {
      // Half mutate the gzip stream, half mutate the tar inside a valid gzip stream.
      const data = i % 2 === 0 ? mutate(base, rand) : new Uint8Array(gzipSync(mutate(tarBytes, rand)));
      counts[await settlesSafely(data, `iteration ${i}`)]++;
    }
    expect(counts.ok + counts.error).toBe(300);
    expect(counts.error).toBeGreaterThan(0);
  });
});
