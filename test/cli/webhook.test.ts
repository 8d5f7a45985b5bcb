import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { run } from '../../src/cli/main.js';
import type { RunningRegistry } from '../../src/testing/registry-server.js';
import {
  httpsClient,
  type Json,
  podOf,
  pushSignedChart,
  releaseJson,
  reviewOf,
  secretOf,
} from '../helpers/admission.js';
import { captureIo } from '../helpers/cli-io.js';
import { memoryFixture } from '../helpers/registry.js';
import {
  createTestPki,
  type ManagedProcess,
  makeTempDirSync,
  removeDir,
  requireTool,
  sleep,
  spawnManaged,
  type TestPki,
} from '../helpers/services.js';

const ADMISSION = join(process.cwd(), '..', 'shared', 'vectors', 'admission');
const haveVectors = existsSync(join(ADMISSION, 'README.md'));
if (!haveVectors)
  console.warn(`webhook CLI: shared AdmissionReview examples skipped: ${ADMISSION} not found`);
const noOpenssl = requireTool('openssl');

describe.skipIf(noOpenssl)('chartproof webhook', () => {
  let dir: string;
  let pki: TestPki;
  let registry: RunningRegistry;
  let trustFile: string;
  let chartDigest: string;
  beforeAll(async () => {
    dir = makeTempDirSync('webhook-cli-');
    pki = createTestPki(dir);
    const memory = memoryFixture({ retries: 'default' });
    registry = await memory.registry.listen();
    const signed = await pushSignedChart(memory.client, registry.host);
    chartDigest = signed.digest;
    trustFile = join(dir, 'trust.yaml');
    writeFileSync(join(dir, 'cosign.pub'), signed.publicKeyPem);
    writeFileSync(
      trustFile,
      [
        'registries: [ghcr.io/kubewarden, "' + registry.host + '"]',
        'verify: { keys: [cosign.pub], tlog: skip }',
        'excludeNamespaces: [kube-system, "flux-*"]',
        'validationFailureAction: Enforce',
        `charts: { reference: "oci://${registry.host}/charts/{name}:{version}" }`,
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await registry?.close();
    if (dir) removeDir(dir);
  });

  describe('serve (the built program, a real TLS client)', () => {
    const out = join(process.cwd(), 'node_modules', '.cache', `chartproof-webhook-test-${process.pid}`);
    let proc: ManagedProcess;
    let port: number;
    let client: ReturnType<typeof httpsClient>;
    beforeAll(async () => {
      mkdirSync(out, { recursive: true });
      await build({
        entryPoints: { cli: join(process.cwd(), 'src/cli/bin.ts') },
        bundle: true,
        splitting: true,
        format: 'esm',
        platform: 'node',
        target: 'node22',
        packages: 'external',
        outdir: out,
        logLevel: 'silent',
      });
      proc = spawnManaged(process.execPath, [
        join(out, 'cli.js'),
        '--plain-http',
        'webhook',
        'serve',
        '--config',
        trustFile,
        '--tls-cert',
        pki.certFile,
        '--tls-key',
        pki.keyFile,
        '--port',
        '0',
        '--address',
        '127.0.0.1',
        '--timeout',
        '5',
      ]);
      const started = Date.now();
      let m: RegExpExecArray | null = null;
      while (!m && !proc.hasExited() && Date.now() - started < 30_000) {
        await sleep(50);
        m = /listening on https:\/\/127\.0\.0\.1:(\d+)\/validate/.exec(proc.output());
      }
      if (!m) throw new Error(`webhook serve did not start:\n${proc.output()}`);
      port = Number(m[1]);
      client = httpsClient(port, pki.caPem);
    }, 60_000);
    afterAll(async () => {
      client?.close();
      await proc?.stop();
      rmSync(out, { recursive: true, force: true });
    });

    it('prints one line with the listening URL', () => {
      const lines = proc
        .output()
        .split('\n')
        .filter((l) => l.includes('listening on'));
      expect(lines).toEqual([
        `chartproof webhook listening on https://127.0.0.1:${port}/validate (metrics: /metrics, health: /healthz)`,
      ]);
    });

    it('checks release Secrets against the signed chart and Pods against the registries', async () => {
      const ok = await client.post('/validate?timeout=10s', reviewOf(secretOf(releaseJson())));
      expect(ok.status).toBe(200);
      expect(ok.type).toBe('application/json; charset=utf-8');
      expect(JSON.parse(ok.body)).toEqual({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: {
          uid: 'a1b2c3',
          allowed: true,
          auditAnnotations: { 'chartproof.dev/chart': `${registry.host}/charts/app@${chartDigest}` },
        },
      });
      const tampered = releaseJson(2);
      tampered.chart.templates[0].data = Buffer.from('kind: ClusterRoleBinding\n').toString('base64');
      const denied = JSON.parse((await client.post('/validate', reviewOf(secretOf(tampered), 'u-2'))).body);
      expect(denied.response).toMatchObject({ uid: 'u-2', allowed: false, status: { code: 403 } });
      expect(denied.response.status.message).toContain(
        'template templates/cm.yaml differs from the signed chart',
      );
      const pod = JSON.parse(
        (
          await client.post(
            '/validate',
            reviewOf(podOf([`${registry.host}/app:1`, 'docker.io/evil:1']), 'u-3'),
          )
        ).body,
      );
      expect(pod.response.status.message).toBe(
        `chartproof: images must come from ghcr.io/kubewarden, ${registry.host}: "docker.io/evil:1" does not`,
      );
      // excluded namespaces are allowed without checks (exact and wildcard)
      for (const ns of ['kube-system', 'flux-system']) {
        const r = JSON.parse((await client.post('/validate', reviewOf(podOf(['docker.io/x:1'], ns)))).body);
        expect(r.response.allowed, ns).toBe(true);
      }
      expect(proc.output()).toMatch(/chartproof webhook: denied u-2: chartproof: release prod\/web v2/);
    });

    it.skipIf(!haveVectors)('answers the shared AdmissionReview examples', async () => {
      const read = (f: string): Json => JSON.parse(readFileSync(join(ADMISSION, f), 'utf8'));
      const gke = read('kube-rs_gke-pod-create.AdmissionReview.json');
      const g = JSON.parse((await client.post('/validate', gke)).body);
      expect(g.response).toMatchObject({ uid: gke.request.uid, allowed: false, status: { code: 403 } });
      expect(g.response.status.message).toMatch(/"jmalloc\/echo-server" does not$/);
      const all = read('k8s-api-testdata_admission.k8s.io.v1.AdmissionReview.json');
      expect(JSON.parse((await client.post('/validate', all)).body).response).toEqual({
        uid: 'uidValue',
        allowed: true,
      });
      const signed = read('kubewarden_pod_creation_signed.json');
      const s = await client.post('/validate', {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: signed,
      });
      expect(JSON.parse(s.body).response).toEqual({ uid: signed.uid, allowed: true });
      // a bare AdmissionRequest (not wrapped in an AdmissionReview) is refused
      expect((await client.post('/validate', signed)).status).toBe(400);
    });

    it('serves /healthz and /metrics, then closes gracefully on SIGTERM', async () => {
      expect((await client.get('/healthz')).body).toBe('ok\n');
      const metrics = (await client.get('/metrics')).body;
      const count = (o: string) =>
        Number(new RegExp(`outcome="${o}"\\} (\\d+)`).exec(metrics)?.[1] ?? Number.NaN);
      expect(count('allowed')).toBeGreaterThanOrEqual(3);
      // two denials above, one more from the shared examples when they are present
      expect(count('denied')).toBeGreaterThanOrEqual(haveVectors ? 3 : 2);
      expect(count('error')).toBe(0);
      // a review in flight when the signal arrives still gets its answer
      const inFlight = client.post('/validate', reviewOf(secretOf(releaseJson(3)), 'u-last'));
      await sleep(5);
      proc.child.kill('SIGTERM');
      const last = await inFlight;
      expect(JSON.parse(last.body).response).toMatchObject({ uid: 'u-last', allowed: true });
      expect(await proc.exited).toEqual({ code: 0, signal: null });
      expect(proc.output()).toMatch(/SIGTERM: closing/);
      expect(proc.output()).toMatch(/stopped \(allowed \d+, denied \d+, errors 0\)/);
    });
  });

  describe('serve: refusals', () => {
    it('needs its flags, and names a port it cannot listen on (exit 2, LISTEN_FAILED)', async () => {
      const missing = captureIo();
      expect(await run(['webhook', 'serve', '--config', trustFile], missing.io)).toBe(2);
      expect(missing.err()).toContain('--tls-cert is required');
      const blocker = createServer();
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
      const taken = (blocker.address() as { port: number }).port;
      try {
        const io = captureIo();
        const args = ['--json', 'webhook', 'serve', '--config', trustFile, '--tls-cert', pki.certFile];
        const code = await run(
          [...args, '--tls-key', pki.keyFile, '--port', String(taken), '--address', '127.0.0.1'],
          io.io,
        );
        expect(code).toBe(2);
        expect(JSON.parse(io.err()).error).toMatchObject({ code: 'LISTEN_FAILED', exitCode: 2 });
      } finally {
        blocker.close();
      }
      const badKey = captureIo();
      const args = ['webhook', 'serve', '--config', trustFile, '--tls-cert', pki.certFile];
      expect(await run([...args, '--tls-key', trustFile, '--port', '0'], badKey.io)).toBe(2);
      expect(badKey.err()).toContain('not a usable certificate and key');
      const badTimeout = captureIo();
      expect(await run([...args, '--tls-key', pki.keyFile, '--timeout', '31'], badTimeout.io)).toBe(2);
      expect(badTimeout.err()).toContain('--timeout must be whole seconds from 1 to 30');
    });
  });

  describe('config', () => {
    it('prints a ValidatingWebhookConfiguration with the CA bundle', async () => {
      const io = captureIo();
      const code = await run(
        [
          'webhook',
          'config',
          '--config',
          trustFile,
          '--service',
          'chartproof/webhook',
          '--ca-file',
          pki.caFile,
        ],
        io.io,
      );
      expect(io.err()).toBe('');
      expect(code).toBe(0);
      const doc = parse(io.out());
      expect(doc.kind).toBe('ValidatingWebhookConfiguration');
      expect(doc.webhooks).toHaveLength(2);
      for (const w of doc.webhooks) {
        expect(Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8')).toBe(pki.caPem);
        expect(w.clientConfig.service).toEqual({
          namespace: 'chartproof',
          name: 'webhook',
          path: '/validate',
        });
        expect(w).toMatchObject({ failurePolicy: 'Fail', timeoutSeconds: 10, sideEffects: 'None' });
        expect(w.namespaceSelector.matchExpressions[0].values).toEqual(['kube-system', 'chartproof']);
      }
      const json = captureIo();
      const args = [
        '--json',
        'webhook',
        'config',
        '--config',
        trustFile,
        '--url',
        'https://hook.example/validate',
      ];
      expect(await run([...args, '--failure-policy', 'Ignore', '--timeout', '30s'], json.io)).toBe(0);
      const doc2 = JSON.parse(json.out());
      expect(doc2.webhooks[0]).toMatchObject({
        clientConfig: { url: 'https://hook.example/validate' },
        failurePolicy: 'Ignore',
        timeoutSeconds: 30,
      });
      expect(json.err()).toMatch(/^Warning: no CA bundle/);
    });

    it('refuses what the apiserver would refuse (exit 2)', async () => {
      const cases: [string[], RegExp][] = [
        [['--service', 'a/b', '--url', 'https://x.example'], /exactly one of --service/],
        [[], /exactly one of --service/],
        [['--service', 'just-a-name'], /--service expects NAMESPACE\/NAME/],
        [['--url', 'http://x.example/validate'], /https is the only allowed scheme/],
        [['--service', 'a/b', '--timeout', '0'], /from 1 to 30/],
        [['--service', 'a/b', '--failure-policy', 'Never'], /Fail or Ignore/],
        [['--service', 'a/b', '--ca-file', trustFile], /no PEM certificate found/],
      ];
      for (const [flags, message] of cases) {
        const io = captureIo();
        expect(
          await run(['webhook', 'config', '--config', trustFile, ...flags], io.io),
          flags.join(' '),
        ).toBe(2);
        expect(io.err()).toMatch(message);
      }
    });
  });
});
