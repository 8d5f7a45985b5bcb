import type { RequestBody } from './transport/fetch.js';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import type { Descriptor, ImageIndex } from './descriptor.js';
import { type Digest, isDigest, parseDigest } from './digest.js';
import { isIndexMediaType, MediaType, stripParameters } from './media-types.js';
import { type RepositoryTransport, withinListingDeadline } from './internal/transport.js';
import { nextLink } from './tags.js';
import type { CallOptions, ReferrersOptions } from './target.js';
import { discard, readTextLimited, toRegistryError } from './transport/errors.js';
import { MAX_MANIFEST_BYTES, readAll } from './verify.js';

/**
 * The referrers tag of the distribution-spec fallback: `<alg>-<hex>` with the hex
 * truncated to 64 characters, e.g. `sha256-9f86…`.
 * @public
 */
export function referrersTag(digest: Digest | string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return `${algorithm}-${encoded.slice(0, 64)}`;
}

/**
 * Lists referrers: the referrers API when the registry has it, otherwise the
 * referrers tag index. The tag fallback ignores a registry that answers the tag with
 * the subject itself (seen on GitLab) and anything that is not an image index.
 */
export async function listReferrers(
  repo: RepositoryTransport,
  subject: Descriptor,
  options: ReferrersOptions = {},
): Promise<Descriptor[]> {
  if (!isDigest(subject.digest))
    throw new ChartproofError('INVALID_DIGEST', `invalid subject digest ${subject.digest}`);
  if (repo.referrersApi !== false) {
    const viaApi = await viaReferrersApi(repo, subject, options);
    if (viaApi) return viaApi;
  }
  return viaTag(repo, subject, options);
}

async function viaReferrersApi(
  repo: RepositoryTransport,
  subject: Descriptor,
  options: ReferrersOptions,
): Promise<Descriptor[] | undefined> {
  return withinListingDeadline(repo, `referrers of ${subject.digest}`, options.signal, (signal) =>
    referrerPages(repo, subject, options, signal),
  );
}

async function referrerPages(
  repo: RepositoryTransport,
  subject: Descriptor,
  options: ReferrersOptions,
  signal: AbortSignal | undefined,
): Promise<Descriptor[] | undefined> {
  const first = new URL(repo.url(`referrers/${subject.digest}`));
  if (options.artifactType !== undefined) first.searchParams.set('artifactType', options.artifactType);
  const maxPages = repo.maxPages;
  const seen = new Set<string>();
  const out: Descriptor[] = [];
  let filtered = true;
  let url: string | undefined = first.toString();
  for (let page = 0; url; page++) {
    if (page >= maxPages)
      throw new ChartproofError('PAGINATION_LIMIT', `${repo.name}: referrers exceed ${maxPages} pages`);
    if (seen.has(url)) throw new ChartproofError('PROTOCOL', `${repo.name}: referrers pagination loops`);
    seen.add(url);
    const res = await repo.send({
      method: 'GET',
      url,
      headers: { accept: MediaType.OciIndex },
      signal,
    });
    const type = res.headers.get('content-type');
    if (
      page === 0 &&
      (res.status === 404 || res.status === 405 || (res.status === 200 && (!type || !isIndexMediaType(type))))
    ) {
      // No referrers API (or a false 200 that is not an index): use the tag schema.
      // A 404 naming an unknown repository says nothing about the registry's API, so
      // it is not remembered (the client shares what is learned across repositories).
      let body = '';
      if (res.status === 404) body = await readTextLimited(res, 4096);
      else await discard(res);
      if (!body.includes('NAME_UNKNOWN')) repo.referrersApi = false;
      return undefined;
    }
    if (res.status !== 200) throw await toRegistryError(res, 'GET', url);
    repo.referrersApi = true;
    const applied = (res.headers.get('oci-filters-applied') ?? '').split(',').map((s) => s.trim());
    if (!applied.includes('artifactType')) filtered = false;
    const index = parseIndex(await readAll(res.body!, MAX_MANIFEST_BYTES), `${repo.name} referrers`);
    if (!index)
      throw new ChartproofError('PROTOCOL', `${repo.name}: referrers response is not an image index`);
    out.push(...index.manifests);
    url = nextLink(res.headers.get('link'), url);
  }
  return options.artifactType !== undefined && !filtered
    ? out.filter((d) => d.artifactType === options.artifactType)
    : out;
}

async function viaTag(
  repo: RepositoryTransport,
  subject: Descriptor,
  options: ReferrersOptions,
): Promise<Descriptor[]> {
  const found = await fetchReferrersIndex(repo, subject, options);
  if (!found) return [];
  const list = found.index.manifests;
  return options.artifactType === undefined
    ? list
    : list.filter((d) => d.artifactType === options.artifactType);
}

/** Fetches the referrers tag index of `subject`, or undefined when absent or unusable. */
async function fetchReferrersIndex(
  repo: RepositoryTransport,
  subject: Descriptor,
  options: CallOptions,
): Promise<{ index: ImageIndex; etag: string | undefined } | undefined> {
  const tag = referrersTag(subject.digest);
  const url = repo.url(`manifests/${tag}`);
  const res = await repo.send({
    method: 'GET',
    url,
    headers: { accept: MediaType.OciIndex },
    signal: options.signal,
  });
  if (res.status === 404) {
    await discard(res);
    return undefined;
  }
  if (res.status !== 200) throw await toRegistryError(res, 'GET', url);
  const bytes = await readAll(res.body!, MAX_MANIFEST_BYTES);
  const headerDigest = res.headers.get('docker-content-digest');
  if (headerDigest === subject.digest) return undefined; // the registry answered with the subject itself
  const type = res.headers.get('content-type');
  if (type && !isIndexMediaType(type)) return undefined;
  const index = parseIndex(bytes, `${repo.name}:${tag}`);
  if (!index) return undefined;
  // An index that lists the subject as its own child is the subject, not a referrers index.
  if (index.manifests.some((d) => d.digest === subject.digest)) return undefined;
  return { index, etag: res.headers.get('etag') ?? undefined };
}

/**
 * Adds `entry` to the referrers tag index of `subject` (creating it), guarded by
 * `If-Match` when the registry sends an `ETag`; a lost race (412) is retried.
 */
export async function updateReferrersTag(
  repo: RepositoryTransport,
  subject: Descriptor,
  entry: Descriptor,
  options: CallOptions = {},
): Promise<void> {
  const tag = referrersTag(subject.digest);
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await fetchReferrersIndex(repo, subject, options);
    const existing = current?.index.manifests ?? [];
    if (existing.some((d) => d.digest === entry.digest)) return;
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [...existing, entry],
    };
    const bytes = new TextEncoder().encode(JSON.stringify(index));
    const url = repo.url(`manifests/${tag}`);
    const headers: Record<string, string> = { 'content-type': MediaType.OciIndex };
    if (current?.etag) headers['if-match'] = current.etag;
    else if (!current) headers['if-none-match'] = '*';
    const res = await repo.send({
      method: 'PUT',
      url,
      headers,
      body: () => bytes as RequestBody,
      scopes: repo.scopes('pull', 'push'),
      signal: options.signal,
    });
    if (res.status === 412) {
      await discard(res);
      continue;
    }
    if (res.status !== 201 && res.status !== 200) throw await toRegistryError(res, 'PUT', url);
    await discard(res);
    return;
  }
  throw new ChartproofError(
    'PROTOCOL',
    `${repo.name}: referrers tag ${tag} kept changing; gave up after 5 attempts`,
  );
}

function parseIndex(bytes: Uint8Array, where: string): ImageIndex | undefined {
  let value: unknown;
  try {
    value = parseJsonBounded(Buffer.from(bytes).toString('utf8'), {
      what: `referrers response of ${where}`,
      source: 'remote',
    });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    return undefined;
  }
  const v = value as Partial<ImageIndex> | null;
  if (!v || typeof v !== 'object' || v.schemaVersion !== 2 || !Array.isArray(v.manifests)) return undefined;
  if (v.mediaType !== undefined && stripParameters(v.mediaType) !== MediaType.OciIndex) return undefined;
  const manifests: Descriptor[] = [];
  for (const d of v.manifests) {
    if (!d || typeof d !== 'object' || typeof d.mediaType !== 'string' || !isDigest(String(d.digest))) {
      throw new ChartproofError('PROTOCOL', `${where}: invalid descriptor in referrers index`);
    }
    if (!Number.isSafeInteger(d.size) || d.size < 0)
      throw new ChartproofError('PROTOCOL', `${where}: invalid size in referrers index`);
    manifests.push(d);
  }
  return { ...v, schemaVersion: 2, manifests };
}
