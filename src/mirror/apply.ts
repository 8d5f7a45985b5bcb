/**
 * Mirror apply: copies what the plan says to copy, byte for byte for OCI sources
 * (with their signatures and referrers) and in Helm's OCI format for classic
 * repositories, adds the internal signature, and tags last.
 */
import { readFile } from 'node:fs/promises';
import { pushChart } from '../chart/oci.js';
import { ChartproofError } from '../errors.js';
import { ChartVerificationError, verifyChart } from '../verify/chart.js';
import { BlobMountCache, copy } from '../oci/copy.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import type { Repository } from '../oci/repository.js';
import { passwordFromEnv } from '../keys/keys.js';
import type { Signer } from '../keys/signer.js';
import { type MirrorOptions, type MirrorPlanItem, mapLimit, planItem, sourceOf } from './plan.js';
import { loadedChart } from './chart-renders.js';
import { MirrorRunCache } from './run-cache.js';
import { copyImages, type MirrorImageResult, pushOverlay } from './images.js';
import { chartImages, type MirrorSpec } from './spec.js';
import { type ChartRequest, chartRequests } from './versions.js';

/** Options of {@link applyMirror}. @public */
export interface ApplyMirrorOptions extends MirrorOptions {
  /** Environment for `COSIGN_PASSWORD` (the internal key's password). */
  env?: Record<string, string | undefined>;
  /** Overrides the spec's signer (e.g. a KMS-backed `Signer`). */
  signer?: Signer;
}

/** What happened to one chart version. @public */
export interface MirrorResult {
  name: string;
  requested: string;
  version: string;
  source: string;
  target: string;
  status: 'copied' | 'skipped' | 'refused' | 'failed';
  reason?: string;
  /** The digest the target tag names (the source manifest digest for OCI sources). */
  digest?: string;
  /** `registry/prefix/name@sha256:…`. */
  pinned?: string;
  /** Upstream signatures, attestations and other referrers carried along. */
  signaturesCarried: number;
  /** The internal signature added. */
  internalSignature?: { legacy?: string; bundle?: string };
  verification?: MirrorPlanItem['verification'];
  findings: MirrorPlanItem['findings'];
  warnings: MirrorPlanItem['warnings'];
  /** With `images`: what happened to each image the chart deploys. */
  images?: MirrorImageResult[];
  /**
   * With `images`: the values overlay (`values-internal.yaml`), the digest of the
   * overlay artifact pushed as a referrer of the mirrored chart, and (with `sign`) its
   * internal signature: the legacy `.sig` tag and/or the bundle referrer's digest.
   */
  overlay?: {
    prefix: string;
    yaml: string;
    digest?: string;
    internalSignature?: { legacy?: string; bundle?: string };
  };
  durationMs: number;
}

/** Image counts of a run with `images`. @public */
export interface MirrorImageSummary {
  copied: number;
  skipped: number;
  refused: number;
  failed: number;
}

/** The report of a mirror run. @public */
export interface MirrorReport {
  startedAt: string;
  durationMs: number;
  results: MirrorResult[];
  summary: {
    copied: number;
    skipped: number;
    refused: number;
    failed: number;
    /** Images of the charts, counted once per target reference (with `images`). */
    images?: MirrorImageSummary;
  };
}

const STATUS = { copy: 'copied', skip: 'skipped', refuse: 'refused', fail: 'failed' } as const;

/** `Mirrored: N copied, M skipped, K refused, F failed`. @public */
export function mirrorSummaryLine(report: Pick<MirrorReport, 'summary'>): string {
  const s = report.summary;
  const i = s.images;
  const images = i
    ? `; images: ${i.copied} copied, ${i.skipped} skipped, ${i.refused} refused, ${i.failed} failed`
    : '';
  return `Mirrored: ${s.copied} copied, ${s.skipped} skipped, ${s.refused} refused, ${s.failed} failed${images}`;
}

/** Counts the images of `results` (one per target reference; the worst status wins). @internal */
export function imageSummary(results: readonly MirrorResult[]): MirrorImageSummary | undefined {
  if (!results.some((r) => r.images !== undefined)) return undefined;
  const rank = { failed: 0, refused: 1, copied: 2, skipped: 3 } as const;
  const byTarget = new Map<string, MirrorImageResult['status']>();
  for (const r of results)
    for (const img of r.images ?? []) {
      const prev = byTarget.get(img.target);
      if (prev === undefined || rank[img.status] < rank[prev]) byTarget.set(img.target, img.status);
    }
  const out: MirrorImageSummary = { copied: 0, skipped: 0, refused: 0, failed: 0 };
  for (const status of byTarget.values()) out[status]++;
  return out;
}

/** The internal signer: `options.signer`, else the spec's `sign.key` with `COSIGN_PASSWORD`. @internal */
export async function internalSigner(
  spec: MirrorSpec,
  options: ApplyMirrorOptions,
): Promise<Signer | undefined> {
  if (options.signer) return options.signer;
  if (!spec.sign) return undefined;
  const password = passwordFromEnv(options.env ?? {});
  if (password === undefined)
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      'sign.key is set: COSIGN_PASSWORD must hold its password (it may be empty)',
    );
  let pem: string;
  try {
    pem = await readFile(spec.sign.key, 'utf8');
  } catch (e) {
    throw new ChartproofError('IO', `cannot read ${spec.sign.key}: ${(e as Error).message}`, { cause: e });
  }
  const { keyFileSigner } = await import('../keys/keys.js');
  return keyFileSigner(pem, password);
}

function splitTarget(target: string): { repository: string; tag: string } {
  const at = target.lastIndexOf(':');
  return { repository: target.slice(0, at), tag: target.slice(at + 1) };
}

async function copyOne(
  item: MirrorPlanItem,
  result: MirrorResult,
  spec: MirrorSpec,
  signer: Signer | undefined,
  options: ApplyMirrorOptions,
  cache: MirrorRunCache,
): Promise<void> {
  const { client, signal } = options;
  const { repository, tag } = splitTarget(item.target);
  const dst = client.repository(repository);
  let root: Descriptor;
  if (item.kind === 'oci') {
    const src = item.source.replace(/^oci:\/\//, '');
    const srcRepo = client.repository(src.slice(0, src.lastIndexOf(':')));
    const carry = spec.carrySignatures ?? true;
    // No tag yet: the tag is written last, after the internal signature.
    // What planning downloaded (and verified) is served from memory, not fetched again.
    const source = sourceOf(item, srcRepo);
    // Without an internal signature to add first, copy writes the tag itself, after
    // everything else (with the manifest in one request when nothing travels with it).
    const copied = await copy(source, item.sourceDigest!, dst, undefined, {
      tags: signer || item.overlay ? [] : [tag],
      referrers: carry,
      cosignTags: carry,
      // The plan listed the target's tags: this version's tag is not there.
      assumeRootAbsent: item.targetDigest === undefined,
      ...(signal ? { signal } : {}),
    });
    root = copied.descriptor;
    result.signaturesCarried = copied.referrers.length + copied.cosignTags.length;
  } else {
    const chart = await loadedChart(item.archive!, signal);
    const pushed = await pushChart(client, item.archive!, chart.metadata, `oci://${item.target}`, {
      untagged: true,
      strict: false,
      creationTime: item.created ?? '1970-01-01T00:00:00Z',
      ...(item.provenance ? { provenance: item.provenance } : {}),
      ...(signal ? { signal } : {}),
    });
    root = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: pushed.digest,
      size: pushed.manifest.byteLength,
    };
  }
  options.onEvent?.({ name: item.name, version: item.version, step: 'copied', detail: root.digest });
  // The overlay goes next to the chart before the tag: a tagged chart has its overlay.
  if (item.overlay) await overlayFor(item, result, dst, root, signer, spec, options);
  await signAndTag(dst, root, tag, signer, spec, result, item, {
    ...options,
    tagged: item.kind === 'oci' && !signer && !item.overlay,
  });
  await cache.tagged(dst, tag);
}

async function overlayFor(
  item: MirrorPlanItem,
  result: MirrorResult,
  dst: Repository,
  root: Descriptor,
  signer: Signer | undefined,
  spec: MirrorSpec,
  options: MirrorOptions,
): Promise<void> {
  const overlay = item.overlay!;
  const pushed = await pushOverlay(dst, root, overlay, item.images ?? [], options.signal);
  result.overlay = { prefix: overlay.prefix, yaml: overlay.yaml, digest: pushed.digest };
  if (signer) result.overlay.internalSignature = await signOverlay(dst, pushed, signer, spec, options.signal);
}

/** The digest of a bundle referrer of `desc` that verifies with `signer`'s key, if any. */
async function ownBundle(
  dst: Repository,
  desc: Descriptor,
  signer: Signer,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  try {
    const r = await verifyChart(dst, `${dst.name}@${desc.digest}`, {
      policy: { keys: [await signer.publicKeyPem()], tlog: 'skip' },
      formats: ['bundle'],
      ...(signal ? { signal } : {}),
    });
    return r.signatures.find((c) => c.verified)?.source;
  } catch (e) {
    if (e instanceof ChartVerificationError) return undefined;
    throw e;
  }
}

/**
 * Signs a values overlay artifact with the internal key (`sign.format`), so that
 * `mirror overlay --key` and `fetchValuesOverlays({ policy })` can tell it from one
 * planted by someone else with push access. An overlay pushed by this run is always
 * signed; one found in place is signed in each format it has no signature of **by this
 * signer's key** yet (a run killed between the two pushes leaves none; someone else's
 * signature, an attestation or a rotated key's does not count), and left alone otherwise.
 * @internal
 */
export async function signOverlay(
  dst: Repository,
  overlay: { descriptor: Descriptor; pushed: boolean },
  signer: Signer,
  spec: MirrorSpec,
  signal?: AbortSignal,
): Promise<{ legacy?: string; bundle?: string }> {
  const format = spec.sign?.format ?? 'both';
  const desc = overlay.descriptor;
  const sig: { legacy?: string; bundle?: string } = {};
  if (format !== 'bundle') {
    // signLegacy adds nothing when the `.sig` manifest already holds a signature of this
    // payload by this key, and appends ours beside anyone else's.
    const { signLegacy } = await import('../sign/legacy.js');
    sig.legacy = (await signLegacy(dst, desc, signer, signal ? { signal } : {})).tag;
  }
  if (format !== 'legacy') {
    // Only a bundle that verifies with this signer's key counts as ours (not someone
    // else's signature, an attestation, or a rotated key's).
    const ours = overlay.pushed ? undefined : await ownBundle(dst, desc, signer, signal);
    if (ours !== undefined) sig.bundle = ours;
    else {
      const { signBundle } = await import('../sign/referrer.js');
      sig.bundle = (await signBundle(dst, desc, signer, signal ? { signal } : {})).manifest.digest;
    }
  }
  return sig;
}

/**
 * The last steps of mirroring one chart: the internal signature (when a signer is
 * configured), then the tag, so the tag never names an unsigned chart.
 * @internal
 */
export async function signAndTag(
  dst: Repository,
  root: Descriptor,
  tag: string,
  signer: Signer | undefined,
  spec: MirrorSpec,
  result: Pick<MirrorResult, 'internalSignature' | 'digest' | 'pinned'>,
  at: { name: string; version: string },
  options: { signal?: AbortSignal; onEvent?: MirrorOptions['onEvent']; tagged?: boolean },
): Promise<void> {
  const { signal } = options;
  if (signer) {
    const format = spec.sign?.format ?? 'both';
    const sig: { legacy?: string; bundle?: string } = {};
    // Loaded on demand: a mirror without signing does not load the sigstore libraries.
    if (format !== 'bundle') {
      const { signLegacy } = await import('../sign/legacy.js');
      sig.legacy = (await signLegacy(dst, root, signer, signal ? { signal } : {})).tag;
    }
    if (format !== 'legacy') {
      const { signBundle } = await import('../sign/referrer.js');
      sig.bundle = (await signBundle(dst, root, signer, signal ? { signal } : {})).manifest.digest;
    }
    result.internalSignature = sig;
    options.onEvent?.({ name: at.name, version: at.version, step: 'signed' });
  }
  if (!options.tagged && tag !== '') await dst.tag(root, tag, { signal });
  if (tag !== '') options.onEvent?.({ name: at.name, version: at.version, step: 'tagged', detail: tag });
  result.digest = root.digest;
  result.pinned = dst.pinned(root.digest);
}

async function applyOne(
  chart: MirrorSpec['charts'][number],
  request: ChartRequest,
  spec: MirrorSpec,
  signer: Signer | undefined,
  options: ApplyMirrorOptions,
  cache: MirrorRunCache,
  run: {
    mountCache: BlobMountCache;
    images: Map<string, Promise<MirrorImageResult>>;
    tags: Map<string, string>;
  },
): Promise<MirrorResult> {
  const t0 = Date.now();
  const item = await planItem(chart, request.requested, spec, options, cache, request);
  const result: MirrorResult = {
    name: item.name,
    requested: item.requested,
    version: item.version,
    source: item.source,
    target: item.target,
    status: STATUS[item.action],
    signaturesCarried: 0,
    findings: item.findings,
    warnings: item.warnings,
    durationMs: 0,
  };
  if (item.reason) result.reason = item.reason;
  if (item.verification) result.verification = item.verification;
  if (item.action === 'skip' && item.targetDigest) {
    result.digest = item.targetDigest;
    result.pinned = options.client
      .repository(splitTarget(item.target).repository)
      .pinned(item.targetDigest as Digest);
  }
  const images = chartImages(spec, chart);
  if (images && item.images && (item.action === 'copy' || item.action === 'skip')) {
    // Images first, then the overlay and the chart: a tagged chart's images are all there.
    const at = { name: item.name, version: item.version };
    result.images = await copyImages(
      item,
      spec,
      images,
      signer,
      (dst, root, tag, sign, r, tagged) =>
        signAndTag(dst, root, tag ?? '', sign, spec, r, at, {
          ...(options.signal ? { signal: options.signal } : {}),
          tagged,
        }),
      run.mountCache,
      options,
      run.images,
      run.tags,
    );
    const failed = result.images.filter((i) => i.status === 'failed');
    // Refused now: another chart of this run claimed the image's tag (see copyImages).
    const refused = result.images.filter((i) => i.status === 'refused');
    if (failed.length > 0) {
      result.status = 'failed';
      result.reason = `image ${failed[0]!.source}${failed.length > 1 ? ` (and ${failed.length - 1} more)` : ''}: ${failed[0]!.reason}`;
      item.action = 'fail';
    } else if (refused.length > 0) {
      result.status = 'refused';
      result.reason = `image ${refused[0]!.source}: ${refused[0]!.reason}`;
      item.action = 'refuse';
    } else if (item.action === 'skip' && item.overlay && item.targetDigest) {
      try {
        const dst = options.client.repository(splitTarget(item.target).repository);
        const root = await dst.resolve(item.targetDigest, { signal: options.signal });
        await overlayFor(item, result, dst, root, signer, spec, options);
      } catch (e) {
        options.signal?.throwIfAborted();
        result.status = 'failed';
        result.reason = `values overlay: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
  }
  if (item.action === 'copy') {
    try {
      await copyOne(item, result, spec, signer, options, cache);
    } catch (e) {
      options.signal?.throwIfAborted();
      result.status = 'failed';
      result.reason = e instanceof Error ? e.message : String(e);
    }
  }
  result.durationMs = Date.now() - t0;
  options.onEvent?.({ name: item.name, version: item.version, step: 'done', detail: result.status });
  return result;
}

/**
 * Mirrors the spec's charts into the target registry. For each chart version (at
 * most `spec.concurrency` at once) it plans as {@link planMirror} does, then copies:
 * OCI sources byte for byte under the same manifest digest, with their upstream
 * signatures, attestations and referrers (`carrySignatures`, default on); classic
 * charts, verified against the index digest (and `.prov` with a keyring), pushed in
 * Helm's OCI format with the index entry's creation time (so re-runs produce the
 * same manifest). The internal signature (spec `sign`) is added before the tag is
 * written, so the tag never names an unsigned or incomplete chart. A re-run skips
 * what is already there; one chart's failure does not stop the others.
 * @throws ChartproofError `INVALID_ARGUMENT`/`IO`/`KEY_*` for an unusable signing key
 *   (checked before anything is copied)
 * @public
 */
export async function applyMirror(spec: MirrorSpec, options: ApplyMirrorOptions): Promise<MirrorReport> {
  const started = Date.now();
  const signer = await internalSigner(spec, options);
  const cache = new MirrorRunCache();
  const run = {
    mountCache: new BlobMountCache(),
    images: new Map<string, Promise<MirrorImageResult>>(),
    // Internal image tags this run writes, with their digests.
    tags: new Map<string, string>(),
  };
  // Charts run in parallel; one chart's versions run in order, so two requests that
  // resolve to the same version copy it once (the second finds it at the target).
  const perChart = await mapLimit(spec.charts, spec.concurrency ?? 4, async (chart) => {
    const out: MirrorResult[] = [];
    for (const request of await chartRequests(chart, options, cache))
      out.push(await applyOne(chart, request, spec, signer, options, cache, run));
    return out;
  });
  const results = perChart.flat();
  const summary: MirrorReport['summary'] = { copied: 0, skipped: 0, refused: 0, failed: 0 };
  for (const r of results) summary[r.status]++;
  const images = imageSummary(results);
  if (images) summary.images = images;
  return { startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, results, summary };
}
