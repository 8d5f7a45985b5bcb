/**
 * Sigstore bundles stored as OCI 1.1 referrers of the signed manifest, the way
 * cosign v3 stores them (`cosign sign`, `cosign attest`): an empty `{}` config, one
 * layer holding the bundle JSON, a `subject` pointing at the signed manifest, pushed
 * by digest. Registries without the referrers API get the `sha256-<hex>` referrers
 * tag index (maintained by `Repository.pushManifest`). Any {@link BundleTarget} works:
 * a `MemoryStore` indexes the `subject` itself.
 *
 * References: cosign `pkg/oci/remote/write.go` (`WriteAttestationNewBundleFormat`,
 * `WriteReferrer`), `specs/BUNDLE_SPEC.md`, `pkg/cosign/verify.go` (`GetBundles`);
 * go-containerregistry `pkg/v1/remote/write.go` (`commitSubjectReferrers`);
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#referrers-tag-schema
 */
import { GoRaw, goJsonStruct, utf8Bytes } from '../internal/encoding/go-json.js';
import { ChartproofError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, digestOf } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { Exister, Pusher } from '../oci/target.js';
import { isBundleVersionAtLeast, parseSigstoreBundle } from '../cosign/bundle.js';
import {
  BUNDLE_CONTENT_ANNOTATION,
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  CREATED_ANNOTATION,
} from '../cosign/referrers.js';
import { checkSubject, resolveSubject } from '../cosign/subject.js';
import { createDsseBundle, type SigstoreBundleJson, type Witness } from './bundle.js';
import type { Signer } from '../keys/signer.js';
import { COSIGN_SIGN_PREDICATE_TYPE, cosignSignStatement } from '../cosign/statement.js';
import { type BundleTarget, pushReferrerManifest, referrersApiOf } from './target.js';

export {
  BUNDLE_CONTENT_ANNOTATION,
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  type BundleSource,
  CREATED_ANNOTATION,
  type FindBundlesOptions,
  type FindBundlesResult,
  type FoundBundle,
  findBundles,
  type SkippedReferrer,
} from '../cosign/referrers.js';

/** The `{}` blob of OCI empty configs. @public */
export const EMPTY_CONFIG = new Uint8Array([0x7b, 0x7d]);

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const RESERVED = new Set([BUNDLE_CONTENT_ANNOTATION, BUNDLE_PREDICATE_TYPE_ANNOTATION, CREATED_ANNOTATION]);

/** Options of {@link buildBundleReferrer}. @public */
export interface BundleReferrerOptions {
  /** Predicate type of the bundle's statement (`dev.sigstore.bundle.predicateType`). */
  predicateType: string;
  /** Creation time. If unset, now (RFC 3339, UTC, seconds, as cosign writes it). */
  created?: Date | string;
  /** Extra manifest annotations (cosign writes none). Must not redefine the three above. */
  annotations?: Record<string, string>;
}

/** A referrer manifest with its blobs, ready to push. @public */
export interface BundleReferrer {
  /** Exact manifest bytes. */
  bytes: Uint8Array;
  /** Descriptor of the manifest. */
  descriptor: Descriptor;
  /** Descriptor of the `{}` config blob (the two bytes `{}`). */
  configDescriptor: Descriptor;
  /** Descriptor of the bundle layer. */
  bundleDescriptor: Descriptor;
}

/**
 * Builds the referrer manifest cosign writes for a bundle, byte for byte
 * (go-containerregistry's `v1.Manifest` field order, annotation keys sorted):
 * `schemaVersion, mediaType, config{mediaType,size,digest,artifactType},
 * layers[{mediaType,size,digest}], annotations, subject{mediaType,size,digest},
 * artifactType`.
 * @throws ChartproofError `INVALID_ARGUMENT` for an invalid subject, time or annotation
 * @public
 */
export function buildBundleReferrer(
  subject: Descriptor,
  bundleBytes: Uint8Array,
  options: BundleReferrerOptions,
): BundleReferrer {
  checkSubject(subject);
  if (typeof options.predicateType !== 'string' || options.predicateType.length === 0)
    throw new ChartproofError('INVALID_ARGUMENT', 'predicateType must be a non-empty string');
  const extra = options.annotations ?? {};
  for (const [k, v] of Object.entries(extra)) {
    if (typeof v !== 'string')
      throw new ChartproofError('INVALID_ARGUMENT', `annotation ${k} must be a string`);
    if (RESERVED.has(k))
      throw new ChartproofError(
        'INVALID_ARGUMENT',
        `annotation ${k} is set by chartproof, not by the caller`,
      );
  }
  const bundleType = MediaType.SigstoreBundleV03;
  const configDescriptor: Descriptor = {
    mediaType: MediaType.OciEmpty,
    size: EMPTY_CONFIG.byteLength,
    digest: digestOf(EMPTY_CONFIG),
  };
  const bundleDescriptor: Descriptor = {
    mediaType: bundleType,
    size: bundleBytes.byteLength,
    digest: digestOf(bundleBytes),
  };
  const annotations: Record<string, string> = {
    ...extra,
    [BUNDLE_CONTENT_ANNOTATION]: 'dsse-envelope',
    [BUNDLE_PREDICATE_TYPE_ANNOTATION]: options.predicateType,
    [CREATED_ANNOTATION]: formatCreated(options.created),
  };
  const json = goJsonStruct([
    ['schemaVersion', 2, false],
    ['mediaType', MediaType.OciManifest, false],
    ['config', new GoRaw(descriptorJson(configDescriptor, bundleType)), false],
    ['layers', new GoRaw(`[${descriptorJson(bundleDescriptor)}]`), false],
    ['annotations', annotations, true],
    ['subject', new GoRaw(descriptorJson(subject)), false],
    ['artifactType', bundleType, false],
  ]);
  const bytes = utf8Bytes(json);
  return {
    bytes,
    descriptor: { mediaType: MediaType.OciManifest, digest: digestOf(bytes), size: bytes.byteLength },
    configDescriptor,
    bundleDescriptor,
  };
}

/** Options of {@link attachBundle}. @public */
export interface AttachBundleOptions extends BundleReferrerOptions {
  signal?: AbortSignal;
}

/** What {@link attachBundle} pushed. @public */
export interface AttachBundleResult {
  /** The subject as written into the referrer. */
  subject: Descriptor;
  /** Descriptor of the referrer manifest (pushed by digest, untagged). */
  manifest: Descriptor;
  /** Descriptor of the bundle blob. */
  bundleDescriptor: Descriptor;
  /**
   * Whether the registry has the referrers API; false means the `sha256-<hex>`
   * referrers tag index was updated. Undefined for targets that are not registries
   * (a `MemoryStore` indexes referrers itself).
   */
  referrersApi: boolean | undefined;
}

/**
 * Stores a bundle as a referrer of `subject`, as cosign v3 does: pushes the `{}`
 * config blob, the bundle blob, then the manifest by digest (no tag). On registries
 * without the referrers API the subject's `sha256-<hex>` index gets an entry (with
 * the manifest's `artifactType`, as cosign ≥ 3.1 writes it); the manifest is pushed
 * first, so a failed push leaves no dangling entry.
 *
 * @param subject - the signed manifest: a descriptor (trusted as given; only
 *   `mediaType`, `size`, `digest` are written), or a digest or tag of `repo`
 *   (resolved with HEAD, as cosign does).
 * @param repo - where the subject is and the referrer goes: a registry `Repository`
 *   (probes the referrers API, maintains the tag index without it), a `MemoryStore`, …
 * @param bundle - the bundle bytes (stored as given) or JSON (serialised compactly).
 *   Its media type must be a Sigstore bundle ≥ v0.3.
 * @throws ChartproofError `INVALID_ARGUMENT` for an invalid bundle, subject, time or
 *   annotation; registry errors (`MANIFEST_UNKNOWN` for a missing subject, …)
 * @public
 */
export async function attachBundle(
  repo: BundleTarget,
  subject: Descriptor | Digest | string,
  bundle: Uint8Array | SigstoreBundleJson,
  options: AttachBundleOptions,
): Promise<AttachBundleResult> {
  const { signal } = options;
  const bytes = bundle instanceof Uint8Array ? bundle : utf8Bytes(JSON.stringify(bundle));
  try {
    const { version } = parseSigstoreBundle(bytes);
    if (!isBundleVersionAtLeast(version, '0.3'))
      throw new ChartproofError(
        'INVALID_ARGUMENT',
        `bundle v${version} is older than v0.3; cosign ignores it`,
      );
  } catch (e) {
    if (e instanceof ChartproofError && e.code === 'INVALID_ARGUMENT') throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new ChartproofError('INVALID_ARGUMENT', `not a storable bundle: ${why}`, { cause: e });
  }
  const subjectDesc = await resolveSubject(repo, subject, signal);
  const built = buildBundleReferrer(subjectDesc, bytes, options);
  // Learn whether the registry has the referrers API before pushing, so a registry
  // that has it but omits `OCI-Subject` does not get a needless referrers tag
  // (go-containerregistry probes the API for the same reason).
  const registry = referrersApiOf(repo);
  if (registry && registry.referrersApi === undefined) await registry.referrers(subjectDesc, { signal });
  signal?.throwIfAborted();
  await pushIfMissing(repo, built.configDescriptor, EMPTY_CONFIG, signal);
  await pushIfMissing(repo, built.bundleDescriptor, bytes, signal);
  const manifest = await pushReferrerManifest(repo, built.descriptor, built.bytes, signal);
  return {
    subject: subjectDesc,
    manifest,
    bundleDescriptor: built.bundleDescriptor,
    referrersApi: registry?.referrersApi,
  };
}

/** Options of {@link signBundle}. @public */
export interface SignBundleOptions {
  /** Annotations signed into the statement's subject (`cosign sign -a k=v`). */
  annotations?: Record<string, string>;
  /** Creation time of the referrer. If unset, now. */
  created?: Date | string;
  /** Rekor / TSA witnesses (see `createDsseBundle`). If unset, none. */
  witnesses?: Witness[];
  signal?: AbortSignal;
}

/** What {@link signBundle} did. @public */
export interface SignBundleResult extends AttachBundleResult {
  /** The signed in-toto statement bytes. */
  statement: Uint8Array;
  /** The bundle JSON stored in the referrer. */
  bundle: SigstoreBundleJson;
}

/**
 * Signs `subject` the way `cosign sign --key` (v3, default bundle format) does: the
 * statement of `cosignSignStatement`, a DSSE bundle v0.3 from `signer`, stored with
 * {@link attachBundle}. Every call adds a referrer (cosign does no duplicate detection
 * for bundles).
 * @throws as `createDsseBundle` and {@link attachBundle}
 * @example
 * ```ts
 * const repo = client.repository('ghcr.io/acme/charts/app');
 * const { manifest } = await signBundle(repo, 'sha256:…', signer);
 * ```
 * @public
 */
export async function signBundle(
  repo: BundleTarget,
  subject: Descriptor | Digest | string,
  signer: Signer,
  options: SignBundleOptions = {},
): Promise<SignBundleResult> {
  const { signal } = options;
  const subjectDesc = await resolveSubject(repo, subject, signal);
  const statement = cosignSignStatement(subjectDesc.digest, options.annotations);
  const bundle = await createDsseBundle(statement, signer, {
    signal,
    ...(options.witnesses ? { witnesses: options.witnesses } : {}),
  });
  const bytes = utf8Bytes(JSON.stringify(bundle));
  const attached = await attachBundle(repo, subjectDesc, bytes, {
    predicateType: COSIGN_SIGN_PREDICATE_TYPE,
    ...(options.created !== undefined ? { created: options.created } : {}),
    signal,
  });
  return { ...attached, statement, bundle };
}

// go-containerregistry `v1.Descriptor` order for the fields cosign sets.
function descriptorJson(d: Descriptor, artifactType?: string): string {
  return goJsonStruct([
    ['mediaType', d.mediaType, false],
    ['size', d.size, false],
    ['digest', d.digest, false],
    ['artifactType', artifactType, true],
  ]);
}

function formatCreated(created: Date | string | undefined): string {
  if (created === undefined || created instanceof Date) {
    const date = created ?? new Date();
    if (Number.isNaN(date.getTime())) throw new ChartproofError('INVALID_ARGUMENT', 'invalid created date');
    return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  if (typeof created !== 'string' || !RFC3339.test(created))
    throw new ChartproofError('INVALID_ARGUMENT', `created must be an RFC 3339 time, got ${String(created)}`);
  return created;
}

async function pushIfMissing(
  repo: Exister & Pusher,
  desc: Descriptor,
  data: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (await repo.exists(desc, { signal })) return;
  await repo.push(desc, data, { signal });
}
