/**
 * A validating admission webhook for Helm: `admission.k8s.io/v1` AdmissionReviews of
 * Helm release Secrets and Pods.
 *
 * Release Secrets: the release names its chart only by name and version (Helm stores
 * no reference or digest), so the chart is looked up in the internal registry through
 * a template (`oci://registry.internal/charts/{name}:{version}`), its signature
 * verified with {@link verifyChart} against the trust policy, the digest-pinned chart
 * pulled, and the release's chart content (Chart.yaml metadata, default values,
 * templates, files, values schema) compared with it: a release installed from a
 * modified, unsigned or unknown chart is denied, naming what differs.
 *
 * Pods: every image must come from an allowed registry; with `verifyImages` each
 * image's cosign signature is verified too (the same verifier: it checks any OCI
 * artifact's manifest digest).
 *
 * Results are cached by digest with a TTL; each review runs under a deadline (default
 * 10 s, the apiserver's default webhook timeout) and a failure to decide (registry
 * down, deadline) follows the failure policy: `Fail` denies, `Ignore` allows with a
 * warning. Counters tell allowed / denied / errors apart.
 */
import { untilAborted } from '../internal/abort.js';
import { loadChartArchive } from '../chart/load.js';
import { parseChartReference, pullChart } from '../chart/oci.js';
import type { Chart, ChartFile } from '../chart/types.js';
import { ChartproofError, isNotFoundError } from '../errors.js';
import type { RegistryClient } from '../oci/client.js';
import type { Digest } from '../oci/digest.js';
import { ChartVerificationError, verifyChart } from '../verify/chart.js';
import type { TrustedRootJson, VerificationPolicy } from '../verify/policy.js';
import {
  decodeReleaseSecret,
  type HelmRelease,
  isHelmReleaseSecret,
  ownedByHelm,
  ReleaseSecretError,
} from './release.js';
import { chartReferenceFor, type TrustConfig } from './trust.js';
import { isRecord as isObj } from '../internal/guards.js';

/** What the webhook does when it cannot decide in time or at all. @public */
export type AdmissionFailurePolicy = 'Fail' | 'Ignore';

/** Default deadline of one review, in milliseconds (the apiserver's default timeout). @public */
export const DEFAULT_REVIEW_DEADLINE_MS = 10_000;
/** Default lifetime of a cached verification, in milliseconds. @public */
export const DEFAULT_CACHE_TTL_MS = 5 * 60_000;

/** Allowed / denied / error counts of an {@link AdmissionState}. @public */
export interface AdmissionCounters {
  allowed: number;
  denied: number;
  /** Reviews that could not be decided (then the failure policy applied). */
  errors: number;
}

interface CacheEntry {
  expires: number;
  value: Promise<unknown>;
  /** The signal of the review whose run this is. */
  owner: AbortSignal | undefined;
}

/**
 * State shared by the reviews of one webhook: the verification cache (bounded, TTL)
 * and the counters. One per server; none is global.
 * @public
 */
export class AdmissionState {
  readonly counters: AdmissionCounters = { allowed: 0, denied: 0, errors: 0 };
  readonly #cache = new Map<string, CacheEntry>();
  readonly #ttl: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {}) {
    this.#ttl = options.ttlMs ?? DEFAULT_CACHE_TTL_MS;
    this.#max = options.maxEntries ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Cached `fn()` under `key`; a rejected promise is not kept. `fn` runs under
   * `signal` (the review's); a review that joins another's run stops waiting when its own
   * `signal` aborts, and runs again itself when the other review gave up (its signal
   * aborted) rather than sharing that review's failure.
   * @internal
   */
  async cached<T>(key: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (;;) {
      signal?.throwIfAborted();
      const entry = this.#entry(key, fn, signal);
      try {
        return (await (entry.owner === signal ? entry.value : untilAborted(entry.value, signal))) as T;
      } catch (e) {
        if (entry.owner !== signal && entry.owner?.aborted && !signal?.aborted) continue;
        throw e;
      }
    }
  }

  #entry(key: string, fn: () => Promise<unknown>, signal: AbortSignal | undefined): CacheEntry {
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit && hit.expires > now) return hit;
    if (hit) this.#cache.delete(key);
    while (this.#cache.size >= this.#max) {
      const oldest = this.#cache.keys().next().value as string;
      this.#cache.delete(oldest);
    }
    const value = fn();
    const entry: CacheEntry = { expires: now + this.#ttl, value, owner: signal };
    this.#cache.set(key, entry);
    value.catch(() => {
      if (this.#cache.get(key) === entry) this.#cache.delete(key);
    });
    return entry;
  }

  /** Entries cached now (for tests and metrics). */
  get cacheSize(): number {
    return this.#cache.size;
  }
}

/** Options of {@link reviewAdmission}. @public */
export interface ReviewAdmissionOptions {
  trust: TrustConfig;
  /** Client for the internal registry. */
  client: RegistryClient;
  /** Trusted root for keyless identities and transparency-log checks. */
  trustedRoot?: TrustedRootJson;
  /** Overrides the verification policy derived from `trust`. */
  policy?: VerificationPolicy;
  /** Maps a release's chart to its signed reference. Default: `trust.charts.reference`. */
  chartReference?: (name: string, version: string) => string;
  /** Also verify Pod images' signatures (not only their registry). Default false. */
  verifyImages?: boolean;
  /** Deadline of one review. Default {@link DEFAULT_REVIEW_DEADLINE_MS}. */
  deadlineMs?: number;
  /** Default `Fail`. */
  failurePolicy?: AdmissionFailurePolicy;
  /** Cache and counters shared across reviews; without one, nothing is cached. */
  state?: AdmissionState;
  signal?: AbortSignal;
}

/** The `response` of an AdmissionReview. @public */
export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason?: string };
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

/** An AdmissionReview answer. @public */
export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

type Obj = Record<string, unknown>;

/** A definitive "no" (the review is decided, not failed). */
class Denial extends Error {}

/** The verification policy a trust config stands for. @public */
export function trustPolicy(trust: TrustConfig, trustedRoot?: TrustedRootJson): VerificationPolicy {
  const policy: VerificationPolicy = { tlog: trust.verify.tlog === 'skip' ? 'skip' : 'require' };
  if (trust.verify.keys.length > 0) policy.keys = trust.verify.keys;
  if (trust.verify.identities.length > 0) policy.identities = trust.verify.identities;
  if (trustedRoot) policy.trustedRoot = trustedRoot;
  return policy;
}

function namespaceExcluded(trust: TrustConfig, namespace: string): boolean {
  return trust.excludeNamespaces.some((p) =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replaceAll('*', '.*')
        .replaceAll('?', '.')}$`,
    ).test(namespace),
  );
}

// ---------------------------------------------------------------------------------
// comparing a release's chart with the signed chart

const METADATA_FIELDS = [
  'name',
  'version',
  'apiVersion',
  'appVersion',
  'description',
  'type',
  'kubeVersion',
  'home',
  'icon',
  'condition',
  'tags',
  'deprecated',
  'keywords',
  'sources',
  'maintainers',
  'annotations',
  'dependencies',
] as const;

/**
 * JSON with object keys sorted; `loose` also drops empty values (metadata: Go's
 * `omitempty` drops them from the release, YAML may spell them out). Values are
 * compared strictly: `enabled: false` is not the same as no `enabled`.
 */
function canonical(v: unknown, loose: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => canonical(x, loose));
  if (isObj(v)) {
    const out: Obj = {};
    for (const k of Object.keys(v).sort()) {
      const x = canonical(v[k], loose);
      if (x === undefined) continue;
      if (loose) {
        if (x === null || x === '' || x === false) continue;
        if (Array.isArray(x) && x.length === 0) continue;
        if (isObj(x) && Object.keys(x).length === 0) continue;
      }
      out[k] = x;
    }
    return out;
  }
  return v;
}

const same = (a: unknown, b: unknown, loose = true) =>
  JSON.stringify(canonical(a, loose) ?? null) === JSON.stringify(canonical(b, loose) ?? null);

/** First paths where two values differ (strictly; bounded). */
function diffPaths(a: unknown, b: unknown, path: string, out: string[]): void {
  if (out.length >= 5 || same(a, b, false)) return;
  if (isObj(a) && isObj(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
      diffPaths(a[k], b[k], `${path}.${k}`, out);
    return;
  }
  out.push(path || '.');
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

function compareFiles(kind: string, release: ChartFile[], signed: ChartFile[], out: string[]): void {
  const theirs = new Map(signed.map((f) => [f.name, f.data]));
  const ours = new Set<string>();
  for (const f of release) {
    ours.add(f.name);
    const s = theirs.get(f.name);
    if (s === undefined) out.push(`${kind} ${f.name} is not in the signed chart`);
    else if (!bytesEqual(f.data, s)) out.push(`${kind} ${f.name} differs from the signed chart`);
  }
  for (const name of theirs.keys())
    if (!ours.has(name)) out.push(`${kind} ${name} of the signed chart is missing`);
}

/**
 * Compares the chart stored in a release with a (signed) chart: metadata, default
 * values, templates, files and values schema. Subcharts are not stored in releases
 * and are not compared. Returns the differences, empty when the content matches.
 * @public
 */
export function compareReleaseChart(release: HelmRelease, signed: Chart): string[] {
  const out: string[] = [];
  const rm = release.chart.metadata;
  const sm = signed.metadata as unknown as Obj;
  for (const k of METADATA_FIELDS)
    if (!same(rm[k], sm[k])) out.push(`Chart.yaml ${k} differs from the signed chart`);
  const paths: string[] = [];
  diffPaths(release.chart.values, signed.values, '', paths);
  if (paths.length > 0) out.push(`values.yaml differs from the signed chart at ${paths.join(', ')}`);
  compareFiles('template', release.chart.templates, signed.templates, out);
  // Helm keeps Chart.lock and values.schema.json out of `files`; chartproof's loader keeps Chart.lock there.
  const files = signed.files.filter((f) => f.name !== 'Chart.lock' && f.name !== 'requirements.lock');
  compareFiles('file', release.chart.files, files, out);
  const rs = release.chart.schema ?? new Uint8Array();
  const ss = signed.schema ?? new Uint8Array();
  if (!bytesEqual(rs, ss)) out.push('values.schema.json differs from the signed chart');
  return out;
}

// ---------------------------------------------------------------------------------
// reviews

interface SignedChart {
  pinned: string;
  digest: Digest;
  chart: Chart;
}

async function signedChart(
  reference: string,
  options: ReviewAdmissionOptions,
  policy: VerificationPolicy,
  signal: AbortSignal,
): Promise<SignedChart> {
  const { client } = options;
  let parsed: ReturnType<typeof parseChartReference>;
  try {
    parsed = parseChartReference(reference);
  } catch (e) {
    // A name or version no registry can hold (`App`, a 200-character tag): decided, not undecidable.
    if (e instanceof ChartproofError && e.code === 'INVALID_REFERENCE')
      throw new Denial(`chart ${reference} cannot be in the internal registry: ${e.message}`);
    throw e;
  }
  const repo = client.repository(parsed);
  let digest: Digest;
  try {
    // The tag is resolved on every review (a moved tag is seen at once); everything
    // after is by digest, and cached by it.
    digest = parsed.digest ?? (await repo.resolve(parsed.tag ?? 'latest', { signal })).digest;
  } catch (e) {
    if (isNotFoundError(e)) throw new Denial(`chart ${reference} is not in the internal registry`);
    throw e;
  }
  const pinned = repo.pinned(digest);
  const run = async (): Promise<SignedChart> => {
    try {
      await verifyChart(client, pinned, { policy, signal });
    } catch (e) {
      if (e instanceof ChartVerificationError)
        throw new Denial(
          `chart ${reference} (${pinned}) is not signed by a trusted key or identity: ${e.message}`,
        );
      throw e;
    }
    const pulled = await pullChart(client, pinned, { signal });
    const chart = await loadChartArchive(pulled.archive, { signal });
    return { pinned, digest, chart };
  };
  return options.state ? options.state.cached(`chart:${pinned}`, run, signal) : run();
}

async function reviewRelease(
  object: Obj,
  oldObject: unknown,
  options: ReviewAdmissionOptions,
  signal: AbortSignal,
): Promise<{ message: string; annotations: Record<string, string> }> {
  let release: HelmRelease;
  try {
    release = await decodeReleaseSecret(object);
  } catch (e) {
    if (e instanceof ReleaseSecretError) throw new Denial(`not a valid Helm release Secret: ${e.message}`);
    throw e;
  }
  // Helm rewrites old revisions (status superseded, labels): same content, no new check.
  // Only when the old object had `owner=helm` (so the webhook saw it): a Secret created
  // without the label skipped the webhook, and adding the label must not pass it unchecked.
  if (isObj(oldObject) && ownedByHelm(oldObject)) {
    try {
      const before = await decodeReleaseSecret(oldObject);
      if (
        same(before.chart.metadata, release.chart.metadata) &&
        compareReleaseChart(release, chartOf(before)).length === 0 &&
        same(before.config, release.config, false) &&
        before.manifest === release.manifest
      )
        return {
          message: `release ${release.name} v${release.revision}: chart content unchanged`,
          annotations: {},
        };
    } catch {
      // an undecodable old object: check the new one in full
    }
  }
  const template =
    options.chartReference ??
    (options.trust.charts
      ? (n: string, v: string) => chartReferenceFor(options.trust.charts!.reference, n, v)
      : undefined);
  if (!template)
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      'no chart reference template (trust config charts.reference)',
    );
  // Hostile names must not steer the reference (`x:1@sha256:…`, `../other`).
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(release.chart.name) || release.chart.name.includes('..'))
    throw new Denial(`chart name ${JSON.stringify(release.chart.name)} is not a valid chart name`);
  if (!/^[A-Za-z0-9][A-Za-z0-9.+_-]*$/.test(release.chart.version))
    throw new Denial(`chart version ${JSON.stringify(release.chart.version)} is not a valid chart version`);
  const reference = template(release.chart.name, release.chart.version);
  const policy = options.policy ?? trustPolicy(options.trust, options.trustedRoot);
  const signed = await signedChart(reference, options, policy, signal);
  const diffs = compareReleaseChart(release, signed.chart);
  const id = `release ${release.namespace}/${release.name} v${release.revision} (chart ${release.chart.name} ${release.chart.version})`;
  if (diffs.length > 0)
    throw new Denial(
      `${id} does not match the signed chart ${signed.pinned}: ${diffs.slice(0, 10).join('; ')}`,
    );
  return {
    message: `${id} matches the signed chart ${signed.pinned}`,
    annotations: { 'chartproof.dev/chart': signed.pinned },
  };
}

/** A release's chart as a `Chart` (for comparing two releases). */
function chartOf(r: HelmRelease): Chart {
  const chart: Chart = {
    metadata: r.chart.metadata as unknown as Chart['metadata'],
    chartYaml: new Uint8Array(),
    values: r.chart.values,
    templates: r.chart.templates,
    files: r.chart.files,
    dependencies: [],
  };
  if (r.chart.schema) chart.schema = r.chart.schema;
  return chart;
}

function podImages(pod: Obj): string[] {
  const spec = isObj(pod.spec) ? pod.spec : {};
  const out: string[] = [];
  for (const key of ['initContainers', 'containers', 'ephemeralContainers']) {
    const list = spec[key];
    if (!Array.isArray(list)) continue;
    for (const c of list) if (isObj(c) && typeof c.image === 'string') out.push(c.image);
  }
  return out;
}

async function reviewPod(
  object: Obj,
  options: ReviewAdmissionOptions,
  signal: AbortSignal,
): Promise<{ message: string; annotations: Record<string, string> }> {
  const images = podImages(object);
  const allowed = options.trust.registries.map((r) => `${r}/`);
  const outside = images.filter((i) => !allowed.some((p) => i.startsWith(p)));
  if (outside.length > 0)
    throw new Denial(
      `images must come from ${options.trust.registries.join(', ')}: ${outside.map((i) => JSON.stringify(i)).join(', ')} ${outside.length === 1 ? 'does' : 'do'} not`,
    );
  if (options.verifyImages) {
    const policy = options.policy ?? trustPolicy(options.trust, options.trustedRoot);
    for (const image of new Set(images)) {
      const verify = async () => {
        try {
          return await verifyChart(options.client, image, { policy, signal });
        } catch (e) {
          if (e instanceof ChartVerificationError)
            throw new Denial(`image ${image} is not signed by a trusted key or identity: ${e.message}`);
          if (isNotFoundError(e)) throw new Denial(`image ${image} is not in the registry`);
          if (e instanceof ChartproofError && (e.code === 'INVALID_REFERENCE' || e.code === 'INVALID_DIGEST'))
            throw new Denial(`image ${JSON.stringify(image)} cannot be verified: ${e.message}`);
          throw e;
        }
      };
      // Digest-pinned images are cached by digest; tags are re-resolved every time.
      if (options.state && image.includes('@sha256:'))
        await options.state.cached(`image:${image}`, verify, signal);
      else await verify();
    }
  }
  return { message: `${images.length} image(s) from allowed registries`, annotations: {} };
}

/**
 * Reviews an `admission.k8s.io/v1` AdmissionReview (the parsed request body) and
 * returns the AdmissionReview to answer with. Helm release Secrets and Pods are
 * checked; other objects, DELETE/CONNECT operations and excluded namespaces are
 * allowed. With `trust.validationFailureAction: Audit` a denial is returned as an
 * allowed response with a warning.
 * @throws ChartproofError `INVALID_ARGUMENT` when `review` is not an AdmissionReview v1 request
 * @public
 */
export async function reviewAdmission(
  review: unknown,
  options: ReviewAdmissionOptions,
): Promise<AdmissionReviewResponse> {
  if (!isObj(review) || review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview')
    throw new ChartproofError('INVALID_ARGUMENT', 'not an admission.k8s.io/v1 AdmissionReview');
  const request = review.request;
  if (!isObj(request) || typeof request.uid !== 'string' || request.uid === '')
    throw new ChartproofError('INVALID_ARGUMENT', 'the AdmissionReview has no request.uid');
  const uid = request.uid;
  const state = options.state;
  const answer = (response: Omit<AdmissionResponse, 'uid'>, count = true): AdmissionReviewResponse => {
    if (state && count) {
      if (response.allowed) state.counters.allowed++;
      else state.counters.denied++;
    }
    return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, ...response } };
  };
  const operation = request.operation;
  const kind = isObj(request.kind) ? request.kind : {};
  const object = request.object;
  const namespace = typeof request.namespace === 'string' ? request.namespace : '';
  if (operation === 'DELETE' || operation === 'CONNECT' || !isObj(object)) return answer({ allowed: true });
  if (namespace !== '' && namespaceExcluded(options.trust, namespace)) return answer({ allowed: true });
  const core = (kind.group ?? '') === '' && kind.version === 'v1';
  // Helm's storage driver reads an owner=helm Secret's data.release whatever its type: one
  // of another type is a release to Helm, and is denied as an invalid one.
  const isRelease = core && kind.kind === 'Secret' && isHelmReleaseSecret(object);
  const isPod = core && kind.kind === 'Pod';
  if (!isRelease && !isPod) return answer({ allowed: true });

  const deadline = options.deadlineMs ?? DEFAULT_REVIEW_DEADLINE_MS;
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new ChartproofError('TIMEOUT', `the review took longer than ${deadline} ms`)),
    deadline,
  );
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = controller.signal;
  try {
    const work = isRelease
      ? reviewRelease(object, request.oldObject, options, signal)
      : reviewPod(object, options, signal);
    // The deadline holds even when a step ignores the signal.
    const aborted = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    const ok = await Promise.race([work, aborted]);
    const response: Omit<AdmissionResponse, 'uid'> = { allowed: true };
    if (Object.keys(ok.annotations).length > 0) response.auditAnnotations = ok.annotations;
    return answer(response);
  } catch (e) {
    if (e instanceof Denial) {
      const message = `chartproof: ${e.message}`;
      if (options.trust.validationFailureAction === 'Audit')
        return answer({ allowed: true, warnings: [truncate(`audit: ${message}`)] });
      return answer({ allowed: false, status: { code: 403, reason: 'Forbidden', message } });
    }
    if (options.signal?.aborted) throw options.signal.reason;
    if (state) state.counters.errors++;
    const why = e instanceof Error ? e.message : String(e);
    const message = `chartproof: could not verify: ${why}`;
    if ((options.failurePolicy ?? 'Fail') === 'Ignore')
      return answer({ allowed: true, warnings: [truncate(`${message} (failurePolicy Ignore)`)] }, false);
    return answer({ allowed: false, status: { code: 500, reason: 'InternalError', message } }, false);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Warnings over 256 characters may be truncated by the apiserver; keep them short. */
function truncate(s: string): string {
  return s.length > 256 ? `${s.slice(0, 253)}...` : s;
}
