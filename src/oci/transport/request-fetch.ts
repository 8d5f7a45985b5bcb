import { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Dispatcher } from 'undici';
import type { HttpFetch, HttpResponse, UndiciRequest } from './fetch.js';

/**
 * The `RegistryClient`'s default transport: a `FetchLike` on undici's `request` API
 * (Node streams) instead of its `fetch`. What the client asks of a transport is a
 * narrow slice of `fetch` (no redirects followed, no cookies, no CORS, no caching),
 * and undici's WHATWG `fetch` machinery costs about a third more CPU per byte on a
 * blob copy (its body pump and request-body iteration; see bench/images.bench.ts),
 * which on a loaded machine is throughput. Requests it cannot take on the fast path
 * (a `Request` object, a redirect mode other than `manual`, a `Blob`/`FormData`
 * body) go to undici's `fetch` on the same pool. Not exported from an entry point.
 *
 * What stays as `fetch` does it: failures reject with `TypeError('fetch failed')`
 * whose `cause` is undici's error (the client's error mapping reads the cause chain);
 * a body that breaks errors its reads with `TypeError('terminated')`, same cause;
 * `HEAD`, 204, 205 and 304 answers have a null body; `gzip`/`deflate`/`br` bodies are
 * decoded (no `Accept-Encoding` is sent, so only a server that ignores that sends one).
 */
export function requestFetch(dispatcher: Dispatcher, request: UndiciRequest): HttpFetch {
  return async (input, init = {}) => {
    const body = init.body ?? undefined;
    const fast: boolean =
      (typeof input === 'string' || input instanceof URL) &&
      init.redirect === 'manual' &&
      (body === undefined ||
        typeof body === 'string' ||
        body instanceof Uint8Array ||
        body instanceof ReadableStream);
    if (!fast) {
      const { fetch } = await import('undici');
      return fetch(
        input as never,
        { ...(init as object), dispatcher } as never,
      ) as unknown as Promise<HttpResponse>;
    }
    const method = (init.method ?? 'GET').toUpperCase();
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    // A web stream body is handed over as a Node stream: undici then writes it with
    // backpressure instead of iterating it a promise per chunk.
    const nodeBody = body instanceof ReadableStream ? Readable.fromWeb(body as never) : body;
    // Its failure reaches the caller through the request. undici listens for it only
    // while it owns the stream; an unheard 'error' after that would be uncaught.
    if (nodeBody instanceof Readable) nodeBody.on('error', () => {});
    let answer: Dispatcher.ResponseData;
    try {
      answer = await request.call(dispatcher, {
        origin: new URL(input).origin,
        path: pathOf(input),
        method: method as Dispatcher.HttpMethod,
        headers: headerRecord(init.headers),
        body: nodeBody as never,
        signal: signal as never,
      });
    } catch (e) {
      if (nodeBody instanceof Readable) nodeBody.destroy();
      if (signal?.aborted) throw signal.reason;
      throw new TypeError('fetch failed', { cause: e });
    }
    const status = answer.statusCode;
    if (status < 200 || status > 599) {
      answer.body.destroy();
      throw new TypeError('fetch failed', { cause: new Error(`unexpected status ${status}`) });
    }
    const headers = new AnswerHeaders(answer.headers);
    if (method === 'HEAD' || status === 204 || status === 205 || status === 304) {
      answer.body.dump().catch(() => {});
      return { status, statusText: answer.statusText ?? '', headers, body: null };
    }
    const stream = webBody(decoded(answer.body, headers.get('content-encoding')));
    return { status, statusText: answer.statusText ?? '', headers, body: stream };
  };
}

/** Response headers as `Headers.get`/`has` see them: names case-insensitive, repeated fields joined with `, `. */
class AnswerHeaders {
  readonly #fields = new Map<string, string>();

  constructor(raw: Record<string, string | string[] | undefined>) {
    for (const [name, value] of Object.entries(raw)) {
      if (value === undefined) continue;
      const key = name.toLowerCase();
      const joined = Array.isArray(value) ? value.join(', ') : value;
      const before = this.#fields.get(key);
      this.#fields.set(key, before === undefined ? joined : `${before}, ${joined}`);
    }
  }

  get(name: string): string | null {
    return this.#fields.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.#fields.has(name.toLowerCase());
  }
}

function pathOf(url: string | URL): string {
  const u = typeof url === 'string' ? new URL(url) : url;
  return `${u.pathname}${u.search}`;
}

function headerRecord(h: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  // Not `instanceof Headers`: reading that global makes Node load its own copy of
  // undici (~12 ms), which nothing else here needs.
  const entries: Iterable<[string, string | undefined]> = Array.isArray(h)
    ? h
    : typeof (h as { entries?: unknown }).entries === 'function'
      ? (h as Headers).entries()
      : Object.entries(h as Record<string, string>);
  for (const [k, v] of entries) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

/** The body decoded as `fetch` would (innermost coding last in the header). */
function decoded(body: Readable, encoding: string | null): Readable {
  if (!encoding) return body;
  let out = body;
  const codings = encoding
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity')
    .reverse();
  for (const coding of codings) {
    const step =
      coding === 'gzip' || coding === 'x-gzip'
        ? createGunzip()
        : coding === 'deflate'
          ? createInflate()
          : coding === 'br'
            ? createBrotliDecompress()
            : undefined;
    // An unknown coding is passed through undecoded, as `fetch` does.
    if (!step) break;
    const from = out;
    from.on('error', (e) => step.destroy(e));
    out = from.pipe(step);
  }
  if (out !== body) out.on('close', () => body.destroy());
  return out;
}

/**
 * A pull-driven web stream over a Node readable: one chunk per read, nothing buffered
 * ahead beyond what the Node stream holds; cancelling it destroys the Node stream
 * (which aborts the exchange and frees the connection).
 */
function webBody(body: Readable): ReadableStream<Uint8Array> {
  // Errors reach the reader through the iterator; until it has started (or after a
  // cancel, whose destroy emits an abort error) nothing else listens, and an
  // unheard 'error' would be an uncaught exception.
  body.on('error', () => {});
  const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let step: IteratorResult<Buffer>;
        try {
          step = await it.next();
        } catch (e) {
          throw new TypeError('terminated', { cause: e });
        }
        if (step.done) controller.close();
        // A plain Uint8Array view (no copy), as `fetch` hands out, not a Buffer.
        else
          controller.enqueue(new Uint8Array(step.value.buffer, step.value.byteOffset, step.value.byteLength));
      },
      cancel() {
        body.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}
