import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/oci/index.js';
import { createClientTransport } from '../../src/oci/transport/fetch.js';

/** The built-in transport through a proxy named by the environment (`HTTP_PROXY`). */
describe('transport: proxy from the environment', () => {
  let registry: Server;
  let proxy: Server;
  let registryHost: string;
  let proxyUrl: string;
  const tunnels: string[] = [];
  const forwarded: string[] = [];

  beforeAll(async () => {
    registry = createServer((req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'docker-distribution-api-version': 'registry/2.0',
      });
      res.end(req.url === '/v2/' ? '{}' : JSON.stringify({ name: 'app', tags: ['1.0.0'] }));
    });
    // A forward proxy: absolute-form requests (undici's way for http:// targets) are
    // relayed, CONNECT (its way for https://) is tunnelled.
    proxy = createServer((req, res) => {
      const target = new URL(req.url ?? '');
      forwarded.push(target.host);
      const out = request(
        {
          host: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    });
    // A CONNECT tunnel, as undici's ProxyAgent asks for.
    proxy.on('connect', (req, socket, head) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await Promise.all(
      [registry, proxy].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))),
    );
    registryHost = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of [registry, proxy]) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  it('sends registry requests through the proxy tunnel', async () => {
    const transport = createClientTransport({ env: { HTTP_PROXY: proxyUrl } });
    const client = new RegistryClient({
      fetch: transport as never,
      hosts: { [registryHost]: { plainHttp: true } },
    });
    try {
      expect(await client.repository(`${registryHost}/app`).tags()).toEqual(['1.0.0']);
      expect([...forwarded, ...tunnels]).toContain(registryHost);
    } finally {
      await transport.close();
    }
  });

  it('goes direct for a host NO_PROXY names', async () => {
    const before = forwarded.length + tunnels.length;
    const transport = createClientTransport({ env: { HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' } });
    try {
      const res = await transport(`http://${registryHost}/v2/`, { redirect: 'manual' });
      expect(res.status).toBe(200);
      await res.body?.cancel();
      expect(forwarded.length + tunnels.length).toBe(before);
    } finally {
      await transport.close();
    }
  });
});
