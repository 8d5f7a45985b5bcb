/**
 * Discovery of Sigstore bundles stored as OCI 1.1 referrers of a manifest, as cosign
 * v3 stores them (`cosign sign`, `cosign attest`): neither signing nor trusting,
 * only finding and parsing. Works on any store that lists referrers and fetches
 * content by descriptor (a registry `Repository`, a `MemoryStore`, an OCI layout).
 *
 * References: cosign `pkg/cosign/verify.go` (`GetBundles`), `specs/BUNDLE_SPEC.md`;
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#referrers-tag-schema
 */
import { ChartproofError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, isDigest } from '../oci/digest.js';
import { isIndexMediaType, isManifestMediaType, MediaType } from '../oci/media-types.js';
import { parseManifestJson } from '../oci/manifest.js';
import type { Fetcher, ReferrerLister } from '../oci/target.js';
import { MAX_MANIFEST_BYTES, readAll } from '../oci/verify.js';
import { isBundleVersionAtLeast, MAX_BUNDLE_BYTES, parseSigstoreBundle } from './bundle.js';
import type { SigstoreBundleJson } from './dsse.js';

/** Manifest annotation: what the bundle holds (`dsse-envelope`). @public */
export const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';
/** Manifest annotation: the predicate type of the bundle's in-toto statement. @public */
export const BUNDLE_PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
/** Manifest annotation: creation time (RFC 3339). @public */
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

/**
 * What {@link findBundles} reads from: a store that lists referrers and fetches
 * content by descriptor (a registry `Repository`, a `MemoryStore`, an OCI layout).
 * @public
 */
export type BundleSource = Fetcher & ReferrerLister;

const BUNDLE_LAYER_PREFIX = 'application/vnd.dev.sigstore.bundle';

/** Options of {@link findBundles}. @public */
export interface FindBundlesOptions {
  /** Largest bundle blob read. If unset, {@link MAX_BUNDLE_BYTES} (16 MiB). */
  maxBundleBytes?: number;
  /** Most referrers examined (each costs requests). If unset, 256; the rest are skipped. */
  maxReferrers?: number;
  signal?: AbortSignal;
}

/** A bundle found among the referrers of a manifest. Nothing in it is verified yet. @public */
export interface FoundBundle {
  /** Digest of the referrer manifest. */
  manifestDigest: Digest;
  /** The parsed bundle JSON (structure checked, signatures not). */
  bundle: SigstoreBundleJson;
  /** The exact bundle bytes. */
  bundleBytes: Uint8Array;
  /** Bundle media type version, e.g. `0.3`. */
  version: string;
  /** The manifest's `dev.sigstore.bundle.predicateType` annotation (unsigned; check the statement). */
  predicateType?: string;
  /** The manifest's `artifactType`. */
  artifactType?: string;
}

/** A referrer {@link findBundles} did not return, and why. @public */
export interface SkippedReferrer {
  descriptor: Descriptor;
  reason: string;
}

/** Result of {@link findBundles}. @public */
export interface FindBundlesResult {
  bundles: FoundBundle[];
  skipped: SkippedReferrer[];
}

/**
 * Finds the Sigstore bundles attached to `subject` as cosign's `GetBundles` does:
 * lists its referrers (referrers API when the registry answers 200 with an index,
 * else the `sha256-<hex>` tag) WITHOUT filtering on `artifactType` (cosign 3.0.x
 * wrote the empty-config type into fallback entries), then keeps manifests with
 * exactly one layer whose media type starts with `application/vnd.dev.sigstore.bundle`
 * and whose bundle parses with a media type ≥ v0.3. Other referrers (SBOMs, Notary
 * signatures, broken or oversized entries) are returned in `skipped` with a reason.
 * @throws ChartproofError `INVALID_DIGEST` for an invalid digest; registry and
 *   transport errors other than a listed manifest or blob being absent or corrupt
 * @public
 */
export async function findBundles(
  repo: BundleSource,
  subject: Descriptor | Digest,
  options: FindBundlesOptions = {},
): Promise<FindBundlesResult> {
  const { signal } = options;
  const digest = typeof subject === 'string' ? subject : subject.digest;
  if (!isDigest(digest)) throw new ChartproofError('INVALID_DIGEST', `invalid subject digest ${digest}`);
  const subjectDesc: Descriptor =
    typeof subject === 'string' ? { mediaType: MediaType.OciManifest, digest, size: 0 } : subject;
  const listed = await repo.referrers(subjectDesc, { signal });
  const max = options.maxReferrers ?? 256;
  const result: FindBundlesResult = { bundles: [], skipped: [] };
  for (const [i, d] of listed.entries()) {
    if (i >= max) {
      result.skipped.push({ descriptor: d, reason: `more than ${max} referrers; not examined` });
      continue;
    }
    signal?.throwIfAborted();
    const outcome = await examine(repo, digest, d, options);
    if ('reason' in outcome) result.skipped.push({ descriptor: d, reason: outcome.reason });
    else result.bundles.push(outcome);
  }
  return result;
}

// ---------------------------------------------------------------------------------------

// Content problems of one listed referrer skip it; anything else (network, auth,
// server errors, abort) fails the whole lookup.
const SKIPPABLE = new Set([
  'INVALID_MANIFEST',
  'DIGEST_MISMATCH',
  'SIZE_MISMATCH',
  'TRAILING_DATA',
  'SIZE_LIMIT_EXCEEDED',
  'SIGNATURE_INVALID',
  'MANIFEST_UNKNOWN',
  'BLOB_UNKNOWN',
  'NOT_FOUND',
]);

async function examine(
  repo: BundleSource,
  subjectDigest: Digest,
  d: Descriptor,
  options: FindBundlesOptions,
): Promise<FoundBundle | { reason: string }> {
  const { signal } = options;
  if (!isManifestMediaType(d.mediaType) || isIndexMediaType(d.mediaType))
    return { reason: `${d.mediaType} is not an image manifest` };
  try {
    const manifestBytes = await readAll(await repo.fetch(d, { signal }), MAX_MANIFEST_BYTES);
    const manifest = parseManifestJson(manifestBytes, d.digest);
    const layers = manifest.layers;
    if (!Array.isArray(layers) || layers.length !== 1)
      return { reason: `not a bundle referrer: ${Array.isArray(layers) ? layers.length : 'no'} layers` };
    const layer = layers[0] as Partial<Descriptor> | null;
    if (
      !layer ||
      typeof layer.mediaType !== 'string' ||
      !layer.mediaType.startsWith(BUNDLE_LAYER_PREFIX) ||
      typeof layer.digest !== 'string' ||
      !isDigest(layer.digest) ||
      !Number.isSafeInteger(layer.size) ||
      (layer.size as number) < 0
    ) {
      return { reason: `not a bundle referrer: layer ${String(layer?.mediaType)}` };
    }
    const subject = manifest.subject as Partial<Descriptor> | undefined;
    if (subject?.digest !== subjectDigest)
      return { reason: `manifest subject ${String(subject?.digest)} is not ${subjectDigest}` };
    const maxBytes = options.maxBundleBytes ?? MAX_BUNDLE_BYTES;
    if ((layer.size as number) > maxBytes)
      return { reason: `bundle of ${layer.size} bytes exceeds ${maxBytes}` };
    const desc = { mediaType: layer.mediaType, digest: layer.digest, size: layer.size as number };
    const bundleBytes = await readAll(await repo.fetch(desc, { signal }), maxBytes);
    const { bundle, version } = parseSigstoreBundle(bundleBytes, { maxBytes });
    if (!isBundleVersionAtLeast(version, '0.3')) return { reason: `bundle v${version} is older than v0.3` };
    const found: FoundBundle = { manifestDigest: d.digest, bundle, bundleBytes, version };
    const annotations = manifest.annotations as Record<string, unknown> | undefined;
    const pt = annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION];
    if (typeof pt === 'string') found.predicateType = pt;
    if (typeof manifest.artifactType === 'string') found.artifactType = manifest.artifactType;
    return found;
  } catch (e) {
    if (e instanceof ChartproofError && SKIPPABLE.has(e.code)) return { reason: e.message };
    throw e;
  }
}
