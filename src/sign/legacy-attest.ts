/**
 * cosign's legacy ("attached") attestations: a DSSE envelope over an in-toto statement,
 * stored as one layer of the manifest tagged `sha256-<hex>.att` in the subject's
 * repository, the layout `cosign attest --new-bundle-format=false` (and every cosign v2)
 * writes. The manifest is built and appended exactly like the legacy `.sig` manifest
 * (see `legacy.ts`); only the layer differs: media type
 * `application/vnd.dsse.envelope.v1+json`, blob = the envelope JSON, annotations
 * `predicateType` and an empty `dev.cosignproject.cosign/signature` (the signature is
 * inside the envelope).
 *
 * References: cosign `cmd/cosign/cli/attest/attest.go`, `pkg/oci/static/signature.go`
 * (`NewAttestation`), `pkg/types/media.go` (`DssePayloadType`); sigstore
 * `pkg/signature/dsse/dsse.go` (`WrapSigner`); go-securesystemslib `dsse/envelope.go`
 * (field order, `keyid` without omitempty).
 */
import { goJsonString, utf8Bytes } from '../chart/config.js';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, digestOf } from '../oci/digest.js';
import type { Repository } from '../oci/repository.js';
import { dssePae } from './bundle.js';
import { loadPublicKey, verifySignature } from './keys.js';
import {
  buildSignatureManifest,
  fetchExisting,
  manifestOptions,
  pushIfMissing,
  signatureLayers,
} from './legacy.js';
import type { Signer } from './signer.js';
import {
  COSIGN_SIGNATURE_ANNOTATION,
  cosignSignatureTag,
  decodeStdBase64,
  MAX_SIGNATURE_LAYERS,
} from './simplesigning.js';
import { IN_TOTO_PAYLOAD_TYPE } from './statement.js';
import { resolveSubject } from './subject.js';

/** Layer media type of a legacy attestation: a DSSE envelope (cosign `DssePayloadType`). @public */
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

/** Layer annotation naming a legacy attestation's predicate type (unsigned). @public */
export const LEGACY_PREDICATE_TYPE_ANNOTATION = 'predicateType';

/** A DSSE envelope as JSON (DSSE `envelope.md`). @public */
export interface DsseEnvelopeJson {
  /** What the payload is, e.g. `application/vnd.in-toto+json`. */
  payloadType: string;
  /** Base64 of the signed payload (standard; DSSE readers also accept URL-safe). */
  payload: string;
  /** cosign writes exactly one, with an empty `keyid`. */
  signatures: { keyid?: string; sig: string }[];
}

/**
 * The tag cosign stores legacy attestations of `digest` under: `sha256-<hex>.att`.
 * @throws ChartproofError `INVALID_ARGUMENT` for an invalid digest
 * @public
 */
export function cosignAttestationTag(digest: Digest | string): string {
  return `${cosignSignatureTag(digest).slice(0, -'.sig'.length)}.att`;
}

/**
 * Serialises a DSSE envelope byte for byte as cosign does (go-securesystemslib
 * `dsse.Envelope` through Go's `json.Marshal`): `payloadType, payload, signatures`, each
 * signature `keyid, sig` with `keyid` always written (`""` when unset).
 * @public
 */
export function encodeDsseEnvelope(envelope: DsseEnvelopeJson): Uint8Array {
  const sigs = envelope.signatures.map(
    (s) => `{"keyid":${goJsonString(s.keyid ?? '')},"sig":${goJsonString(s.sig)}}`,
  );
  return utf8Bytes(
    `{"payloadType":${goJsonString(envelope.payloadType)},"payload":${goJsonString(envelope.payload)},"signatures":[${sigs.join(',')}]}`,
  );
}

/**
 * Parses a DSSE envelope: a JSON object with a string `payloadType`, a base64 `payload`
 * (standard or URL-safe, as DSSE allows) and a non-empty list of signatures with a
 * base64 `sig` (and a string `keyid` when present). Nothing is verified.
 * @throws ChartproofError `SIGNATURE_INVALID` when the bytes are not such an envelope
 * @public
 */
export function parseDsseEnvelope(bytes: Uint8Array | string): DsseEnvelopeJson {
  const bad = (why: string, cause?: unknown): never => {
    throw new ChartproofError('SIGNATURE_INVALID', `invalid DSSE envelope: ${why}`, { cause });
  };
  let value: unknown;
  try {
    value = parseJsonBounded(
      typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes),
      { what: 'attestation envelope' },
    );
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    return bad('not valid UTF-8 JSON', e);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('not a JSON object');
  const v = value as Record<string, unknown>;
  if (typeof v.payloadType !== 'string' || v.payloadType.length === 0)
    bad('payloadType must be a non-empty string');
  if (typeof v.payload !== 'string' || v.payload.length === 0 || !isDsseBase64(v.payload))
    bad('payload must be non-empty base64');
  if (!Array.isArray(v.signatures) || v.signatures.length === 0) bad('signatures must be a non-empty list');
  const signatures = (v.signatures as unknown[]).map((s, i) => {
    const o = (
      typeof s === 'object' && s !== null && !Array.isArray(s) ? s : bad(`signatures[${i}] is not an object`)
    ) as Record<string, unknown>;
    if (typeof o.sig !== 'string' || o.sig.length === 0 || !isDsseBase64(o.sig))
      bad(`signatures[${i}].sig must be non-empty base64`);
    if (o.keyid !== undefined && o.keyid !== null && typeof o.keyid !== 'string')
      bad(`signatures[${i}].keyid must be a string`);
    const out: { keyid?: string; sig: string } = { sig: o.sig as string };
    if (typeof o.keyid === 'string') out.keyid = o.keyid;
    return out;
  });
  return { payloadType: v.payloadType as string, payload: v.payload as string, signatures };
}

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
 * @param subject - the attested manifest: a descriptor (trusted as given), a digest or
 *   a tag of `repo` (resolved with HEAD; must exist)
 * @throws ChartproofError `INVALID_ARGUMENT` for an empty predicate type, reserved or
 *   non-string annotations; `SIGNATURE_INVALID` for an envelope that does not parse;
 *   `INVALID_MANIFEST` when the tag holds something other than an image manifest, or
 *   already 1000 layers; registry errors
 * @public
 */
export async function attachLegacyAttestation(
  repo: Repository,
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
  const pushed = await repo.pushManifest(built.bytes, {
    mediaType: built.descriptor.mediaType,
    tags: [tag],
    signal,
  });
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

const URL_BASE64 = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

/**
 * Decodes a DSSE base64 field as go-securesystemslib does: standard padded base64,
 * else URL-safe padded base64.
 * @throws ChartproofError `SIGNATURE_INVALID` for anything else
 * @public
 */
export function decodeDsseBase64(value: string): Uint8Array {
  try {
    return decodeStdBase64(value);
  } catch (e) {
    if (!URL_BASE64.test(value)) throw e;
    return new Uint8Array(Buffer.from(value, 'base64url'));
  }
}

function isDsseBase64(value: string): boolean {
  try {
    decodeDsseBase64(value);
    return true;
  } catch {
    return false;
  }
}
