import { rootCertificates } from 'node:tls';
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';
import { ChartproofError } from '../../errors.js';
import { requestFetch } from './request-fetch.js';
import { readFileBoundedSync } from '../../internal/read-file.js';
import { requireDependency } from '../../internal/lazy-require.js';

/**
 * undici, loaded when the first pool is made (~100 ms), not with this module: a
 * program that imports the client but talks to no registry (the CLI rendering a chart,
 * printing its version) does not pay for it. CommonJS: the instance an `import` gives.
 */
function undici(): typeof Undici {
  return requireDependency<typeof Undici>('undici');
}

/** undici's `request` API as a function of its dispatcher (`this`). */
export type UndiciRequest = (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

/** What the client's default transport takes from undici. */
interface UndiciCore {
  Agent: typeof Undici.Agent;
  EnvHttpProxyAgent: typeof Undici.EnvHttpProxyAgent;
  Pool: typeof Undici.Pool;
  Client: typeof Undici.Client;
  request: UndiciRequest;
}

/**
 * The part of undici the default transport uses (its agents and `request`), loaded
 * from the modules that define them: ~50 ms instead of ~110 ms for the package entry,
 * which also loads `fetch`, WebSocket, caches, mocks and every interceptor, each CLI
 * run and each process's first registry request paying for it. undici declares no
 * `exports` map, so these paths are part of what it publishes; should a release move
 * them, the package entry is used instead.
 */
function undiciCore(): UndiciCore {
  try {
    const Agent = requireDependency<typeof Undici.Agent>('undici/lib/dispatcher/agent.js');
    const EnvHttpProxyAgent = requireDependency<typeof Undici.EnvHttpProxyAgent>(
      'undici/lib/dispatcher/env-http-proxy-agent.js',
    );
    const Pool = requireDependency<typeof Undici.Pool>('undici/lib/dispatcher/pool.js');
    const Client = requireDependency<typeof Undici.Client>('undici/lib/dispatcher/client.js');
    const request = requireDependency<UndiciRequest>('undici/lib/api/api-request.js');
    if (
      typeof Agent === 'function' &&
      typeof EnvHttpProxyAgent === 'function' &&
      typeof Pool === 'function' &&
      typeof Client === 'function' &&
      typeof request === 'function'
    )
      return { Agent, EnvHttpProxyAgent, Pool, Client, request };
  } catch {
    // Moved or renamed in this undici release: the package entry below.
  }
  const u = undici();
  return {
    Agent: u.Agent,
    EnvHttpProxyAgent: u.EnvHttpProxyAgent,
    Pool: u.Pool,
    Client: u.Client,
    request: u.Dispatcher.prototype.request as UndiciRequest,
  };
}

/** A WHATWG `fetch`-compatible function. @public */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * What chartproof reads of an HTTP answer: a slice of `Response` (every `fetch`
 * result is one). The built-in transport answers with a plain object of this shape,
 * which spares loading and building WHATWG `Response`/`Headers` objects (Node loads
 * its own copy of undici for those globals). Not exported from an entry point.
 */
export interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null; has(name: string): boolean };
  readonly body: ReadableStream<Uint8Array> | null;
}

/** A transport as the client uses it: any {@link FetchLike} is one. Not exported from an entry point. */
export type HttpFetch = (input: string | URL, init?: RequestInit) => Promise<HttpResponse>;

/** TLS and connection settings for one registry host. @public */
export interface HostSettings {
  /** Talk plain HTTP to this host. Default false: HTTPS only. */
  plainHttp?: boolean;
  /** Accept any TLS certificate from this host. Default false. Dangerous. */
  insecureSkipTlsVerify?: boolean;
  /** Extra trusted CA certificates (PEM), added to Node's bundled roots. */
  ca?: string | string[];
}

/**
 * A minimum transfer rate for blob bodies: a download fails with `TIMEOUT` when fewer
 * than `bytes` arrive within any `seconds`-long window of waiting for data (like
 * curl's `--speed-limit`/`--speed-time`). Time the reader itself spends elsewhere
 * (e.g. writing to a slow destination) does not count. @public
 */
export interface MinThroughput {
  /** Bytes that must arrive per window. 0 disables the check. */
  bytes: number;
  /** Window length in seconds (fractions allowed). */
  seconds: number;
}

/**
 * Timeouts in milliseconds. `connect`, `headers` and `idle` (`body`) bound single
 * waits inside the transport (ignored when a custom `fetch` is given); `request` and
 * `minThroughput` are enforced by {@link RegistryClient} around every request,
 * whatever the transport. @public
 */
export interface Timeouts {
  /** TCP + TLS connect. Default 30 000. */
  connect?: number;
  /** Time from sending the request to the response headers. Default 60 000. */
  headers?: number;
  /** Longest pause between two body chunks. Default 60 000. */
  idle?: number;
  /** @deprecated Alias of `idle`. */
  body?: number;
  /**
   * Total deadline of one request to a small document (manifest, index, tag list,
   * token, referrers, repository index, `.prov`), covering authentication, retries,
   * redirects, headers and the whole body; for blobs, it covers everything up to the
   * response headers (blob uploads: not at all). Default 30 000. 0 disables it.
   */
  request?: number;
  /**
   * Total deadline of one paginated listing (a repository's tags, a subject's
   * referrers): every page with its authentication and retries, which `request`
   * bounds only one by one. Default 300 000. 0 disables it.
   */
  listing?: number;
  /** Minimum rate of blob bodies. Default `{ bytes: 30720, seconds: 30 }` (1 KiB/s over 30 s). */
  minThroughput?: MinThroughput;
}

/** Default total deadline of a document request (ms). @public */
export const DEFAULT_REQUEST_TIMEOUT = 30_000;
/** Default total deadline of a paginated listing (ms). @public */
export const DEFAULT_LISTING_TIMEOUT = 300_000;
/** Default minimum blob throughput. @public */
export const DEFAULT_MIN_THROUGHPUT: Readonly<MinThroughput> = Object.freeze({
  bytes: 30 * 1024,
  seconds: 30,
});

/** Options of {@link createFetch}. @public */
export interface CreateFetchOptions extends HostSettings {
  timeouts?: Timeouts;
  /** Use `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` from the environment. Default true. */
  proxyFromEnv?: boolean;
  /** Environment to read proxies from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Keep-alive connections per origin. Default 16. */
  connections?: number;
  /**
   * Keep the connection open after a `HEAD` request. undici closes it by default (in
   * case a misbehaving server sends a body anyway), which costs a new TCP (and TLS)
   * connection per existence check; registries answer `HEAD` correctly, so chartproof
   * keeps it. Set false for a server that does not. Default true.
   */
  keepAliveAfterHead?: boolean;
}

/**
 * Builds a `fetch` on undici with its own keep-alive pool, custom CA, optional TLS
 * verification skip and proxy support from the environment. Each call creates an
 * independent pool (no global dispatcher is touched); call `close()` to release it.
 * @public
 */
export function createFetch(options: CreateFetchOptions = {}): FetchLike & { close(): Promise<void> } {
  return fetchOn(createDispatcher(options));
}

/** A `fetch` on `dispatcher` (which its `close()` closes). */
function fetchOn(dispatcher: Dispatcher): FetchLike & { close(): Promise<void> } {
  const undiciFetch = undici().fetch;
  const f = ((input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(
      input as never,
      { ...(init as object), dispatcher } as never,
    ) as unknown as Promise<Response>) as FetchLike & {
    close(): Promise<void>;
  };
  f.close = () => dispatcher.close();
  return f;
}

/**
 * The `RegistryClient`'s default transport: {@link createFetch}'s pool and settings,
 * with requests sent through undici's `request` API (see `requestFetch`). Not
 * exported from an entry point.
 */
export function createClientTransport(
  options: CreateFetchOptions = {},
): HttpFetch & { close(): Promise<void> } {
  const core = undiciCore();
  const dispatcher = createDispatcher(options, core);
  const f = requestFetch(dispatcher, core.request) as HttpFetch & { close(): Promise<void> };
  f.close = () => dispatcher.close();
  return f;
}

/** The undici agent of {@link createFetch} and the client transport (exported for tests only). */
export function createDispatcher(
  options: CreateFetchOptions,
  core: Pick<UndiciCore, 'Agent' | 'EnvHttpProxyAgent' | 'Pool' | 'Client'> = undici(),
): Dispatcher {
  const { Agent, EnvHttpProxyAgent } = core;
  const ca = options.ca === undefined ? undefined : [...rootCertificates, ...[options.ca].flat()];
  const connect = {
    timeout: options.timeouts?.connect ?? 30_000,
    ...(ca ? { ca } : {}),
    ...(options.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
  };
  const common = {
    connect,
    headersTimeout: options.timeouts?.headers ?? 60_000,
    bodyTimeout: options.timeouts?.idle ?? options.timeouts?.body ?? 60_000,
    connections: options.connections ?? 16,
    keepAliveTimeout: 10_000,
    factory: heardFactory(core),
  };
  const env = options.env ?? process.env;
  const hasProxy = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'].some((k) => env[k]);
  if ((options.proxyFromEnv ?? true) && hasProxy) {
    const proxyOptions: ConstructorParameters<typeof Undici.EnvHttpProxyAgent>[0] = { ...common };
    const httpProxy = env.http_proxy ?? env.HTTP_PROXY;
    const httpsProxy = env.https_proxy ?? env.HTTPS_PROXY;
    const noProxy = env.no_proxy ?? env.NO_PROXY;
    if (httpProxy) proxyOptions.httpProxy = httpProxy;
    if (httpsProxy) proxyOptions.httpsProxy = httpsProxy;
    if (noProxy) proxyOptions.noProxy = noProxy;
    return withHeadKeepAlive(new EnvHttpProxyAgent(proxyOptions), options);
  }
  return withHeadKeepAlive(new Agent(common), options);
}

/**
 * The agent's factory, as undici's own (a `Pool` of `Client`s, one `Client` for a
 * single connection), with an `'error'` listener on every pool and client. undici
 * reports there a request it could not fail through its handler (seen once in CI: a
 * `ClientDestroyedError` when a pool retired a client, whose connection had failed,
 * and then destroyed it); unheard, that event is an uncaught exception, which in a
 * library ends the embedding process. The request it concerns is still bounded by
 * the client's deadlines, and its caller gets their error.
 */
function heardFactory(core: Pick<UndiciCore, 'Pool' | 'Client'>) {
  const { Pool, Client } = core;
  const heard = <T extends Dispatcher>(d: T): T => {
    d.on('error' as never, ignoreDispatcherError);
    return d;
  };
  const client = (origin: string | URL, opts: object) =>
    heard(new Client(origin, opts as Undici.Client.Options));
  return (origin: string | URL, opts: object): Dispatcher =>
    (opts as { connections?: number | null }).connections === 1
      ? client(origin, opts)
      : heard(new Pool(origin, { ...(opts as Undici.Pool.Options), factory: client }));
}

function ignoreDispatcherError(): void {}

/** Lets `HEAD` requests keep their connection (undici's `reset: false`), unless disabled. */
function withHeadKeepAlive(agent: Dispatcher, options: CreateFetchOptions): Dispatcher {
  if (options.keepAliveAfterHead === false) return agent;
  return agent.compose(
    (dispatch) => (opts, handler) =>
      dispatch(
        opts.method === 'HEAD' && opts.reset === undefined ? { ...opts, reset: false } : opts,
        handler,
      ),
  );
}

/**
 * Reads PEM CA certificates from a file.
 * @throws ChartproofError `IO`; `SIZE_LIMIT_EXCEEDED` over 4 MiB
 * @public
 */
export function readCaFile(path: string): string {
  // A system bundle of every public root is ~220 KiB.
  const pem = readFileBoundedSync(path, { maxBytes: MAX_CA_FILE_BYTES, what: 'CA file' }).toString('utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ChartproofError('INVALID_ARGUMENT', `${path}: no PEM certificate found`);
  }
  return pem;
}

const MAX_CA_FILE_BYTES = 4 * 1024 * 1024;

/** A request body accepted by {@link FetchLike}. @public */
export type RequestBody = NonNullable<RequestInit['body']>;
