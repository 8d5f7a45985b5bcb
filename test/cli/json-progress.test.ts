import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import { run } from '../../src/cli/main.js';
import { createProgress } from '../../src/cli/progress.js';
import { hashReq } from '../../src/lock/digest.js';
import { formatLock } from '../../src/lock/lockfile.js';
import { verifyDependencies } from '../../src/lock/verify.js';
import type { CopyEvent } from '../../src/oci/copy.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import type { RegistryClient } from '../../src/oci/index.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { captureIo } from '../helpers/cli-io.js';
import { type ListeningFixture, listeningFixture, seedTestChart } from '../helpers/registry.js';
import { createTestPki, requireTool } from '../helpers/services.js';

const sha = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function cli(args: string[], env: Record<string, string> = {}) {
  const c = captureIo('', { HOME: '/nonexistent', ...env });
  const code = await run(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

/**
 * Fails when a parsed JSON value holds serialised bytes: a Uint8Array becomes an object
 * with keys "0", "1", …; a Buffer becomes `{ type: 'Buffer', data: [...] }`.
 */
function expectNoBytes(value: unknown, path = '$'): void {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) expectNoBytes(v, `${path}[${i}]`);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const keys = Object.keys(value);
  expect(keys.length > 0 && keys.every((k) => /^\d+$/.test(k)), `${path} is serialised bytes`).toBe(false);
  expect((value as { type?: unknown }).type === 'Buffer', `${path} is a Buffer`).toBe(false);
  for (const k of keys) expectNoBytes((value as Record<string, unknown>)[k], `${path}.${k}`);
}

const PLAN_FIELDS = new Set([
  'name',
  'requested',
  'version',
  'kind',
  'source',
  'target',
  'sourceDigest',
  'targetDigest',
  'action',
  'reason',
  'verification',
  'findings',
  'warnings',
]);

describe('--json is a boolean everywhere; reports to files use --report', () => {
  let upstream: ListeningFixture;
  let target: MemoryRegistry;
  let up: ListeningFixture['server'];
  let tg: { host: string; close(): Promise<void> };
  let client: RegistryClient;
  let dir: string;
  let spec: string;

  beforeAll(async () => {
    upstream = await listeningFixture();
    target = new MemoryRegistry();
    ({ server: up, client } = upstream);
    tg = await target.listen();
    dir = mkdtempSync(join(tmpdir(), 'cp-json-'));
    for (const v of ['1.0.0', '1.1.0'])
      await pushChart(
        client,
        await makeChartArchive('web', v),
        { name: 'web', version: v, apiVersion: 'v2' },
        `oci://${up.host}/charts`,
      );
    spec = join(dir, 'mirror.yaml');
    writeFileSync(
      spec,
      [
        `target: { registry: "${tg.host}", prefix: mirror, plainHttp: true }`,
        'charts:',
        '  - name: web',
        `    source: oci://${up.host}/charts/web`,
        '    versions: ["1.0.0", "1.1.0"]',
        '    plainHttp: true',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await upstream.close();
    await tg.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('chartproof --json mirror plan prints the documented plan shape on stdout and writes no file', async () => {
    const before = existsSync(join(process.cwd(), 'mirror'));
    const r = await cli(['--json', 'mirror', 'plan', '--config', spec]);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(join(process.cwd(), 'mirror'))).toBe(before);
    const plan = JSON.parse(r.out) as Array<Record<string, unknown>>;
    expect(plan).toHaveLength(2);
    for (const item of plan) {
      for (const key of Object.keys(item))
        expect(PLAN_FIELDS.has(key), `undocumented field ${key}`).toBe(true);
      expect(item).toMatchObject({ name: 'web', kind: 'oci', action: 'copy' });
    }
    expectNoBytes(plan);
    expect(r.err).toMatch(/^Plan: 2 to copy, 0 to skip, 0 refused, 0 failed\n$/m);
    // --json after the subcommand is the same boolean.
    const after = await cli(['mirror', 'plan', '--config', spec, '--json']);
    expect(JSON.parse(after.out)).toEqual(plan);
  });

  it('--report FILE writes the JSON report and keeps the text; apply --json is a documented report', async () => {
    const report = join(dir, 'plan.json');
    const r = await cli(['mirror', 'plan', '--config', spec, '--report', report]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^copy {3}web-1\.0\.0 /m);
    const written = JSON.parse(readFileSync(report, 'utf8'));
    expect(written.map((i: { version: string }) => i.version)).toEqual(['1.0.0', '1.1.0']);
    expectNoBytes(written);

    const applied = await cli(['--json', '--no-progress', 'mirror', 'apply', '--config', spec]);
    expect(applied.code, applied.err).toBe(0);
    const body = JSON.parse(applied.out);
    expect(Object.keys(body).sort()).toEqual(['durationMs', 'results', 'startedAt', 'summary']);
    expect(body.summary).toEqual({ copied: 2, skipped: 0, refused: 0, failed: 0 });
    expectNoBytes(body);
    expect(applied.err).toMatch(/Mirrored: 2 copied/);
    expect(applied.err).not.toMatch(/web-1\.0\.0: /);

    const drift = await cli(['--json', 'mirror', 'drift', '--config', spec]);
    expect(drift.code, drift.err).toBe(0);
    const d = JSON.parse(drift.out);
    expect(Object.keys(d).sort()).toEqual(['durationMs', 'items', 'startedAt', 'summary']);
    expect(Object.keys(d.summary).sort()).toEqual([
      'changedUpstream',
      'failed',
      'missingUpstream',
      'newerUpstream',
      'upToDate',
    ]);
    expectNoBytes(d);
    expect(drift.err).toMatch(/^Drift: /m);
  });

  it('--report - and a --json value are usage errors', async () => {
    expect((await cli(['mirror', 'plan', '--config', spec, '--report', '-'])).code).toBe(2);
    const legacy = await cli(['--json', 'mirror', 'plan', '--config', spec, join(dir, 'x.json')]);
    expect(legacy.code).toBe(2);
  });

  it('a failed command with --json prints one JSON error object on stderr', async () => {
    const usage = await cli(['--json', 'tags']);
    expect(usage.code).toBe(2);
    expect(usage.out).toBe('');
    expect(JSON.parse(usage.err)).toEqual({
      error: { code: 'USAGE', message: expect.stringContaining('expected 1 argument'), exitCode: 2 },
    });
    const flag = await cli(['--json', 'tags', '--bogus', 'x/y']);
    expect(JSON.parse(flag.err).error).toMatchObject({ code: 'USAGE', exitCode: 2 });
    const missing = await cli(['--json', '--plain-http', 'manifest', `${up.host}/charts/web:9.9.9`]);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.err).error).toMatchObject({ code: 'MANIFEST_UNKNOWN', exitCode: 3 });
  });

  it('the same export gives the same bytes; SOURCE_DATE_EPOCH sets exportedAt', async () => {
    const a = join(dir, 'a.tar');
    const b = join(dir, 'b.tar');
    expect((await cli(['--no-progress', 'mirror', 'export', '--config', spec, '--to', a])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect((await cli(['--no-progress', 'mirror', 'export', '--config', spec, '--to', b])).code).toBe(0);
    expect(sha(readFileSync(a))).toBe(sha(readFileSync(b)));
    const tree = join(dir, 'tree');
    await cli(['--no-progress', 'mirror', 'export', '--config', spec, '--to', tree], {
      SOURCE_DATE_EPOCH: '1700000000',
    });
    const manifest = JSON.parse(readFileSync(join(tree, 'chartproof-mirror.json'), 'utf8'));
    expect(manifest.exportedAt).toBe('2023-11-14T22:13:20.000Z');
    const plain = join(dir, 'plain');
    await cli(['--no-progress', 'mirror', 'export', '--config', spec, '--to', plain]);
    expect(
      JSON.parse(readFileSync(join(plain, 'chartproof-mirror.json'), 'utf8')).exportedAt,
    ).toBeUndefined();
  });
});

describe('copy progress', () => {
  let registry: MemoryRegistry;
  let server: { host: string; close(): Promise<void> };
  // Another registry, so blobs are transferred rather than mounted.
  let dst: { host: string; close(): Promise<void> };

  beforeAll(async () => {
    registry = new MemoryRegistry();
    server = await registry.listen();
    dst = await new MemoryRegistry().listen();
    await seedTestChart(registry.repository('charts/big'), 'big', '1.0.0', 2 * 1024 * 1024);
  });
  afterAll(async () => {
    await server.close();
    await dst.close();
  });

  it('prints plain per-blob lines on stderr when not a terminal, nothing with --no-progress', async () => {
    const r = await cli(['--plain-http', 'copy', `${server.host}/charts/big:1.0.0`, `${dst.host}/copy/big`]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^Copying: sha256:[0-9a-f]{12} 2\.0 MiB done$/m);
    expect(r.out).not.toMatch(/Copying/);
    const quiet = await cli([
      '--plain-http',
      '--no-progress',
      'copy',
      `${server.host}/charts/big:1.0.0`,
      `${dst.host}/copy2/big`,
    ]);
    expect(quiet.code).toBe(0);
    expect(quiet.err).toBe('');
    const json = await cli([
      '--json',
      '--plain-http',
      'copy',
      `${server.host}/charts/big:1.0.0`,
      `${dst.host}/copy3/big`,
    ]);
    const body = JSON.parse(json.out);
    expect(Object.keys(body).sort()).toEqual([
      'cosignTags',
      'descriptor',
      'destination',
      'referrers',
      'source',
    ]);
  });

  it('push and pull show the chart layer as it transfers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-progress-'));
    try {
      const noise = randomBytes(2 * 1024 * 1024).toString('base64');
      const file = join(dir, 'big-1.0.0.tgz');
      writeFileSync(file, await makeChartArchive('big', '1.0.0', { 'files/noise.txt': noise }));
      const push = await cli(['--plain-http', 'push', file, `oci://${dst.host}/charts`]);
      expect(push.code, push.err).toBe(0);
      expect(push.err).toMatch(/^Pushing: sha256:[0-9a-f]{12} 2\.\d MiB done$/m);
      const pull = await cli(['--plain-http', 'pull', `oci://${dst.host}/charts/big`, '-d', dir]);
      expect(pull.code, pull.err).toBe(0);
      expect(pull.err).toMatch(/^Pulling: sha256:[0-9a-f]{12} 2\.\d MiB done$/m);
      const quiet = await cli([
        '--plain-http',
        '--no-progress',
        'pull',
        `oci://${dst.host}/charts/big`,
        '-d',
        join(dir, 'q'),
      ]);
      expect(quiet.code).toBe(0);
      expect(quiet.err).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('redraws one line on a terminal and prints periodic totals otherwise', () => {
    const desc: Descriptor = {
      mediaType: 'application/octet-stream',
      digest: `sha256:${'a'.repeat(64)}` as Descriptor['digest'],
      size: 4096,
    };
    let t = 0;
    const tty = captureIo();
    const p = createProgress({ ...tty.io, stderrIsTTY: true }, 'Copying', true, { now: () => t });
    const events: CopyEvent[] = [
      { type: 'bytes', descriptor: desc, bytes: 1024 },
      { type: 'bytes', descriptor: desc, bytes: 4096 },
      { type: 'copied', descriptor: desc },
    ];
    for (const e of events) {
      t += 200;
      p.onProgress(e);
    }
    p.done();
    expect(tty.err()).toContain('\r\x1b[2KCopying: 0/1 blob(s), 1.0 KiB / 4.0 KiB');
    expect(tty.err()).toContain('\r\x1b[2KCopying: 1/1 blob(s), 4.0 KiB / 4.0 KiB');
    expect(tty.err().endsWith('\r\x1b[2K')).toBe(true);
    expect(tty.err()).not.toContain('\n');

    t = 0;
    const plain = captureIo();
    const q = createProgress(plain.io, 'Copying', true, { now: () => t, intervalMs: 5000 });
    q.onProgress({ type: 'bytes', descriptor: desc, bytes: 1024 });
    t = 6000;
    q.onProgress({ type: 'bytes', descriptor: desc, bytes: 2048 });
    t = 7000;
    q.onProgress({ type: 'bytes', descriptor: desc, bytes: 3072 });
    expect(plain.err()).toBe('Copying: 0/1 blob(s), 2.0 KiB / 4.0 KiB\n');

    const off = captureIo();
    const o = createProgress(off.io, 'Copying', false);
    for (const e of events) o.onProgress(e);
    o.done();
    expect(off.err()).toBe('');
  });
});

describe.skipIf(requireTool('openssl') !== undefined)('copy between a plain-HTTP and a TLS registry', () => {
  let plain: MemoryRegistry;
  let secure: MemoryRegistry;
  let plainServer: { host: string; close(): Promise<void> };
  let backend: { host: string; close(): Promise<void> };
  let tls: Server;
  let tlsHost: string;
  let dir: string;
  let caFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cp-tls-copy-'));
    const pki = createTestPki(dir);
    caFile = pki.caFile;
    plain = new MemoryRegistry();
    secure = new MemoryRegistry();
    plainServer = await plain.listen();
    backend = await secure.listen();
    // TLS in front of the second registry: terminate, then pipe to its HTTP port.
    const [, port] = backend.host.split(':');
    tls = createTlsServer({ cert: pki.certPem, key: readFileSync(pki.keyFile) }, (socket) => {
      const upstream = connect(Number(port), '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    tls.listen(0, '127.0.0.1');
    await new Promise((r) => tls.once('listening', r));
    tlsHost = `127.0.0.1:${(tls.address() as { port: number }).port}`;
    await seedTestChart(plain.repository('charts/app'), 'app', '2.0.0');
  });
  afterAll(async () => {
    await new Promise((r) => tls.close(r));
    await plainServer.close();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--from-plain-http with --to-ca-file copies HTTP → HTTPS', async () => {
    const src = `${plainServer.host}/charts/app:2.0.0`;
    // One setting for both sides cannot work: HTTP to the TLS port, or HTTPS to the HTTP one.
    const both = await cli(['--plain-http', '--no-progress', 'copy', src, `${tlsHost}/mirror/app`]);
    expect(both.code).toBe(3);
    const r = await cli([
      '--no-progress',
      'copy',
      '--from-plain-http',
      '--to-ca-file',
      caFile,
      src,
      `${tlsHost}/mirror/app`,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(
      new RegExp(`^Copied .* => ${tlsHost.replace('.', '\\.')}/mirror/app:2\\.0\\.0@sha256:`),
    );
    expect(await secure.repository('mirror/app').tags()).toEqual(['2.0.0']);
    // The per-side flag applies to its side only: the TLS side is not trusted without it.
    const untrusted = await cli([
      '--no-progress',
      'copy',
      '--from-plain-http',
      src,
      `${tlsHost}/mirror/other`,
    ]);
    expect(untrusted.code).toBe(3);
    const insecure = await cli([
      '--no-progress',
      'copy',
      '--from-plain-http',
      '--to-insecure',
      src,
      `${tlsHost}/mirror/other`,
    ]);
    expect(insecure.code, insecure.err).toBe(0);
  });
});

describe('deps: allPinned and replaced archives', () => {
  let registry: ListeningFixture;
  let server: ListeningFixture['server'];
  let client: RegistryClient;
  let root: string;
  let common: Uint8Array;

  beforeAll(async () => {
    registry = await listeningFixture();
    ({ server, client } = registry);
    root = mkdtempSync(join(tmpdir(), 'cp-deps-json-'));
    common = await makeChartArchive('common', '1.0.0');
    await pushChart(
      client,
      common,
      { name: 'common', version: '1.0.0', apiVersion: 'v2' },
      `oci://${server.host}/charts`,
    );
  });
  afterAll(async () => {
    await registry.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('allPinned is true when every dependency is pinned, even when one does not match', async () => {
    const dir = join(root, 'app');
    mkdirSync(join(dir, 'charts'), { recursive: true });
    const dep = { name: 'common', version: '1.0.0', repository: `oci://${server.host}/charts` };
    writeFileSync(
      join(dir, 'Chart.yaml'),
      `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: common\n    version: "1.0.0"\n    repository: "${dep.repository}"\n`,
    );
    writeFileSync(
      join(dir, 'Chart.lock'),
      formatLock({
        digest: hashReq([dep], [dep]),
        generated: '2025-01-01T00:00:00Z',
        dependencies: [{ ...dep, digest: sha(common) }],
      }),
    );
    const other = await makeChartArchive('common', '1.0.0', { 'templates/extra.yaml': 'kind: ConfigMap\n' });
    writeFileSync(join(dir, 'charts', 'common-1.0.0.tgz'), other);
    const report = await verifyDependencies(dir);
    expect(report.ok).toBe(false);
    expect(report.allPinned).toBe(true);

    // build replaces the vendored archive and says so.
    const b = await cli(['--plain-http', 'deps', 'build', dir]);
    expect(b.code, b.out).toBe(0);
    expect(b.out).toContain(
      `Replaced: charts/common-1.0.0.tgz (${sha(other)}): it did not match the pinned digest`,
    );
    expect(sha(readFileSync(join(dir, 'charts', 'common-1.0.0.tgz')))).toBe(sha(common));
    const v = await cli(['--json', 'deps', 'verify', dir]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.out)).toMatchObject({ ok: true, allPinned: true });
    expect(v.out.includes('"pinned"')).toBe(false);
  });

  it('a FAIL line carries the reason', async () => {
    const dir = join(root, 'bad');
    mkdirSync(join(dir, 'charts'), { recursive: true });
    const dep = { name: 'common', version: '1.0.0', repository: `oci://${server.host}/charts` };
    writeFileSync(
      join(dir, 'Chart.yaml'),
      `apiVersion: v2\nname: bad\nversion: 1.0.0\ndependencies:\n  - name: common\n    version: "1.0.0"\n    repository: "${dep.repository}"\n`,
    );
    writeFileSync(
      join(dir, 'Chart.lock'),
      formatLock({
        digest: hashReq([dep], [dep]),
        generated: '2025-01-01T00:00:00Z',
        dependencies: [{ ...dep, digest: sha(common) }],
      }),
    );
    writeFileSync(join(dir, 'charts', 'common-1.0.0.tgz'), 'not a gzip file\n');
    const v = await cli(['deps', 'verify', dir]);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/FAIL: common-1\.0\.0 digest mismatch\n.*\n.*\n {2}Reason: .*not valid gzip/);
  });
});
