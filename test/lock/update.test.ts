import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import { run } from '../../src/cli/main.js';
import { hashReq } from '../../src/lock/digest.js';
import { readLockFile } from '../../src/lock/lockfile.js';
import { updateDependencies } from '../../src/lock/update.js';
import { verifyDependencies } from '../../src/lock/verify.js';
import type { RegistryClient } from '../../src/oci/index.js';
import { ChartRepoServer, makeChartArchive } from '../helpers/chart-repo.js';
import { captureIo } from '../helpers/cli-io.js';
import { type ListeningFixture, listeningFixture } from '../helpers/registry.js';

const sha = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const GENERATED = new Date('2025-01-02T03:04:05.678Z');

describe('updateDependencies (deps update)', () => {
  let registry: ListeningFixture;
  let server: ListeningFixture['server'];
  let repo: ChartRepoServer;
  let client: RegistryClient;
  let root: string;
  let n = 0;
  const archives: Record<string, Uint8Array> = {};
  const manifests: Record<string, string> = {};

  beforeAll(async () => {
    registry = await listeningFixture();
    ({ server, client } = registry);
    repo = await new ChartRepoServer().start();
    root = mkdtempSync(join(tmpdir(), 'cp-update-'));
    for (const v of ['1.0.0', '1.1.0', '2.0.0', '1.2.0-rc.1']) {
      const a = await makeChartArchive('common', v);
      archives[`common-${v}`] = a;
      const pushed = await pushChart(
        client,
        a,
        { name: 'common', version: v, apiVersion: 'v2' },
        `oci://${server.host}/charts`,
      );
      manifests[`common-${v}`] = pushed.digest;
    }
    for (const v of ['17.3.1', '17.4.0', '18.0.0']) {
      const a = await makeChartArchive('redis', v);
      archives[`redis-${v}`] = a;
      repo.publish('redis', v, a);
    }
  });
  afterAll(async () => {
    await registry.close();
    await repo.close();
    rmSync(root, { recursive: true, force: true });
  });

  function parent(deps: string, files: Record<string, string> = {}): string {
    const dir = join(root, `p${n++}`, 'app');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'Chart.yaml'),
      `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n${deps}`,
    );
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    return dir;
  }

  const oci = () => `oci://${server.host}/charts`;

  it('resolves ranges in an index and OCI tags, vendors verified archives and writes a pinned lock', async () => {
    const dir = parent(
      `  - name: redis\n    version: ~17.3.0 || ^17.4\n    repository: ${repo.url}\n` +
        `  - name: common\n    version: ^1.0.0\n    repository: ${oci()}\n`,
    );
    const r = await updateDependencies(dir, { client, generated: GENERATED });
    expect(r.ok).toBe(true);
    expect(r.dependencies.map((d) => [d.name, d.version, d.status])).toEqual([
      ['redis', '17.4.0', 'downloaded'],
      ['common', '1.1.0', 'downloaded'], // prereleases and 2.0.0 excluded
    ]);
    expect(readdirSync(join(dir, 'charts')).sort()).toEqual(['common-1.1.0.tgz', 'redis-17.4.0.tgz']);
    expect(
      readFileSync(join(dir, 'charts/common-1.1.0.tgz')).equals(Buffer.from(archives['common-1.1.0']!)),
    ).toBe(true);
    const lock = await readLockFile(dir, 'Chart.lock');
    const declared = [
      { name: 'redis', version: '~17.3.0 || ^17.4', repository: repo.url },
      { name: 'common', version: '^1.0.0', repository: oci() },
    ];
    const resolved = [
      { name: 'redis', version: '17.4.0', repository: repo.url },
      { name: 'common', version: '1.1.0', repository: oci() },
    ];
    expect(lock.digest).toBe(hashReq(declared, resolved));
    expect(lock.generated).toBe('2025-01-02T03:04:05.678Z');
    expect(lock.dependencies[0]!.digest).toBe(sha(archives['redis-17.4.0']!));
    expect(lock.dependencies[1]!.digest).toBe(sha(archives['common-1.1.0']!));
    expect(lock.dependencies[1]!.manifestDigest).toBe(manifests['common-1.1.0']);
    // What update wrote verifies offline.
    const v = await verifyDependencies(dir);
    expect(v.ok).toBe(true);
  });

  it('skips OCI tags that are versions to Helm but cannot be ordered (they used to throw a TypeError)', async () => {
    const repoName = `${server.host}/charts/edge`;
    for (const v of ['1.0.0', '1.1.0']) {
      const a = await makeChartArchive('edge', v);
      await pushChart(
        client,
        a,
        { name: 'edge', version: v, apiVersion: 'v2' },
        `oci://${server.host}/charts`,
      );
    }
    const r0 = client.repository(repoName);
    await r0.tag(await r0.resolve('1.0.0'), '9007199254740993.0.0');
    const dir = parent(`  - name: edge\n    version: '>=1.0.0'\n    repository: ${oci()}\n`);
    const r = await updateDependencies(dir, { client, generated: GENERATED });
    expect(r.dependencies.map((d) => [d.name, d.version, d.status])).toEqual([
      ['edge', '1.1.0', 'downloaded'],
    ]);
  });

  it('writes exactly the Helm lock without pins (--no-pin) and leaves an unchanged lock alone', async () => {
    const dir = parent(`  - name: common\n    version: 1.0.0\n    repository: ${oci()}\n`);
    const r = await updateDependencies(dir, { client, generated: GENERATED, pin: false });
    expect(r.lockWritten).toBe(true);
    const text = readFileSync(join(dir, 'Chart.lock'), 'utf8');
    const digest = hashReq(
      [{ name: 'common', version: '1.0.0', repository: oci() }],
      [{ name: 'common', version: '1.0.0', repository: oci() }],
    );
    expect(text).toBe(
      `dependencies:\n- name: common\n  repository: ${oci()}\n  version: 1.0.0\ndigest: ${digest}\ngenerated: "2025-01-02T03:04:05.678Z"\n`,
    );
    const again = await updateDependencies(dir, { client, pin: false });
    expect(again.lockWritten).toBe(false);
    expect(readFileSync(join(dir, 'Chart.lock'), 'utf8')).toBe(text);
  });

  it('re-resolves after Chart.yaml changed (an out-of-sync lock is what update is for)', async () => {
    const dir = parent(`  - name: common\n    version: ~1.0.0\n    repository: ${oci()}\n`);
    expect((await updateDependencies(dir, { client, generated: GENERATED })).ok).toBe(true);
    expect(readdirSync(join(dir, 'charts'))).toEqual(['common-1.0.0.tgz']);
    writeFileSync(
      join(dir, 'Chart.yaml'),
      `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: common\n    version: ">=2"\n    repository: ${oci()}\n`,
    );
    const r = await updateDependencies(dir, { client, generated: GENERATED });
    expect(r.ok).toBe(true);
    expect(r.removed).toEqual(['charts/common-1.0.0.tgz']);
    expect(readdirSync(join(dir, 'charts'))).toEqual(['common-2.0.0.tgz']);
    const lock = await readLockFile(dir, 'Chart.lock');
    expect(lock.dependencies[0]!.version).toBe('2.0.0');
    expect((await verifyDependencies(dir)).ok).toBe(true);
  });

  it('fails without writing when the source serves other content under a pinned version (unless force)', async () => {
    const dir = parent(`  - name: redis\n    version: 17.3.1\n    repository: ${repo.url}\n`);
    expect((await updateDependencies(dir, { client, generated: GENERATED })).ok).toBe(true);
    const before = readFileSync(join(dir, 'Chart.lock'), 'utf8');
    const tampered = await makeChartArchive('redis', '17.3.1', { 'templates/x.yaml': 'evil: true\n' });
    repo.swap('redis', '17.3.1', tampered, true);
    try {
      const r = await updateDependencies(dir, { client });
      expect(r.ok).toBe(false);
      expect(r.dependencies[0]!.status).toBe('changed');
      expect(r.dependencies[0]!.previous).toBe(sha(archives['redis-17.3.1']!));
      expect(readFileSync(join(dir, 'Chart.lock'), 'utf8')).toBe(before);
      expect(
        readFileSync(join(dir, 'charts/redis-17.3.1.tgz')).equals(Buffer.from(archives['redis-17.3.1']!)),
      ).toBe(true);
      const forced = await updateDependencies(dir, { client, force: true });
      expect(forced.ok).toBe(true);
      expect((await readLockFile(dir, 'Chart.lock')).dependencies[0]!.digest).toBe(sha(tampered));
    } finally {
      repo.swap('redis', '17.3.1', archives['redis-17.3.1']!, true);
    }
  });

  it('writes nothing when one dependency cannot be resolved', async () => {
    const dir = parent(
      `  - name: redis\n    version: 17.3.1\n    repository: ${repo.url}\n` +
        `  - name: common\n    version: ^9\n    repository: ${oci()}\n`,
    );
    const r = await updateDependencies(dir, { client });
    expect(r.ok).toBe(false);
    expect(r.dependencies[1]).toMatchObject({ status: 'failed', errorCode: 'NOT_FOUND' });
    expect(existsSync(join(dir, 'charts'))).toBe(false);
    expect(existsSync(join(dir, 'Chart.lock'))).toBe(false);
  });

  it('packages file:// dependencies, keeps empty-repository charts and removes outdated archives', async () => {
    const dir = parent(
      '  - name: lib\n    version: ">=0.1.0"\n    repository: file://../lib\n' +
        '  - name: inline\n    version: 0.2.x\n    repository: ""\n',
      { 'charts/inline/Chart.yaml': 'apiVersion: v2\nname: inline\nversion: 0.2.3\n' },
    );
    mkdirSync(join(dir, '..', 'lib'), { recursive: true });
    writeFileSync(join(dir, '..', 'lib', 'Chart.yaml'), 'apiVersion: v2\nname: lib\nversion: 0.3.0\n');
    writeFileSync(join(dir, 'charts', 'redis-17.3.1.tgz'), archives['redis-17.3.1']!); // outdated
    writeFileSync(join(dir, 'charts', 'notes.txt'), 'not a chart');
    const r = await updateDependencies(dir, { client, generated: GENERATED, sourceDateEpoch: 0 });
    expect(r.ok).toBe(true);
    expect(r.dependencies.map((d) => [d.name, d.version, d.status])).toEqual([
      ['lib', '0.3.0', 'packaged'],
      ['inline', '0.2.x', 'local'],
    ]);
    expect(r.removed).toEqual(['charts/redis-17.3.1.tgz']);
    expect(r.notRemoved.map((x) => x.file)).toEqual(['charts/notes.txt']);
    expect(readdirSync(join(dir, 'charts')).sort()).toEqual(['inline', 'lib-0.3.0.tgz', 'notes.txt']);
    const lock = await readLockFile(dir, 'Chart.lock');
    expect(lock.dependencies.map((d) => [d.name, d.version, d.repository])).toEqual([
      ['lib', '0.3.0', 'file://../lib'],
      ['inline', '0.2.x', ''],
    ]);
    expect(lock.dependencies[0]!.digest).toBe(sha(readFileSync(join(dir, 'charts/lib-0.3.0.tgz'))));
  });

  it('resolves @name repositories only through the repositories given, and locks their URLs', async () => {
    const dir = parent('  - name: redis\n    version: 17.3.1\n    repository: "@myrepo"\n');
    await expect(updateDependencies(dir, { client })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const r = await updateDependencies(dir, {
      client,
      repositories: { myrepo: repo.url },
      generated: GENERATED,
    });
    expect(r.ok).toBe(true);
    expect(r.repositories).toEqual([{ url: repo.url, name: 'myrepo' }]);
    const lock = await readLockFile(dir, 'Chart.lock');
    expect(lock.dependencies[0]!.repository).toBe(repo.url);
    const req = [{ name: 'redis', version: '17.3.1', repository: repo.url }];
    expect(lock.digest).toBe(hashReq(req, req));
  });

  it('chartproof deps update prints helm dependency update lines, then the pins', async () => {
    const dir = parent(
      `  - name: redis\n    version: 17.3.1\n    repository: ${repo.url}\n` +
        `  - name: common\n    version: 1.0.0\n    repository: ${oci()}\n`,
    );
    const c = captureIo('', { HOME: '/nonexistent' });
    const code = await run(['--plain-http', 'deps', 'update', dir], c.io);
    expect(code).toBe(0);
    const lines = c.out().trimEnd().split('\n');
    expect(lines.slice(0, 6)).toEqual([
      'Getting updates for unmanaged Helm repositories...',
      `...Successfully got an update from the "${repo.url}" chart repository`,
      'Saving 2 charts',
      `Downloading redis from repo ${repo.url}`,
      `Downloading common from repo ${oci()}`,
      'Deleting outdated charts',
    ]);
    // Helm's registry client writes these to stderr.
    expect(c.err()).toBe(
      `Pulled: ${server.host}/charts/common:1.0.0\nDigest: ${manifests['common-1.0.0']}\n`,
    );
    expect(lines[6]).toBe(
      `Pinned: redis-17.3.1 ${sha(archives['redis-17.3.1']!)} (${repo.url}redis-17.3.1.tgz)`,
    );
    expect(lines.at(-1)).toMatch(/^Wrote .*Chart\.lock \(Helm's lock digest: sha256:[0-9a-f]{64}\)\.$/);
  });
});
