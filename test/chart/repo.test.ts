import { HELM_VECTORS as VECTORS } from '../helpers/vectors.js';
import { expectChartproofError as expectRejects, expectThrowsCode } from '../helpers/expect-error.js';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  downloadRepoChart,
  fetchRepoIndex,
  parseRepoIndex,
  type RepoIndex,
  resolveRepoChartVersion,
  resolveRepoUrl,
} from '../../src/chart/repo.js';
import { RegistryClient, staticCredentials } from '../../src/oci/index.js';

const TESTDATA = join(VECTORS, 'pkg', 'repo', 'v1', 'testdata');
const haveVectors = existsSync(join(TESTDATA, 'repository', 'frobnitz-1.2.3.tgz'));
if (!haveVectors)
  console.warn(
    `chart repository vector tests skipped (suites "Helm vector indexes", "repository over HTTP": they serve Helm's test archives): Helm vectors not found at ${TESTDATA}`,
  );

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

const expectCode = expectThrowsCode;

const SAMPLE = `apiVersion: v1
generated: 2016-10-06T16:23:20.499029981-06:00
entries:
  app:
    - name: app
      version: 1.1.0
      urls: [app-1.1.0.tgz]
    - name: app
      version: 1.0.0
      urls: [app-1.0.0.tgz]
    - name: app
      version: 2.0.0-rc.1
      urls: [app-2.0.0-rc.1.tgz]
    - name: app
      version: 1.10.2
      urls: [app-1.10.2.tgz]
    - name: app
      version: 1.1.5
      urls: [app-1.1.5.tgz]
    - name: app
      version: v1.2
      urls: [app-1.2.tgz]
    - name: app
      version: not-a-version
      urls: [bad.tgz]
    -
  empty: []
`;

describe('parseRepoIndex', () => {
  it('sorts entries newest first and drops invalid ones', () => {
    const warnings: string[] = [];
    const index = parseRepoIndex(SAMPLE, { onWarning: (w) => warnings.push(w) });
    expect(index.apiVersion).toBe('v1');
    expect(index.generated).toBe('2016-10-06T16:23:20.499029981-06:00');
    expect(index.entries.app!.map((e) => e.version)).toEqual([
      '2.0.0-rc.1',
      '1.10.2',
      'v1.2',
      '1.1.5',
      '1.1.0',
      '1.0.0',
    ]);
    expect(index.entries.app![0]!.apiVersion).toBe('v1');
    expect(index.entries.empty).toEqual([]);
    expect(warnings).toHaveLength(2);
  });

  // Checked against Helm v4.1.4 (`helm repo add` of such an index): sigs.k8s.io/yaml converts
  // numbers for ChartVersion's own fields, but not for the embedded Chart.yaml Metadata,
  // whose numbers make json.Unmarshal reject the whole index.
  it('converts numbers in ChartVersion fields (digest, urls, annotation keys), keeps times', () => {
    const index = parseRepoIndex(
      'apiVersion: v1\nentries:\n  x:\n    - name: x\n      version: 1.0.0\n      urls: [12]\n' +
        '      created: 2020-01-01T00:00:00Z\n      deprecated: yes\n      annotations: {1.10: a}\n',
    );
    const e = index.entries.x![0]!;
    expect(e.urls).toEqual(['12']);
    expect(e.created).toBe('2020-01-01T00:00:00Z');
    expect(e.deprecated).toBe(true);
    expect(e.annotations).toEqual({ '1.1': 'a' });
  });

  it.each([
    ['version: 1.0', 'version'],
    ['appVersion: 1.10', 'appVersion'],
    ['keywords: [1.10]', 'keywords'],
    ['annotations: {k: 1.50}', 'annotation'],
    ['maintainers: [{name: 012}]', 'name'],
    ['dependencies: [{name: d, version: 1.10, repository: ""}]', 'version'],
  ])('rejects the index for a number in a Chart.yaml field, as Helm does (%s)', (line, field) => {
    const yaml = `apiVersion: v1\nentries:\n  x:\n    - name: x\n      urls: [x.tgz]\n      ${line}\n${line.startsWith('version') ? '' : '      version: 1.0.0\n'}`;
    expect(() => parseRepoIndex(yaml)).toThrow(new RegExp(`${field}.*must be`));
  });

  it('accepts JSON', () => {
    const json = JSON.stringify({
      apiVersion: 'v1',
      entries: { a: [{ name: 'a', version: '0.1.0', urls: ['a.tgz'] }] },
    });
    expect(parseRepoIndex(new TextEncoder().encode(json)).entries.a![0]!.urls).toEqual(['a.tgz']);
  });

  it('rejects empty, versionless, malformed and mistyped indexes', () => {
    expectCode(() => parseRepoIndex(''), 'CHART_INVALID', /empty/);
    expectCode(() => parseRepoIndex('entries: {}\n'), 'CHART_INVALID', /no API version/);
    expectCode(() => parseRepoIndex('apiVersion: v1\nentries: [\n'), 'CHART_INVALID');
    expectCode(() => parseRepoIndex('- a\n- b\n'), 'CHART_INVALID', /mapping/);
    expectCode(() => parseRepoIndex('apiVersion: v1\napiVersion: v2\n'), 'CHART_INVALID');
    expectCode(
      () =>
        parseRepoIndex(
          'apiVersion: v1\nentries:\n  a:\n    - name: a\n      version: 1.0.0\n      urls: a.tgz\n',
        ),
      'CHART_INVALID',
      /urls/,
    );
  });

  it('enforces the size limit', () => {
    expectCode(() => parseRepoIndex(SAMPLE, { maxBytes: 100 }), 'SIZE_LIMIT_EXCEEDED');
  });

  it('stops YAML alias bombs quickly', () => {
    const lines = ['apiVersion: v1', 'a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    let prev = 'a';
    for (let i = 0; i < 9; i++) {
      const name = `b${i}`;
      lines.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(',')}]`);
      prev = name;
    }
    lines.push('entries: {}');
    const start = Date.now();
    expectCode(() => parseRepoIndex(lines.join('\n')), 'CHART_INVALID', /alias/);
    expect(Date.now() - start).toBeLessThan(2000);
  });
});

describe.skipIf(!haveVectors)('Helm vector indexes', () => {
  for (const file of ['local-index.yaml', 'chartmuseum-index.yaml']) {
    it(`parses ${file}`, async () => {
      const index = parseRepoIndex(await readFile(join(TESTDATA, file)));
      expect(index.apiVersion).toBe('v1');
      expect(Object.keys(index.entries).sort()).toEqual(['alpine', 'chartWithNoURL', 'nginx']);
      expect(index.entries.nginx!.map((e) => e.version)).toEqual(['0.2.0', '0.1.0']);
      expect(index.entries.alpine![0]!.urls).toHaveLength(2);
      expect(index.entries.chartWithNoURL![0]!.urls).toEqual([]);
      expect(resolveRepoChartVersion(index, 'nginx').version).toBe('0.2.0');
      expect(resolveRepoChartVersion(index, 'nginx', '<0.2').version).toBe('0.1.0');
    });
  }
});

describe('resolveRepoChartVersion', () => {
  const index = parseRepoIndex(SAMPLE);
  const pick = (range?: string, includePrerelease?: boolean) =>
    resolveRepoChartVersion(index, 'app', range, includePrerelease ? { includePrerelease } : {}).version;

  it('resolves ranges like helm pull --version', () => {
    expect(pick()).toBe('1.10.2');
    expect(pick('')).toBe('1.10.2');
    expect(pick('~1.1')).toBe('1.1.5');
    expect(pick('^1')).toBe('1.10.2');
    expect(pick('1.1.0')).toBe('1.1.0');
    expect(pick('v1.2')).toBe('v1.2');
    expect(pick('1.2.0')).toBe('v1.2');
    expect(pick('>=1.0.0, <1.1.0')).toBe('1.0.0');
    expect(pick('1.1.x')).toBe('1.1.5');
  });

  it('excludes prereleases unless asked or named by the range', () => {
    expect(pick('>=1.5')).toBe('1.10.2');
    expect(pick('>=1.5', true)).toBe('2.0.0-rc.1');
    expect(pick(undefined, true)).toBe('2.0.0-rc.1');
    expect(pick('>=2.0.0-0')).toBe('2.0.0-rc.1');
    expect(pick('2.0.0-rc.1')).toBe('2.0.0-rc.1');
  });

  it('reports missing charts and versions as NOT_FOUND', () => {
    expectCode(() => pick('^3'), 'NOT_FOUND', /chart "app" version "\^3" not found/);
    expectCode(() => resolveRepoChartVersion(index, 'nope'), 'NOT_FOUND', /chart "nope" not found/);
    expectCode(() => resolveRepoChartVersion(index, 'empty'), 'NOT_FOUND');
    expectCode(() => resolveRepoChartVersion(index, 'toString'), 'NOT_FOUND');
    expectCode(() => pick('>>>1'), 'INVALID_ARGUMENT');
  });
});

describe('resolveRepoUrl', () => {
  it('resolves like Helm ResolveReferenceURL', () => {
    expect(resolveRepoUrl('https://e.test/charts', 'a-1.0.0.tgz')).toBe('https://e.test/charts/a-1.0.0.tgz');
    expect(resolveRepoUrl('https://e.test/charts/', 'a.tgz')).toBe('https://e.test/charts/a.tgz');
    expect(resolveRepoUrl('https://e.test/charts?sig=1', 'sub/a.tgz')).toBe(
      'https://e.test/charts/sub/a.tgz?sig=1',
    );
    expect(resolveRepoUrl('https://e.test/charts', '/abs/a.tgz')).toBe('https://e.test/abs/a.tgz');
    expect(resolveRepoUrl('https://e.test/charts', 'https://cdn.test/a.tgz')).toBe('https://cdn.test/a.tgz');
  });
});

describe.skipIf(!haveVectors)('repository over HTTP', () => {
  // MANIFEST.md section 5 (the frobnitz digest in full, the others as first…last hex digits).
  const EXPECTED: Record<string, string> = {
    'frobnitz-1.2.3.tgz': '3bbfcddf35ae259e74bfdcecf384ab249b4943d14bd18688fb9138b61647a89e',
    'sprocket-1.1.0.tgz': '349eebf2…3fb5',
    'sprocket-1.2.0.tgz': '9d291911…e0a',
    'universe/zarthal-1.0.0.tgz': 'b0d177f8…c92d',
  };
  const files = new Map<string, Uint8Array>();
  const digests = new Map<string, string>();
  let server: Server;
  let base = '';
  let index = '';
  const requests: { url: string; auth: string | undefined }[] = [];

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ url: url.pathname, auth: req.headers.authorization });
    let path = url.pathname;
    if (path.startsWith('/private/')) {
      const expected = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end('unauthorized');
        return;
      }
      path = path.slice('/private'.length);
    }
    if (path === '/repo/index.yaml') {
      res.writeHead(200, { 'content-type': 'application/x-yaml' }).end(index);
      return;
    }
    if (path === '/big/index.yaml') {
      res.writeHead(200).end(`apiVersion: v1\n#${'x'.repeat(4096)}\n`);
      return;
    }
    if (path === '/tampered/sprocket-1.2.0.tgz') {
      res.writeHead(200).end(files.get('sprocket-1.1.0.tgz'));
      return;
    }
    const file = path.startsWith('/repo/') ? files.get(path.slice('/repo/'.length)) : undefined;
    if (!file) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip' }).end(file);
  }

  beforeAll(async () => {
    for (const name of Object.keys(EXPECTED)) {
      const data = new Uint8Array(await readFile(join(TESTDATA, 'repository', name)));
      files.set(name, data);
      digests.set(name, sha256(data));
    }
    server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const d = (n: string) => digests.get(n)!;
    index = [
      'apiVersion: v1',
      'entries:',
      '  frobnitz:',
      '    - name: frobnitz',
      '      version: 1.2.3',
      `      digest: ${d('frobnitz-1.2.3.tgz')}`,
      '      urls: [frobnitz-1.2.3.tgz]',
      '  sprocket:',
      '    - name: sprocket',
      '      version: 1.1.0',
      `      digest: sha256:${d('sprocket-1.1.0.tgz').toUpperCase()}`,
      `      urls: ["${base}/repo/sprocket-1.1.0.tgz"]`,
      '    - name: sprocket',
      '      version: 1.2.0',
      `      digest: ${d('sprocket-1.2.0.tgz')}`,
      `      urls: ["${base}/tampered/sprocket-1.2.0.tgz"]`,
      '  zarthal:',
      '    - name: zarthal',
      '      version: 1.0.0',
      '      urls: [universe/zarthal-1.0.0.tgz]',
      '  broken:',
      '    - name: broken',
      '      version: 1.0.0',
      '      digest: "sha256:1234567890abcdef"',
      '      urls: [frobnitz-1.2.3.tgz]',
      '',
    ].join('\n');
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const client = () => new RegistryClient({ retry: { maxRetries: 0 } });

  it('serves archives whose digests match the manifest', () => {
    for (const [name, expected] of Object.entries(EXPECTED)) {
      const [head, tail = ''] = expected.split('…');
      const actual = digests.get(name)!;
      expect(actual).toMatch(/^[0-9a-f]{64}$/);
      expect(actual.startsWith(head!) && actual.endsWith(tail)).toBe(true);
    }
  });

  it('fetches the index', async () => {
    const c = client();
    try {
      const idx: RepoIndex = await fetchRepoIndex(c, `${base}/repo`);
      expect(idx.entries.sprocket!.map((e) => e.version)).toEqual(['1.2.0', '1.1.0']);
      await expectRejects(fetchRepoIndex(c, `${base}/big/`, { maxBytes: 1024 }), 'SIZE_LIMIT_EXCEEDED');
      await expectRejects(fetchRepoIndex(c, 'ftp://127.0.0.1/repo'), 'INVALID_ARGUMENT');
      await expectRejects(fetchRepoIndex(c, `${base}/missing`), 'NOT_FOUND');
    } finally {
      await c.close();
    }
  });

  it('downloads and verifies relative and absolute URLs', async () => {
    const c = client();
    try {
      const frob = await downloadRepoChart(c, `${base}/repo/`, 'frobnitz');
      expect(frob.url).toBe(`${base}/repo/frobnitz-1.2.3.tgz`);
      expect(frob.digest).toBe(`sha256:${EXPECTED['frobnitz-1.2.3.tgz']}`);
      expect(frob.verified).toBe(true);
      expect(frob.archive).toEqual(files.get('frobnitz-1.2.3.tgz'));

      const sprocket = await downloadRepoChart(c, `${base}/repo`, 'sprocket', { version: '~1.1' });
      expect(sprocket.url).toBe(`${base}/repo/sprocket-1.1.0.tgz`);
      expect(sprocket.entry.version).toBe('1.1.0');
      expect(sprocket.verified).toBe(true);

      const zarthal = await downloadRepoChart(c, `${base}/repo`, 'zarthal', { version: '1.0.0' });
      expect(zarthal.url).toBe(`${base}/repo/universe/zarthal-1.0.0.tgz`);
      expect(zarthal.digest).toBe(`sha256:${digests.get('universe/zarthal-1.0.0.tgz')}`);
      expect(zarthal.verified).toBe(false);
    } finally {
      await c.close();
    }
  });

  it('rejects tampered archives and malformed digests', async () => {
    const c = client();
    try {
      await expectRejects(
        downloadRepoChart(c, `${base}/repo`, 'sprocket'),
        'DIGEST_MISMATCH',
        /does not match/,
      );
      await expectRejects(downloadRepoChart(c, `${base}/repo`, 'broken'), 'INVALID_DIGEST');
      await expectRejects(downloadRepoChart(c, `${base}/repo`, 'sprocket', { version: '^2' }), 'NOT_FOUND');
      await expectRejects(downloadRepoChart(c, `${base}/repo`, 'nope'), 'NOT_FOUND');
      await expectRejects(
        downloadRepoChart(c, `${base}/repo`, 'frobnitz', { maxBytes: 100 }),
        'SIZE_LIMIT_EXCEEDED',
      );
    } finally {
      await c.close();
    }
  });

  it('uses basic auth from the credential provider (over plain HTTP only for a host configured for it)', async () => {
    const host = new URL(base).host;
    const anonymous = client();
    const credentials = staticCredentials({ [host]: { username: 'alice', password: 's3cret' } });
    // Credentials stored for the host, the host not configured for plain HTTP: none sent.
    const unconfigured = new RegistryClient({ retry: { maxRetries: 0 }, credentials });
    const authed = new RegistryClient({
      retry: { maxRetries: 0 },
      credentials,
      hosts: { [host]: { plainHttp: true } },
    });
    try {
      await expectRejects(fetchRepoIndex(anonymous, `${base}/private/repo`), 'UNAUTHORIZED');
      requests.length = 0;
      await expectRejects(fetchRepoIndex(unconfigured, `${base}/private/repo`), 'UNAUTHORIZED');
      expect(requests.length).toBeGreaterThan(0);
      expect(requests.filter((r) => r.auth !== undefined)).toEqual([]);
      requests.length = 0;
      const chart = await downloadRepoChart(authed, `${base}/private/repo`, 'frobnitz');
      expect(chart.verified).toBe(true);
      expect(
        requests.some((r) => r.url === '/private/repo/frobnitz-1.2.3.tgz' && r.auth?.startsWith('Basic ')),
      ).toBe(true);
    } finally {
      await anonymous.close();
      await unconfigured.close();
      await authed.close();
    }
  });
});
