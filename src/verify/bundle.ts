/**
 * Verification of Sigstore bundles (`application/vnd.dev.sigstore.bundle*`), key-based
 * and keyless, through `@sigstore/verify`, plus the checks it leaves to the caller:
 * the in-toto subject of DSSE bundles (cosign's `IntotoSubjectClaimVerifier`), the
 * message digest when only a digest is known, annotations and certificate identities.
 *
 * References: sigstore/cosign `pkg/cosign/verify.go` (`VerifyNewBundle`,
 * `IntotoSubjectClaimVerifier`), sigstore/sigstore-go `pkg/verify`,
 * sigstore/sigstore-js `packages/verify`, sigstore/protobuf-specs `sigstore_bundle.proto`.
 */
import { type KeyObject, X509Certificate } from 'node:crypto';
import { type Bundle, bundleFromJSON } from '@sigstore/bundle';
import type { SignedEntity, Signer, TrustMaterial, VerifierOptions } from '@sigstore/verify';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import { sha256Hex } from '../internal/hash.js';
import { parseDigest } from '../oci/digest.js';
import { signingKind } from '../keys/key-signers.js';
import { keyHint, loadPublicKey } from '../keys/keys.js';
import { verifyPrehashed } from '../keys/prehashed.js';
import type { SigstoreBundleJson } from '../cosign/dsse.js';
import { IN_TOTO_PAYLOAD_TYPE, type InTotoStatement, parseInTotoStatement } from '../cosign/statement.js';
import {
  assertCertificateIdentity,
  CHECKS,
  type CheckList,
  identityMismatch,
  policyThreshold,
  policyTlogMode,
  type TlogMode,
  type VerificationPolicy,
} from './policy.js';
import { sigstoreVerify } from './sigstore-verify.js';
import { toTrustedRootMessage } from './trusted-root.js';

/** Who signed a verified bundle. @public */
export interface BundleSigner {
  /** `key`: a public key from the policy; `certificate`: a (Fulcio) certificate. */
  kind: 'key' | 'certificate';
  /** For keys: base64(sha256(SPKI DER)) of the policy key that verified the signature. */
  keyHint?: string;
  /** For certificates: the Subject Alternative Name (URI or e-mail). */
  subject?: string;
  /** For certificates: the OIDC issuer extension. */
  issuer?: string;
}

/** A verified time the signature existed at. @public */
export interface BundleTimestamp {
  /** `transparency-log`: a tlog entry's integrated time; `timestamp-authority`: an RFC 3161 timestamp. */
  kind: 'transparency-log' | 'timestamp-authority';
  /** ISO 8601 time. */
  time: string;
}

/** The result of a successful {@link verifySigstoreBundle}. @public */
export interface BundleVerification {
  verified: true;
  /** The bundle's media type. */
  mediaType: string;
  /** What was signed: a DSSE envelope (in-toto statement) or an artifact digest. */
  content: 'dsse-envelope' | 'message-signature';
  signer: BundleSigner;
  /** cosign's sentences for the checks performed. */
  checks: CheckList;
  /** Verified times (none when the transparency log is skipped and no TSA signed). */
  timestamps: BundleTimestamp[];
  /** Transparency-log entries verified against the trusted root. */
  tlogEntries: number;
  /** The in-toto statement, for DSSE bundles. */
  statement?: InTotoStatement;
}

/** Options of {@link verifySigstoreBundle}. @public */
export interface VerifyBundleOptions {
  /** The signed artifact's bytes. */
  artifact?: Uint8Array;
  /** The artifact's digest, `sha256:<hex>`, when the bytes are not at hand. */
  digest?: string;
  policy: VerificationPolicy;
}

// protobuf-specs HashAlgorithm.SHA2_256
const HASH_SHA2_256 = 1;

function invalid(message: string, cause?: unknown): never {
  throw new ChartproofError('SIGNATURE_INVALID', message, { cause });
}

/**
 * Verifies one Sigstore bundle for an artifact (bytes or `sha256:` digest) against a policy.
 *
 * Order: parse the bundle; pick the trust (policy keys for key-signed bundles, policy
 * identities for certificates); `@sigstore/verify` checks timestamps (tlog integrated
 * times, RFC 3161), the key or certificate chain and SCTs, the tlog entries (inclusion
 * proof or promise, body matches the signature) and the signature; then chartproof checks
 * the certificate identity, the artifact (DSSE: an in-toto subject with the artifact's
 * sha256; message signatures: the message digest) and the annotations.
 *
 * Key-signed bundles are tried with every policy key, ignoring the bundle's key hint for
 * selection (as cosign does). Thresholds: tlog `require` ⇒ at least one verified tlog
 * entry; keyless ⇒ one SCT and one verified timestamp; `skip` ⇒ tlog entries and their
 * integrated times are ignored.
 *
 * @throws {@link ChartproofError} `SIGNATURE_INVALID` with the reason when the bundle does
 * not verify (including malformed bundles); `INVALID_ARGUMENT` / `INVALID_DIGEST` /
 * `KEY_INVALID` for unusable options.
 * @public
 */
export function verifySigstoreBundle(bundleJson: unknown, options: VerifyBundleOptions): BundleVerification {
  const { policy } = options;
  if (typeof policy !== 'object' || policy === null)
    throw new ChartproofError('INVALID_ARGUMENT', 'a policy is required');
  const tlog = policyTlogMode(policy);
  policyThreshold(policy);
  const digestHex = artifactDigest(options);
  const keys = (policy.keys ?? []).map((k) => acceptedKey(typeof k === 'string' ? loadPublicKey(k) : k));
  const identities = policy.identities ?? [];
  for (const id of identities) assertCertificateIdentity(id);
  if (keys.length === 0 && identities.length === 0) {
    throw new ChartproofError('INVALID_ARGUMENT', 'the policy names no keys and no certificate identities');
  }

  const bundle = parseBundle(bundleJson);
  const keyed = bundle.verificationMaterial.content.$case === 'publicKey';
  if (keyed && keys.length === 0) invalid('the bundle is signed with a key, but the policy names no keys');
  if (!keyed && identities.length === 0) {
    invalid('the bundle is signed with a certificate, but the policy names no certificate identities');
  }
  if (!policy.trustedRoot && !(keyed && tlog === 'skip')) {
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      keyed
        ? 'a trusted root is required to verify transparency-log entries (or skip the transparency log)'
        : 'a trusted root is required to verify certificates',
    );
  }
  const root = policy.trustedRoot ? toTrustedRootMessage(policy.trustedRoot) : undefined;

  const entity = signedEntity(bundle, options.artifact, digestHex, tlog, root !== undefined);
  if (!keyed && entity.timestamps.length === 0) {
    invalid('no verifiable timestamp: a certificate needs a transparency-log entry or an RFC 3161 timestamp');
  }
  const thresholds: VerifierOptions = {
    tlogThreshold: tlog === 'require' ? 1 : 0,
    ctlogThreshold: keyed ? 0 : 1,
    // cosign verifies key-signed bundles WithNoObserverTimestamps; certificates need one.
    timestampThreshold: keyed ? 0 : 1,
  };

  if (bundle.content.$case === 'messageSignature') {
    // Checked first: a clearer reason than the signature failure it would cause.
    const md = bundle.content.messageSignature.messageDigest;
    if (!options.artifact && md?.algorithm !== HASH_SHA2_256) {
      invalid('the bundle signs a non-sha256 message digest: the artifact bytes are needed to verify it');
    }
    if (md && md.algorithm === HASH_SHA2_256 && Buffer.from(md.digest).toString('hex') !== digestHex) {
      invalid(`the bundle's message digest is not the artifact's sha256:${digestHex}`);
    }
    if (Object.keys(policy.annotations ?? {}).length > 0) {
      invalid('annotations are required, but a message-signature bundle carries none');
    }
  }

  let signer: BundleSigner;
  if (keyed) {
    const hint =
      bundle.verificationMaterial.content.$case === 'publicKey'
        ? bundle.verificationMaterial.content.publicKey.hint
        : '';
    signer = verifyWithKeys(entity, keys, hint, root, thresholds);
  } else {
    const result = runVerifier(entity, sigstoreVerify().toTrustMaterial(root!), thresholds);
    signer = {
      kind: 'certificate',
      subject: result.identity?.subjectAlternativeName,
      issuer: result.identity?.extensions?.issuer,
    };
    const reasons = identities.map((id) => identityMismatch(id, signer));
    if (!reasons.includes(undefined)) invalid(`certificate identity not trusted: ${reasons.join('; ')}`);
  }

  const checks: CheckList = [CHECKS.claims];
  let statement: InTotoStatement | undefined;
  if (bundle.content.$case === 'dsseEnvelope') {
    const env = bundle.content.dsseEnvelope;
    statement = checkInTotoSubject(env.payloadType, env.payload, digestHex, policy.annotations ?? {});
  }
  if (entity.tlogEntries.length > 0) checks.push(CHECKS.tlogOffline);
  checks.push(keyed ? CHECKS.publicKey : CHECKS.certificate);
  if (Object.keys(policy.annotations ?? {}).length > 0) checks.push(CHECKS.annotations);

  const result: BundleVerification = {
    verified: true,
    mediaType: bundle.mediaType,
    content: bundle.content.$case === 'dsseEnvelope' ? 'dsse-envelope' : 'message-signature',
    signer,
    checks,
    timestamps: entity.timestamps.map((t) =>
      t.$case === 'transparency-log'
        ? {
            kind: 'transparency-log',
            time: new Date(Number(t.tlogEntry.integratedTime) * 1000).toISOString(),
          }
        : { kind: 'timestamp-authority', time: t.timestamp.signingTime.toISOString() },
    ),
    tlogEntries: entity.tlogEntries.length,
  };
  if (statement) result.statement = statement;
  return result;
}

/**
 * A policy key of a kind cosign verifies with (sigstore's `ValidatePubKey`): RSA of 2048
 * to 4096 bits, ECDSA on P-256/384/521, or Ed25519; legacy signatures check the same.
 * @throws ChartproofError `KEY_UNSUPPORTED` (an RSA-1024 key, say)
 */
function acceptedKey(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') signingKind(key);
  return key;
}

/**
 * Who made a verified signature, for counting it once against a threshold: the policy key
 * (by hint), or the signing certificate's key (the sha256 of its SubjectPublicKeyInfo; a
 * keyless certificate is issued for one ephemeral key). Not the certificate's DER: the
 * CA's ECDSA signature on it is malleable ((r, s) → (r, n − s)), so anyone could turn one
 * certificate into another DER with the same TBS, key and identity.
 * @internal
 */
export function signerId(signer: BundleSigner, certificate: Uint8Array | undefined): string {
  if (signer.kind === 'key') return `key ${signer.keyHint ?? ''}`;
  let spki: Uint8Array = certificate ?? new Uint8Array();
  try {
    if (certificate)
      spki = new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' });
  } catch {
    // A certificate that does not parse did not verify either; its DER identifies it.
  }
  return `certificate ${sha256Hex(spki)}`;
}

/** The DER of a bundle's signing certificate (the leaf), when it is signed with one. @internal */
export function bundleCertificate(bundle: SigstoreBundleJson): Uint8Array | undefined {
  const vm = bundle.verificationMaterial;
  const raw = vm?.certificate?.rawBytes ?? vm?.x509CertificateChain?.certificates[0]?.rawBytes;
  return typeof raw === 'string' ? new Uint8Array(Buffer.from(raw, 'base64')) : undefined;
}

/** The artifact's sha256 in hex, from `artifact` and/or `digest` (which must agree). */
function artifactDigest(options: VerifyBundleOptions): string {
  const fromBytes = options.artifact ? sha256Hex(options.artifact) : undefined;
  if (options.digest === undefined) {
    if (fromBytes === undefined)
      throw new ChartproofError('INVALID_ARGUMENT', 'an artifact or a digest is required');
    return fromBytes;
  }
  const { algorithm, encoded } = parseDigest(options.digest);
  if (algorithm !== 'sha256')
    throw new ChartproofError('INVALID_ARGUMENT', 'only sha256 digests are supported');
  if (fromBytes !== undefined && fromBytes !== encoded) {
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `the artifact's digest is sha256:${fromBytes}, not ${options.digest}`,
    );
  }
  return encoded;
}

function parseBundle(input: unknown): Bundle {
  let json = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      json = parseJsonBounded(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'), {
        what: 'bundle',
      });
    } catch (e) {
      if (isDepthLimitError(e)) throw e;
      invalid(`malformed bundle: not valid JSON (${(e as Error).message})`, e);
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    invalid('malformed bundle: not a JSON object');
  try {
    const bundle = bundleFromJSON(json);
    const vm = bundle.verificationMaterial.content;
    if (vm.$case === 'x509CertificateChain' && vm.x509CertificateChain.certificates.length > 1) {
      // sigstore-go/sigstore-js take only the leaf; a root in the chain means a misbuilt bundle.
      // Reject self-issued certificates beyond the leaf, as the conformance suite requires.
      for (const c of vm.x509CertificateChain.certificates.slice(1)) {
        if (isSelfIssued(Buffer.from(c.rawBytes)))
          invalid('malformed bundle: the certificate chain contains a root certificate');
      }
    }
    return bundle;
  } catch (e) {
    if (e instanceof ChartproofError) throw e;
    invalid(`malformed bundle: ${(e as Error).message}`, e);
  }
}

function isSelfIssued(der: Buffer): boolean {
  try {
    const cert = new X509Certificate(der);
    return cert.issuer === cert.subject;
  } catch {
    return false;
  }
}

/** The entity `@sigstore/verify` checks, with the tlog mode and digest-only signing applied. */
function signedEntity(
  bundle: Bundle,
  artifact: Uint8Array | undefined,
  digestHex: string,
  tlog: TlogMode,
  haveRoot: boolean,
): SignedEntity {
  let entity: SignedEntity;
  try {
    entity = sigstoreVerify().toSignedEntity(bundle, artifact ? Buffer.from(artifact) : undefined);
  } catch (e) {
    invalid(`malformed bundle: ${(e as Error).message}`, e);
  }
  if (tlog === 'skip') {
    entity = {
      ...entity,
      tlogEntries: [],
      // RFC 3161 timestamps stay (and must verify) when a trust root can check them.
      timestamps: haveRoot ? entity.timestamps.filter((t) => t.$case === 'timestamp-authority') : [],
    };
  }
  if (!artifact && bundle.content.$case === 'messageSignature') {
    const base = entity.signature;
    const digest = Buffer.from(digestHex, 'hex');
    entity = {
      ...entity,
      signature: {
        signature: base.signature,
        compareSignature: (s) => base.compareSignature(s),
        compareDigest: (d) => base.compareDigest(d),
        compareSignedDigest: (d) => base.compareSignedDigest(d),
        verifySignature: (key) => verifyPrehashed(key, digest, base.signature),
      },
    };
  }
  return entity;
}

function runVerifier(entity: SignedEntity, trust: TrustMaterial, thresholds: VerifierOptions): Signer {
  try {
    return new (sigstoreVerify().Verifier)(trust, thresholds).verify(entity);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    invalid(`${typeof code === 'string' ? `${code}: ` : ''}${(e as Error).message}`, e);
  }
}

function verifyWithKeys(
  entity: SignedEntity,
  keys: KeyObject[],
  hint: string,
  root: ReturnType<typeof toTrustedRootMessage> | undefined,
  thresholds: VerifierOptions,
): BundleSigner {
  // Ignore the hint for selection (cosign), but try the key it names first.
  const ordered = [...keys].sort((a, b) => Number(keyHint(b) === hint) - Number(keyHint(a) === hint));
  const reasons: string[] = [];
  for (const key of ordered) {
    const finder = () => ({ publicKey: key, validFor: () => true });
    const trust: TrustMaterial = root
      ? sigstoreVerify().toTrustMaterial(root, finder)
      : { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [], publicKey: finder };
    try {
      runVerifier(entity, trust, thresholds);
      return { kind: 'key', keyHint: keyHint(key) };
    } catch (e) {
      reasons.push((e as Error).message);
    }
  }
  const unique = [...new Set(reasons)];
  invalid(
    keys.length === 1
      ? (unique[0] ?? 'verification failed')
      : `no policy key verifies the bundle (${keys.length} tried): ${unique.join('; ')}`,
  );
}

/** cosign's IntotoSubjectClaimVerifier: a subject with the artifact's sha256 carrying every required annotation. */
function checkInTotoSubject(
  payloadType: string,
  payload: Buffer,
  digestHex: string,
  annotations: Record<string, string>,
): InTotoStatement {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE)
    invalid(`unsupported DSSE payload type ${JSON.stringify(payloadType)}`);
  const statement = parseInTotoStatement(new Uint8Array(payload));
  const matching = statement.subject.filter(
    (s) =>
      typeof s?.digest === 'object' &&
      s.digest !== null &&
      String(s.digest.sha256).toLowerCase() === digestHex,
  );
  if (matching.length === 0) invalid(`no in-toto subject has the artifact's digest sha256:${digestHex}`);
  const required = Object.entries(annotations);
  const ok = matching.some((s) => required.every(([k, v]) => s.annotations?.[k] === v));
  if (!ok) {
    const missing = required
      .filter(([k, v]) => !matching.some((s) => s.annotations?.[k] === v))
      .map(([k, v]) => `${k}=${v}`);
    invalid(`the in-toto subject lacks the required annotation(s) ${missing.join(', ')}`);
  }
  return statement;
}
