import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestMismatchError } from '../../src/errors.js';
import { digestOf } from '../../src/oci/digest.js';
import { createClientTransport } from '../../src/oci/transport/fetch.js';
import { verifyStream } from '../../src/oci/verify.js';

/** The client's default transport (undici `request` behind a `fetch`-shaped function). */
describe('request transport (the RegistryClient default)', () => {
  let server: Server;
  let base: string;
  const received: Array<{
    method: string;
    url: string;
    headers: IncomingMessage['headers'];
    bytes: number;
    sha: string;
    complete: boolean;
  }> = [];
  const f = createClientTransport();

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const hash = createHash('sha256');
    let bytes = 0;
    const entry = {
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      bytes: 0,
      sha: '',
      complete: false,
    };
    received.push(entry);
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    req.on('aborted', () => {
      entry.bytes = bytes;
    });
    req.on('end', () => {
      entry.bytes = bytes;
      entry.sha = hash.digest('hex');
      entry.complete = true;
      const path = req.url!;
      if (path === '/gzip') {
        const body = gzipSync('hello, gzip');
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(body.length) });
        res.end(body);
      } else if (path === '/repeated') {
        res.setHeader('www-authenticate', ['Bearer realm="a"', 'Basic realm="b"']);
        res.setHeader('Docker-Content-Digest', 'sha256:abc');
        res.writeHead(200, { 'content-length': '2' });
        res.end('ok');
      } else if (path === '/no-content') {
        res.writeHead(204);
        res.end();
      } else if (path === '/cut') {
        // Declares 1000 bytes, sends 10, then drops the connection.
        res.writeHead(200, { 'content-length': '1000' });
        res.write('0123456789', () => setTimeout(() => res.socket?.destroy(), 20));
      } else if (path === '/echo-length') {
        const body = JSON.stringify({ bytes, sha: entry.sha, te: req.headers['transfer-encoding'] ?? null });
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': String(body.length) });
        res.end(body);
      } else {
        res.writeHead(200, { 'content-length': '5' });
        res.end(req.method === 'HEAD' ? undefined : 'hello');
      }
    });
  }

  beforeAll(async () => {
    server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await f.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const get = (path: string, init: RequestInit = {}) => f(`${base}${path}`, { redirect: 'manual', ...init });

  describe('when the exchange succeeds', () => {
    it('answers status, headers (case-insensitive) and a body of plain Uint8Array chunks', async () => {
      const res = await get('/plain');
      expect(res.status).toBe(200);
      expect(res.headers.get('Content-Length')).toBe('5');
      expect(res.headers.has('content-length')).toBe(true);
      expect(res.headers.get('x-absent')).toBeNull();
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(Buffer.isBuffer(first.value)).toBe(false);
      expect(first.value).toBeInstanceOf(Uint8Array);
      expect(new TextDecoder().decode(first.value)).toBe('hello');
      expect((await reader.read()).done).toBe(true);
    });

    it('joins repeated header fields with ", " as fetch does', async () => {
      const res = await get('/repeated');
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="a", Basic realm="b"');
      expect(res.headers.get('docker-content-digest')).toBe('sha256:abc');
      await res.body?.cancel();
    });

    it('cancels an unread body quietly (the connection is dropped, nothing is thrown)', async () => {
      const errors: unknown[] = [];
      const onError = (e: unknown) => errors.push(e);
      process.on('uncaughtException', onError);
      try {
        const res = await get('/plain');
        await res.body!.cancel();
        await new Promise((r) => setTimeout(r, 20));
        expect((await get('/plain')).status).toBe(200);
      } finally {
        process.off('uncaughtException', onError);
      }
      expect(errors).toEqual([]);
    });

    it('has no body for HEAD and 204', async () => {
      expect((await get('/plain', { method: 'HEAD' })).body).toBeNull();
      expect((await get('/no-content')).body).toBeNull();
    });

    it('decodes a gzip body', async () => {
      const res = await get('/gzip');
      expect(await new Response(res.body).text()).toBe('hello, gzip');
    });

    it('sends a declared-length stream body unframed, byte for byte', async () => {
      const data = new Uint8Array(300_000).map((_, i) => i % 251);
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < data.length; i += 65_536) c.enqueue(data.subarray(i, i + 65_536));
          c.close();
        },
      });
      const res = await f(`${base}/echo-length`, {
        method: 'PUT',
        redirect: 'manual',
        headers: { 'content-length': String(data.length) },
        body,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(201);
      const echo = JSON.parse(await new Response(res.body).text());
      expect(echo).toEqual({ bytes: data.length, sha: digestOf(data).slice('sha256:'.length), te: null });
    });

    it('takes the fetch path for what it does not handle (redirect other than manual)', async () => {
      const res = await f(`${base}/plain`, { redirect: 'follow' });
      expect(res.status).toBe(200);
      expect(await new Response(res.body).text()).toBe('hello');
    });
  });

  describe('when the exchange fails', () => {
    it('rejects with TypeError("fetch failed") carrying the cause', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const e = await f(`http://127.0.0.1:${port}/`, { redirect: 'manual' }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(TypeError);
      expect((e as Error).message).toBe('fetch failed');
      expect((e as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    });

    it('errors the body read with TypeError("terminated") when the connection drops', async () => {
      const res = await get('/cut');
      const e = await new Response(res.body).arrayBuffer().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(TypeError);
      expect((e as Error).message).toBe('terminated');
    });

    it('rejects with the verifying stream’s error when a declared-length upload comes up short', async () => {
      const data = new Uint8Array(100_000).fill(7);
      const wrong = { digest: digestOf(data), size: data.length + 10 };
      const body = verifyStream(
        new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(data);
            c.close();
          },
        }),
        wrong,
      );
      const before = received.length;
      const e = await f(`${base}/echo-length`, {
        method: 'PUT',
        redirect: 'manual',
        headers: { 'content-length': String(wrong.size) },
        body,
        duplex: 'half',
      } as RequestInit).then(
        () => undefined,
        (err: unknown) => err,
      );
      // The integrity error is in the cause chain (copy() reads it there to blame the source).
      let found: unknown;
      for (let c: unknown = e, i = 0; c && i < 8; c = (c as { cause?: unknown }).cause, i++)
        if (c instanceof DigestMismatchError) found = c;
      expect((found as DigestMismatchError | undefined)?.code).toBe('SIZE_MISMATCH');
      // The server never saw a complete request.
      await new Promise((r) => setTimeout(r, 50));
      expect(received.slice(before).some((r) => r.url === '/echo-length' && r.complete)).toBe(false);
    });
  });
});
