import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetch, RegistryClient } from '../../src/oci/index.js';

describe('transport: connections are reused', () => {
  let server: Server;
  let base: string;
  let connections = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/v2/') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' });
        res.end('{}');
        return;
      }
      const body = JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown' }] });
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function countConnections(run: () => Promise<void>): Promise<number> {
    const before = connections;
    await run();
    return connections - before;
  }

  it('keeps the connection after HEAD by default, and closes it when asked to', async () => {
    const keep = createFetch();
    const close = createFetch({ keepAliveAfterHead: false });
    try {
      const heads = (f: typeof keep) => async () => {
        for (let i = 0; i < 5; i++) {
          const res = await f(`${base}/v2/x/blobs/sha256:${'0'.repeat(64)}`, { method: 'HEAD' });
          expect(res.status).toBe(404);
        }
      };
      // A second socket may open while the first is released (undici resolves at the
      // headers); after that the pool reuses them. Closing after HEAD costs one per request.
      expect(await countConnections(heads(keep))).toBeLessThanOrEqual(2);
      expect(await countConnections(heads(close))).toBe(5);
    } finally {
      await keep.close();
      await close.close();
    }
  });

  it('existence checks and discarded error bodies do not cost a connection each', async () => {
    const client = new RegistryClient({ plainHttp: true, retry: { maxRetries: 0 } });
    try {
      const repo = client.repository(`${base.slice('http://'.length)}/x`);
      const desc = {
        mediaType: 'application/octet-stream',
        digest: `sha256:${'0'.repeat(64)}` as const,
        size: 1,
      };
      const n = await countConnections(async () => {
        for (let i = 0; i < 5; i++) expect(await repo.exists(desc)).toBe(false);
        for (let i = 0; i < 5; i++) await expect(repo.fetch(desc)).rejects.toThrow();
      });
      expect(n).toBeLessThanOrEqual(2);
    } finally {
      await client.close();
    }
  });
});
