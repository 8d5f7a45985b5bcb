/**
 * Admission webhook fixtures shared by the CLI test and the load benchmark: a chart
 * pushed and signed in a registry, the Helm release Secret Helm would store for it,
 * AdmissionReviews around objects, and a keep-alive HTTPS client that trusts one CA.
 */
import { Agent, request } from 'node:https';
import { gzipSync } from 'node:zlib';
import { pushChart } from '../../src/chart/oci.js';
import type { RegistryClient } from '../../src/oci/index.js';
import { generateKeyPair, keyFileSigner, signLegacy } from '../../src/sign/index.js';
import { makeChartArchive } from './chart-repo.js';

// biome-ignore lint/suspicious/noExplicitAny: release JSON built and tampered with in tests
export type Json = Record<string, any>;

export const CHART_FILES = {
  'values.yaml': 'replicas: 1\nimage:\n  repository: registry.test/app\n  tag: "1.0"\n',
  'templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n',
  'README.md': '# app\n',
};

/** The release JSON Helm would store for chart `app` 1.0.0 built from CHART_FILES. */
export function releaseJson(revision = 1): Json {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    name: 'web',
    namespace: 'prod',
    version: revision,
    info: { status: 'deployed' },
    chart: {
      metadata: { name: 'app', version: '1.0.0', apiVersion: 'v2' },
      values: { replicas: 1, image: { repository: 'registry.test/app', tag: '1.0' } },
      templates: [{ name: 'templates/cm.yaml', data: b64(CHART_FILES['templates/cm.yaml']) }],
      files: [{ name: 'README.md', data: b64(CHART_FILES['README.md']) }],
    },
    config: { replicas: 3 },
    manifest: '---\nkind: ConfigMap\n',
  };
}

/** The release Secret (`sh.helm.release.v1.<name>.v<rev>`) as the Kubernetes API shows it. */
export function secretOf(release: Json): Json {
  const helm = gzipSync(Buffer.from(JSON.stringify(release))).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'helm.sh/release.v1',
    metadata: {
      name: `sh.helm.release.v1.${release.name}.v${release.version}`,
      namespace: release.namespace,
      labels: { owner: 'helm', name: release.name, status: 'deployed', version: String(release.version) },
    },
    data: { release: Buffer.from(helm).toString('base64') },
  };
}

/** A CREATE AdmissionReview of `object` (a v1 Pod or Secret). */
export function reviewOf(object: Json, uid = 'a1b2c3'): Json {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: object.kind },
      resource: { group: '', version: 'v1', resource: object.kind === 'Pod' ? 'pods' : 'secrets' },
      namespace: object.metadata?.namespace ?? 'prod',
      operation: 'CREATE',
      object,
      oldObject: null,
    },
  };
}

export function podOf(images: string[], namespace = 'prod'): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace },
    spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
  };
}

/**
 * Pushes chart `app` 1.0.0 (CHART_FILES) to `<registry>/charts` and signs it with a new
 * key (legacy `.sig`); returns the public key PEM and the chart's digest.
 */
export async function pushSignedChart(
  client: RegistryClient,
  registry: string,
): Promise<{ publicKeyPem: string; digest: string }> {
  const archive = await makeChartArchive('app', '1.0.0', CHART_FILES);
  await pushChart(
    client,
    archive,
    { name: 'app', version: '1.0.0', apiVersion: 'v2' },
    `oci://${registry}/charts`,
  );
  const repo = client.repository(`${registry}/charts/app`);
  const subject = await repo.resolve('1.0.0');
  const keys = await generateKeyPair({ password: '' });
  await signLegacy(repo, subject, await keyFileSigner(keys.privateKeyPem, ''));
  return { publicKeyPem: keys.publicKeyPem, digest: subject.digest };
}

/** A keep-alive HTTPS client for `127.0.0.1:port` that trusts only `ca`. */
export function httpsClient(port: number, ca: string, maxSockets = 8) {
  const agent = new Agent({ keepAlive: true, maxSockets, ca });
  const send = (method: string, path: string, body?: string) =>
    new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path,
          method,
          agent,
          headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              type: String(res.headers['content-type']),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return {
    post: (path: string, body: unknown) =>
      send('POST', path, typeof body === 'string' ? body : JSON.stringify(body)),
    get: (path: string) => send('GET', path),
    close: () => agent.destroy(),
  };
}
