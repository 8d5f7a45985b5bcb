/**
 * RFC 3161 timestamps on cosign legacy layers: `dev.sigstore.cosign/rfc3161timestamp` =
 * `{"SignedRFC3161Timestamp":"<base64 DER TimeStampResp>"}`, written by `cosign sign` /
 * `cosign attest --timestamp-server-url …` (often with `--tlog-upload=false`).
 *
 * What the timestamp covers (cosign `VerifyRFC3161Timestamp`, `attest.go`): on a
 * simple-signing `.sig` layer the raw signature bytes (the base64-decoded
 * `dev.cosignproject.cosign/signature`); on a DSSE `.att` layer, whose signature
 * annotation is empty, the layer blob — the whole envelope JSON, exactly as stored — and
 * NOT the envelope's signature (only cosign's new bundle format timestamps that).
 *
 * The timestamp is checked by `@sigstore/verify` (public API only): the annotation's
 * TimeStampResp is read through a Sigstore bundle (`timestampVerificationData`, the same
 * DER form), and a `Verifier` checks it against the trusted root's timestamp authorities
 * (TSA chain valid at the signing time, CMS signature, message imprint = sha256 of the
 * covered bytes) together with the layer's signature.
 *
 * References: sigstore/cosign `pkg/cosign/verify.go` (`VerifyRFC3161Timestamp`,
 * `verifyInternal`), `pkg/cosign/bundle/tsa.go`, `cmd/cosign/cli/attest/attest.go`;
 * sigstore-js `packages/verify/src/timestamp/tsa.ts`; RFC 3161 §2.4.2.
 */
import { createHash, type KeyObject, type X509Certificate } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import type { SignedEntity, Signer, Verifier } from '@sigstore/verify';
import { sigstoreVerify } from './sigstore-verify.js';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import { COSIGN_RFC3161_ANNOTATION, decodeStdBase64 } from '../cosign/simplesigning.js';
import { certificateValidAt, notAfter, notBefore } from './certificate.js';
import type { LegacySignatureTime } from './legacy-keyless.js';
import type { TrustedRootJson } from './policy.js';
import { toTrustedRootMessage } from './trusted-root.js';

const PREFIX = 'RFC 3161 timestamp';

function invalid(message: string, cause?: unknown): never {
  throw new ChartproofError('SIGNATURE_INVALID', `${PREFIX}: ${message}`, { cause });
}

/**
 * The DER TimeStampResp of a `dev.sigstore.cosign/rfc3161timestamp` annotation.
 * @throws ChartproofError `SIGNATURE_INVALID` when it is not `{"SignedRFC3161Timestamp": "<base64>"}`
 */
function timestampDer(annotation: string): Buffer {
  let value: unknown;
  try {
    value = parseJsonBounded(annotation, { what: 'the timestamp annotation', source: 'remote' });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    return invalid(`the ${COSIGN_RFC3161_ANNOTATION} annotation is not JSON`, e);
  }
  const b64 = (value as { SignedRFC3161Timestamp?: unknown } | null)?.SignedRFC3161Timestamp;
  if (typeof b64 !== 'string' || b64.length === 0)
    invalid(`the ${COSIGN_RFC3161_ANNOTATION} annotation has no SignedRFC3161Timestamp`);
  try {
    return Buffer.from(decodeStdBase64(b64 as string));
  } catch (e) {
    return invalid('SignedRFC3161Timestamp is not standard base64', e);
  }
}

/**
 * A signed entity whose signature content is `covered` (the bytes the timestamp must
 * cover) and whose only timestamp is the annotation's, parsed by `@sigstore/verify`
 * through a minimal message-signature bundle.
 */
function timestampEntity(annotation: string, covered: Uint8Array): SignedEntity {
  const der = timestampDer(annotation);
  if (covered.byteLength === 0) invalid('there are no signed bytes for it to cover');
  try {
    return sigstoreVerify().toSignedEntity(
      bundleFromJSON({
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: {
          publicKey: { hint: '' },
          tlogEntries: [],
          timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: der.toString('base64') }] },
        },
        messageSignature: {
          messageDigest: {
            algorithm: 'SHA2_256',
            digest: createHash('sha256').update(covered).digest('base64'),
          },
          signature: Buffer.from(covered).toString('base64'),
        },
      }),
    );
  } catch (e) {
    return invalid(`malformed TimeStampResp (${(e as Error).message})`, e);
  }
}

/** The signing time of the entity's (single) RFC 3161 timestamp. */
function signingTime(entity: SignedEntity): Date {
  const ts = entity.timestamps.find((t) => t.$case === 'timestamp-authority');
  return ts?.$case === 'timestamp-authority' ? ts.timestamp.signingTime : invalid('no timestamp');
}

function runVerifier(
  prefix: string,
  ...[trust, options, entity]: [...ConstructorParameters<typeof Verifier>, SignedEntity]
): Signer {
  try {
    return new (sigstoreVerify().Verifier)(trust, options).verify(entity);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new ChartproofError(
      'SIGNATURE_INVALID',
      `${prefix}${typeof code === 'string' ? `${code}: ` : ''}${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** Input of {@link verifyLegacyTimestamp}. @internal */
export interface LegacyTimestampInput {
  /** The `dev.sigstore.cosign/rfc3161timestamp` annotation's value. */
  annotation: string;
  /** The bytes the timestamp covers: a `.sig` layer's raw signature, a `.att` layer's envelope bytes. */
  covered: Uint8Array;
  /** Supplies the timestamp authorities. */
  trustedRoot: TrustedRootJson;
  /** The signer's key (a certificate's key or a policy key). */
  key: KeyObject;
  /** Checks the layer's signature with `key` (also checked by the caller; the Verifier requires it). */
  verifySignature: (key: KeyObject) => boolean;
}

/**
 * Verifies a legacy layer's RFC 3161 timestamp with `@sigstore/verify` and returns its
 * verified signing time. The signer is given as a bare key: the certificate, when there
 * is one, is checked by the caller (at this time among others).
 * @throws ChartproofError `SIGNATURE_INVALID` ("RFC 3161 timestamp: …") for a malformed
 *   annotation, a timestamp not over `covered`, or one no trusted TSA signed
 * @internal
 */
export function verifyLegacyTimestamp(input: LegacyTimestampInput): Date {
  const base = timestampEntity(input.annotation, input.covered);
  const entity: SignedEntity = {
    ...base,
    key: { $case: 'public-key', hint: '' },
    signature: {
      signature: base.signature.signature,
      compareSignature: () => false,
      compareDigest: () => false,
      compareSignedDigest: () => false,
      verifySignature: input.verifySignature,
    },
  };
  const root = toTrustedRootMessage(input.trustedRoot);
  const trust = sigstoreVerify().toTrustMaterial(root, () => ({
    publicKey: input.key,
    validFor: () => true,
  }));
  runVerifier(`${PREFIX}: `, trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 1 }, entity);
  return signingTime(entity);
}

/** Input of {@link verifyTimestampedAttestation}. @internal */
export interface TimestampedAttestationInput {
  /** The layer re-expressed as a certificate-signed Sigstore bundle (JSON), with the Rekor entry when used. */
  bundle: unknown;
  /** The envelope's exact bytes (the layer blob), which the timestamp covers. */
  envelope: Uint8Array;
  annotation: string;
  trustedRoot: TrustedRootJson;
  /** Transparency-log entries required (0 or 1). */
  tlogThreshold: number;
}

/** Outcome of {@link verifyTimestampedAttestation}. @internal */
export interface TimestampedAttestation {
  signer: Signer;
  /** The RFC 3161 signing time. */
  time: Date;
  /** Verified transparency-log entries. */
  tlogEntries: number;
  /** Their integrated times. */
  tlogTimes: Date[];
}

/**
 * Verifies a certificate-signed legacy attestation whose time comes (also) from its RFC
 * 3161 timestamp: `@sigstore/verify` checks the timestamp over the envelope bytes, the
 * Rekor entries of `bundle`, the certificate chain to the trusted root's CAs at every
 * verified time, one SCT, and the DSSE signature. The identity and the statement are
 * the caller's to check.
 * @throws ChartproofError `SIGNATURE_INVALID` with the reason
 * @internal
 */
export function verifyTimestampedAttestation(input: TimestampedAttestationInput): TimestampedAttestation {
  let base: SignedEntity;
  try {
    base = sigstoreVerify().toSignedEntity(bundleFromJSON(input.bundle));
  } catch (e) {
    throw new ChartproofError('SIGNATURE_INVALID', `malformed bundle: ${(e as Error).message}`, { cause: e });
  }
  const tsa = timestampEntity(input.annotation, input.envelope);
  const content = base.signature;
  const entity: SignedEntity = {
    ...base,
    timestamps: [...base.timestamps, ...tsa.timestamps],
    // The timestamp covers the envelope bytes; every other check is the DSSE content's.
    signature: {
      signature: tsa.signature.signature,
      compareSignature: (s) => content.compareSignature(s),
      compareDigest: (d) => content.compareDigest(d),
      compareSignedDigest: (d) => content.compareSignedDigest(d),
      verifySignature: (k) => content.verifySignature(k),
    },
  };
  const trust = sigstoreVerify().toTrustMaterial(toTrustedRootMessage(input.trustedRoot));
  const signer = runVerifier(
    '',
    trust,
    { tlogThreshold: input.tlogThreshold, ctlogThreshold: 1, timestampThreshold: 1 },
    entity,
  );
  return {
    signer,
    time: signingTime(tsa),
    tlogEntries: base.tlogEntries.length,
    tlogTimes: base.timestamps.flatMap((t) =>
      t.$case === 'transparency-log' ? [new Date(Number(t.tlogEntry.integratedTime) * 1000)] : [],
    ),
  };
}

/**
 * cosign's expiry check (`verifyInternal`): the certificate must be valid at every
 * verified time (transparency log, timestamp authority), or, with none, at the current
 * time. Returns the times checked and, when one fails, why.
 * @internal
 */
export function certificateTimes(
  leaf: X509Certificate,
  verified: LegacySignatureTime[],
  now: Date | undefined,
): { times: LegacySignatureTime[]; reason?: string } {
  const period = `${notBefore(leaf).toISOString()} to ${notAfter(leaf).toISOString()}`;
  const times: LegacySignatureTime[] =
    verified.length > 0 ? verified : [{ source: 'current-time', time: (now ?? new Date()).toISOString() }];
  const bad = times.find((t) => !certificateValidAt(leaf, new Date(t.time)));
  if (!bad) return { times };
  const reason =
    bad.source === 'current-time'
      ? `certificate validity cannot be established without a verified time: the certificate is not valid at the current time ${bad.time} (valid ${period})`
      : `certificate: not valid at the ${bad.source === 'transparency-log' ? 'transparency-log integrated time' : 'RFC 3161 timestamp'} ${bad.time} (valid ${period})`;
  return { times, reason };
}
