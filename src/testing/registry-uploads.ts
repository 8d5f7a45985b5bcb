import { randomUUID } from 'node:crypto';
import type { Descriptor } from '../oci/descriptor.js';
import { createDigester, type Digest, isDigest, parseDigest } from '../oci/digest.js';
import type { MemoryStore } from '../oci/memory-store.js';
import { isValidRepositoryName } from '../oci/reference.js';
import {
  concat,
  discardBody,
  emptyResponse,
  errorResponse,
  methodNotAllowed,
  readBody,
} from './registry-responses.js';

/** Repository access the upload handlers need. @internal */
export interface UploadHost {
  /** The repository's store, or undefined when it does not exist. */
  store(name: string): MemoryStore | undefined;
  /** The repository's store, created when missing. */
  createStore(name: string): MemoryStore;
  /** Whether the current request may pull from `name` (cross-repository mount). */
  mayPull(name: string): boolean;
}

interface UploadSession {
  readonly id: string;
  readonly name: string;
  chunks: Uint8Array[];
  size: number;
}

/**
 * Blob upload sessions of one registry (POST, PATCH, GET status, PUT, DELETE).
 * @internal
 */
export class UploadSessions {
  readonly #sessions = new Map<string, UploadSession>();

  /** Number of open sessions. */
  get size(): number {
    return this.#sessions.size;
  }

  /** `POST /v2/<name>/blobs/uploads/` with optional `digest` or `mount`/`from`. */
  async start(host: UploadHost, request: Request, url: URL, name: string): Promise<Response> {
    const mount = url.searchParams.get('mount');
    if (mount !== null) {
      if (!isDigest(mount)) return digestInvalid(mount);
      const from = url.searchParams.get('from');
      const source =
        from !== null && isValidRepositoryName(from) && host.mayPull(from) ? host.store(from) : undefined;
      const desc = source?.describe(mount);
      const data = source?.get(mount);
      if (desc && data) {
        await discardBody(request);
        const target = host.createStore(name);
        if (!target.describe(mount)) target.putVerified(desc, data);
        return created(name, mount);
      }
    }
    const digest = url.searchParams.get('digest');
    if (mount === null && digest !== null) {
      if (!isDigest(digest)) return digestInvalid(digest);
      const data = (await readBody(request))!;
      if (digestOfChunks([data], digest) !== digest) return digestMismatch(digest);
      commit(host, name, digest, data);
      return created(name, digest);
    }
    await discardBody(request);
    const session: UploadSession = { id: randomUUID(), name, chunks: [], size: 0 };
    this.#sessions.set(session.id, session);
    return emptyResponse(202, sessionHeaders(session));
  }

  /** Requests on `/v2/<name>/blobs/uploads/<id>`. */
  async handle(host: UploadHost, request: Request, url: URL, name: string, id: string): Promise<Response> {
    const session = this.#sessions.get(id);
    if (!session || session.name !== name) {
      await discardBody(request);
      return errorResponse(404, 'BLOB_UPLOAD_UNKNOWN', `upload ${id} is unknown to the registry`);
    }
    switch (request.method) {
      case 'GET':
        return emptyResponse(204, sessionHeaders(session));
      case 'DELETE':
        this.#sessions.delete(id);
        return emptyResponse(204);
      case 'PATCH':
        return this.#patch(request, session);
      case 'PUT':
        return this.#put(host, request, url, session);
      default:
        await discardBody(request);
        return methodNotAllowed(['GET', 'PATCH', 'PUT', 'DELETE']);
    }
  }

  async #patch(request: Request, session: UploadSession): Promise<Response> {
    const chunk = await this.#readChunk(request, session);
    if (chunk instanceof Response) return chunk;
    session.chunks.push(chunk);
    session.size += chunk.byteLength;
    return emptyResponse(202, sessionHeaders(session));
  }

  async #put(host: UploadHost, request: Request, url: URL, session: UploadSession): Promise<Response> {
    const digest = url.searchParams.get('digest');
    if (digest === null || !isDigest(digest)) {
      await discardBody(request);
      return digestInvalid(digest ?? '');
    }
    const chunk = await this.#readChunk(request, session);
    if (chunk instanceof Response) return chunk;
    const chunks = chunk.byteLength > 0 ? [...session.chunks, chunk] : session.chunks;
    // Like distribution, a failed commit cancels the session.
    this.#sessions.delete(session.id);
    if (digestOfChunks(chunks, digest) !== digest) return digestMismatch(digest);
    commit(host, session.name, digest, concat(chunks));
    return created(session.name, digest);
  }

  /** Reads a chunk, checking an optional `Content-Range` against the session's offset. */
  async #readChunk(request: Request, session: UploadSession): Promise<Uint8Array | Response> {
    const header = request.headers.get('content-range');
    let range: { start: number; end: number } | undefined;
    if (header !== null) {
      const m = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(header.trim());
      range = m ? { start: Number(m[1]), end: Number(m[2]) } : undefined;
      if (!range || range.end < range.start) {
        await discardBody(request);
        return rangeError(session, `invalid Content-Range ${JSON.stringify(header)}`);
      }
      if (range.start !== session.size) {
        await discardBody(request);
        return rangeError(session, `chunk starts at ${range.start}, upload holds ${session.size} bytes`);
      }
    }
    const data = (await readBody(request))!;
    if (range) {
      if (range.start !== session.size)
        return rangeError(session, `chunk starts at ${range.start}, upload holds ${session.size} bytes`);
      if (range.end - range.start + 1 !== data.byteLength) {
        return errorResponse(
          400,
          'SIZE_INVALID',
          `Content-Range ${header} covers ${range.end - range.start + 1} bytes, body has ${data.byteLength}`,
        );
      }
    }
    return data;
  }
}

function commit(host: UploadHost, name: string, digest: Digest, data: Uint8Array): void {
  const store = host.createStore(name);
  if (store.describe(digest)) return;
  const desc: Descriptor = { mediaType: 'application/octet-stream', digest, size: data.byteLength };
  store.putVerified(desc, data);
}

function digestOfChunks(chunks: readonly Uint8Array[], expected: Digest): Digest {
  const digester = createDigester(parseDigest(expected).algorithm);
  for (const c of chunks) digester.update(c);
  return digester.digest();
}

function sessionHeaders(session: UploadSession): Record<string, string> {
  return {
    location: `/v2/${session.name}/blobs/uploads/${session.id}`,
    range: `0-${Math.max(session.size - 1, 0)}`,
    'docker-upload-uuid': session.id,
  };
}

function created(name: string, digest: Digest): Response {
  return emptyResponse(201, { location: `/v2/${name}/blobs/${digest}`, 'docker-content-digest': digest });
}

function rangeError(session: UploadSession, message: string): Response {
  return errorResponse(416, 'BLOB_UPLOAD_INVALID', message, sessionHeaders(session));
}

function digestInvalid(value: string): Response {
  return errorResponse(400, 'DIGEST_INVALID', `invalid digest ${JSON.stringify(value.slice(0, 200))}`);
}

function digestMismatch(digest: string): Response {
  return errorResponse(400, 'DIGEST_INVALID', `provided digest ${digest} did not match uploaded content`);
}
