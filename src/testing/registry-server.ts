import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DROP } from './registry-faults.js';

/** Where {@link MemoryRegistry.listen} binds. @public */
export interface ListenOptions {
  /** Interface to bind. Default `'127.0.0.1'`. */
  host?: string;
  /** Port. Default 0: a free port chosen by the system. */
  port?: number;
}

/** A registry served over HTTP. @public */
export interface RunningRegistry {
  /** Base URL, e.g. `http://127.0.0.1:43125`. */
  readonly url: string;
  /** `host:port`, e.g. `127.0.0.1:43125`, as used in references. */
  readonly host: string;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

/** Serves web requests as an in-process handler; DROP resets the connection. @internal */
export type WebHandler = (request: Request) => Promise<Response | typeof DROP>;

/**
 * Serves `handler` with node:http: each IncomingMessage becomes a web `Request`
 * (body streamed, `duplex: 'half'`) and the `Response` is streamed back.
 * @internal
 */
export async function serveHttp(handler: WebHandler, options: ListenOptions = {}): Promise<RunningRegistry> {
  const server = createServer((req, res) => {
    respond(handler, req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      } else {
        res.destroy();
      }
    });
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const hostname = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const host = `${hostname}:${address.port}`;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}`,
    host,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function respond(handler: WebHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  });
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
    headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const method = req.method ?? 'GET';
  const authority = req.headers.host ?? `${req.socket.localAddress}:${req.socket.localPort}`;
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: controller.signal };
  const body = method === 'GET' || method === 'HEAD' ? undefined : requestBody(req);
  if (body) {
    init.body = body.stream;
    init.duplex = 'half';
  }
  let request: Request;
  try {
    request = new Request(new URL(req.url ?? '/', `http://${authority}`), init);
  } catch {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end('bad request\n');
    return;
  }
  const response = await handler(request);
  if (response === DROP) {
    req.socket.destroy();
    return;
  }
  // Whatever of the request body the handler did not read is drained so the
  // connection can be reused.
  body?.drain();
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (method === 'HEAD' || !response.body) {
    await response.body?.cancel().catch(() => {});
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) {
        await reader.cancel().catch(() => {});
        return;
      }
      if (!res.write(value)) await drained(res);
    }
    res.end();
  } finally {
    reader.releaseLock();
  }
}

/** Resolves on `drain` or `close`, removing both listeners (no build-up over a long body). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** A pull-based web stream over an IncomingMessage, with a way to drain the rest. */
function requestBody(req: IncomingMessage): { stream: ReadableStream<Uint8Array>; drain(): void } {
  let finished = false;
  let detached = false;
  let onData: ((chunk: Buffer) => void) | undefined;
  const detach = () => {
    if (detached) return;
    detached = true;
    if (onData) req.off('data', onData);
    req.resume();
  };
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      onData = (chunk: Buffer) => {
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      };
      req.on('data', onData);
      req.once('end', () => {
        finished = true;
        if (!detached) controller.close();
      });
      req.on('error', (err) => {
        if (!detached && !finished) controller.error(err);
      });
    },
    pull() {
      req.resume();
    },
    cancel() {
      detach();
    },
  });
  return {
    stream,
    drain() {
      if (!finished) detach();
    },
  };
}
