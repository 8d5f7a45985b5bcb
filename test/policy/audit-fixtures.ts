/**
 * Helm releases built the way Helm stores them, for the audit tests: a chart packaged
 * by the packager, rendered (by chartproof's renderer or by the real Helm), and the
 * release JSON — Go's field order — gzip'd and base64'd twice into a
 * `sh.helm.release.v1.<name>.v<rev>` Secret. Nothing is installed anywhere.
 */
import { gzipSync } from 'node:zlib';
import { loadChartArchive } from '../../src/chart/load.js';
import { pushChart } from '../../src/chart/oci.js';
import type { Chart } from '../../src/chart/types.js';
import { type Descriptor, MediaType, RegistryClient } from '../../src/oci/index.js';
import { parseTrustConfig, type TrustConfig } from '../../src/policy/trust.js';
import { renderChart } from '../../src/render/render.js';
import { generateKeyPair, keyFileSigner, signLegacy } from '../../src/sign/index.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { blob, manifest, pushAll } from '../helpers/content.js';

// biome-ignore lint/suspicious/noExplicitAny: release JSON is built and tampered with in tests
export type Json = Record<string, any>;

export const IMAGE = 'registry.test/apps/web:1.0';

/** A chart with a Deployment (image, replicas, release fields), a hook Job, NOTES and a README. */
export const CHART_FILES: Record<string, string> = {
  'values.yaml': `image: ${IMAGE}\nreplicas: 1\n`,
  'templates/deploy.yaml':
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\n' +
    '  labels:\n    revision: "{{ .Release.Revision }}"\n    upgrade: "{{ .Release.IsUpgrade }}"\n' +
    'spec:\n  replicas: {{ .Values.replicas }}\n  template:\n    spec:\n      containers:\n        - name: web\n          image: {{ .Values.image }}\n',
  'templates/hook.yaml':
    'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-migrate\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n' +
    'spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: migrate\n          image: {{ .Values.image }}\n',
  'templates/NOTES.txt': 'Installed {{ .Release.Name }}.\n',
  'README.md': '# app\n',
};

const b64 = (data: Uint8Array | string) => Buffer.from(data).toString('base64');

/** The release JSON Helm would store (pkg/release/v1 field order). */
export function releaseJson(
  chart: Chart,
  init: {
    name: string;
    namespace: string;
    revision?: number;
    config?: Json;
    description?: string;
    status?: string;
    /** The stored manifest; default: rendered by chartproof like Helm. */
    manifest?: string;
    /** Render as this revision (a rollback's manifest comes from an older one). */
    renderRevision?: number;
    /** The cluster's version Helm rendered with. */
    kubeVersion?: string;
  },
): Json {
  const revision = init.revision ?? 1;
  const renderAs = init.renderRevision ?? revision;
  const config = init.config ?? {};
  const rendered = renderChart(chart, {
    releaseName: init.name,
    namespace: init.namespace,
    revision: renderAs,
    isUpgrade: renderAs > 1,
    values: { jsonValues: [JSON.stringify(config)] },
    ...(init.kubeVersion ? { kubeVersion: init.kubeVersion } : {}),
  });
  const manifestText =
    init.manifest ?? rendered.manifests.map((m) => `---\n# Source: ${m.path}\n${m.content}\n`).join('');
  return {
    name: init.name,
    info: {
      first_deployed: '2026-08-01T10:00:00Z',
      last_deployed: '2026-08-01T10:00:00Z',
      deleted: '',
      description: init.description ?? (revision === 1 ? 'Install complete' : 'Upgrade complete'),
      status: init.status ?? 'deployed',
      notes: rendered.notes,
    },
    chart: {
      metadata: chart.metadata,
      lock: null,
      templates: chart.templates.map((t) => ({ name: t.name, data: b64(t.data) })),
      values: chart.values,
      schema: chart.schema ? b64(chart.schema) : null,
      files: chart.files.map((f) => ({ name: f.name, data: b64(f.data) })),
    },
    config,
    manifest: manifestText,
    hooks: rendered.hooks.map((h) => ({
      name: h.head.name,
      kind: h.head.kind,
      path: h.path,
      manifest: h.content,
      events: h.events,
      last_run: { started_at: '', completed_at: '', phase: '' },
      weight: h.weight,
      delete_policies: h.deletePolicies,
    })),
    version: revision,
    namespace: init.namespace,
  };
}

/** The Secret Helm's storage driver writes for a release (base64 of base64 of gzip of JSON). */
export function secretOf(release: Json): Json {
  const helm = b64(gzipSync(Buffer.from(JSON.stringify(release)), { level: 9 }));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'helm.sh/release.v1',
    metadata: {
      name: `sh.helm.release.v1.${release.name}.v${release.version}`,
      namespace: release.namespace,
      labels: {
        name: release.name,
        owner: 'helm',
        status: release.info.status,
        version: String(release.version),
      },
    },
    data: { release: b64(helm) },
  };
}

/** `kubectl get secrets -A -l owner=helm -o json` output for these Secrets. */
export function listOf(secrets: Json[]): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: secrets,
    metadata: { resourceVersion: '' },
  });
}

let keyPairs: Promise<Awaited<ReturnType<typeof generateKeyPair>>[]> | undefined;
/** One trusted and one untrusted key pair per test file (scrypt is slow). */
export function testKeys() {
  keyPairs ??= Promise.all([generateKeyPair({ password: '' }), generateKeyPair({ password: '' })]);
  return keyPairs;
}

let signerOnce: ReturnType<typeof keyFileSigner> | undefined;

/** An image-like artifact pushed to the registry; returns its descriptor. */
export async function pushImage(
  registry: MemoryRegistry,
  repository: string,
  tag: string,
): Promise<Descriptor> {
  const config = blob(
    JSON.stringify({ architecture: 'amd64', os: 'linux', repository }),
    MediaType.OciConfig,
  );
  const layer = blob(`layer of ${repository}`, 'application/vnd.oci.image.layer.v1.tar+gzip');
  const m = manifest(config.desc, [layer.desc]);
  const store = registry.repository(repository);
  await pushAll(store, [config, layer, m]);
  await store.tag(m.desc, tag);
  return m.desc;
}

/**
 * An in-memory registry (`registry.test`) holding chart `app` 1.0.0 (signed unless
 * `signChart: false`) and the image `apps/web:1.0` (signed unless `signImage: false`),
 * a client counting its requests, and a trust config for them.
 */
export async function auditSetup(
  opts: {
    signChart?: boolean;
    signImage?: boolean;
    files?: Record<string, string>;
    trust?: Json;
    /** Registry host in references (a listening MemoryRegistry's `host`). Default `registry.test`. */
    host?: string;
    registry?: MemoryRegistry;
  } = {},
) {
  const host = opts.host ?? 'registry.test';
  const registry = opts.registry ?? new MemoryRegistry();
  let requests = 0;
  let hang = false;
  const fetch: typeof globalThis.fetch = async (input, init) => {
    requests++;
    if (hang)
      await new Promise((_, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)),
      );
    return registry.fetch(input, init);
  };
  const client = new RegistryClient({ fetch, plainHttp: true, retry: { maxRetries: 0 } });
  const files = opts.files ?? CHART_FILES;
  const archive = await makeChartArchive('app', '1.0.0', files);
  const chart = await loadChartArchive(archive);
  const archiveBytes = archive;
  await pushChart(client, archive, chart.metadata, `oci://${host}/charts`);
  const [keys] = await testKeys();
  signerOnce ??= keyFileSigner(keys!.privateKeyPem, '');
  const signer = await signerOnce;
  const chartRepo = client.repository(`${host}/charts/app`);
  if (opts.signChart !== false) await signLegacy(chartRepo, await chartRepo.resolve('1.0.0'), signer);
  const image = await pushImage(registry, 'apps/web', '1.0');
  if (opts.signImage !== false) await signLegacy(client.repository(`${host}/apps/web`), image, signer);
  const trust: TrustConfig = parseTrustConfig({
    registries: [host],
    verify: { keys: [keys!.publicKeyPem], tlog: 'skip' },
    charts: { reference: `oci://${host}/charts/{name}:{version}` },
    ...(opts.trust ?? {}),
  });
  return {
    registry,
    host,
    publicKeyPem: keys!.publicKeyPem,
    client,
    chart,
    archive: archiveBytes,
    signer,
    trust,
    requests: () => requests,
    setHang: (v: boolean) => {
      hang = v;
    },
  };
}
