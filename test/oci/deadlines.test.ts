import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchRepoIndex } from '../../src/chart/repo.js';
import { run } from '../../src/cli/main.js';
import { ChartproofError } from '../../src/errors.js';
import { RegistryClient, type RegistryClientOptions } from '../../src/oci/client.js';
import { MemoryRegistry, type RunningRegistry } from '../../src/testing/index.js';
import { captureIo } from '../helpers/cli-io.js';
import { blob, chartArtifact, pushAll } from '../helpers/content.js';
import { makeTempDirSync, removeDir } from '../helpers/services.js';

// A server that drips one byte every INTERVAL ms would keep a request alive for as
// long as it likes: every chunk resets idle timeouts. The total deadline (documents)
// and the minimum rate (blobs) end it; here they are set small so the tests are fast.

const DEADLINE = 300;
const INTERVAL = 100;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function served(registry: MemoryRegistry): Promise<RunningRegistry> {
  const running = await registry.listen();
  cleanups.push(() => running.close());
  return running;
}

function client(options: RegistryClientOptions = {}): RegistryClient {
  const c = new RegistryClient({
    plainHttp: true,
    timeouts: { request: DEADLINE, minThroughput: { bytes: 1000, seconds: DEADLINE / 1000 } },
    retry: { baseDelayMs: 10 },
    ...options,
  });
  cleanups.push(() => c.close());
  return c;
}

/** Runs `p`, expects a TIMEOUT rejection, returns how long it took. */
async function timesOut(p: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  let err: unknown;
  try {
    await p();
  } catch (e) {
    err = e;
  }
  const elapsed = Date.now() - started;
  expect(err, 'expected a rejection').toBeInstanceOf(ChartproofError);
  expect((err as ChartproofError).code, (err as Error).message).toBe('TIMEOUT');
  return elapsed;
}

/** A node:http server answering every request with `body`, dripped one byte per INTERVAL. */
async function dripServer(body: string, headersDelayMs = 0): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    res.on('close', () => clearTimeout(timer));
    const next = () => {
      if (i >= body.length) {
        res.end();
        return;
      }
      res.write(body[i++]!);
      timer = setTimeout(next, INTERVAL);
    };
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/x-yaml', 'content-length': String(body.length) });
      next();
    }, headersDelayMs);
    req.resume();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function seeded() {
  const registry = new MemoryRegistry();
  const a = chartArtifact('app', '1.0.0');
  const repo = registry.repository('charts/app');
  await pushAll(repo, [a.config, a.layer, a.manifest]);
  await repo.tag(a.manifest.desc, '1.0.0');
  const running = await served(registry);
  return { registry, running, a };
}

describe('total deadline of documents', () => {
  it('stops a manifest whose body drips, well before the drip ends', async () => {
    const { registry, running, a } = await seeded();
    // The manifest is a few hundred bytes: at 1 byte per 100 ms the drip lasts 30 s+.
    expect(a.manifest.data.byteLength * INTERVAL).toBeGreaterThan(20_000);
    registry.slowNext({ method: 'GET', path: /\/manifests\//, intervalMs: INTERVAL, times: 10 });
    const elapsed = await timesOut(() =>
      client().repository(`${running.host}/charts/app`).fetchManifest('1.0.0'),
    );
    expect(elapsed).toBeLessThan(DEADLINE + 1500);
  });

  it('covers the wait for headers and does not restart for retries', async () => {
    const { registry, running } = await seeded();
    registry.slowNext({
      method: 'GET',
      path: /\/tags\/list/,
      headersDelayMs: 5000,
      intervalMs: 0,
      times: 10,
    });
    const c = client({ timeouts: { request: DEADLINE, headers: 100 } });
    const elapsed = await timesOut(() => c.repository(`${running.host}/charts/app`).tags());
    expect(elapsed).toBeLessThan(DEADLINE + 1500);
  });

  it('covers the token exchange', async () => {
    const registry = new MemoryRegistry({ auth: { type: 'bearer' } });
    const running = await served(registry);
    registry.slowNext({ path: /^\/token/, intervalMs: INTERVAL, times: 10 });
    const elapsed = await timesOut(() => client().repository(`${running.host}/charts/app`).tags());
    expect(elapsed).toBeLessThan(DEADLINE + 1500);
  });

  it('applies to a classic repository index.yaml', async () => {
    const index = `apiVersion: v1\nentries: {}\n${'# padding\n'.repeat(50)}`;
    const { url } = await dripServer(index);
    const elapsed = await timesOut(() => fetchRepoIndex(client(), url));
    expect(elapsed).toBeLessThan(DEADLINE + 1500);
  });

  it('does not sleep past the deadline: a long Retry-After gives the registry answer at once', async () => {
    const { registry, running } = await seeded();
    registry.failNext({ status: 429, retryAfter: '2', method: 'GET', path: /\/tags\/list/ });
    const started = Date.now();
    const err = await client()
      .repository(`${running.host}/charts/app`)
      .tags()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TOOMANYREQUESTS', status: 429 });
    expect(Date.now() - started).toBeLessThan(DEADLINE);
  });

  it('lets a prompt answer through and reads the same content without a deadline', async () => {
    const { running, a } = await seeded();
    const m = await client().repository(`${running.host}/charts/app`).fetchManifest('1.0.0');
    expect(m.descriptor.digest).toBe(a.manifest.desc.digest);
  });
});

describe('minimum throughput of blobs', () => {
  it('stops a dripping blob download', async () => {
    const registry = new MemoryRegistry();
    const big = blob(new Uint8Array(50_000).fill(7));
    await pushAll(registry.repository('charts/app'), [big]);
    const running = await served(registry);
    registry.slowNext({ method: 'GET', path: /\/blobs\//, intervalMs: INTERVAL, bytesPerChunk: 10 });
    const stream = await client().repository(`${running.host}/charts/app`).fetchBlob(big.desc);
    const elapsed = await timesOut(() => new Response(stream).arrayBuffer());
    expect(elapsed).toBeLessThan(DEADLINE + 1500);
  });

  it('does not cut a big blob that flows fast but takes longer than the document deadline', async () => {
    const registry = new MemoryRegistry();
    const data = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
    const big = blob(data);
    await pushAll(registry.repository('charts/app'), [big]);
    const running = await served(registry);
    // 64 chunks of 64 KiB, one per 10 ms: ~640 ms in all, twice the document deadline.
    registry.slowNext({ method: 'GET', path: /\/blobs\//, intervalMs: 10, bytesPerChunk: 64 * 1024 });
    const started = Date.now();
    const stream = await client().repository(`${running.host}/charts/app`).fetchBlob(big.desc);
    const got = new Uint8Array(await new Response(stream).arrayBuffer());
    expect(Date.now() - started).toBeGreaterThan(DEADLINE);
    expect(got.byteLength).toBe(data.byteLength);
  });

  it('does not count time the reader spends elsewhere', async () => {
    const registry = new MemoryRegistry();
    const data = new Uint8Array(200_000).fill(3);
    const big = blob(data);
    await pushAll(registry.repository('charts/app'), [big]);
    const running = await served(registry);
    registry.slowNext({ method: 'GET', path: /\/blobs\//, intervalMs: 0, bytesPerChunk: 16 * 1024 });
    // 10 MB per window: far more than the paused reader takes, far less than the server sends.
    const c = client({ timeouts: { minThroughput: { bytes: 10_000_000, seconds: DEADLINE / 1000 } } });
    const stream = await c.repository(`${running.host}/charts/app`).fetchBlob(big.desc);
    const reader = stream.getReader();
    const started = Date.now();
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      // A slow consumer (say, an upload to a slow destination) pauses after each chunk.
      await new Promise((r) => setTimeout(r, DEADLINE / 3));
    }
    expect(total).toBe(data.byteLength);
    expect(Date.now() - started).toBeGreaterThan(DEADLINE);
  });
});

const COPY = (host: string) => ['copy', `${host}/charts/app:1.0.0`, `${host}/charts/copy:1.0.0`];

describe('CLI --timeout', () => {
  it.each([
    ['manifest', (host: string) => ['manifest', `${host}/charts/app:1.0.0`]],
    ['copy', COPY],
    [
      'pull',
      (host: string) => [
        'pull',
        `oci://${host}/charts/app`,
        '--version',
        '1.0.0',
        '--destination',
        '/nonexistent-dir',
      ],
    ],
  ])('%s fails with TIMEOUT (exit 3) while the server drips', async (_, args) => {
    const { registry, running } = await seeded();
    registry.slowNext({ method: 'GET', path: /\/manifests\//, intervalMs: INTERVAL, times: 20 });
    const cap = captureIo();
    const started = Date.now();
    const code = await run(
      ['--plain-http', '--timeout', `${DEADLINE}ms`, '--json', ...args(running.host)],
      cap.io,
    );
    expect(Date.now() - started).toBeLessThan(DEADLINE + 3000);
    expect(code, cap.err()).toBe(3);
    const error = JSON.parse(cap.err().trim().split('\n').pop()!).error;
    // copy reports which side failed (COPY_FAILED) around the TIMEOUT.
    expect(error.code).toBe(args === COPY ? 'COPY_FAILED' : 'TIMEOUT');
    expect(error.message).toContain('timeouts.request');
  });

  it('mirror apply records the chart as failed (exit 3) with the deadline message', async () => {
    const { registry, running } = await seeded();
    const dir = makeTempDirSync('chartproof-mirror-deadline-');
    cleanups.push(() => removeDir(dir));
    const spec = join(dir, 'mirror.yaml');
    writeFileSync(
      spec,
      `target: { registry: "${running.host}", prefix: m, plainHttp: true }\ncharts:\n  - name: app\n    source: oci://${running.host}/charts/app\n    plainHttp: true\n    versions: ["1.0.0"]\n`,
    );
    registry.slowNext({ method: 'GET', path: /\/manifests\//, intervalMs: INTERVAL, times: 20 });
    const cap = captureIo();
    const started = Date.now();
    const code = await run(['--timeout', `${DEADLINE}ms`, 'mirror', 'apply', '--config', spec], cap.io);
    expect(Date.now() - started).toBeLessThan(DEADLINE + 3000);
    expect(code, cap.out() + cap.err()).toBe(3);
    expect(cap.out() + cap.err()).toContain(`no complete response within ${DEADLINE} ms`);
  });

  it('refuses a malformed duration as a usage error', async () => {
    const cap = captureIo();
    expect(await run(['--timeout', 'soon', 'tags', 'localhost:1/x'], cap.io)).toBe(2);
    expect(cap.err()).toContain('--timeout');
  });
});
