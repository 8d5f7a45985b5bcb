import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import { type RepositoryTransport, withinListingDeadline } from './internal/transport.js';
import type { CallOptions } from './target.js';
import { toRegistryError } from './transport/errors.js';
import { MAX_MANIFEST_BYTES, readAll } from './verify.js';

/** Options of tag listing. @public */
export interface TagListOptions extends CallOptions {
  /** Page size requested with `n`. Default: the repository's `tagPageSize`, else unset. */
  pageSize?: number;
  /** Start after this tag (exclusive). */
  last?: string;
}

/**
 * Lists every tag, following `Link: <…>; rel="next"` headers. The number of pages is
 * bounded (`maxPages`, default 1000) and a repeated next URL stops the walk, so a
 * misbehaving registry cannot make this loop forever; all pages together have one
 * total deadline (`timeouts.listing`).
 */
export async function listTags(repo: RepositoryTransport, options: TagListOptions = {}): Promise<string[]> {
  return withinListingDeadline(repo, 'tags', options.signal, (signal) => tagPages(repo, options, signal));
}

async function tagPages(
  repo: RepositoryTransport,
  options: TagListOptions,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const maxPages = repo.maxPages;
  const pageSize = options.pageSize ?? repo.tagPageSize;
  const first = new URL(repo.url('tags/list'));
  if (pageSize !== undefined) first.searchParams.set('n', String(pageSize));
  if (options.last !== undefined) first.searchParams.set('last', options.last);
  const seen = new Set<string>();
  const tags: string[] = [];
  let url: string | undefined = first.toString();
  for (let page = 0; url; page++) {
    if (page >= maxPages)
      throw new ChartproofError('PAGINATION_LIMIT', `${repo.name}: tag list exceeds ${maxPages} pages`);
    if (seen.has(url)) throw new ChartproofError('PROTOCOL', `${repo.name}: tag list pagination loops`);
    seen.add(url);
    const res = await repo.send({
      method: 'GET',
      url,
      headers: { accept: 'application/json' },
      signal,
    });
    if (res.status !== 200) throw await toRegistryError(res, 'GET', url);
    const body = res.body ? await readAll(res.body, MAX_MANIFEST_BYTES) : new Uint8Array();
    let parsed: { tags?: unknown };
    try {
      parsed = parseJsonBounded(Buffer.from(body).toString('utf8'), {
        what: `${repo.name}: tag list`,
        source: 'remote',
      }) as { tags?: unknown };
    } catch (e) {
      if (isDepthLimitError(e)) throw e;
      throw new ChartproofError('PROTOCOL', `${repo.name}: tag list is not valid JSON`, { cause: e });
    }
    const pageTags = parsed?.tags ?? [];
    if (!Array.isArray(pageTags) || pageTags.some((t) => typeof t !== 'string')) {
      throw new ChartproofError('PROTOCOL', `${repo.name}: tag list has no valid "tags" array`);
    }
    tags.push(...(pageTags as string[]));
    url = nextLink(res.headers.get('link'), url);
  }
  return tags;
}

/**
 * The `rel="next"` target of a `Link` header (RFC 8288), resolved against `base`.
 * A link without any `rel` counts as next (registries that omit it exist).
 */
export function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!m) continue;
    let rel: string | undefined;
    for (const param of m[2]!.split(';')) {
      const p = /^\s*([A-Za-z*-]+)\s*=\s*(?:"([^"]*)"|([^\s;,]*))\s*$/.exec(param);
      if (p && p[1]!.toLowerCase() === 'rel') rel = (p[2] ?? p[3] ?? '').toLowerCase();
    }
    if (rel !== undefined && !rel.split(/\s+/).includes('next')) continue;
    const next = new URL(m[1]!, base);
    // Pagination stays on the registry that answered.
    if (next.origin !== new URL(base).origin) {
      throw new ChartproofError('PROTOCOL', `pagination link points to another origin: ${next.origin}`);
    }
    return next.toString();
  }
  return undefined;
}
