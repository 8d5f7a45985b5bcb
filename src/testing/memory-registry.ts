import { untilAborted } from '../internal/abort.js';
import { ChartproofError } from '../errors.js';
import { MemoryStore } from '../oci/memory-store.js';
import { isValidRepositoryName } from '../oci/reference.js';
import { MAX_MANIFEST_BYTES } from '../oci/verify.js';
import { type ApiSettings, DistributionApi, parseRoute, requiredAccess } from './registry-api.js';
import { RegistryAuth, type RegistryAuthOptions } from './registry-auth.js';
import {
  connectionResetError,
  DROP,
  type DropNextOptions,
  type FailNextOptions,
  FaultQueue,
  faultResponse,
  type SlowNextOptions,
  slowResponse,
} from './registry-faults.js';
import {
  discardBody,
  errorResponse,
  jsonResponse,
  methodNotAllowed,
  notFoundRoute,
} from './registry-responses.js';
import { type ListenOptions, type RunningRegistry, serveHttp } from './registry-server.js';
import { type UploadHost, UploadSessions } from './registry-uploads.js';

/** Options of {@link MemoryRegistry}. @public */
export interface MemoryRegistryOptions {
  /**
   * Serve `GET /v2/<name>/referrers/<digest>` and answer pushes of manifests with a
   * `subject` with `OCI-Subject`. Default true. When false the endpoint answers 404
   * (like distribution 2.8, GHCR, Docker Hub), so clients must maintain the
   * `sha256-<hex>` referrers tag.
   */
  referrersApi?: boolean;
  /**
   * Simulate GitLab: `GET /v2/<name>/manifests/sha256-<hex>` answers the manifest
   * whose digest is `sha256:<hex>` (the subject itself), even when that tag exists.
   * Default false.
   */
  answerReferrersTagWithSubject?: boolean;
  /** Require authentication. Default: none. */
  auth?: RegistryAuthOptions;
  /** With `auth`, let callers without credentials pull (bearer: via an anonymous token). */
  anonymousPull?: boolean;
  /** Largest page of `tags/list`; longer lists are paginated with `Link`. Default: unlimited. */
  tagPageSize?: number;
  /** Largest page of the referrers API; longer lists are paginated with `Link`. Default: unlimited. */
  referrersPageSize?: number;
  /** Largest manifest accepted; larger pushes answer 413. Default 4 MiB. */
  maxManifestBytes?: number;
  /** Clock for token expiry (epoch ms). Default `Date.now`. */
  now?: () => number;
}

/** One request the registry received. @public */
export interface RecordedRequest {
  /** HTTP method, e.g. `GET`. */
  method: string;
  /** Absolute URL as received (any host name). */
  url: string;
  /** Request headers with lower-case names, including `authorization`. */
  headers: Record<string, string>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

/**
 * An OCI distribution-spec v1.1 registry kept in memory, for tests. Use it in process
 * through {@link MemoryRegistry.fetch} (any host name works, e.g.
 * `http://registry.test`) or over HTTP with {@link MemoryRegistry.listen}.
 *
 * It verifies digests on upload, answers spec-shaped errors, supports chunked and
 * cross-repository uploads, tag and referrers pagination, Basic and bearer-token
 * authentication, and can inject faults (error statuses, connection resets) and
 * redirect blob downloads to another origin.
 *
 * @example
 * ```ts
 * const registry = new MemoryRegistry();
 * const res = await registry.fetch('http://registry.test/v2/');
 * // res.status === 200
 * ```
 * @public
 */
export class MemoryRegistry {
  /**
   * A `fetch` served by this registry, whatever the host. Follows redirects like
   * `fetch` (dropping `Authorization` across origins) unless `redirect` is `manual`;
   * a dropped connection rejects with `TypeError('fetch failed')` whose cause has
   * code `ECONNRESET`.
   */
  readonly fetch: typeof globalThis.fetch;
  /** Every request received, in order (faults, token and redirect requests included). */
  readonly requests: RecordedRequest[] = [];

  readonly #stores = new Map<string, MemoryStore>();
  readonly #settings: ApiSettings;
  readonly #api: DistributionApi;
  readonly #uploads = new UploadSessions();
  readonly #auth: RegistryAuth;
  readonly #faults = new FaultQueue();

  constructor(options: MemoryRegistryOptions = {}) {
    for (const key of ['tagPageSize', 'referrersPageSize', 'maxManifestBytes'] as const) {
      const v = options[key];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 1))
        throw new ChartproofError('INVALID_ARGUMENT', `${key} must be a positive integer, got ${v}`);
    }
    this.#settings = {
      referrersApi: options.referrersApi ?? true,
      answerReferrersTagWithSubject: options.answerReferrersTagWithSubject ?? false,
      blobRedirectOrigin: undefined,
      tagPageSize: options.tagPageSize,
      referrersPageSize: options.referrersPageSize,
      maxManifestBytes: options.maxManifestBytes ?? MAX_MANIFEST_BYTES,
    };
    this.#auth = new RegistryAuth(options.auth, options.anonymousPull ?? false, options.now ?? Date.now);
    this.#api = new DistributionApi(
      { store: (name) => this.#stores.get(name), createStore: (name) => this.#createStore(name) },
      this.#settings,
    );
    this.fetch = (input, init) => this.#fetch(input, init);
  }

  /** Whether the referrers API is served; may be switched while a test runs. */
  get referrersApi(): boolean {
    return this.#settings.referrersApi;
  }
  set referrersApi(value: boolean) {
    this.#settings.referrersApi = value;
  }

  /** Whether the GitLab referrers-tag quirk is simulated; may be switched while a test runs. */
  get answerReferrersTagWithSubject(): boolean {
    return this.#settings.answerReferrersTagWithSubject;
  }
  set answerReferrersTagWithSubject(value: boolean) {
    this.#settings.answerReferrersTagWithSubject = value;
  }

  /**
   * The store of one repository, created when missing: seed content with
   * `push`/`tag`, inspect it with `get`/`describe`/`tags`.
   * @throws ChartproofError `INVALID_REFERENCE` for an invalid repository name
   */
  repository(name: string): MemoryStore {
    if (!isValidRepositoryName(name))
      throw new ChartproofError('INVALID_REFERENCE', `invalid repository name ${JSON.stringify(name)}`);
    return this.#createStore(name);
  }

  /** Names of the repositories that exist, sorted. */
  repositories(): string[] {
    return [...this.#stores.keys()].sort();
  }

  /**
   * Answers the next matching request(s) with an error status instead of serving
   * them. Faults are used in the order they were added.
   */
  failNext(fault: FailNextOptions): void {
    this.#faults.add('fail', fault);
  }

  /**
   * Resets the connection of the next matching request(s): `fetch` rejects with
   * `TypeError('fetch failed')` (cause code `ECONNRESET`); over HTTP the socket is
   * destroyed.
   */
  dropNext(fault: DropNextOptions = {}): void {
    this.#faults.add('drop', fault);
  }

  /**
   * Serves the next matching request(s) slowly: headers after `headersDelayMs`, then
   * the body `bytesPerChunk` bytes every `intervalMs` — a dripping server, to test
   * total deadlines and minimum transfer rates.
   */
  slowNext(fault: SlowNextOptions): void {
    this.#faults.add('slow', fault);
  }

  /** Forgets every pending fault. */
  clearFaults(): void {
    this.#faults.clear();
  }

  /**
   * Blob GETs answer `307` with `Location: <origin>/_blobs/<name>/<digest>` (like
   * a registry on S3 or behind a CDN); `undefined` turns this off. The registry
   * serves `/_blobs/…` on any host, without authentication.
   * @throws ChartproofError `INVALID_ARGUMENT` when `origin` is not an http(s) URL
   */
  redirectBlobsTo(origin: string | undefined): void {
    if (origin === undefined) {
      this.#settings.blobRedirectOrigin = undefined;
      return;
    }
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ChartproofError('INVALID_ARGUMENT', `invalid redirect origin ${JSON.stringify(origin)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ChartproofError('INVALID_ARGUMENT', `redirect origin must be http(s): ${origin}`);
    this.#settings.blobRedirectOrigin = url.origin;
  }

  /**
   * Serves one request as it arrives, without following redirects.
   * @throws TypeError `fetch failed` when a drop fault applies
   */
  async handle(request: Request): Promise<Response> {
    const result = await this.#dispatch(request);
    if (result === DROP) throw connectionResetError();
    return result;
  }

  /** Serves the registry over node:http, by default on 127.0.0.1 and a free port. */
  listen(options: ListenOptions = {}): Promise<RunningRegistry> {
    return serveHttp((request) => this.#dispatch(request), options);
  }

  #createStore(name: string): MemoryStore {
    let store = this.#stores.get(name);
    if (!store) {
      store = new MemoryStore();
      this.#stores.set(name, store);
    }
    return store;
  }

  async #fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    let request = new Request(input, init);
    for (let hop = 0; ; hop++) {
      request.signal.throwIfAborted();
      const result = await untilAborted(this.#dispatch(request), request.signal);
      if (result === DROP) throw connectionResetError();
      const location = result.headers.get('location');
      if (!REDIRECT_STATUSES.has(result.status) || location === null || request.redirect === 'manual')
        return withUrl(result, request.url, hop > 0);
      await result.body?.cancel().catch(() => {});
      if (request.redirect === 'error' || hop >= MAX_REDIRECTS)
        throw new TypeError('fetch failed', { cause: new Error(`redirect not followed (${result.status})`) });
      request = redirected(request, result.status, new URL(location, request.url));
    }
  }

  async #dispatch(request: Request): Promise<Response | typeof DROP> {
    const url = new URL(request.url);
    this.requests.push({
      method: request.method,
      url: request.url,
      headers: Object.fromEntries(request.headers),
    });
    const fault = this.#faults.take(request.method, url.pathname + url.search);
    let response: Response;
    if (fault && fault.kind !== 'slow') {
      await discardBody(request);
      if (fault.kind === 'drop') return DROP;
      response = faultResponse(fault.options);
    } else {
      try {
        response = await this.#route(request, url);
      } catch (e) {
        await discardBody(request);
        response = errorResponse(500, 'UNKNOWN', e instanceof Error ? e.message : String(e));
      }
      if (fault?.kind === 'slow') response = await slowResponse(response, fault.options, request.signal);
    }
    if (request.method === 'HEAD' && response.body) {
      await response.body.cancel().catch(() => {});
      response = new Response(null, { status: response.status, headers: response.headers });
    }
    return response;
  }

  async #route(request: Request, url: URL): Promise<Response> {
    const path = url.pathname;
    if (path === '/token' && this.#auth.servesTokens) return this.#auth.handleToken(request, url);
    if (path.startsWith('/_blobs/')) {
      const m = /^\/_blobs\/(.+)\/([^/]+)$/.exec(path);
      if (!m || !isValidRepositoryName(m[1]!)) return notFoundRoute();
      if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(['GET', 'HEAD']);
      return this.#api.blob(request, m[1]!, decodeURIComponent(m[2]!), false);
    }
    if (path !== '/v2' && !path.startsWith('/v2/')) {
      await discardBody(request);
      return notFoundRoute();
    }
    const response = await this.#v2(request, url);
    response.headers.set('docker-distribution-api-version', 'registry/2.0');
    return response;
  }

  async #v2(request: Request, url: URL): Promise<Response> {
    const route = parseRoute(url.pathname);
    if (!route) {
      await discardBody(request);
      return notFoundRoute();
    }
    if (route.kind !== 'base' && !isValidRepositoryName(route.name)) {
      await discardBody(request);
      return errorResponse(400, 'NAME_INVALID', `invalid repository name ${JSON.stringify(route.name)}`);
    }
    const denied = this.#auth.check(request, url.origin, requiredAccess(route, request.method));
    if (denied) {
      await discardBody(request);
      return denied;
    }
    switch (route.kind) {
      case 'base':
        if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(['GET', 'HEAD']);
        return jsonResponse(200, {});
      case 'manifest':
        return this.#api.manifest(request, route.name, route.reference);
      case 'blob':
        return this.#api.blob(request, route.name, route.digest, true);
      case 'tags':
        return this.#api.tags(request, url, route.name);
      case 'referrers':
        return this.#api.referrers(request, url, route.name, route.digest);
      case 'uploads':
        if (request.method !== 'POST') {
          await discardBody(request);
          return methodNotAllowed(['POST']);
        }
        return this.#uploads.start(this.#uploadHost(request), request, url, route.name);
      case 'upload':
        return this.#uploads.handle(this.#uploadHost(request), request, url, route.name, route.id);
    }
  }

  #uploadHost(request: Request): UploadHost {
    return {
      store: (name) => this.#stores.get(name),
      createStore: (name) => this.#createStore(name),
      mayPull: (name) => this.#auth.allows(request, name, 'pull'),
    };
  }
}

/** The request `fetch` sends after a redirect (RFC 9110 §15.4 and the fetch standard). */
function redirected(request: Request, status: number, next: URL): Request {
  const headers = new Headers(request.headers);
  if (next.origin !== new URL(request.url).origin) {
    for (const h of ['authorization', 'proxy-authorization', 'cookie']) headers.delete(h);
  }
  let method = request.method;
  if (
    (status === 303 && method !== 'GET' && method !== 'HEAD') ||
    ((status === 301 || status === 302) && method === 'POST')
  ) {
    method = 'GET';
    for (const h of [
      'content-type',
      'content-length',
      'content-encoding',
      'content-language',
      'content-location',
    ])
      headers.delete(h);
  } else if (request.body !== null) {
    throw new TypeError('fetch failed', { cause: new Error('cannot replay a streamed body on redirect') });
  }
  return new Request(next, { method, headers, signal: request.signal, redirect: request.redirect });
}

function withUrl(response: Response, url: string, wasRedirected: boolean): Response {
  Object.defineProperty(response, 'url', { value: url });
  if (wasRedirected) Object.defineProperty(response, 'redirected', { value: true });
  return response;
}
