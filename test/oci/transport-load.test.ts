import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientTransport } from '../../src/oci/transport/fetch.js';

/**
 * The default transport loads undici's agents and `request` API from the modules that
 * define them, not the package entry (which also loads `fetch`, WebSocket, caches and
 * mocks: ~60 ms more per process). This file imports nothing else that loads undici.
 */
describe('default transport: what it loads of undici', () => {
  let server: Server;
  let base: string;
  const seen: Array<Record<string, string | string[] | undefined>> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  const loaded = () => Object.keys(createRequire(import.meta.url).cache).map((k) => k.replaceAll('\\', '/'));

  it('answers a request without loading the undici package entry', async () => {
    const f = createClientTransport();
    try {
      const res = await f(`${base}/v2/`, { method: 'GET', redirect: 'manual', headers: { 'x-one': '1' } });
      expect(res.status).toBe(200);
      expect(await new Response(res.body).text()).toBe('ok');
    } finally {
      await f.close();
    }
    const files = loaded();
    expect(files.some((k) => k.endsWith('/undici/lib/dispatcher/agent.js'))).toBe(true);
    expect(files.some((k) => k.endsWith('/undici/lib/api/api-request.js'))).toBe(true);
    expect(files.filter((k) => k.endsWith('/undici/index.js'))).toEqual([]);
  });

  it('takes headers as a record, as pairs and as a Headers object', async () => {
    const f = createClientTransport();
    try {
      for (const headers of [
        { 'X-Kind': 'record' },
        [['X-Kind', 'pairs']],
        new Headers({ 'X-Kind': 'headers' }),
      ] as const) {
        const res = await f(`${base}/h`, {
          method: 'GET',
          redirect: 'manual',
          headers: headers as RequestInit['headers'],
        });
        await res.body?.cancel();
      }
    } finally {
      await f.close();
    }
    expect(seen.slice(-3).map((h) => h['x-kind'])).toEqual(['record', 'pairs', 'headers']);
  });
});
