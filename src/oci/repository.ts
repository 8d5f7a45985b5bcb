import { DEFAULT_LISTING_TIMEOUT, type HttpResponse, type RequestBody } from './transport/fetch.js';
import { ChartproofError } from '../errors.js';
import { repositoryScope } from './auth/challenge.js';
import type { RegistryClient } from './client.js';
import { type Descriptor, toDescriptor } from './descriptor.js';
import { type Digest, digestOf, isDigest } from './digest.js';
import { parseManifestJson } from './manifest.js';
import { isManifestMediaType, MANIFEST_MEDIA_TYPES, stripParameters } from './media-types.js';
import { type ClientTransport, clientTransport, type RepositoryTransport } from './internal/transport.js';
import { type Reference, formatReference, isValidTag, parseReference } from './reference.js';
import { listReferrers, updateReferrersTag } from './referrers.js';
import { listTags, type TagListOptions } from './tags.js';
import type {
  CallOptions,
  Deleter,
  FetchedManifest,
  ManifestFetcher,
  Mounter,
  MountPusher,
  Named,
  ReferrerLister,
  ReferrersOptions,
  TagLister,
  Target,
} from './target.js';
import { discard, toRegistryError } from './transport/errors.js';
import { pushBlob, resolveSessionUrl, type UploadOptions, type VerifiedPushOptions } from './upload.js';
import {
  type InlineDigestOptions,
  MAX_MANIFEST_BYTES,
  readAll,
  verifyBytes,
  verifyStreamWith,
} from './verify.js';

/** Options of a {@link Repository}. @public */
export interface RepositoryOptions {
  /** `Accept` media types for manifests. Default: OCI and Docker manifests and indexes. */
  manifestMediaTypes?: readonly string[];
  /** Largest manifest accepted, in bytes. Default 4 MiB. */
  maxManifestBytes?: number;
  /** Tag list page size requested with `n`. Default: let the registry choose. */
  tagPageSize?: number;
  /** Most pages followed when listing tags or referrers. Default 1000. */
  maxPages?: number;
  /** Blob upload behaviour. */
  upload?: UploadOptions;
  /**
   * Whether the registry supports the referrers API: `undefined` probes (and
   * learns from `OCI-Subject` on push), `true`/`false` skip the probe.
   */
  referrersApi?: boolean;
}

export type { FetchedManifest } from './target.js';

/**
 * One repository of a registry. Implements `Target` and the optional roles
 * (manifest fetching, naming, referrers, tags, mount, delete). Every read is verified
 * against its digest. Requests, URLs and token scopes stay private: the tag, referrer
 * and upload helpers get them through an internal transport interface.
 * @public
 */
export class Repository
  implements Target, ManifestFetcher, Named, ReferrerLister, TagLister, Mounter, MountPusher, Deleter
{
  readonly client: RegistryClient;
  readonly reference: Reference;
  readonly options: Readonly<RepositoryOptions>;
  #referrersApi: boolean | undefined;
  readonly #client: ClientTransport;
  // What the tag, referrer and upload helpers see of this repository.
  readonly #transport: RepositoryTransport;

  /**
   * Learned referrers capability; see {@link RepositoryOptions.referrersApi}. What one
   * repository learns is remembered by the client for its registry, so other
   * repositories of the same registry do not probe again.
   */
  get referrersApi(): boolean | undefined {
    return this.#referrersApi ?? this.#client.referrersApiOf(this.reference.registry);
  }

  set referrersApi(value: boolean | undefined) {
    this.#referrersApi = value;
    if (value !== undefined) this.#client.noteReferrersApi(this.reference.registry, value);
  }
  // Manifests recently pushed or fetched (verified, content-addressed), so that tagging
  // or re-reading them needs no extra round trip. Bounded.
  readonly #recent = new Map<string, { descriptor: Descriptor; bytes: Uint8Array }>();

  #remember(descriptor: Descriptor, bytes: Uint8Array): void {
    if (bytes.byteLength > 256 * 1024) return;
    this.#recent.delete(descriptor.digest);
    this.#recent.set(descriptor.digest, { descriptor, bytes });
    if (this.#recent.size > 32) this.#recent.delete(this.#recent.keys().next().value!);
  }

  constructor(client: RegistryClient, reference: Reference, options: RepositoryOptions = {}) {
    this.client = client;
    this.reference = reference;
    this.options = options;
    this.#referrersApi = options.referrersApi;
    this.#client = clientTransport(client);
    const self = this;
    this.#transport = {
      get name() {
        return self.name;
      },
      get maxPages() {
        return self.options.maxPages ?? 1000;
      },
      get listingMs() {
        return self.client.options.timeouts?.listing ?? DEFAULT_LISTING_TIMEOUT;
      },
      get tagPageSize() {
        return self.options.tagPageSize;
      },
      get referrersApi() {
        return self.referrersApi;
      },
      set referrersApi(value) {
        self.referrersApi = value;
      },
      url: (path) => this.#url(path),
      scopes: (...actions) => this.#scopes(...actions),
      send: (req) => this.#send(req),
    };
  }

  /** `registry/name`. */
  get name(): string {
    return `${this.reference.registry}/${this.reference.repository}`;
  }

  /** URL of `/v2/<name>/<path>`. */
  #url(path: string): string {
    return `${this.#client.baseUrl(this.reference.registry)}/v2/${this.reference.repository}/${path}`;
  }

  /** Scopes for reading (`pull`) or writing (`pull,push`). */
  #scopes(...actions: string[]): string[] {
    return [repositoryScope(this.reference.repository, ...(actions.length ? actions : ['pull']))];
  }

  /** Sends a request with this repository's defaults. */
  #send(req: Parameters<RepositoryTransport['send']>[0]): Promise<HttpResponse> {
    return this.#client.send({ scopes: this.#scopes(), ...req });
  }

  /**
   * Resolves a tag or digest (default: the reference's own) to a descriptor with a
   * HEAD request, falling back to GET when the registry omits the digest header.
   */
  async resolve(reference?: string, options: CallOptions = {}): Promise<Descriptor> {
    const selector = this.#selector(reference);
    const url = this.#url(`manifests/${selector}`);
    const res = await this.#send({
      method: 'HEAD',
      url,
      headers: { accept: this.#accept() },
      signal: options.signal,
    });
    if (res.status === 404)
      throw await notFound(res, 'HEAD', url, `${this.name}:${selector}`, 'MANIFEST_UNKNOWN');
    if (res.status !== 200) throw await toRegistryError(res, 'HEAD', url);
    await discard(res);
    const headerDigest = res.headers.get('docker-content-digest');
    const mediaType = res.headers.get('content-type');
    const length = Number(res.headers.get('content-length'));
    if (headerDigest && isDigest(headerDigest) && mediaType && Number.isSafeInteger(length) && length > 0) {
      if (isDigest(selector) && headerDigest !== selector) {
        throw new ChartproofError(
          'DIGEST_MISMATCH',
          `${this.name}: registry resolved ${selector} to ${headerDigest}`,
        );
      }
      return { mediaType: stripParameters(mediaType), digest: headerDigest, size: length };
    }
    return (await this.fetchManifest(selector, options)).descriptor;
  }

  /**
   * Fetches a manifest by tag or digest and verifies it: size cap, digest of the
   * bytes against a requested digest and against `Docker-Content-Digest`, and the
   * `mediaType` field against `Content-Type`.
   */
  async fetchManifest(reference?: string, options: CallOptions = {}): Promise<FetchedManifest> {
    const selector = this.#selector(reference);
    const url = this.#url(`manifests/${selector}`);
    const res = await this.#send({
      method: 'GET',
      url,
      headers: { accept: this.#accept() },
      signal: options.signal,
    });
    if (res.status === 404)
      throw await notFound(res, 'GET', url, `${this.name}:${selector}`, 'MANIFEST_UNKNOWN');
    if (res.status !== 200) throw await toRegistryError(res, 'GET', url);
    const limit = this.options.maxManifestBytes ?? MAX_MANIFEST_BYTES;
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > limit) {
      await discard(res);
      throw new ChartproofError(
        'SIZE_LIMIT_EXCEEDED',
        `${this.name}:${selector}: manifest of ${declared} bytes exceeds ${limit}`,
      );
    }
    const bytes = res.body ? await readAll(res.body, limit) : new Uint8Array();
    const headerType = res.headers.get('content-type');
    const manifest = parseManifestJson(bytes, `${this.name}:${selector}`);
    const fieldType = typeof manifest.mediaType === 'string' ? manifest.mediaType : undefined;
    if (
      fieldType &&
      headerType &&
      stripParameters(headerType) !== fieldType &&
      isManifestMediaType(headerType)
    ) {
      throw new ChartproofError(
        'INVALID_MANIFEST',
        `${this.name}:${selector}: mediaType ${fieldType} does not match Content-Type ${headerType}`,
      );
    }
    const mediaType = fieldType ?? (headerType ? stripParameters(headerType) : undefined);
    if (!mediaType)
      throw new ChartproofError('INVALID_MANIFEST', `${this.name}:${selector}: manifest has no media type`);
    const algorithm = isDigest(selector) ? (selector.split(':')[0] as 'sha256' | 'sha512') : 'sha256';
    const digest = digestOf(bytes, algorithm);
    if (isDigest(selector) && digest !== selector) {
      throw new ChartproofError(
        'DIGEST_MISMATCH',
        `${this.name}: manifest digest mismatch: expected ${selector}, got ${digest}`,
      );
    }
    const headerDigest = res.headers.get('docker-content-digest');
    if (
      headerDigest &&
      isDigest(headerDigest) &&
      headerDigest.startsWith('sha256:') &&
      digestOf(bytes) !== headerDigest
    ) {
      throw new ChartproofError(
        'DIGEST_MISMATCH',
        `${this.name}:${selector}: body digest ${digestOf(bytes)} does not match Docker-Content-Digest ${headerDigest}`,
      );
    }
    const descriptor: Descriptor = { mediaType, digest, size: bytes.byteLength };
    this.#remember(descriptor, bytes);
    return { descriptor, bytes, manifest };
  }

  /** Fetches content (manifest or blob) as a verified stream. */
  async fetch(desc: Descriptor, options: CallOptions = {}): Promise<ReadableStream<Uint8Array>> {
    if (isManifestMediaType(desc.mediaType)) {
      const m = this.#recent.get(desc.digest) ?? (await this.fetchManifest(desc.digest, options));
      verifyBytes(m.bytes, desc);
      return new ReadableStream({
        start(c) {
          c.enqueue(m.bytes);
          c.close();
        },
      });
    }
    return this.fetchBlob(desc, options);
  }

  /**
   * Streams a blob, verifying size and digest as it flows. A `Content-Length` that
   * disagrees with the descriptor fails before any byte is returned.
   */
  async fetchBlob(desc: Descriptor, options: CallOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const url = this.#url(`blobs/${desc.digest}`);
    const res = await this.#send({ method: 'GET', url, signal: options.signal, transfer: 'blob' });
    if (res.status === 404)
      throw await notFound(res, 'GET', url, `${this.name}@${desc.digest}`, 'BLOB_UNKNOWN');
    if (res.status !== 200) throw await toRegistryError(res, 'GET', url);
    const length = res.headers.get('content-length');
    if (length !== null && Number(length) !== desc.size) {
      await discard(res);
      throw new ChartproofError(
        'SIZE_MISMATCH',
        `${this.name}@${desc.digest}: registry sent Content-Length ${length}, expected ${desc.size}`,
      );
    }
    const source = res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    return verifyStreamWith(
      source,
      desc,
      (options as InlineDigestOptions).inlineDigest === true ? undefined : this.#client.digests,
    );
  }

  /** Whether a manifest or blob exists (HEAD). */
  async exists(desc: Descriptor, options: CallOptions = {}): Promise<boolean> {
    const kind = isManifestMediaType(desc.mediaType) ? 'manifests' : 'blobs';
    const url = this.#url(`${kind}/${desc.digest}`);
    const res = await this.#send({
      method: 'HEAD',
      url,
      ...(kind === 'manifests' ? { headers: { accept: this.#accept() } } : {}),
      signal: options.signal,
    });
    await discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await toRegistryError(res, 'HEAD', url);
  }

  /** Pushes a manifest (by digest) or a blob, checked against `expected`. */
  async push(
    expected: Descriptor,
    content: ReadableStream<Uint8Array> | Uint8Array,
    options: CallOptions = {},
  ): Promise<void> {
    if (isManifestMediaType(expected.mediaType)) {
      const bytes = content instanceof Uint8Array ? content : await readAll(content, MAX_MANIFEST_BYTES);
      verifyBytes(bytes, expected);
      await this.pushManifest(bytes, { mediaType: expected.mediaType, signal: options.signal });
      return;
    }
    await pushBlob(this.#transport, expected, content, {
      ...this.options.upload,
      ...(options as VerifiedPushOptions),
    });
  }

  /**
   * Pushes manifest bytes and points `tags` at them. Call it after the manifest's blobs
   * are in place: the registry then stores content and tag together, so a tag never
   * points at content that is missing. Without tags (or with a `subject`) the
   * manifest is pushed by digest first. Maintains the referrers tag index when the
   * manifest has a `subject` and the registry lacks the API.
   */
  async pushManifest(
    bytes: Uint8Array,
    options: CallOptions & { mediaType?: string; tags?: string[] } = {},
  ): Promise<Descriptor> {
    const manifest = parseManifestJson(bytes, this.name);
    const mediaType =
      options.mediaType ?? (typeof manifest.mediaType === 'string' ? manifest.mediaType : undefined);
    if (!mediaType)
      throw new ChartproofError('INVALID_MANIFEST', 'manifest has no mediaType; pass options.mediaType');
    if (typeof manifest.mediaType === 'string' && manifest.mediaType !== mediaType) {
      throw new ChartproofError(
        'INVALID_MANIFEST',
        `mediaType field ${manifest.mediaType} differs from ${mediaType}`,
      );
    }
    const limit = this.options.maxManifestBytes ?? MAX_MANIFEST_BYTES;
    if (bytes.byteLength > limit) {
      throw new ChartproofError(
        'SIZE_LIMIT_EXCEEDED',
        `manifest of ${bytes.byteLength} bytes exceeds ${limit}`,
      );
    }
    for (const tag of options.tags ?? []) {
      if (!isValidTag(tag))
        throw new ChartproofError('INVALID_REFERENCE', `invalid tag ${JSON.stringify(tag)}`);
    }
    const desc: Descriptor = { mediaType, digest: digestOf(bytes), size: bytes.byteLength };
    const subject = manifest.subject as Descriptor | undefined;
    const tags = [...(options.tags ?? [])];
    // One request for content and first tag when there is no referrers index to maintain first.
    const first = subject ? desc.digest : (tags.shift() ?? desc.digest);
    const subjectHeader = await this.#putManifest(first, bytes, mediaType, options.signal);
    this.#remember(desc, bytes);
    if (subject && typeof subject.digest === 'string') {
      if (subjectHeader) this.referrersApi = true;
      else if (this.referrersApi !== true) {
        this.referrersApi = false;
        await updateReferrersTag(this.#transport, subject, referrerEntry(desc, manifest), options);
      }
    }
    for (const tag of tags) await this.#putManifest(tag, bytes, mediaType, options.signal);
    return desc;
  }

  async #putManifest(
    ref: string,
    bytes: Uint8Array,
    mediaType: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const url = this.#url(`manifests/${ref}`);
    const res = await this.#send({
      method: 'PUT',
      url,
      headers: { 'content-type': mediaType },
      body: () => bytes as RequestBody,
      scopes: this.#scopes('pull', 'push'),
      signal,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202)
      throw await toRegistryError(res, 'PUT', url);
    await discard(res);
    const echoed = res.headers.get('docker-content-digest');
    const expected = digestOf(bytes);
    if (echoed && isDigest(echoed) && echoed !== expected) {
      throw new ChartproofError(
        'DIGEST_MISMATCH',
        `${this.name}: registry stored manifest as ${echoed}, expected ${expected}`,
      );
    }
    return res.headers.has('oci-subject');
  }

  /** Points `tag` at existing manifest `desc` (fetches and re-puts its bytes). */
  async tag(desc: Descriptor, tag: string, options: CallOptions = {}): Promise<void> {
    if (!isValidTag(tag))
      throw new ChartproofError('INVALID_REFERENCE', `invalid tag ${JSON.stringify(tag)}`);
    const known = this.#recent.get(desc.digest);
    const m = known ?? (await this.fetchManifest(desc.digest, options));
    await this.#putManifest(tag, m.bytes, m.descriptor.mediaType, options.signal);
  }

  /** Lists tags, following `Link` pagination (bounded). */
  tags(options: TagListOptions = {}): Promise<string[]> {
    return listTags(this.#transport, options);
  }

  /** Lists referrers of `subject` via the API, or the `sha256-<hex>` tag fallback. */
  referrers(subject: Descriptor, options: ReferrersOptions = {}): Promise<Descriptor[]> {
    return listReferrers(this.#transport, subject, options);
  }

  /**
   * Mounts a blob from another repository of the same registry. Returns false (and
   * cancels the session) when the registry starts an upload instead.
   */
  async mount(desc: Descriptor, fromRepository: string, options: CallOptions = {}): Promise<boolean> {
    const answer = await this.#mountRequest(desc, fromRepository, options);
    if (typeof answer === 'string') await this.#cancelSession(answer);
    return answer === true;
  }

  /**
   * Mounts a blob from another repository of the same registry, or uploads `content()`
   * when the registry will not: into the session its refused mount opened (one request
   * instead of a cancel and a new session), else through a new one.
   */
  async mountOrPush(
    desc: Descriptor,
    fromRepository: string,
    content: () => Promise<ReadableStream<Uint8Array> | Uint8Array>,
    options: CallOptions = {},
  ): Promise<'mounted' | 'pushed'> {
    const answer = await this.#mountRequest(desc, fromRepository, options);
    if (answer === true) return 'mounted';
    let body: ReadableStream<Uint8Array> | Uint8Array;
    try {
      body = await content();
    } catch (e) {
      if (typeof answer === 'string') await this.#cancelSession(answer);
      throw e;
    }
    const session: VerifiedPushOptions = typeof answer === 'string' ? { session: answer } : {};
    await this.push(desc, body, { ...options, ...session });
    return 'pushed';
  }

  /** The mount request: true when mounted, the session's URL when the registry opened one instead, else false. */
  async #mountRequest(
    desc: Descriptor,
    fromRepository: string,
    options: CallOptions,
  ): Promise<boolean | string> {
    const url = this.#url(
      `blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(fromRepository)}`,
    );
    const res = await this.#send({
      method: 'POST',
      url,
      scopes: [...this.#scopes('pull', 'push'), repositoryScope(fromRepository, 'pull')],
      signal: options.signal,
    });
    await discard(res);
    if (res.status === 201) return mountedBlobIs(res, desc.digest, url);
    if (res.status === 202) {
      const location = res.headers.get('location');
      return location ? resolveSessionUrl(location, url) : false;
    }
    if (res.status === 401 || res.status === 403 || res.status === 404) return false;
    throw await toRegistryError(res, 'POST', url);
  }

  /** Cancels an upload session (best effort). */
  async #cancelSession(location: string): Promise<void> {
    // Its own deadline, not the caller's signal: an abort right after the 202 must
    // still close the session the registry opened.
    const cancel = await this.#send({
      method: 'DELETE',
      url: location,
      scopes: this.#scopes('pull', 'push'),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    if (cancel) await discard(cancel);
  }

  /** Deletes a manifest or blob by digest. */
  async delete(desc: Descriptor, options: CallOptions = {}): Promise<void> {
    const kind = isManifestMediaType(desc.mediaType) ? 'manifests' : 'blobs';
    const url = this.#url(`${kind}/${desc.digest}`);
    const res = await this.#send({
      method: 'DELETE',
      url,
      scopes: this.#scopes('delete'),
      signal: options.signal,
    });
    if (res.status === 202 || res.status === 200 || res.status === 204) {
      await discard(res);
      return;
    }
    if (res.status === 404)
      throw await notFound(res, 'DELETE', url, `${this.name}@${desc.digest}`, 'NOT_FOUND');
    throw await toRegistryError(res, 'DELETE', url);
  }

  /** `registry/name@digest` for a descriptor. */
  pinned(digest: Digest): string {
    return formatReference({
      registry: this.reference.registry,
      repository: this.reference.repository,
      digest,
    });
  }

  #selector(reference: string | undefined): string {
    const r = reference ?? this.reference.digest ?? this.reference.tag;
    if (!r) throw new ChartproofError('INVALID_REFERENCE', `${this.name}: no tag or digest given`);
    if (!isDigest(r) && !isValidTag(r)) {
      // Accept a full reference string for convenience.
      const parsed = parseReference(r);
      const sel = parsed.digest ?? parsed.tag;
      if (!sel) throw new ChartproofError('INVALID_REFERENCE', `invalid tag or digest ${JSON.stringify(r)}`);
      return sel;
    }
    return r;
  }

  #accept(): string {
    return (this.options.manifestMediaTypes ?? MANIFEST_MEDIA_TYPES).join(', ');
  }
}

/** Builds the referrers-index entry for a manifest (artifactType, annotations). */
export function referrerEntry(desc: Descriptor, manifest: Record<string, unknown>): Descriptor {
  const entry = toDescriptor(desc);
  const config = manifest.config as { mediaType?: string } | undefined;
  const artifactType = (manifest.artifactType as string | undefined) ?? config?.mediaType;
  if (artifactType) entry.artifactType = artifactType;
  const annotations = manifest.annotations as Record<string, string> | undefined;
  if (annotations && typeof annotations === 'object' && Object.keys(annotations).length > 0)
    entry.annotations = annotations;
  return entry;
}

/**
 * Whether a mount's 201 is for `digest`: a `Docker-Content-Digest` or a `Location`
 * (`…/blobs/<digest>`) naming another blob means the registry placed something else,
 * so the blob is uploaded instead of taken as mounted.
 */
function mountedBlobIs(res: HttpResponse, digest: string, base: string): boolean {
  const header = res.headers.get('docker-content-digest');
  if (header && isDigest(header) && header !== digest) return false;
  const location = res.headers.get('location');
  if (location) {
    let last: string | undefined;
    try {
      last = decodeURIComponent(new URL(location, base).pathname.split('/').pop() ?? '');
    } catch {
      last = undefined;
    }
    if (last && isDigest(last) && last !== digest) return false;
  }
  return true;
}

async function notFound(
  res: HttpResponse,
  method: string,
  url: string,
  what: string,
  fallback: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN' | 'NOT_FOUND',
) {
  const err = await toRegistryError(res, method, url);
  const code = err.diagnostics.length > 0 ? err.code : fallback;
  return new (err.constructor as typeof import('../errors.js').RegistryError)(
    { status: 404, method, url, diagnostics: [...err.diagnostics], code },
    `${what}: not found${err.diagnostics[0] ? ` (${err.diagnostics[0].code})` : ''}`,
  );
}
