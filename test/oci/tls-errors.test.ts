import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { ChartproofError } from '../../src/errors.js';
import { RegistryClient, type RegistryClientOptions } from '../../src/oci/client.js';
import { toTlsError } from '../../src/oci/transport/errors.js';
import { captureIo } from '../helpers/cli-io.js';
import {
  type CertFiles,
  createSelfSignedCert,
  createTestPki,
  makeTempDirSync,
  removeDir,
  requireTool,
  type TestPki,
} from '../helpers/services.js';

// A TLS failure is not transient: the same handshake fails the same way. It is
// reported once, with what to do, instead of after seconds of silent retries.

function fetchFailed(code: string, message = code): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) });
}

describe('toTlsError', () => {
  it.each([
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', '--ca-file FILE'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'NODE_EXTRA_CA_CERTS'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', '--ca-file FILE'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', '--ca-file FILE'],
    ['CERT_HAS_EXPIRED', 'expired'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'does not name r.example'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'speaks plain HTTP: use --plain-http'],
    ['ERR_SSL_PACKET_LENGTH_TOO_LONG', 'speaks plain HTTP: use --plain-http'],
  ])('%s becomes TLS with advice', (code, advice) => {
    const err = toTlsError(fetchFailed(code), 'GET', 'https://r.example/v2/');
    expect(err).toBeInstanceOf(ChartproofError);
    expect(err!.code).toBe('TLS');
    expect(err!.message).toContain(advice);
  });

  it('leaves other network errors alone', () => {
    expect(toTlsError(fetchFailed('ECONNREFUSED'), 'GET', 'https://r.example/v2/')).toBeUndefined();
    expect(toTlsError(new Error('boom'), 'GET', 'https://r.example/v2/')).toBeUndefined();
  });
});

const missing = requireTool('openssl');

describe.skipIf(missing)('TLS failures against loopback servers', () => {
  let dir: string;
  let pki: TestPki;
  let selfSigned: CertFiles;
  const servers: Server[] = [];

  beforeAll(() => {
    dir = makeTempDirSync('chartproof-tls-');
    pki = createTestPki(dir, { hosts: ['localhost'] });
    selfSigned = createSelfSignedCert(dir, { name: 'self', cn: 'localhost' });
  });

  afterAll(async () => {
    for (const s of servers) {
      (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      s.close();
    }
    removeDir(dir);
  });

  /** Starts `server` on loopback and counts the TCP connections it accepts. */
  async function listen(server: Server): Promise<{ port: number; connections: () => number }> {
    let count = 0;
    server.on('connection', () => count++);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    return { port: (server.address() as AddressInfo).port, connections: () => count };
  }

  const ok = (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  };

  function https(cert: { certPem: string; keyPem?: string; keyFile?: string }, key: string) {
    return listen(createHttpsServer({ cert: cert.certPem, key }, ok));
  }

  async function failure(host: string, options: RegistryClientOptions = {}): Promise<ChartproofError> {
    const client = new RegistryClient({ retry: { baseDelayMs: 50 }, ...options });
    try {
      await client.ping(host);
    } catch (e) {
      return e as ChartproofError;
    } finally {
      await client.close();
    }
    throw new Error('expected the ping to fail');
  }

  it('an unknown CA: says to pass --ca-file, and does not retry', async () => {
    const { readFileSync } = await import('node:fs');
    const s = await https(pki, readFileSync(pki.keyFile, 'utf8'));
    const err = await failure(`localhost:${s.port}`);
    expect(err.code).toBe('TLS');
    expect(err.message).toContain('pass --ca-file FILE (option `ca`) (or set NODE_EXTRA_CA_CERTS)');
    expect(s.connections()).toBe(1);
    // With the CA trusted, the same server works.
    const client = new RegistryClient({ ca: pki.caPem });
    await client.ping(`localhost:${s.port}`);
    await client.close();
  });

  it('a self-signed certificate: the same advice', async () => {
    const s = await https(selfSigned, selfSigned.keyPem);
    const err = await failure(`localhost:${s.port}`);
    expect(err.code).toBe('TLS');
    expect(err.message).toContain('--ca-file');
    expect(s.connections()).toBe(1);
  });

  it('a certificate for another name: says so', async () => {
    const { readFileSync } = await import('node:fs');
    const s = await https(pki, readFileSync(pki.keyFile, 'utf8'));
    const err = await failure(`127.0.0.1:${s.port}`, { ca: pki.caPem });
    expect(err.code).toBe('TLS');
    expect(err.message).toContain(`does not name 127.0.0.1:${s.port}`);
    expect(s.connections()).toBe(1);
  });

  it('HTTPS against a plain-HTTP registry: says to use --plain-http, and does not retry', async () => {
    const s = await listen(createHttpServer(ok));
    const err = await failure(`127.0.0.1:${s.port}`);
    expect(err.code).toBe('TLS');
    expect(err.message).toContain('this registry speaks plain HTTP: use --plain-http');
    expect(s.connections()).toBe(1);
  });

  it('the CLI prints the advice and exits 3, also with --json', async () => {
    const s = await listen(createHttpServer(ok));
    const text = captureIo();
    expect(await run(['tags', `127.0.0.1:${s.port}/charts/app`], text.io)).toBe(3);
    expect(text.err()).toContain('use --plain-http');
    const json = captureIo();
    expect(await run(['--json', 'tags', `127.0.0.1:${s.port}/charts/app`], json.io)).toBe(3);
    expect(JSON.parse(json.err().trim().split('\n').pop()!).error.code).toBe('TLS');
    expect(s.connections()).toBe(2);
  });
});
