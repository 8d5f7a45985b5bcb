/**
 * `auditReleases({ kubeconfig })` against a loopback HTTPS server speaking the
 * Kubernetes API (the list and version endpoints, bearer-token auth, `limit`/`continue`
 * pagination), with a CA and server certificate made by openssl — no mock library:
 * `@kubernetes/client-node` reads the generated kubeconfig and its TLS and token
 * settings reach a real TLS handshake.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { isChartproofError } from '../../src/errors.js';
import { auditReleases } from '../../src/policy/audit.js';
import { captureIo } from '../helpers/cli-io.js';
import { createTestPki, makeTempDirSync, randomSecret, removeDir, requireTool } from '../helpers/services.js';
import { auditSetup, CHART_FILES, type Json, releaseJson, secretOf } from './audit-fixtures.js';

const missing = requireTool('openssl');

const FILES = {
  ...CHART_FILES,
  'templates/cm.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-kube\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n',
};

/** A Kubernetes API server that knows Secrets and /version, nothing else. */
class FakeApiServer {
  server: Server | undefined;
  requests: string[] = [];
  url = '';
  /** Never answer (a stuck API server). */
  hang = false;
  constructor(
    readonly secrets: Json[],
    readonly token: string,
    readonly pageSize = 2,
  ) {}

  async start(pki: { keyFile: string; certFile: string }): Promise<this> {
    this.server = createServer(
      { key: readFileSync(pki.keyFile), cert: readFileSync(pki.certFile) },
      (req, res) => {
        const url = new URL(req.url ?? '/', 'https://x');
        this.requests.push(`${req.method} ${url.pathname}${url.search}`);
        if (this.hang) return;
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (req.headers.authorization !== `Bearer ${this.token}`)
          return send(401, {
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            message: 'Unauthorized',
            code: 401,
          });
        if (url.pathname === '/version') return send(200, { major: '1', minor: '31', gitVersion: 'v1.31.2' });
        const m = /^\/api\/v1(?:\/namespaces\/([a-z0-9-]+))?\/secrets$/.exec(url.pathname);
        if (!m || req.method !== 'GET')
          return send(404, {
            kind: 'Status',
            message: 'the server could not find the requested resource',
            code: 404,
          });
        const selector = url.searchParams.get('labelSelector');
        const [key, value] = (selector ?? '').split('=');
        const matching = this.secrets.filter(
          (s) =>
            (!m[1] || s.metadata.namespace === m[1]) && (!selector || s.metadata.labels?.[key!] === value),
        );
        const limit = Math.min(Number(url.searchParams.get('limit') ?? 500), this.pageSize);
        const offset = Number(url.searchParams.get('continue') ?? 0);
        const items = matching.slice(offset, offset + limit);
        const next = offset + limit < matching.length ? String(offset + limit) : undefined;
        return send(200, {
          kind: 'SecretList',
          apiVersion: 'v1',
          metadata: { resourceVersion: '42', ...(next ? { continue: next } : {}) },
          items,
        });
      },
    );
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((r) => this.server?.close(() => r()) ?? r());
  }
}

function kubeconfig(server: string, ca: string | undefined, tokens: Record<string, string>): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const users = Object.entries(tokens)
    .map(([name, token]) => `- name: ${name}\n  user:\n    token: ${token}\n`)
    .join('');
  const contexts = Object.keys(tokens)
    .map((name) => `- name: ${name}\n  context:\n    cluster: test\n    user: ${name}\n`)
    .join('');
  return (
    'apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n' +
    `    server: ${server}\n${ca ? `    certificate-authority-data: ${b64(ca)}\n` : ''}` +
    `contexts:\n${contexts}current-context: ${Object.keys(tokens)[0]}\nusers:\n${users}`
  );
}

describe.skipIf(missing)('auditReleases from a cluster (kubeconfig, loopback HTTPS API server)', () => {
  let dir: string;
  let api: FakeApiServer;
  let config: string;
  let noCa: string;
  let s: Awaited<ReturnType<typeof auditSetup>>;
  const token = randomSecret();
  const wrong = randomSecret();

  beforeAll(async () => {
    dir = makeTempDirSync('cp-audit-kube-');
    const pki = createTestPki(dir, { hosts: ['127.0.0.1'] });
    s = await auditSetup({ files: FILES });
    const release = (name: string, namespace: string) =>
      secretOf(releaseJson(s.chart, { name, namespace, kubeVersion: 'v1.31.2' }));
    const unlabelled = release('hidden', 'prod');
    delete unlabelled.metadata.labels.owner;
    const secrets = [
      release('web', 'prod'),
      {
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: 'helm-notes', namespace: 'prod', labels: { owner: 'helm' } },
      },
      release('api', 'prod'),
      release('web', 'staging'),
      unlabelled,
    ];
    api = await new FakeApiServer(secrets, token).start(pki);
    config = join(dir, 'kubeconfig');
    writeFileSync(config, kubeconfig(api.url, pki.caPem, { test: token, other: wrong }));
    noCa = join(dir, 'kubeconfig-no-ca');
    writeFileSync(noCa, kubeconfig(api.url, undefined, { test: token }));
  });
  afterAll(async () => {
    await api?.close();
    if (dir) removeDir(dir);
  });

  it('lists every namespace page by page and re-renders with the cluster version', async () => {
    api.requests = [];
    const report = await auditReleases({ kubeconfig: config }, { trust: s.trust, client: s.client });
    expect(report.releases.map((r) => [`${r.namespace}/${r.name}`, r.result])).toEqual([
      ['prod/api', 'passed'],
      ['prod/web', 'passed'],
      ['staging/web', 'passed'],
    ]);
    expect(report.kubeVersion).toBe('v1.31.2');
    expect(report.summary.ignoredSecrets).toBe(1); // the Opaque Secret
    expect(api.requests).toEqual([
      'GET /api/v1/secrets?labelSelector=owner%3Dhelm&limit=50',
      'GET /api/v1/secrets?labelSelector=owner%3Dhelm&limit=50&continue=2',
      'GET /version',
    ]);
    // Without the cluster's version the re-render differs (Helm's default is v1.20.0).
    const offline = await auditReleases(
      { kubeconfig: config },
      { trust: s.trust, client: s.client, kubeVersion: 'v1.20.0' },
    );
    expect(offline.releases[0]!.checks.find((c) => c.id === 'manifest')!.reason).toMatch(
      /^document app\/templates\/cm\.yaml \(ConfigMap api-kube\) differs/,
    );
  });

  it('lists one namespace through the namespaced path', async () => {
    api.requests = [];
    const report = await auditReleases(
      { kubeconfig: config, namespace: 'staging' },
      { trust: s.trust, client: s.client },
    );
    expect(report.releases.map((r) => `${r.namespace}/${r.name}`)).toEqual(['staging/web']);
    expect(api.requests[0]).toBe(
      'GET /api/v1/namespaces/staging/secrets?labelSelector=owner%3Dhelm&limit=50',
    );
  });

  it('chartproof audit --kubeconfig: lists the cluster (exit 0), a refused token exits 3 without printing it', async () => {
    const ok = captureIo('', { HOME: dir });
    expect(await run(['audit', '--kubeconfig', config, '-n', 'prod'], ok.io), ok.err()).toBe(0);
    expect(ok.out()).toMatch(/^prod\s+api\s+1\s+app-1\.0\.0\s+passed\s+(skipped\s+){5}PASSED$/m);
    expect(ok.out()).toMatch(/^prod\s+web\s+1\s+/m);
    const denied = captureIo('', { HOME: dir });
    expect(await run(['--json', 'audit', '--kubeconfig', config, '--context', 'other'], denied.io)).toBe(3);
    expect(JSON.parse(denied.err()).error).toMatchObject({
      code: 'UNAUTHORIZED',
      exitCode: 3,
      source: 'remote',
    });
    expect(denied.err() + denied.out()).not.toContain(wrong);
    const bad = captureIo('', { HOME: dir });
    expect(await run(['audit', '--kubeconfig', config, '--context', 'nope'], bad.io)).toBe(2);
  });

  it('gives up on a stuck API server at the deadline', async () => {
    api.hang = true;
    try {
      const started = Date.now();
      const err = await auditReleases({ kubeconfig: config }, { timeoutMs: 300 }).catch((e) => e);
      expect(isChartproofError(err, 'TIMEOUT')).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      api.hang = false;
    }
  });

  it('reports a refused token without printing it, an unknown context and an untrusted server', async () => {
    const denied = await auditReleases({ kubeconfig: config, context: 'other' }).catch((e) => e);
    expect(isChartproofError(denied, 'UNAUTHORIZED')).toBe(true);
    expect(denied.source).toBe('remote');
    expect(denied.message).toBe('GET /api/v1/secrets: the API server answered 401: Unauthorized');
    expect(JSON.stringify({ m: denied.message, s: denied.stack })).not.toContain(wrong);
    const unknown = await auditReleases({ kubeconfig: config, context: 'nope' }).catch((e) => e);
    expect(unknown).toMatchObject({ code: 'INVALID_CONFIG', source: 'local' });
    expect(unknown.message).toContain('no context named "nope"');
    const untrusted = await auditReleases({ kubeconfig: noCa }).catch((e) => e);
    expect(untrusted).toMatchObject({ code: 'TLS', source: 'remote' });
    const missingFile = await auditReleases({ kubeconfig: join(dir, 'absent') }).catch((e) => e);
    expect(missingFile).toMatchObject({ code: 'IO', source: 'local' });
    await expect(auditReleases({ kubeconfig: config, namespace: 'Bad_NS' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
