import { describe, expect, it } from 'vitest';
import { ChartproofError, RegistryError } from '../../src/errors.js';
import { staticCredentials } from '../../src/oci/auth/credentials.js';
import { RegistryClient, type RegistryClientOptions } from '../../src/oci/client.js';
import { clientTransport } from '../../src/oci/internal/transport.js';
import type { RegistryEvent } from '../../src/oci/transport/events.js';
import { MemoryRegistry, type MemoryRegistryOptions } from '../../src/testing/index.js';
import { chartArtifact, pushAll } from '../helpers/content.js';

// Where credentials may go: the registry itself and the token realm its own challenge
// names. Never a host reached by a redirect, a realm named by another host's
// challenge, a pagination link to another host, or a host a token server redirects to.

const PASSWORD = 'SECRET-hunter2';
const BASIC = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;

interface Seen {
  method: string;
  url: string;
  host: string;
  authorization: string | undefined;
  body: string;
}

type Route = (request: Request) => Response | Promise<Response>;

/**
 * A fetch over several named hosts, recording every request (headers and body). It
 * follows redirects like WHATWG fetch when asked to (307/308 keep method and body,
 * `Authorization` is dropped across origins), as undici would.
 */
function network(routes: Record<string, Route>) {
  const seen: Seen[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    let url = String(input instanceof Request ? input.url : input);
    let method = init?.method ?? 'GET';
    const headers = new Headers(init?.headers);
    let body = typeof init?.body === 'string' ? init.body : init?.body ? 'binary' : '';
    for (let hop = 0; hop < 10; hop++) {
      const host = new URL(url).host;
      seen.push({ method, url, host, authorization: headers.get('authorization') ?? undefined, body });
      const route = routes[host];
      if (!route)
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }),
        });
      const req = new Request(url, {
        method,
        headers,
        ...(body && body !== 'binary' ? { body } : {}),
      });
      const res = await route(req);
      const location = res.headers.get('location');
      if (init?.redirect === 'manual' || !location || ![301, 302, 303, 307, 308].includes(res.status))
        return res;
      const next = new URL(location, url);
      if (next.origin !== new URL(url).origin) headers.delete('authorization');
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = '';
      }
      url = next.href;
    }
    throw new TypeError('fetch failed');
  };
  return { fetch, seen, to: (host: string) => seen.filter((s) => s.host === host) };
}

function challenge401(header: string): Response {
  return new Response(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'who are you' }] }), {
    status: 401,
    headers: { 'www-authenticate': header, 'content-type': 'application/json' },
  });
}

function setup(
  registryOptions: MemoryRegistryOptions,
  extraRoutes: Record<string, Route>,
  clientOptions: RegistryClientOptions = {},
) {
  const registry = new MemoryRegistry(registryOptions);
  const net = network({ 'registry.test': (r) => registry.handle(r), ...extraRoutes });
  const events: RegistryEvent[] = [];
  const client = new RegistryClient({
    fetch: net.fetch,
    credentials: staticCredentials({ 'registry.test': { username: 'alice', password: PASSWORD } }),
    retry: { maxRetries: 0 },
    onEvent: (e) => events.push(e),
    ...clientOptions,
  });
  return { registry, net, client, events };
}

/** Nothing that reached `host` carries alice's credentials or anything derived from them. */
function expectNoCredentials(seen: Seen[]) {
  for (const s of seen) {
    expect(s.authorization, `${s.method} ${s.url}`).toBeUndefined();
    expect(s.url).not.toContain('account=alice');
    expect(s.body).not.toContain(PASSWORD);
  }
}

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('credential scope', () => {
  describe('when a blob redirect lands on a host that challenges', () => {
    const basic: MemoryRegistryOptions = { auth: { type: 'basic', username: 'alice', password: PASSWORD } };
    const bearer: MemoryRegistryOptions = { auth: { type: 'bearer', username: 'alice', password: PASSWORD } };
    it.each<[string, MemoryRegistryOptions, boolean]>([
      ['a Basic-auth registry, blob first', basic, false],
      ['a Basic-auth registry, after the manifest', basic, true],
      ['a token-auth registry, blob first', bearer, false],
      ['a token-auth registry, after the manifest', bearer, true],
    ])('%s: the other host gets no credentials and its realm is not contacted', async (_, opts, warm) => {
      const cdnToken: Seen[] = [];
      const { registry, net, client, events } = setup(opts, {
        'cdn.test': (r) => {
          if (new URL(r.url).pathname === '/token') {
            cdnToken.push({
              method: r.method,
              url: r.url,
              host: 'cdn.test',
              authorization: undefined,
              body: '',
            });
            return Response.json({ token: 'cdn-token' });
          }
          if (r.headers.get('authorization')?.startsWith('Bearer cdn-token')) return registry.handle(r);
          return challenge401('Bearer realm="https://cdn.test/token",service="cdn"');
        },
      });
      const a = chartArtifact('app', '1');
      await pushAll(registry.repository('charts/app'), [a.config, a.layer, a.manifest]);
      registry.redirectBlobsTo('https://cdn.test');
      const repo = client.repository('registry.test/charts/app');
      // Like a pull: the manifest first, so the client already knows how to authenticate.
      if (warm) await repo.fetchManifest(a.manifest.desc.digest);
      const err = await thrown(repo.fetchBlob(a.layer.desc));
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).status).toBe(401);
      expect(cdnToken).toEqual([]);
      expectNoCredentials(net.to('cdn.test'));
      // The registry itself did get them (the legitimate part of the flow).
      expect(net.to('registry.test').some((s) => s.authorization !== undefined)).toBe(true);
      expect(events.some((e) => e.type === 'auth-refused' && e.challenger === 'cdn.test')).toBe(true);
    });

    it('a challenge from the other host naming a third realm contacts neither', async () => {
      const { registry, net, client } = setup(
        { auth: { type: 'basic', username: 'alice', password: PASSWORD } },
        {
          'cdn.test': () => challenge401('Bearer realm="https://third.test/token",service="x"'),
          'third.test': () => Response.json({ token: 'third' }),
        },
      );
      const a = chartArtifact('app', '1');
      await pushAll(registry.repository('charts/app'), [a.config, a.layer, a.manifest]);
      registry.redirectBlobsTo('https://cdn.test');
      const repo = client.repository('registry.test/charts/app');
      await repo.fetchManifest(a.manifest.desc.digest);
      const err = await thrown(repo.fetchBlob(a.layer.desc));
      expect((err as RegistryError).status).toBe(401);
      expect(net.to('third.test')).toEqual([]);
      expectNoCredentials(net.to('cdn.test'));
    });

    it('a Basic challenge from the other host gets no Basic credentials', async () => {
      const { registry, net, client } = setup(
        { auth: { type: 'basic', username: 'alice', password: PASSWORD } },
        { 'cdn.test': () => challenge401('Basic realm="cdn"') },
      );
      const a = chartArtifact('app', '1');
      await pushAll(registry.repository('charts/app'), [a.config, a.layer, a.manifest]);
      registry.redirectBlobsTo('https://cdn.test');
      const repo = client.repository('registry.test/charts/app');
      await repo.fetchManifest(a.manifest.desc.digest);
      await thrown(repo.fetchBlob(a.layer.desc));
      expect(net.to('cdn.test').length).toBe(1);
      expectNoCredentials(net.to('cdn.test'));
    });
  });

  describe('when pagination links to another host', () => {
    it('stops with PROTOCOL before any request to that host', async () => {
      const registry = new MemoryRegistry({ auth: { type: 'basic', username: 'alice', password: PASSWORD } });
      const net = network({
        'registry.test': async (r) => {
          const res = await registry.handle(r);
          if (res.status !== 200 || !new URL(r.url).pathname.endsWith('/tags/list')) return res;
          const headers = new Headers(res.headers);
          headers.set('link', '<https://other.test/v2/charts/app/tags/list?last=1>; rel="next"');
          return new Response(await res.text(), { status: 200, headers });
        },
        'other.test': () => Response.json({ tags: ['stolen'] }),
      });
      const client = new RegistryClient({
        fetch: net.fetch,
        credentials: staticCredentials({ 'registry.test': { username: 'alice', password: PASSWORD } }),
      });
      const a = chartArtifact('app', '1');
      await pushAll(registry.repository('charts/app'), [a.config, a.layer, a.manifest]);
      registry.repository('charts/app').tag(a.manifest.desc, '1');
      const err = await thrown(client.repository('registry.test/charts/app').tags());
      expect(err).toBeInstanceOf(ChartproofError);
      expect((err as ChartproofError).code).toBe('PROTOCOL');
      expect(net.to('other.test')).toEqual([]);
    });
  });

  describe('when the token realm redirects', () => {
    it.each<[string, RegistryClientOptions]>([
      ['the GET flow', {}],
      ['the OAuth2 password grant (POST)', { forceOAuth2: true }],
    ])('%s: credentials are not carried to another host', async (_, clientOptions) => {
      const { registry, net, client } = setup(
        { auth: { type: 'bearer', username: 'alice', password: PASSWORD, realm: 'https://auth.test/token' } },
        {
          'auth.test': () =>
            new Response(null, { status: 307, headers: { location: 'https://evil.test/token' } }),
          'evil.test': (r) => registry.handle(r),
        },
        clientOptions,
      );
      const err = await thrown(client.repository('registry.test/charts/app').tags());
      expect((err as ChartproofError).code).toBe('INSECURE_REQUEST');
      expect(net.to('evil.test')).toEqual([]);
    });
  });

  describe('when the registry names a token realm on another host (Docker Hub style)', () => {
    it('sends the credentials to that realm and nowhere else, and the pull works', async () => {
      const { registry, net, client, events } = setup(
        { auth: { type: 'bearer', username: 'alice', password: PASSWORD, realm: 'https://auth.test/token' } },
        {
          'auth.test': (r) => registry.handle(r),
          'cdn.test': (r) => registry.handle(r),
        },
      );
      const a = chartArtifact('app', '1');
      await pushAll(registry.repository('charts/app'), [a.config, a.layer]);
      registry.redirectBlobsTo('https://cdn.test');
      const stream = await client.repository('registry.test/charts/app').fetchBlob(a.layer.desc);
      const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
      expect(bytes).toEqual(a.layer.data);
      const tokenRequests = net.to('auth.test');
      expect(tokenRequests.length).toBeGreaterThan(0);
      expect(tokenRequests.every((s) => s.authorization === BASIC)).toBe(true);
      expect(tokenRequests[0]!.url).toContain('account=alice');
      expectNoCredentials(net.to('cdn.test'));
      const auth = events.find((e) => e.type === 'auth');
      expect(auth).toMatchObject({ type: 'auth', scheme: 'bearer', host: 'registry.test' });
    });
  });

  describe('when a registry name carries userinfo', () => {
    it('refuses it without repeating it', () => {
      const client = new RegistryClient({ fetch: () => Promise.reject(new Error('no network')) });
      let err: unknown;
      try {
        clientTransport(client).baseUrl(`alice:${PASSWORD}@registry.test`);
      } catch (e) {
        err = e;
      }
      expect((err as ChartproofError).code).toBe('INVALID_REFERENCE');
      expect((err as Error).message).not.toContain(PASSWORD);
    });
  });
});
