import type { EventEmitter } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientTransport, createDispatcher } from '../../src/oci/transport/fetch.js';

/**
 * An HTTP server on loopback for the calling suite, and the uncaught exceptions seen
 * while it runs (vitest would fail the run on one; the tests assert there is none).
 */
function loopbackServer(handler: RequestListener): { base: () => string; uncaught: unknown[] } {
  let server: Server;
  let base = '';
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  beforeAll(async () => {
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.on('uncaughtException', onUncaught);
  });
  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { base: () => base, uncaught };
}

/**
 * A registry may answer an upload before reading its body (a 401, a 413, an early
 * 201). undici then tears the request body down on its own, and closing the pool
 * while that body is still being written destroys it with `ClientDestroyedError`.
 * Nothing of that may escape as an uncaught exception (vitest fails the run on one).
 */
describe('transport: a request body torn down by undici', () => {
  const { base, uncaught } = loopbackServer((_req, res) => {
    // Answer at once, without reading what the client sends.
    res.writeHead(401, { 'content-length': '0', 'www-authenticate': 'Basic realm="x"' });
    res.end();
  });

  it('answers early, closes the pool mid-body, and raises no uncaught error', async () => {
    for (let round = 0; round < 5; round++) {
      const transport = createClientTransport();
      let chunks = 0;
      // Far more than the socket buffers take: the writer is still running when the answer arrives.
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (++chunks > 4096) c.close();
          else c.enqueue(new Uint8Array(64 * 1024));
        },
      });
      const res = await transport(`${base()}/v2/x/blobs/uploads/`, {
        method: 'PUT',
        body,
        redirect: 'manual',
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(401);
      await res.body?.cancel();
      await transport.close();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(uncaught).toEqual([]);
  });
});

describe('transport: a request body that fails while the request waits', () => {
  const { base, uncaught } = loopbackServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(201, { 'content-length': '0' });
      res.end();
    });
  });

  it('rejects the request with the failure and raises no uncaught error', async () => {
    // One connection, held by a slow first upload: the second request is queued.
    const transport = createClientTransport({ connections: 1 });
    try {
      let first = 0;
      const slow = new ReadableStream<Uint8Array>({
        async pull(c) {
          await new Promise((r) => setTimeout(r, 20));
          if (++first > 10) c.close();
          else c.enqueue(new Uint8Array(1024));
        },
      });
      const failure = new Error('source broke');
      const broken = new ReadableStream<Uint8Array>({
        start(c) {
          setTimeout(() => c.error(failure), 30);
        },
      });
      const init = (body: ReadableStream<Uint8Array>) =>
        ({ method: 'PUT', body, redirect: 'manual', duplex: 'half' }) as RequestInit;
      const [a, b] = await Promise.allSettled([
        transport(`${base()}/a`, init(slow)),
        transport(`${base()}/b`, init(broken)),
      ]);
      expect(a.status === 'fulfilled' && a.value.status).toBe(201);
      expect(b.status).toBe('rejected');
      await new Promise((r) => setTimeout(r, 50));
      expect(uncaught).toEqual([]);
    } finally {
      await transport.close();
    }
  });
});

describe('transport: undici reports to its pools and clients', () => {
  it("has an 'error' listener on each, so such a report is not an uncaught exception", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dispatcher = createDispatcher({});
    const targets: EventEmitter[] = [];
    dispatcher.on('connect', (_origin, t) => targets.push(...(t as unknown as EventEmitter[])));
    try {
      const res = await dispatcher.request({
        origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        path: '/',
        method: 'GET',
      });
      await res.body.text();
      // The agent, its pool and the pool's client.
      expect(targets.length).toBeGreaterThanOrEqual(3);
      for (const t of targets.slice(1)) {
        expect(t.listenerCount('error')).toBeGreaterThan(0);
        expect(() => t.emit('error', new Error('reported by undici'))).not.toThrow();
      }
    } finally {
      await dispatcher.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
