import type { HttpResponse, RequestBody } from './transport/fetch.js';
import { ChartproofError, redactUrl } from '../errors.js';
import type { Descriptor } from './descriptor.js';
import type { RepositoryTransport } from './internal/transport.js';
import type { CallOptions } from './target.js';
import { discard, toRegistryError } from './transport/errors.js';
import { streamOf, verifyBytes, verifyStream } from './verify.js';

/** Blob upload behaviour. @public */
export interface UploadOptions {
  /**
   * Upload streams in `PATCH` chunks of this many bytes (each chunk buffered, so it
   * can be retried and resumed after a 416). Default: one monolithic `PUT`, with the
   * body streamed and verified on the way out.
   */
  chunkSize?: number;
  /** Progress callback: bytes of this blob acknowledged by the registry so far. */
  onProgress?: (bytes: number) => void;
}

/**
 * Push options of a copy whose source stream is one of chartproof's own verified
 * streams (a `Repository`'s `fetch`): it errors before its end unless every byte matches
 * the descriptor, so hashing it again on the way out would only cost CPU.
 * @internal
 */
export interface VerifiedPushOptions extends CallOptions {
  sourceVerified?: boolean;
  /**
   * An upload session the registry already opened (the absolute `Location` of a
   * refused mount's 202): the blob goes into it instead of a new `POST`'s.
   */
  session?: string;
}

/**
 * Uploads a blob: `POST` to open a session, then a monolithic `PUT ?digest=` or a
 * chunked `PATCH` series closed by `PUT`. A failed upload is cancelled (best effort)
 * so no half-written session lingers.
 */
export async function pushBlob(
  repo: RepositoryTransport,
  desc: Descriptor,
  content: ReadableStream<Uint8Array> | Uint8Array,
  options: UploadOptions & VerifiedPushOptions = {},
): Promise<void> {
  if (content instanceof Uint8Array) verifyBytes(content, desc);
  const scopes = repo.scopes('pull', 'push');
  let location: string;
  let minChunk = 0;
  if (options.session !== undefined) {
    location = options.session;
  } else {
    const start = repo.url('blobs/uploads/');
    const res = await repo.send({
      method: 'POST',
      url: start,
      scopes,
      signal: options.signal,
      headers: { 'content-length': '0' },
    });
    if (res.status === 201) {
      // Some registries complete an upload for content they already hold; a bare POST
      // names no blob, so only an answer that names this one says it is stored.
      await discard(res);
      const echoed = res.headers.get('docker-content-digest');
      if (echoed === desc.digest) return;
      throw new ChartproofError(
        'PROTOCOL',
        `registry answered 201 to an upload of ${desc.digest} without storing it (Docker-Content-Digest ${echoed ?? 'absent'})`,
      );
    }
    if (res.status !== 202) throw await toRegistryError(res, 'POST', start);
    await discard(res);
    location = sessionUrl(res, start);
    minChunk = Number(res.headers.get('oci-chunk-min-length')) || 0;
  }
  try {
    const chunkSize = options.chunkSize !== undefined ? Math.max(options.chunkSize, minChunk) : undefined;
    if (chunkSize !== undefined && chunkSize > 0) {
      location = await uploadChunks(repo, location, desc, content, chunkSize, options);
      await finish(repo, location, desc, undefined, options);
    } else {
      const body = content instanceof Uint8Array ? content : undefined;
      const stream =
        content instanceof Uint8Array
          ? undefined
          : options.sourceVerified === true
            ? content
            : verifyStream(content, desc);
      await finish(repo, location, desc, body ?? stream, options);
    }
    options.onProgress?.(desc.size);
  } catch (e) {
    const cancel = await repo
      .send({ method: 'DELETE', url: location, scopes, signal: AbortSignal.timeout(10_000) })
      .catch(() => undefined);
    if (cancel) await discard(cancel);
    throw e;
  }
}

async function finish(
  repo: RepositoryTransport,
  location: string,
  desc: Descriptor,
  body: Uint8Array | ReadableStream<Uint8Array> | undefined,
  options: CallOptions,
): Promise<void> {
  const url = new URL(location);
  url.searchParams.set('digest', desc.digest);
  const target = url.toString();
  const streamed = body instanceof ReadableStream;
  // A streamed body is declared with the descriptor's size too: sent as is rather than
  // in chunked framing (no per-chunk framing writes here, no de-framing at the
  // registry). A stream that delivers another length has already failed by then
  // (`SIZE_MISMATCH`/`TRAILING_DATA` from the verifying stream), so the declared
  // length is never a promise broken silently.
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-length': String(streamed ? desc.size : (body?.byteLength ?? 0)),
  };
  const res = await repo.send({
    method: 'PUT',
    url: target,
    headers,
    body: () => (body ?? new Uint8Array()) as RequestBody,
    replayable: !streamed,
    scopes: repo.scopes('pull', 'push'),
    signal: options.signal,
    transfer: 'blob',
  });
  if (res.status !== 201 && res.status !== 204 && res.status !== 200)
    throw await toRegistryError(res, 'PUT', target);
  await discard(res);
  const echoed = res.headers.get('docker-content-digest');
  if (echoed && echoed !== desc.digest && echoed.split(':')[0] === desc.digest.split(':')[0]) {
    throw new ChartproofError(
      'DIGEST_MISMATCH',
      `registry stored blob as ${echoed}, expected ${desc.digest}`,
    );
  }
}

async function uploadChunks(
  repo: RepositoryTransport,
  location: string,
  desc: Descriptor,
  content: ReadableStream<Uint8Array> | Uint8Array,
  chunkSize: number,
  options: UploadOptions & CallOptions,
): Promise<string> {
  const source = verifyStream(content instanceof Uint8Array ? streamOf(content) : content, desc);
  const reader = source.getReader();
  let offset = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    let sent = 0;
    // Resume loop: a 416 means the registry holds a different amount; ask and resend the rest.
    for (let attempt = 0; sent < chunk.byteLength; attempt++) {
      const part = chunk.subarray(sent);
      const startByte = offset + sent;
      const res = await repo.send({
        method: 'PATCH',
        url: location,
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${startByte}-${startByte + part.byteLength - 1}`,
          'content-length': String(part.byteLength),
        },
        body: () => part as RequestBody,
        scopes: repo.scopes('pull', 'push'),
        signal: options.signal,
        transfer: 'blob',
      });
      if (res.status === 202) {
        await discard(res);
        location = sessionUrl(res, location);
        const end = rangeEnd(res.headers.get('range'));
        const acked = end === undefined ? startByte + part.byteLength : end + 1;
        // Each PATCH must add bytes, and a chunk taken in parts only a few times: an
        // upload has no total deadline, so nothing else would end the resending.
        const partial = acked < startByte + part.byteLength;
        if (acked <= startByte || acked > startByte + part.byteLength || (partial && attempt >= 3)) {
          throw new ChartproofError(
            'PROTOCOL',
            `registry acknowledged ${acked} bytes, expected ${startByte + part.byteLength}`,
          );
        }
        sent = acked - offset;
        options.onProgress?.(acked);
        continue;
      }
      if (res.status === 416 && attempt < 3) {
        await discard(res);
        const status = await repo.send({
          method: 'GET',
          url: location,
          scopes: repo.scopes('pull', 'push'),
          signal: options.signal,
        });
        await discard(status);
        if (status.status !== 204 && status.status !== 202)
          throw await toRegistryError(status, 'GET', location);
        location = sessionUrl(status, location);
        const end = rangeEnd(status.headers.get('range'));
        // `0-0` is what registries (distribution included) report for an empty session.
        const have = end === undefined || (end === 0 && offset === 0) ? 0 : end + 1;
        if (have < offset || have > offset + chunk.byteLength) {
          throw new ChartproofError(
            'BLOB_UPLOAD_INVALID',
            `cannot resume upload: registry holds ${have} bytes, chunk covers ${offset}-${offset + chunk.byteLength}`,
          );
        }
        sent = have - offset;
        continue;
      }
      throw await toRegistryError(res, 'PATCH', location);
    }
    offset += chunk.byteLength;
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let v = value;
    while (v.byteLength > 0) {
      const room = chunkSize - pendingBytes;
      const take = v.subarray(0, room);
      pending.push(take);
      pendingBytes += take.byteLength;
      v = v.subarray(take.byteLength);
      if (pendingBytes === chunkSize) await flush();
    }
  }
  if (pendingBytes > 0) await flush();
  return location;
}

function sessionUrl(res: HttpResponse, base: string): string {
  const location = res.headers.get('location');
  if (!location)
    throw new ChartproofError(
      'PROTOCOL',
      `registry answered ${res.status} without a Location for the upload`,
    );
  return resolveSessionUrl(location, base);
}

/**
 * Resolves an upload session `Location` against the URL that answered it. A session
 * on plain HTTP for an HTTPS registry is refused (`INSECURE_REQUEST`), as a redirect
 * from HTTPS to HTTP is: the same host name would get the registry's credentials in
 * clear.
 */
export function resolveSessionUrl(location: string, base: string): string {
  const next = new URL(location, base);
  if (next.protocol === 'http:' && new URL(base).protocol === 'https:') {
    throw new ChartproofError(
      'INSECURE_REQUEST',
      `refusing upload session on plain HTTP ${redactUrl(next.toString())} from an HTTPS registry`,
    );
  }
  return next.toString();
}

/** Parses `Range: 0-<end>` (also `bytes=0-<end>`). */
function rangeEnd(value: string | null): number | undefined {
  const m = value ? /^(?:bytes=)?(\d+)-(\d+)$/.exec(value.trim()) : null;
  return m ? Number(m[2]) : undefined;
}
