import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import { run } from '../../src/cli/main.js';
import { applyMirror } from '../../src/mirror/apply.js';
import { detectDrift, driftSummaryLine } from '../../src/mirror/drift.js';
import { type MirrorSpec, parseMirrorSpec } from '../../src/mirror/spec.js';
import type { RegistryClient } from '../../src/oci/index.js';
import { generateKeyPair } from '../../src/keys/keys.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { ChartRepoServer, makeChartArchive } from '../helpers/chart-repo.js';
import { captureIo } from '../helpers/cli-io.js';
import { listeningFixture } from '../helpers/registry.js';

describe('mirror drift', () => {
  let internal: MemoryRegistry;
  let up: { host: string; close(): Promise<void> };
  let inn: { host: string; close(): Promise<void> };
  let repo: ChartRepoServer;
  let client: RegistryClient;
  let dir: string;
  let publicKeyPem: string;
  const env = { COSIGN_PASSWORD: 'in' };

  async function publish(name: string, version: string, extra: Record<string, string> = {}) {
    const archive = await makeChartArchive(name, version, extra);
    return pushChart(client, archive, { name, version, apiVersion: 'v2' }, `oci://${up.host}/charts`);
  }

  beforeAll(async () => {
    internal = new MemoryRegistry();
    ({ server: up, client } = await listeningFixture());
    inn = await internal.listen();
    repo = await new ChartRepoServer().start();
    dir = mkdtempSync(join(tmpdir(), 'cp-drift-'));
    const keys = await generateKeyPair({ password: 'in' });
    writeFileSync(join(dir, 'internal.key'), keys.privateKeyPem);
    writeFileSync(join(dir, 'internal.pub'), keys.publicKeyPem);
    publicKeyPem = keys.publicKeyPem;
  });
  afterAll(async () => {
    await client.close();
    await up.close();
    await inn.close();
    await repo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function spec(prefix: string, charts: MirrorSpec['charts']): MirrorSpec {
    return parseMirrorSpec({
      target: { registry: inn.host, prefix, plainHttp: true },
      sign: { key: join(dir, 'internal.key'), format: 'bundle' },
      charts,
    });
  }

  it('reports up-to-date, newer upstream versions and a re-publish under the same version', async () => {
    await publish('app', '1.0.0');
    await publish('pinned', '2.0.0');
    repo.publish('classic', '5.0.0', await makeChartArchive('classic', '5.0.0'));
    const s = spec('d1', [
      { name: 'app', source: `oci://${up.host}/charts/app`, versions: ['~1.0.0'] },
      { name: 'pinned', source: `oci://${up.host}/charts/pinned`, versions: ['2.0.0'] },
      { name: 'classic', repo: repo.url, versions: ['5.0.0'] },
    ]);
    expect((await applyMirror(s, { client, env })).summary.copied).toBe(3);

    const clean = await detectDrift(s, { client });
    expect(clean.items.map((i) => [i.name, i.version, i.status])).toEqual([
      ['app', '1.0.0', 'up-to-date'],
      ['pinned', '2.0.0', 'up-to-date'],
      ['classic', '5.0.0', 'up-to-date'],
    ]);
    expect(driftSummaryLine(clean)).toBe(
      'Drift: 3 up to date, 0 newer upstream, 0 changed upstream, 0 missing upstream, 0 failed',
    );

    // New versions: 1.0.1 satisfies ~1.0.0, 1.1.0 does not; any newer version of a pin counts.
    await publish('app', '1.0.1');
    await publish('app', '1.1.0');
    await publish('pinned', '2.1.0');
    await publish('pinned', '3.0.0-rc.1');
    // Re-publishes under existing versions.
    const again = await publish('app', '1.0.0', { 'templates/cm.yaml': 'kind: ConfigMap\n' });
    repo.swap('classic', '5.0.0', await makeChartArchive('classic', '5.0.0', { 'x.txt': 'x' }), true);

    const writes = () => internal.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD').length;
    const before = writes();
    const drift = await detectDrift(s, { client });
    expect(writes()).toBe(before);
    expect(drift.items.map((i) => [i.name, i.version, i.status])).toEqual([
      ['app', '1.0.0', 'changed-upstream'],
      ['app', '1.0.1', 'newer-upstream'],
      ['pinned', '2.0.0', 'up-to-date'],
      ['pinned', '2.1.0', 'newer-upstream'],
      ['classic', '5.0.0', 'changed-upstream'],
    ]);
    expect(drift.items[0]!.upstreamDigest).toBe(again.digest);
    expect(drift.items[0]!.targetDigest).not.toBe(again.digest);
    expect(drift.items[0]!.reason).toMatch(/re-published or tampered/);
    expect(drift.summary).toEqual({
      upToDate: 1,
      newerUpstream: 2,
      changedUpstream: 2,
      missingUpstream: 0,
      failed: 0,
    });
  });

  it('reads an index digest written as SHA256:<UPPERCASE HEX> as the same digest (no false drift)', async () => {
    repo.publish('shouty', '1.0.0', await makeChartArchive('shouty', '1.0.0'), {
      digestAs: (hex) => `SHA256:${hex.toUpperCase()}`,
    });
    const s = spec('d4', [{ name: 'shouty', repo: repo.url, versions: ['1.0.0'] }]);
    expect((await applyMirror(s, { client, env })).summary.copied).toBe(1);
    const drift = await detectDrift(s, { client });
    expect(drift.items.map((i) => [i.name, i.status, i.reason])).toEqual([
      ['shouty', 'up-to-date', undefined],
    ]);
  });

  it('reports a version gone upstream and an unreachable source as failed', async () => {
    await publish('gone', '1.0.0');
    const s = spec('d2', [{ name: 'gone', source: `oci://${up.host}/charts/gone`, versions: ['1.0.0'] }]);
    await applyMirror(s, { client, env });
    // The mirrored version is deleted upstream.
    const r = client.repository(`${up.host}/charts/gone`);
    await r.delete(await r.resolve('1.0.0'));
    const drift = await detectDrift(s, { client });
    expect(drift.items.map((i) => i.status)).toEqual(['missing-upstream']);

    const broken = spec('d2', [{ name: 'gone', repo: 'http://127.0.0.1:9/', versions: ['1.0.0'] }]);
    const failed = await detectDrift(broken, { client });
    expect(failed.summary.failed).toBe(1);
  });

  it('CLI: mirror drift exits 0 when clean, 1 when upstream changed under a version', async () => {
    await publish('cli-drift', '1.0.0');
    const file = join(dir, 'drift.yaml');
    writeFileSync(
      file,
      [
        `target: { registry: "${inn.host}", prefix: cli, plainHttp: true }`,
        'charts:',
        '  - name: cli-drift',
        `    source: oci://${up.host}/charts/cli-drift`,
        '    versions: ["1.0.0"]',
        '    plainHttp: true',
        '',
      ].join('\n'),
    );
    const apply = captureIo('', { HOME: dir });
    expect(await run(['mirror', 'apply', '--config', file], apply.io)).toBe(0);

    const clean = captureIo('', { HOME: dir });
    expect(await run(['mirror', 'drift', '--config', file], clean.io)).toBe(0);
    expect(clean.out()).toMatch(
      /Drift: 1 up to date, 0 newer upstream, 0 changed upstream, 0 missing upstream, 0 failed\n$/,
    );

    await publish('cli-drift', '1.0.0', { 'templates/evil.yaml': 'kind: ConfigMap\n' });
    await publish('cli-drift', '1.2.0');
    const report = join(dir, 'drift.json');
    const changed = captureIo('', { HOME: dir });
    expect(await run(['mirror', 'drift', '--config', file, '--report', report], changed.io)).toBe(1);
    expect(changed.out()).toMatch(/CHANGED +cli-drift-1\.0\.0 /);
    expect(changed.out()).toMatch(/newer-upstream +cli-drift-1\.2\.0 /);
    expect(changed.out()).toMatch(
      /Drift: 0 up to date, 1 newer upstream, 1 changed upstream, 0 missing upstream, 0 failed\n$/,
    );
    expect(JSON.parse(readFileSync(report, 'utf8')).summary.changedUpstream).toBe(1);
  });

  it('with a target policy, a tag moved at the target is changed-target, not changed-upstream', async () => {
    await publish('moved', '1.0.0');
    await publish('kept', '1.0.0');
    const s = spec('d3', [
      { name: 'moved', source: `oci://${up.host}/charts/moved`, versions: ['1.0.0'] },
      { name: 'kept', source: `oci://${up.host}/charts/kept`, versions: ['1.0.0'] },
    ]);
    expect((await applyMirror(s, { client, env })).summary.copied).toBe(2);
    const targetPolicy = { keys: [publicKeyPem], tlog: 'skip' as const };
    const clean = await detectDrift(s, { client, targetPolicy });
    expect(clean.items.map((i) => [i.name, i.status])).toEqual([
      ['moved', 'up-to-date'],
      ['kept', 'up-to-date'],
    ]);
    expect(clean.summary.changedTarget).toBe(0);

    // Someone with push access to the target re-points moved:1.0.0 at another chart.
    const archive = await makeChartArchive('moved', '1.0.0', { 'templates/evil.yaml': 'kind: ConfigMap\n' });
    const planted = await pushChart(
      client,
      archive,
      { name: 'moved', version: '1.0.0', apiVersion: 'v2' },
      `oci://${inn.host}/d3`,
    );
    const drift = await detectDrift(s, { client, targetPolicy });
    expect(drift.items.map((i) => [i.name, i.status])).toEqual([
      ['moved', 'changed-target'],
      ['kept', 'up-to-date'],
    ]);
    expect(drift.items[0]!.targetDigest).toBe(planted.digest);
    expect(drift.items[0]!.reason).toMatch(/which the target policy does not verify .*moved at the target/);
    expect(drift.summary).toMatchObject({ upToDate: 1, changedTarget: 1, changedUpstream: 0 });
    expect(driftSummaryLine(drift)).toBe(
      'Drift: 1 up to date, 0 newer upstream, 0 changed upstream, 1 changed at the target, 0 missing upstream, 0 failed',
    );
    // Without the policy the two cannot be told apart: the digests differ.
    const blind = await detectDrift(s, { client });
    expect(blind.items[0]!.status).toBe('changed-upstream');
    expect(blind.summary.changedTarget).toBeUndefined();

    // CLI: --key makes the same distinction, exit 1.
    const file = join(dir, 'd3.yaml');
    writeFileSync(
      file,
      [
        `target: { registry: "${inn.host}", prefix: d3, plainHttp: true }`,
        'charts:',
        ...['moved', 'kept'].flatMap((n) => [
          `  - name: ${n}`,
          `    source: oci://${up.host}/charts/${n}`,
          '    versions: ["1.0.0"]',
          '    plainHttp: true',
        ]),
        '',
      ].join('\n'),
    );
    const cli = captureIo('', { HOME: dir });
    expect(
      await run(
        ['mirror', 'drift', '--config', file, '--key', join(dir, 'internal.pub'), '--insecure-ignore-tlog'],
        cli.io,
      ),
      cli.err(),
    ).toBe(1);
    expect(cli.out()).toMatch(/CHANGED-TARGET +moved-1\.0\.0 /);
    expect(cli.out()).toMatch(/up-to-date +kept-1\.0\.0 /);
    const misuse = captureIo('', { HOME: dir });
    expect(
      await run(['mirror', 'plan', '--config', file, '--key', join(dir, 'internal.pub')], misuse.io),
    ).toBe(2);
    expect(misuse.err()).toMatch(/--key applies to mirror drift and mirror overlay/);
  });
});
