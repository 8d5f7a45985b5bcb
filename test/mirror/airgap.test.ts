import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullChart, pushChart } from '../../src/chart/oci.js';
import { run } from '../../src/cli/main.js';
import { AIRGAP_MANIFEST_FILE, type AirgapManifest, exportMirror } from '../../src/mirror/airgap.js';
import { importMirror } from '../../src/mirror/airgap-import.js';
import { applyMirror } from '../../src/mirror/apply.js';
import { type MirrorSpec, parseMirrorSpec } from '../../src/mirror/spec.js';
import { copy } from '../../src/oci/copy.js';
import { digestOf } from '../../src/oci/digest.js';
import type { RegistryClient } from '../../src/oci/index.js';
import { OciLayout } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/media-types.js';
import { generateKeyPair, keyFileSigner } from '../../src/keys/keys.js';
import { signLegacy } from '../../src/sign/legacy.js';
import { signBundle } from '../../src/sign/referrer.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { verifyChart } from '../../src/verify/chart.js';
import { ChartRepoServer, makeChartArchive } from '../helpers/chart-repo.js';
import { captureIo } from '../helpers/cli-io.js';
import { listeningFixture } from '../helpers/registry.js';

describe('mirror export/import (air gap)', () => {
  let direct: MemoryRegistry;
  let airgapped: MemoryRegistry;
  let up: { host: string; close(): Promise<void> };
  let dir1: { host: string; close(): Promise<void> };
  let gap: { host: string; close(): Promise<void> };
  let repo: ChartRepoServer;
  let client: RegistryClient;
  let dir: string;
  let upstreamKeys: { privateKeyPem: string; publicKeyPem: string };
  let internalKeys: { privateKeyPem: string; publicKeyPem: string };
  const digests: Record<string, string> = {};
  const env = { COSIGN_PASSWORD: 'in' };

  async function publish(name: string, version: string, extra: Record<string, string> = {}, sign = true) {
    const archive = await makeChartArchive(name, version, extra);
    const pushed = await pushChart(
      client,
      archive,
      { name, version, apiVersion: 'v2' },
      `oci://${up.host}/charts`,
    );
    if (sign) {
      const signer = await keyFileSigner(upstreamKeys.privateKeyPem, 'up');
      const r = client.repository(`${up.host}/charts/${name}`);
      const subject = await r.resolve(version);
      await signLegacy(r, subject, signer);
      await signBundle(r, subject, signer);
    }
    digests[`${name}-${version}`] = pushed.digest;
    return pushed;
  }

  beforeAll(async () => {
    direct = new MemoryRegistry({ referrersApi: false });
    airgapped = new MemoryRegistry();
    ({ server: up, client } = await listeningFixture());
    dir1 = await direct.listen();
    gap = await airgapped.listen();
    repo = await new ChartRepoServer().start();
    dir = mkdtempSync(join(tmpdir(), 'cp-airgap-'));
    upstreamKeys = await generateKeyPair({ password: 'up' });
    internalKeys = await generateKeyPair({ password: 'in' });
    writeFileSync(join(dir, 'upstream.pub'), upstreamKeys.publicKeyPem);
    writeFileSync(join(dir, 'internal.key'), internalKeys.privateKeyPem);
    await publish('nginx', '1.0.0');
    await publish('nginx', '1.1.0');
    await publish('unsigned', '2.0.0', {}, false);
    await publish('risky', '0.1.0', {
      'templates/crb.yaml':
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: x\n',
    });
    repo.publish('redis', '17.3.1', await makeChartArchive('redis', '17.3.1'));
  });
  afterAll(async () => {
    await client.close();
    await up.close();
    await dir1.close();
    await gap.close();
    await repo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const verifyUp = () => ({ key: join(dir, 'upstream.pub'), insecureIgnoreTlog: true });
  function spec(host: string, prefix: string, charts: MirrorSpec['charts']): MirrorSpec {
    return parseMirrorSpec({
      target: { registry: host, prefix, plainHttp: true },
      sign: { key: join(dir, 'internal.key'), format: 'both' },
      scan: { block: 'high' },
      charts,
    });
  }
  const charts = (): MirrorSpec['charts'] => [
    {
      name: 'nginx',
      source: `oci://${up.host}/charts/nginx`,
      versions: ['1.0.0', '^1.0.0'],
      verify: verifyUp(),
    },
    { name: 'redis', repo: repo.url, versions: ['17.3.1'] },
  ];
  const writes = (r: MemoryRegistry) =>
    r.requests.filter((q) => q.method !== 'GET' && q.method !== 'HEAD').length;

  it('export then import gives the digests of a direct apply, with upstream and internal signatures', async () => {
    const out = join(dir, 'export1');
    // The target of the exporting spec is unreachable: export does not consult it.
    const exported = await exportMirror(spec('127.0.0.1:9', 'charts', charts()), out, { client });
    expect(exported.summary).toEqual({ copied: 3, skipped: 0, refused: 0, failed: 0 });
    const manifest = JSON.parse(readFileSync(join(out, AIRGAP_MANIFEST_FILE), 'utf8')) as AirgapManifest;
    expect(manifest.entries.map((e) => [e.name, e.version, e.layout, e.tag])).toEqual([
      ['nginx', '1.0.0', 'nginx', '1.0.0'],
      ['nginx', '1.1.0', 'nginx', '1.1.0'],
      ['redis', '17.3.1', 'redis', '17.3.1'],
    ]);
    expect(manifest.entries[0]!.digest).toBe(digests['nginx-1.0.0']);
    expect(manifest.entries[0]!.verification).toMatchObject({ method: 'cosign', verified: true });
    expect(manifest.entries[0]!.signatures).toBeGreaterThanOrEqual(2);
    // A plain OCI layout per chart, readable by any layout reader.
    expect(await (await OciLayout.open(join(out, 'nginx'))).tags()).toEqual(
      expect.arrayContaining(['1.0.0', '1.1.0']),
    );

    const applied = await applyMirror(spec(dir1.host, 'charts', charts()), { client, env });
    expect(applied.summary.copied).toBe(3);
    const imported = await importMirror(spec(gap.host, 'charts', charts()), out, { client, env });
    expect(imported.summary).toEqual({ copied: 3, skipped: 0, refused: 0, failed: 0 });
    const byVersion = (r: typeof applied) =>
      r.results.filter((x) => x.status === 'copied').map((x) => [x.version, x.digest]);
    expect(byVersion(imported)).toEqual(byVersion(applied));
    expect(imported.results[0]!.digest).toBe(digests['nginx-1.0.0']);

    const upstreamPolicy = { keys: [upstreamKeys.publicKeyPem], tlog: 'skip' as const };
    const internalPolicy = { keys: [internalKeys.publicKeyPem], tlog: 'skip' as const };
    for (const format of ['legacy', 'bundle'] as const) {
      const ref = `${gap.host}/charts/nginx:1.1.0`;
      expect((await verifyChart(client, ref, { policy: upstreamPolicy, formats: [format] })).digest).toBe(
        digests['nginx-1.1.0'],
      );
      expect(
        (await verifyChart(client, ref, { policy: internalPolicy, formats: [format] })).verified,
      ).toBeGreaterThanOrEqual(1);
      // The upstream key did not sign the internal signature and vice versa.
      await expect(
        verifyChart(client, `${gap.host}/charts/redis:17.3.1`, { policy: upstreamPolicy, formats: [format] }),
      ).rejects.toThrow();
    }
    const redis = await pullChart(client, `oci://${gap.host}/charts/redis:17.3.1`);
    expect(Buffer.from(redis.archive).equals(Buffer.from(repo.files.get('redis-17.3.1.tgz')!))).toBe(true);

    // Re-import writes nothing.
    const before = writes(airgapped);
    const again = await importMirror(spec(gap.host, 'charts', charts()), out, { client, env });
    expect(again.summary).toEqual({ copied: 0, skipped: 3, refused: 0, failed: 0 });
    expect(writes(airgapped)).toBe(before);
  });

  it('export refuses what plan refuses (unsigned, scanner) and exports nothing for them', async () => {
    const out = join(dir, 'export2');
    const s = spec('127.0.0.1:9', 'charts', [
      {
        name: 'unsigned',
        source: `oci://${up.host}/charts/unsigned`,
        versions: ['2.0.0'],
        verify: verifyUp(),
      },
      { name: 'risky', source: `oci://${up.host}/charts/risky`, versions: ['0.1.0'], verify: verifyUp() },
    ]);
    const r = await exportMirror(s, out, { client });
    expect(r.summary).toEqual({ copied: 0, skipped: 0, refused: 2, failed: 0 });
    expect(r.results[0]!.reason).toMatch(/upstream signature/);
    expect(r.results[1]!.reason).toMatch(/scanner: .*cluster-scoped-rbac/);
    expect(JSON.parse(readFileSync(join(out, AIRGAP_MANIFEST_FILE), 'utf8')).entries).toEqual([]);
  });

  it('refuses a layout whose chart blob was tampered with, and tags nothing', async () => {
    const out = join(dir, 'export3');
    const only = (): MirrorSpec['charts'] => [
      { name: 'nginx', source: `oci://${up.host}/charts/nginx`, versions: ['1.0.0'], verify: verifyUp() },
    ];
    expect((await exportMirror(spec('127.0.0.1:9', 'x', only()), out, { client })).summary.copied).toBe(1);
    const layout = await OciLayout.open(join(out, 'nginx'));
    const root = await layout.resolve('1.0.0');
    const manifest = JSON.parse(
      readFileSync(join(out, 'nginx', 'blobs', 'sha256', root.digest.slice(7)), 'utf8'),
    );
    const layer = manifest.layers.find(
      (l: { mediaType: string }) => l.mediaType === MediaType.HelmChartContent,
    );
    const path = join(out, 'nginx', 'blobs', 'sha256', layer.digest.slice(7));
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 0xff; // same size, other content
    writeFileSync(path, bytes);

    const r = await importMirror(spec(gap.host, 'tampered', only()), out, { client, env });
    expect(r.summary).toEqual({ copied: 0, skipped: 0, refused: 1, failed: 0 });
    expect(r.results[0]!.reason).toMatch(/damaged or was tampered/);
    expect(airgapped.repositories()).not.toContain('tampered/nginx');
    await expect(client.repository(`${gap.host}/tampered/nginx`).resolve('1.0.0')).rejects.toThrow();
  });

  it('refuses a referrer the target would refuse in the quarantine, before writing to the target', async () => {
    const out = join(dir, 'export-bad-referrer');
    const only = (): MirrorSpec['charts'] => [
      { name: 'nginx', source: `oci://${up.host}/charts/nginx`, versions: ['1.0.0'], verify: verifyUp() },
    ];
    expect((await exportMirror(spec('127.0.0.1:9', 'x', only()), out, { client })).summary.copied).toBe(1);
    // A referrer whose digest and blobs are fine, but whose `mediaType` field contradicts
    // its descriptor: every registry refuses to store it.
    const layout = await OciLayout.open(join(out, 'nginx'));
    const root = await layout.resolve('1.0.0');
    const enc = new TextEncoder();
    const empty = enc.encode('{}');
    const payload = enc.encode('not a signature');
    const d = (mediaType: string, data: Uint8Array) => ({
      mediaType,
      digest: digestOf(data),
      size: data.length,
    });
    await layout.push(d(MediaType.OciEmpty, empty), empty);
    await layout.push(d('application/octet-stream', payload), payload);
    const bad = enc.encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        artifactType: 'application/vnd.example.note',
        config: d(MediaType.OciEmpty, empty),
        layers: [d('application/octet-stream', payload)],
        subject: root,
      }),
    );
    await layout.push(d(MediaType.OciManifest, bad), bad);
    expect((await layout.referrers(root)).map((r) => r.digest)).toContain(digestOf(bad));

    const before = writes(airgapped);
    const r = await importMirror(spec(gap.host, 'bad-referrer', only()), out, { client, env });
    expect(r.summary).toEqual({ copied: 0, skipped: 0, refused: 1, failed: 0 });
    expect(r.results[0]!.reason).toMatch(/damaged or was tampered.*does not match/);
    // Nothing reached the target: no blob, no manifest, no tag.
    expect(writes(airgapped)).toBe(before);
    expect(airgapped.repositories()).not.toContain('bad-referrer/nginx');
  });

  it('refuses a consistent but substituted layout (other chart under the tag): upstream signature check', async () => {
    const out = join(dir, 'export4');
    const only = (): MirrorSpec['charts'] => [
      { name: 'nginx', source: `oci://${up.host}/charts/nginx`, versions: ['1.0.0'], verify: verifyUp() },
    ];
    await exportMirror(spec('127.0.0.1:9', 'x', only()), out, { client });
    // The attacker puts an unsigned chart under nginx:1.0.0 and fixes up the manifest file.
    const evil = await pushChart(
      client,
      await makeChartArchive('nginx', '1.0.0', { 'templates/cm.yaml': 'kind: ConfigMap\n' }),
      { name: 'nginx', version: '1.0.0', apiVersion: 'v2' },
      `oci://${up.host}/evil`,
    );
    const layout = await OciLayout.open(join(out, 'nginx'));
    await copy(client.repository(`${up.host}/evil/nginx`), evil.digest, layout, '1.0.0');
    const file = join(out, AIRGAP_MANIFEST_FILE);
    const m = JSON.parse(readFileSync(file, 'utf8')) as AirgapManifest;
    m.entries[0]!.digest = evil.digest;
    m.entries[0]!.sourceDigest = evil.digest;
    writeFileSync(file, JSON.stringify(m));

    const r = await importMirror(spec(gap.host, 'substituted', only()), out, { client, env });
    expect(r.summary.refused).toBe(1);
    expect(r.results[0]!.reason).toMatch(/upstream signature/);
    expect(r.results[0]!.verification).toMatchObject({ method: 'cosign', verified: false });
    expect(airgapped.repositories()).not.toContain('substituted/nginx');

    // Entries the importing spec does not ask for are refused too.
    const other = await importMirror(
      spec(gap.host, 'substituted', [
        { name: 'nginx', source: `oci://${up.host}/charts/nginx`, versions: ['2.0.0'], verify: verifyUp() },
      ]),
      out,
      { client, env },
    );
    expect(other.results[0]!.reason).toMatch(/does not request "1\.0\.0"/);
  });

  it('exports to a tar file (reproducible, added to on re-export) and imports from it', async () => {
    const tarFile = join(dir, 'out', 'charts.tar');
    const only = (versions: string[]): MirrorSpec['charts'] => [
      { name: 'nginx', source: `oci://${up.host}/charts/nginx`, versions, verify: verifyUp() },
    ];
    const first = await exportMirror(spec('127.0.0.1:9', 'tar', only(['1.0.0'])), tarFile, { client });
    expect(first.summary.copied).toBe(1);
    expect(statSync(tarFile).isFile()).toBe(true);
    // No temporary files left next to the tar.
    expect(readdirSync(join(dir, 'out'))).toEqual(['charts.tar']);
    const second = await exportMirror(spec('127.0.0.1:9', 'tar', only(['1.1.0'])), tarFile, { client });
    expect(second.summary.copied).toBe(1);

    const target = new MemoryRegistry();
    const t = await target.listen();
    try {
      const imported = await importMirror(spec(t.host, 'tar', only(['1.0.0', '1.1.0'])), tarFile, {
        client,
        env,
      });
      expect(imported.summary).toEqual({ copied: 2, skipped: 0, refused: 0, failed: 0 });
      expect(imported.results.map((r) => r.digest)).toEqual([digests['nginx-1.0.0'], digests['nginx-1.1.0']]);
    } finally {
      await t.close();
    }
    // A corrupted tar is refused before anything is written.
    const broken = join(dir, 'out', 'broken.tar');
    writeFileSync(broken, readFileSync(tarFile).subarray(0, 700));
    await expect(
      importMirror(spec(gap.host, 'tar', only(['1.0.0'])), broken, { client, env }),
    ).rejects.toThrow();
  });

  it('refuses a FIFO (or a symlink) in place of a blob at once instead of blocking on it', async () => {
    const only = (): MirrorSpec['charts'] => [
      { name: 'nginx', source: `oci://${up.host}/charts/nginx`, versions: ['1.0.0'], verify: verifyUp() },
    ];
    for (const kind of ['fifo', 'symlink'] as const) {
      const out = join(dir, `export-${kind}`);
      await exportMirror(spec('127.0.0.1:9', 'x', only()), out, { client });
      const layout = await OciLayout.open(join(out, 'nginx'));
      const root = await layout.resolve('1.0.0');
      const manifest = JSON.parse(
        readFileSync(join(out, 'nginx', 'blobs', 'sha256', root.digest.slice(7)), 'utf8'),
      );
      const layer = manifest.layers.find(
        (l: { mediaType: string }) => l.mediaType === MediaType.HelmChartContent,
      );
      const path = join(out, 'nginx', 'blobs', 'sha256', layer.digest.slice(7));
      const copyOf = join(dir, `${kind}-blob`);
      writeFileSync(copyOf, readFileSync(path));
      unlinkSync(path);
      if (kind === 'fifo') execFileSync('mkfifo', [path]);
      else execFileSync('ln', ['-s', copyOf, path]);
      const r = await importMirror(spec(gap.host, `special-${kind}`, only()), out, { client, env });
      expect(r.summary).toEqual({ copied: 0, skipped: 0, refused: 1, failed: 0 });
      expect(r.results[0]!.reason).toMatch(
        kind === 'fifo' ? /is a FIFO, not a regular file/ : /is a symbolic link/,
      );
      expect(airgapped.repositories()).not.toContain(`special-${kind}/nginx`);
    }
  });

  const hasTar = (() => {
    try {
      execFileSync('tar', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      console.warn('re-tar import test skipped: no tar on PATH');
      return false;
    }
  })();
  it.skipIf(!hasTar)('imports a standard re-tar of an export (tar -cf x.tar . inside it)', async () => {
    const only = (): MirrorSpec['charts'] => [
      { name: 'nginx', source: `oci://${up.host}/charts/nginx`, versions: ['1.1.0'], verify: verifyUp() },
    ];
    const out = join(dir, 'export-retar');
    expect((await exportMirror(spec('127.0.0.1:9', 'x', only()), out, { client })).summary.copied).toBe(1);
    const file = join(dir, 'retar.tar');
    execFileSync('tar', ['-cf', file, '.'], { cwd: out });
    expect(execFileSync('tar', ['-tf', file]).toString().split('\n')).toContain('./');
    const r = await importMirror(spec(gap.host, 'retar', only()), file, { client, env });
    expect(r.summary).toEqual({ copied: 1, skipped: 0, refused: 0, failed: 0 });
    expect(r.results[0]!.digest).toBe(digests['nginx-1.1.0']);
  });

  it('CLI: mirror export and import with summary lines and exit codes', async () => {
    await publish('cli-app', '3.0.0');
    const file = join(dir, 'airgap.yaml');
    const yaml = (host: string) =>
      [
        `target: { registry: "${host}", prefix: cli, plainHttp: true }`,
        'sign: { key: internal.key, format: bundle }',
        'scan: { block: high }',
        'charts:',
        '  - name: cli-app',
        `    source: oci://${up.host}/charts/cli-app`,
        '    versions: ["3.0.0"]',
        '    verify: { key: upstream.pub, insecureIgnoreTlog: true }',
        '    plainHttp: true',
        '',
      ].join('\n');
    writeFileSync(file, yaml('127.0.0.1:9'));
    const out = join(dir, 'cli-export');
    const ex = captureIo('', { HOME: dir });
    expect(await run(['mirror', 'export', '--config', file, '--to', out], ex.io)).toBe(0);
    expect(ex.out()).toMatch(/exported cli-app-3\.0\.0 /);
    expect(ex.out()).toMatch(/Mirrored: 1 copied, 0 skipped, 0 refused, 0 failed\n$/);

    writeFileSync(file, yaml(gap.host));
    const im = captureIo('', { HOME: dir, COSIGN_PASSWORD: 'in' });
    expect(await run(['mirror', 'import', '--from', out, '--config', file], im.io)).toBe(0);
    expect(im.out()).toMatch(/Mirrored: 1 copied, 0 skipped, 0 refused, 0 failed\n$/);
    expect((await client.repository(`${gap.host}/cli/cli-app`).resolve('3.0.0')).digest).toBe(
      digests['cli-app-3.0.0'],
    );
    const again = captureIo('', { HOME: dir, COSIGN_PASSWORD: 'in' });
    expect(await run(['mirror', 'import', '--from', out, '--config', file], again.io)).toBe(0);
    expect(again.out()).toMatch(/Mirrored: 0 copied, 1 skipped, 0 refused, 0 failed\n$/);

    // A tampered export: exit 1.
    const m = JSON.parse(readFileSync(join(out, AIRGAP_MANIFEST_FILE), 'utf8')) as AirgapManifest;
    const layer = join(out, 'cli-app', 'blobs', 'sha256', m.entries[0]!.digest.slice(7));
    const bytes = readFileSync(layer);
    bytes[10] ^= 1;
    writeFileSync(layer, bytes);
    writeFileSync(file, yaml(gap.host).replace('prefix: cli', 'prefix: cli2'));
    const bad = captureIo('', { HOME: dir, COSIGN_PASSWORD: 'in' });
    expect(await run(['mirror', 'import', '--from', out, '--config', file], bad.io)).toBe(1);
    expect(bad.out()).toMatch(/Mirrored: 0 copied, 0 skipped, 1 refused, 0 failed\n$/);

    const usage = captureIo('', { HOME: dir });
    expect(await run(['mirror', 'export', '--config', file], usage.io)).toBe(2);
    expect(usage.err()).toMatch(/--to DIR \(or FILE\.tar\) is required/);
  });
});
