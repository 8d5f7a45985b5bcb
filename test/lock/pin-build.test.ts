import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import type { ChartDependency } from '../../src/chart/types.js';
import { run } from '../../src/cli/main.js';
import { buildDependencies } from '../../src/lock/build.js';
import { hashReq } from '../../src/lock/digest.js';
import { formatLock, readLockFile, writeLockFile } from '../../src/lock/lockfile.js';
import { pinDependencies } from '../../src/lock/pin.js';
import { dependencySource } from '../../src/lock/sources.js';
import { checkLock, verifyDependencies } from '../../src/lock/verify.js';
import type { RegistryClient } from '../../src/oci/index.js';
import { ChartRepoServer, makeChartArchive } from '../helpers/chart-repo.js';
import { captureIo } from '../helpers/cli-io.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { type ListeningFixture, listeningFixture } from '../helpers/registry.js';

const sha = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const GENERATED = '2025-03-04T05:06:07.123456789+01:00';

describe('deps pin / build / verify --online (memory registry + loopback chart repository)', () => {
  let registry: ListeningFixture;
  let server: ListeningFixture['server'];
  let repo: ChartRepoServer;
  let client: RegistryClient;
  let root: string;
  let n = 0;
  let common: Uint8Array;
  let commonManifest: string;
  let redis: Uint8Array;

  const meta = (name: string, version: string) => ({ name, version, apiVersion: 'v2' });

  beforeAll(async () => {
    registry = await listeningFixture();
    ({ server, client } = registry);
    repo = await new ChartRepoServer().start();
    root = mkdtempSync(join(tmpdir(), 'cp-pin-'));
    common = await makeChartArchive('common', '1.0.0', { 'templates/_helpers.tpl': '{{/* common */}}\n' });
    const pushed = await pushChart(client, common, meta('common', '1.0.0'), `oci://${server.host}/charts`);
    commonManifest = pushed.digest;
    // The chart layer digest is the archive's sha256: the value Helm's proposal pins.
    expect(pushed.chart.digest).toBe(sha(common));
    redis = await makeChartArchive('redis', '17.3.1');
    repo.publish('redis', '17.3.1', redis);
  });
  afterAll(async () => {
    await registry.close();
    await repo.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** A parent chart with `deps` declared and locked (no per-dependency digests yet). */
  function makeParent(deps: ChartDependency[], vendored: Record<string, Uint8Array> = {}): string {
    const dir = join(root, `p${n++}`, 'app');
    mkdirSync(join(dir, 'charts'), { recursive: true });
    const depYaml = deps
      .map((d) => `  - name: ${d.name}\n    version: "${d.version}"\n    repository: "${d.repository}"\n`)
      .join('');
    writeFileSync(
      join(dir, 'Chart.yaml'),
      `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n${depYaml}`,
    );
    const lock = {
      digest: hashReq(deps, deps),
      generated: GENERATED,
      dependencies: deps.map((d) => ({ ...d })),
    };
    writeFileSync(join(dir, 'Chart.lock'), formatLock(lock));
    for (const [file, data] of Object.entries(vendored)) writeFileSync(join(dir, 'charts', file), data);
    return dir;
  }

  /** Runs `fn` with a fresh loopback chart repository, closed afterwards. */
  async function withRepo(fn: (r: ChartRepoServer) => Promise<void>): Promise<void> {
    const r = await new ChartRepoServer().start();
    try {
      await fn(r);
    } finally {
      await r.close();
    }
  }

  const ociDep = (namespace = 'charts'): ChartDependency => ({
    name: 'common',
    version: '1.0.0',
    repository: `oci://${server.host}/${namespace}`,
  });
  const repoDep = (): ChartDependency => ({ name: 'redis', version: '17.3.1', repository: repo.url });

  async function cli(args: string[]) {
    const c = captureIo('', { HOME: '/nonexistent' });
    const code = await run(['--plain-http', ...args], c.io);
    return { code, out: c.out(), err: c.err() };
  }

  it('pin records the archive digest (= OCI chart layer) and manifest digest, keeping Helm’s digest', async () => {
    const dir = makeParent([ociDep(), repoDep()]);
    const before = await readLockFile(dir, 'Chart.lock');
    const report = await pinDependencies(dir, { client });
    expect(report.ok).toBe(true);
    expect(report.written).toBe(true);
    expect(report.dependencies.map((d) => [d.name, d.status, d.digest])).toEqual([
      ['common', 'pinned', sha(common)],
      ['redis', 'pinned', sha(redis)],
    ]);
    expect(report.dependencies[0]!.manifestDigest).toBe(commonManifest);
    const after = await readLockFile(dir, 'Chart.lock');
    expect(after.digest).toBe(before.digest);
    expect(after.generated).toBe(GENERATED);
    expect(after.dependencies[0]).toEqual({
      ...ociDep(),
      digest: sha(common),
      manifestDigest: commonManifest,
    });
    expect(after.dependencies[1]).toEqual({ ...repoDep(), digest: sha(redis) });
    // Exactly what Helm's yaml.Marshal would write for a Dependency with these fields.
    expect(readFileSync(join(dir, 'Chart.lock'), 'utf8')).toBe(
      [
        'dependencies:',
        `- digest: ${sha(common)}`,
        `  manifestDigest: ${commonManifest}`,
        '  name: common',
        `  repository: oci://${server.host}/charts`,
        '  version: 1.0.0',
        `- digest: ${sha(redis)}`,
        '  name: redis',
        `  repository: ${repo.url}`,
        '  version: 17.3.1',
        `digest: ${before.digest}`,
        `generated: "${GENERATED}"`,
        '',
      ].join('\n'),
    );
    // Helm's own check still passes: the digests are outside HashReq.
    const { chart } = await import('../../src/chart/package.js').then((m) => m.loadChartDirectory(dir));
    expect(checkLock(chart.metadata, chart.lock).inSync).toBe(true);

    // Pinning again changes nothing.
    const again = await pinDependencies(dir, { client });
    expect(again.dependencies.map((d) => d.status)).toEqual(['unchanged', 'unchanged']);
    expect(again.written).toBe(false);
  });

  it('build downloads, verifies and writes; verify offline and --online then pass', async () => {
    const dir = makeParent([ociDep(), repoDep()]);
    expect((await cli(['deps', 'pin', dir])).code).toBe(0);
    const b = await cli(['deps', 'build', dir]);
    expect(b.code).toBe(0);
    expect(b.out).toBe(
      [
        `Downloaded: common-1.0.0 digest matches (oci://${server.host}/charts/common:1.0.0) -> charts/common-1.0.0.tgz`,
        `Downloaded: redis-17.3.1 digest matches (${repo.url}redis-17.3.1.tgz) -> charts/redis-17.3.1.tgz`,
        'Saved 2 charts to charts/.',
        '',
      ].join('\n'),
    );
    expect(sha(readFileSync(join(dir, 'charts', 'common-1.0.0.tgz')))).toBe(sha(common));
    expect(sha(readFileSync(join(dir, 'charts', 'redis-17.3.1.tgz')))).toBe(sha(redis));
    const v = await cli(['deps', 'verify', dir]);
    expect(v).toMatchObject({ code: 0 });
    expect(v.out).toBe(
      'OK: common-1.0.0 digest matches\nOK: redis-17.3.1 digest matches\nAll dependency checksums verified.\n',
    );
    const online = await cli(['deps', 'verify', '--online', dir]);
    expect(online.code).toBe(0);
    expect(online.out).toContain('All dependency checksums verified.');
    const report = await verifyDependencies(dir, { online: true, client });
    expect(report.dependencies.map((d) => d.checked)).toEqual([
      { vendored: true, source: true },
      { vendored: true, source: true },
    ]);
    // Building again downloads nothing.
    const before = repo.requests.length;
    const again = await buildDependencies(dir, { client });
    expect(again.dependencies.map((d) => d.status)).toEqual(['present', 'present']);
    expect(repo.requests.length).toBe(before);
  });

  it('seed scenario: a tampered vendored archive fails verify; build restores the pinned bytes', async () => {
    const dir = makeParent([ociDep(), repoDep()]);
    await pinDependencies(dir, { client });
    await buildDependencies(dir, { client });
    // The seed's step: echo "tamper" >> charts/common-1.0.0.tgz
    appendFileSync(join(dir, 'charts', 'common-1.0.0.tgz'), 'tamper\n');
    const tampered = sha(readFileSync(join(dir, 'charts', 'common-1.0.0.tgz')));
    const v = await cli(['deps', 'verify', dir]);
    expect(v.code).toBe(1);
    expect(v.out).toBe(
      `FAIL: common-1.0.0 digest mismatch\n  Expected: ${sha(common)}\n  Actual: ${tampered}\n  Reason: charts/common-1.0.0.tgz also does not load: chart archive is not valid gzip data: incorrect header check\nOK: redis-17.3.1 digest matches\n`,
    );
    const json = await cli(['--json', 'deps', 'verify', dir]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out).dependencies[0]).toMatchObject({
      status: 'digest-mismatch',
      where: 'vendored',
      expected: sha(common),
      actual: tampered,
    });
    const b = await buildDependencies(dir, { client });
    expect(b.ok).toBe(true);
    expect(b.dependencies.map((d) => d.status)).toEqual(['downloaded', 'present']);
    expect(sha(readFileSync(join(dir, 'charts', 'common-1.0.0.tgz')))).toBe(sha(common));
  });

  it('a chart swapped in the OCI registry under the same version is caught by --online, build and pin', async () => {
    const original = await makeChartArchive('common', '1.0.0', { 'templates/cm.yaml': 'kind: ConfigMap\n' });
    await pushChart(client, original, meta('common', '1.0.0'), `oci://${server.host}/swap`);
    const dir = makeParent([ociDep('swap')]);
    await pinDependencies(dir, { client });
    // The maintainer account is compromised: same tag, backdoored content.
    const evil = await makeChartArchive('common', '1.0.0', {
      'templates/cm.yaml': 'kind: ConfigMap\n',
      'templates/steal.yaml': 'kind: ClusterRoleBinding\n',
    });
    await pushChart(client, evil, meta('common', '1.0.0'), `oci://${server.host}/swap`);

    const online = await cli(['deps', 'verify', '--online', dir]);
    expect(online.code).toBe(1);
    expect(online.out).toBe(
      `FAIL: common-1.0.0 digest mismatch\n  Expected: ${sha(original)}\n  Actual: ${sha(evil)}\n  At: oci://${server.host}/swap/common:1.0.0\n`,
    );
    const build = await cli(['deps', 'build', dir]);
    expect(build.code).toBe(1);
    expect(build.out).toContain('FAIL: common-1.0.0 digest mismatch');
    expect(build.out).toContain('Nothing written to charts/');
    expect(readdirSync(join(dir, 'charts'))).toEqual([]);
    const lockBefore = readFileSync(join(dir, 'Chart.lock'), 'utf8');
    const pin = await cli(['deps', 'pin', dir]);
    expect(pin.code).toBe(1);
    expect(pin.out).toContain('The source serves different content under the same version');
    expect(readFileSync(join(dir, 'Chart.lock'), 'utf8')).toBe(lockBefore);
    // Accepting the new content is an explicit decision.
    const forced = await pinDependencies(dir, { client, force: true });
    expect(forced.ok).toBe(true);
    expect(forced.dependencies[0]).toMatchObject({
      status: 'pinned',
      previous: sha(original),
      digest: sha(evil),
    });
  });

  it('a chart swapped in a classic repository is caught, with or without an updated index digest', async () => {
    await withRepo(async (r) => {
      const good = await makeChartArchive('mysql', '9.0.0');
      r.publish('mysql', '9.0.0', good);
      const dep: ChartDependency = { name: 'mysql', version: '9.0.0', repository: r.url };
      const dir = makeParent([dep]);
      await pinDependencies(dir, { client });
      const evil = await makeChartArchive('mysql', '9.0.0', { 'templates/x.yaml': 'evil: true\n' });
      // Index rewritten consistently: only the pin catches it.
      r.swap('mysql', '9.0.0', evil, true);
      const online = await verifyDependencies(dir, { online: true, client });
      expect(online.dependencies[0]).toMatchObject({
        status: 'digest-mismatch',
        where: 'source',
        expected: sha(good),
        actual: sha(evil),
      });
      const built = await buildDependencies(dir, { client });
      expect(built.ok).toBe(false);
      expect(built.dependencies[0]).toMatchObject({
        status: 'digest-mismatch',
        expected: sha(good),
        actual: sha(evil),
      });
      expect(readdirSync(join(dir, 'charts'))).toEqual([]);
      // Index left stale: the download itself fails its index check.
      r.swap('mysql', '9.0.0', good, true);
      r.swap('mysql', '9.0.0', evil, false);
      const stale = await verifyDependencies(dir, { online: true, client });
      expect(stale.dependencies[0]!.status).toBe('source-error');
      expect(stale.dependencies[0]!.detail).toMatch(/does not match the index digest/);
    });
  });

  it('build is all or nothing: one bad dependency leaves charts/ untouched', async () => {
    await withRepo(async (r) => {
      const a = await makeChartArchive('alpha', '1.0.0');
      const b = await makeChartArchive('beta', '1.0.0');
      r.publish('alpha', '1.0.0', a);
      r.publish('beta', '1.0.0', b);
      const old = await makeChartArchive('alpha', '0.9.0');
      const dir = makeParent(
        [
          { name: 'alpha', version: '1.0.0', repository: r.url },
          { name: 'beta', version: '1.0.0', repository: r.url },
        ],
        { 'alpha-0.9.0.tgz': old },
      );
      await pinDependencies(dir, { client });
      r.swap('beta', '1.0.0', await makeChartArchive('beta', '1.0.0', { 'values.yaml': 'x: 1\n' }), true);
      const failed = await buildDependencies(dir, { client });
      expect(failed.ok).toBe(false);
      expect(failed.dependencies.map((d) => d.status)).toEqual(['downloaded', 'digest-mismatch']);
      expect(failed.written).toEqual([]);
      expect(readdirSync(join(dir, 'charts'))).toEqual(['alpha-0.9.0.tgz']);
      // Repaired at the source: both land, the outdated alpha is removed.
      r.swap('beta', '1.0.0', b, true);
      const ok = await buildDependencies(dir, { client });
      expect(ok.ok).toBe(true);
      expect(ok.written).toEqual(['charts/alpha-1.0.0.tgz', 'charts/beta-1.0.0.tgz']);
      expect(ok.removed).toEqual(['charts/alpha-0.9.0.tgz']);
      expect(readdirSync(join(dir, 'charts')).sort()).toEqual(['alpha-1.0.0.tgz', 'beta-1.0.0.tgz']);
    });
  });

  it('unpinned dependencies: build refuses unless allowed; an index without digests pins trust-on-first-use', async () => {
    await withRepo(async (r) => {
      const archive = await makeChartArchive('nodigest', '0.1.0');
      r.publish('nodigest', '0.1.0', archive, { digest: false });
      const dir = makeParent([{ name: 'nodigest', version: '0.1.0', repository: r.url }]);
      const refused = await cli(['deps', 'build', dir]);
      expect(refused.code).toBe(1);
      expect(refused.out).toContain(
        "FAIL: nodigest-0.1.0 the lock pins no digest for it: run 'chartproof deps pin' first",
      );
      expect(existsSync(join(dir, 'charts', 'nodigest-0.1.0.tgz'))).toBe(false);
      const allowed = await buildDependencies(dir, { client, allowUnpinned: true });
      expect(allowed.ok).toBe(true);
      expect(allowed.dependencies[0]!.status).toBe('unpinned');
      rmSync(join(dir, 'charts', 'nodigest-0.1.0.tgz'));
      const pin = await cli(['deps', 'pin', dir]);
      expect(pin.code).toBe(0);
      expect(pin.err).toContain(
        'the repository index has no digest; pinned the downloaded bytes (trust on first use)',
      );
      expect((await readLockFile(dir, 'Chart.lock')).dependencies[0]!.digest).toBe(sha(archive));
    });
  });

  it('a source serving another chart under the requested name fails', async () => {
    await withRepo(async (r) => {
      r.publish('web', '1.0.0', await makeChartArchive('other', '2.0.0'));
      const dir = makeParent([{ name: 'web', version: '1.0.0', repository: r.url }]);
      const report = await pinDependencies(dir, { client });
      expect(report.ok).toBe(false);
      expect(report.written).toBe(false);
      expect(report.dependencies[0]!.status).toBe('failed');
      expect(report.dependencies[0]!.detail).toMatch(/serves chart other-2\.0\.0, not web-1\.0\.0/);
    });
  });

  it('local dependencies are pinned from their vendored archive, or skipped', async () => {
    const lib = await makeChartArchive('lib', '0.1.0');
    const dir = makeParent(
      [
        { name: 'lib', version: '0.1.0', repository: '' },
        { name: 'sub', version: '0.2.0', repository: 'file://../sub' },
      ],
      { 'lib-0.1.0.tgz': lib },
    );
    const report = await pinDependencies(dir, { client });
    expect(report.ok).toBe(true);
    expect(report.dependencies.map((d) => [d.name, d.status])).toEqual([
      ['lib', 'pinned'],
      ['sub', 'skipped'],
    ]);
    expect(report.dependencies[0]!.digest).toBe(sha(lib));
    const built = await buildDependencies(dir, { client });
    expect(built.dependencies.map((d) => d.status)).toEqual(['skipped', 'skipped']);
  });

  it('@name repositories resolve through Helm’s repositories.yaml', async () => {
    const dep: ChartDependency = { name: 'redis', version: '17.3.1', repository: '@stable' };
    expect(dependencySource(dep, { stable: repo.url })).toEqual({ kind: 'repo', url: repo.url });
    expect(
      dependencySource({ ...dep, repository: 'alias:stable' }, { stable: `oci://${server.host}/x/` }),
    ).toEqual({
      kind: 'oci',
      ref: `oci://${server.host}/x/redis:17.3.1`,
    });
    expect(() => dependencySource(dep, {})).toThrow(/no repository definition for @stable/);
    expect(() => dependencySource({ ...dep, repository: 'ftp://x' })).toThrow(/is not oci:\/\//);
    expect(dependencySource({ ...dep, version: '1.0.0+build.1', repository: 'oci://r.test/c' })).toEqual({
      kind: 'oci',
      ref: 'oci://r.test/c/redis:1.0.0_build.1',
    });
    const dir = makeParent([dep]);
    const config = join(root, `repositories-${n++}.yaml`);
    writeFileSync(config, `apiVersion: ""\nrepositories:\n- name: stable\n  url: ${repo.url}\n`);
    const pin = await cli(['deps', 'pin', '--repository-config', config, dir]);
    expect(pin.code).toBe(0);
    expect(pin.out).toContain(`Pinned: redis-17.3.1 ${sha(redis)}`);
    // A missing --repository-config file is local input: exit 2.
    const missing = await cli(['deps', 'pin', '--repository-config', join(root, 'nope.yaml'), dir]);
    expect(missing.code).toBe(2);
  });

  it('refuses out-of-sync locks, missing locks, archives and symlinked lock files', async () => {
    const dir = makeParent([repoDep()]);
    writeFileSync(
      join(dir, 'Chart.yaml'),
      `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: redis\n    version: "^18"\n    repository: "${repo.url}"\n`,
    );
    await expectChartproofError(pinDependencies(dir, { client }), 'LOCK_OUT_OF_SYNC', /out of sync/);
    expect((await cli(['deps', 'pin', dir])).code).toBe(1);
    const noLock = makeParent([repoDep()]);
    rmSync(join(noLock, 'Chart.lock'));
    await expectChartproofError(buildDependencies(noLock, { client }), 'IO', /Chart\.lock does not exist/);
    expect((await cli(['deps', 'build', noLock])).code).toBe(2);
    const archive = join(root, `x-${n++}.tgz`);
    writeFileSync(archive, redis);
    await expectChartproofError(
      pinDependencies(archive, { client }),
      'INVALID_ARGUMENT',
      /not a chart directory/,
    );
    const linked = makeParent([repoDep()]);
    const real = join(root, `real-${n++}.lock`);
    writeFileSync(real, readFileSync(join(linked, 'Chart.lock')));
    rmSync(join(linked, 'Chart.lock'));
    symlinkSync(real, join(linked, 'Chart.lock'));
    // The directory reader refuses symlinks outright; writeLockFile refuses them too, with Helm's message.
    await expectChartproofError(
      pinDependencies(linked, { client }),
      'CHART_INVALID',
      /symlinks are not supported/,
    );
    const lock = await readLockFile(linked, 'Chart.lock');
    await expectChartproofError(
      writeLockFile(linked, 'Chart.lock', lock),
      'IO',
      new RegExp(`the Chart\\.lock file is a symlink to "${real.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`),
    );
    expect(readFileSync(real, 'utf8')).toBe(formatLock(lock));
  });
});
