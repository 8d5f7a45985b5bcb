/**
 * cosign's legacy ("attached") signatures with a key: a simple-signing payload per
 * signature, stored as one layer of the manifest tagged `sha256-<hex>.sig` in the
 * subject's repository. Byte-compatible with `cosign sign --key …
 * --new-bundle-format=false --tlog-upload=false` (and with skopeo's sigstore
 * attachments, which use the same layout).
 *
 * References: cosign `pkg/oci/mutate/signatures.go`, `pkg/oci/empty/empty.go`,
 * `pkg/cosign/remote/remote.go` (duplicate detection), go-containerregistry
 * `pkg/v1/mutate` and `pkg/v1/config.go`.
 */
import type { KeyObject } from 'node:crypto';
import { GoRaw, goJsonString, goJsonStruct, utf8Bytes } from '../internal/encoding/go-json.js';
import { ChartproofError, isNotFoundError } from '../errors.js';
import type { Descriptor, Platform } from '../oci/descriptor.js';
import { type Digest, digestOf, isDigest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { Exister, FetchedManifest, ManifestFetcher, Pusher } from '../oci/target.js';
import { loadPublicKey, verifySignature } from '../keys/keys.js';
import type { Signer } from '../keys/signer.js';
import { resolveSubject } from '../cosign/subject.js';
import { hasRegistryReference, pushManifestTagged, type SignatureTarget } from './target.js';
import {
  COSIGN_SIGNATURE_ANNOTATION,
  cosignDockerReference,
  cosignSignatureTag,
  decodeStdBase64,
  MAX_SIGNATURE_LAYERS,
  simpleSigningPayload,
} from '../cosign/simplesigning.js';

// ggcr's zero v1.Time.
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Options of {@link buildSignatureManifest}. @public */
export interface SignatureManifestOptions {
  /**
   * Manifest media type. Default OCI; Docker schema 2 (what
   * `COSIGN_DOCKER_MEDIA_TYPES=1` writes) also switches the config to the Docker type.
   */
  mediaType?: typeof MediaType.OciManifest | typeof MediaType.DockerManifest;
  /** Manifest-level annotations (cosign writes none; kept when appending to a manifest that has them). */
  annotations?: Record<string, string>;
  /** Manifest `subject` (cosign writes none; kept when appending to a manifest that has one). */
  subject?: Descriptor;
}

/** A signature manifest and its config blob, ready to push. @public */
export interface SignatureManifest {
  /** Exact manifest bytes. */
  bytes: Uint8Array;
  /** Descriptor of the manifest. */
  descriptor: Descriptor;
  /** Exact config blob bytes. */
  config: Uint8Array;
  /** Descriptor of the config blob. */
  configDescriptor: Descriptor;
}

/**
 * The config blob cosign writes for a signature manifest: go-containerregistry's
 * `empty.Image` after `mutate.Append`, one zero-time `history` entry and one
 * `diff_ids` entry (the layer digest: signature layers are uncompressed) per layer.
 * @throws ChartproofError `INVALID_ARGUMENT` without layers
 * @public
 */
export function buildSignatureConfig(layers: readonly Descriptor[]): Uint8Array {
  if (layers.length === 0)
    throw new ChartproofError('INVALID_ARGUMENT', 'a signature manifest needs a layer');
  const history = `[${layers.map(() => goJsonStruct([['created', ZERO_TIME, false]])).join(',')}]`;
  const rootfs = goJsonStruct([
    ['type', 'layers', false],
    ['diff_ids', layers.map((l) => l.digest), false],
  ]);
  return utf8Bytes(
    goJsonStruct([
      ['architecture', '', false],
      ['created', ZERO_TIME, false],
      ['history', new GoRaw(history), false],
      ['os', '', false],
      ['rootfs', new GoRaw(rootfs), false],
      ['config', new GoRaw('{}'), false],
    ]),
  );
}

/**
 * Builds the signature manifest (and its config) over `layers`, byte for byte as
 * cosign/go-containerregistry serialise it: `schemaVersion, mediaType, config,
 * layers`, descriptors as `mediaType, size, digest[, data][, urls][, annotations]
 * [, platform][, artifactType]`, annotation keys sorted. Unknown descriptor members
 * are dropped, as go-containerregistry drops them.
 * @throws ChartproofError `INVALID_ARGUMENT` without layers or with an invalid descriptor
 * @public
 */
export function buildSignatureManifest(
  layers: readonly Descriptor[],
  options: SignatureManifestOptions = {},
): SignatureManifest {
  for (const l of layers) checkDescriptor(l, 'INVALID_ARGUMENT');
  const config = buildSignatureConfig(layers);
  const mediaType = options.mediaType ?? MediaType.OciManifest;
  const configDescriptor: Descriptor = {
    mediaType: mediaType === MediaType.DockerManifest ? MediaType.DockerConfig : MediaType.OciConfig,
    size: config.byteLength,
    digest: digestOf(config),
  };
  const fields: Array<readonly [string, unknown, boolean]> = [
    ['schemaVersion', 2, false],
    ['mediaType', mediaType, true],
    ['config', new GoRaw(encodeDescriptor(configDescriptor)), false],
    ['layers', new GoRaw(`[${layers.map(encodeDescriptor).join(',')}]`), false],
    ['annotations', options.annotations, true],
  ];
  if (options.subject) fields.push(['subject', new GoRaw(encodeDescriptor(options.subject)), false]);
  const bytes = utf8Bytes(goJsonStruct(fields));
  return {
    bytes,
    descriptor: { mediaType, digest: digestOf(bytes), size: bytes.byteLength },
    config,
    configDescriptor,
  };
}

/** Options of {@link signLegacy}. @public */
export interface SignLegacyOptions {
  /** Annotations signed into the payload's `optional` (`cosign sign -a k=v`). */
  annotations?: Record<string, string>;
  /**
   * `critical.identity.docker-reference`. Default: the repository without tag, as
   * cosign writes it (the repository without tag or digest; Docker Hub as
   * `index.docker.io`); for a target that is not a registry repository (a
   * `MemoryStore`), its `name`.
   */
  dockerReference?: string;
  signal?: AbortSignal;
}

/** What {@link signLegacy} did. @public */
export interface SignLegacyResult {
  /** The signature tag, `sha256-<hex>.sig`. */
  tag: string;
  /** Digest of the signed manifest. */
  subjectDigest: Digest;
  /** Digest of the signature manifest now at {@link SignLegacyResult.tag}. */
  manifestDigest: Digest;
  /** Digest of the payload (= the layer digest). */
  payloadDigest: Digest;
  /** The exact payload bytes. */
  payload: Uint8Array;
  /**
   * Base64 signature stored in the layer. When {@link SignLegacyResult.appended} is
   * false it is the existing layer's signature.
   */
  signature: string;
  /**
   * False when a layer with the same payload, verifying with the signer's key,
   * already existed (cosign's duplicate detection): nothing was signed or pushed.
   */
  appended: boolean;
}

/**
 * Signs `subject` the way `cosign sign --key` does with the legacy format: builds the
 * simple-signing payload, reads the existing `sha256-<hex>.sig` manifest (if any),
 * appends a layer with the payload and its base64 signature (keeping every other
 * layer and its annotations), rebuilds the config, pushes payload and config blobs,
 * then the manifest under the tag, last.
 *
 * When a layer with the identical payload already verifies with the signer's public
 * key, nothing is signed or pushed (`appended: false`). A concurrent signer can still
 * overwrite the tag between read and write; cosign has the same race.
 *
 * @param repo - the subject's repository: a registry `Repository`, a `MemoryStore`, or
 *   any {@link SignatureTarget}.
 * @param subject - the signed manifest: a descriptor (trusted as given), a digest or
 *   a tag of `repo` (resolved with HEAD; must exist).
 * @throws ChartproofError `INVALID_MANIFEST` when the tag holds something that is not
 *   an image manifest, or already has 1000 layers; `SIGNATURE_INVALID` when the
 *   signer's signature does not verify with its own public key; `KEY_INVALID` for an
 *   unreadable public key; registry errors (`MANIFEST_UNKNOWN` for a missing subject)
 * @example
 * ```ts
 * const repo = client.repository('ghcr.io/acme/charts/app');
 * const { tag, appended } = await signLegacy(repo, 'sha256:…', signer);
 * ```
 * @public
 */
export async function signLegacy(
  repo: SignatureTarget,
  subject: Descriptor | Digest | string,
  signer: Signer,
  options: SignLegacyOptions = {},
): Promise<SignLegacyResult> {
  const { signal } = options;
  const subjectDigest = (await resolveSubject(repo, subject, signal)).digest;
  const tag = cosignSignatureTag(subjectDigest);
  // cosign names the repository; a target that is not a registry repository has only its name.
  const dockerReference =
    options.dockerReference ??
    (hasRegistryReference(repo) ? cosignDockerReference(repo.reference) : repo.name);
  const payload = simpleSigningPayload(dockerReference, subjectDigest, options.annotations);
  const payloadDigest = digestOf(payload);

  const publicKey = loadPublicKey(await signer.publicKeyPem({ signal }));
  signal?.throwIfAborted();
  const existing = await fetchExisting(repo, tag, signal);
  const layers = existing ? signatureLayers(existing, `${repo.name}:${tag}`) : [];

  const dupe = layers.find((l) => isSameSignature(l, payload, payloadDigest, publicKey));
  if (dupe && existing) {
    return {
      tag,
      subjectDigest,
      manifestDigest: existing.descriptor.digest,
      payloadDigest,
      payload,
      signature: dupe.annotations![COSIGN_SIGNATURE_ANNOTATION]!,
      appended: false,
    };
  }
  if (layers.length + 1 > MAX_SIGNATURE_LAYERS) {
    throw new ChartproofError(
      'INVALID_MANIFEST',
      `${repo.name}:${tag} already holds ${layers.length} signatures; cosign reads at most ${MAX_SIGNATURE_LAYERS}`,
    );
  }

  const raw = await signer.sign(payload, { signal });
  if (!verifySignature(publicKey, payload, raw)) {
    throw new ChartproofError(
      'SIGNATURE_INVALID',
      'the signer produced a signature that does not verify with its own public key',
    );
  }
  const signature = Buffer.from(raw).toString('base64');
  const layer: Descriptor = {
    mediaType: MediaType.CosignSimpleSigning,
    size: payload.byteLength,
    digest: payloadDigest,
    annotations: { [COSIGN_SIGNATURE_ANNOTATION]: signature },
  };
  const built = buildSignatureManifest([...layers, layer], manifestOptions(existing));

  signal?.throwIfAborted();
  await pushIfMissing(repo, layer, payload, signal);
  await pushIfMissing(repo, built.configDescriptor, built.config, signal);
  const pushed = await pushManifestTagged(repo, built.descriptor, built.bytes, [tag], signal);
  return {
    tag,
    subjectDigest,
    manifestDigest: pushed.digest,
    payloadDigest,
    payload,
    signature,
    appended: true,
  };
}

// ---------------------------------------------------------------------------------------

/**
 * The manifest at `tag` (a cosign `.sig` / `.att` tag), or undefined when the tag does not exist.
 * @internal
 */
export async function fetchExisting(
  repo: ManifestFetcher,
  tag: string,
  signal: AbortSignal | undefined,
): Promise<FetchedManifest | undefined> {
  try {
    return await repo.fetchManifest(tag, { signal });
  } catch (e) {
    // A registry's 404 (RegistryError), or a store's `NOT_FOUND`.
    if (isNotFoundError(e)) return undefined;
    throw e;
  }
}

/**
 * The layers of an existing signature (or attestation) manifest, validated.
 * @throws ChartproofError `INVALID_MANIFEST` when it is not an image manifest with a layer list
 * @internal
 */
export function signatureLayers(existing: FetchedManifest, where: string): Descriptor[] {
  const m = existing.manifest;
  const mt = existing.descriptor.mediaType;
  if (mt !== MediaType.OciManifest && mt !== MediaType.DockerManifest)
    throw new ChartproofError('INVALID_MANIFEST', `${where} is a ${mt}, not an image manifest`);
  if (!Array.isArray(m.layers))
    throw new ChartproofError('INVALID_MANIFEST', `${where}: manifest has no layers`);
  return m.layers.map((l: unknown) => checkDescriptor(l, 'INVALID_MANIFEST', where));
}

/**
 * What an appended manifest keeps of the existing one: its Docker media type, its
 * annotations and its subject.
 * @internal
 */
export function manifestOptions(existing: FetchedManifest | undefined): SignatureManifestOptions {
  if (!existing) return {};
  const out: SignatureManifestOptions = {};
  if (existing.descriptor.mediaType === MediaType.DockerManifest) out.mediaType = MediaType.DockerManifest;
  const { annotations, subject } = existing.manifest;
  if (isStringMap(annotations) && Object.keys(annotations).length > 0) out.annotations = annotations;
  if (subject !== undefined && subject !== null)
    out.subject = checkDescriptor(subject, 'INVALID_MANIFEST', 'signature manifest subject');
  return out;
}

// cosign's dupe detector: same media type and payload, and the existing signature
// verifies with this signer's key.
function isSameSignature(
  layer: Descriptor,
  payload: Uint8Array,
  payloadDigest: Digest,
  publicKey: KeyObject,
): boolean {
  if (layer.mediaType !== MediaType.CosignSimpleSigning || layer.digest !== payloadDigest) return false;
  const b64 = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
  if (typeof b64 !== 'string') return false;
  let sig: Uint8Array;
  try {
    sig = decodeStdBase64(b64);
  } catch {
    return false;
  }
  try {
    return verifySignature(publicKey, payload, sig);
  } catch {
    return false;
  }
}

/** Pushes a blob unless the registry already has it. @internal */
export async function pushIfMissing(
  repo: Exister & Pusher,
  desc: Descriptor,
  data: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (await repo.exists(desc, { signal })) return;
  await repo.push({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size }, data, { signal });
}

function isStringMap(v: unknown): v is Record<string, string> {
  return (
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    Object.values(v as Record<string, unknown>).every((x) => typeof x === 'string')
  );
}

/** Validates a descriptor-shaped value; returns it typed. */
function checkDescriptor(
  v: unknown,
  code: 'INVALID_ARGUMENT' | 'INVALID_MANIFEST',
  where = 'layer',
): Descriptor {
  const d = v as Partial<Descriptor> | null;
  const bad = (why: string): never => {
    throw new ChartproofError(code, `${where}: invalid descriptor: ${why}`);
  };
  if (d === null || typeof d !== 'object' || Array.isArray(d)) return bad('not an object');
  if (typeof d.mediaType !== 'string' || d.mediaType.length === 0) bad('missing mediaType');
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) bad('invalid digest');
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) bad('invalid size');
  if (d.annotations !== undefined && !isStringMap(d.annotations)) bad('annotations must be strings');
  if (d.urls !== undefined && !(Array.isArray(d.urls) && d.urls.every((u) => typeof u === 'string')))
    bad('urls must be strings');
  if (d.data !== undefined && typeof d.data !== 'string') bad('data must be base64');
  if (d.artifactType !== undefined && typeof d.artifactType !== 'string')
    bad('artifactType must be a string');
  if (d.platform !== undefined && (d.platform === null || typeof d.platform !== 'object'))
    bad('platform must be an object');
  return d as Descriptor;
}

/** go-containerregistry `v1.Descriptor` field order and omitempty rules. */
function encodeDescriptor(d: Descriptor): string {
  return goJsonStruct([
    ['mediaType', d.mediaType, false],
    ['size', d.size, false],
    ['digest', d.digest, false],
    ['data', d.data === undefined || d.data === '' ? undefined : new GoRaw(goJsonString(d.data)), true],
    ['urls', d.urls, true],
    ['annotations', d.annotations, true],
    ['platform', d.platform ? new GoRaw(encodePlatform(d.platform)) : undefined, true],
    ['artifactType', d.artifactType, true],
  ]);
}

function encodePlatform(p: Platform & { features?: string[] }): string {
  return goJsonStruct([
    ['architecture', p.architecture ?? '', false],
    ['os', p.os ?? '', false],
    ['os.version', p['os.version'], true],
    ['os.features', p['os.features'], true],
    ['variant', p.variant, true],
    ['features', p.features, true],
  ]);
}
