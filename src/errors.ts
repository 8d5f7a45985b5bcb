/**
 * One error base class for the whole SDK, with stable machine-readable codes.
 *
 * Messages are for people and may change; `code` values are part of the API and
 * follow semver. Every message passes through {@link redact} so credentials never
 * leak into logs.
 */

const BRAND = Symbol.for('chartproof.error');

/** Statuses worth retrying: request timeout, rate limit, server errors (not 501/505). */
export function isRetryableStatus(status: number): boolean {
  return (
    status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505)
  );
}

/**
 * Stable error codes.
 *
 * Registry protocol codes (`BLOB_UNKNOWN`, `MANIFEST_UNKNOWN`, `DENIED`, ...) are the
 * OCI distribution-spec codes, passed through from the registry's error body.
 * @public
 */
export type ErrorCode =
  // input
  | 'INVALID_REFERENCE'
  | 'INVALID_DIGEST'
  | 'INVALID_ARGUMENT'
  | 'INVALID_MANIFEST'
  | 'INVALID_CONFIG'
  // content integrity
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'TRAILING_DATA'
  | 'SIZE_LIMIT_EXCEEDED'
  | 'DEPTH_LIMIT_EXCEEDED'
  // transport and protocol
  | 'NETWORK'
  | 'TIMEOUT'
  | 'TLS'
  | 'ABORTED'
  | 'TOO_MANY_REDIRECTS'
  | 'INSECURE_REQUEST'
  | 'PROTOCOL'
  | 'UNEXPECTED_STATUS'
  | 'NOT_FOUND'
  | 'UNSUPPORTED'
  | 'PAGINATION_LIMIT'
  // auth
  | 'AUTH_FAILED'
  | 'AUTH_CHALLENGE_INVALID'
  | 'CREDENTIALS_INVALID'
  | 'CREDENTIAL_HELPER_FAILED'
  // registry codes from the distribution spec
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'TOOMANYREQUESTS'
  // copy
  | 'COPY_FAILED'
  // files
  | 'IO'
  // charts
  | 'CHART_INVALID'
  | 'CHART_METADATA_INVALID'
  // signatures and keys
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_NOT_FOUND'
  | 'KEY_INVALID'
  | 'KEY_UNSUPPORTED'
  | 'KEY_PASSWORD_INVALID'
  // dependencies
  | 'LOCK_OUT_OF_SYNC'
  // rendering
  | 'TEMPLATE_PARSE'
  | 'TEMPLATE_EXEC'
  | 'TEMPLATE_OUTPUT_INVALID'
  | 'TEMPLATE_NOT_FOUND'
  | 'RENDER_LIMIT'
  | 'VALUES_INVALID'
  // images
  | 'IMAGE_OVERLAY_INCOMPLETE'
  // admission
  | 'RELEASE_INVALID'
  | 'LISTEN_FAILED';

/**
 * Where the input that caused an error came from: `local` (a file, directory, archive
 * or argument supplied by the caller) or `remote` (content or answers from a registry
 * or chart repository). The CLI's exit code depends on it (docs/errors.md).
 * @public
 */
export type ErrorSource = 'local' | 'remote';

/** Options accepted by {@link ChartproofError}. @public */
export interface ChartproofErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Where the offending input came from, when the thrower knows. */
  source?: ErrorSource;
}

/**
 * Base class of every error thrown by chartproof.
 *
 * `instanceof` works across the ESM and CJS builds loaded in one process (the class
 * is branded with a registered symbol); {@link isChartproofError} does the same with
 * an optional code check.
 * @public
 */
export class ChartproofError extends Error {
  /** Stable code: branch on this, not on `message`. */
  readonly code: ErrorCode;

  /**
   * Where the offending input came from (`local` or `remote`); undefined when not
   * attributed. Set by the thrower, or at the boundary that read the input (see
   * `attributeErrors`); never overwritten once set.
   */
  declare source?: ErrorSource;

  constructor(code: ErrorCode, message: string, options: ChartproofErrorOptions = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
    if (options.source !== undefined) this.source = options.source;
  }

  /** @internal */
  get [BRAND](): true {
    return true;
  }

  // Subclasses keep the normal prototype check; the base class accepts any branded error.
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== ChartproofError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** One entry of a distribution-spec error body. @public */
export interface RegistryDiagnostic {
  code: string;
  message?: string;
  detail?: unknown;
}

/** Strings of a diagnostic's `detail`, redacted (nesting as parsed: bounded). */
function redactValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return redact(v);
  if (depth > 64 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => redactValue(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactValue(x, depth + 1)]));
}

/**
 * A registry answered with an error status. `code` is the first distribution-spec
 * error code in the body when it is a known one, otherwise derived from the status.
 * @public
 */
export class RegistryError extends ChartproofError {
  /** HTTP status code. */
  readonly status: number;
  /** HTTP method of the failed request. */
  readonly method: string;
  /** URL of the failed request, with credentials and query secrets removed. */
  readonly url: string;
  /** Every error the registry reported, as sent (strings truncated, secrets redacted). */
  readonly diagnostics: readonly RegistryDiagnostic[];

  constructor(
    init: {
      status: number;
      method: string;
      url: string;
      diagnostics?: RegistryDiagnostic[];
      code?: ErrorCode;
    },
    message?: string,
    options?: ChartproofErrorOptions,
  ) {
    // A registry may echo what it was sent (an Authorization header, a signed URL):
    // kept as sent but redacted, like the message, since callers log errors whole.
    const diagnostics = (init.diagnostics ?? []).map((d) => {
      const out: RegistryDiagnostic = { code: d.code };
      if (d.message !== undefined) out.message = redact(d.message);
      if (d.detail !== undefined) out.detail = redactValue(d.detail, 0);
      return out;
    });
    const code = init.code ?? codeFor(init.status, diagnostics);
    const url = redactUrl(init.url);
    const detail = diagnostics
      .map((d) => (d.message ? `${d.code}: ${d.message}` : d.code))
      .join('; ')
      .slice(0, 1024);
    super(code, message ?? `${init.method} ${url}: ${init.status}${detail ? ` (${detail})` : ''}`, options);
    this.status = init.status;
    this.method = init.method;
    this.url = url;
    this.diagnostics = diagnostics;
  }

  /** True when retrying the same request later may succeed (429, 408, 5xx). */
  get temporary(): boolean {
    return isRetryableStatus(this.status);
  }
}

/**
 * Content did not match its descriptor: wrong digest, wrong size, or bytes after the
 * declared end.
 * @public
 */
export class DigestMismatchError extends ChartproofError {
  readonly expected: string;
  readonly actual: string | undefined;
  constructor(
    code: 'DIGEST_MISMATCH' | 'SIZE_MISMATCH' | 'TRAILING_DATA',
    expected: string,
    actual: string | undefined,
    message: string,
  ) {
    super(code, message);
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * A copy failed; `origin` tells whether reading the source or writing the
 * destination failed, `cause` holds the original error.
 * @public
 */
export class CopyError extends ChartproofError {
  readonly origin: 'source' | 'destination';
  readonly digest: string | undefined;
  constructor(origin: 'source' | 'destination', digest: string | undefined, cause: unknown) {
    const inner = cause instanceof Error ? cause.message : String(cause);
    super('COPY_FAILED', `copy failed at ${origin}${digest ? ` (${digest})` : ''}: ${inner}`, { cause });
    this.origin = origin;
    this.digest = digest;
  }
}

/**
 * True when `value` is a chartproof error (from any copy of the package), optionally
 * with the given code.
 * @public
 */
export function isChartproofError(value: unknown, code?: ErrorCode): value is ChartproofError {
  if (!(value instanceof ChartproofError)) return false;
  return code === undefined || value.code === code;
}

/**
 * Runs `fn` and attributes any chartproof error it throws that has no `source` yet
 * to `source`: the boundary that reads local input (or remote content) wraps that
 * phase, whatever code the error has. Other errors pass through unchanged.
 * @public
 */
export async function attributeErrors<T>(source: ErrorSource, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ChartproofError && e.source === undefined) e.source = source;
    throw e;
  }
}

/**
 * The error codes of the OCI distribution spec (v1.1.1).
 * @public
 */
export const DISTRIBUTION_ERROR_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
] as const;

/** One of the distribution-spec error codes (`DISTRIBUTION_ERROR_CODES`). @public */
export type DistributionErrorCode = (typeof DISTRIBUTION_ERROR_CODES)[number];

const SPEC_CODES = new Set<string>(DISTRIBUTION_ERROR_CODES);

function codeFor(status: number, diagnostics: RegistryDiagnostic[]): ErrorCode {
  for (const d of diagnostics) if (SPEC_CODES.has(d.code)) return d.code as ErrorCode;
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 429) return 'TOOMANYREQUESTS';
  return 'UNEXPECTED_STATUS';
}

/**
 * Removes secrets from free text: userinfo in URLs, `Authorization` header values,
 * bearer tokens, and secret-looking query or form parameters.
 * @public
 */
export function redact(text: string): string {
  return (
    text
      // userinfo up to the last `@` of the authority (a password may itself hold `@`)
      .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/?#\s"'<>]*@/gi, '$1***@')
      // `user:password@host/…` without a scheme, as typed in a reference
      .replace(/(^|[\s"'(=<])[^\s"'/@:<>()]+:[^\s"'/<>()]*@(?=[A-Za-z0-9.[\]:-]+\/)/g, '$1***@')
      .replace(/\b(Basic|Bearer)\s+[A-Za-z0-9._~+/-]+=*/gi, '$1 ***')
      .replace(
        /([?&;\s"]|^)((?:access_|refresh_|identity|id_)?token|password|secret|signature|sig|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|code)=([^&\s"]+)/gi,
        '$1$2=***',
      )
      // JSON fields: "password": "…", "refresh_token": "…", "identitytoken": "…"
      .replace(
        /("(?:(?:access_|refresh_|identity|id_|registry)?token|password|secret|auth)"\s*:\s*")((?:[^"\\]|\\.)*)"/gi,
        '$1***"',
      )
  );
}

/** Redacts a URL for error messages: drops userinfo and masks sensitive query values. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    for (const key of [...u.searchParams.keys()]) {
      if (/token|password|secret|signature|sig|credential|code|key/i.test(key))
        u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    return redact(url);
  }
}

/**
 * True for "does not exist" answers: any registry 404, or a `NOT_FOUND`,
 * `MANIFEST_UNKNOWN` or `NAME_UNKNOWN` error.
 * @internal
 */
export function isNotFoundError(e: unknown): boolean {
  return (
    (e instanceof RegistryError && e.status === 404) ||
    (e instanceof ChartproofError &&
      (e.code === 'NOT_FOUND' || e.code === 'MANIFEST_UNKNOWN' || e.code === 'NAME_UNKNOWN'))
  );
}
