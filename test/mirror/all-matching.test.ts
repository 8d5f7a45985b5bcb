/**
 * `allMatching: true`: a range mirrors every matching version (skopeo sync / regsync
 * style), bounded by `maxVersions`; without it a range still takes its newest match.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import { applyMirror } from '../../src/mirror/apply.js';
import { planMirror } from '../../src/mirror/plan.js';
import { type MirrorChart, type MirrorSpec, parseMirrorSpec } from '../../src/mirror/spec.js';
import type { RegistryClient } from '../../src/oci/index.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { ChartRepoServer, makeChartArchive } from '../helpers/chart-repo.js';
import { listeningFixture } from '../helpers/registry.js';

describe('mirror spec: allMatching and maxVersions', () => {
  const spec = (chart: Record<string, unknown>) =>
    parseMirrorSpec({
      target: { registry: 'internal.example' },
      charts: [{ name: 'a', source: 'oci://x/a', versions: ['^1'], ...chart }],
    });

  it('reads allMatching and maxVersions per chart', () => {
    expect(spec({}).charts[0]!.allMatching).toBeUndefined();
    const c = spec({ allMatching: true, maxVersions: 3 }).charts[0]!;
    expect(c.allMatching).toBe(true);
    expect(c.maxVersions).toBe(3);
  });

  it.each([
    [{ allMatching: 'yes' }, /charts\[0\]\.allMatching: must be true or false/],
    [{ allMatching: true, maxVersions: 0 }, /charts\[0\]\.maxVersions: must be an integer from 1 to 1000/],
    [{ allMatching: true, maxVersions: 1001 }, /maxVersions: must be an integer from 1 to 1000/],
    [{ allMatching: true, maxVersions: 2.5 }, /maxVersions: must be an integer/],
    [{ maxVersions: 5 }, /charts\[0\]\.maxVersions: applies with allMatching: true only/],
  ])('rejects %j', (chart, message) => {
    expect(() => spec(chart)).toThrow(message);
  });
});

describe('mirror plan/apply with allMatching (loopback registries + a classic repository)', () => {
  let internal: MemoryRegistry;
  let up: { host: string; close(): Promise<void> };
  let inn: { host: string; close(): Promise<void> };
  let repo: ChartRepoServer;
  let client: RegistryClient;

  beforeAll(async () => {
    internal = new MemoryRegistry();
    ({ server: up, client } = await listeningFixture());
    inn = await internal.listen();
    repo = await new ChartRepoServer().start();
    for (const version of ['1.0.0', '1.1.0', '1.2.0-rc.1', '2.0.0', '1.0.1+build.7']) {
      const archive = await makeChartArchive('app', version);
      await pushChart(client, archive, { name: 'app', version, apiVersion: 'v2' }, `oci://${up.host}/charts`);
    }
    for (const version of ['17.0.0', '17.1.0', '18.0.0'])
      repo.publish('redis', version, await makeChartArchive('redis', version));
  });
  afterAll(async () => {
    await client.close();
    await up.close();
    await inn.close();
    await repo.close();
  });

  function spec(charts: MirrorChart[], prefix = 'plan'): MirrorSpec {
    return parseMirrorSpec({
      target: { registry: inn.host, prefix, plainHttp: true },
      scan: { render: false },
      charts,
    });
  }
  const app = (versions: string[], extra: Partial<MirrorChart> = {}): MirrorChart => ({
    name: 'app',
    source: `oci://${up.host}/charts/app`,
    versions,
    ...extra,
  });
  const rows = (items: Array<{ requested: string; version: string; action?: string; status?: string }>) =>
    items.map((i) => [i.requested, i.version, i.action ?? i.status]);

  it('a range takes its newest match by default', async () => {
    const items = await planMirror(spec([app(['^1'])]), { client });
    expect(rows(items)).toEqual([['^1', '1.1.0', 'copy']]);
  });

  it('with allMatching a range takes every match, oldest first, prereleases only when named', async () => {
    const items = await planMirror(spec([app(['^1'], { allMatching: true })]), { client });
    expect(rows(items)).toEqual([
      ['^1', '1.0.0', 'copy'],
      ['^1', '1.0.1+build.7', 'copy'],
      ['^1', '1.1.0', 'copy'],
    ]);
    expect(items[1]!.target).toBe(`${inn.host}/plan/app:1.0.1_build.7`);
    expect(items[1]!.source).toBe(`oci://${up.host}/charts/app:1.0.1_build.7`);
    const pre = await planMirror(spec([app(['>=1.2.0-0'], { allMatching: true })]), { client });
    expect(rows(pre)).toEqual([
      ['>=1.2.0-0', '1.2.0-rc.1', 'copy'],
      ['>=1.2.0-0', '2.0.0', 'copy'],
    ]);
  });

  it('leaves exact versions alone and copies a version two entries select once', async () => {
    const items = await planMirror(spec([app(['1.1.0', '~1.1', '<1.1.0'], { allMatching: true })]), {
      client,
    });
    expect(rows(items)).toEqual([
      ['1.1.0', '1.1.0', 'copy'],
      ['~1.1', '1.1.0', 'skip'],
      ['<1.1.0', '1.0.0', 'copy'],
      ['<1.1.0', '1.0.1+build.7', 'copy'],
    ]);
    expect(items[1]!.reason).toBe('same version as "1.1.0"');
  });

  it('fails a range matching more than maxVersions (SIZE_LIMIT_EXCEEDED), not truncated', async () => {
    const items = await planMirror(spec([app(['^1', '2.0.0'], { allMatching: true, maxVersions: 2 })]), {
      client,
    });
    expect(rows(items)).toEqual([
      ['^1', '', 'fail'],
      ['2.0.0', '2.0.0', 'copy'],
    ]);
    expect(items[0]!.reason).toBe(
      '"^1" matches 3 versions of app, more than maxVersions (2): narrow the range or raise maxVersions',
    );
  });

  it('reports a range without a match, and a bad range, like a newest-match range', async () => {
    const items = await planMirror(spec([app(['^9', '>>1'], { allMatching: true })]), { client });
    expect(rows(items)).toEqual([
      ['^9', '', 'fail'],
      ['>>1', '', 'fail'],
    ]);
    expect(items[0]!.reason).toMatch(/^not found at the source: .*could not locate a version matching/);
    expect(items[1]!.reason).toBe('improper constraint: >>1');
  });

  it('expands ranges over a classic repository index', async () => {
    const items = await planMirror(
      spec([{ name: 'redis', repo: repo.url, versions: ['^17'], allMatching: true }]),
      { client },
    );
    expect(rows(items)).toEqual([
      ['^17', '17.0.0', 'copy'],
      ['^17', '17.1.0', 'copy'],
    ]);
  });

  it('apply copies every match and a re-run skips them all', async () => {
    const s = spec(
      [
        app(['^1'], { allMatching: true }),
        { name: 'redis', repo: repo.url, versions: ['^17'], allMatching: true },
      ],
      'apply',
    );
    const first = await applyMirror(s, { client });
    expect(rows(first.results)).toEqual([
      ['^1', '1.0.0', 'copied'],
      ['^1', '1.0.1+build.7', 'copied'],
      ['^1', '1.1.0', 'copied'],
      ['^17', '17.0.0', 'copied'],
      ['^17', '17.1.0', 'copied'],
    ]);
    expect((await client.repository(`${inn.host}/apply/app`).tags()).sort()).toEqual([
      '1.0.0',
      '1.0.1_build.7',
      '1.1.0',
    ]);
    const again = await applyMirror(s, { client });
    expect(again.summary).toEqual({ copied: 0, skipped: 5, refused: 0, failed: 0 });
  });
});
