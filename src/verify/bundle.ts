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
import {
  createECDH,
  createHash,
  constants as cryptoConstants,
  type KeyObject,
  publicDecrypt,
  X509Certificate,
} from 'node:crypto';
import { type Bundle, bundleFromJSON } from '@sigstore/bundle';
import {
  type SignedEntity,
  type Signer,
  type TrustMaterial,
  toSignedEntity,
  toTrustMaterial,
  Verifier,
  type VerifierOptions,
} from '@sigstore/verify';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import { parseDigest } from '../oci/digest.js';
import { keyHint, loadPublicKey } from '../keys/keys.js';
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
  const keys = (policy.keys ?? []).map((k) => (typeof k === 'string' ? loadPublicKey(k) : k));
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
    const result = runVerifier(entity, toTrustMaterial(root!), thresholds);
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

/** The artifact's sha256 in hex, from `artifact` and/or `digest` (which must agree). */
function artifactDigest(options: VerifyBundleOptions): string {
  const fromBytes = options.artifact
    ? createHash('sha256').update(options.artifact).digest('hex')
    : undefined;
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
    entity = toSignedEntity(bundle, artifact ? Buffer.from(artifact) : undefined);
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
    return new Verifier(trust, thresholds).verify(entity);
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
      ? toTrustMaterial(root, finder)
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

// ---------------------------------------------------------------------------------------------
// Signature verification over a known digest (message-signature bundles without the artifact):
// node:crypto cannot verify a pre-hashed ECDSA signature, so this does the ECDSA arithmetic
// with bigint (public data only, so constant time does not matter). RSA PKCS#1 v1.5 uses
// publicDecrypt and compares the DigestInfo.

const CURVES: Record<string, { p: bigint; n: bigint }> = {
  prime256v1: {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  secp384r1: {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  secp521r1: {
    p: (1n << 521n) - 1n,
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
};

const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

function verifyPrehashed(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  try {
    if (key.asymmetricKeyType === 'ec') return verifyEcdsaPrehashed(key, digest, signature);
    if (key.asymmetricKeyType === 'rsa') {
      const info = publicDecrypt({ key, padding: cryptoConstants.RSA_PKCS1_PADDING }, signature);
      return info.equals(Buffer.concat([SHA256_DIGEST_INFO, digest]));
    }
  } catch {
    return false;
  }
  return false;
}

type Point = { x: bigint; y: bigint } | null;

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

function add(P: Point, Q: Point, p: bigint): Point {
  if (!P) return Q;
  if (!Q) return P;
  let l: bigint;
  if (P.x === Q.x) {
    if (mod(P.y + Q.y, p) === 0n) return null;
    l = mod((3n * P.x * P.x - 3n) * inverse(2n * P.y, p), p); // a = -3 on the NIST curves
  } else {
    l = mod((Q.y - P.y) * inverse(Q.x - P.x, p), p);
  }
  const x = mod(l * l - P.x - Q.x, p);
  return { x, y: mod(l * (P.x - x) - P.y, p) };
}

function multiply(k: bigint, P: Point, p: bigint): Point {
  let result: Point = null;
  let addend = P;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(result, addend, p);
    addend = add(addend, addend, p);
  }
  return result;
}

function toBigInt(b: Buffer): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${b.toString('hex')}`);
}

function verifyEcdsaPrehashed(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const curveName = key.asymmetricKeyDetails?.namedCurve ?? '';
  const curve = CURVES[curveName];
  if (!curve) return false;
  const { p, n } = curve;
  const rs = parseDerSignature(signature);
  if (!rs) return false;
  const [r, s] = rs;
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  const jwk = key.export({ format: 'jwk' });
  const Q: Point = {
    x: toBigInt(Buffer.from(jwk.x ?? '', 'base64url')),
    y: toBigInt(Buffer.from(jwk.y ?? '', 'base64url')),
  };
  // The generator is the public key of the private scalar 1.
  const bytes = (p.toString(16).length + 1) >> 1;
  const ecdh = createECDH(curveName);
  ecdh.setPrivateKey(Buffer.from(`${'0'.repeat(bytes * 2 - 1)}1`, 'hex'));
  const g = ecdh.getPublicKey();
  const G: Point = { x: toBigInt(g.subarray(1, 1 + bytes)), y: toBigInt(g.subarray(1 + bytes)) };
  let z = toBigInt(digest);
  const excess = digest.length * 8 - n.toString(2).length;
  if (excess > 0) z >>= BigInt(excess);
  const w = inverse(s, n);
  const X = add(multiply(mod(z * w, n), G, p), multiply(mod(r * w, n), Q, p), p);
  return X !== null && mod(X.x, n) === r;
}

/** ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (short DER lengths only beyond 127 for P-521). */
function parseDerSignature(sig: Buffer): [bigint, bigint] | undefined {
  let i = 0;
  const readLen = (): number | undefined => {
    const first = sig[i++];
    if (first === undefined) return undefined;
    if (first < 0x80) return first;
    if (first === 0x81) return sig[i++];
    return undefined;
  };
  if (sig[i++] !== 0x30) return undefined;
  const seqLen = readLen();
  if (seqLen === undefined || i + seqLen !== sig.length) return undefined;
  const ints: bigint[] = [];
  for (let k = 0; k < 2; k++) {
    if (sig[i++] !== 0x02) return undefined;
    const len = readLen();
    if (len === undefined || len === 0 || i + len > sig.length) return undefined;
    ints.push(toBigInt(sig.subarray(i, i + len)));
    i += len;
  }
  return i === sig.length ? [ints[0]!, ints[1]!] : undefined;
}
