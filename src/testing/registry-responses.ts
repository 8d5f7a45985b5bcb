import type { DistributionErrorCode } from '../errors.js';

/**
 * Response helpers shared by the in-memory registry modules.
 * @internal
 */

/**
 * Error codes the in-memory registry answers with: the distribution-spec codes plus
 * the legacy `TAG_INVALID` and distribution's `UNKNOWN` for internal errors.
 * @internal
 */
export type RegistryErrorCode = DistributionErrorCode | 'TAG_INVALID' | 'UNKNOWN';

/** Headers as a plain record. @internal */
export type HeaderRecord = Record<string, string>;

/** A JSON response. @internal */
export function jsonResponse(status: number, value: unknown, headers: HeaderRecord = {}): Response {
  const body = new TextEncoder().encode(JSON.stringify(value));
  return new Response(body, {
    status,
    headers: { 'content-type': 'application/json', 'content-length': String(body.byteLength), ...headers },
  });
}

/** A distribution-spec error body `{"errors":[{code,message,detail?}]}`. @internal */
export function errorResponse(
  status: number,
  code: RegistryErrorCode,
  message: string,
  headers: HeaderRecord = {},
  detail?: unknown,
): Response {
  const entry: { code: string; message: string; detail?: unknown } = { code, message };
  if (detail !== undefined) entry.detail = detail;
  return jsonResponse(status, { errors: [entry] }, headers);
}

/** A response without a body (`Content-Length: 0` unless told otherwise). @internal */
export function emptyResponse(status: number, headers: HeaderRecord = {}): Response {
  const noBody = status === 204 || status === 304;
  return new Response(null, {
    status,
    headers: noBody ? headers : { 'content-length': '0', ...headers },
  });
}

/** The plain-text 404 of an unknown route, as Go's HTTP mux writes it. @internal */
export function notFoundRoute(): Response {
  return new Response('404 page not found\n', {
    status: 404,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
}

/** 405 with an `Allow` header. @internal */
export function methodNotAllowed(allow: string[]): Response {
  return errorResponse(405, 'UNSUPPORTED', 'the operation is unsupported', { allow: allow.join(', ') });
}

/**
 * Reads a request body into memory. With a limit, returns `undefined` once the body
 * (or its declared `Content-Length`) is larger.
 * @internal
 */
export async function readBody(
  request: Request,
  limit = Number.POSITIVE_INFINITY,
): Promise<Uint8Array | undefined> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await request.body?.cancel().catch(() => {});
    return undefined;
  }
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return concat(chunks, total);
}

/** Joins byte arrays. @internal */
export function concat(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total ?? chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** Discards a request body that will not be read. @internal */
export async function discardBody(request: Request): Promise<void> {
  if (request.body && !request.bodyUsed) await request.body.cancel().catch(() => {});
}

/** A blob body, honouring a single `Range: bytes=…` on GET. @internal */
export function serveBytes(request: Request, data: Uint8Array, digest: string): Response {
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'docker-content-digest': digest,
    'accept-ranges': 'bytes',
    etag: `"${digest}"`,
  };
  const range =
    request.method === 'GET' ? parseRange(request.headers.get('range'), data.byteLength) : undefined;
  if (range === 'unsatisfiable') {
    return new Response(null, {
      status: 416,
      headers: { ...headers, 'content-range': `bytes */${data.byteLength}`, 'content-length': '0' },
    });
  }
  if (range) {
    const part = data.slice(range.start, range.end + 1);
    return new Response(part, {
      status: 206,
      headers: {
        ...headers,
        'content-length': String(part.byteLength),
        'content-range': `bytes ${range.start}-${range.end}/${data.byteLength}`,
      },
    });
  }
  headers['content-length'] = String(data.byteLength);
  return new Response(request.method === 'HEAD' ? null : data.slice(), { status: 200, headers });
}

/** One byte range of RFC 9110; several ranges or a malformed header are ignored. */
function parseRange(
  header: string | null,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
