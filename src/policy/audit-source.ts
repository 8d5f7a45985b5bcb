/**
 * Where `auditReleases` reads Helm release Secrets from: the output of
 * `kubectl get secrets -A -l owner=helm -o json` (a `List`/`SecretList`, bounded in
 * size, items and nesting before it is parsed), or a live cluster through a
 * kubeconfig.
 *
 * The live path uses `@kubernetes/client-node` for everything a kubeconfig means —
 * contexts, CA and client certificates, bearer tokens, token files, exec and auth
 * provider plugins, proxies, `tls-server-name` — through `KubeConfig.applyToHTTPSOptions`,
 * and makes the requests itself with `node:https`: the generated API client reads whole
 * responses without a size bound or an AbortSignal, and a Secret list can be large. Pages
 * of at most {@link KUBE_PAGE_LIMIT} Secrets (`limit`/`continue`), each response bounded
 * in bytes. The library is imported lazily, so users who never audit a cluster never
 * load it. Credentials never appear in errors.
 */
import type { IncomingMessage } from 'node:http';
import { type Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { dirname } from 'node:path';
import { ChartproofError } from '../errors.js';
import { parseJsonBounded } from '../internal/bounded-parse.js';
import { isRecord as isObj } from '../internal/guards.js';
import { readTextFileBounded } from '../internal/read-file.js';

/** Largest Secret list accepted (file, stdin or one page of the API), in bytes. @public */
export const MAX_AUDIT_INPUT_BYTES = 256 * 1024 * 1024;
/** Most Secrets accepted in one audit. @public */
export const MAX_AUDIT_SECRETS = 10_000;
/** Nesting bound of the Secret list JSON (a Secret nests 4 levels inside a List). @public */
export const MAX_AUDIT_INPUT_DEPTH = 32;
/** Secrets asked for per API request (`limit`). @public */
export const KUBE_PAGE_LIMIT = 50;
/** Largest kubeconfig file read. */
const MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024;
/** Largest error body read from the API server. */
const MAX_ERROR_BODY = 64 * 1024;

/** Where the Secrets come from. @public */
export type AuditSource =
  /** `kubectl get secrets -A -l owner=helm -o json` output (a List, a SecretList or one Secret). */
  | { json: string | Uint8Array; what?: string }
  /** Secret objects already read (e.g. with your own Kubernetes client). */
  | { secrets: readonly unknown[] }
  /** A live cluster: the kubeconfig file, optionally a context and one namespace (default: all). */
  | { kubeconfig: string; context?: string; namespace?: string };

/** What a source produced. @internal */
export interface ListedSecrets {
  secrets: unknown[];
  /** `gitVersion` of the cluster (live clusters only, when `/version` answered). */
  kubeVersion?: string;
  warnings: string[];
}

function tooLarge(what: string, limit: number, unit: string, source: 'local' | 'remote'): ChartproofError {
  return new ChartproofError('SIZE_LIMIT_EXCEEDED', `${what} has more than ${limit} ${unit}`, { source });
}

/**
 * Parses `kubectl get secrets -o json` output: bounded in size and depth before
 * parsing, items bounded after. Accepts a `List` or `SecretList` (`items`) or one
 * `Secret`.
 * @throws ChartproofError `INVALID_ARGUMENT` (not JSON, not a list of objects), `SIZE_LIMIT_EXCEEDED`, `DEPTH_LIMIT_EXCEEDED`
 * @public
 */
export function parseSecretList(
  json: string | Uint8Array,
  options: { what?: string; source?: 'local' | 'remote'; maxBytes?: number; maxItems?: number } = {},
): unknown[] {
  const what = options.what ?? 'the Secret list';
  const source = options.source ?? 'local';
  const maxBytes = options.maxBytes ?? MAX_AUDIT_INPUT_BYTES;
  const size = typeof json === 'string' ? Buffer.byteLength(json) : json.byteLength;
  if (size > maxBytes) throw tooLarge(what, maxBytes, 'bytes', source);
  const text = typeof json === 'string' ? json : new TextDecoder().decode(json);
  let value: unknown;
  try {
    value = parseJsonBounded(text, { what, source, maxDepth: MAX_AUDIT_INPUT_DEPTH });
  } catch (e) {
    if (e instanceof ChartproofError) throw e;
    throw new ChartproofError('INVALID_ARGUMENT', `${what} is not JSON: ${(e as Error).message}`, {
      cause: e,
      source,
    });
  }
  if (!isObj(value))
    throw new ChartproofError('INVALID_ARGUMENT', `${what} is not a JSON object`, { source });
  if (value.kind === 'Secret') return [value];
  if (!Array.isArray(value.items))
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `${what} is not a List of Secrets (kubectl get secrets -A -l owner=helm -o json)`,
      { source },
    );
  const max = options.maxItems ?? MAX_AUDIT_SECRETS;
  if (value.items.length > max) throw tooLarge(what, max, 'items', source);
  return value.items;
}

// ---------------------------------------------------------------------------------
// live clusters

/** The subset of client-node's KubeConfig used here. */
interface KubeConfigLike {
  loadFromString(text: string): void;
  makePathsAbsolute(root: string): void;
  getContextObject(name: string): unknown;
  setCurrentContext(name: string): void;
  getCurrentContext(): string;
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

function clusterError(message: string, cause?: unknown, code: ChartproofError['code'] = 'NETWORK') {
  return new ChartproofError(code, message, { cause, source: 'remote' });
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** The Kubernetes `Status` message of an error body, bounded and printable. */
function statusMessage(body: string): string {
  try {
    const s = JSON.parse(body) as unknown;
    if (isObj(s) && typeof s.message === 'string')
      return s.message.slice(0, 300).replace(/[^\x20-\x7e]/g, '?');
  } catch {
    // not a Status
  }
  return '';
}

async function readBody(res: IncomingMessage, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of res) {
    total += (c as Buffer).length;
    if (total > max) {
      res.destroy();
      throw tooLarge(what, max, 'bytes', 'remote');
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** One GET against the API server with the kubeconfig's TLS and credentials. */
async function kubeGet(
  kc: KubeConfigLike,
  server: URL,
  path: string,
  signal: AbortSignal,
  maxBytes: number,
  agents: Set<Agent>,
): Promise<unknown> {
  const url = new URL(server.href.replace(/\/+$/, '') + path);
  const opts: RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  if (opts.agent) agents.add(opts.agent as Agent);
  const what = `GET ${url.pathname}`;
  signal.throwIfAborted();
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpsRequest(url, { ...opts, signal }, resolve);
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (signal.aborted) return reject(signal.reason);
      const tls = e.code !== undefined && TLS_CODES.has(e.code);
      reject(
        clusterError(
          `${url.origin}: ${tls ? 'TLS failure' : 'cannot connect'}: ${e.message}`,
          e,
          tls ? 'TLS' : 'NETWORK',
        ),
      );
    });
    req.end();
  });
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    const body = (await readBody(res, MAX_ERROR_BODY, what).catch(() => Buffer.alloc(0))).toString('utf8');
    const detail = statusMessage(body);
    const code =
      status === 401
        ? 'UNAUTHORIZED'
        : status === 403
          ? 'DENIED'
          : status === 404
            ? 'NOT_FOUND'
            : 'UNEXPECTED_STATUS';
    throw clusterError(
      `${what}: the API server answered ${status}${detail ? `: ${detail}` : ''}`,
      undefined,
      code,
    );
  }
  const body = await readBody(res, maxBytes, `the API server's answer to ${what}`);
  try {
    return parseJsonBounded(body.toString('utf8'), {
      what: `the API server's answer to ${what}`,
      source: 'remote',
      maxDepth: MAX_AUDIT_INPUT_DEPTH,
    });
  } catch (e) {
    if (e instanceof ChartproofError) throw e;
    throw clusterError(`${what}: the API server's answer is not JSON`, e, 'PROTOCOL');
  }
}

/** Loads a kubeconfig file with client-node (imported here, lazily) and selects the context. */
async function loadKubeConfig(path: string, context: string | undefined): Promise<KubeConfigLike> {
  const text = await readTextFileBounded(path, { maxBytes: MAX_KUBECONFIG_BYTES, what: 'kubeconfig' });
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig() as unknown as KubeConfigLike;
  try {
    kc.loadFromString(text);
    kc.makePathsAbsolute(dirname(path));
  } catch (e) {
    // client-node's messages name fields, not secrets; keep only the first line.
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new ChartproofError('INVALID_CONFIG', `kubeconfig ${path}: ${msg}`, { cause: e, source: 'local' });
  }
  if (context !== undefined) {
    if (!kc.getContextObject(context))
      throw new ChartproofError(
        'INVALID_CONFIG',
        `kubeconfig ${path}: no context named ${JSON.stringify(context)}`,
        {
          source: 'local',
        },
      );
    kc.setCurrentContext(context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server)
    throw new ChartproofError(
      'INVALID_CONFIG',
      `kubeconfig ${path}: the context ${JSON.stringify(kc.getCurrentContext())} has no cluster with a server`,
      { source: 'local' },
    );
  return kc;
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Lists the Secrets labelled `owner=helm` in a cluster (all namespaces, or one), page
 * by page, and reads the server's version for the re-render's `.Capabilities`.
 * @internal
 */
export async function listClusterSecrets(
  source: { kubeconfig: string; context?: string; namespace?: string },
  signal: AbortSignal,
  maxItems = MAX_AUDIT_SECRETS,
): Promise<ListedSecrets> {
  if (source.namespace !== undefined && !NAMESPACE.test(source.namespace))
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `${JSON.stringify(source.namespace)} is not a namespace name`,
      {
        source: 'local',
      },
    );
  const kc = await loadKubeConfig(source.kubeconfig, source.context);
  let server: URL;
  try {
    server = new URL(kc.getCurrentCluster()!.server);
  } catch (e) {
    throw new ChartproofError(
      'INVALID_CONFIG',
      `kubeconfig ${source.kubeconfig}: the cluster server is not a URL`,
      {
        cause: e,
        source: 'local',
      },
    );
  }
  // client-node refuses http:// servers unless skipTLSVerify; this path speaks https only.
  if (server.protocol !== 'https:')
    throw new ChartproofError(
      'INSECURE_REQUEST',
      `kubeconfig ${source.kubeconfig}: the cluster server must be https:// (got ${server.protocol}//)`,
      { source: 'local' },
    );
  const base = source.namespace ? `/api/v1/namespaces/${source.namespace}/secrets` : '/api/v1/secrets';
  const secrets: unknown[] = [];
  const warnings: string[] = [];
  const agents = new Set<Agent>();
  try {
    return await listPages(kc, server, base, signal, maxItems, agents, secrets, warnings);
  } finally {
    for (const a of agents) a.destroy();
  }
}

async function listPages(
  kc: KubeConfigLike,
  server: URL,
  base: string,
  signal: AbortSignal,
  maxItems: number,
  agents: Set<Agent>,
  secrets: unknown[],
  warnings: string[],
): Promise<ListedSecrets> {
  let cont: string | undefined;
  for (let page = 0; ; page++) {
    if (page > Math.ceil(maxItems / KUBE_PAGE_LIMIT) + 1)
      throw tooLarge('the Secret list', maxItems, 'items', 'remote');
    const q = new URLSearchParams({ labelSelector: 'owner=helm', limit: String(KUBE_PAGE_LIMIT) });
    if (cont) q.set('continue', cont);
    const list = await kubeGet(kc, server, `${base}?${q}`, signal, MAX_AUDIT_INPUT_BYTES, agents);
    if (!isObj(list) || !Array.isArray(list.items))
      throw clusterError(`GET ${base}: the answer is not a SecretList`, undefined, 'PROTOCOL');
    secrets.push(...list.items);
    if (secrets.length > maxItems) throw tooLarge('the Secret list', maxItems, 'items', 'remote');
    const meta = isObj(list.metadata) ? list.metadata : {};
    cont = typeof meta.continue === 'string' && meta.continue !== '' ? meta.continue : undefined;
    if (!cont) break;
  }
  const out: ListedSecrets = { secrets, warnings };
  try {
    const version = await kubeGet(kc, server, '/version', signal, MAX_ERROR_BODY, agents);
    if (isObj(version) && typeof version.gitVersion === 'string') out.kubeVersion = version.gitVersion;
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    warnings.push(
      `could not read the cluster version (${(e as Error).message}); re-rendering with Helm's default Kubernetes version`,
    );
  }
  return out;
}
