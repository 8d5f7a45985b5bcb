import { ChartproofError, type RegistryDiagnostic, RegistryError, redactUrl } from '../../errors.js';
import { parseJsonBounded } from '../../internal/bounded-parse.js';
import { MAX_ERROR_BODY_BYTES } from '../verify.js';
import type { HttpResponse } from './fetch.js';

/** Reads at most `limit` bytes of a response body as text, discarding the rest. */
export async function readTextLimited(res: HttpResponse, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = limit - total;
      if (room <= 0) break;
      chunks.push(value.byteLength > room ? value.subarray(0, room) : value);
      total += Math.min(room, value.byteLength);
    }
  } catch (e) {
    // A deadline or an abort is not a broken body: it ends the operation.
    if (e instanceof ChartproofError && e.code === 'TIMEOUT') throw e;
    // a broken error body is still an error response; report what we have
  } finally {
    reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Bodies up to this size are read to their end when discarded; larger ones are cancelled. */
const DRAIN_LIMIT = 64 * 1024;

/**
 * Discards a response body. A short body (the usual empty or small JSON of a 201,
 * 202 or 404) is read to its end, so the connection goes back to the keep-alive
 * pool: cancelling a body aborts the exchange and closes the socket, which costs a
 * new connection (and the registry's work to accept it) for the next request.
 */
export async function discard(res: HttpResponse): Promise<void> {
  const body = res.body;
  if (!body) return;
  const declared = res.headers.get('content-length');
  const reader = body.getReader();
  try {
    if (declared !== null && !(Number(declared) <= DRAIN_LIMIT)) return;
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      total += value.byteLength;
      if (total > DRAIN_LIMIT) return;
    }
  } catch {
    // a broken body is discarded all the same
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** Converts an unexpected response into a {@link RegistryError} (body capped at 64 KiB). */
export async function toRegistryError(
  res: HttpResponse,
  method: string,
  url: string,
): Promise<RegistryError> {
  const text = method === 'HEAD' ? '' : await readTextLimited(res, MAX_ERROR_BODY_BYTES);
  return new RegistryError({ status: res.status, method, url, diagnostics: parseErrorBody(text) });
}

/** Parses a distribution-spec error body; anything else yields no diagnostics. */
export function parseErrorBody(text: string): RegistryDiagnostic[] {
  if (!text) return [];
  try {
    const parsed = parseJsonBounded(text, { what: 'error body', source: 'remote' }) as { errors?: unknown };
    if (!parsed || typeof parsed !== 'object' || !Array.isArray(parsed.errors)) return [];
    const out: RegistryDiagnostic[] = [];
    for (const e of parsed.errors.slice(0, 32)) {
      if (!e || typeof e !== 'object' || typeof (e as { code?: unknown }).code !== 'string') continue;
      const d: RegistryDiagnostic = { code: String((e as { code: string }).code).slice(0, 64) };
      const m = (e as { message?: unknown }).message;
      if (typeof m === 'string') d.message = m.slice(0, 512);
      if ((e as { detail?: unknown }).detail !== undefined) d.detail = (e as { detail?: unknown }).detail;
      out.push(d);
    }
    return out;
  } catch {
    return [];
  }
}

/** Certificate verification failures that a trusted CA would fix. */
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const EXPIRED_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** The first `code` in an error's cause chain (undici nests the socket error). */
function causeCode(err: unknown): { code: string; message: string } | undefined {
  let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    if (typeof e.code === 'string' && e.code !== '')
      return { code: e.code, message: typeof e.message === 'string' ? e.message : '' };
    e = e.cause as typeof e;
  }
  return undefined;
}

/**
 * A `TLS` error for a handshake failure, with what to do about it; undefined when the
 * error is not one. TLS errors are not retried: the same handshake fails the same way.
 */
export function toTlsError(err: unknown, method: string, url: string): ChartproofError | undefined {
  const c = causeCode(err);
  if (!c) return undefined;
  const where = `${method} ${redactUrl(url)}`;
  let host = '';
  try {
    host = new URL(url).host;
  } catch {
    // keep it empty
  }
  let advice: string | undefined;
  if (UNTRUSTED_CODES.has(c.code)) {
    advice = `the TLS certificate of ${host} is not signed by a trusted authority (${c.code}): pass --ca-file FILE (option \`ca\`) (or set NODE_EXTRA_CA_CERTS)`;
  } else if (EXPIRED_CODES.has(c.code)) {
    advice = `the TLS certificate of ${host} is expired or not yet valid (${c.code})`;
  } else if (c.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    advice = `the TLS certificate does not name ${host} (${c.code})`;
  } else if (
    c.code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    c.code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' ||
    c.code === 'ERR_SSL_HTTP_REQUEST' ||
    /wrong version number|packet length too long|http request/i.test(
      c.code.startsWith('ERR_SSL') ? c.message : '',
    )
  ) {
    advice = `this registry speaks plain HTTP: use --plain-http (option \`plainHttp\`) (${c.code})`;
  } else if (c.code.startsWith('ERR_SSL_') || c.code.startsWith('ERR_TLS_') || c.code.startsWith('CERT_')) {
    advice = `TLS handshake with ${host} failed (${c.code}): ${c.message}`;
  }
  return advice === undefined ? undefined : new ChartproofError('TLS', `${where}: ${advice}`, { cause: err });
}

/** Maps a thrown fetch error to a typed error; abort reasons pass through unchanged. */
export function toNetworkError(err: unknown, method: string, url: string, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  if (err instanceof ChartproofError) return err;
  const tls = toTlsError(err, method, url);
  if (tls) return tls;
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? '';
  const detail = e.cause?.message ?? e.message ?? String(err);
  const timeout = /TIMEOUT/i.test(code) || e.name === 'TimeoutError';
  return new ChartproofError(
    timeout ? 'TIMEOUT' : 'NETWORK',
    `${method} ${redactUrl(url)}: ${timeout ? 'timed out' : 'network error'}${code ? ` (${code})` : ''}: ${detail}`,
    { cause: err },
  );
}
