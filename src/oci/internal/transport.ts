/**
 * The narrow transport the repository helpers (tags, referrers, uploads) and the
 * HTTP chart-repository code use. Never exported from an entry point: the public
 * API of `RegistryClient` and `Repository` is the role interfaces of `target.ts`,
 * not raw requests.
 */
import { ChartproofError } from '../../errors.js';
import type { RegistryClient, RegistryRequest } from '../client.js';
import type { DigestOffload } from '../verify.js';
import type { HttpResponse } from '../transport/fetch.js';

/** What a client lends its own package: authenticated requests and per-registry facts. */
export interface ClientTransport {
  /** One request with authentication, retries, redirects and deadlines (`RegistryClient`). */
  send(req: RegistryRequest): Promise<HttpResponse>;
  /** Base URL of a registry's API, e.g. `https://ghcr.io`. */
  baseUrl(registry: string): string;
  /** Whether a registry is known to serve the referrers API (learned by its repositories). */
  referrersApiOf(registry: string): boolean | undefined;
  /** Records a registry's referrers capability. */
  noteReferrersApi(registry: string, supported: boolean): void;
  /** Threads that hash large blobs beside their download (stopped by the client's `close()`). */
  digests?: DigestOffload;
}

/** What the helpers of one repository need from it. */
export interface RepositoryTransport {
  /** `registry/name`, for messages. */
  readonly name: string;
  /** Most pages followed when listing tags or referrers. */
  readonly maxPages: number;
  /** Total deadline of one listing, all its pages (ms; 0: none). */
  readonly listingMs: number;
  /** Tag list page size requested with `n`, if any. */
  readonly tagPageSize: number | undefined;
  /** Learned referrers capability of the repository (shared with its client). */
  referrersApi: boolean | undefined;
  /** URL of `/v2/<name>/<path>`. */
  url(path: string): string;
  /** Scopes for reading (`pull`) or writing (`pull,push`). */
  scopes(...actions: string[]): string[];
  /** Sends a request with the repository's default (pull) scopes. */
  send(req: Omit<RegistryRequest, 'scopes'> & { scopes?: string[] }): Promise<HttpResponse>;
}

// Per-client transports, keyed by the client object: the client registers its own at
// construction (closures over its private methods); nothing else can add or replace one.
const clients = new WeakMap<RegistryClient, ClientTransport>();

/** Called once by the `RegistryClient` constructor. */
export function registerClientTransport(client: RegistryClient, transport: ClientTransport): void {
  if (!clients.has(client)) clients.set(client, transport);
}

/** The transport of `client` (requests, base URLs) for code inside chartproof. */
export function clientTransport(client: RegistryClient): ClientTransport {
  const t = clients.get(client);
  if (!t) throw new ChartproofError('INVALID_ARGUMENT', 'not a chartproof RegistryClient');
  return t;
}

/**
 * Runs a paginated listing of `repo` under its total deadline (`timeouts.listing`):
 * `run` gets a signal that aborts with a `TIMEOUT` error once the deadline passes
 * (or with the caller's reason when `signal` aborts first).
 */
export async function withinListingDeadline<T>(
  repo: Pick<RepositoryTransport, 'name' | 'listingMs'>,
  what: string,
  signal: AbortSignal | undefined,
  run: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const ms = repo.listingMs;
  if (!(ms > 0)) return run(signal);
  const deadline = new AbortController();
  const timer = setTimeout(
    () =>
      deadline.abort(
        new ChartproofError(
          'TIMEOUT',
          `${repo.name}: listing its ${what} took longer than ${ms} ms (timeouts.listing)`,
        ),
      ),
    ms,
  );
  timer.unref?.();
  try {
    return await run(signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal);
  } catch (e) {
    // A request aborted by the deadline may surface as its own error: report the deadline.
    if (deadline.signal.aborted && !signal?.aborted) throw deadline.signal.reason;
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
