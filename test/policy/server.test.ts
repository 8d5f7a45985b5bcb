import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/oci/index.js';
import { parseTrustConfig } from '../../src/policy/trust.js';
import { type AdmissionServer, createAdmissionServer } from '../../src/policy/server.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { createTestPki, makeTempDirSync, type TestPki } from '../helpers/services.js';

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('admission server HTTPS tests skipped: openssl not found');
    return false;
  }
}

function post(port: number, ca: string, path: string, body: string, type = 'application/json') {
  return new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', ca, headers: { 'Content-Type': type } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: text }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function get(port: number, ca: string, path: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, ca }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    })
      .on('error', reject)
      .end();
  });
}

/** GET /healthz on a new connection (no keep-alive agent, no TLS session reuse). */
function fresh(port: number, ca: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/healthz', ca, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    })
      .on('error', reject)
      .end();
  });
}

const pod = (image: string) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'u-1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    namespace: 'prod',
    operation: 'CREATE',
    object: { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'c', image }] } },
  },
});

describe.skipIf(!haveOpenssl())('createAdmissionServer over HTTPS', () => {
  let pki: TestPki;
  let webhook: AdmissionServer;
  let port: number;
  beforeAll(async () => {
    pki = createTestPki(makeTempDirSync('admission-tls-'));
    const { readFileSync } = await import('node:fs');
    const registry = new MemoryRegistry();
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string;
    webhook = createAdmissionServer({
      tls: { key: readFileSync(pki.keyFile), cert: pki.certPem },
      trust: parseTrustConfig({
        registries: ['registry.test'],
        verify: { keys: [pem] },
        validationFailureAction: 'Enforce',
      }),
      client: new RegistryClient({ fetch: registry.fetch, plainHttp: true }),
    });
    port = await webhook.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await webhook?.close();
  });

  it('answers AdmissionReviews over TLS, verified by a real TLS client', async () => {
    const ok = await post(
      port,
      pki.caPem,
      '/validate?timeout=10s',
      JSON.stringify(pod('registry.test/app:1')),
    );
    expect(ok.status).toBe(200);
    expect(ok.type).toBe('application/json; charset=utf-8');
    expect(JSON.parse(ok.body)).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u-1', allowed: true },
    });
    const denied = JSON.parse(
      (await post(port, pki.caPem, '/validate', JSON.stringify(pod('docker.io/x:1')))).body,
    );
    expect(denied.response).toMatchObject({ uid: 'u-1', allowed: false, status: { code: 403 } });
    expect(webhook.state.counters).toMatchObject({ allowed: 1, denied: 1 });
    const m = await get(port, pki.caPem, '/metrics');
    expect(m.body).toContain('chartproof_admission_reviews_total{outcome="denied"} 1');
    expect((await get(port, pki.caPem, '/healthz')).body).toBe('ok\n');
  });

  it('refuses what is not an AdmissionReview (Kyverno handler conventions)', async () => {
    expect((await post(port, pki.caPem, '/validate', '{}', 'text/plain')).status).toBe(415);
    expect((await post(port, pki.caPem, '/validate', '')).status).toBe(417);
    expect((await post(port, pki.caPem, '/validate', '{"apiVersion":')).status).toBe(417);
    expect((await post(port, pki.caPem, '/validate', `${'['.repeat(1000)}${']'.repeat(1000)}`)).status).toBe(
      417,
    );
    const noRequest = await post(
      port,
      pki.caPem,
      '/validate',
      '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}',
    );
    expect(noRequest.status).toBe(400);
    expect((await post(port, pki.caPem, '/other', '{}')).status).toBe(404);
    expect((await get(port, pki.caPem, '/validate')).status).toBe(405);
  });

  it('setTls swaps the certificate for new connections', async () => {
    const next = createTestPki(makeTempDirSync('admission-tls-next-'));
    const { readFileSync } = await import('node:fs');
    webhook.setTls({ key: readFileSync(next.keyFile), cert: next.certPem });
    try {
      // new connections see the new certificate only
      expect((await fresh(port, next.caPem)).body).toBe('ok\n');
      await expect(fresh(port, pki.caPem)).rejects.toThrow(/certificate|self.signed|verify/i);
    } finally {
      webhook.setTls({ key: readFileSync(pki.keyFile), cert: pki.certPem });
    }
    expect((await fresh(port, pki.caPem)).status).toBe(200);
  });

  it('close() answers reviews in flight, then refuses connections', async () => {
    const { readFileSync } = await import('node:fs');
    const registry = new MemoryRegistry();
    // a slow registry: every request takes 400 ms
    const slow: typeof globalThis.fetch = async (input, init) => {
      await new Promise((r) => setTimeout(r, 400));
      return registry.fetch(input, init);
    };
    const other = createAdmissionServer({
      tls: { key: readFileSync(pki.keyFile), cert: pki.certPem },
      trust: parseTrustConfig({
        registries: ['registry.test'],
        verify: {
          keys: [
            generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
              type: 'spki',
              format: 'pem',
            }) as string,
          ],
        },
        validationFailureAction: 'Enforce',
      }),
      client: new RegistryClient({ fetch: slow, plainHttp: true, retry: { maxRetries: 0 } }),
      verifyImages: true,
    });
    const p = await other.listen(0, '127.0.0.1');
    const digest = `sha256:${'a'.repeat(64)}`;
    const inFlight = post(p, pki.caPem, '/validate', JSON.stringify(pod(`registry.test/app@${digest}`)));
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const closed = other.close({ graceMs: 5000 });
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).response).toMatchObject({ uid: 'u-1', allowed: false });
    expect(JSON.parse(answer.body).response.status.message).toMatch(
      /^chartproof: image registry\.test\/app@sha256:a{64} /,
    );
    await closed;
    expect(Date.now() - started).toBeLessThan(4000);
    await expect(post(p, pki.caPem, '/validate', '{}')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('a client that does not trust the CA fails the handshake', async () => {
    const other = createTestPki(makeTempDirSync('admission-tls-other-'));
    await expect(post(port, other.caPem, '/validate', '{}')).rejects.toThrow(
      /certificate|self.signed|verify/i,
    );
  });
});
