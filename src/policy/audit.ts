/**
 * Auditing what is deployed: every Helm release in a cluster (or in
 * `kubectl get secrets -A -l owner=helm -o json` output) checked against its signed
 * chart. Per release (latest revision by default):
 *
 * 1. `decode`: the release Secret decodes (bounded, like the webhook's);
 * 2. `chart-signature`: the chart named by the release is found through the trust
 *    config's `charts.reference` and its signature verified with the trust policy (the
 *    same `verifyChart` as admission);
 * 3. `chart-content`: the chart stored in the release equals the signed chart
 *    ({@link compareReleaseChart});
 * 4. `manifest`: the manifest and hooks Helm applied equal a re-render of the signed
 *    chart with the release's values, name, namespace and revision;
 * 5. `image-registries`: every image of the applied manifest and hooks comes from an
 *    allowed registry;
 * 6. `image-signatures`: each of those images is signed (same verifier).
 *
 * Verifications are cached by digest within one run, releases are checked with bounded
 * concurrency, and the whole audit runs under a deadline. See docs/audit.md.
 */
import { loadChartArchive } from '../chart/load.js';
import { parseChartReference, pullChart } from '../chart/oci.js';
import type { Chart } from '../chart/types.js';
import { ChartproofError, isNotFoundError } from '../errors.js';
import type { RegistryClient } from '../oci/client.js';
import type { Digest } from '../oci/digest.js';
import { parseReference } from '../oci/reference.js';
import { type RenderResult, renderChart } from '../render/render.js';
import { parseManifests } from '../render/parse.js';
import { ChartVerificationError, verifyChart } from '../verify/chart.js';
import type { TrustedRootJson, VerificationPolicy } from '../verify/policy.js';
import { listImages } from '../workloads/images.js';
import { compareReleaseChart, trustPolicy } from './admission.js';
import {
  compareDocs,
  renderedDocs,
  renderedHookDocs,
  splitReleaseManifest,
  storedHookDocs,
} from './audit-manifest.js';
import {
  type AuditSource,
  type ListedSecrets,
  listClusterSecrets,
  MAX_AUDIT_SECRETS,
  parseSecretList,
} from './audit-source.js';
import {
  type DecodeReleaseOptions,
  decodeReleaseSecret,
  isHelmReleaseSecret,
  type HelmRelease,
  ownedByHelm,
  parseReleaseSecretName,
  ReleaseSecretError,
} from './release.js';
import { chartReferenceFor, type TrustConfig } from './trust.js';

export type { AuditSource } from './audit-source.js';
export {
  KUBE_PAGE_LIMIT,
  MAX_AUDIT_INPUT_BYTES,
  MAX_AUDIT_INPUT_DEPTH,
  MAX_AUDIT_SECRETS,
  parseSecretList,
} from './audit-source.js';

/** Default total deadline of one audit, in milliseconds. @public */
export const DEFAULT_AUDIT_TIMEOUT_MS = 5 * 60_000;
/** Default number of releases checked at once. @public */
export const DEFAULT_AUDIT_CONCURRENCY = 4;

/** The checks of a release, in the order they run. @public */
export const AUDIT_CHECKS = [
  'decode',
  'chart-signature',
  'chart-content',
  'manifest',
  'image-registries',
  'image-signatures',
] as const;

/** One of {@link AUDIT_CHECKS}. @public */
export type AuditCheckId = (typeof AUDIT_CHECKS)[number];

/** `passed`, `failed` (with a reason) or `skipped` (with why). @public */
export type AuditCheckStatus = 'passed' | 'failed' | 'skipped';

/** The outcome of one check. @public */
export interface AuditCheck {
  id: AuditCheckId;
  status: AuditCheckStatus;
  /** Why it failed or was skipped; for some passes, what was checked. */
  reason?: string;
}

/** One audited release revision. @public */
export interface AuditedRelease {
  /** The Secret's namespace and name (`sh.helm.release.v1.<name>.v<revision>`). */
  namespace: string;
  secret: string;
  /** Release name and revision (from the Secret's name when it does not decode). */
  name: string;
  revision: number;
  /** Helm's status of the revision (`deployed`, `superseded`, `failed`, …), `unknown` when it does not decode. */
  status: string;
  /** The chart the release names. */
  chart?: { name: string; version: string };
  /** The signed chart's reference (from the trust config's template). */
  reference?: string;
  /** The verified chart, digest-pinned. */
  pinned?: string;
  /** Images of the applied manifest and hooks, normalised, sorted. */
  images: string[];
  /** `failed` when any check failed. */
  result: 'passed' | 'failed';
  /** One entry per {@link AUDIT_CHECKS}, in that order. */
  checks: AuditCheck[];
}

/** The result of {@link auditReleases}. @public */
export interface AuditReport {
  startedAt: string;
  durationMs: number;
  /** Releases in namespace, name, revision order. */
  releases: AuditedRelease[];
  summary: {
    releases: number;
    passed: number;
    failed: number;
    /** Secrets not audited: not releases to Helm (other types without an `owner=helm` `data.release`), or older revisions without `allRevisions`. */
    ignoredSecrets: number;
  };
  /** The Kubernetes version the re-renders used (`.Capabilities.KubeVersion`), when one was given or read. */
  kubeVersion?: string;
  /** Things worth knowing that are not failures (no trust config, cluster version unreadable, …). */
  warnings: string[];
  /** True when no release failed. */
  ok: boolean;
}

/** Options of {@link auditReleases}. @public */
export interface AuditOptions {
  /** Trust config: allowed registries, keys/identities, `charts.reference`. Without one every check but `decode` is skipped. */
  trust?: TrustConfig;
  /** Client for the registries (charts and images). Required with `trust`. */
  client?: RegistryClient;
  /** Trusted root for keyless identities and transparency-log checks. */
  trustedRoot?: TrustedRootJson;
  /** Overrides the verification policy derived from `trust`. */
  policy?: VerificationPolicy;
  /** Maps a release's chart to its signed reference. Default: `trust.charts.reference`. */
  chartReference?: (name: string, version: string) => string;
  /** Audit every stored revision, not only the latest of each release. Default false. */
  allRevisions?: boolean;
  /** Verify image signatures (not only their registries). Default true. */
  verifyImages?: boolean;
  /**
   * `.Capabilities.KubeVersion` of the re-render. Default: the cluster's version for a
   * kubeconfig source, else Helm's default.
   */
  kubeVersion?: string;
  /** Extra `.Capabilities.APIVersions` of the re-render (like `--api-versions`). */
  apiVersions?: readonly string[];
  /** Releases checked at once. Default {@link DEFAULT_AUDIT_CONCURRENCY} (1 to 32). */
  concurrency?: number;
  /** Total deadline of the audit. Default {@link DEFAULT_AUDIT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Bounds of each release Secret. */
  decode?: DecodeReleaseOptions;
  signal?: AbortSignal;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface SignedChart {
  pinned: string;
  digest: Digest;
  chart: Chart;
}

/** State of one run: verification results by digest, tag resolutions by reference. */
interface Run {
  options: AuditOptions;
  trust: TrustConfig | undefined;
  client: RegistryClient | undefined;
  policy: VerificationPolicy | undefined;
  template: ((name: string, version: string) => string) | undefined;
  kubeVersion: string | undefined;
  signal: AbortSignal;
  deadline: number;
  memo: Map<string, Promise<unknown>>;
}

/** `fn()` once per key within the run; failures are kept too (same answer within one run). */
function once<T>(run: Run, key: string, fn: () => Promise<T>): Promise<T> {
  let p = run.memo.get(key) as Promise<T> | undefined;
  if (!p) {
    p = fn();
    p.catch(() => {});
    run.memo.set(key, p);
  }
  return p;
}

/** A definitive "no" for a check. */
class CheckFailed extends Error {}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function signedChart(run: Run, reference: string): Promise<SignedChart> {
  const client = run.client!;
  const parsed = parseChartReference(reference);
  const repo = client.repository(parsed);
  let digest: Digest;
  try {
    digest =
      parsed.digest ??
      (await once(run, `resolve:${reference}`, () =>
        repo.resolve(parsed.tag ?? 'latest', { signal: run.signal }).then((d) => d.digest),
      ));
  } catch (e) {
    if (isNotFoundError(e)) throw new CheckFailed(`chart ${reference} is not in the registry`);
    throw e;
  }
  const pinned = repo.pinned(digest);
  return once(run, `chart:${pinned}`, async () => {
    try {
      await verifyChart(client, pinned, { policy: run.policy!, signal: run.signal });
    } catch (e) {
      if (e instanceof ChartVerificationError)
        throw new CheckFailed(
          `chart ${reference} (${pinned}) is not signed by a trusted key or identity: ${e.message}`,
        );
      throw e;
    }
    const pulled = await pullChart(client, pinned, { signal: run.signal });
    const chart = await loadChartArchive(pulled.archive, { signal: run.signal });
    return { pinned, digest, chart };
  });
}

async function verifyImage(run: Run, image: string): Promise<void> {
  const client = run.client!;
  const ref = parseReference(image);
  const repo = client.repository(ref);
  let digest: Digest;
  try {
    digest =
      ref.digest ??
      (await once(run, `resolve:${image}`, () =>
        repo.resolve(ref.tag ?? 'latest', { signal: run.signal }).then((d) => d.digest),
      ));
  } catch (e) {
    if (isNotFoundError(e)) throw new CheckFailed(`${image} is not in the registry`);
    throw e;
  }
  const pinned = repo.pinned(digest);
  await once(run, `image:${pinned}`, async () => {
    try {
      await verifyChart(client, pinned, { policy: run.policy!, signal: run.signal });
    } catch (e) {
      if (e instanceof ChartVerificationError)
        throw new CheckFailed(`${image} is not signed by a trusted key or identity: ${e.message}`);
      throw e;
    }
  });
}

/**
 * `.Release.Revision` and `.Release.IsUpgrade` as Helm had them when it rendered the
 * stored manifest: an install renders revision 1 (or the next revision with
 * `--replace`) as an install; an upgrade renders its own revision as an upgrade; a
 * rollback does not render at all — it copies the manifest of the revision it rolls
 * back to (`Rollback to N`), rendered as revision N.
 * @public
 */
export function renderRevision(release: HelmRelease): { revision: number; isUpgrade: boolean } {
  const description = typeof release.info.description === 'string' ? release.info.description : '';
  const rollback = /^Rollback to ([1-9][0-9]{0,9})$/.exec(description);
  if (rollback) {
    const n = Number(rollback[1]);
    return { revision: n, isUpgrade: n > 1 };
  }
  if (description === 'Install complete') return { revision: release.revision, isUpgrade: false };
  return { revision: release.revision, isUpgrade: release.revision > 1 };
}

function render(run: Run, chart: Chart, release: HelmRelease): RenderResult {
  const { revision, isUpgrade } = renderRevision(release);
  const left = run.deadline - Date.now();
  return renderChart(chart, {
    releaseName: release.name,
    namespace: release.namespace,
    revision,
    isUpgrade,
    // The release's `config` is exactly the user values Helm merged (-f, --set, …).
    values: { jsonValues: [JSON.stringify(release.config)] },
    ...(run.kubeVersion !== undefined ? { kubeVersion: run.kubeVersion } : {}),
    ...(run.options.apiVersions ? { apiVersions: run.options.apiVersions } : {}),
    signal: run.signal,
    timeoutMs: Math.max(1, Math.min(60_000, left)),
    warn: () => {},
  });
}

function checkManifest(run: Run, chart: Chart, release: HelmRelease): AuditCheck {
  let first: RenderResult;
  try {
    first = render(run, chart, release);
  } catch (e) {
    if (run.signal.aborted) throw run.signal.reason;
    return {
      id: 'manifest',
      status: 'failed',
      reason: `the signed chart does not render with the release's values: ${message(e)}`,
    };
  }
  const stored = splitReleaseManifest(release.manifest);
  const hooks = storedHookDocs(release.hooks);
  let docs = compareDocs('document', stored, renderedDocs(first.manifests));
  let hookDiff = compareDocs('hook', hooks, renderedHookDocs(first.hooks));
  if (docs.differences.length + hookDiff.differences.length > 0) {
    // Render once more to tell tampering from templates that never render the same.
    let again: RenderResult | undefined;
    try {
      again = render(run, chart, release);
    } catch {
      again = undefined;
    }
    if (again) {
      docs = compareDocs('document', stored, renderedDocs(first.manifests), renderedDocs(again.manifests));
      hookDiff = compareDocs('hook', hooks, renderedHookDocs(first.hooks), renderedHookDocs(again.hooks));
    }
    return {
      id: 'manifest',
      status: 'failed',
      reason: [...docs.differences, ...hookDiff.differences].join('; '),
    };
  }
  return {
    id: 'manifest',
    status: 'passed',
    reason: `${docs.compared} document(s) and ${hookDiff.compared} hook(s) equal the re-render`,
  };
}

/** The applied manifest and hooks as one stream, for image listing. */
function appliedStream(release: HelmRelease): string {
  let text = release.manifest;
  for (const h of release.hooks) {
    if (!isObj(h) || typeof h.manifest !== 'string') continue;
    const path = typeof h.path === 'string' ? h.path.replace(/[\r\n]/g, ' ') : 'hook';
    text += `\n---\n# Source: ${path}\n${h.manifest}\n`;
  }
  return text;
}

function skipRest(checks: Map<AuditCheckId, AuditCheck>, reason: string): void {
  for (const id of AUDIT_CHECKS) if (!checks.has(id)) checks.set(id, { id, status: 'skipped', reason });
}

async function auditOne(
  run: Run,
  secret: Obj,
  secretName: string,
  namespace: string,
  unread?: string,
): Promise<AuditedRelease> {
  const parsedName = parseReleaseSecretName(secretName);
  const checks = new Map<AuditCheckId, AuditCheck>();
  const out: AuditedRelease = {
    namespace,
    secret: secretName,
    name: parsedName?.release ?? secretName,
    revision: parsedName?.revision ?? 0,
    status: 'unknown',
    images: [],
    result: 'passed',
    checks: [],
  };
  const finish = (): AuditedRelease => {
    out.checks = AUDIT_CHECKS.map((id) => checks.get(id) ?? { id, status: 'skipped', reason: 'not run' });
    out.result = out.checks.some((c) => c.status === 'failed') ? 'failed' : 'passed';
    return out;
  };
  let release: HelmRelease;
  try {
    release = await decodeReleaseSecret(secret, run.options.decode ?? {});
  } catch (e) {
    if (!(e instanceof ReleaseSecretError)) throw e;
    checks.set('decode', { id: 'decode', status: 'failed', reason: e.message });
    skipRest(checks, 'the release Secret does not decode');
    return finish();
  }
  if (out.namespace === '') out.namespace = release.namespace; // a Secret listed without metadata.namespace
  out.status = release.status;
  out.chart = { name: release.chart.name, version: release.chart.version };
  if (unread) {
    checks.set('decode', { id: 'decode', status: 'failed', reason: `${secretName}: ${unread}` });
    skipRest(checks, 'the Secret is not a revision Helm reads');
    return finish();
  }
  checks.set('decode', { id: 'decode', status: 'passed' });

  // Images of what was applied (needs no registry; listed even without a trust config).
  let images: string[] = [];
  let imageProblems: string[] = [];
  try {
    const inventory = listImages(parseManifests(appliedStream(release), { origin: 'remote' }));
    images = [...new Set(inventory.images.map((i) => i.normalized))].sort();
    imageProblems = inventory.findings.map((f) => f.message);
  } catch (e) {
    if (!(e instanceof ChartproofError)) throw e;
    imageProblems = [`the release manifest does not parse: ${e.message}`];
  }
  out.images = images;

  if (!run.trust) {
    skipRest(checks, 'no trust config');
    return finish();
  }

  // chart-signature, chart-content, manifest
  let signed: SignedChart | undefined;
  const name = release.chart.name;
  const version = release.chart.version;
  if (!run.template) {
    skipRest(checks, 'the trust config has no charts.reference');
    checks.delete('image-registries');
    checks.delete('image-signatures');
  } else if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes('..')) {
    // Hostile names must not steer the reference (`x:1@sha256:…`, `../other`).
    checks.set('chart-signature', {
      id: 'chart-signature',
      status: 'failed',
      reason: `chart name ${JSON.stringify(name.slice(0, 100))} is not a valid chart name`,
    });
  } else if (!/^[A-Za-z0-9][A-Za-z0-9.+_-]*$/.test(version)) {
    checks.set('chart-signature', {
      id: 'chart-signature',
      status: 'failed',
      reason: `chart version ${JSON.stringify(version.slice(0, 100))} is not a valid chart version`,
    });
  } else {
    const reference = run.template(name, version);
    out.reference = reference;
    try {
      signed = await signedChart(run, reference);
      out.pinned = signed.pinned;
      checks.set('chart-signature', { id: 'chart-signature', status: 'passed', reason: signed.pinned });
    } catch (e) {
      if (run.signal.aborted) throw run.signal.reason;
      checks.set('chart-signature', {
        id: 'chart-signature',
        status: 'failed',
        reason: e instanceof CheckFailed ? e.message : `could not verify chart ${reference}: ${message(e)}`,
      });
    }
  }
  if (signed) {
    const diffs = compareReleaseChart(release, signed.chart);
    checks.set(
      'chart-content',
      diffs.length === 0
        ? { id: 'chart-content', status: 'passed' }
        : { id: 'chart-content', status: 'failed', reason: diffs.slice(0, 10).join('; ') },
    );
    checks.set('manifest', checkManifest(run, signed.chart, release));
  } else {
    for (const id of ['chart-content', 'manifest'] as const)
      if (!checks.has(id)) checks.set(id, { id, status: 'skipped', reason: 'no verified signed chart' });
  }

  // image-registries
  const allowed = run.trust.registries.map((r) => `${r.toLowerCase()}/`);
  const outside = images.filter((i) => !allowed.some((p) => i.toLowerCase().startsWith(p)));
  const registryProblems = [
    ...imageProblems,
    ...(outside.length > 0
      ? [
          `not from ${run.trust.registries.join(', ')}: ${outside.slice(0, 10).join(', ')}${outside.length > 10 ? ` and ${outside.length - 10} more` : ''}`,
        ]
      : []),
  ];
  checks.set(
    'image-registries',
    registryProblems.length > 0
      ? { id: 'image-registries', status: 'failed', reason: registryProblems.join('; ') }
      : { id: 'image-registries', status: 'passed', reason: `${images.length} image(s)` },
  );

  // image-signatures (only images from allowed registries: others already failed above)
  const toVerify = images.filter((i) => !outside.includes(i));
  if (run.options.verifyImages === false) {
    checks.set('image-signatures', {
      id: 'image-signatures',
      status: 'skipped',
      reason: 'image signatures not checked (disabled)',
    });
  } else if (toVerify.length === 0) {
    checks.set('image-signatures', {
      id: 'image-signatures',
      status: images.length === 0 ? 'passed' : 'skipped',
      reason: images.length === 0 ? 'no images' : 'no image from an allowed registry',
    });
  } else {
    const failures: string[] = [];
    for (const image of toVerify) {
      try {
        await verifyImage(run, image);
      } catch (e) {
        if (run.signal.aborted) throw run.signal.reason;
        failures.push(e instanceof CheckFailed ? e.message : `could not verify ${image}: ${message(e)}`);
      }
    }
    checks.set(
      'image-signatures',
      failures.length > 0
        ? { id: 'image-signatures', status: 'failed', reason: failures.slice(0, 10).join('; ') }
        : { id: 'image-signatures', status: 'passed', reason: `${toVerify.length} image(s) signed` },
    );
  }
  return finish();
}

interface Selected {
  secret: Obj;
  name: string;
  namespace: string;
  release: string;
  revision: number;
  /** Why Helm does not read this Secret as the revision its name says (labels), if it does not. */
  unread?: string;
}

/**
 * Why Helm's storage driver would not read this Secret as revision `revision` of
 * `release`: it finds a release's history by the labels `owner=helm,name=<release>`
 * (pkg/storage History, Last, Deployed), whatever the Secret is called.
 */
function notReadByHelm(secret: Obj, release: string, revision: number): string | undefined {
  const meta = isObj(secret.metadata) ? secret.metadata : {};
  const labels = isObj(meta.labels) ? meta.labels : {};
  if (ownedByHelm(secret) && labels.name === release) return undefined;
  const has = ownedByHelm(secret)
    ? `labelled name=${JSON.stringify(typeof labels.name === 'string' ? labels.name.slice(0, 100) : null)}`
    : 'not labelled owner=helm';
  return `Helm does not read it as revision ${revision} of release ${JSON.stringify(release)}: it is ${has} (Helm reads owner=helm,name=${JSON.stringify(release)})`;
}

/** Release Secrets to audit: the latest revision of each release, or all of them. */
function select(secrets: readonly unknown[], all: boolean): { selected: Selected[]; ignored: number } {
  let ignored = 0;
  const byRelease = new Map<string, Selected[]>();
  for (const s of secrets) {
    // Helm's storage driver reads an owner=helm Secret's data.release whatever its type: one
    // of another type is a release to Helm (the latest, when its revision is) and fails to decode.
    if (!isObj(s) || !isHelmReleaseSecret(s)) {
      ignored++;
      continue;
    }
    const meta = isObj(s.metadata) ? s.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : '';
    const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
    const parsed = parseReleaseSecretName(name);
    const entry: Selected = {
      secret: s,
      name,
      namespace,
      release: parsed?.release ?? name,
      revision: parsed?.revision ?? 0,
    };
    const unread = parsed ? notReadByHelm(s, parsed.release, parsed.revision) : undefined;
    if (unread) entry.unread = unread;
    // A name that does not parse is its own "release" (and fails to decode); so is a
    // Secret Helm does not read as a revision of its release, which must not stand in
    // for (or hide) the revisions Helm does read.
    const key = JSON.stringify(
      parsed && !unread ? [namespace, parsed.release] : [namespace, `\0${name}`, byRelease.size],
    );
    const list = byRelease.get(key);
    if (list) list.push(entry);
    else byRelease.set(key, [entry]);
  }
  const selected: Selected[] = [];
  for (const list of byRelease.values()) {
    if (all) selected.push(...list);
    else {
      // Two Secrets claiming the latest revision (a merged or forged list): audit both.
      const max = list.reduce((m, e) => Math.max(m, e.revision), 0);
      const latest = list.filter((e) => e.revision === max);
      selected.push(...latest);
      ignored += list.length - latest.length;
    }
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  selected.sort(
    (a, b) => cmp(a.namespace, b.namespace) || cmp(a.release, b.release) || a.revision - b.revision,
  );
  return { selected, ignored };
}

async function listSecrets(source: AuditSource, signal: AbortSignal): Promise<ListedSecrets> {
  if ('kubeconfig' in source) return listClusterSecrets(source, signal);
  if ('secrets' in source) {
    if (source.secrets.length > MAX_AUDIT_SECRETS)
      throw new ChartproofError('SIZE_LIMIT_EXCEEDED', `more than ${MAX_AUDIT_SECRETS} Secrets`);
    return { secrets: [...source.secrets], warnings: [] };
  }
  if ('json' in source) {
    return { secrets: parseSecretList(source.json, source.what ? { what: source.what } : {}), warnings: [] };
  }
  throw new ChartproofError('INVALID_ARGUMENT', 'an audit source is { json }, { secrets } or { kubeconfig }');
}

/**
 * Audits Helm releases against their signed charts (see the module comment and
 * docs/audit.md). Never throws for a release that fails a check: the report says what
 * failed; throws for input it cannot read, a cluster it cannot list, an abort or the
 * deadline.
 * @throws ChartproofError `INVALID_ARGUMENT` (bad source or options, a trust config without a client),
 *   `SIZE_LIMIT_EXCEEDED`/`DEPTH_LIMIT_EXCEEDED` (input), `INVALID_CONFIG`/`IO` (kubeconfig),
 *   `NETWORK`/`TLS`/`UNAUTHORIZED`/`DENIED`/`UNEXPECTED_STATUS` (the API server), `TIMEOUT` (deadline)
 * @public
 */
export async function auditReleases(source: AuditSource, options: AuditOptions = {}): Promise<AuditReport> {
  const started = Date.now();
  const concurrency = options.concurrency ?? DEFAULT_AUDIT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32)
    throw new ChartproofError('INVALID_ARGUMENT', 'concurrency must be an integer from 1 to 32');
  const timeoutMs = options.timeoutMs ?? DEFAULT_AUDIT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new ChartproofError('INVALID_ARGUMENT', 'timeoutMs must be positive');
  if (options.trust && !options.client)
    throw new ChartproofError('INVALID_ARGUMENT', 'auditing against a trust config needs a registry client');

  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new ChartproofError('TIMEOUT', `the audit took longer than ${timeoutMs} ms`)),
    timeoutMs,
  );
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = controller.signal;
  // The deadline holds even when a step ignores the signal.
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  try {
    return await Promise.race([
      audit(source, options, signal, started + timeoutMs, concurrency, started),
      aborted,
    ]);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

async function audit(
  source: AuditSource,
  options: AuditOptions,
  signal: AbortSignal,
  deadline: number,
  concurrency: number,
  started: number,
): Promise<AuditReport> {
  const listed = await listSecrets(source, signal);
  const warnings = [...listed.warnings];
  const trust = options.trust;
  const template =
    options.chartReference ??
    (trust?.charts ? (n: string, v: string) => chartReferenceFor(trust.charts!.reference, n, v) : undefined);
  if (!trust) warnings.push('no trust config: releases are listed, not verified');
  else if (!template)
    warnings.push('the trust config has no charts.reference: charts are not located or verified');
  if (
    trust &&
    !options.policy &&
    !options.trustedRoot &&
    (trust.verify.tlog === 'require' || trust.verify.identities.length > 0)
  )
    warnings.push(
      'no trusted root: keyless identities and transparency-log checks cannot verify (pass trustedRoot, or tlog: skip for key-only signatures)',
    );
  const kubeVersion = options.kubeVersion ?? listed.kubeVersion;
  const run: Run = {
    options,
    trust,
    client: options.client,
    policy: trust ? (options.policy ?? trustPolicy(trust, options.trustedRoot)) : undefined,
    template,
    kubeVersion,
    signal,
    deadline,
    memo: new Map(),
  };
  const { selected, ignored } = select(listed.secrets, options.allRevisions === true);
  const releases: AuditedRelease[] = new Array(selected.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      signal.throwIfAborted();
      const i = next++;
      if (i >= selected.length) return;
      const s = selected[i]!;
      releases[i] = await auditOne(run, s.secret, s.name, s.namespace, s.unread);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(selected.length, 1)) }, worker));
  const failed = releases.filter((r) => r.result === 'failed').length;
  const report: AuditReport = {
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    releases,
    summary: { releases: releases.length, passed: releases.length - failed, failed, ignoredSecrets: ignored },
    warnings,
    ok: failed === 0,
  };
  if (kubeVersion !== undefined) report.kubeVersion = kubeVersion;
  return report;
}
