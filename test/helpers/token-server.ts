/**
 * An in-process implementation of the distribution token flow for tests
 * (https://distribution.github.io/distribution/spec/auth/token/ and .../oauth/):
 *
 * - `GET  /token?service=S&scope=repository:foo:pull,push&scope=...` with optional Basic auth,
 *   answering `{ token, access_token, expires_in, issued_at }` (plus `refresh_token` when
 *   `offline_token=true` and the caller authenticated);
 * - `POST /token` with an OAuth2 form (`grant_type=password` or `refresh_token`, `client_id`,
 *   `service`, `scope` space-separated, `access_type=offline` for a refresh token).
 *
 * Tokens are JWTs signed with node:crypto (ES256 in JOSE r||s form, or RS256) by a self-signed
 * certificate made with openssl. distribution 2.8 trusts them when its `auth.token.rootcertbundle`
 * holds that certificate; the JWT header names the key either with `x5c` (base64 DER of the
 * certificate; default) or with `kid` = the libtrust key ID of the public key.
 */
import {
  createHash,
  createPrivateKey,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSelfSignedCert, makeTempDir, removeDir, removeOnExit } from './services.js';

export interface TokenScope {
  /** Usually 'repository' (or 'registry' for `registry:catalog:*`). */
  type: string;
  name: string;
  actions: string[];
}

export interface TokenServerOptions {
  /** Expected `service` (the JWT `aud`). Default 'chartproof-test'. */
  service?: string;
  /** JWT `iss`. Default 'chartproof-test-issuer'. */
  issuer?: string;
  /** Valid users: username → password. */
  users?: Record<string, string>;
  /** Anonymous callers get `pull` on repositories (otherwise a token with no access). */
  anonymousPull?: boolean;
  /** Signature algorithm. Default 'ES256' (P-256 key). */
  alg?: 'ES256' | 'RS256';
  /** How the JWT header identifies the signing key. Default 'x5c'. */
  keyReference?: 'x5c' | 'kid';
  /** Token lifetime in seconds. Default 300. */
  expiresIn?: number;
  /** Serve `POST /token` (OAuth2). When false, POST answers 404 (like GCR), to test GET fallback. */
  oauth?: boolean;
  /** Custom grant policy; the default grants authenticated users pull/push/delete/'*' as requested. */
  authorize?: (user: string | undefined, scope: TokenScope) => string[];
  /** Path of the token endpoint. Default '/token'. */
  path?: string;
}

export interface TokenRequestRecord {
  method: string;
  /** Path and query as received. */
  url: string;
  /** Whether an Authorization header was sent. */
  authorization: boolean;
  /** Authenticated user (Basic or password grant), when credentials were valid. */
  user?: string;
  grantType?: string;
  scopes: string[];
  status: number;
}

export interface IssuedToken {
  token: string;
  sub: string;
  access: TokenScope[];
}

/** Lets a test take over a request (return true when handled), e.g. to inject 500s or delays. */
export type TokenInterceptor = (
  req: IncomingMessage,
  res: ServerResponse,
  body: string,
) => boolean | Promise<boolean>;

export interface StartedTokenServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The realm to configure in the registry: `url + path`. */
  realm: string;
  service: string;
  issuer: string;
  alg: 'ES256' | 'RS256';
  keyReference: 'x5c' | 'kid';
  /** The signing certificate (PEM): the registry's `rootcertbundle`. */
  certPem: string;
  certFile: string;
  /** libtrust key ID of the signing key. */
  keyId: string;
  /** Every request, in order. */
  requests: TokenRequestRecord[];
  /** Every token issued, in order. */
  issued: IssuedToken[];
  /** Set to intercept requests; cleared with undefined. */
  intercept: TokenInterceptor | undefined;
  /** Signs a token directly (bypassing the HTTP flow), e.g. to craft expired or foreign tokens. */
  issueToken(
    sub: string,
    access: TokenScope[],
    opts?: { expiresIn?: number; audience?: string | string[]; issuer?: string; notBefore?: number },
  ): string;
  /** Decodes a JWT without verifying it. */
  decode(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> };
  stop(): Promise<void>;
}

const DEFAULT_ACTIONS = new Set(['pull', 'push', 'delete', '*']);

/** Parses `type:name:actions` (name may contain ':'; actions comma-separated). */
export function parseScope(scope: string): TokenScope | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean),
  };
}

/** The libtrust key ID: SHA-256 of the SPKI DER, first 240 bits, base32, 12 groups of 4. */
export function libtrustKeyId(spkiDer: Uint8Array): string {
  const sum = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let s = '';
  for (const byte of sum) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      s += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) s += alphabet[(value << (5 - bits)) & 31];
  return s.match(/.{1,4}/g)?.join(':') ?? s;
}

function b64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBasic(header: string | undefined): { user: string; pass: string } | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+(.+)$/i.exec(header.trim());
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { user: decoded.slice(0, i), pass: decoded.slice(i + 1) };
}

export async function startTokenServer(opts: TokenServerOptions = {}): Promise<StartedTokenServer> {
  const service = opts.service ?? 'chartproof-test';
  const issuer = opts.issuer ?? 'chartproof-test-issuer';
  const alg = opts.alg ?? 'ES256';
  const keyReference = opts.keyReference ?? 'x5c';
  const expiresIn = opts.expiresIn ?? 300;
  const users = opts.users ?? {};
  const path = opts.path ?? '/token';
  const oauth = opts.oauth ?? true;

  const dir = await makeTempDir('chartproof-token-');
  const unregisterDir = removeOnExit(dir);
  let cert: ReturnType<typeof createSelfSignedCert>;
  try {
    cert = createSelfSignedCert(dir, {
      name: 'token-signer',
      cn: 'chartproof test token signer',
      keyType: alg === 'ES256' ? 'ec' : 'rsa',
      ca: true,
    });
  } catch (err) {
    removeDir(dir);
    unregisterDir();
    throw err;
  }
  const key: KeyObject = createPrivateKey(cert.keyPem);
  const x509 = new X509Certificate(cert.certPem);
  const certDerB64 = x509.raw.toString('base64');
  const keyId = libtrustKeyId(x509.publicKey.export({ type: 'spki', format: 'der' }));

  const requests: TokenRequestRecord[] = [];
  const issued: IssuedToken[] = [];
  const refreshTokens = new Map<string, string>(); // refresh token → subject

  const issueToken: StartedTokenServer['issueToken'] = (sub, access, o = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const header: Record<string, unknown> = { typ: 'JWT', alg };
    if (keyReference === 'x5c') header.x5c = [certDerB64];
    else header.kid = keyId;
    const claims = {
      iss: o.issuer ?? issuer,
      sub,
      // distribution 2.8 unmarshals `aud` into a string: an array would be a malformed token.
      aud: o.audience ?? service,
      exp: now + (o.expiresIn ?? expiresIn),
      nbf: o.notBefore ?? now,
      iat: now,
      jti: randomBytes(12).toString('hex'),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature =
      alg === 'ES256'
        ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
        : sign('sha256', Buffer.from(input), key);
    const token = `${input}.${b64url(signature)}`;
    issued.push({ token, sub, access });
    return token;
  };

  const grant = (user: string | undefined, scopes: TokenScope[]): TokenScope[] => {
    const out: TokenScope[] = [];
    for (const scope of scopes) {
      let actions: string[];
      if (opts.authorize) actions = opts.authorize(user, scope);
      else if (user !== undefined) actions = scope.actions.filter((a) => DEFAULT_ACTIONS.has(a));
      else if (opts.anonymousPull && scope.type === 'repository')
        actions = scope.actions.filter((a) => a === 'pull');
      else actions = [];
      if (actions.length > 0)
        out.push({ type: scope.type, name: scope.name, actions: [...new Set(actions)] });
    }
    return out;
  };

  const parseScopes = (raw: string[]): { scopes: TokenScope[]; strings: string[] } => {
    const strings = raw.flatMap((s) => s.split(' ')).filter(Boolean);
    const scopes = strings.map(parseScope).filter((s): s is TokenScope => s !== undefined);
    return { scopes, strings };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record: TokenRequestRecord = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      authorization: req.headers.authorization !== undefined,
      scopes: [],
      status: 0,
    };
    requests.push(record);
    const send = (status: number, payload: unknown, headers?: Record<string, string>) => {
      record.status = status;
      json(res, status, payload, headers);
    };
    const unauthorized = (detail: string) =>
      send(
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail }] },
        { 'www-authenticate': `Basic realm="${service}"` },
      );

    if (server.intercept) {
      const handled = await server.intercept(req, res, body);
      if (handled) {
        record.status = res.statusCode;
        return;
      }
    }
    if (url.pathname !== path) {
      send(404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] });
      return;
    }
    const now = new Date();

    if (req.method === 'GET') {
      const { scopes, strings } = parseScopes(url.searchParams.getAll('scope'));
      record.scopes = strings;
      const svc = url.searchParams.get('service');
      if (svc !== null && svc !== service) {
        send(400, { errors: [{ code: 'UNSUPPORTED', message: `unknown service ${svc}` }] });
        return;
      }
      let user: string | undefined;
      if (req.headers.authorization !== undefined) {
        const basic = parseBasic(req.headers.authorization);
        if (!basic || users[basic.user] === undefined || users[basic.user] !== basic.pass) {
          unauthorized('invalid username or password');
          return;
        }
        user = basic.user;
        record.user = user;
      }
      const token = issueToken(user ?? '', grant(user, scopes));
      const payload: Record<string, unknown> = {
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: now.toISOString(),
      };
      if (user !== undefined && url.searchParams.get('offline_token') === 'true') {
        const rt = randomBytes(24).toString('base64url');
        refreshTokens.set(rt, user);
        payload.refresh_token = rt;
      }
      send(200, payload);
      return;
    }

    if (req.method === 'POST') {
      if (!oauth) {
        send(404, { errors: [{ code: 'UNSUPPORTED', message: 'OAuth2 POST not supported' }] });
        return;
      }
      const form = new URLSearchParams(body);
      const grantType = form.get('grant_type') ?? '';
      record.grantType = grantType;
      const { scopes, strings } = parseScopes(form.getAll('scope'));
      record.scopes = strings;
      const missing = ['grant_type', 'service', 'client_id'].filter((k) => !form.get(k));
      if (missing.length > 0) {
        send(400, { error: 'invalid_request', error_description: `missing ${missing.join(', ')}` });
        return;
      }
      if (form.get('service') !== service) {
        send(400, { error: 'invalid_request', error_description: 'unknown service' });
        return;
      }
      const accessType = form.get('access_type') ?? 'online';
      if (accessType !== 'online' && accessType !== 'offline') {
        send(400, { error: 'invalid_request', error_description: 'unknown access_type' });
        return;
      }
      let user: string;
      if (grantType === 'password') {
        const u = form.get('username') ?? '';
        const p = form.get('password') ?? '';
        if (!u || users[u] === undefined || users[u] !== p) {
          unauthorized('invalid username or password');
          return;
        }
        user = u;
      } else if (grantType === 'refresh_token') {
        const rt = form.get('refresh_token') ?? '';
        const sub = refreshTokens.get(rt);
        if (sub === undefined) {
          unauthorized('invalid refresh token');
          return;
        }
        user = sub;
      } else {
        send(400, { error: 'unsupported_grant_type' });
        return;
      }
      record.user = user;
      const granted = grant(user, scopes);
      const token = issueToken(user, granted);
      const payload: Record<string, unknown> = {
        access_token: token,
        scope: granted.map((g) => `${g.type}:${g.name}:${g.actions.join(',')}`).join(' '),
        expires_in: expiresIn,
        issued_at: now.toISOString(),
      };
      if (accessType === 'offline') {
        const rt = randomBytes(24).toString('base64url');
        refreshTokens.set(rt, user);
        payload.refresh_token = rt;
      }
      send(200, payload);
      return;
    }

    send(405, { errors: [{ code: 'UNSUPPORTED', message: 'method not allowed' }] }, { allow: 'GET, POST' });
  };

  const http: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { errors: [{ code: 'UNKNOWN', message: String(err) }] });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  // Like the registry process, a forgotten token server must not keep the test process alive.
  http.unref();
  const { port } = http.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  let stopped: Promise<void> | undefined;
  const server: StartedTokenServer = {
    url: base,
    realm: `${base}${path}`,
    service,
    issuer,
    alg,
    keyReference,
    certPem: cert.certPem,
    certFile: cert.certFile,
    keyId,
    requests,
    issued,
    intercept: undefined,
    issueToken,
    decode(token) {
      const [h, c] = token.split('.');
      return {
        header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
        claims: JSON.parse(Buffer.from(c ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
      };
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }).finally(() => {
        removeDir(dir);
        unregisterDir();
      });
      return stopped;
    },
  };
  return server;
}
