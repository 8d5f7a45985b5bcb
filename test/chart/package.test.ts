import { marshalGoYaml } from '../../src/chart/go-yaml.js';
import { HELM_VECTORS as VECTORS, vectorFileAvailable } from '../helpers/vectors.js';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHelmIgnore } from '../../src/chart/helmignore.js';
import { loadChartArchive } from '../../src/chart/load.js';
import {
  createChartArchive,
  helmGzipHeader,
  loadChartDirectory,
  packageChart,
  tarHeaderBlocks,
} from '../../src/chart/package.js';
import type { CommandContext } from '../../src/cli/commands.js';
import type { CliIo } from '../../src/cli/io.js';
import { PACKAGE_COMMAND } from '../../src/cli/package-command.js';
import { ChartproofError } from '../../src/errors.js';

const HASHTEST = join(VECTORS, 'pkg/provenance/testdata/hashtest');
const HAVE_HASHTEST = existsSync(join(HASHTEST, 'Chart.yaml'));
if (!HAVE_HASHTEST) console.warn(`package vectors skipped: ${HASHTEST} not found`);

// ---- helpers ----

interface TarRecord {
  name: string;
  header: Buffer;
  data: Buffer;
}

function untar(tgz: Uint8Array): TarRecord[] {
  const raw = gunzipSync(tgz);
  const out: TarRecord[] = [];
  let off = 0;
  let zeroBlocks = 0;
  while (off < raw.length) {
    const header = raw.subarray(off, off + 512);
    if (header.every((b) => b === 0)) {
      zeroBlocks++;
      off += 512;
      continue;
    }
    expect(zeroBlocks).toBe(0);
    const str = (a: number, n: number) =>
      header
        .subarray(a, a + n)
        .toString('latin1')
        .replace(/\0.*$/s, '');
    const size = Number.parseInt(str(124, 12), 8);
    const prefix = str(345, 155);
    const name = prefix ? `${prefix}/${str(0, 100)}` : str(0, 100);
    out.push({
      name,
      header: Buffer.from(header),
      data: Buffer.from(raw.subarray(off + 512, off + 512 + size)),
    });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  expect(zeroBlocks).toBe(2);
  return out;
}

const field = (h: Buffer, a: number, n: number) => h.subarray(a, a + n).toString('latin1');

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
}

const CHART_FILES: Record<string, string> = {
  'Chart.yaml':
    'name: demo\nversion: 0.1.0\napiVersion: v2\nappVersion: "1.0"\ndescription: A demo chart used to check that chartproof packages charts reproducibly, with folding of long plain scalars\nkeywords: [b, a]\nmaintainers:\n  - name: Jane\n    email: jane@example.com\ndependencies:\n  - name: sub\n    version: 0.2.0\n    repository: file://charts/sub\n',
  'Chart.lock':
    'dependencies:\n- name: sub\n  repository: file://charts/sub\n  version: 0.2.0\ndigest: sha256:abc\ngenerated: "2021-05-02T15:07:22.1099921+02:00"\n',
  'values.yaml': '# comment kept verbatim\nreplicas: 1\n',
  'values.schema.json': '{"type":"object"}\n',
  '.helmignore': '# ignore\n*.bak\nignored/\n',
  'templates/deploy.yaml': 'kind: Deployment\n',
  'templates/.hidden': 'skip me\n',
  'templates/_helpers.tpl': '{{/* h */}}\n',
  'README.md': '# demo\n',
  'notes.bak': 'ignored\n',
  'ignored/x.txt': 'ignored\n',
  'crds/crd.yaml': 'kind: CustomResourceDefinition\n',
  'charts/sub/Chart.yaml': 'apiVersion: v2\nname: sub\nversion: 0.2.0\n',
  'charts/sub/values.yaml': 'a: 1\n',
  'charts/sub/templates/cm.yaml': 'kind: ConfigMap\n',
};

const EXPECTED_NAMES = [
  'demo/Chart.yaml',
  'demo/Chart.lock',
  'demo/values.yaml',
  'demo/values.schema.json',
  'demo/templates/_helpers.tpl',
  'demo/templates/deploy.yaml',
  'demo/.helmignore',
  'demo/README.md',
  'demo/crds/crd.yaml',
  'demo/charts/sub/Chart.yaml',
  'demo/charts/sub/values.yaml',
  'demo/charts/sub/templates/cm.yaml',
];

let work: string;
let chartDir: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'chartproof-package-'));
  chartDir = join(work, 'demo');
  await writeTree(chartDir, CHART_FILES);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

// ---- .helmignore ----

describe('parseHelmIgnore', () => {
  const cases: Array<[pattern: string, path: string, isDir: boolean, ignored: boolean]> = [
    ['!helm.txt', 'helm.txt', false, false],
    ['!helm.txt', 'tiller.txt', false, true],
    ['!*.txt', 'cargo', true, true],
    ['!cargo/', 'mast', true, true],
    ['!cargo/', 'cargo', false, true],
    ['helm.txt/', 'helm.txt', false, false],
    ['helm.txt/', 'helm.txt', true, true],
    ['/a.txt', 'cargo/a.txt', false, false],
    ['/a.txt', 'a.txt', false, true],
    ['*.txt', 'cargo/a.txt', false, true],
    ['cargo/*.txt', 'cargo/a.txt', false, true],
    ['cargo/*.txt', 'x/cargo/a.txt', false, false],
    ['*.txt', 'a.txtx', false, false],
    ['a?c', 'abc', false, true],
    ['a?c', 'a/c', false, false],
    ['[a-c].md', 'b.md', false, true],
    ['[^a-c].md', 'b.md', false, false],
    ['\\*.md', '*.md', false, true],
    ['values-production.yaml', 'values-production.yaml', false, true],
    ['a/b(c)+{d}|$^.txt', 'a/b(c)+{d}|$^.txt', false, true],
    ['[\\]\\-]x', ']x', false, true],
    ['[\\]\\-]x', '-x', false, true],
    ['[a\\-c]x', 'bx', false, false],
    ['.*', '.', true, false],
    ['.*', './', true, false],
    ['.*', '.git', true, true],
    ['templates/.?*', 'templates/.hidden', false, true],
    ['templates/.?*', 'templates/.', false, false],
  ];
  it.each(cases)('%s on %s (dir=%s) → %s', (pattern, path, isDir, ignored) => {
    expect(parseHelmIgnore(`${pattern}\n`).ignore(path, isDir)).toBe(ignored);
  });

  it('skips comments, blank lines and a BOM, trims lines, first decisive rule wins', () => {
    const rules = parseHelmIgnore('\uFEFF# c\n\n   *.tmp  \n!keep.tmp\n');
    expect(rules.patterns).toEqual(['*.tmp', '!keep.tmp']);
    expect(rules.ignore('x.tmp', false)).toBe(true);
    expect(rules.ignore('keep.tmp', false)).toBe(true); // *.tmp decides first
    expect(rules.ignore('other', false)).toBe(true); // Helm's negation quirk
  });

  it('rejects ** and malformed globs', () => {
    expect(() => parseHelmIgnore('a/**/b')).toThrow('double-star (**) syntax is not supported');
    expect(() => parseHelmIgnore('[abc')).toThrow(ChartproofError);
    expect(() => parseHelmIgnore('abc\\')).toThrow(ChartproofError);
    expect(() => parseHelmIgnore('[\\]-]x')).toThrow(ChartproofError); // Go: a range may not end in ]
    expect(() => parseHelmIgnore('[]a]')).toThrow(ChartproofError); // classes must be non-empty
  });
});

// ---- YAML ----

describe('sigs.k8s.io/yaml-style marshalling', () => {
  it('sorts keys, does not indent sequences, quotes ambiguous strings, folds at 80 columns', () => {
    const text = marshalGoYaml({
      version: '1.0',
      name: 'x',
      keywords: ['a', 'true'],
      maintainers: [{ name: 'n', email: 'e' }],
      annotations: { b: '*star', a: "it's: odd" },
      description: `${'word '.repeat(20)}end`,
    });
    expect(text).toBe(
      [
        'annotations:',
        "  a: 'it''s: odd'",
        "  b: '*star'",
        `description: ${'word '.repeat(13)}word`,
        `  ${'word '.repeat(6)}end`,
        'keywords:',
        '- a',
        '- "true"',
        'maintainers:',
        '- email: e',
        '  name: "n"', // yaml.v2 resolves y/n as booleans
        'name: x',
        'version: "1.0"',
        '',
      ].join('\n'),
    );
  });

  it.skipIf(
    !vectorFileAvailable(
      join(VECTORS, 'pkg/action/testdata/charts/chart-with-compressed-dependencies-2.1.8.tgz'),
      'Chart.yaml byte-for-byte check',
    ),
  )('reproduces the Chart.yaml files of a Helm-packaged archive byte for byte', async () => {
    const tgz = readFileSync(
      join(VECTORS, 'pkg/action/testdata/charts/chart-with-compressed-dependencies-2.1.8.tgz'),
    );
    const chart = await loadChartArchive(new Uint8Array(tgz));
    const records = untar(tgz);
    const check = (meta: typeof chart.metadata, name: string) => {
      const m = { ...meta };
      if (m.apiVersion === 'v1') delete m.dependencies;
      const raw = records.find((r) => r.name.endsWith(name))!.data.toString('utf8');
      expect(marshalGoYaml(JSON.parse(JSON.stringify(m)))).toBe(raw);
    };
    check(chart.metadata, '/Chart.yaml');
    check(chart.dependencies[0]!.metadata, '/charts/mariadb/Chart.yaml');
  });
});

// ---- loading and packaging ----

describe('loadChartDirectory', () => {
  it('applies .helmignore and the default templates/.?* rule, in lexical walk order', async () => {
    const { chart, mtimes } = await loadChartDirectory(chartDir);
    expect(chart.metadata.name).toBe('demo');
    expect(chart.templates.map((f) => f.name)).toEqual(['templates/_helpers.tpl', 'templates/deploy.yaml']);
    expect(chart.files.map((f) => f.name)).toEqual(['.helmignore', 'README.md', 'crds/crd.yaml']);
    expect(chart.dependencies.map((d) => d.metadata.name)).toEqual(['sub']);
    expect([...mtimes.keys()]).toContain('charts/sub/templates/cm.yaml');
    expect(mtimes.has('notes.bak')).toBe(false);
  });

  it('rejects symlinks (stricter than Helm)', async () => {
    const dir = join(work, 'linked');
    await writeTree(dir, { 'Chart.yaml': 'apiVersion: v2\nname: linked\nversion: 1.0.0\n' });
    await symlink(join(dir, 'Chart.yaml'), join(dir, 'link.yaml'));
    await expect(loadChartDirectory(dir)).rejects.toThrow(/symlink/);
    await writeFile(join(dir, '.helmignore'), 'link.yaml\n');
    await expect(loadChartDirectory(dir)).resolves.toBeTruthy();
  });

  it('rejects files over 5 MiB', async () => {
    const dir = join(work, 'big');
    await writeTree(dir, { 'Chart.yaml': 'apiVersion: v2\nname: big\nversion: 1.0.0\n' });
    await writeFile(join(dir, 'big.bin'), Buffer.alloc(5 * 1024 * 1024 + 1));
    await expect(loadChartDirectory(dir)).rejects.toThrow(
      'chart file "big.bin" is larger than the maximum file size 5242880',
    );
  });
});

describe('packageChart', () => {
  it('is byte-reproducible for the same epoch and differs for another epoch', async () => {
    const a = await packageChart(chartDir, { destination: join(work, 'out-a'), sourceDateEpoch: 1700000000 });
    const b = await packageChart(chartDir, { destination: join(work, 'out-b'), sourceDateEpoch: 1700000000 });
    const c = await packageChart(chartDir, { destination: join(work, 'out-c'), sourceDateEpoch: 1700000001 });
    expect(a.path).toBe(join(work, 'out-a', 'demo-0.1.0.tgz'));
    const bytesA = await readFile(a.path);
    const bytesB = await readFile(b.path);
    expect(Buffer.compare(bytesA, bytesB)).toBe(0);
    expect(a.digest).toBe(b.digest);
    expect(a.digest).toBe(`sha256:${createHash('sha256').update(bytesA).digest('hex')}`);
    expect(a.bytes).toBe(bytesA.length);
    expect(c.digest).not.toBe(a.digest);
    expect(await readdir(join(work, 'out-a'))).toEqual(['demo-0.1.0.tgz']); // no temp files left
  });

  it('writes Helm-shaped tar entries and gzip header', async () => {
    const epoch = 1700000000;
    const r = await packageChart(chartDir, { destination: join(work, 'out-h'), sourceDateEpoch: epoch });
    const bytes = await readFile(r.path);
    // 1f8b08, FLG FEXTRA|FCOMMENT, MTIME 0, XFL 0, OS 0xff, XLEN 44, subfield rr/40, comment Helm\0
    const header = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 0x08, 0x14, 0, 0, 0, 0, 0, 0xff, 44, 0, 0x72, 0x72, 40, 0]),
      Buffer.from('aHR0cHM6Ly95b3V0dS5iZS96OVV6MWljandyTQo=Helm\0', 'latin1'),
    ]);
    expect(Buffer.from(helmGzipHeader()).equals(header)).toBe(true);
    expect(bytes.subarray(0, header.length).equals(header)).toBe(true);
    const records = untar(bytes);
    expect(records.map((r) => r.name)).toEqual(EXPECTED_NAMES);
    for (const rec of records) {
      const h = rec.header;
      expect(field(h, 100, 8)).toBe('0000644\0');
      expect(field(h, 108, 8)).toBe('0000000\0');
      expect(field(h, 116, 8)).toBe('0000000\0');
      expect(field(h, 136, 12)).toBe(`${epoch.toString(8).padStart(11, '0')}\0`);
      expect(field(h, 156, 1)).toBe('0');
      expect(field(h, 257, 8)).toBe('ustar\x0000');
      expect(h.subarray(265, 329).every((b) => b === 0)).toBe(true); // empty uname/gname
      expect(field(h, 329, 16)).toBe('0000000\x000000000\0');
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
      expect(field(h, 148, 8)).toBe(`${sum.toString(8).padStart(6, '0')}\0 `);
    }
    const text = (n: string) => records.find((r) => r.name === n)!.data.toString('utf8');
    expect(text('demo/values.yaml')).toBe(CHART_FILES['values.yaml']);
    expect(text('demo/Chart.lock')).toBe(
      'dependencies:\n- name: sub\n  repository: file://charts/sub\n  version: 0.2.0\ndigest: sha256:abc\ngenerated: "2023-11-14T22:13:20Z"\n',
    );
    expect(text('demo/Chart.yaml')).toBe(
      [
        'apiVersion: v2',
        'appVersion: "1.0"',
        'dependencies:',
        '- name: sub',
        '  repository: file://charts/sub',
        '  version: 0.2.0',
        'description: A demo chart used to check that chartproof packages charts reproducibly,',
        '  with folding of long plain scalars',
        'keywords:',
        '- b',
        '- a',
        'maintainers:',
        '- email: jane@example.com',
        '  name: Jane',
        'name: demo',
        'version: 0.1.0',
        '',
      ].join('\n'),
    );
  });

  it('uses file mtimes (rounded to seconds) and Chart.lock generated without an epoch', async () => {
    const dir = join(work, 'mtimes');
    await writeTree(dir, {
      'Chart.yaml': 'apiVersion: v2\nname: mt\nversion: 1.0.0\n',
      'Chart.lock': 'dependencies: []\ndigest: sha256:0\ngenerated: "2016-01-01T00:00:00Z"\n',
      'values.yaml': 'a: 1\n',
    });
    await utimes(join(dir, 'Chart.yaml'), 1000, 1234.6);
    await utimes(join(dir, 'values.yaml'), 1000, 1234.4);
    const saved = process.env.SOURCE_DATE_EPOCH;
    delete process.env.SOURCE_DATE_EPOCH;
    try {
      const r = await packageChart(dir, { destination: join(work, 'out-m') });
      const records = untar(await readFile(r.path));
      const mtime = (n: string) =>
        Number.parseInt(field(records.find((x) => x.name === n)!.header, 136, 11), 8);
      expect(mtime('mt/Chart.yaml')).toBe(1235);
      expect(mtime('mt/values.yaml')).toBe(1234);
      expect(mtime('mt/Chart.lock')).toBe(Date.UTC(2016, 0, 1) / 1000);
      expect(records.find((x) => x.name === 'mt/Chart.lock')!.data.toString()).toBe(
        'dependencies: []\ndigest: sha256:0\ngenerated: "2016-01-01T00:00:00Z"\n',
      );
    } finally {
      if (saved !== undefined) process.env.SOURCE_DATE_EPOCH = saved;
    }
  });

  it('reads SOURCE_DATE_EPOCH and rejects invalid values', async () => {
    const saved = process.env.SOURCE_DATE_EPOCH;
    try {
      process.env.SOURCE_DATE_EPOCH = '86400';
      const r = await packageChart(chartDir, { destination: join(work, 'out-e') });
      const h = untar(await readFile(r.path))[0]!.header;
      expect(Number.parseInt(field(h, 136, 11), 8)).toBe(86400);
      process.env.SOURCE_DATE_EPOCH = '-1';
      await expect(packageChart(chartDir, { destination: join(work, 'out-e') })).rejects.toThrow(
        'invalid SOURCE_DATE_EPOCH: -1',
      );
    } finally {
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = saved;
    }
  });

  it('round-trips through loadChartArchive', async () => {
    const r = await packageChart(chartDir, { destination: join(work, 'out-r'), sourceDateEpoch: 0 });
    const loaded = await loadChartArchive(new Uint8Array(await readFile(r.path)));
    const { chart } = await loadChartDirectory(chartDir);
    expect(loaded.metadata).toEqual(chart.metadata);
    expect(loaded.values).toEqual(chart.values);
    expect(loaded.templates).toEqual(chart.templates);
    expect(loaded.files).toEqual(chart.files);
    expect(loaded.schema).toEqual(chart.schema);
    expect(loaded.dependencies[0]!.metadata.name).toBe('sub');
    expect(loaded.dependencies[0]!.templates).toEqual(chart.dependencies[0]!.templates);
  });

  it('applies --version/--app-version overrides and checks dependencies', async () => {
    const r = await packageChart(chartDir, {
      destination: join(work, 'out-v'),
      sourceDateEpoch: 0,
      version: '0.2.0+build.1',
      appVersion: '9.9',
    });
    expect(r.path.endsWith('demo-0.2.0+build.1.tgz')).toBe(true);
    const loaded = await loadChartArchive(new Uint8Array(await readFile(r.path)));
    expect(loaded.metadata.version).toBe('0.2.0+build.1');
    expect(loaded.metadata.appVersion).toBe('9.9');
    await expect(
      packageChart(chartDir, { destination: work, sourceDateEpoch: 0, version: 'x.y' }),
    ).rejects.toThrow('chart.metadata.version "x.y" is invalid');
    const dir = join(work, 'missing-dep');
    await writeTree(dir, {
      'Chart.yaml':
        'apiVersion: v2\nname: md\nversion: 1.0.0\ndependencies:\n- name: a\n  repository: x\n- name: b\n  repository: y\n',
    });
    await expect(packageChart(dir, { destination: work, sourceDateEpoch: 0 })).rejects.toThrow(
      'found in Chart.yaml, but missing in charts/ directory: a, b',
    );
  });

  it('rejects invalid values.schema.json', async () => {
    const dir = join(work, 'badschema');
    await writeTree(dir, {
      'Chart.yaml': 'apiVersion: v2\nname: bs\nversion: 1.0.0\n',
      'values.schema.json': '{nope',
    });
    await expect(packageChart(dir, { destination: work, sourceDateEpoch: 0 })).rejects.toThrow(
      'invalid JSON in values.schema.json',
    );
  });

  it('createChartArchive needs mtimes or an epoch', async () => {
    const { chart } = await loadChartDirectory(chartDir);
    await expect(createChartArchive(chart, new Map())).rejects.toThrow(/no modification time/);
  });

  it.skipIf(
    !vectorFileAvailable(
      join(VECTORS, 'pkg/action/testdata/charts/chart-with-lock/Chart.lock'),
      'SOURCE_DATE_EPOCH Chart.lock check',
    ),
  )('stamps Chart.lock with SOURCE_DATE_EPOCH like Helm (chart-with-lock vector)', async () => {
    const epoch = 1577836800;
    const r = await packageChart(join(VECTORS, 'pkg/action/testdata/charts/chart-with-lock'), {
      destination: join(work, 'out-lock'),
      sourceDateEpoch: epoch,
    });
    const lock = untar(await readFile(r.path)).find((x) => x.name === 'chart-with-lock/Chart.lock')!;
    expect(Number.parseInt(field(lock.header, 136, 11), 8)).toBe(epoch);
    expect(lock.data.toString()).toContain('generated: "2020-01-01T00:00:00Z"\n');
  });

  it.skipIf(
    !vectorFileAvailable(
      join(VECTORS, 'pkg/action/testdata/charts/chart-with-uncompressed-dependencies-2.1.8.tgz'),
      'repackaging check',
    ),
  )('repackaging an extracted Helm archive gives the same entries, order and contents', async () => {
    const helmTgz = readFileSync(
      join(VECTORS, 'pkg/action/testdata/charts/chart-with-uncompressed-dependencies-2.1.8.tgz'),
    );
    const helmRecords = untar(helmTgz);
    const dir = join(work, 'extracted');
    for (const rec of helmRecords) {
      const path = join(dir, rec.name.slice(rec.name.indexOf('/') + 1));
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, rec.data);
    }
    const r = await packageChart(dir, { destination: join(work, 'out-x'), sourceDateEpoch: 0 });
    const ours = untar(await readFile(r.path));
    expect(ours.map((x) => x.name)).toEqual(helmRecords.map((x) => x.name));
    for (let i = 0; i < ours.length; i++) expect(ours[i]!.data.equals(helmRecords[i]!.data)).toBe(true);
  });

  it('rejects irregular files', async () => {
    const dir = join(work, 'fifo');
    await writeTree(dir, { 'Chart.yaml': 'apiVersion: v2\nname: ff\nversion: 1.0.0\n' });
    try {
      execFileSync('mkfifo', [join(dir, 'pipe')]);
    } catch {
      console.warn('mkfifo unavailable; irregular file test skipped');
      return;
    }
    await expect(loadChartDirectory(dir)).rejects.toThrow(
      /cannot load irregular file .*pipe as it has file mode type bits set/,
    );
  });

  it.skipIf(!HAVE_HASHTEST)('packages the hashtest vector source directory', async () => {
    const r = await packageChart(HASHTEST, { destination: join(work, 'out-hash'), sourceDateEpoch: 0 });
    expect(r.name).toBe('hashtest');
    expect(r.version).toBe('1.2.3');
    const loaded = await loadChartArchive(new Uint8Array(await readFile(r.path)));
    expect(loaded.metadata.name).toBe('hashtest');
    expect(loaded.metadata.version).toBe('1.2.3');
    // hashtest-1.2.3.tgz was made by an old Helm with Go's deflate: the reference says
    // it is not byte-reproducible with zlib, so only the contents are compared.
    const helm = await loadChartArchive(
      new Uint8Array(readFileSync(join(VECTORS, 'pkg/provenance/testdata/hashtest-1.2.3.tgz'))),
    );
    expect(loaded.metadata).toEqual(helm.metadata);
    expect(loaded.files.map((f) => f.name)).toEqual(helm.files.map((f) => f.name));
  });
});

// ---- PAX headers (Go archive/tar, as Helm writes them) ----

describe('PAX headers', () => {
  const LONG = 'x'.repeat(120); // one path component over 100 bytes: USTAR cannot split it
  let records: TarRecord[];
  let loadedNames: string[];

  beforeAll(async () => {
    const dir = join(work, 'pax');
    await writeTree(dir, {
      'Chart.yaml': 'apiVersion: v2\nname: pax\nversion: 0.1.0\n',
      'files/héllo.txt': 'hi\n',
      [`files/${LONG}.txt`]: 'long\n',
      [`files/${'d'.repeat(60)}/${'e'.repeat(60)}/split.txt`]: 'split\n',
    });
    const r = await packageChart(dir, { destination: join(work, 'out-pax'), sourceDateEpoch: 1700000000 });
    const bytes = await readFile(r.path);
    records = untar(bytes);
    loadedNames = (await loadChartArchive(new Uint8Array(bytes))).files.map((f) => f.name);
  });

  it('writes a non-ASCII name as a PaxHeaders.0 entry with a path record, then an ASCII-only header', () => {
    const i = records.findIndex((r) => r.name === 'pax/files/PaxHeaders.0/hllo.txt');
    expect(i).toBeGreaterThanOrEqual(0);
    const x = records[i]!;
    expect(field(x.header, 156, 1)).toBe('x');
    expect(field(x.header, 100, 24)).toBe('0000000\0'.repeat(3)); // mode, uid, gid 0
    expect(field(x.header, 136, 12)).toBe('00000000000\0'); // mtime 0
    expect(field(x.header, 257, 8)).toBe('ustar\x0000');
    expect(x.header.subarray(329, 345).every((b) => b === 0)).toBe(true); // no devmajor/devminor
    // "29 path=…\n": 29 counts its own two digits; é is two bytes.
    expect(x.data.toString('utf8')).toBe('29 path=pax/files/héllo.txt\n');
    const file = records[i + 1]!;
    expect(file.name).toBe('pax/files/hllo.txt');
    expect(field(file.header, 156, 1)).toBe('0');
    expect(file.data.toString()).toBe('hi\n');
    expect(loadedNames).toContain('files/héllo.txt');
  });

  it('writes an unsplittable long name with a path record and the name cut at 100 bytes', () => {
    const full = `pax/files/${LONG}.txt`;
    const x = records.find((r) => r.data.toString('utf8').endsWith(`path=${full}\n`))!;
    expect(x).toBeDefined();
    expect(x.name).toBe(`pax/files/PaxHeaders.0/${LONG}.txt`.slice(0, 100));
    const file = records[records.indexOf(x) + 1]!;
    expect(file.name).toBe(full.slice(0, 100));
    expect(loadedNames).toContain(`files/${LONG}.txt`);
  });

  it('still splits long ASCII names into USTAR prefix and name when they fit', () => {
    const name = `pax/files/${'d'.repeat(60)}/${'e'.repeat(60)}/split.txt`;
    const rec = records.find((r) => r.name === name)!;
    expect(field(rec.header, 156, 1)).toBe('0');
    expect(records.filter((r) => field(r.header, 156, 1) === 'x')).toHaveLength(2);
  });

  it('records a modification time before 1970 in an mtime record (main header 0)', () => {
    const blocks = tarHeaderBlocks('c/a.txt', 3, -1);
    expect(blocks).toHaveLength(4);
    expect(blocks[1]!.toString()).toBe('12 mtime=-1\n');
    expect(field(blocks[0]!, 0, 21)).toBe('c/PaxHeaders.0/a.txt\0');
    expect(field(blocks[3]!, 136, 12)).toBe('00000000000\0');
  });

  it('grows the record length when its own digits push it past a power of ten', () => {
    // k + v + 3 = 98 → 98 + 2 = 100, which needs 3 digits: the record is 101 bytes.
    const name = `a/${'n'.repeat(87)}é`;
    const blocks = tarHeaderBlocks(name, 0, 0);
    expect(blocks[1]!.toString('utf8')).toBe(`101 path=${name}\n`);
    expect(blocks[1]!.length).toBe(101);
  });
});

// ---- CLI ----

function fakeCtx(args: string[], values: Record<string, unknown>, json = false) {
  let out = '';
  const io: CliIo = {
    stdout: (c) => {
      out += typeof c === 'string' ? c : Buffer.from(c).toString('utf8');
    },
    stderr: () => {},
    readStdin: async () => '',
    env: {},
  };
  const ctx = {
    args,
    values,
    flags: { json, registryConfig: undefined, plainHttp: false, insecure: false, caFile: undefined },
    io,
    client: undefined as never,
  } satisfies CommandContext;
  return { ctx, out: () => out };
}

describe('PACKAGE_COMMAND', () => {
  it('prints the written path like Helm', async () => {
    const dest = join(work, 'cli');
    const { ctx, out } = fakeCtx([chartDir], { destination: dest, 'source-date-epoch': '0' });
    expect(await PACKAGE_COMMAND.run(ctx)).toBe(0);
    expect(out()).toBe(`Successfully packaged chart and saved it to: ${join(dest, 'demo-0.1.0.tgz')}\n`);
  });

  it('prints JSON with --json', async () => {
    const dest = join(work, 'cli-json');
    const { ctx, out } = fakeCtx(
      [chartDir],
      { destination: dest, 'source-date-epoch': '0', version: '1.2.3' },
      true,
    );
    expect(await PACKAGE_COMMAND.run(ctx)).toBe(0);
    const parsed = JSON.parse(out());
    expect(parsed.path).toBe(join(dest, 'demo-1.2.3.tgz'));
    expect(parsed.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('rejects a bad --source-date-epoch', async () => {
    const { ctx } = fakeCtx([chartDir], { 'source-date-epoch': 'soon' });
    await expect(PACKAGE_COMMAND.run(ctx)).rejects.toThrow(/--source-date-epoch/);
  });
});
