import type { RequestBody } from './transport/fetch.js';
import { ChartproofError, redactUrl } from '../errors.js';
import { type AuthChallenge, mergeScopes, parseWwwAuthenticate } from './auth/challenge.js';
import type { Credential, CredentialProvider } from './auth/credentials.js';
import { type CachedToken, fetchToken } from './auth/token.js';
import { type Reference, apiHost, parseReference } from './reference.js';
import { Repository, type RepositoryOptions } from './repository.js';
import { discard, toNetworkError, toRegistryError } from './transport/errors.js';
import {
  type CreateFetchOptions,
  createFetch,
  type FetchLike,
  type HostSettings,
  type Timeouts,
} from './transport/fetch.js';
import {
  backoffDelay,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  sleep,
} from './transport/retry.js';
import { VERSION } from '../version.js';

/** Options of {@link RegistryClient}. @public */
export interface RegistryClientOptions extends HostSettings {
  /**
   * The HTTP transport. Default: an undici keep-alive pool per TLS setting, built
   * from `ca`, `insecureSkipTlsVerify`, `timeouts` and proxy variables. When given,
   * TLS options are the transport's business.
   */
  fetch?: FetchLike;
  /** Per-host settings (key `host[:port]`), overriding the top-level ones. */
  hosts?: Record<string, HostSettings>;
  /** Where credentials come from. Default: none (anonymous). */
  credentials?: CredentialProvider;
  /** `User-Agent` header. Default `chartproof/<version>`. */
  userAgent?: string;
  /** Retries for network resets, 408, 429 and 5xx. */
  retry?: RetryPolicy;
  /** Transport timeouts (ignored when `fetch` is given). */
  timeouts?: Timeouts;
  /** Use the proxy variables of the environment. Default true. */
  proxyFromEnv?: boolean;
  /** OAuth2 client id sent to token servers. Default `chartproof`. */
  clientId?: string;
  /** Use the OAuth2 password grant (POST) instead of the GET token flow. Default false. */
  forceOAuth2?: boolean;
  /**
   * Allow sending credentials to a plain-HTTP token realm on a different host than
   * the registry. Default false: such a challenge is refused with `INSECURE_REQUEST`.
   */
  allowInsecureTokenRealm?: boolean;
  /** Forward `Authorization` on redirects to another host. Default false. */
  forwardAuthOnRedirect?: boolean;
  /** Most redirects followed per request. Default 10. */
  maxRedirects?: number;
  /** Receives registry `Warning` header texts (deduplicated). Default: ignored. */
  onWarning?: (warning: string) => void;
  /** Clock, for tests. */
  now?: () => number;
  /** Randomness for retry jitter, for tests. */
  random?: () => number;
}

/** One request through {@link RegistryClient.send}. @public */
export interface RegistryRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** Makes the body; called once per attempt. */
  body?: () => RequestBody | undefined;
  /** False when the body is a one-shot stream: no retries, no re-send after a 401. Default true. */
  replayable?: boolean;
  /** Token scopes the request needs, e.g. `repository:charts/app:pull`. */
  scopes: string[];
  signal?: AbortSignal | undefined;
}

type HostAuth = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service: string | undefined };

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * An OCI distribution client: transport, retries, authentication and redirects for
 * every registry it talks to. Holds its own connection pools and token cache; create
 * one per application and get {@link Repository} objects from it.
 * @public
 */
export class RegistryClient {
  readonly options: Readonly<RegistryClientOptions>;
  readonly #fetchers = new Map<string, FetchLike & { close?(): Promise<void> }>();
  readonly #hostAuth = new Map<string, HostAuth>();
  readonly #tokens = new Map<string, CachedToken>();
  readonly #warnings = new Set<string>();

  constructor(options: RegistryClientOptions = {}) {
    this.options = { ...options };
  }

  readonly #referrersApi = new Map<string, boolean>();

  /** Whether a registry is known to serve the referrers API (learned by its repositories). @internal */
  referrersApiOf(registry: string): boolean | undefined {
    return this.#referrersApi.get(registry);
  }

  /** Records a registry's referrers capability. @internal */
  noteReferrersApi(registry: string, supported: boolean): void {
    this.#referrersApi.set(registry, supported);
  }

  /** A repository handle for `registry/name` (tag and digest in the string are ignored). */
  repository(reference: string | Reference, options: RepositoryOptions = {}): Repository {
    const ref = typeof reference === 'string' ? parseReference(reference) : reference;
    return new Repository(this, ref, options);
  }

  /** Base URL of a registry's API, e.g. `https://ghcr.io`. */
  baseUrl(registry: string): string {
    return `${this.#settings(registry).plainHttp ? 'http' : 'https'}://${apiHost(registry)}`;
  }

  /**
   * Checks that the registry answers `/v2/` with the configured credentials.
   * @throws RegistryError `UNAUTHORIZED` for bad credentials
   */
  async ping(registry: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const url = `${this.baseUrl(registry)}/v2/`;
    const res = await this.send({ method: 'GET', url, scopes: [], signal: options.signal });
    if (res.status !== 200) {
      throw await toRegistryError(res, 'GET', url);
    }
    await discard(res);
  }

  /** Releases connection pools. */
  async close(): Promise<void> {
    const all = [...this.#fetchers.values()];
    this.#fetchers.clear();
    await Promise.all(all.map((f) => f.close?.()));
  }

  /**
   * Sends one request with authentication, retries and redirects. Returns the final
   * response whatever its status; callers turn unexpected statuses into errors.
   */
  async send(req: RegistryRequest): Promise<Response> {
    const host = new URL(req.url).host;
    const scopes = mergeScopes(req.scopes);
    let authorization = await this.#authorization(host, scopes, req.signal);
    let res = await this.#withRetries(req, authorization);
    if (res.status === 401 && req.replayable !== false) {
      const challenges = parseWwwAuthenticate(res.headers.get('www-authenticate'));
      if (challenges.length > 0) {
        // A cached token that no longer works is dropped before asking for a new one.
        if (authorization?.startsWith('Bearer ')) this.#tokens.delete(tokenKey(host, scopes));
        const next = await this.#authenticate(host, challenges, scopes, req.signal);
        if (next !== undefined && next !== authorization) {
          await discard(res);
          authorization = next;
          res = await this.#withRetries(req, authorization);
        }
      }
    }
    this.#collectWarnings(res);
    return res;
  }

  #settings(host: string): HostSettings {
    const o = this.options;
    const specific = o.hosts?.[host] ?? o.hosts?.[apiHost(host)] ?? {};
    const out: HostSettings = {};
    const plainHttp = specific.plainHttp ?? o.plainHttp;
    const insecure = specific.insecureSkipTlsVerify ?? o.insecureSkipTlsVerify;
    const ca = specific.ca ?? o.ca;
    if (plainHttp !== undefined) out.plainHttp = plainHttp;
    if (insecure !== undefined) out.insecureSkipTlsVerify = insecure;
    if (ca !== undefined) out.ca = ca;
    return out;
  }

  #fetchFor(host: string): FetchLike {
    if (this.options.fetch) return this.options.fetch;
    const s = this.#settings(host);
    const key = JSON.stringify([s.insecureSkipTlsVerify ?? false, s.ca ?? null]);
    let f = this.#fetchers.get(key);
    if (!f) {
      const opts: CreateFetchOptions = {};
      if (s.insecureSkipTlsVerify) opts.insecureSkipTlsVerify = true;
      if (s.ca !== undefined) opts.ca = s.ca;
      if (this.options.timeouts) opts.timeouts = this.options.timeouts;
      if (this.options.proxyFromEnv !== undefined) opts.proxyFromEnv = this.options.proxyFromEnv;
      f = createFetch(opts);
      this.#fetchers.set(key, f);
    }
    return f;
  }

  get #userAgent(): string {
    return this.options.userAgent ?? `chartproof/${VERSION}`;
  }

  async #credential(host: string, signal?: AbortSignal): Promise<Credential | undefined> {
    if (!this.options.credentials) return undefined;
    return this.options.credentials(host, signal ? { signal } : {});
  }

  async #authorization(host: string, scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    const auth = this.#hostAuth.get(host);
    if (!auth) return undefined;
    if (auth.scheme === 'basic') return basicHeader(await this.#credential(host, signal));
    const cached = this.#tokens.get(tokenKey(host, scopes));
    const now = (this.options.now ?? Date.now)();
    if (cached && cached.expiresAt > now) return `Bearer ${cached.token}`;
    return this.#bearer(host, auth.realm, auth.service, scopes, signal);
  }

  async #authenticate(
    host: string,
    challenges: AuthChallenge[],
    scopes: string[],
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      const realm = bearer.params.realm!;
      let realmUrl: URL;
      try {
        realmUrl = new URL(realm);
        if (realmUrl.protocol !== 'https:' && realmUrl.protocol !== 'http:') throw new Error('scheme');
      } catch (e) {
        throw new ChartproofError(
          'AUTH_CHALLENGE_INVALID',
          `registry ${host} sent an invalid token realm ${JSON.stringify(realm.slice(0, 200))}`,
          { cause: e },
        );
      }
      const service = bearer.params.service;
      this.#hostAuth.set(host, { scheme: 'bearer', realm, service });
      const all = mergeScopes([...scopes, ...(bearer.params.scope ? [bearer.params.scope] : [])]);
      const header = await this.#bearer(host, realm, service, all, signal);
      if (all.join(' ') !== scopes.join(' ')) {
        const t = this.#tokens.get(tokenKey(host, all));
        if (t) this.#tokens.set(tokenKey(host, scopes), t);
      }
      return header;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      const cred = await this.#credential(host, signal);
      if (!cred || (cred.username === undefined && cred.password === undefined)) return undefined;
      this.#hostAuth.set(host, { scheme: 'basic' });
      return basicHeader(cred);
    }
    return undefined;
  }

  async #bearer(
    host: string,
    realm: string,
    service: string | undefined,
    scopes: string[],
    signal?: AbortSignal,
  ): Promise<string> {
    const credential = await this.#credential(host, signal);
    const realmUrl = new URL(realm);
    const hasSecret = !!(
      credential &&
      (credential.password || credential.identityToken || credential.accessToken)
    );
    // Plain HTTP to the registry's own host name was opted into; anywhere else it was not.
    const registryHostname = new URL(`http://${host}`).hostname;
    if (
      hasSecret &&
      realmUrl.protocol === 'http:' &&
      realmUrl.hostname !== registryHostname &&
      !this.options.allowInsecureTokenRealm
    ) {
      throw new ChartproofError(
        'INSECURE_REQUEST',
        `refusing to send credentials for ${host} to plain-HTTP token realm ${redactUrl(realm)} on another host (set allowInsecureTokenRealm to permit)`,
      );
    }
    const token = await fetchToken({
      realm,
      service,
      scopes,
      credential,
      clientId: this.options.clientId ?? 'chartproof',
      forceOAuth2: this.options.forceOAuth2 ?? false,
      fetch: this.#fetchFor(realmUrl.host),
      userAgent: this.#userAgent,
      signal,
      ...(this.options.now ? { now: this.options.now } : {}),
    });
    this.#tokens.set(tokenKey(host, scopes), token);
    return `Bearer ${token.token}`;
  }

  async #withRetries(req: RegistryRequest, authorization: string | undefined): Promise<Response> {
    const policy = this.options.retry ?? {};
    const maxRetries = req.replayable === false ? 0 : (policy.maxRetries ?? 4);
    const maxDelay = policy.maxDelayMs ?? 30_000;
    for (let attempt = 0; ; attempt++) {
      req.signal?.throwIfAborted();
      let res: Response;
      try {
        res = await this.#followRedirects(req, authorization);
      } catch (e) {
        const err = toNetworkError(e, req.method, req.url, req.signal);
        const transient =
          err instanceof ChartproofError && (err.code === 'NETWORK' || err.code === 'TIMEOUT');
        if (!transient || attempt >= maxRetries) throw err;
        await sleep(backoffDelay(attempt + 1, policy, this.options.random), req.signal);
        continue;
      }
      if (!isRetryableStatus(res.status) || attempt >= maxRetries) return res;
      const now = (this.options.now ?? Date.now)();
      const retryAfter = parseRetryAfter(res.headers.get('retry-after'), now);
      // A server asking for a longer pause than we are willing to wait: give up now.
      if (retryAfter !== undefined && retryAfter > maxDelay) return res;
      await discard(res);
      await sleep(retryAfter ?? backoffDelay(attempt + 1, policy, this.options.random), req.signal);
    }
  }

  async #followRedirects(req: RegistryRequest, authorization: string | undefined): Promise<Response> {
    const origin = new URL(req.url);
    let url = req.url;
    let method = req.method;
    let withBody = true;
    const maxRedirects = this.options.maxRedirects ?? 10;
    for (let hop = 0; ; hop++) {
      const here = new URL(url);
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...req.headers };
      const sameHost = here.host === origin.host;
      if (authorization && (sameHost || this.options.forwardAuthOnRedirect))
        headers.authorization = authorization;
      const body = withBody ? req.body?.() : undefined;
      const init: RequestInit & { duplex?: 'half' } = { method, headers, redirect: 'manual' };
      if (body !== undefined) {
        init.body = body;
        if (body instanceof ReadableStream) init.duplex = 'half';
      }
      if (req.signal) init.signal = req.signal;
      const res = await this.#fetchFor(here.host)(url, init);
      if (!REDIRECT_STATUSES.has(res.status)) return res;
      const location = res.headers.get('location');
      if (!location) return res;
      await discard(res);
      if (hop >= maxRedirects) {
        throw new ChartproofError(
          'TOO_MANY_REDIRECTS',
          `${req.method} ${redactUrl(req.url)}: more than ${maxRedirects} redirects`,
        );
      }
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new ChartproofError('PROTOCOL', `redirect to unsupported URL ${redactUrl(next.toString())}`);
      }
      if (here.protocol === 'https:' && next.protocol === 'http:') {
        throw new ChartproofError(
          'INSECURE_REQUEST',
          `refusing redirect from HTTPS to plain HTTP ${redactUrl(next.toString())}`,
        );
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        withBody = false;
      } else if (body !== undefined && req.replayable === false) {
        throw new ChartproofError(
          'PROTOCOL',
          `${req.method} ${redactUrl(req.url)}: cannot replay a streamed body on redirect`,
        );
      }
      url = next.toString();
    }
  }

  #collectWarnings(res: Response): void {
    const header = res.headers.get('warning');
    if (!header || !this.options.onWarning) return;
    for (const m of header.matchAll(/299\s+-\s+"((?:[^"\\]|\\.)*)"/g)) {
      const text = m[1]!.slice(0, 4096);
      if (this.#warnings.has(text)) continue;
      this.#warnings.add(text);
      this.options.onWarning(text);
    }
  }
}

function tokenKey(host: string, scopes: string[]): string {
  return `${host} ${scopes.join(' ')}`;
}

function basicHeader(cred: Credential | undefined): string | undefined {
  if (!cred || (cred.username === undefined && cred.password === undefined)) return undefined;
  return `Basic ${Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`).toString('base64')}`;
}
