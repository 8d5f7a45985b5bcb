import { ChartproofError, redactUrl } from '../../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../../internal/bounded-parse.js';
import type { HttpFetch, HttpResponse } from '../transport/fetch.js';
import { readTextLimited, toNetworkError } from '../transport/errors.js';
import type { Credential } from './credentials.js';

/** A bearer token and when it stops being usable (epoch ms). */
export interface CachedToken {
  token: string;
  expiresAt: number;
}

const MAX_TOKEN_RESPONSE_BYTES = 256 * 1024;
const DEFAULT_EXPIRES_IN = 60;

/** Inputs of {@link fetchToken}. */
export interface TokenRequest {
  realm: string;
  service: string | undefined;
  scopes: string[];
  credential: Credential | undefined;
  clientId: string;
  /** Use the OAuth2 POST flow with username/password (GET is the default). */
  forceOAuth2: boolean;
  fetch: HttpFetch;
  userAgent: string;
  signal?: AbortSignal | undefined;
  now?: () => number;
}

/**
 * Obtains a bearer token from a distribution token server: OAuth2 POST with a
 * refresh token (identity token) or, when forced, a password grant; otherwise the
 * GET flow with optional Basic credentials. A POST answered 404 falls back to GET.
 */
export async function fetchToken(req: TokenRequest): Promise<CachedToken> {
  const now = req.now ?? Date.now;
  const cred = req.credential;
  if (cred?.accessToken) return { token: cred.accessToken, expiresAt: Number.POSITIVE_INFINITY };
  if (cred?.identityToken || (req.forceOAuth2 && cred?.username)) {
    const form = new URLSearchParams();
    if (cred.identityToken) {
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', cred.identityToken);
    } else {
      form.set('grant_type', 'password');
      form.set('username', cred.username ?? '');
      form.set('password', cred.password ?? '');
    }
    if (req.service) form.set('service', req.service);
    form.set('client_id', req.clientId);
    if (req.scopes.length > 0) form.set('scope', req.scopes.join(' '));
    const res = await send(req, req.realm, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': req.userAgent },
      body: form.toString(),
    });
    if (res.status !== 404 && res.status !== 405) return parseTokenResponse(res, 'POST', req.realm, now());
    await res.body?.cancel().catch(() => {});
    if (cred.identityToken && !cred.username) {
      throw new ChartproofError(
        'AUTH_FAILED',
        `token server ${redactUrl(req.realm)} does not support OAuth2 refresh tokens`,
      );
    }
  }
  const url = new URL(req.realm);
  if (req.service) url.searchParams.set('service', req.service);
  for (const s of req.scopes) url.searchParams.append('scope', s);
  const headers: Record<string, string> = { 'user-agent': req.userAgent };
  if (cred?.username !== undefined || cred?.password !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`).toString('base64')}`;
    url.searchParams.set('account', cred.username ?? '');
  }
  const res = await send(req, url.toString(), { method: 'GET', headers });
  return parseTokenResponse(res, 'GET', url.toString(), now());
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_TOKEN_REDIRECTS = 5;

/**
 * Sends a token request, following redirects by hand: within the realm's origin as
 * usual; to another origin only when the request carries no credentials (no
 * `Authorization`, no form body, no `account`), since a token server is trusted with
 * the registry's credentials only because the registry named it.
 */
async function send(req: TokenRequest, url: string, init: RequestInit): Promise<HttpResponse> {
  let current = url;
  let method = String(init.method);
  let body = init.body;
  const headers = { ...(init.headers as Record<string, string>) };
  for (let hop = 0; ; hop++) {
    let res: HttpResponse;
    try {
      res = await req.fetch(current, {
        ...init,
        method,
        headers,
        ...(body !== undefined && body !== null ? { body } : { body: null }),
        redirect: 'manual',
        ...(req.signal ? { signal: req.signal } : {}),
      });
    } catch (e) {
      throw toNetworkError(e, method, current, req.signal);
    }
    const location = REDIRECT_STATUSES.has(res.status) ? res.headers.get('location') : null;
    if (location === null) return res;
    await res.body?.cancel().catch(() => {});
    if (hop >= MAX_TOKEN_REDIRECTS)
      throw new ChartproofError('TOO_MANY_REDIRECTS', `token server ${redactUrl(url)}: too many redirects`);
    const here = new URL(current);
    const next = new URL(location, here);
    if (next.protocol !== 'https:' && next.protocol !== 'http:')
      throw new ChartproofError(
        'PROTOCOL',
        `token server redirect to unsupported URL ${redactUrl(next.href)}`,
      );
    if (here.protocol === 'https:' && next.protocol === 'http:') {
      throw new ChartproofError(
        'INSECURE_REQUEST',
        `refusing token server redirect from HTTPS to plain HTTP ${redactUrl(next.href)}`,
      );
    }
    const credentialed =
      headers.authorization !== undefined ||
      (body !== undefined && body !== null) ||
      here.searchParams.has('account');
    if (next.origin !== here.origin && credentialed) {
      throw new ChartproofError(
        'INSECURE_REQUEST',
        `token server ${redactUrl(here.origin)} redirected to another host (${redactUrl(next.origin)}); credentials are not forwarded`,
      );
    }
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      delete headers['content-type'];
    }
    current = next.href;
  }
}

async function parseTokenResponse(
  res: HttpResponse,
  method: string,
  url: string,
  now: number,
): Promise<CachedToken> {
  const text = await readTextLimited(res, MAX_TOKEN_RESPONSE_BYTES);
  if (res.status === 401 || res.status === 403) {
    throw new ChartproofError(
      'AUTH_FAILED',
      `token server ${method} ${redactUrl(url)} refused the credentials (${res.status})`,
    );
  }
  if (res.status !== 200) {
    throw new ChartproofError(
      'AUTH_FAILED',
      `token server ${method} ${redactUrl(url)} answered ${res.status}`,
    );
  }
  let body: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
  try {
    body = parseJsonBounded(text, { what: 'token response', source: 'remote' }) as typeof body;
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    throw new ChartproofError('AUTH_FAILED', `token server ${redactUrl(url)} sent invalid JSON`, {
      cause: e,
    });
  }
  const token = typeof body.access_token === 'string' && body.access_token ? body.access_token : body.token;
  if (typeof token !== 'string' || token === '') {
    throw new ChartproofError('AUTH_FAILED', `token server ${redactUrl(url)} sent no token`);
  }
  let expiresIn =
    typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_EXPIRES_IN;
  expiresIn = Math.max(expiresIn, DEFAULT_EXPIRES_IN);
  let issuedAt = now;
  if (typeof body.issued_at === 'string') {
    const t = Date.parse(body.issued_at);
    // Trust issued_at only when clocks roughly agree; otherwise count from now.
    if (!Number.isNaN(t) && Math.abs(t - now) < 5 * 60_000) issuedAt = t;
  }
  // Renew a little early so a token does not expire mid-request.
  const margin = Math.min(10_000, expiresIn * 100);
  return { token, expiresAt: issuedAt + expiresIn * 1000 - margin };
}
