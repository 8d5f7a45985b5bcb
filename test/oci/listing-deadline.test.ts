import { describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/oci/index.js';
import type { FetchLike } from '../../src/oci/transport/fetch.js';

const HOST = 'slow.example';
const SUBJECT: `sha256:${string}` = `sha256:${'a'.repeat(64)}`;

/**
 * A registry whose listings never end: every page answers within the per-request
 * deadline (after `delayMs`) and links to a new next page, up to `maxPages`.
 */
function endlessPages(delayMs: number): { fetch: FetchLike; pages: () => number } {
  let pages = 0;
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, delayMs);
      init?.signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(init.signal!.reason);
      });
    });
    pages++;
    const n = Number(url.searchParams.get('page') ?? '0') + 1;
    const next = new URL(url);
    next.searchParams.set('page', String(n));
    const link = `<${next.pathname}${next.search}>; rel="next"`;
    if (url.pathname.endsWith('/tags/list'))
      return new Response(JSON.stringify({ name: 'x', tags: [`t${n}`] }), {
        status: 200,
        headers: { 'content-type': 'application/json', link },
      });
    if (url.pathname.includes('/referrers/'))
      return new Response(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [],
        }),
        {
          status: 200,
          headers: { 'content-type': 'application/vnd.oci.image.index.v1+json', link },
        },
      );
    return new Response('{}', { status: 404 });
  }) as unknown as FetchLike;
  return { fetch, pages: () => pages };
}

describe('a listing has one total deadline (timeouts.listing)', () => {
  it('stops an endless tag list whose every page is quick enough', async () => {
    const { fetch, pages } = endlessPages(20);
    const client = new RegistryClient({ fetch, timeouts: { listing: 400 } });
    const started = Date.now();
    await expect(client.repository(`${HOST}/app`).tags()).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringMatching(
        /slow\.example\/app: listing its tags took longer than 400 ms \(timeouts\.listing\)/,
      ),
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(pages()).toBeGreaterThan(3);
  });

  it('stops an endless referrers listing the same way', async () => {
    const { fetch } = endlessPages(20);
    const client = new RegistryClient({ fetch, timeouts: { listing: 400 } });
    await expect(
      client
        .repository(`${HOST}/app`, { referrersApi: true })
        .referrers({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: SUBJECT, size: 2 }),
    ).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('(timeouts.listing)') });
  });

  it("keeps the caller's own abort reason", async () => {
    const { fetch } = endlessPages(20);
    const client = new RegistryClient({ fetch, timeouts: { listing: 60_000 } });
    const reason = new Error('caller gave up');
    const caller = new AbortController();
    setTimeout(() => caller.abort(reason), 150);
    await expect(client.repository(`${HOST}/app`).tags({ signal: caller.signal })).rejects.toBe(reason);
  });

  it('0 disables it (maxPages still bounds the walk)', async () => {
    const { fetch, pages } = endlessPages(0);
    const client = new RegistryClient({ fetch, timeouts: { listing: 0 } });
    await expect(client.repository(`${HOST}/app`, { maxPages: 50 }).tags()).rejects.toMatchObject({
      code: 'PAGINATION_LIMIT',
    });
    expect(pages()).toBe(50);
  });
});
