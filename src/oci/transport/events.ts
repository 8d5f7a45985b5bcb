/**
 * What a {@link RegistryClient} does, as typed events for logs, metrics and
 * debugging (`RegistryClientOptions.onEvent`). URLs are redacted (no userinfo, secret
 * query values masked); header values, tokens and passwords are never included:
 * `auth` only says which scheme was sent.
 */

/** Fields every event has. @public */
export interface RegistryEventBase {
  /** Number of the logical request within its client (retries and redirects share it). */
  id: number;
  /** HTTP method. */
  method: string;
  /** Redacted URL. */
  url: string;
}

/** An HTTP exchange starts (each attempt and each redirect hop). @public */
export interface RegistryRequestEvent extends RegistryEventBase {
  type: 'request';
  /** 1 for the first attempt. */
  attempt: number;
  /** Which `Authorization` scheme is sent, if any. */
  auth: 'none' | 'basic' | 'bearer';
}

/** Response headers arrived. @public */
export interface RegistryResponseEvent extends RegistryEventBase {
  type: 'response';
  attempt: number;
  status: number;
  /** Time from the request to the headers. */
  durationMs: number;
}

/** A redirect is followed. @public */
export interface RegistryRedirectEvent extends RegistryEventBase {
  type: 'redirect';
  status: number;
  /** Redacted target. */
  location: string;
  /** Whether `Authorization` goes along (same host, or `forwardAuthOnRedirect`). */
  authForwarded: boolean;
}

/** A failed attempt is retried after `delayMs`. @public */
export interface RegistryRetryEvent extends RegistryEventBase {
  type: 'retry';
  /** The attempt that failed. */
  attempt: number;
  delayMs: number;
  /** `status 503`, or the error code and redacted message. */
  reason: string;
}

/** The client authenticates to a registry (a 401 challenge was answered). @public */
export interface RegistryAuthEvent extends RegistryEventBase {
  type: 'auth';
  scheme: 'basic' | 'bearer';
  /** Registry host whose credentials are used. */
  host: string;
  /** Redacted token realm (bearer). */
  realm?: string;
  scopes: string[];
}

/** A challenge was not answered: it came from a host that is not the registry. @public */
export interface RegistryAuthRefusedEvent extends RegistryEventBase {
  type: 'auth-refused';
  /** Registry host whose credentials were withheld. */
  host: string;
  /** Host that sent the challenge. */
  challenger: string;
}

/** A request (or the reading of its body) failed for good. @public */
export interface RegistryErrorEvent extends RegistryEventBase {
  type: 'error';
  /** Error code (`TIMEOUT`, `NETWORK`, `TLS`, …), or the error name. */
  code: string;
  /** Redacted message. */
  message: string;
}

/** One event of {@link RegistryClientOptions.onEvent}. @public */
export type RegistryEvent =
  | RegistryRequestEvent
  | RegistryResponseEvent
  | RegistryRedirectEvent
  | RegistryRetryEvent
  | RegistryAuthEvent
  | RegistryAuthRefusedEvent
  | RegistryErrorEvent;

/** One line of text for an event (what the CLI prints with `--verbose`). @public */
export function formatRegistryEvent(e: RegistryEvent): string {
  const head = `#${e.id} ${e.method} ${e.url}`;
  switch (e.type) {
    case 'request':
      return `${head} (attempt ${e.attempt}${e.auth === 'none' ? '' : `, ${e.auth} auth`})`;
    case 'response':
      return `${head} -> ${e.status} in ${e.durationMs} ms`;
    case 'redirect':
      return `${head} -> ${e.status} redirect to ${e.location}${e.authForwarded ? ' (with credentials)' : ''}`;
    case 'retry':
      return `${head} attempt ${e.attempt} failed (${e.reason}); retrying in ${e.delayMs} ms`;
    case 'auth':
      return `${head} authenticating to ${e.host} (${e.scheme}${e.realm ? ` via ${e.realm}` : ''}${e.scopes.length ? `, ${e.scopes.join(' ')}` : ''})`;
    case 'auth-refused':
      return `${head} challenge from ${e.challenger} ignored: credentials of ${e.host} are not sent to another host`;
    case 'error':
      return `${head} failed: ${e.code}: ${e.message}`;
  }
}
