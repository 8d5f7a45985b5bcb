import { randomBytes } from 'node:crypto';
import { ChartproofError } from '../errors.js';
import { errorResponse, jsonResponse, methodNotAllowed, readBody } from './registry-responses.js';

/**
 * HTTP Basic authentication (like distribution's htpasswd): every `/v2/` request
 * needs the credentials, except pulls when `anonymousPull` is set.
 * @public
 */
export interface BasicAuthOptions {
  /** Selects Basic authentication. */
  type: 'basic';
  /** The only accepted user name. */
  username: string;
  /** Its password. */
  password: string;
  /** `realm` of the `WWW-Authenticate: Basic` challenge. Default `'memory-registry'`. */
  realm?: string;
}

/**
 * The distribution token flow: `/v2/` answers 401 with a `Bearer` challenge whose
 * realm is `<origin>/token` on the same host. Without `username`, any caller (with or
 * without credentials) gets every action it asks for.
 * @public
 */
export interface BearerAuthOptions {
  /** Selects the token flow. */
  type: 'bearer';
  /** The only user the token endpoint accepts; unset: everyone gets every action. */
  username?: string;
  /** Its password (default empty). */
  password?: string;
  /** `service` of the challenge, checked by the token endpoint. Default `'memory-registry'`. */
  service?: string;
  /** Token lifetime (`expires_in`). Default 300. */
  tokenTtlSeconds?: number;
  /**
   * Token endpoint named by the challenge, e.g. `https://auth.test/token` for a
   * Docker Hub-like split between registry and token host (the registry serves
   * `/token` on every host name). Default `<origin>/token` of the request.
   */
  realm?: string;
}

/** Authentication of a {@link MemoryRegistry}. @public */
export type RegistryAuthOptions = BasicAuthOptions | BearerAuthOptions;

/** A repository action. @internal */
export type RegistryAction = 'pull' | 'push' | 'delete';

/** What a request needs: actions on one repository, or only a valid login (`/v2/`). @internal */
export interface RequiredAccess {
  repository: string;
  /** Every action the request needs. */
  actions: RegistryAction[];
  /** Actions named in the challenge's scope, e.g. `pull,push` for an upload. */
  challenge: string;
}

interface IssuedToken {
  access: Map<string, Set<RegistryAction>>;
  expiresAt: number;
}

const ALL_ACTIONS: readonly RegistryAction[] = ['pull', 'push', 'delete'];
const DEFAULT_SERVICE = 'memory-registry';
const MAX_FORM_BYTES = 64 * 1024;

/**
 * Checks requests against the configured authentication and serves the token
 * endpoint of the bearer flow.
 * @internal
 */
export class RegistryAuth {
  readonly #options: RegistryAuthOptions | undefined;
  readonly #anonymousPull: boolean;
  readonly #now: () => number;
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #refreshTokens = new Set<string>();

  constructor(options: RegistryAuthOptions | undefined, anonymousPull: boolean, now: () => number) {
    if (options?.type === 'bearer' && options.tokenTtlSeconds !== undefined) {
      if (!Number.isFinite(options.tokenTtlSeconds) || options.tokenTtlSeconds <= 0)
        throw new ChartproofError('INVALID_ARGUMENT', 'tokenTtlSeconds must be positive');
    }
    this.#options = options;
    this.#anonymousPull = anonymousPull;
    this.#now = now;
  }

  /** True when the bearer token endpoint is served. */
  get servesTokens(): boolean {
    return this.#options?.type === 'bearer';
  }

  /**
   * Returns undefined when `request` may proceed, otherwise the 401 to answer.
   * `access` undefined means the API base `/v2/`.
   */
  check(request: Request, origin: string, access: RequiredAccess | undefined): Response | undefined {
    const options = this.#options;
    if (!options) return undefined;
    if (options.type === 'basic') {
      const cred = basicCredentials(request.headers.get('authorization'));
      if (cred && cred.username === options.username && cred.password === options.password) return undefined;
      const anonymousOk =
        !cred && this.#anonymousPull && (access?.actions.every((a) => a === 'pull') ?? true);
      if (anonymousOk) return undefined;
      const realm = options.realm ?? DEFAULT_SERVICE;
      return errorResponse(401, 'UNAUTHORIZED', 'authentication required', {
        'www-authenticate': `Basic realm=${quote(realm)}`,
      });
    }
    const token = this.#tokenOf(request);
    let insufficient = false;
    if (token) {
      if (!access) return undefined;
      const granted = token.access.get(access.repository);
      if (granted && access.actions.every((a) => granted.has(a))) return undefined;
      insufficient = true;
    }
    const realm = options.realm ?? `${origin}/token`;
    let challenge = `Bearer realm=${quote(realm)},service=${quote(this.#service)}`;
    if (access) challenge += `,scope=${quote(`repository:${access.repository}:${access.challenge}`)}`;
    if (insufficient) challenge += ',error="insufficient_scope"';
    return errorResponse(
      401,
      'UNAUTHORIZED',
      insufficient ? 'insufficient scope' : 'authentication required',
      { 'www-authenticate': challenge },
      access ? [{ Type: 'repository', Name: access.repository, Action: access.challenge }] : undefined,
    );
  }

  /** True when `request` may perform `action` on `repository` (for a mount's `from`). */
  allows(request: Request, repository: string, action: RegistryAction): boolean {
    return (
      this.check(request, 'http://unused', { repository, actions: [action], challenge: action }) === undefined
    );
  }

  /** Serves `GET /token` and the OAuth2 `POST /token`. */
  async handleToken(request: Request, url: URL): Promise<Response> {
    if (request.method === 'GET') return this.#tokenGet(request, url);
    if (request.method === 'POST') return this.#tokenPost(request);
    return methodNotAllowed(['GET', 'POST']);
  }

  get #service(): string {
    return (this.#options?.type === 'bearer' ? this.#options.service : undefined) ?? DEFAULT_SERVICE;
  }

  #tokenOf(request: Request): IssuedToken | undefined {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '');
    if (!m) return undefined;
    const token = this.#tokens.get(m[1]!);
    if (!token) return undefined;
    if (token.expiresAt <= this.#now()) {
      this.#tokens.delete(m[1]!);
      return undefined;
    }
    return token;
  }

  /** Whether the caller may log in; `anonymous` when it sent no credentials. */
  #login(username: string | undefined, password: string | undefined): 'user' | 'anonymous' | 'refused' {
    const options = this.#options as BearerAuthOptions;
    if (options.username === undefined) return 'user';
    if (username === undefined && password === undefined) return 'anonymous';
    return username === options.username && password === (options.password ?? '') ? 'user' : 'refused';
  }

  async #tokenGet(request: Request, url: URL): Promise<Response> {
    const service = url.searchParams.get('service');
    if (service !== null && service !== this.#service)
      return errorResponse(400, 'UNSUPPORTED', `unknown service ${JSON.stringify(service)}`);
    const cred = basicCredentials(request.headers.get('authorization'));
    const who = this.#login(cred?.username, cred?.password);
    if (who === 'refused') return errorResponse(401, 'UNAUTHORIZED', 'invalid username or password');
    if (who === 'anonymous' && !this.#anonymousPull)
      return errorResponse(401, 'UNAUTHORIZED', 'authentication required');
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' '));
    const { token, expiresIn, issuedAt } = this.#issue(scopes, who === 'user');
    const body: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: expiresIn,
      issued_at: issuedAt,
    };
    if (who === 'user' && cred && url.searchParams.get('offline_token') === 'true')
      body.refresh_token = this.#newRefreshToken();
    return jsonResponse(200, body);
  }

  async #tokenPost(request: Request): Promise<Response> {
    const type = (request.headers.get('content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') return oauthError(400, 'invalid_request');
    const bytes = await readBody(request, MAX_FORM_BYTES);
    if (!bytes) return oauthError(400, 'invalid_request');
    const form = new URLSearchParams(new TextDecoder().decode(bytes));
    const service = form.get('service');
    if (service !== null && service !== this.#service) return oauthError(400, 'invalid_request');
    let refreshToken: string | undefined;
    switch (form.get('grant_type')) {
      case 'password':
        if (this.#login(form.get('username') ?? '', form.get('password') ?? '') !== 'user')
          return oauthError(401, 'invalid_grant');
        break;
      case 'refresh_token':
        refreshToken = form.get('refresh_token') ?? '';
        if (!this.#refreshTokens.has(refreshToken)) return oauthError(401, 'invalid_grant');
        break;
      default:
        return oauthError(400, 'unsupported_grant_type');
    }
    const scopes = (form.get('scope') ?? '').split(' ');
    const { token, expiresIn, issuedAt, granted } = this.#issue(scopes, true);
    const body: Record<string, unknown> = {
      access_token: token,
      scope: granted.join(' '),
      expires_in: expiresIn,
      issued_at: issuedAt,
    };
    if (form.get('access_type') === 'offline') body.refresh_token = refreshToken ?? this.#newRefreshToken();
    return jsonResponse(200, body);
  }

  #issue(
    scopes: string[],
    authenticated: boolean,
  ): { token: string; expiresIn: number; issuedAt: string; granted: string[] } {
    const now = this.#now();
    for (const [t, v] of this.#tokens) if (v.expiresAt <= now) this.#tokens.delete(t);
    const access = new Map<string, Set<RegistryAction>>();
    for (const scope of scopes) {
      const parsed = parseScope(scope);
      if (!parsed) continue;
      const allowed = authenticated ? ALL_ACTIONS : (['pull'] as const);
      const set = access.get(parsed.name) ?? new Set<RegistryAction>();
      for (const a of parsed.actions) {
        if (a === '*') for (const x of allowed) set.add(x);
        else if ((allowed as readonly string[]).includes(a)) set.add(a as RegistryAction);
      }
      access.set(parsed.name, set);
    }
    const expiresIn = (this.#options as BearerAuthOptions).tokenTtlSeconds ?? 300;
    const token = randomBytes(24).toString('base64url');
    this.#tokens.set(token, { access, expiresAt: now + expiresIn * 1000 });
    const granted = [...access]
      .filter(([, actions]) => actions.size > 0)
      .map(([name, actions]) => `repository:${name}:${[...actions].join(',')}`);
    return { token, expiresIn, issuedAt: new Date(now).toISOString(), granted };
  }

  #newRefreshToken(): string {
    const token = randomBytes(24).toString('base64url');
    this.#refreshTokens.add(token);
    return token;
  }
}

/** `repository:<name>:<actions>`; the name may itself contain `:` (a host port). */
function parseScope(scope: string): { name: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  if (scope.slice(0, first) !== 'repository') return undefined;
  const name = scope.slice(first + 1, last);
  if (!name) return undefined;
  return {
    name,
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

function basicCredentials(header: string | null): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

function oauthError(status: number, error: string): Response {
  return jsonResponse(status, { error });
}
