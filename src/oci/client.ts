import type { RequestBody } from './transport/fetch.js';
import { ChartproofError, redact, redactUrl } from '../errors.js';
import { type AuthChallenge, mergeScopes, parseWwwAuthenticate } from './auth/challenge.js';
import type { Credential, CredentialProvider } from './auth/credentials.js';
import { type CachedToken, fetchToken } from './auth/token.js';
import { type Reference, apiHost, parseReference } from './reference.js';
import { Repository, type RepositoryOptions } from './repository.js';
import { registerClientTransport } from './internal/transport.js';
import { Deadline, guardBody } from './transport/deadline.js';
import { discard, toNetworkError, toRegistryError } from './transport/errors.js';
import type { RegistryEvent } from './transport/events.js';
import {
  type CreateFetchOptions,
  createClientTransport,
  DEFAULT_MIN_THROUGHPUT,
  DEFAULT_REQUEST_TIMEOUT,
  type FetchLike,
  type HttpFetch,
  type HttpResponse,
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
import { DigestOffload } from './verify.js';

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
  /**
   * Timeouts. `request` (total deadline of document requests, default 30 s) and
   * `minThroughput` (blob bodies, default 1 KiB/s over 30 s) apply to every
   * transport; `connect`, `headers` and `idle` only to the built-in one.
   */
  timeouts?: Timeouts;
  /** Use the proxy variables of the environment. Default true. */
  proxyFromEnv?: boolean;
  /** OAuth2 client id sent to token servers. Default `chartproof`. */
  clientId?: string;
  /** Use the OAuth2 password grant (POST) instead of the GET token flow. Default false. */
  forceOAuth2?: boolean;
  /**
   * Allow sending credentials to a plain-HTTP token realm on a different host than
   * the registry, or named by an HTTPS registry. Default false: such a challenge is
   * refused with `INSECURE_REQUEST`.
   */
  allowInsecureTokenRealm?: boolean;
  /** Forward `Authorization` on redirects to another host. Default false. */
  forwardAuthOnRedirect?: boolean;
  /** Most redirects followed per request. Default 10. */
  maxRedirects?: number;
  /** Receives registry `Warning` header texts (deduplicated). Default: ignored. */
  onWarning?: (warning: string) => void;
  /**
   * Receives what the client does (requests, responses, redirects, retries,
   * authentication, failures), redacted: no header values, tokens, passwords or
   * userinfo. Exceptions thrown by the callback are ignored. Default: none.
   */
  onEvent?: (event: RegistryEvent) => void;
  /** Clock, for tests. */
  now?: () => number;
  /** Randomness for retry jitter, for tests. */
  random?: () => number;
}

/** One request through the client's transport (internal to chartproof). */
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
  /**
   * `document` (default): the whole exchange, body included, must finish within
   * `timeouts.request`. `blob`: the deadline covers only the time to the response
   * headers (nothing for a request with a body, i.e. an upload) and the response
   * body must keep `timeouts.minThroughput`.
   */
  transfer?: 'document' | 'blob';
}

/** Per-call state shared by retries, redirects and token requests. */
interface Call {
  id: number;
  req: RegistryRequest;
  /** The caller's signal combined with the deadline. */
  signal: AbortSignal;
  deadline: Deadline;
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
  readonly #fetchers = new Map<string, HttpFetch & { close?(): Promise<void> }>();
  readonly #hostAuth = new Map<string, HostAuth>();
  readonly #tokens = new Map<string, CachedToken>();
  readonly #warnings = new Set<string>();
  #requestIds = 0;

  // Whether each registry serves the referrers API, as learned by its repositories.
  readonly #referrersApi = new Map<string, boolean>();
  // Hashes large blobs on a helper thread while they download (docs/oci.md, "Verified pulls").
  readonly #digests = new DigestOffload();

  constructor(options: RegistryClientOptions = {}) {
    this.options = { ...options };
    // Raw requests are for chartproof's own repository helpers, not part of the API.
    registerClientTransport(this, {
      send: (req) => this.#request(req),
      baseUrl: (registry) => this.#baseUrl(registry),
      referrersApiOf: (registry) => this.#referrersApi.get(registry),
      noteReferrersApi: (registry, supported) => {
        this.#referrersApi.set(registry, supported);
      },
      digests: this.#digests,
    });
  }

  /** A repository handle for `registry/name` (tag and digest in the string are ignored). */
  repository(reference: string | Reference, options: RepositoryOptions = {}): Repository {
    const ref = typeof reference === 'string' ? parseReference(reference) : reference;
    return new Repository(this, ref, options);
  }

  /** Base URL of a registry's API, e.g. `https://ghcr.io`. */
  #baseUrl(registry: string): string {
    if (/[@/\\\s]/.test(registry)) {
      throw new ChartproofError(
        'INVALID_REFERENCE',
        'registry names must not contain credentials (user:password@) or paths; use chartproof login or --registry-config',
      );
    }
    return `${this.#settings(registry).plainHttp ? 'http' : 'https'}://${apiHost(registry)}`;
  }

  /**
   * Checks that the registry answers `/v2/` with the configured credentials.
   * @throws RegistryError `UNAUTHORIZED` for bad credentials
   */
  async ping(registry: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const url = `${this.#baseUrl(registry)}/v2/`;
    const res = await this.#request({ method: 'GET', url, scopes: [], signal: options.signal });
    if (res.status !== 200) {
      throw await toRegistryError(res, 'GET', url);
    }
    await discard(res);
  }

  /** Releases connection pools. */
  async close(): Promise<void> {
    const all = [...this.#fetchers.values()];
    this.#fetchers.clear();
    await Promise.all([...all.map((f) => f.close?.()), this.#digests.close()]);
  }

  /**
   * Sends one request with authentication, retries and redirects, within the
   * deadline of its `transfer` kind. Returns the final response whatever its status
   * (callers turn unexpected statuses into errors); its body is guarded by the
   * deadline (documents) or the minimum throughput (blobs).
   *
   * Credentials of the request's host go only to that host and to the token realm
   * named by that host's own challenge: a redirect to another host carries none
   * (unless `forwardAuthOnRedirect`), and a 401 challenge from another host (reached
   * by a redirect) is not answered.
   */
  async #request(req: RegistryRequest): Promise<HttpResponse> {
    const target = new URL(req.url);
    if (target.username !== '' || target.password !== '') {
      throw new ChartproofError(
        'INVALID_ARGUMENT',
        `${req.method} ${redactUrl(req.url)}: request URLs must not contain credentials (user:password@)`,
      );
    }
    const id = ++this.#requestIds;
    const transfer = req.transfer ?? 'document';
    const timeouts = this.options.timeouts ?? {};
    const requestMs = timeouts.request ?? DEFAULT_REQUEST_TIMEOUT;
    // An upload's headers come after its (possibly large) body: no total deadline there.
    const deadlineMs = transfer === 'blob' && req.body !== undefined ? 0 : requestMs;
    const what = transfer === 'blob' ? 'no response headers' : 'no complete response';
    // The error is built only if the deadline passes.
    const deadline = new Deadline(
      deadlineMs,
      () =>
        new ChartproofError(
          'TIMEOUT',
          `${req.method} ${redactUrl(req.url)}: ${what} within ${formatMs(deadlineMs)} (timeouts.request, CLI --timeout)`,
        ),
    );
    const signal = req.signal ? AbortSignal.any([req.signal, deadline.signal]) : deadline.signal;
    const call: Call = { id, req, signal, deadline };
    let res: HttpResponse;
    try {
      res = await this.#send(call);
    } catch (e) {
      deadline.clear();
      const err = deadline.expired && !req.signal?.aborted ? deadline.error : e;
      this.#emitError(call, err);
      throw err;
    }
    this.#collectWarnings(res);
    const mapError = (e: unknown) => toNetworkError(e, req.method, req.url);
    const onSettled = (error?: unknown) => {
      deadline.clear();
      if (error !== undefined) this.#emitError(call, error);
    };
    if (transfer === 'blob') {
      deadline.clear();
      const mt = timeouts.minThroughput ?? DEFAULT_MIN_THROUGHPUT;
      return guardBody(res, {
        minThroughput: mt,
        slowError: () =>
          new ChartproofError(
            'TIMEOUT',
            `${req.method} ${redactUrl(req.url)}: fewer than ${mt.bytes} bytes arrived in ${mt.seconds} s (timeouts.minThroughput, CLI --min-speed)`,
          ),
        signal: req.signal,
        mapError,
        onSettled,
      });
    }
    return guardBody(res, { deadline, signal: req.signal, mapError, onSettled });
  }

  async #send(call: Call): Promise<HttpResponse> {
    const { req, signal } = call;
    const url = new URL(req.url);
    const host = url.host;
    const scopes = mergeScopes(req.scopes);
    // Credentials travel in clear only to a host configured for plain HTTP: a URL typed
    // as http:// (a classic chart repository) on a host with stored credentials, or a
    // 401 answered by whoever sits on that plain connection, gets none.
    if (url.protocol === 'http:' && this.#settings(host).plainHttp !== true) {
      const res = await this.#withRetries(call, undefined);
      if (res.res.status === 401)
        this.#emit({
          type: 'auth-refused',
          id: call.id,
          method: req.method,
          url: redactUrl(req.url),
          host,
          challenger: host,
        });
      signal.throwIfAborted();
      return res.res;
    }
    let authorization = await this.#authorization(call, host, scopes);
    let answer = await this.#withRetries(call, authorization);
    if (
      answer.res.status === 401 &&
      req.replayable !== false &&
      !this.#foreignChallenge(call, host, answer)
    ) {
      const challenges = parseWwwAuthenticate(answer.res.headers.get('www-authenticate'));
      if (challenges.length > 0) {
        // A cached token that no longer works is dropped before asking for a new one.
        if (authorization?.startsWith('Bearer ')) this.#tokens.delete(tokenKey(host, scopes));
        const next = await this.#authenticate(call, host, challenges, scopes);
        if (next !== undefined && next !== authorization) {
          await discard(answer.res);
          authorization = next;
          answer = await this.#withRetries(call, authorization);
          if (answer.res.status === 401) this.#foreignChallenge(call, host, answer);
        }
      }
    }
    signal.throwIfAborted();
    return answer.res;
  }

  /**
   * True (and reported) when a 401 came from a host other than the registry, i.e. one
   * reached by a redirect: the registry's credentials are not its to have, nor its
   * token realm's, so the challenge is not answered and the 401 goes to the caller.
   */
  #foreignChallenge(call: Call, host: string, answer: Answer): boolean {
    const challenger = new URL(answer.url).host;
    if (challenger === host) return false;
    this.#emit({
      type: 'auth-refused',
      id: call.id,
      method: call.req.method,
      url: redactUrl(answer.url),
      host,
      challenger,
    });
    return true;
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

  #fetchFor(host: string): HttpFetch {
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
      f = createClientTransport(opts);
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

  async #authorization(call: Call, host: string, scopes: string[]): Promise<string | undefined> {
    const auth = this.#hostAuth.get(host);
    if (!auth) return undefined;
    if (auth.scheme === 'basic') return basicHeader(await this.#credential(host, call.signal));
    const cached = this.#tokens.get(tokenKey(host, scopes));
    const now = (this.options.now ?? Date.now)();
    if (cached && cached.expiresAt > now) return `Bearer ${cached.token}`;
    return this.#bearer(call, host, auth.realm, auth.service, scopes);
  }

  async #authenticate(
    call: Call,
    host: string,
    challenges: AuthChallenge[],
    scopes: string[],
  ): Promise<string | undefined> {
    const signal = call.signal;
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
      const header = await this.#bearer(call, host, realm, service, all);
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
      this.#emit({
        type: 'auth',
        id: call.id,
        method: call.req.method,
        url: redactUrl(call.req.url),
        scheme: 'basic',
        host,
        scopes,
      });
      return basicHeader(cred);
    }
    return undefined;
  }

  async #bearer(
    call: Call,
    host: string,
    realm: string,
    service: string | undefined,
    scopes: string[],
  ): Promise<string> {
    const signal = call.signal;
    const credential = await this.#credential(host, signal);
    const realmUrl = new URL(realm);
    const hasSecret = !!(
      credential &&
      (credential.password || credential.identityToken || credential.accessToken)
    );
    // Plain HTTP to the host name of a registry reached over plain HTTP was opted into;
    // anywhere else (another host, or the host of an HTTPS registry) it was not.
    const registryHostname = new URL(`http://${host}`).hostname;
    const registryPlain = new URL(call.req.url).protocol === 'http:';
    if (
      hasSecret &&
      realmUrl.protocol === 'http:' &&
      !(registryPlain && realmUrl.hostname === registryHostname) &&
      !this.options.allowInsecureTokenRealm
    ) {
      throw new ChartproofError(
        'INSECURE_REQUEST',
        `refusing to send credentials for ${host} to plain-HTTP token realm ${redactUrl(realm)} (${registryPlain ? 'on another host' : 'from an HTTPS registry'}; set allowInsecureTokenRealm to permit)`,
      );
    }
    this.#emit({
      type: 'auth',
      id: call.id,
      method: call.req.method,
      url: redactUrl(call.req.url),
      scheme: 'bearer',
      host,
      realm: redactUrl(realm),
      scopes,
    });
    const base = this.#fetchFor(realmUrl.host);
    // The token exchange runs within the deadline of the request that needs it; an
    // upload has none, and its token exchange, a document, gets one of its own.
    let deadline = call.deadline;
    let tokenSignal = signal;
    if (!Number.isFinite(deadline.remaining())) {
      const ms = this.options.timeouts?.request ?? DEFAULT_REQUEST_TIMEOUT;
      deadline = new Deadline(
        ms,
        () =>
          new ChartproofError(
            'TIMEOUT',
            `token server ${redactUrl(realm)}: no complete response within ${formatMs(ms)} (timeouts.request, CLI --timeout)`,
          ),
      );
      tokenSignal = AbortSignal.any([signal, deadline.signal]);
    }
    const guarded: HttpFetch = async (input, init) =>
      guardBody(await base(input, init), {
        deadline,
        signal: call.req.signal,
        mapError: (e) => toNetworkError(e, 'GET', realm),
        onSettled: () => {},
      });
    let token: CachedToken;
    try {
      token = await fetchToken({
        realm,
        service,
        scopes,
        credential,
        clientId: this.options.clientId ?? 'chartproof',
        forceOAuth2: this.options.forceOAuth2 ?? false,
        fetch: guarded,
        userAgent: this.#userAgent,
        signal: tokenSignal,
        ...(this.options.now ? { now: this.options.now } : {}),
      });
    } finally {
      if (deadline !== call.deadline) deadline.clear();
    }
    this.#tokens.set(tokenKey(host, scopes), token);
    return `Bearer ${token.token}`;
  }

  async #withRetries(call: Call, authorization: string | undefined): Promise<Answer> {
    const { req, signal } = call;
    const policy = this.options.retry ?? {};
    const maxRetries = req.replayable === false ? 0 : (policy.maxRetries ?? 4);
    const maxDelay = policy.maxDelayMs ?? 30_000;
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      let answer: Answer;
      try {
        answer = await this.#followRedirects(call, authorization, attempt);
      } catch (e) {
        const err = toNetworkError(e, req.method, req.url, signal);
        const transient =
          err instanceof ChartproofError && (err.code === 'NETWORK' || err.code === 'TIMEOUT');
        if (!transient || attempt > maxRetries) throw err;
        const delay = backoffDelay(attempt, policy, this.options.random);
        // No point sleeping past the deadline: report what went wrong instead.
        if (delay >= call.deadline.remaining()) throw err;
        this.#emitRetry(call, attempt, delay, `${err.code}: ${err.message}`);
        await sleep(delay, signal);
        continue;
      }
      const res = answer.res;
      if (!isRetryableStatus(res.status) || attempt > maxRetries) return answer;
      const now = (this.options.now ?? Date.now)();
      const retryAfter = parseRetryAfter(res.headers.get('retry-after'), now);
      // A server asking for a longer pause than we are willing to wait: give up now.
      if (retryAfter !== undefined && retryAfter > maxDelay) return answer;
      const delay = retryAfter ?? backoffDelay(attempt, policy, this.options.random);
      if (delay >= call.deadline.remaining()) return answer;
      await discard(res);
      this.#emitRetry(call, attempt, delay, `status ${res.status}`);
      await sleep(delay, signal);
    }
  }

  async #followRedirects(call: Call, authorization: string | undefined, attempt: number): Promise<Answer> {
    const { req, signal } = call;
    const origin = new URL(req.url);
    let url = req.url;
    let method = req.method;
    let withBody = true;
    const maxRedirects = this.options.maxRedirects ?? 10;
    for (let hop = 0; ; hop++) {
      const here = new URL(url);
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...req.headers };
      const sameHost = here.host === origin.host;
      const withAuth = !!authorization && (sameHost || this.options.forwardAuthOnRedirect === true);
      if (withAuth) headers.authorization = authorization!;
      const body = withBody ? req.body?.() : undefined;
      const init: RequestInit & { duplex?: 'half' } = { method, headers, redirect: 'manual', signal };
      if (body !== undefined) {
        init.body = body;
        if (body instanceof ReadableStream) init.duplex = 'half';
      }
      const shown = redactUrl(url);
      this.#emit({
        type: 'request',
        id: call.id,
        method,
        url: shown,
        attempt,
        auth: withAuth ? (authorization!.startsWith('Bearer ') ? 'bearer' : 'basic') : 'none',
      });
      const started = Date.now();
      const res = await this.#fetchFor(here.host)(url, init);
      this.#emit({
        type: 'response',
        id: call.id,
        method,
        url: shown,
        attempt,
        status: res.status,
        durationMs: Date.now() - started,
      });
      if (!REDIRECT_STATUSES.has(res.status)) return { res, url };
      const location = res.headers.get('location');
      if (!location) return { res, url };
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
      this.#emit({
        type: 'redirect',
        id: call.id,
        method,
        url: shown,
        status: res.status,
        location: redactUrl(url),
        authForwarded:
          !!authorization && (next.host === origin.host || this.options.forwardAuthOnRedirect === true),
      });
    }
  }

  #emit(event: RegistryEvent): void {
    if (!this.options.onEvent) return;
    try {
      this.options.onEvent(event);
    } catch {
      // a logging hook must not break a transfer
    }
  }

  #emitRetry(call: Call, attempt: number, delayMs: number, reason: string): void {
    this.#emit({
      type: 'retry',
      id: call.id,
      method: call.req.method,
      url: redactUrl(call.req.url),
      attempt,
      delayMs,
      reason: redact(reason),
    });
  }

  #emitError(call: Call, error: unknown): void {
    if (!this.options.onEvent) return;
    const code =
      error instanceof ChartproofError ? error.code : error instanceof Error ? error.name : 'ERROR';
    const message = error instanceof Error ? error.message : String(error);
    this.#emit({
      type: 'error',
      id: call.id,
      method: call.req.method,
      url: redactUrl(call.req.url),
      code,
      message: redact(message),
    });
  }

  #collectWarnings(res: HttpResponse): void {
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

/** A response and the URL that answered it (after redirects). */
interface Answer {
  res: HttpResponse;
  url: string;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function tokenKey(host: string, scopes: string[]): string {
  return `${host} ${scopes.join(' ')}`;
}

function basicHeader(cred: Credential | undefined): string | undefined {
  if (!cred || (cred.username === undefined && cred.password === undefined)) return undefined;
  return `Basic ${Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`).toString('base64')}`;
}
