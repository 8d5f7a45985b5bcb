/**
 * The admission webhook as an HTTPS server (node:https): the apiserver POSTs an
 * AdmissionReview as JSON and reads one back. Conventions follow Kyverno's handler:
 * Content-Type other than `application/json` → 415; empty or malformed body → 417
 * (an AdmissionReview without `request` → 400); bodies over the bound → 413;
 * otherwise 200 with `application/json; charset=utf-8`. `GET /healthz` answers `ok`;
 * `GET /metrics` the counters in Prometheus text format.
 */
import { createServer, type Server, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChartproofError } from '../errors.js';
import { parseJsonBounded } from '../internal/bounded-parse.js';
import { AdmissionState, type ReviewAdmissionOptions, reviewAdmission } from './admission.js';

/** Largest AdmissionReview body accepted (the apiserver's request limit is 3 MiB). @public */
export const MAX_REVIEW_BODY_BYTES = 3 * 1024 * 1024 + 64 * 1024;

/** The TLS handshake, and then the request headers, must complete within this. */
const HEADERS_TIMEOUT_MS = 10_000;
/** A whole request (headers and body) must arrive within this (the apiserver's longest webhook timeout). */
const REQUEST_TIMEOUT_MS = 30_000;

/** Options of {@link createAdmissionServer}. @public */
export interface AdmissionServerOptions extends Omit<ReviewAdmissionOptions, 'signal' | 'state'> {
  /** TLS material (node:https options: `key`, `cert`, `ca`, …). Required: the apiserver calls https only. */
  tls: Pick<ServerOptions, 'key' | 'cert' | 'ca' | 'minVersion' | 'ciphers' | 'passphrase' | 'pfx'>;
  /** Path of the validating endpoint. Default `/validate`. */
  path?: string;
  /** Cache and counters; a new one by default. */
  state?: AdmissionState;
  /** Body bound. Default {@link MAX_REVIEW_BODY_BYTES}. */
  maxBodyBytes?: number;
  /** Called with each review's outcome or error (logging); never with secrets. */
  onReview?: (event: { uid?: string; allowed?: boolean; message?: string; error?: unknown }) => void;
}

/** A running admission server. @public */
export interface AdmissionServer {
  server: Server;
  state: AdmissionState;
  /**
   * Starts listening (default port 8443 on 0.0.0.0); resolves with the bound port.
   * @throws ChartproofError `LISTEN_FAILED` (address in use, not available, port needs privileges)
   */
  listen(port?: number, host?: string): Promise<number>;
  /**
   * Stops accepting connections, lets reviews in flight finish (at most `graceMs`,
   * default 10 s, then their connections are closed) and resolves when all are gone.
   */
  close(options?: { graceMs?: number }): Promise<void>;
  /** Replaces the TLS key and certificate for new connections (certificate rotation). */
  setTls(tls: AdmissionServerOptions['tls']): void;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function metrics(state: AdmissionState): string {
  const c = state.counters;
  return [
    '# HELP chartproof_admission_reviews_total Admission reviews by outcome.',
    '# TYPE chartproof_admission_reviews_total counter',
    `chartproof_admission_reviews_total{outcome="allowed"} ${c.allowed}`,
    `chartproof_admission_reviews_total{outcome="denied"} ${c.denied}`,
    `chartproof_admission_reviews_total{outcome="error"} ${c.errors}`,
    '',
  ].join('\n');
}

/**
 * Creates the HTTPS admission webhook server (not yet listening).
 * @public
 */
export function createAdmissionServer(options: AdmissionServerOptions): AdmissionServer {
  const state = options.state ?? new AdmissionState();
  const path = options.path ?? '/validate';
  const max = options.maxBodyBytes ?? MAX_REVIEW_BODY_BYTES;
  const { tls, path: _p, state: _s, maxBodyBytes: _m, onReview, ...review } = options;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://webhook');
    if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, 'ok\n');
    if (req.method === 'GET' && url.pathname === '/metrics')
      return send(res, 200, metrics(state), 'text/plain; version=0.0.4; charset=utf-8');
    if (url.pathname !== path) return send(res, 404, 'not found\n');
    if (req.method !== 'POST') return send(res, 405, 'method not allowed\n');
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') return send(res, 415, 'Content-Type must be application/json\n');
    const body = await readBody(req, max);
    if (body === undefined) {
      // The rest of the body is not read: the connection goes with the answer.
      res.setHeader('Connection', 'close');
      return send(res, 413, `request body larger than ${max} bytes\n`);
    }
    if (body.length === 0) return send(res, 417, 'empty body\n');
    let parsed: unknown;
    try {
      parsed = parseJsonBounded(body.toString('utf8'), { what: 'AdmissionReview', source: 'remote' });
    } catch (e) {
      onReview?.({ error: e });
      return send(res, 417, 'malformed AdmissionReview\n');
    }
    // The apiserver's `?timeout=10s` bounds our deadline when it is shorter.
    const timeout = /^(\d+)s$/.exec(url.searchParams.get('timeout') ?? '');
    const deadlineMs = Math.min(
      review.deadlineMs ?? 10_000,
      timeout ? Math.max(1, Number(timeout[1]) * 1000 - 500) : Number.POSITIVE_INFINITY,
    );
    const abort = new AbortController();
    res.on('close', () => abort.abort(new ChartproofError('ABORTED', 'the apiserver closed the connection')));
    try {
      const out = await reviewAdmission(parsed, { ...review, deadlineMs, state, signal: abort.signal });
      onReview?.({
        uid: out.response.uid,
        allowed: out.response.allowed,
        ...(out.response.status ? { message: out.response.status.message } : {}),
      });
      return send(res, 200, JSON.stringify(out), 'application/json; charset=utf-8');
    } catch (e) {
      onReview?.({ error: e });
      if (e instanceof ChartproofError && e.code === 'INVALID_ARGUMENT')
        return send(res, 400, `${e.message}\n`);
      return send(res, 500, 'internal error\n');
    }
  };
  let closing = false;
  const server = createServer(
    {
      ...tls,
      minVersion: tls.minVersion ?? 'TLSv1.2',
      // A connection that never completes the TLS handshake is dropped after 10 s (node's
      // default is 120 s), and the header/request deadlines below are checked every
      // second (at node's default interval, 30 s, they fired up to 30 s late).
      handshakeTimeout: HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      // While closing, answer what is in flight and let the connection go.
      if (closing) res.setHeader('Connection', 'close');
      res.on('close', () => {
        if (closing) setImmediate(() => server.closeIdleConnections());
      });
      handle(req, res).catch((e: unknown) => {
        onReview?.({ error: e });
        if (!res.headersSent) send(res, 500, 'internal error\n');
        else res.destroy();
      });
    },
  );
  // Slow clients cannot hold sockets: headers within 10 s, whole requests within 30 s.
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  return {
    server,
    state,
    listen(port = 8443, host = '0.0.0.0') {
      return new Promise((resolve, reject) => {
        const fail = (e: Error) =>
          reject(
            new ChartproofError('LISTEN_FAILED', `cannot listen on ${host}:${port}: ${e.message}`, {
              cause: e,
              source: 'local',
            }),
          );
        server.once('error', fail);
        server.listen(port, host, () => {
          server.off('error', fail);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close({ graceMs = 10_000 } = {}) {
      closing = true;
      return new Promise((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
    setTls(next) {
      server.setSecureContext({ ...next, minVersion: next.minVersion ?? 'TLSv1.2' });
    },
  };
}
