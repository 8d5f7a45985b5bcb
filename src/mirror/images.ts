/**
 * Mirroring the images a chart deploys (spec `images`): plan (render the chart with the
 * spec's values, build and prove the values overlay, resolve each image at its source,
 * compare with the target, verify upstream image signatures), copy (whole indexes, same
 * digests, signatures and referrers carried, shared blobs mounted, signed, tagged last),
 * and the overlay artifact pushed as a referrer of the mirrored chart.
 */
import { ChartproofError, isChartproofError, isNotFoundError } from '../errors.js';
import { sha256Hex } from '../internal/hash.js';
import { messageOf as message } from '../internal/guards.js';
import { parseYamlBounded } from '../internal/bounded-parse.js';
import type { RegistryClient } from '../oci/client.js';
import { type BlobMountCache, copy } from '../oci/copy.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import { parseReference } from '../oci/reference.js';
import type { Repository } from '../oci/repository.js';
import { MAX_MANIFEST_BYTES, readAll } from '../oci/verify.js';
import type { Signer } from '../keys/signer.js';
import type { VerificationPolicy } from '../verify/policy.js';
import { ChartVerificationError, type SignatureFormat, verifyChart } from '../verify/chart.js';
import { buildImageOverlayWith, type ImageMapping, type OverlayRewrite } from '../workloads/overlay.js';
import { normalizeImage } from '../workloads/images.js';
import { mapLimit } from '../internal/map-limit.js';
import { loadedChart, sharedRender } from './chart-renders.js';
import { verifyPolicy } from './policy.js';
import type { MirrorAction, MirrorOptions, MirrorPlanItem, MirrorVerification } from './plan.js';
import { imagesPrefix, type MirrorChart, type MirrorImages, type MirrorSpec } from './spec.js';
// One bound for the images of a chart version, mirrored or verified (verify-images).
import { MAX_IMAGES_PER_CHART } from '../verify/images.js';

/** `artifactType` of the values overlay pushed next to a mirrored chart. @public */
export const VALUES_OVERLAY_ARTIFACT_TYPE = 'application/vnd.chartproof.values-overlay.v1';
/** Media type of the overlay's `values-internal.yaml` layer. @public */
export const VALUES_OVERLAY_MEDIA_TYPE = 'application/vnd.chartproof.values-overlay.v1+yaml';
/** Media type of the overlay's image mapping layer (`images.json`). @public */
export const IMAGE_MAPPING_MEDIA_TYPE = 'application/vnd.chartproof.image-mapping.v1+json';
/** Annotation of the overlay artifact naming the images' prefix. @public */
export const IMAGES_PREFIX_ANNOTATION = 'dev.chartproof.images.prefix';

const MAX_OVERLAY_LAYER_BYTES = 4 * 1024 * 1024;
const MAX_OVERLAYS = 64;
/** Images of one chart version looked up at once while planning (at least `images.concurrency`). */
const PLAN_LOOKUPS = 8;
const EMPTY_JSON = new TextEncoder().encode('{}');

/**
 * One image of a chart version in a mirror plan: `copy`, `skip` (the target tag already
 * names the same digest), `refuse` (its upstream signature did not verify, or the target
 * tag names another digest) or `fail` (not found, registry failure).
 * @public
 */
export interface MirrorImageItem {
  /** The normalised upstream reference, as the chart renders it. */
  source: string;
  /** The internal reference (same tag and digest). */
  target: string;
  /** The upstream manifest (or index) digest the reference resolved to. */
  digest?: string;
  /** Its media type (an index for multi-platform images). */
  mediaType?: string;
  /** The digest the internal tag names now, if any. */
  targetDigest?: string;
  action: MirrorAction;
  reason?: string;
  verification?: MirrorVerification;
}

/** The values overlay of a chart version whose images are mirrored. @public */
export interface MirrorOverlay {
  /** `registry/path` every image is mirrored under. */
  prefix: string;
  /** `values-internal.yaml`. */
  yaml: string;
  values: Record<string, unknown>;
  rewrites: OverlayRewrite[];
}

/** What happened to one image. @public */
export interface MirrorImageResult {
  source: string;
  target: string;
  status: 'copied' | 'skipped' | 'refused' | 'failed';
  reason?: string;
  /** The manifest (or index) digest at the target: the upstream digest. */
  digest?: string;
  /** `registry/path@sha256:…`. */
  pinned?: string;
  /** Upstream signatures, attestations and other referrers carried along. */
  signaturesCarried: number;
  internalSignature?: { legacy?: string; bundle?: string };
  verification?: MirrorVerification;
}

/** The image mapping layer of an overlay artifact (`images.json`). @public */
export interface ImageMappingDocument {
  prefix: string;
  images: Array<{ source: string; target: string; digest: string }>;
}

/** A values overlay found next to a mirrored chart ({@link fetchValuesOverlays}). @public */
export interface ValuesOverlayArtifact {
  /** The overlay artifact's manifest digest. */
  digest: string;
  prefix: string;
  /** `values-internal.yaml`. */
  yaml: string;
  images: ImageMappingDocument['images'];
  /**
   * With `policy`: the overlay's cosign signature satisfied it, and `format` is the
   * signature format that did (overlays that do not verify are left out).
   */
  verified?: { format: SignatureFormat };
}

/** Errors that make an overlay entry not ours rather than the registry unreachable. */
const OVERLAY_CONTENT_ERRORS: ReadonlySet<string> = new Set([
  'INVALID_MANIFEST',
  'DIGEST_MISMATCH',
  'SIZE_MISMATCH',
  'TRAILING_DATA',
  'SIZE_LIMIT_EXCEEDED',
  'MANIFEST_UNKNOWN',
  'BLOB_UNKNOWN',
  'NOT_FOUND',
  'SIGNATURE_NOT_FOUND',
  'SIGNATURE_INVALID',
]);

/** Options of {@link fetchValuesOverlays}. @public */
export interface FetchValuesOverlaysOptions {
  /** Only the overlay of this image prefix. */
  prefix?: string;
  /**
   * Only overlays whose cosign signature (legacy `.sig` or bundle referrer, as the
   * mirror's `sign` writes them) satisfies this policy, e.g. the internal key: an
   * overlay anyone with push access planted is then not returned.
   */
  policy?: VerificationPolicy;
  signal?: AbortSignal;
}

function split(ref: string): { repository: string; tag?: string; digest?: string } {
  const r = parseReference(ref);
  return {
    repository: `${r.registry}/${r.repository}`,
    ...(r.tag !== undefined ? { tag: r.tag } : {}),
    ...(r.digest !== undefined ? { digest: r.digest } : {}),
  };
}

/**
 * The values overlay of a chart version for the spec's images prefix and values, proven
 * by the second render, with the images it maps; or why the chart's images cannot be
 * mirrored (overlay incomplete, render error, more than {@link MAX_IMAGES_PER_CHART}).
 * The same for plan, apply and the air-gap import.
 * @internal
 */
export async function chartImageOverlay(
  archive: Uint8Array,
  spec: MirrorSpec,
  chart: MirrorChart,
  settings: MirrorImages,
  label: string,
  signal: AbortSignal | undefined,
): Promise<{ overlay: MirrorOverlay; images: ImageMapping[] } | { refuse: string }> {
  const prefix = `${spec.target.registry}/${imagesPrefix(spec, settings)}`;
  let built: ReturnType<typeof buildImageOverlayWith>;
  try {
    const loaded = await loadedChart(archive, signal);
    // The scanner's options (CRDs included: they hold no images), so that the render
    // with the spec's values is the scanner's, shared (chart-renders.ts).
    built = buildImageOverlayWith(
      loaded,
      {
        prefix,
        ...(chart.values ? { values: chart.values } : {}),
        render: {
          releaseName: 'release-name',
          namespace: 'default',
          includeCrds: true,
          timeoutMs: 30_000,
          ...(spec.scan?.kubeVersion !== undefined ? { kubeVersion: spec.scan.kubeVersion } : {}),
          // Test hooks left out: a render of its own, not the scanner's (which scans them).
          ...(settings.skipTests ? { skipTests: true } : {}),
        },
        chart: label,
      },
      sharedRender,
    );
  } catch (e) {
    signal?.throwIfAborted();
    if (!isChartproofError(e)) throw e;
    return { refuse: `images: ${e.message}` };
  }
  if (built.images.length > MAX_IMAGES_PER_CHART)
    return {
      refuse: `images: the chart deploys ${built.images.length} images, more than ${MAX_IMAGES_PER_CHART} (SIZE_LIMIT_EXCEEDED)`,
    };
  return {
    overlay: { prefix, yaml: built.yaml, values: built.values, rewrites: built.rewrites },
    images: built.images,
  };
}

/** The images of one chart version, planned: the overlay and each image, or why not. @internal */
export type ImagesPlan = { refuse: string } | { overlay: MirrorOverlay; images: MirrorImageItem[] };

/**
 * Plans the images of one chart version (an item about to be copied or already at the
 * target): renders the chart with the spec's values, builds the overlay and proves it by
 * a second render, then resolves, compares and verifies each image. An image that cannot
 * be mirrored refuses (or fails) the chart version: its overlay would point at an image
 * the target does not hold.
 * @internal
 */
export async function planImages(
  item: MirrorPlanItem,
  archive: Uint8Array,
  spec: MirrorSpec,
  chart: MirrorChart,
  settings: MirrorImages,
  options: MirrorOptions,
): Promise<void> {
  applyImagesPlan(
    item,
    await lookUpImages(`${item.name}-${item.version}`, archive, spec, chart, settings, options),
    options,
  );
}

/**
 * The planning of {@link planImages} without touching the item: the overlay, then the
 * images looked up (read-only requests). Plan starts it before the chart's scan, so
 * that the lookups travel while the scanner runs. @internal
 */
export async function lookUpImages(
  label: string,
  archive: Uint8Array,
  spec: MirrorSpec,
  chart: MirrorChart,
  settings: MirrorImages,
  options: MirrorOptions,
): Promise<ImagesPlan> {
  const { client, signal } = options;
  const built = await chartImageOverlay(archive, spec, chart, settings, label, signal);
  if ('refuse' in built) return built;
  const policy = await verifyPolicy(settings.verify);
  const required = settings.verify?.required ?? true;
  // Planning sends small requests only (a tag resolution and a check per image, and the
  // signatures with a policy), so more images are looked up at once than are copied.
  const lookups = Math.max(PLAN_LOOKUPS, settings.concurrency ?? 2);
  const images = await mapLimit(built.images, lookups, async (m) => {
    const img: MirrorImageItem = { source: m.source, target: m.target, action: 'fail' };
    try {
      await planImage(img, client, policy, required, signal);
    } catch (e) {
      signal?.throwIfAborted();
      img.action = 'fail';
      img.reason = isNotFoundError(e) ? `not found at the source: ${message(e)}` : message(e);
    }
    return img;
  });
  return { overlay: built.overlay, images };
}

/** Records an images plan on its chart version: overlay, images, and a refusal or failure. @internal */
export function applyImagesPlan(item: MirrorPlanItem, plan: ImagesPlan, options: MirrorOptions): void {
  if ('refuse' in plan) {
    item.action = 'refuse';
    item.reason = plan.refuse;
    return;
  }
  item.overlay = plan.overlay;
  item.images = plan.images;
  options.onEvent?.({
    name: item.name,
    version: item.version,
    step: 'images',
    detail: `${item.images.length} image(s)`,
  });
  const bad = item.images.find((i) => i.action === 'fail') ?? item.images.find((i) => i.action === 'refuse');
  if (bad) {
    const count = item.images.filter((i) => i.action === 'fail' || i.action === 'refuse').length;
    item.action = bad.action;
    item.reason = `image ${bad.source}${count > 1 ? ` (and ${count - 1} more)` : ''}: ${bad.reason}`;
  }
}

async function planImage(
  img: MirrorImageItem,
  client: RegistryClient,
  policy: VerificationPolicy | undefined,
  required: boolean,
  signal: AbortSignal | undefined,
): Promise<void> {
  const src = normalizeImage(img.source);
  const srcRepo = client.repository(`${src.registry}/${src.repository}`);
  const dst = split(img.target);
  const dstRepo = client.repository(dst.repository);
  // The target tag is looked up beside the source (its answer is only used once the
  // source has resolved; a failed source lookup wins).
  const targetTag =
    dst.tag === undefined
      ? undefined
      : dstRepo.resolve(dst.tag, { signal }).then(
          (d) => ({ digest: d.digest as string | undefined }),
          (e: unknown) => ({ digest: undefined, error: e }),
        );
  const desc = await srcRepo.resolve(src.digest ?? src.tag!, { signal });
  if (src.digest !== undefined && desc.digest !== src.digest)
    throw new ChartproofError('DIGEST_MISMATCH', `${img.source}: the registry answered for ${desc.digest}`);
  img.digest = desc.digest;
  img.mediaType = desc.mediaType;
  let present: boolean;
  if (targetTag !== undefined) {
    const found = await targetTag;
    if ('error' in found && !isNotFoundError(found.error)) throw found.error;
    const current = found.digest;
    if (current !== undefined && current !== desc.digest) {
      img.targetDigest = current;
      img.action = 'refuse';
      img.reason = `the internal tag names ${current}, upstream ${desc.digest}: not overwritten (upstream moved the tag, or the target was changed)`;
      return;
    }
    present = current !== undefined;
  } else present = await dstRepo.exists(desc, { signal });
  if (present) {
    img.targetDigest = desc.digest;
    img.action = 'skip';
    img.reason = 'the target already has this digest';
    return;
  }
  if (policy) {
    try {
      const { verifyChart } = await import('../verify/chart.js');
      const r = await verifyChart(client, `${srcRepo.name}@${desc.digest}`, {
        policy,
        ...(signal ? { signal } : {}),
      });
      img.verification = { method: 'cosign', verified: true, required, format: r.format };
    } catch (e) {
      if (!isChartproofError(e) || !['SIGNATURE_INVALID', 'SIGNATURE_NOT_FOUND'].includes(e.code)) throw e;
      img.verification = { method: 'cosign', verified: false, required, reason: e.message };
      if (required) {
        img.action = 'refuse';
        img.reason = `upstream signature: ${e.message}`;
        return;
      }
    }
  } else img.verification = { method: 'none', verified: false, required: false };
  img.action = 'copy';
}

/** How one image's internal signature is added and its tag written (shared with apply). @internal */
export type SignAndTag = (
  dst: Repository,
  root: Descriptor,
  tag: string | undefined,
  signer: Signer | undefined,
  result: { internalSignature?: { legacy?: string; bundle?: string }; digest?: string; pinned?: string },
  /** The copy already wrote the tag (nothing to sign first). */
  tagged: boolean,
) => Promise<void>;

/**
 * Copies the planned images (`copy` items) into the target: each whole (an index with
 * every platform), byte for byte, with its referrers and cosign tags when signatures are
 * carried, shared blobs mounted through `mountCache`; then signed and tagged last. Images
 * the target already holds are reported as skipped.
 * @internal
 */
export async function copyImages(
  item: MirrorPlanItem,
  spec: MirrorSpec,
  settings: MirrorImages,
  signer: Signer | undefined,
  signAndTag: SignAndTag,
  mountCache: BlobMountCache,
  options: MirrorOptions,
  inflight: Map<string, Promise<MirrorImageResult>> = new Map(),
  claims: Map<string, string> = new Map(),
): Promise<MirrorImageResult[]> {
  const carry = spec.carrySignatures ?? true;
  const sign = settings.sign === false ? undefined : signer;
  return mapLimit(item.images ?? [], settings.concurrency ?? 2, async (img) => {
    if (img.action !== 'copy') return copyImage(img, item, carry, sign, signAndTag, mountCache, options);
    // Charts run side by side, each planned on its own: when the upstream tag named
    // another digest for another chart's plan (re-published mid-run, or a registry that
    // answers differently), the first to copy claims the internal tag and the other is
    // refused, never written over it.
    const { repository, tag } = split(img.target);
    if (tag !== undefined && img.digest !== undefined) {
      const claimed = claims.get(`${repository}:${tag}`);
      if (claimed !== undefined && claimed !== img.digest)
        return {
          source: img.source,
          target: img.target,
          status: 'refused',
          reason: `another chart of this run writes ${img.target} as ${claimed}, upstream now ${img.digest}: not overwritten`,
          signaturesCarried: 0,
        };
      claims.set(`${repository}:${tag}`, img.digest);
    }
    // One copy (and one signature) per internal repository and digest in a run: two
    // charts deploying the same image, or one chart naming it twice (`app:1.0` and
    // `app:1.0@sha256:…`), wait for the first copy; a different tag is then added.
    const key = `${repository}@${img.digest}`;
    const running = inflight.get(key);
    if (running) return sameContent(img, await running, options);
    const p = copyImage(img, item, carry, sign, signAndTag, mountCache, options);
    inflight.set(key, p);
    return p;
  });
}

/** The result of an image whose content another copy of this run placed. */
async function sameContent(
  img: MirrorImageItem,
  first: MirrorImageResult,
  options: MirrorOptions,
): Promise<MirrorImageResult> {
  const result: MirrorImageResult = {
    source: img.source,
    target: img.target,
    status: first.status,
    signaturesCarried: 0,
  };
  if (img.verification) result.verification = img.verification;
  if (first.status !== 'copied' && first.status !== 'skipped') {
    result.reason = `${first.target}: ${first.reason ?? first.status}`;
    return result;
  }
  const dst = split(img.target);
  const repo = options.client.repository(dst.repository);
  try {
    // The first copy wrote its own tag (after its signature); this reference's tag, if
    // another, goes on the same digest.
    if (dst.tag !== undefined && dst.tag !== split(first.target).tag) {
      const root = await repo.resolve(img.digest!, { signal: options.signal });
      await repo.tag(root, dst.tag, { signal: options.signal });
    }
  } catch (e) {
    options.signal?.throwIfAborted();
    result.status = 'failed';
    result.reason = message(e);
    return result;
  }
  result.status = 'skipped';
  result.reason = `same content as ${first.target}, placed in this run`;
  if (first.digest) result.digest = first.digest;
  if (first.pinned) result.pinned = first.pinned;
  return result;
}

async function copyImage(
  img: MirrorImageItem,
  item: MirrorPlanItem,
  carry: boolean,
  sign: Signer | undefined,
  signAndTag: SignAndTag,
  mountCache: BlobMountCache,
  options: MirrorOptions,
): Promise<MirrorImageResult> {
  const { client, signal } = options;
  const result: MirrorImageResult = {
    source: img.source,
    target: img.target,
    status: ({ copy: 'copied', skip: 'skipped', refuse: 'refused', fail: 'failed' } as const)[img.action],
    signaturesCarried: 0,
  };
  if (img.reason && img.action !== 'copy') result.reason = img.reason;
  if (img.verification) result.verification = img.verification;
  const dst = split(img.target);
  const dstRepo = client.repository(dst.repository);
  if (img.action === 'skip' && img.digest) {
    result.digest = img.digest;
    result.pinned = dstRepo.pinned(img.digest as Digest);
  }
  if (img.action !== 'copy') return result;
  try {
    const src = normalizeImage(img.source);
    const srcRepo = client.repository(`${src.registry}/${src.repository}`);
    const copied = await copy(srcRepo, img.digest!, dstRepo, undefined, {
      tags: sign || dst.tag === undefined ? [] : [dst.tag],
      referrers: carry,
      cosignTags: carry,
      assumeRootAbsent: true,
      mountCache,
      ...(signal ? { signal } : {}),
    });
    result.signaturesCarried = copied.referrers.length + copied.cosignTags.length;
    await signAndTag(dstRepo, copied.descriptor, dst.tag, sign, result, !sign);
    result.digest = copied.descriptor.digest;
    result.pinned = dstRepo.pinned(copied.descriptor.digest as Digest);
    result.status = 'copied';
    options.onEvent?.({ name: item.name, version: item.version, step: 'image', detail: result.pinned });
  } catch (e) {
    signal?.throwIfAborted();
    result.status = 'failed';
    result.reason = message(e);
  }
  return result;
}

/** The overlay artifact's manifest and layers: the same overlay always gives the same bytes. */
function overlayArtifact(
  subject: Descriptor,
  overlay: MirrorOverlay,
  images: readonly MirrorImageItem[],
): { manifest: Uint8Array; blobs: Array<{ desc: Descriptor; bytes: Uint8Array }> } {
  const enc = new TextEncoder();
  const yaml = enc.encode(overlay.yaml);
  const mapping: ImageMappingDocument = {
    prefix: overlay.prefix,
    images: images.map((i) => ({ source: i.source, target: i.target, digest: i.digest ?? '' })),
  };
  const json = enc.encode(`${JSON.stringify(mapping, null, 2)}\n`);
  const blob = (mediaType: string, bytes: Uint8Array, title?: string) => ({
    desc: {
      mediaType,
      digest: `sha256:${sha256Hex(bytes)}`,
      size: bytes.byteLength,
      ...(title ? { annotations: { 'org.opencontainers.image.title': title } } : {}),
    } as Descriptor,
    bytes,
  });
  const config = blob(MediaType.OciEmpty, EMPTY_JSON);
  const layers = [
    blob(VALUES_OVERLAY_MEDIA_TYPE, yaml, 'values-internal.yaml'),
    blob(IMAGE_MAPPING_MEDIA_TYPE, json, 'images.json'),
  ];
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType: VALUES_OVERLAY_ARTIFACT_TYPE,
    config: config.desc,
    layers: layers.map((l) => l.desc),
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { [IMAGES_PREFIX_ANNOTATION]: overlay.prefix },
  };
  return { manifest: enc.encode(JSON.stringify(manifest)), blobs: [config, ...layers] };
}

/**
 * Pushes the overlay as a referrer of the mirrored chart manifest (blobs first), unless
 * the chart already lists it. Returns the overlay manifest's digest.
 * @internal
 */
export async function pushOverlay(
  dst: Repository,
  chartRoot: Descriptor,
  overlay: MirrorOverlay,
  images: readonly MirrorImageItem[],
  signal?: AbortSignal,
): Promise<{ digest: string; pushed: boolean; descriptor: Descriptor }> {
  const built = overlayArtifact(chartRoot, overlay, images);
  const digest = `sha256:${sha256Hex(built.manifest)}`;
  const descriptor: Descriptor = {
    mediaType: MediaType.OciManifest,
    digest: digest as Digest,
    size: built.manifest.byteLength,
    artifactType: VALUES_OVERLAY_ARTIFACT_TYPE,
  };
  // Listing also teaches the repository whether the registry has the referrers API.
  const listed = await dst.referrers(chartRoot, { artifactType: VALUES_OVERLAY_ARTIFACT_TYPE, signal });
  if (listed.some((d) => d.digest === digest)) return { digest, pushed: false, descriptor };
  // The blobs (config, overlay, mapping) at once, each digest once; the manifest after all.
  const blobs = new Map(built.blobs.map((b) => [b.desc.digest, b]));
  await Promise.all(
    [...blobs.values()].map(async (b) => {
      if (!(await dst.exists(b.desc, { signal }))) await dst.push(b.desc, b.bytes, { signal });
    }),
  );
  await dst.pushManifest(built.manifest, { mediaType: MediaType.OciManifest, signal });
  return { digest, pushed: true, descriptor };
}

async function readBlob(repo: Repository, desc: Descriptor, signal?: AbortSignal): Promise<Uint8Array> {
  if (!Number.isSafeInteger(desc.size) || desc.size > MAX_OVERLAY_LAYER_BYTES)
    throw new ChartproofError(
      'SIZE_LIMIT_EXCEEDED',
      `overlay layer ${desc.digest} of ${desc.size} bytes exceeds ${MAX_OVERLAY_LAYER_BYTES}`,
    );
  return readAll(await repo.fetch(desc, { signal }), MAX_OVERLAY_LAYER_BYTES);
}

/**
 * The values overlays pushed next to a mirrored chart (`chartproof mirror overlay`):
 * each overlay artifact that refers to `reference` (`registry/path/chart:tag` or
 * `@sha256:…`), its `values-internal.yaml` and image mapping, digest-verified. Several
 * when the chart was mirrored with several image prefixes; `prefix` selects one. With
 * `policy`, only overlays whose signature satisfies it (the mirror signs the overlays it
 * pushes with its `sign` key).
 * @throws ChartproofError `NOT_FOUND`-family for a missing chart, `INVALID_MANIFEST` for a
 *   malformed overlay, `SIZE_LIMIT_EXCEEDED`
 * @public
 */
export async function fetchValuesOverlays(
  client: RegistryClient,
  reference: string,
  options: FetchValuesOverlaysOptions = {},
): Promise<ValuesOverlayArtifact[]> {
  const { signal } = options;
  const ref = split(reference.replace(/^oci:\/\//, ''));
  const repo = client.repository(ref.repository);
  const subject = await repo.resolve(ref.digest ?? ref.tag ?? 'latest', { signal });
  const listed = await repo.referrers(subject, { artifactType: VALUES_OVERLAY_ARTIFACT_TYPE, signal });
  if (listed.length > MAX_OVERLAYS)
    throw new ChartproofError(
      'SIZE_LIMIT_EXCEEDED',
      `more than ${MAX_OVERLAYS} overlays refer to ${reference}`,
    );
  const out: ValuesOverlayArtifact[] = [];
  const readOne = async (d: Descriptor): Promise<ValuesOverlayArtifact | undefined> => {
    // With a policy the signature is checked first: an overlay someone else planted is
    // skipped before it is read, so a malformed one cannot hide the signed one.
    let verified: ValuesOverlayArtifact['verified'];
    if (options.policy) {
      try {
        const r = await verifyChart(client, `${ref.repository}@${d.digest}`, {
          policy: options.policy,
          ...(signal ? { signal } : {}),
        });
        verified = { format: r.format };
      } catch (e) {
        // Unsigned, or signed by someone else: not an overlay of this policy's signer.
        if (e instanceof ChartVerificationError) return undefined;
        throw e;
      }
    }
    const bytes = await readAll(await repo.fetch(d, { signal }), MAX_MANIFEST_BYTES);
    const invalid = (why: string) =>
      new ChartproofError('INVALID_MANIFEST', `values overlay ${d.digest}: ${why}`);
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>;
    } catch (e) {
      throw new ChartproofError('INVALID_MANIFEST', `values overlay ${d.digest}: not JSON`, { cause: e });
    }
    if ((m.subject as Descriptor | undefined)?.digest !== subject.digest)
      throw invalid('its subject is another manifest');
    const layers = Array.isArray(m.layers) ? (m.layers as Descriptor[]) : [];
    const yamlLayer = layers.find((l) => l?.mediaType === VALUES_OVERLAY_MEDIA_TYPE);
    const mapLayer = layers.find((l) => l?.mediaType === IMAGE_MAPPING_MEDIA_TYPE);
    if (!yamlLayer || !mapLayer) throw invalid('missing the values or image mapping layer');
    const yaml = new TextDecoder('utf-8', { fatal: true }).decode(await readBlob(repo, yamlLayer, signal));
    // The overlay must parse as values (bounded), and the mapping as the documented shape.
    parseYamlBounded(yaml, { maxAliasCount: 0 }, { what: `values overlay ${d.digest}`, source: 'remote' });
    let mapping: ImageMappingDocument;
    try {
      mapping = JSON.parse(
        new TextDecoder('utf-8', { fatal: true }).decode(await readBlob(repo, mapLayer, signal)),
      ) as ImageMappingDocument;
    } catch (e) {
      if (isChartproofError(e)) throw e;
      throw new ChartproofError('INVALID_MANIFEST', `values overlay ${d.digest}: image mapping is not JSON`, {
        cause: e,
      });
    }
    if (
      typeof mapping?.prefix !== 'string' ||
      !Array.isArray(mapping.images) ||
      mapping.images.some(
        (i) => typeof i?.source !== 'string' || typeof i.target !== 'string' || typeof i.digest !== 'string',
      )
    )
      throw invalid('malformed image mapping');
    if (options.prefix !== undefined && mapping.prefix !== options.prefix.replace(/\/+$/, ''))
      return undefined;
    return {
      digest: d.digest,
      prefix: mapping.prefix,
      yaml,
      images: mapping.images,
      ...(verified ? { verified } : {}),
    };
  };
  // With a policy an entry that is not a readable overlay of ours (someone else's, or
  // planted broken: a bad `.sig`, another chart's overlay, a wrong size) is skipped, so it
  // cannot hide the signed one; registry and network errors still fail the call.
  const seen = new Set<string>();
  for (const d of listed) {
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    try {
      const one = await readOne(d);
      if (one) out.push(one);
    } catch (e) {
      if (options.policy && isChartproofError(e) && OVERLAY_CONTENT_ERRORS.has(e.code)) continue;
      throw e;
    }
  }
  return out.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}
