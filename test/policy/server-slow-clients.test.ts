import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/oci/index.js';
import { type AdmissionServer, createAdmissionServer } from '../../src/policy/server.js';
import { parseTrustConfig } from '../../src/policy/trust.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { createTestPki, makeTempDirSync, requireTool, type TestPki } from '../helpers/services.js';

const missing = requireTool('openssl');
if (missing) console.warn(`admission server slow-client tests (2) skipped: ${missing}`);

/** Milliseconds until the server closes a connection (capped). */
function closedAfter(
  open: () => import('node:net').Socket,
  cap: number,
  onOpen?: (s: import('node:net').Socket) => void,
) {
  return new Promise<number>((resolve) => {
    const start = Date.now();
    const s = open();
    const done = () => {
      clearTimeout(t);
      resolve(Date.now() - start);
    };
    s.on('close', done);
    s.resume(); // read the 408 and the end, so the close is seen
    s.on('error', () => {});
    s.on('secureConnect', () => onOpen?.(s));
    const t = setTimeout(() => {
      s.destroy();
    }, cap);
  });
}

describe.skipIf(missing !== undefined)('admission server: slow clients', () => {
  let pki: TestPki;
  let webhook: AdmissionServer;
  let port: number;
  beforeAll(async () => {
    pki = createTestPki(makeTempDirSync('admission-review-tls-'));
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string;
    webhook = createAdmissionServer({
      tls: { key: readFileSync(pki.keyFile), cert: pki.certPem },
      trust: parseTrustConfig({ registries: ['registry.test'], verify: { keys: [pem] } }),
      client: new RegistryClient({ fetch: new MemoryRegistry().fetch, plainHttp: true }),
    });
    port = await webhook.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await webhook?.close({ graceMs: 0 });
  });

  it('closes the connection after refusing an oversized body, instead of reading the rest', async () => {
    const s = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false });
    s.on('error', () => {});
    let answer = '';
    s.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
    });
    const start = Date.now();
    const closed = new Promise<number>((resolve) => s.on('close', () => resolve(Date.now() - start)));
    s.on('secureConnect', () => {
      // Under the declared-length check, over the streamed one: the refusal comes mid-body.
      s.write(
        'POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      );
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 4; i++) s.write(`${chunk.length.toString(16)}\r\n${chunk.toString('latin1')}\r\n`);
      // …and the body goes on (the client never sends the last chunk).
    });
    const ms = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 8_000))]);
    s.destroy();
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThan(5_000);
  });

  it('slow clients are cut off on time: no TLS handshake in 10 s, no headers in 10 s, no whole request in 30 s', async () => {
    const cap = 40_000;
    const tls = () =>
      tlsConnect({
        port,
        host: '127.0.0.1',
        ca: pki.certPem,
        servername: 'localhost',
        rejectUnauthorized: false,
      });
    const [silent, headers, body] = await Promise.all([
      // TCP connected, no ClientHello (node's default handshake timeout is 120 s).
      closedAfter(() => netConnect(port, '127.0.0.1'), cap),
      // Headers trickle and never end.
      closedAfter(tls, cap, (s) => s.write('POST /validate HTTP/1.1\r\nHost: x\r\n')),
      // Headers done, the body never ends.
      closedAfter(tls, cap, (s) =>
        s.write(
          'POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
        ),
      ),
    ]);
    expect(silent).toBeLessThan(13_000);
    expect(headers).toBeLessThan(13_000);
    expect(body).toBeLessThan(33_000);
  }, 90_000);
});
