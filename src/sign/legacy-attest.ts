import { ChartproofError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, digestOf } from '../oci/digest.js';
import {
  cosignAttestationTag,
  DSSE_ENVELOPE_MEDIA_TYPE,
  dssePae,
  encodeDsseEnvelope,
  parseDsseEnvelope,
} from '../cosign/dsse.js';
import { loadPublicKey, verifySignature } from '../keys/keys.js';
import {
  buildSignatureManifest,
  fetchExisting,
  manifestOptions,
  pushIfMissing,
  signatureLayers,
} from './legacy.js';
import type { Signer } from '../keys/signer.js';
import { COSIGN_SIGNATURE_ANNOTATION, MAX_SIGNATURE_LAYERS } from '../cosign/simplesigning.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../cosign/statement.js';
import { resolveSubject } from '../cosign/subject.js';
import { pushManifestTagged, type SignatureTarget } from './target.js';

export {
  cosignAttestationTag,
  DSSE_ENVELOPE_MEDIA_TYPE,
  type DsseEnvelopeJson,
  decodeDsseBase64,
  encodeDsseEnvelope,
  parseDsseEnvelope,
} from '../cosign/dsse.js';

/** Layer annotation naming a legacy attestation's predicate type (unsigned). @public */
export const LEGACY_PREDICATE_TYPE_ANNOTATION = 'predicateType';

/** Options of {@link createDsseEnvelope}. @public */
export interface CreateDsseEnvelopeOptions {
  /** DSSE `payloadType`. If unset, `application/vnd.in-toto+json`. */
  payloadType?: string;
  signal?: AbortSignal;
}

/**
 * Signs `payload` (an in-toto statement) into a DSSE envelope the way cosign's legacy
 * `attest` does (`dsse.WrapSigner`): the signer signs the PAE
 * (`"DSSEv1 <len> <type> <len> <payload>"`), the envelope carries one signature with an
 * empty `keyid`, serialised as {@link encodeDsseEnvelope}. The signature is checked with
 * the signer's own public key before the envelope is returned.
 * @throws ChartproofError `INVALID_ARGUMENT` for an empty payload; `SIGNATURE_INVALID`
 *   when the signature does not verify with the signer's key; `KEY_INVALID` for an
 *   unreadable public key
 * @public
 */
export async function createDsseEnvelope(
  payload: Uint8Array,
  signer: Signer,
  options: CreateDsseEnvelopeOptions = {},
): Promise<Uint8Array> {
  const { signal } = options;
  if (!(payload instanceof Uint8Array) || payload.byteLength === 0)
    throw new ChartproofError('INVALID_ARGUMENT', 'the payload must be non-empty bytes');
  const payloadType = options.payloadType ?? IN_TOTO_PAYLOAD_TYPE;
  const publicKey = loadPublicKey(await signer.publicKeyPem({ signal }));
  signal?.throwIfAborted();
  const pae = dssePae(payloadType, payload);
  const signature = await signer.sign(pae, { signal });
  if (!verifySignature(publicKey, pae, signature))
    throw new ChartproofError(
      'SIGNATURE_INVALID',
      'the signer produced a signature that does not verify with its own public key',
    );
  return encodeDsseEnvelope({
    payloadType,
    payload: Buffer.from(payload).toString('base64'),
    signatures: [{ keyid: '', sig: Buffer.from(signature).toString('base64') }],
  });
}

/** Options of {@link attachLegacyAttestation}. @public */
export interface AttachLegacyAttestationOptions {
  /** The predicate type URI, written as the layer's `predicateType` annotation. */
  predicateType: string;
  /**
   * More layer annotations, e.g. `dev.sigstore.cosign/certificate`, `…/chain` and
   * `…/bundle` for an envelope signed keylessly. `predicateType` and
   * `dev.cosignproject.cosign/signature` are reserved.
   */
  annotations?: Record<string, string>;
  signal?: AbortSignal;
}

/** What {@link attachLegacyAttestation} did. @public */
export interface AttachLegacyAttestationResult {
  /** The attestation tag, `sha256-<hex>.att`. */
  tag: string;
  /** Digest of the attested manifest. */
  subjectDigest: Digest;
  /** Digest of the attestation manifest now at {@link AttachLegacyAttestationResult.tag}. */
  manifestDigest: Digest;
  /** The envelope layer (its digest is the envelope's). */
  layer: Descriptor;
  /**
   * False when the manifest already had an identical layer (same envelope and
   * annotations): nothing was pushed.
   */
  appended: boolean;
}

/**
 * Appends a signed DSSE envelope to the `sha256-<hex>.att` manifest of `subject`, as
 * cosign's legacy `attest` does: reads the existing manifest (if any), adds one layer
 * (`application/vnd.dsse.envelope.v1+json`, annotations `predicateType` and an empty
 * `dev.cosignproject.cosign/signature`, plus `options.annotations`), keeps every other
 * layer and rebuilds the config as for `.sig` manifests; pushes the envelope and config
 * blobs, then the manifest under the tag, last. The envelope must parse; its signature
 * is not checked here (see {@link createDsseEnvelope}). A concurrent writer can
 * overwrite the tag between read and write, as with cosign.
 *
 * @param repo - the subject's repository: a registry `Repository`, a `MemoryStore`, or
 *   any {@link SignatureTarget}
 * @param subject - the attested manifest: a descriptor (trusted as given), a digest or
 *   a tag of `repo` (resolved with HEAD; must exist)
 * @throws ChartproofError `INVALID_ARGUMENT` for an empty predicate type, reserved or
 *   non-string annotations; `SIGNATURE_INVALID` for an envelope that does not parse;
 *   `INVALID_MANIFEST` when the tag holds something other than an image manifest, or
 *   already 1000 layers; registry errors
 * @public
 */
export async function attachLegacyAttestation(
  repo: SignatureTarget,
  subject: Descriptor | Digest | string,
  envelope: Uint8Array,
  options: AttachLegacyAttestationOptions,
): Promise<AttachLegacyAttestationResult> {
  const { signal } = options;
  const { predicateType } = options;
  if (typeof predicateType !== 'string' || predicateType.length === 0)
    throw new ChartproofError('INVALID_ARGUMENT', 'predicateType must be a non-empty string');
  const annotations: Record<string, string> = {
    [COSIGN_SIGNATURE_ANNOTATION]: '',
    [LEGACY_PREDICATE_TYPE_ANNOTATION]: predicateType,
  };
  for (const [k, v] of Object.entries(options.annotations ?? {})) {
    if (k in annotations) throw new ChartproofError('INVALID_ARGUMENT', `annotation ${k} is reserved`);
    if (typeof v !== 'string')
      throw new ChartproofError('INVALID_ARGUMENT', `annotation ${k} must be a string`);
    annotations[k] = v;
  }
  parseDsseEnvelope(envelope);
  const subjectDigest = (await resolveSubject(repo, subject, signal)).digest;
  const tag = cosignAttestationTag(subjectDigest);
  const layer: Descriptor = {
    mediaType: DSSE_ENVELOPE_MEDIA_TYPE,
    size: envelope.byteLength,
    digest: digestOf(envelope),
    annotations,
  };

  signal?.throwIfAborted();
  const existing = await fetchExisting(repo, tag, signal);
  const layers = existing ? signatureLayers(existing, `${repo.name}:${tag}`) : [];
  if (existing && layers.some((l) => sameLayer(l, layer)))
    return { tag, subjectDigest, manifestDigest: existing.descriptor.digest, layer, appended: false };
  if (layers.length + 1 > MAX_SIGNATURE_LAYERS)
    throw new ChartproofError(
      'INVALID_MANIFEST',
      `${repo.name}:${tag} already holds ${layers.length} attestations; cosign reads at most ${MAX_SIGNATURE_LAYERS}`,
    );
  const built = buildSignatureManifest([...layers, layer], manifestOptions(existing));
  await pushIfMissing(repo, layer, envelope, signal);
  await pushIfMissing(repo, built.configDescriptor, built.config, signal);
  const pushed = await pushManifestTagged(repo, built.descriptor, built.bytes, [tag], signal);
  return { tag, subjectDigest, manifestDigest: pushed.digest, layer, appended: true };
}

// containers/image's duplicate rule for attachments: same media type, digest, size and annotations.
function sameLayer(a: Descriptor, b: Descriptor): boolean {
  if (a.mediaType !== b.mediaType || a.digest !== b.digest || a.size !== b.size) return false;
  const x = a.annotations ?? {};
  const y = b.annotations ?? {};
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => x[k] === y[k]);
}
