import { captureIo, commandContext } from '../helpers/cli-io.js';
import { run } from '../../src/cli/main.js';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChartMetadata, parseLock } from '../../src/chart/metadata.js';
import { loadChartDirectory, packageChart } from '../../src/chart/package.js';
import type { ChartDependency, ChartLock } from '../../src/chart/types.js';
import { DEPS_COMMAND } from '../../src/cli/deps-command.js';
import { hashReq, hashReqPreimage, hashV2Req, hashV2ReqPreimage } from '../../src/lock/digest.js';
import { formatLock } from '../../src/lock/lockfile.js';
import { checkLock, verifyDependencies } from '../../src/lock/verify.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { HELM_VECTORS, helmVectorsAvailable, describeVectors } from '../helpers/vectors.js';

const sha256 = (s: string): string => `sha256:${createHash('sha256').update(s, 'utf8').digest('hex')}`;

interface HashVector {
  name: string;
  func: 'HashReq' | 'HashV2Req';
  req?: ChartDependency[];
  lock?: ChartDependency[];
  chart_yaml?: string;
  chart_lock?: string;
  requirements_yaml?: string;
  requirements_lock?: string;
  json_input: string;
  expected?: string;
  computed?: string;
  lock_digest?: string;
  match?: boolean;
  expected_match?: boolean;
}

const OUT_OF_SYNC_V4 =
  "the lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml). Please update the dependencies with 'helm dependency update'";

describeVectors(helmVectorsAvailable('Chart.lock hash vectors'))('Chart.lock digests: Helm vectors', () => {
  const vectors = JSON.parse(
    readFileSync(join(HELM_VECTORS, 'derived', 'chartlock', 'hashreq-vectors.json'), 'utf8'),
  ) as HashVector[];
  const vpath = (p: string) => join(HELM_VECTORS, p);

  /** The inputs of a vector: inline, or read from the real chart files it names. */
  function inputs(v: HashVector): {
    req: ChartDependency[] | undefined;
    lock: ChartDependency[] | undefined;
  } {
    if (v.chart_yaml && v.chart_lock) {
      return {
        req: parseChartMetadata(readFileSync(vpath(v.chart_yaml))).dependencies,
        lock: parseLock(readFileSync(vpath(v.chart_lock)), 'Chart.lock').dependencies,
      };
    }
    if (v.requirements_yaml) {
      const req = parseLock(readFileSync(vpath(v.requirements_yaml)), 'requirements.yaml').dependencies;
      return { req, lock: undefined };
    }
    return { req: v.req, lock: v.lock };
  }

  const matching = vectors.filter((v) => v.match === true);

  it('has the expected matching vectors', () => {
    expect(matching.length).toBeGreaterThanOrEqual(3);
  });

  it.each(matching.map((v) => [v.name, v] as const))('reproduces %s', (_name, v) => {
    const { req, lock } = inputs(v);
    if (v.func === 'HashReq') {
      expect(hashReqPreimage(req, lock)).toBe(v.json_input);
      expect(hashReq(req, lock)).toBe(v.expected);
    } else {
      expect(hashV2ReqPreimage(req)).toBe(v.json_input);
      expect(hashV2Req(req)).toBe(v.expected);
    }
  });

  it('parent-chart lock: sha256:9403fc24… with > escaped as \\u003e', async () => {
    const { chart } = await loadChartDirectory(
      vpath('pkg/chart/v2/util/testdata/import-values-from-enabled-subchart/parent-chart'),
    );
    const preimage = hashReqPreimage(chart.metadata.dependencies, chart.lock?.dependencies);
    expect(preimage).toContain('"version":"\\u003e= 0.0.1"');
    const check = checkLock(chart.metadata, chart.lock);
    expect(check).toEqual({
      inSync: true,
      method: 'v3',
      expected: 'sha256:9403fc24f6cf9d6055820126cf7633b4bd1fed3c77e4880c674059f536346182',
      actual: 'sha256:9403fc24f6cf9d6055820126cf7633b4bd1fed3c77e4880c674059f536346182',
    });
  });

  it('issue-7233: the Helm 2 hash is accepted for the apiVersion v1 chart, with the warning', async () => {
    const dir = vpath('pkg/cmd/testdata/testcharts/issue-7233');
    const { chart } = await loadChartDirectory(dir);
    expect(chart.metadata.apiVersion).toBe('v1');
    expect(hashReq(chart.metadata.dependencies, chart.lock?.dependencies)).not.toBe(chart.lock?.digest);
    const check = checkLock(chart.metadata, chart.lock);
    expect(check.inSync).toBe(true);
    expect(check.method).toBe('v2');
    expect(check.actual).toBe('sha256:7b380b1a826e7be1eecb089f66209d6d3df54be4bf879d4a8e6f8a9e871710e5');
    expect(check.warning).toBe('a valid Helm v3 hash was not found. Checking against Helm v2 hash...');
    expect(check.message).toBeUndefined();
    // The same lock on a v2 chart is out of sync: no Helm 2 fallback.
    const v2 = checkLock({ ...chart.metadata, apiVersion: 'v2' }, chart.lock);
    expect(v2).toMatchObject({ inSync: false, method: 'v3', message: OUT_OF_SYNC_V4 });
    // A v1 chart whose lock matches neither hash gets the requirements.lock error.
    const bad = checkLock(chart.metadata, { ...chart.lock!, digest: 'sha256:00' });
    expect(bad).toMatchObject({
      inSync: false,
      method: 'v2',
      message:
        'the lock file (requirements.lock) is out of sync with the dependencies file (requirements.yaml). Please update the dependencies',
    });
    // The lock is fine, but alpine is not vendored.
    const report = await verifyDependencies(dir);
    expect(report.ok).toBe(false);
    expect(report.lock.inSync).toBe(true);
    expect(report.dependencies).toEqual([
      {
        name: 'alpine',
        version: '0.1.0',
        status: 'missing',
        checked: { vendored: false, source: false },
        detail: 'alpine-0.1.0 is not in charts/',
      },
    ]);
  });

  it("chart-with-subchart-update: out of sync, with Helm v4's wording", async () => {
    const { chart } = await loadChartDirectory(
      vpath('pkg/cmd/testdata/testcharts/chart-with-subchart-update'),
    );
    const v = vectors.find((x) => x.name.startsWith('chart-with-subchart-update'))!;
    expect(v.expected_match).toBe(false);
    const check = checkLock(chart.metadata, chart.lock);
    expect(check).toEqual({
      inSync: false,
      method: 'v3',
      expected: v.lock_digest,
      actual: v.computed,
      message: OUT_OF_SYNC_V4,
    });
    expect(hashReqPreimage(chart.metadata.dependencies, chart.lock?.dependencies)).toBe(v.json_input);
  });

  it.each([
    'pkg/chart/v2/util/testdata/import-values-from-enabled-subchart/parent-chart/Chart.lock',
    'pkg/cmd/testdata/testcharts/chart-with-subchart-update/Chart.lock',
    'pkg/cmd/testdata/testcharts/issue-7233/requirements.lock',
  ])('formatLock writes Helm-written %s back byte for byte', (file) => {
    const bytes = readFileSync(vpath(file), 'utf8');
    expect(formatLock(parseLock(bytes, 'Chart.lock'))).toBe(bytes);
  });

  it('nil vs empty lists: [null,[]]', () => {
    const v = vectors.find((x) => x.json_input === '[null,[]]')!;
    expect(hashReqPreimage(undefined, [])).toBe('[null,[]]');
    expect(hashReq(undefined, [])).toBe(v.computed);
  });
});

describe('Chart.lock files: generated cases', () => {
  it('round-trips every field, odd characters and Unicode, in yaml.v2 key order', () => {
    const lock: ChartLock = {
      digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000',
      generated: '2024-02-29T23:59:59.999999999-08:00',
      dependencies: [
        {
          name: 'a<b>&c: "q"',
          version: '1.0.0+build.7',
          repository: 'https://e.example/ch\u00e9rts/\u{1F600}',
          condition: 'x.enabled,y.enabled',
          tags: ['front end', '#hash', 'yes'],
          enabled: true,
          'import-values': [{ child: 'c', parent: 'p' }, 'data'],
          alias: 'al-1',
          digest: `sha256:${'1'.repeat(64)}`,
          manifestDigest: `sha256:${'2'.repeat(64)}`,
        },
        { name: 'plain', version: '2.0.0', repository: '' },
      ],
    };
    const text = formatLock(lock);
    expect(
      text
        .split('\n')
        .filter((l) => /^ {2}\w|^- /.test(l))
        .map((l) => l.replace(/^(- | {2})/, '').split(':')[0]),
    ).toEqual([
      'alias',
      'condition',
      'digest',
      'enabled',
      'import-values',
      'manifestDigest',
      'name',
      'repository',
      'tags',
      'version',
      'name',
      'repository',
      'version',
    ]);
    expect(parseLock(text, 'Chart.lock')).toEqual(lock);
    // A lock without `generated` gets Go's zero time, as yaml.Marshal of a zero time.Time.
    expect(formatLock({ digest: 'x', dependencies: [] })).toBe(
      'dependencies: []\ndigest: x\ngenerated: "0001-01-01T00:00:00Z"\n',
    );
  });
});

describe('Chart.lock digests: generated cases', () => {
  it('escapes <>&, U+2028 and U+2029 like Go, keeps emoji as UTF-8', () => {
    const req: ChartDependency[] = [
      {
        name: 'a<b>&c',
        version: '>=1.0.0 <2',
        repository: 'https://e.example/ch\u2028arts/\u{1F600}\u2029',
        condition: 'x.enabled',
        tags: ['t<1>', 'é'],
        enabled: true,
        'import-values': [{ parent: 'p', child: 'c' }, 'data', 3],
        alias: 'al',
      },
    ];
    const lock: ChartDependency[] = [{ name: 'a<b>&c', version: '1.5.0', repository: 'oci://r/\u{1F680}' }];
    const preimage =
      '[[{"name":"a\\u003cb\\u003e\\u0026c","version":"\\u003e=1.0.0 \\u003c2",' +
      '"repository":"https://e.example/ch\\u2028arts/\u{1F600}\\u2029","condition":"x.enabled",' +
      '"tags":["t\\u003c1\\u003e","é"],"enabled":true,' +
      '"import-values":[{"child":"c","parent":"p"},"data",3],"alias":"al"}],' +
      '[{"name":"a\\u003cb\\u003e\\u0026c","version":"1.5.0","repository":"oci://r/\u{1F680}"}]]';
    expect(hashReqPreimage(req, lock)).toBe(preimage);
    expect(hashReq(req, lock)).toBe(sha256(preimage));
    const v2 =
      '{"dependencies":[{"name":"a\\u003cb\\u003e\\u0026c","version":"\\u003e=1.0.0 \\u003c2",' +
      '"repository":"https://e.example/ch\\u2028arts/\u{1F600}\\u2029","condition":"x.enabled",' +
      '"tags":["t\\u003c1\\u003e","é"],"enabled":true,' +
      '"import-values":[{"child":"c","parent":"p"},"data",3],"alias":"al"}]}';
    expect(hashV2ReqPreimage(req)).toBe(v2);
    expect(hashV2Req(req)).toBe(sha256(v2));
  });

  it('omits empty omitempty fields and keeps name/repository even when empty', () => {
    const dep: ChartDependency = {
      name: '',
      repository: '',
      version: '',
      tags: [],
      enabled: false,
      alias: '',
    };
    expect(hashReqPreimage([dep], undefined)).toBe('[[{"name":"","repository":""}],null]');
    expect(hashV2ReqPreimage(undefined)).toBe('{"dependencies":null}');
    expect(hashV2Req([])).toBe(sha256('{"dependencies":[]}'));
  });
});

// ---- verifyDependencies on generated charts ----

interface Sub {
  name: string;
  version: string;
  /** Vendored as charts/<name>-<version>.tgz instead of an expanded directory. */
  archive?: boolean;
}

describe('verifyDependencies', () => {
  let root: string;
  let n = 0;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'cp-lock-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const REQ: ChartDependency[] = [
    { name: 'redis', version: '^17.0.0', repository: 'https://charts.example.com/stable' },
    { name: 'common', version: '2.x', repository: 'oci://registry.example.com/charts', alias: 'lib' },
  ];
  const LOCKED: ChartDependency[] = [
    { name: 'redis', version: '17.3.1', repository: 'https://charts.example.com/stable' },
    { name: 'common', version: '2.4.0', repository: 'oci://registry.example.com/charts' },
  ];

  function depYaml(d: ChartDependency, indent: string): string {
    let s = `${indent}- name: ${d.name}\n${indent}  version: "${d.version}"\n${indent}  repository: "${d.repository}"\n`;
    if (d.alias) s += `${indent}  alias: ${d.alias}\n`;
    return s;
  }

  const fileDigest = (path: string) =>
    `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;

  /**
   * A parent chart `app` with REQ/LOCKED and the given vendored subcharts. `pins`
   * adds per-dependency digests to the lock (`'vendored'` = the vendored archive's).
   */
  async function makeChart(
    vendored: Sub[],
    opts: { digest?: string; pins?: Record<string, string> } = {},
  ): Promise<string> {
    const dir = join(root, `c${n++}`, 'app');
    mkdirSync(join(dir, 'charts'), { recursive: true });
    writeFileSync(
      join(dir, 'Chart.yaml'),
      `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n${REQ.map((d) => depYaml(d, '  ')).join('')}`,
    );
    for (const s of vendored) {
      const src = s.archive ? join(root, `src${n++}`, s.name) : join(dir, 'charts', s.name);
      mkdirSync(src, { recursive: true });
      writeFileSync(join(src, 'Chart.yaml'), `apiVersion: v2\nname: ${s.name}\nversion: ${s.version}\n`);
      if (s.archive) await packageChart(src, { destination: join(dir, 'charts'), sourceDateEpoch: 0 });
    }
    const lock: ChartLock = {
      digest: opts.digest ?? hashReq(REQ, LOCKED),
      generated: '2024-01-01T00:00:00Z',
      dependencies: LOCKED.map((d) => {
        const pin = opts.pins?.[d.name];
        if (pin === undefined) return { ...d };
        const digest =
          pin === 'vendored' ? fileDigest(join(dir, 'charts', `${d.name}-${d.version}.tgz`)) : pin;
        return { ...d, digest };
      }),
    };
    writeFileSync(join(dir, 'Chart.lock'), formatLock(lock));
    return dir;
  }

  const ctx = (args: string[], json = false, values: Record<string, unknown> = {}) =>
    commandContext(args, values, { json });
  const BOTH = { redis: 'vendored', common: 'vendored' };

  it('the generated lock digest is what the loader-parsed chart hashes to', async () => {
    const dir = await makeChart([], { pins: { redis: `sha256:${'a'.repeat(64)}` } });
    const { chart } = await loadChartDirectory(dir);
    expect(chart.lock?.dependencies[0]?.digest).toBe(`sha256:${'a'.repeat(64)}`);
    // Per-dependency digests are not part of Helm's hash.
    expect(hashReq(chart.metadata.dependencies, chart.lock?.dependencies)).toBe(chart.lock?.digest);
  });

  it('all vendored archives match their pins (alias uses the chart name) → ok, checksums verified', async () => {
    const dir = await makeChart(
      [
        { name: 'redis', version: '17.3.1', archive: true },
        { name: 'common', version: '2.4.0', archive: true },
      ],
      { pins: BOTH },
    );
    const redis = fileDigest(join(dir, 'charts', 'redis-17.3.1.tgz'));
    const report = await verifyDependencies(dir);
    expect(report.ok).toBe(true);
    expect(report.allPinned).toBe(true);
    expect(report.online).toBe(false);
    expect(report.lock).toEqual({
      inSync: true,
      method: 'v3',
      expected: hashReq(REQ, LOCKED),
      actual: hashReq(REQ, LOCKED),
    });
    expect(report.dependencies[0]).toEqual({
      name: 'redis',
      version: '17.3.1',
      status: 'ok',
      expected: redis,
      actual: redis,
      checked: { vendored: true, source: false },
    });
    const t = ctx(['verify', dir]);
    expect(await DEPS_COMMAND.run(t.c)).toBe(0);
    expect(t.out()).toBe(
      'OK: redis-17.3.1 digest matches\nOK: common-2.4.0 digest matches\nAll dependency checksums verified.\n',
    );

    // A parent archive that keeps charts/*.tgz (made with tar) verifies the same way.
    const tarball = join(root, `app-${n++}.tgz`);
    execFileSync('tar', ['-C', dirname(dir), '-czf', tarball, 'app']);
    const fromTgz = await verifyDependencies(tarball);
    expect(fromTgz.ok).toBe(true);
    expect(fromTgz.dependencies.map((d) => d.status)).toEqual(['ok', 'ok']);

    // `helm package` (and chartproof package) expand subcharts into charts/<name>/, so
    // the archive digests are gone: honest "unverifiable", never "ok".
    const pkg = await packageChart(dir, { destination: join(root, 'out'), sourceDateEpoch: 0 });
    const packaged = await verifyDependencies(pkg.path);
    expect(packaged.ok).toBe(false);
    expect(packaged.dependencies.map((d) => d.status)).toEqual(['unverifiable', 'unverifiable']);
    // ...but the pins survive packaging, so the lock inside still carries them.
    const { chart } = await loadChartDirectory(dir);
    expect(packaged.dependencies.map((d) => d.expected)).toEqual(
      chart.lock?.dependencies.map((d) => d.digest),
    );
  });

  it('seed scenario: one byte appended to the vendored archive → digest mismatch with Expected/Actual', async () => {
    const dir = await makeChart(
      [
        { name: 'redis', version: '17.3.1', archive: true },
        { name: 'common', version: '2.4.0', archive: true },
      ],
      { pins: BOTH },
    );
    const path = join(dir, 'charts', 'common-2.4.0.tgz');
    const pinned = fileDigest(path);
    appendFileSync(path, Buffer.from([0x0a]));
    const tampered = fileDigest(path);
    expect(tampered).not.toBe(pinned);
    const report = await verifyDependencies(dir);
    expect(report.ok).toBe(false);
    expect(report.dependencies[1]).toMatchObject({
      status: 'digest-mismatch',
      where: 'vendored',
      expected: pinned,
      actual: tampered,
    });
    const t = ctx(['verify', dir]);
    expect(await DEPS_COMMAND.run(t.c)).toBe(1);
    // The FAIL block ends with the reason the archive differs (it no longer loads).
    expect(t.out()).toMatch(
      new RegExp(
        `^OK: redis-17\\.3\\.1 digest matches\nFAIL: common-2\\.4\\.0 digest mismatch\n  Expected: ${pinned}\n  Actual: ${tampered}\n  Reason: charts/common-2\\.4\\.0\\.tgz also does not load: .+\n$`,
      ),
    );
  });

  it('no pins: unpinned fails unless --allow-unpinned, and never claims checksums were verified', async () => {
    const dir = await makeChart([
      { name: 'redis', version: '17.3.1', archive: true },
      { name: 'common', version: '2.4.0' },
    ]);
    const report = await verifyDependencies(dir);
    expect(report.ok).toBe(false);
    expect(report.dependencies.map((d) => d.status)).toEqual(['unpinned', 'unpinned']);
    const t = ctx(['verify', dir]);
    expect(await DEPS_COMMAND.run(t.c)).toBe(1);
    expect(t.out()).not.toContain('verified.');
    expect(t.out()).toContain('WARN: redis-17.3.1 has no pinned digest');
    const allowed = await verifyDependencies(dir, { allowUnpinned: true });
    expect(allowed.ok).toBe(true);
    expect(allowed.allPinned).toBe(false);
    const t2 = ctx(['verify', dir], false, { 'allow-unpinned': true });
    expect(await DEPS_COMMAND.run(t2.c)).toBe(0);
    expect(t2.out()).toMatch(
      /Dependency checks passed, but 2 dependencies have no pinned digest and were not verified\.\n$/,
    );
    expect(t2.out()).not.toContain('checksums verified');
  });

  it('a pin on an expanded directory cannot be verified', async () => {
    const dir = await makeChart(
      [
        { name: 'redis', version: '17.3.1', archive: true },
        { name: 'common', version: '2.4.0' },
      ],
      { pins: { redis: 'vendored', common: `sha256:${'b'.repeat(64)}` } },
    );
    const report = await verifyDependencies(dir);
    expect(report.ok).toBe(false);
    expect(report.dependencies[1]).toMatchObject({
      status: 'unverifiable',
      expected: `sha256:${'b'.repeat(64)}`,
    });
    const t = ctx(['verify', dir]);
    expect(await DEPS_COMMAND.run(t.c)).toBe(1);
    expect(t.out()).toContain(
      'FAIL: common-2.4.0 cannot be verified: charts/ holds common-2.4.0 as an expanded directory',
    );
  });

  it('missing → FAIL', async () => {
    const dir = await makeChart([{ name: 'redis', version: '17.3.1', archive: true }], {
      pins: { redis: 'vendored', common: `sha256:${'c'.repeat(64)}` },
    });
    const report = await verifyDependencies(dir);
    expect(report.ok).toBe(false);
    expect(report.dependencies[1]).toMatchObject({ name: 'common', version: '2.4.0', status: 'missing' });
    const t = ctx(['verify', dir]);
    expect(await DEPS_COMMAND.run(t.c)).toBe(1);
    expect(t.out()).toBe('OK: redis-17.3.1 digest matches\nFAIL: common-2.4.0 missing\n');
  });

  it('the same chart under two aliases: two lock entries share one vendored archive', async () => {
    // helm dependency update locks the chart once per alias and vendors one archive.
    const dir = join(root, `c${n++}`, 'app');
    mkdirSync(join(dir, 'charts'), { recursive: true });
    const src = join(root, `src${n++}`, 'common');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'Chart.yaml'), 'apiVersion: v2\nname: common\nversion: 2.4.0\n');
    await packageChart(src, { destination: join(dir, 'charts'), sourceDateEpoch: 0 });
    const pinned = fileDigest(join(dir, 'charts', 'common-2.4.0.tgz'));
    const common = { name: 'common', version: '2.4.0', repository: 'oci://registry.example.com/charts' };
    const req: ChartDependency[] = [
      { ...common, alias: 'a' },
      { ...common, alias: 'b' },
    ];
    writeFileSync(
      join(dir, 'Chart.yaml'),
      `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n${req.map((d) => depYaml(d, '  ')).join('')}`,
    );
    const writeLock = (second: string) =>
      writeFileSync(
        join(dir, 'Chart.lock'),
        formatLock({
          digest: hashReq(req, [common, common]),
          generated: '2024-01-01T00:00:00Z',
          dependencies: [
            { ...common, digest: pinned },
            { ...common, digest: second },
          ],
        }),
      );
    writeLock(pinned);
    const report = await verifyDependencies(dir);
    expect(report.lock.inSync).toBe(true);
    expect(report.dependencies.map((d) => d.status)).toEqual(['ok', 'ok']);
    expect(report.ok).toBe(true);
    // Each entry is still held to its own pin.
    writeLock(`sha256:${'d'.repeat(64)}`);
    const other = await verifyDependencies(dir);
    expect(other.ok).toBe(false);
    expect(other.dependencies.map((d) => d.status)).toEqual(['ok', 'digest-mismatch']);
  });

  it('extra vendored chart → not-locked', async () => {
    const dir = await makeChart(
      [
        { name: 'redis', version: '17.3.1', archive: true },
        { name: 'common', version: '2.4.0', archive: true },
        { name: 'stray', version: '0.1.0' },
      ],
      { pins: BOTH },
    );
    const report = await verifyDependencies(dir);
    expect(report.ok).toBe(false);
    expect(report.dependencies.map((d) => [d.name, d.version, d.status])).toEqual([
      ['redis', '17.3.1', 'ok'],
      ['common', '2.4.0', 'ok'],
      ['stray', '0.1.0', 'not-locked'],
    ]);
    const t = ctx(['verify', dir]);
    expect(await DEPS_COMMAND.run(t.c)).toBe(1);
    expect(t.out()).toContain('FAIL: stray-0.1.0 not in Chart.lock\n');
  });

  it('wrong version → version-mismatch', async () => {
    const dir = await makeChart([
      { name: 'redis', version: '17.3.0' },
      { name: 'common', version: '2.4.0' },
    ]);
    const report = await verifyDependencies(dir);
    expect(report.ok).toBe(false);
    expect(report.dependencies[0]).toEqual({
      name: 'redis',
      version: '17.3.1',
      status: 'version-mismatch',
      checked: { vendored: false, source: false },
      detail: 'charts/ has redis version 17.3.0, the lock has 17.3.1',
    });
    const t = ctx(['verify', dir], true);
    expect(await DEPS_COMMAND.run(t.c)).toBe(1);
    expect(JSON.parse(t.out())).toEqual(report);
  });

  it('stale digest → FAIL with the out-of-sync message', async () => {
    const dir = await makeChart(
      [
        { name: 'redis', version: '17.3.1', archive: true },
        { name: 'common', version: '2.4.0', archive: true },
      ],
      { digest: hashReq(REQ.slice(0, 1), LOCKED.slice(0, 1)), pins: BOTH },
    );
    const t = ctx(['verify', dir]);
    expect(await DEPS_COMMAND.run(t.c)).toBe(1);
    expect(t.out()).toBe(
      `FAIL: ${OUT_OF_SYNC_V4}\nOK: redis-17.3.1 digest matches\nOK: common-2.4.0 digest matches\n`,
    );
  });

  it('a null entry in the lock: Helm hashes it as null and cannot build from it → not in sync', async () => {
    const dir = await makeChart(
      [
        { name: 'redis', version: '17.3.1', archive: true },
        { name: 'common', version: '2.4.0', archive: true },
      ],
      { pins: BOTH },
    );
    const lockPath = join(dir, 'Chart.lock');
    const text = readFileSync(lockPath, 'utf8');
    expect(text.startsWith('dependencies:\n')).toBe(true);
    // The lock digest stays the hash without the null entry, which is not Helm's.
    writeFileSync(lockPath, text.replace('dependencies:\n', 'dependencies:\n- ~\n'));
    const report = await verifyDependencies(dir);
    expect(report.dependencies.map((d) => d.status)).toEqual(['ok', 'ok']);
    expect(report.lock.inSync).toBe(false);
    expect(report.ok).toBe(false);
    const t = ctx(['verify', dir]);
    expect(await DEPS_COMMAND.run(t.c)).toBe(1);
    expect(t.out()).toMatch(/^FAIL: the lock file \(Chart\.lock\) lists an empty \(null\) dependency/);
    expect(t.out()).not.toContain('checksums verified');
  });

  it('usage and IO errors', async () => {
    await expect(DEPS_COMMAND.run(ctx(['bogus', 'x']).c)).rejects.toThrow(/unknown deps subcommand "bogus"/);
    await expect(DEPS_COMMAND.run(ctx(['verify']).c)).rejects.toThrow(/expected: chartproof deps verify/);
    await expect(DEPS_COMMAND.run(ctx(['verify', 'x'], false, { force: true }).c)).rejects.toThrow(
      /--force does not apply to deps verify/,
    );
    await expectChartproofError(verifyDependencies(join(root, 'nope')), 'IO', /no such file or directory/);
    // Unreadable input is exit 2, distinct from a verification failure (1).
    const missing = captureIo();
    expect(await run(['deps', 'verify', join(root, 'nope')], missing.io)).toBe(2);
    const broken = await makeChart([]);
    writeFileSync(join(broken, 'Chart.lock'), 'dependencies: [unclosed\n');
    const garbled = captureIo();
    expect(await run(['deps', 'verify', broken], garbled.io)).toBe(2);
    expect(garbled.err()).toMatch(/cannot load Chart\.lock/);
    await expectChartproofError(
      verifyDependencies(root, { online: true }),
      'INVALID_ARGUMENT',
      /need a client/,
    );
  });
});
