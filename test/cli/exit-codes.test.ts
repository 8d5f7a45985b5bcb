import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import type { ChartDependency } from '../../src/chart/types.js';
import { Exit, exitCodeFor, local, remote } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { ChartproofError, CopyError, DigestMismatchError } from '../../src/errors.js';
import { hashReq } from '../../src/lock/digest.js';
import { formatLock } from '../../src/lock/lockfile.js';
import type { RegistryClient } from '../../src/oci/index.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { captureIo } from '../helpers/cli-io.js';
import { type ListeningFixture, listeningFixture, seedTestChart } from '../helpers/registry.js';
import { freePort } from '../helpers/services.js';

const sha = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A .tgz whose Chart.yaml is fine but one file inflates to 6 MiB of zeros (over the 5 MiB file limit). */
async function gzipBomb(): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => {
    p.on('end', () => r());
  });
  p.entry({ name: 'bomb/Chart.yaml' }, 'apiVersion: v2\nname: bomb\nversion: 1.0.0\n');
  p.entry({ name: 'bomb/zeros.txt' }, Buffer.alloc(6 * 1024 * 1024));
  p.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

async function cli(args: string[], env: Record<string, string> = {}) {
  const c = captureIo('', { HOME: '/nonexistent', ...env });
  const code = await run(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

describe('exit codes follow where the input came from', () => {
  let dir: string;
  let bomb: Buffer;
  let registry: ListeningFixture;
  let server: ListeningFixture['server'];
  let client: RegistryClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cp-exit-'));
    bomb = await gzipBomb();
    writeFileSync(join(dir, 'bomb-1.0.0.tgz'), bomb);
    registry = await listeningFixture();
    ({ server, client } = registry);
  });
  afterAll(async () => {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a gzip bomb read from a local file exits 2 (SIZE_LIMIT_EXCEEDED, source local)', async () => {
    const r = await cli(['--json', 'inspect', join(dir, 'bomb-1.0.0.tgz')]);
    expect(r.code).toBe(2);
    const e = JSON.parse(r.err).error;
    expect(e).toMatchObject({ code: 'SIZE_LIMIT_EXCEEDED', source: 'local', exitCode: 2 });
    const push = await cli(['--plain-http', 'push', join(dir, 'bomb-1.0.0.tgz'), `oci://${server.host}/x`]);
    expect(push.code).toBe(2);
  });

  it('the same archive served by a registry exits 3 (remote content)', async () => {
    await pushChart(
      client,
      bomb,
      { name: 'bomb', version: '1.0.0', apiVersion: 'v2' },
      `oci://${server.host}/charts`,
    );
    const r = await cli([
      '--json',
      '--plain-http',
      'pull',
      `oci://${server.host}/charts/bomb`,
      '--version',
      '1.0.0',
      '-d',
      join(dir, 'pulled'),
    ]);
    expect(r.code, r.err).toBe(3);
    expect(JSON.parse(r.err).error.code).toBe('SIZE_LIMIT_EXCEEDED');
  });

  it('package: a file over the size limit and a missing directory exit 2', async () => {
    const missing = await cli(['package', join(dir, 'no-such-chart')]);
    expect(missing.code).toBe(2);
    const chart = join(dir, 'big');
    mkdirSync(join(chart, 'templates'), { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: big\nversion: 1.0.0\n');
    writeFileSync(join(chart, 'big.txt'), Buffer.alloc(6 * 1024 * 1024));
    const bad = await cli(['--json', 'package', chart, '-d', dir]);
    expect(bad.code, bad.err).toBe(2);
    expect(JSON.parse(bad.err).error).toMatchObject({ code: 'SIZE_LIMIT_EXCEEDED', source: 'local' });
  });

  it('mirror import --from a missing file exits 2', async () => {
    const spec = join(dir, 'mirror.yaml');
    writeFileSync(
      spec,
      `target: { registry: "${server.host}", prefix: m, plainHttp: true }\ncharts:\n  - name: a\n    source: oci://${server.host}/charts/a\n    versions: ["1.0.0"]\n`,
    );
    const r = await cli(['mirror', 'import', '--from', join(dir, 'nope.tar'), '--config', spec]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/nope\.tar/);
    const hostile = join(dir, 'hostile.tar');
    // A tar header declaring a 1 TiB file: refused before anything is written.
    const header = Buffer.alloc(1024);
    header.write('chartproof-mirror.json', 0);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header[124] = 0x80; // base-256 size
    header.writeUIntBE(2 ** 40, 124 + 12 - 6, 6);
    header.write('00000000000\0', 136);
    header.write('0', 156);
    header.write('ustar\x0000', 257);
    header.fill(' ', 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += header[i]!;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    writeFileSync(hostile, header);
    const h = await cli(['--json', 'mirror', 'import', '--from', hostile, '--config', spec]);
    expect(h.code, h.err).toBe(2);
    expect(JSON.parse(h.err).error.source).toBe('local');
  });

  it('a missing mirror config and an unreadable --ca-file exit 2', async () => {
    expect((await cli(['mirror', 'plan', '--config', join(dir, 'none.yaml')])).code).toBe(2);
    expect((await cli(['--ca-file', join(dir, 'none.pem'), 'tags', `${server.host}/x`])).code).toBe(2);
  });
});

describe('exitCodeFor', () => {
  it('maps verification failures to 1 even when wrapped by a copy', () => {
    const mismatch = new DigestMismatchError('DIGEST_MISMATCH', 'sha256:a', 'sha256:b', 'digest mismatch');
    expect(exitCodeFor(mismatch)).toBe(Exit.verification);
    expect(exitCodeFor(new CopyError('source', 'sha256:a', mismatch))).toBe(Exit.verification);
    const net = new ChartproofError('NETWORK', 'fetch failed', { cause: mismatch });
    expect(exitCodeFor(new CopyError('destination', 'sha256:a', net))).toBe(Exit.verification);
  });

  it('maps by source: local → 2, remote → 3, unknown → by code', async () => {
    const limit = () => new ChartproofError('SIZE_LIMIT_EXCEEDED', 'too big');
    expect(exitCodeFor(limit())).toBe(Exit.registry);
    const l = await local(() => Promise.reject(limit())).catch((e: unknown) => e);
    expect((l as ChartproofError).source).toBe('local');
    expect(exitCodeFor(l)).toBe(Exit.usage);
    const r = await remote(() => Promise.reject(new ChartproofError('CHART_INVALID', 'bad'))).catch(
      (e: unknown) => e,
    );
    expect(exitCodeFor(r)).toBe(Exit.registry);
    expect(exitCodeFor(new ChartproofError('CHART_INVALID', 'bad'))).toBe(Exit.usage);
    // Once attributed, an error keeps its source.
    const again = await remote(() => Promise.reject(l)).catch((e: unknown) => e);
    expect((again as ChartproofError).source).toBe('local');
  });

  it('turns Node file errors in local phases into IO errors (exit 2)', async () => {
    const err = await local(() => readFileSync('/nonexistent/file')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChartproofError);
    expect((err as ChartproofError).code).toBe('IO');
    expect(exitCodeFor(err)).toBe(Exit.usage);
    // A socket error is not a file error.
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
      address: '127.0.0.1',
    });
    expect(exitCodeFor(refused)).toBe(Exit.registry);
  });
});

describe('content from a registry that fails its digest is a verification failure', () => {
  let registry: MemoryRegistry;
  let target: MemoryRegistry;
  let tampering: Server;
  let srcHost: string;
  let dst: { host: string; close(): Promise<void> };

  beforeAll(async () => {
    registry = new MemoryRegistry();
    target = new MemoryRegistry();
    dst = await target.listen();
    await seedTestChart(registry.repository('charts/app'));
    // The source flips one byte of every blob it serves (same length, wrong digest).
    tampering = createServer(async (req, res) => {
      const url = `http://${req.headers.host}${req.url}`;
      const answer = await registry.handle(new Request(url, { method: req.method ?? 'GET' }));
      const headers: Record<string, string> = {};
      answer.headers.forEach((v, k) => {
        headers[k] = v;
      });
      const body = Buffer.from(await answer.arrayBuffer());
      if (/\/blobs\/sha256:/.test(req.url ?? '') && req.method === 'GET' && body.length > 0)
        body[0] = body[0]! ^ 0xff;
      res.writeHead(answer.status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    tampering.listen(0, '127.0.0.1');
    await new Promise((r) => tampering.once('listening', r));
    srcHost = `127.0.0.1:${(tampering.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    tampering.closeAllConnections();
    await new Promise((r) => tampering.close(r));
    await dst.close();
  });

  it('copy of a tampered source exits 1 and names the source', async () => {
    const r = await cli([
      '--json',
      '--plain-http',
      'copy',
      `${srcHost}/charts/app:1.0.0`,
      `${dst.host}/mirror/app`,
    ]);
    expect(r.code, r.err).toBe(1);
    const e = JSON.parse(r.err).error;
    expect(e.message).toMatch(/at source/);
    expect(e.message).not.toMatch(/at destination/);
    expect(e.message).toMatch(/digest/i);
    expect(await target.repository('mirror/app').tags()).toEqual([]);
  });
});

describe('deps: registry and network failures exit 3, content failures 1', () => {
  let registry: ListeningFixture;
  let server: ListeningFixture['server'];
  let client: RegistryClient;
  let root: string;
  let n = 0;
  let common: Uint8Array;

  beforeAll(async () => {
    registry = await listeningFixture();
    ({ server, client } = registry);
    root = mkdtempSync(join(tmpdir(), 'cp-deps-exit-'));
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

  function parent(deps: Array<ChartDependency & { digest?: string }>): string {
    const dir = join(root, `p${n++}`);
    mkdirSync(join(dir, 'charts'), { recursive: true });
    const plain = deps.map(({ digest: _d, ...d }) => d);
    writeFileSync(
      join(dir, 'Chart.yaml'),
      `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n${plain
        .map((d) => `  - name: ${d.name}\n    version: "${d.version}"\n    repository: "${d.repository}"\n`)
        .join('')}`,
    );
    writeFileSync(
      join(dir, 'Chart.lock'),
      formatLock({
        digest: hashReq(plain, plain),
        generated: '2025-01-01T00:00:00Z',
        dependencies: deps.map((d) => ({ ...d })),
      }),
    );
    return dir;
  }

  it('deps pin exits 3 when the registry cannot be reached', async () => {
    const port = await freePort();
    const dir = parent([{ name: 'common', version: '1.0.0', repository: `oci://127.0.0.1:${port}/charts` }]);
    const r = await cli(['--plain-http', 'deps', 'pin', dir]);
    expect(r.code, r.out + r.err).toBe(3);
    expect(r.out).toMatch(/FAIL: common-1\.0\.0/);
  }, 30_000);

  it('deps build and verify --online exit 3 when the source lacks the version, 1 on a digest mismatch', async () => {
    const gone = parent([
      {
        name: 'common',
        version: '9.9.9',
        repository: `oci://${server.host}/charts`,
        digest: sha(common),
      },
    ]);
    const b = await cli(['--plain-http', 'deps', 'build', gone]);
    expect(b.code, b.out).toBe(3);
    const v = await cli(['--plain-http', 'deps', 'verify', '--online', gone]);
    expect(v.code, v.out).toBe(3);
    expect(v.out).toMatch(/source unavailable/);

    const wrong = parent([
      {
        name: 'common',
        version: '1.0.0',
        repository: `oci://${server.host}/charts`,
        digest: `sha256:${'0'.repeat(64)}`,
      },
    ]);
    const w = await cli(['--plain-http', 'deps', 'build', wrong]);
    expect(w.code, w.out).toBe(1);
  });
});
