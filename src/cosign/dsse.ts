/**
 * DSSE envelopes and Sigstore bundle JSON as cosign writes them: the formats signing
 * builds and verification reads (no signing code here). DSSE `protocol.md` (PAE),
 * go-securesystemslib `dsse/envelope.go` (field order, `keyid` without omitempty),
 * sigstore protobuf-specs `sigstore_bundle.proto`, cosign `pkg/types/media.go`.
 */
import { goJsonString, utf8Bytes } from '../internal/encoding/go-json.js';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import { decodeBase64 } from '../internal/encoding/base64.js';
import type { Digest } from '../oci/digest.js';
import { cosignSignatureTag, decodeStdBase64 } from './simplesigning.js';

/** Layer media type of a legacy attestation: a DSSE envelope (cosign `DssePayloadType`). @public */
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

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
    const bytes = decodeBase64(value, 'url');
    if (!bytes) throw e;
    return new Uint8Array(bytes);
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

/** The JSON of a Sigstore bundle as cosign and sigstore-go write it. @public */
export interface SigstoreBundleJson {
  /** e.g. `application/vnd.dev.sigstore.bundle.v0.3+json`. */
  mediaType: string;
  verificationMaterial: {
    /** Key-based signing: base64(SHA-256(SPKI DER)) of the key, see `keyHint`. */
    publicKey?: { hint: string };
    certificate?: { rawBytes: string };
    x509CertificateChain?: { certificates: { rawBytes: string }[] };
    /** Transparency log entries (absent when nothing was logged). */
    tlogEntries?: Record<string, unknown>[];
    /** RFC 3161 timestamps (absent when none). */
    timestampVerificationData?: { rfc3161Timestamps?: { signedTimestamp: string }[] };
  };
  dsseEnvelope?: {
    /** Standard base64 of the signed payload (the in-toto statement). */
    payload: string;
    payloadType: string;
    signatures: { sig: string; keyid?: string }[];
  };
  messageSignature?: {
    messageDigest?: { algorithm: string; digest: string };
    signature: string;
  };
}

/**
 * The DSSE pre-authentication encoding signed for an envelope:
 * `"DSSEv1" SP len(type) SP type SP len(payload) SP payload`, lengths in bytes as
 * ASCII decimal.
 * @public
 */
export function dssePae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = Buffer.from(payloadType, 'utf8');
  const head = Buffer.from(`DSSEv1 ${type.byteLength} ${payloadType} ${payload.byteLength} `, 'utf8');
  return new Uint8Array(Buffer.concat([head, payload]));
}
