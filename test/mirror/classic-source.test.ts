/**
 * Classic repositories: the index is read once per run (the entry that chose a version
 * is the one its download is checked against, even when the index changes meanwhile),
 * and a `.prov` travels with the chart only when the keyring verified it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signProvenance } from '../../src/chart/provenance.js';
import { MediaType } from '../../src/oci/media-types.js';
import { applyMirror } from '../../src/mirror/apply.js';
import { planMirror } from '../../src/mirror/plan.js';
import { type MirrorSpec, parseMirrorSpec } from '../../src/mirror/spec.js';
import type { RegistryClient } from '../../src/oci/index.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { ChartRepoServer, makeChartArchive } from '../helpers/chart-repo.js';
import { listeningFixture } from '../helpers/registry.js';

describe('mirror: classic repositories', () => {
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
    for (const version of ['17.0.0', '17.1.0'])
      repo.publish('redis', version, await makeChartArchive('redis', version));
  });
  afterAll(async () => {
    await client.close();
    await up.close();
    await inn.close();
    await repo.close();
  });

  const spec = (versions: string[], chart: Record<string, unknown> = {}): MirrorSpec =>
    parseMirrorSpec({
      target: { registry: inn.host, prefix: 'classic', plainHttp: true },
      charts: [{ name: 'redis', repo: repo.url, versions, ...chart }],
    });

  it('fetches index.yaml once for every version of the run', async () => {
    repo.requests = [];
    const items = await planMirror(spec(['17.0.0', '^17']), { client });
    expect(items.map((i) => [i.version, i.action])).toEqual([
      ['17.0.0', 'copy'],
      ['17.1.0', 'copy'],
    ]);
    expect(repo.requests.filter((r) => r === 'GET /index.yaml')).toHaveLength(1);
  });

  it('checks the download against the entry that chose the version, not a newer index', async () => {
    const other = await makeChartArchive('redis', '17.1.0', { 'templates/x.yaml': 'kind: ConfigMap\n' });
    const indexYaml = repo.indexYaml.bind(repo);
    let served = 0;
    // Right after the index is read, the repository re-publishes 17.1.0 (archive and digest).
    repo.indexYaml = () => {
      const text = indexYaml();
      if (served++ === 0) repo.swap('redis', '17.1.0', other, true);
      return text;
    };
    try {
      const [item] = await planMirror(spec(['^17']), { client });
      expect(item!.version).toBe('17.1.0');
      expect(item!.action).toBe('fail');
      expect(item!.reason).toMatch(/does not match the index digest/);
    } finally {
      repo.indexYaml = indexYaml;
    }
  });

  it('does not carry a .prov that failed verification (verify.required: false)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-prov-'));
    try {
      const opts = { type: 'ecc', format: 'armored' } as const;
      const trusted = await generateKey({ ...opts, userIDs: [{ email: 'trusted@example.com' }] });
      const stranger = await generateKey({ ...opts, userIDs: [{ email: 'stranger@example.com' }] });
      writeFileSync(join(dir, 'keyring.asc'), trusted.publicKey);
      const archive = await makeChartArchive('redis', '17.0.0');
      const meta = { apiVersion: 'v2', name: 'redis', version: '17.0.0' };
      const prov = await signProvenance(archive, 'redis-17.0.0.tgz', meta, stranger.privateKey);
      repo.files.set('redis-17.0.0.tgz.prov', new TextEncoder().encode(prov));
      const s = spec(['17.0.0'], { verify: { keyring: join(dir, 'keyring.asc'), required: false } });
      const report = await applyMirror(s, { client });
      const [r] = report.results;
      expect(r!.status).toBe('copied');
      expect(r!.verification).toMatchObject({ method: 'provenance', verified: false, required: false });
      const dst = client.repository(`${inn.host}/classic/redis`);
      const { manifest } = await dst.fetchManifest('17.0.0');
      const layers = (manifest.layers as Array<{ mediaType: string }>).map((l) => l.mediaType);
      expect(layers).toEqual([MediaType.HelmChartContent]);
    } finally {
      repo.files.delete('redis-17.0.0.tgz.prov');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('verifies the .prov of an archive whose URL is percent-encoded by the decoded file name, as Helm does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-prov-'));
    try {
      const trusted = await generateKey({
        type: 'ecc',
        format: 'armored',
        userIDs: [{ email: 't@example.com' }],
      });
      writeFileSync(join(dir, 'keyring.asc'), trusted.publicKey);
      const version = '18.0.0+build.7';
      const archive = await makeChartArchive('redis', version);
      repo.publish('redis', version, archive);
      // The index names the archive redis-18.0.0%2Bbuild.7.tgz; Helm saves (and looks it
      // up in the .prov) as redis-18.0.0+build.7.tgz.
      const entry = repo.entries.find((e) => e.version === version)!;
      entry.file = 'redis-18.0.0%2Bbuild.7.tgz';
      repo.files.set(entry.file, archive);
      const meta = { apiVersion: 'v2', name: 'redis', version };
      const prov = await signProvenance(archive, 'redis-18.0.0+build.7.tgz', meta, trusted.privateKey);
      repo.files.set(`${entry.file}.prov`, new TextEncoder().encode(prov));
      const s = spec([version], { verify: { keyring: join(dir, 'keyring.asc'), required: true } });
      const [item] = await planMirror(s, { client });
      expect(item!.action, item!.reason).toBe('copy');
      expect(item!.verification).toMatchObject({ method: 'provenance', verified: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
