/**
 * Hostile Chart.lock files. Helm's lock `digest` is a plain
 * sha256 of `[Chart.yaml dependencies, lock dependencies]`: anyone who edits the lock
 * can recompute it. Helm's resolver writes one lock entry per Chart.yaml dependency,
 * in order, with the same name and repository and a version satisfying the
 * constraint; a lock that names other charts (with a recomputed digest) must not be
 * reported in sync, nor its vendored archives as verified.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageChart } from '../../src/chart/package.js';
import type { ChartDependency, ChartLockDependency } from '../../src/chart/types.js';
import { hashReq } from '../../src/lock/digest.js';
import { formatLock } from '../../src/lock/lockfile.js';
import { verifyDependencies } from '../../src/lock/verify.js';

const fileDigest = (path: string) =>
  `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;

describe('verifyDependencies: a lock that does not resolve Chart.yaml', () => {
  let root: string;
  let n = 0;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'cp-lock-hostile-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const REQ: ChartDependency[] = [
    { name: 'redis', version: '^17.0.0', repository: 'https://charts.example.com/stable' },
  ];

  /** A parent chart declaring REQ, with `locked` vendored and locked (pinned, digest recomputed). */
  async function makeChart(locked: ChartDependency[], req: ChartDependency[] = REQ): Promise<string> {
    const dir = join(root, `c${n++}`, 'app');
    mkdirSync(join(dir, 'charts'), { recursive: true });
    const deps = req
      .map((d) => `  - name: ${d.name}\n    version: "${d.version}"\n    repository: "${d.repository}"\n`)
      .join('');
    writeFileSync(
      join(dir, 'Chart.yaml'),
      `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n${deps}`,
    );
    const pinned: ChartLockDependency[] = [];
    for (const d of locked) {
      const src = join(root, `src${n++}`, d.name);
      mkdirSync(src, { recursive: true });
      writeFileSync(join(src, 'Chart.yaml'), `apiVersion: v2\nname: ${d.name}\nversion: ${d.version}\n`);
      await packageChart(src, { destination: join(dir, 'charts'), sourceDateEpoch: 0 });
      pinned.push({ ...d, digest: fileDigest(join(dir, 'charts', `${d.name}-${d.version}.tgz`)) });
    }
    writeFileSync(
      join(dir, 'Chart.lock'),
      formatLock({ digest: hashReq(req, locked), generated: '2024-01-01T00:00:00Z', dependencies: pinned }),
    );
    return dir;
  }

  it('a lock resolving Chart.yaml verifies', async () => {
    const dir = await makeChart([{ ...REQ[0]!, version: '17.3.1' }]);
    const r = await verifyDependencies(dir);
    expect(r.lock.inSync).toBe(true);
    expect(r.ok).toBe(true);
  });

  it('another chart in the lock (digest recomputed) is not in sync', async () => {
    const dir = await makeChart([{ name: 'evil', version: '1.0.0', repository: 'https://evil.example' }]);
    const r = await verifyDependencies(dir);
    expect(r.dependencies.map((d) => d.status)).toEqual(['ok']); // the archive matches its pin…
    expect(r.lock.inSync).toBe(false); // …but the lock is not Chart.yaml's
    expect(r.lock.message).toMatch(/does not resolve/);
    expect(r.ok).toBe(false);
  });

  it('the right chart from another repository, or at a version outside the constraint, is not in sync', async () => {
    const other = await makeChart([{ ...REQ[0]!, version: '17.3.1', repository: 'https://evil.example' }]);
    expect((await verifyDependencies(other)).ok).toBe(false);
    const outside = await makeChart([{ ...REQ[0]!, version: '6.6.6' }]);
    const r = await verifyDependencies(outside);
    expect(r.lock.inSync).toBe(false);
    expect(r.ok).toBe(false);
  });

  it('pin and build refuse a lock that does not resolve Chart.yaml', async () => {
    const { pinDependencies } = await import('../../src/lock/pin.js');
    const { buildDependencies } = await import('../../src/lock/build.js');
    const dir = await makeChart([{ name: 'evil', version: '1.0.0', repository: 'https://evil.example' }]);
    const client = {} as never; // never reached
    await expect(pinDependencies(dir, { client })).rejects.toMatchObject({ code: 'LOCK_OUT_OF_SYNC' });
    await expect(buildDependencies(dir, { client })).rejects.toMatchObject({ code: 'LOCK_OUT_OF_SYNC' });
  });

  it('an extra or a missing lock entry is not in sync', async () => {
    const extra = await makeChart([
      { ...REQ[0]!, version: '17.3.1' },
      { name: 'evil', version: '1.0.0', repository: 'https://evil.example' },
    ]);
    expect((await verifyDependencies(extra)).lock.inSync).toBe(false);
    const two: ChartDependency[] = [
      ...REQ,
      { name: 'common', version: '2.x', repository: 'oci://r.example/c' },
    ];
    const missing = await makeChart([{ ...REQ[0]!, version: '17.3.1' }], two);
    expect((await verifyDependencies(missing)).lock.inSync).toBe(false);
  });

  it('an empty repository (a chart already in charts/): Helm locks the constraint as written', async () => {
    const req: ChartDependency[] = [{ name: 'local', version: '1.2.3', repository: '' }];
    const dir = await makeChart([{ name: 'local', version: '1.2.3', repository: '' }], req);
    expect((await verifyDependencies(dir)).lock.inSync).toBe(true);
    const dir2 = await makeChart([{ name: 'local', version: '1.2.4', repository: '' }], req);
    expect((await verifyDependencies(dir2)).lock.inSync).toBe(false);
    const ranged: ChartDependency[] = [{ name: 'local', version: '^1.0.0', repository: '' }];
    const { lockUnresolved } = await import('../../src/lock/verify.js');
    const meta = { apiVersion: 'v2', name: 'app', version: '1.0.0', dependencies: ranged };
    const lock = { digest: '', generated: '', dependencies: [{ ...ranged[0]! }] };
    expect(lockUnresolved(meta as never, lock as never)).toBeUndefined();
  });

  it('@name repositories are resolved by Helm before locking: compared by name and version only', async () => {
    const req: ChartDependency[] = [{ name: 'redis', version: '^17.0.0', repository: '@stable' }];
    const dir = await makeChart(
      [{ name: 'redis', version: '17.3.1', repository: 'https://charts.example.com/stable' }],
      req,
    );
    const r = await verifyDependencies(dir);
    expect(r.lock.inSync).toBe(true);
    expect(r.ok).toBe(true);
  });
});

describe('verifyDependencies: a chart kept in charts/ with a version range (no repository)', () => {
  it('finds the vendored chart whose version satisfies the locked constraint, as Helm does', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cp-lock-local-'));
    try {
      const dir = join(root, 'app');
      const sub = join(dir, 'charts', 'sub');
      mkdirSync(sub, { recursive: true });
      writeFileSync(join(sub, 'Chart.yaml'), 'apiVersion: v2\nname: sub\nversion: 1.2.0\n');
      writeFileSync(
        join(dir, 'Chart.yaml'),
        'apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: sub\n    version: "^1.0.0"\n    repository: ""\n',
      );
      // `helm dependency update` locks the constraint as written for such a dependency.
      const req: ChartDependency[] = [{ name: 'sub', version: '^1.0.0', repository: '' }];
      writeFileSync(
        join(dir, 'Chart.lock'),
        formatLock({ digest: hashReq(req, req), generated: '2024-01-01T00:00:00Z', dependencies: req }),
      );
      const r = await verifyDependencies(dir);
      expect(r.lock.inSync).toBe(true);
      expect(r.dependencies.map((d) => [d.name, d.status])).toEqual([['sub', 'unpinned']]);

      // A vendored version outside the range is still a mismatch.
      writeFileSync(join(sub, 'Chart.yaml'), 'apiVersion: v2\nname: sub\nversion: 2.0.0\n');
      const out = await verifyDependencies(dir);
      expect(out.dependencies.map((d) => [d.name, d.status])).toEqual([['sub', 'version-mismatch']]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
