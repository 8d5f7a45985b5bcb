/**
 * What signing writes to: the roles of `src/oci/target.ts` the signing functions use,
 * so a registry `Repository`, a `MemoryStore` or any other target holding the subject
 * can be signed into.
 *
 * Two registry-only capabilities are used when the target has them (a `Repository`
 * does), found by shape as `isReferrerLister` finds referrer listing:
 * - `pushManifest(bytes, { mediaType, tags })`: the manifest and its first tag in one
 *   request, and the `sha256-<hex>` referrers tag index maintained on registries
 *   without the referrers API. Other targets get `push` (by digest), then `tag`.
 * - `referrersApi` (with `referrers`): whether the registry has the referrers API,
 *   probed before a referrer is pushed and reported in `AttachBundleResult`.
 */
import type { Reference } from '../oci/reference.js';
import type { Descriptor } from '../oci/descriptor.js';
import {
  type CallOptions,
  type Exister,
  isReferrerLister,
  type ManifestFetcher,
  type Named,
  type Pusher,
  type ReferrerLister,
  type Resolver,
  type Tagger,
} from '../oci/target.js';

/**
 * Where a Sigstore bundle referrer is stored (`attachBundle`, `signBundle`,
 * `signBundleKeyless`): the subject is resolved there, blobs are pushed unless they
 * exist, and the referrer manifest is pushed by digest. The target must make the
 * referrer findable (a registry's referrers API or tag index, a `MemoryStore`'s
 * `subject` index).
 * @public
 */
export type BundleTarget = Resolver & Exister & Pusher;

/**
 * Where legacy signatures and attestations are appended (`signLegacy`,
 * `attachLegacyAttestation`) and what `attestChart` writes to: also reads the existing
 * `sha256-<hex>.sig` / `.att` manifest, tags the new one, and names the repository in
 * messages (and, for `attestChart`, in the statement's subject).
 * @public
 */
export type SignatureTarget = BundleTarget & Tagger & ManifestFetcher & Named;

/** Registry capability: manifest bytes pushed with their tags in one step. */
interface ManifestPusher {
  pushManifest(
    bytes: Uint8Array,
    options?: CallOptions & { mediaType?: string; tags?: string[] },
  ): Promise<Descriptor>;
}

/** Registry capability: the learned referrers-API support (`Repository.referrersApi`). */
interface ReferrersApiAware extends ReferrerLister {
  readonly referrersApi: boolean | undefined;
}

function isManifestPusher(t: object): t is ManifestPusher {
  return typeof (t as Partial<ManifestPusher>).pushManifest === 'function';
}

/** The target's referrers-API support, when it is a registry that tracks it. */
export function referrersApiOf(t: object): ReferrersApiAware | undefined {
  return 'referrersApi' in t && isReferrerLister(t) ? (t as ReferrersApiAware) : undefined;
}

/**
 * Pushes a manifest whose blobs are in place, then points `tags` at it: with the
 * target's `pushManifest` when it has one (a registry: one request for content and
 * first tag), else `push` (by digest) then `tag`.
 */
export async function pushManifestTagged(
  target: Pusher & Tagger,
  desc: Descriptor,
  bytes: Uint8Array,
  tags: string[],
  signal: AbortSignal | undefined,
): Promise<Descriptor> {
  if (isManifestPusher(target))
    return target.pushManifest(bytes, { mediaType: desc.mediaType, tags, signal });
  await target.push(desc, bytes, { signal });
  for (const tag of tags) await target.tag(desc, tag, { signal });
  return { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
}

/**
 * Pushes a referrer manifest (one with a `subject`) by digest: with the target's
 * `pushManifest` when it has one (a registry, which then maintains the referrers tag
 * index where the API is missing), else `push`.
 */
export async function pushReferrerManifest(
  target: Pusher,
  desc: Descriptor,
  bytes: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<Descriptor> {
  if (isManifestPusher(target)) return target.pushManifest(bytes, { mediaType: desc.mediaType, signal });
  await target.push(desc, bytes, { signal });
  return { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
}

/** True when `t` knows its registry reference (a `Repository`'s `reference`). */
export function hasRegistryReference(t: object): t is { readonly reference: Reference } {
  const r = (t as { reference?: Partial<Reference> }).reference;
  return (
    typeof r === 'object' && r !== null && typeof r.registry === 'string' && typeof r.repository === 'string'
  );
}
