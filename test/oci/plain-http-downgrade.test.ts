import { describe, expect, it } from 'vitest';
import { fetchRepoIndex } from '../../src/chart/repo.js';
import { ChartproofError } from '../../src/errors.js';
import { staticCredentials } from '../../src/oci/auth/credentials.js';
import { RegistryClient } from '../../src/oci/client.js';
import { MemoryRegistry, type MemoryRegistryOptions } from '../../src/testing/index.js';
import { chartArtifact } from '../helpers/content.js';

// A registry reached over HTTPS must not get its credentials (Basic header, password,
// token) sent over plain HTTP to the same host name: not to an upload session
// `Location` that says `http://`, nor to a `http://` token realm its challenge names.
// `https://registry.test` and `http://registry.test` have the same URL `host`.

const PASSWORD = 'SECRET-hunter2';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
}

/** A fetch over one host name, whatever the scheme, recording every request. */
function network(route: (r: Request) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input);
    const headers = new Headers(init?.headers);
    seen.push({
      method: init?.method ?? 'GET',
      url,
      authorization: headers.get('authorization') ?? undefined,
    });
    const body =
      init?.body instanceof ReadableStream ? await new Response(init.body).arrayBuffer() : init?.body;
    return route(new Request(url, { method: init?.method ?? 'GET', headers, ...(body ? { body } : {}) }));
  };
  const plain = () => seen.filter((s) => s.url.startsWith('http://'));
  return { fetch, seen, plain };
}

/** The registry, its upload sessions' `Location` rewritten to `http://registry.test`. */
function sessionsOverHttp(registry: MemoryRegistry) {
  return async (r: Request): Promise<Response> => {
    const res = await registry.handle(r);
    const location = res.headers.get('location');
    if (res.status !== 202 || !location) return res;
    const headers = new Headers(res.headers);
    headers.set('location', new URL(location, 'http://registry.test').href);
    return new Response(res.body, { status: res.status, headers });
  };
}

function client(fetch: typeof globalThis.fetch) {
  return new RegistryClient({
    fetch,
    credentials: staticCredentials({ 'registry.test': { username: 'alice', password: PASSWORD } }),
    retry: { maxRetries: 0 },
  });
}

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

const auths: Array<[string, MemoryRegistryOptions]> = [
  ['Basic', { auth: { type: 'basic', username: 'alice', password: PASSWORD } }],
  ['token', { auth: { type: 'bearer', username: 'alice', password: PASSWORD } }],
];

describe('plain-HTTP downgrade of an HTTPS registry', () => {
  describe('when an upload session Location says http://', () => {
    it.each(auths)(
      '%s auth: the upload is refused and nothing credentialed goes over HTTP',
      async (_, opts) => {
        const registry = new MemoryRegistry(opts);
        const net = network(sessionsOverHttp(registry));
        const a = chartArtifact('app', '1');
        const repo = client(net.fetch).repository('registry.test/charts/app');
        const err = await thrown(repo.push(a.layer.desc, a.layer.data));
        expect(err).toBeInstanceOf(ChartproofError);
        expect((err as ChartproofError).code).toBe('INSECURE_REQUEST');
        expect(net.plain().filter((s) => s.authorization !== undefined)).toEqual([]);
      },
    );

    it('a refused mount whose session says http:// is not used nor cancelled over HTTP', async () => {
      const registry = new MemoryRegistry(auths[0]![1]);
      const net = network(sessionsOverHttp(registry));
      const a = chartArtifact('app', '1');
      const repo = client(net.fetch).repository('registry.test/charts/app');
      await thrown(repo.mountOrPush(a.layer.desc, 'charts/other', async () => a.layer.data));
      expect(await repo.mount(a.layer.desc, 'charts/other').catch(() => false)).toBe(false);
      expect(net.plain().filter((s) => s.authorization !== undefined)).toEqual([]);
    });
  });

  describe('when the challenge names a http:// token realm on the same host name', () => {
    it('refuses with INSECURE_REQUEST instead of sending the password in clear', async () => {
      const registry = new MemoryRegistry({
        auth: { type: 'bearer', username: 'alice', password: PASSWORD, realm: 'http://registry.test/token' },
      });
      const net = network((r) => registry.handle(r));
      const err = await thrown(client(net.fetch).repository('registry.test/charts/app').tags());
      expect((err as ChartproofError).code).toBe('INSECURE_REQUEST');
      expect(net.plain()).toEqual([]);
    });

    it('still uses it for a registry that is itself plain HTTP (opted in)', async () => {
      const registry = new MemoryRegistry({
        auth: {
          type: 'bearer',
          username: 'alice',
          password: PASSWORD,
          realm: 'http://registry.test:5001/token',
        },
      });
      const net = network((r) => registry.handle(r));
      const c = new RegistryClient({
        fetch: net.fetch,
        plainHttp: true,
        credentials: staticCredentials({ 'registry.test': { username: 'alice', password: PASSWORD } }),
      });
      const a = chartArtifact('app', '1');
      await c.repository('registry.test/charts/app').push(a.layer.desc, a.layer.data);
      expect(net.seen.some((s) => s.url.startsWith('http://registry.test:5001/token'))).toBe(true);
    });
  });
  describe('a URL typed as http:// on a host with stored credentials (a classic chart repository)', () => {
    const index = 'apiVersion: v1\nentries: {}\n';
    it('gets no credentials, not even when the plain connection answers 401 (a MITM asking for them)', async () => {
      // The registry was used over HTTPS first: Basic is what the host asks for.
      const registry = new MemoryRegistry(auths[0]![1]);
      const net = network(async (r) => {
        if (r.url.startsWith('http://')) {
          return r.headers.get('authorization')
            ? new Response(index)
            : new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="x"' } });
        }
        return registry.handle(r);
      });
      const c = client(net.fetch);
      await c
        .repository('registry.test/charts/app')
        .tags()
        .catch(() => []);
      expect(
        net.seen.some((s) => s.url.startsWith('https://') && s.authorization?.startsWith('Basic ')),
      ).toBe(true);
      const err = await thrown(fetchRepoIndex(c, 'http://registry.test/charts'));
      expect(err).toBeInstanceOf(ChartproofError);
      expect(net.plain().length).toBeGreaterThan(0);
      expect(net.plain().filter((s) => s.authorization !== undefined)).toEqual([]);
    });

    it('gets them when the host is configured for plain HTTP (opted in)', async () => {
      const net = network((r) =>
        r.headers.get('authorization')
          ? new Response(index)
          : new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="x"' } }),
      );
      const c = new RegistryClient({
        fetch: net.fetch,
        hosts: { 'registry.test': { plainHttp: true } },
        credentials: staticCredentials({ 'registry.test': { username: 'alice', password: PASSWORD } }),
        retry: { maxRetries: 0 },
      });
      const got = await fetchRepoIndex(c, 'http://registry.test/charts');
      expect(got).toBeDefined();
      expect(net.plain().some((s) => s.authorization?.startsWith('Basic '))).toBe(true);
    });
  });
});
