import type { Descriptor } from '../oci/descriptor.js';
import { createDigester, isDigest, parseDigest } from '../oci/digest.js';
import { isManifestMediaType, MediaType, stripParameters } from '../oci/media-types.js';
import { type MemoryStore, parseJsonObject } from '../oci/memory-store.js';
import { isValidTag } from '../oci/reference.js';
import type { RequiredAccess } from './registry-auth.js';
import {
  discardBody,
  emptyResponse,
  errorResponse,
  jsonResponse,
  methodNotAllowed,
  notFoundRoute,
  readBody,
  serveBytes,
} from './registry-responses.js';

/** One parsed `/v2/` route. @internal */
export type Route =
  | { kind: 'base' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'referrers'; name: string; digest: string };

const ROUTES: ReadonlyArray<[RegExp, (m: RegExpExecArray) => Route]> = [
  [/^\/v2\/?$/, () => ({ kind: 'base' })],
  [/^\/v2\/(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1]! })],
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1]!, reference: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'uploads', name: m[1]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'upload', name: m[1]!, id: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1]!, digest: m[2]! })],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: 'referrers', name: m[1]!, digest: m[2]! })],
];

/** Parses a `/v2/…` path (percent-decoded per segment), or undefined. @internal */
export function parseRoute(pathname: string): Route | undefined {
  let path: string;
  try {
    path = pathname
      .split('/')
      .map((s) => decodeURIComponent(s))
      .join('/');
  } catch {
    return undefined;
  }
  for (const [re, make] of ROUTES) {
    const m = re.exec(path);
    if (m) return make(m);
  }
  return undefined;
}

/** The access a request on `route` needs (undefined for `/v2/`). @internal */
export function requiredAccess(route: Route, method: string): RequiredAccess | undefined {
  if (route.kind === 'base') return undefined;
  const repository = route.name;
  if (route.kind === 'uploads' || route.kind === 'upload')
    return { repository, actions: ['push'], challenge: 'pull,push' };
  if (method === 'DELETE') return { repository, actions: ['delete'], challenge: 'delete' };
  if (method === 'GET' || method === 'HEAD') return { repository, actions: ['pull'], challenge: 'pull' };
  return { repository, actions: ['push'], challenge: 'pull,push' };
}

/** Settings of the API that tests may change while it runs. @internal */
export interface ApiSettings {
  referrersApi: boolean;
  answerReferrersTagWithSubject: boolean;
  blobRedirectOrigin: string | undefined;
  tagPageSize: number | undefined;
  referrersPageSize: number | undefined;
  maxManifestBytes: number;
}

/** Repository lookup used by the handlers. @internal */
export interface StoreLookup {
  store(name: string): MemoryStore | undefined;
  createStore(name: string): MemoryStore;
}

const REFERRERS_TAG = /^(sha256|sha512)-([a-f0-9]+)$/;

/**
 * The manifest, blob, tag-list and referrers endpoints (uploads live in
 * registry-uploads.ts).
 * @internal
 */
export class DistributionApi {
  constructor(
    readonly stores: StoreLookup,
    readonly settings: ApiSettings,
  ) {}

  async manifest(request: Request, name: string, reference: string): Promise<Response> {
    const method = request.method;
    if (!['GET', 'HEAD', 'PUT', 'DELETE'].includes(method)) {
      await discardBody(request);
      return methodNotAllowed(['GET', 'HEAD', 'PUT', 'DELETE']);
    }
    const byDigest = reference.includes(':');
    if (byDigest ? !isDigest(reference) : !isValidTag(reference)) {
      await discardBody(request);
      return byDigest
        ? errorResponse(400, 'DIGEST_INVALID', `invalid digest ${JSON.stringify(reference)}`)
        : errorResponse(400, 'TAG_INVALID', `invalid tag ${JSON.stringify(reference)}`);
    }
    if (method === 'PUT') return this.#putManifest(request, name, reference, byDigest);
    const store = this.stores.store(name);
    if (!store) return nameUnknown(name);
    if (method === 'DELETE') {
      if (!byDigest) {
        return store.untag(reference)
          ? emptyResponse(202)
          : errorResponse(404, 'MANIFEST_UNKNOWN', `tag ${reference} is unknown`);
      }
      const desc = store.describe(reference);
      if (!desc || !isManifestMediaType(desc.mediaType)) return manifestUnknown(reference);
      await store.delete(desc);
      return emptyResponse(202);
    }
    const desc = await this.#lookupManifest(store, reference);
    const data = desc && store.get(desc.digest);
    if (!desc || !data) return manifestUnknown(reference);
    const quirk = desc.digest !== reference && REFERRERS_TAG.test(reference);
    if (!quirk && !acceptable(request.headers.get('accept'), desc.mediaType)) {
      return errorResponse(404, 'MANIFEST_UNKNOWN', `manifest of type ${desc.mediaType} not acceptable`);
    }
    const headers = {
      'content-type': desc.mediaType,
      'content-length': String(data.byteLength),
      'docker-content-digest': desc.digest,
      etag: `"${desc.digest}"`,
    };
    return new Response(method === 'HEAD' ? null : data.slice(), { status: 200, headers });
  }

  /** Tag or digest lookup, with the GitLab `sha256-<hex>` quirk when enabled. */
  async #lookupManifest(store: MemoryStore, reference: string): Promise<Descriptor | undefined> {
    if (this.settings.answerReferrersTagWithSubject) {
      const m = REFERRERS_TAG.exec(reference);
      const desc = m ? store.describe(`${m[1]}:${m[2]}`) : undefined;
      if (desc && isManifestMediaType(desc.mediaType)) return desc;
    }
    if (isDigest(reference)) {
      const desc = store.describe(reference);
      return desc && isManifestMediaType(desc.mediaType) ? desc : undefined;
    }
    return tagged(store, reference);
  }

  async #putManifest(
    request: Request,
    name: string,
    reference: string,
    byDigest: boolean,
  ): Promise<Response> {
    const limit = this.settings.maxManifestBytes;
    const data = await readBody(request, limit);
    if (!data) return errorResponse(413, 'SIZE_INVALID', `manifest is larger than ${limit} bytes`);
    const manifest = parseJsonObject(data);
    if (!manifest) return manifestInvalid('manifest is not a JSON object');
    if (manifest.schemaVersion !== 2) return manifestInvalid('schemaVersion must be 2');
    const contentType = stripParameters(request.headers.get('content-type') ?? '');
    const declared = typeof manifest.mediaType === 'string' ? manifest.mediaType : undefined;
    const mediaType = isManifestMediaType(contentType) ? contentType : declared;
    if (!mediaType || !isManifestMediaType(mediaType))
      return manifestInvalid(`unsupported manifest media type ${JSON.stringify(contentType)}`);
    if (declared !== undefined && declared !== mediaType)
      return manifestInvalid(
        `mediaType ${JSON.stringify(declared)} does not match Content-Type ${mediaType}`,
      );
    const algorithm = byDigest ? parseDigest(reference).algorithm : 'sha256';
    const digester = createDigester(algorithm);
    digester.update(data);
    const digest = digester.digest();
    if (byDigest && digest !== reference)
      return errorResponse(400, 'DIGEST_INVALID', `manifest digest is ${digest}, not ${reference}`);
    const store = this.stores.store(name);
    const problem = checkReferences(manifest, mediaType, store);
    if (problem) return problem;
    if (!byDigest) {
      // Nothing yields between this check and the tag update (MemoryStore.tag updates
      // its table synchronously), so check-and-set is atomic.
      const current = store ? await tagged(store, reference) : undefined;
      const failed = preconditionFailed(request.headers, current);
      if (failed) return failed;
    }
    const target = store ?? this.stores.createStore(name);
    const desc: Descriptor = { mediaType, digest, size: data.byteLength };
    if (typeof manifest.artifactType === 'string') desc.artifactType = manifest.artifactType;
    target.putVerified(desc, data);
    if (!byDigest) await target.tag(desc, reference);
    const headers: Record<string, string> = {
      location: `/v2/${name}/manifests/${digest}`,
      'docker-content-digest': digest,
    };
    const subject = manifest.subject as Descriptor | undefined;
    if (subject && this.settings.referrersApi) headers['oci-subject'] = subject.digest;
    return emptyResponse(201, headers);
  }

  async blob(request: Request, name: string, digest: string, redirect: boolean): Promise<Response> {
    if (!['GET', 'HEAD', 'DELETE'].includes(request.method)) {
      await discardBody(request);
      return methodNotAllowed(['GET', 'HEAD', 'DELETE']);
    }
    if (!isDigest(digest))
      return errorResponse(400, 'DIGEST_INVALID', `invalid digest ${JSON.stringify(digest)}`);
    const store = this.stores.store(name);
    if (!store) return nameUnknown(name);
    const desc = store.describe(digest);
    const data = store.get(digest);
    if (!desc || !data) return errorResponse(404, 'BLOB_UNKNOWN', `blob ${digest} is unknown`);
    if (request.method === 'DELETE') {
      await store.delete(desc);
      return emptyResponse(202);
    }
    const origin = this.settings.blobRedirectOrigin;
    if (redirect && origin !== undefined && request.method === 'GET') {
      return emptyResponse(307, { location: `${origin}/_blobs/${name}/${digest}` });
    }
    return serveBytes(request, data, digest);
  }

  async tags(request: Request, url: URL, name: string): Promise<Response> {
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(['GET', 'HEAD']);
    const store = this.stores.store(name);
    if (!store) return nameUnknown(name);
    const nParam = url.searchParams.get('n');
    if (nParam !== null && !/^\d+$/.test(nParam))
      return errorResponse(400, 'UNSUPPORTED', `invalid page size n=${JSON.stringify(nParam)}`);
    const last = url.searchParams.get('last');
    const all = (await store.tags()).filter((t) => last === null || t > last);
    const limit = Math.min(
      nParam === null ? Number.POSITIVE_INFINITY : Number(nParam),
      this.settings.tagPageSize ?? Number.POSITIVE_INFINITY,
    );
    const page = all.slice(0, limit);
    const headers: Record<string, string> = {};
    if (limit > 0 && page.length < all.length) {
      const next = new URLSearchParams({ n: String(limit), last: page.at(-1)! });
      headers.link = `</v2/${name}/tags/list?${next}>; rel="next"`;
    }
    return jsonResponse(200, { name, tags: page }, headers);
  }

  async referrers(request: Request, url: URL, name: string, digest: string): Promise<Response> {
    if (!this.settings.referrersApi) return notFoundRoute();
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(['GET', 'HEAD']);
    if (!isDigest(digest))
      return errorResponse(400, 'DIGEST_INVALID', `invalid digest ${JSON.stringify(digest)}`);
    const store = this.stores.store(name);
    if (!store) return nameUnknown(name);
    const artifactType = url.searchParams.get('artifactType');
    const subject: Descriptor = { mediaType: MediaType.OciManifest, digest, size: 0 };
    const found = await store.referrers(subject, artifactType === null ? {} : { artifactType });
    found.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
    const last = url.searchParams.get('last');
    const remaining = last === null ? found : found.filter((d) => d.digest > last);
    const pageSize = this.settings.referrersPageSize ?? Number.POSITIVE_INFINITY;
    const page = remaining.slice(0, pageSize);
    const headers: Record<string, string> = { 'content-type': MediaType.OciIndex };
    if (artifactType !== null) headers['oci-filters-applied'] = 'artifactType';
    if (page.length < remaining.length) {
      const next = new URLSearchParams();
      if (artifactType !== null) next.set('artifactType', artifactType);
      next.set('last', page.at(-1)!.digest);
      headers.link = `</v2/${name}/referrers/${digest}?${next}>; rel="next"`;
    }
    return jsonResponse(200, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: page }, headers);
  }
}

/** The descriptor a tag points at, or undefined. */
async function tagged(store: MemoryStore, tag: string): Promise<Descriptor | undefined> {
  return store.resolve(tag).catch(() => undefined);
}

/** Loose `Accept` check: absent, wildcards, or no manifest type listed all accept. */
function acceptable(accept: string | null, mediaType: string): boolean {
  if (!accept) return true;
  const types = accept.split(',').map((t) => stripParameters(t));
  if (types.some((t) => t === '*/*' || t === 'application/*' || t === mediaType)) return true;
  return !types.some((t) => isManifestMediaType(t));
}

/** `If-Match` / `If-None-Match` on a tag push (ETag = quoted digest). */
function preconditionFailed(headers: Headers, current: Descriptor | undefined): Response | undefined {
  const etag = current ? `"${current.digest}"` : undefined;
  const list = (v: string) => v.split(',').map((s) => s.trim().replace(/^W\//, ''));
  const ifMatch = headers.get('if-match');
  if (ifMatch !== null) {
    const tags = list(ifMatch);
    if (!etag || !(tags.includes('*') || tags.includes(etag))) return failed412();
  }
  const ifNoneMatch = headers.get('if-none-match');
  if (ifNoneMatch !== null && etag) {
    const tags = list(ifNoneMatch);
    if (tags.includes('*') || tags.includes(etag)) return failed412();
  }
  return undefined;
}

function failed412(): Response {
  return errorResponse(412, 'DENIED', 'precondition failed: the tag has changed');
}

/** Checks descriptors of a manifest and that what it references exists (subject excepted). */
function checkReferences(
  manifest: Record<string, unknown>,
  mediaType: string,
  store: MemoryStore | undefined,
): Response | undefined {
  const refs: unknown[] = [];
  const type = stripParameters(mediaType);
  if (type === MediaType.OciIndex || type === MediaType.DockerManifestList) {
    if (!Array.isArray(manifest.manifests)) return manifestInvalid('an index needs a "manifests" array');
    refs.push(...manifest.manifests);
  } else if (type === MediaType.OciArtifactManifest) {
    if (manifest.blobs !== undefined && !Array.isArray(manifest.blobs))
      return manifestInvalid('"blobs" must be an array');
    refs.push(...((manifest.blobs as unknown[] | undefined) ?? []));
  } else {
    if (manifest.config === undefined) return manifestInvalid('an image manifest needs a "config"');
    if (manifest.layers !== undefined && !Array.isArray(manifest.layers))
      return manifestInvalid('"layers" must be an array');
    refs.push(manifest.config, ...((manifest.layers as unknown[] | undefined) ?? []));
  }
  if (manifest.subject !== undefined && !isDescriptor(manifest.subject))
    return manifestInvalid('"subject" is not a valid descriptor');
  const missing: string[] = [];
  for (const ref of refs) {
    if (!isDescriptor(ref))
      return manifestInvalid(`invalid descriptor ${JSON.stringify(ref)?.slice(0, 200)}`);
    if (Array.isArray(ref.urls) && ref.urls.length > 0) continue; // foreign layer
    if (!store?.describe(ref.digest)) missing.push(ref.digest);
  }
  if (missing.length === 0) return undefined;
  return new Response(
    JSON.stringify({
      errors: missing.map((digest) => ({
        code: 'MANIFEST_BLOB_UNKNOWN',
        message: `manifest references unknown ${digest}`,
        detail: { digest },
      })),
    }),
    { status: 400, headers: { 'content-type': 'application/json' } },
  );
}

function isDescriptor(v: unknown): v is Descriptor {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const d = v as Partial<Descriptor>;
  return (
    typeof d.mediaType === 'string' &&
    typeof d.digest === 'string' &&
    isDigest(d.digest) &&
    Number.isSafeInteger(d.size) &&
    (d.size as number) >= 0
  );
}

function manifestInvalid(message: string): Response {
  return errorResponse(400, 'MANIFEST_INVALID', message);
}

function manifestUnknown(reference: string): Response {
  return errorResponse(404, 'MANIFEST_UNKNOWN', `manifest ${reference} is unknown`);
}

function nameUnknown(name: string): Response {
  return errorResponse(404, 'NAME_UNKNOWN', `repository ${name} is not known to the registry`);
}
