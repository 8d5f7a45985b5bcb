/**
 * Verification of cosign legacy ("attached") signatures made with a certificate:
 * keyless (Fulcio) or `cosign sign --cert` (custom PKI). The simple-signing layer
 * carries the leaf (`dev.sigstore.cosign/certificate`), its chain
 * (`dev.sigstore.cosign/chain`) and usually Rekor evidence (`dev.sigstore.cosign/bundle`).
 *
 * Checks, in cosign's order (`verifyInternal`, `ValidateAndUnpackCert`): the certificate
 * chains to a trusted CA (the trusted root's Fulcio CAs, or caller-supplied PKI roots)
 * at its notBefore; its embedded SCT verifies with a trusted CT log key; its identity
 * (SAN, OIDC issuer) matches the policy; the signature verifies with its key over the
 * payload and the claims hold; the Rekor SET verifies (offline); the RFC 3161 timestamp
 * (`dev.sigstore.cosign/rfc3161timestamp`), when there is one, verifies against the
 * trusted root's timestamp authorities; and the certificate was valid at every verified
 * time (the log's integrated time, the timestamp's signing time).
 *
 * References: sigstore/cosign `pkg/cosign/verify.go`, `pkg/cosign/verify_sct.go`;
 * containers/image `signature/internal/sigstore` (`fulcio` and `pki` trust roots).
 */
import type { X509Certificate } from 'node:crypto';
import { ChartproofError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import type { Fetcher } from '../oci/target.js';
import { verifySignature } from '../keys/keys.js';
import {
  COSIGN_BUNDLE_ANNOTATION,
  COSIGN_CERTIFICATE_ANNOTATION,
  COSIGN_CHAIN_ANNOTATION,
  COSIGN_RFC3161_ANNOTATION,
  COSIGN_SIGNATURE_ANNOTATION,
  decodeStdBase64,
  type SimpleSigningPayload,
} from '../cosign/simplesigning.js';
import {
  type CertificateAuthority,
  CertificateError,
  certificateAuthoritiesFromTrustedRoot,
  certificateIdentity,
  ctLogKeysFromTrustedRoot,
  parsePemCertificates,
  verifyCertificateChain,
  verifyEmbeddedScts,
} from './certificate.js';
import {
  type LegacyLayerResult,
  type LegacySignatureSource,
  type LegacyVerifyResult,
  MAX_PAYLOAD_BYTES,
  readSignatureLayer,
  verifySignatureManifest,
  verifySimpleSigningSignature,
} from './legacy.js';
import { certificateTimes, verifyLegacyTimestamp } from './legacy-timestamp.js';
import {
  assertCertificateIdentity,
  type CertificateIdentity,
  identityMismatch,
  type TlogMode,
  type TrustedRootJson,
} from './policy.js';
import {
  type RekorEntryEvidence,
  RekorEvidenceError,
  type RekorLogKey,
  rekorKeysFromTrustedRoot,
  verifyRekorBundleAnnotation,
} from './rekor.js';

/** What a legacy certificate signature is checked against. @public */
export interface LegacyKeylessTrust {
  /** Trusted certificate identities; any one may match (see `CertificateIdentity`). */
  identities: CertificateIdentity[];
  /**
   * The trust root: Fulcio CAs (`certificateAuthorities`), Rekor keys (`tlogs`), CT log
   * keys (`ctlogs`) and timestamp authorities (`timestampAuthorities`, for RFC 3161
   * timestamps).
   */
  trustedRoot?: TrustedRootJson;
  /**
   * Custom PKI roots (PEM text or certificates), trusted in addition to the trusted
   * root's CAs (cosign `--ca-roots`, containers/image `pki.caRootsPath`).
   */
  roots?: string | readonly X509Certificate[];
  /** Custom PKI intermediates (cosign `--ca-intermediates`). Untrusted: they only complete paths. */
  intermediates?: string | readonly X509Certificate[];
  /**
   * The Rekor bundle annotation: `require` (default, cosign's) fails layers without
   * verified evidence; `if-present` checks it when present; `skip` ignores it
   * (`--insecure-ignore-tlog`). The verified integrated time is the time the certificate
   * must have been valid at.
   */
  tlog?: TlogMode;
  /** Trusted Rekor keys. If unset, the trusted root's `tlogs`. */
  rekorKeys?: readonly RekorLogKey[];
  /**
   * The SCTs embedded in the certificate: `require` (at least one, all verified against
   * the trusted root's `ctlogs`), `if-present`, or `skip` (cosign `--insecure-ignore-sct`).
   * If unset, `require` when a trusted root is given, else `skip` (custom PKI
   * certificates carry no SCT).
   */
  ctlog?: TlogMode;
  /** Required payload annotations (`cosign verify -a k=v`). */
  annotations?: Record<string, string>;
  /**
   * The current time, used only when no verified time exists (tlog skipped or absent and
   * no RFC 3161 timestamp): the certificate must then be valid now, as cosign does. If
   * unset, `new Date()`.
   */
  now?: Date;
}

/** Who signed: the certificate's identity. @public */
export interface LegacyCertificateSigner {
  kind: 'certificate';
  /** The SAN reported (first e-mail or URI). */
  subject?: string;
  /** The Fulcio OIDC issuer extension, when present. */
  issuer?: string;
  /** Every SAN of the certificate. */
  subjectAlternativeNames: string[];
}

/** The time a certificate was checked at. @public */
export interface LegacySignatureTime {
  /**
   * `transparency-log`: the integrated time of a verified Rekor SET;
   * `timestamp-authority`: the signing time of a verified RFC 3161 timestamp;
   * `current-time`: no verified time existed, so the certificate had to be valid now.
   */
  source: 'transparency-log' | 'timestamp-authority' | 'current-time';
  /** ISO 8601 time. */
  time: string;
}

/** Input of {@link verifyLegacyKeylessLayer}. @public */
export interface LegacyKeylessLayerInput {
  /** Exact payload bytes (the layer blob). */
  payload: Uint8Array;
  /** The layer annotations (signature, certificate, chain, bundle, RFC 3161 timestamp). */
  annotations: Record<string, string>;
  /** Digest the payload must claim. */
  subjectDigest: Digest | string;
}

/** Outcome of {@link verifyLegacyKeylessLayer}. @public */
export interface LegacyKeylessCheck {
  verified: boolean;
  /** Why it did not verify (first failed check). */
  reason?: string;
  /** The parsed payload, once the signature verified. */
  payload?: SimpleSigningPayload;
  /** The certificate's identity, once the certificate was read. */
  signer?: LegacyCertificateSigner;
  /** `verified` when the Rekor SET was checked. */
  tlog: 'verified' | 'not-checked';
  tlogEntry?: RekorEntryEvidence;
  /** `verified` when embedded SCTs were checked against trusted CT log keys; never claimed otherwise. */
  sct: 'verified' | 'not-checked';
  /**
   * `verified` when the layer's RFC 3161 timestamp (`dev.sigstore.cosign/rfc3161timestamp`)
   * was checked against the trusted root's timestamp authorities; `not-checked` when the
   * layer has none (a timestamp that is present but does not verify fails the layer).
   */
  tsa: 'verified' | 'not-checked';
  /**
   * The times the certificate's validity was checked at, once it was: each verified time
   * (transparency log, then timestamp authority), or else the current time.
   */
  times?: LegacySignatureTime[];
  /** The first of `times`. */
  time?: LegacySignatureTime;
}

/** Checked inputs, computed once per verification. */
interface ResolvedTrust {
  identities: CertificateIdentity[];
  trustedRoot: TrustedRootJson | undefined;
  authorities: CertificateAuthority[];
  intermediates: X509Certificate[];
  tlog: TlogMode;
  ctlog: TlogMode;
  rekorKeys: readonly RekorLogKey[];
  ctKeys: ReturnType<typeof ctLogKeysFromTrustedRoot>;
  annotations: Record<string, string>;
  now: Date | undefined;
}

const MODES: readonly TlogMode[] = ['require', 'if-present', 'skip'];

function certs(value: string | readonly X509Certificate[] | undefined, what: string): X509Certificate[] {
  if (value === undefined) return [];
  if (typeof value !== 'string') return [...value];
  try {
    return parsePemCertificates(value);
  } catch (e) {
    throw new ChartproofError('INVALID_ARGUMENT', `${what}: ${(e as Error).message}`, { cause: e });
  }
}

function resolveTrust(trust: LegacyKeylessTrust): ResolvedTrust {
  const identities = trust.identities ?? [];
  if (identities.length === 0)
    throw new ChartproofError('INVALID_ARGUMENT', 'at least one certificate identity is required');
  for (const id of identities) assertCertificateIdentity(id);
  const roots = certs(trust.roots, 'roots');
  if (trust.roots !== undefined && roots.length === 0)
    throw new ChartproofError('INVALID_ARGUMENT', 'roots holds no certificate');
  const authorities = [
    ...(trust.trustedRoot ? certificateAuthoritiesFromTrustedRoot(trust.trustedRoot) : []),
    ...roots.map((r) => ({ certificates: [r] })),
  ];
  if (authorities.length === 0)
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      'no trusted certificate authority: give a trusted root with certificateAuthorities or PKI roots',
    );
  const tlog = trust.tlog ?? 'require';
  const ctlog = trust.ctlog ?? (trust.trustedRoot ? 'require' : 'skip');
  for (const m of [tlog, ctlog])
    if (!MODES.includes(m))
      throw new ChartproofError('INVALID_ARGUMENT', `unknown mode ${JSON.stringify(m)}`);
  return {
    identities,
    trustedRoot: trust.trustedRoot,
    authorities,
    intermediates: certs(trust.intermediates, 'intermediates'),
    tlog,
    ctlog,
    rekorKeys: trust.rekorKeys ?? (trust.trustedRoot ? rekorKeysFromTrustedRoot(trust.trustedRoot) : []),
    ctKeys: trust.trustedRoot ? ctLogKeysFromTrustedRoot(trust.trustedRoot) : [],
    annotations: trust.annotations ?? {},
    now: trust.now,
  };
}

/**
 * Checks one legacy simple-signing layer signed with a certificate, without I/O (see
 * the module comment for the order). Failures are reported, not thrown.
 *
 * Time: the certificate must have been valid at every verified time: the integrated
 * time of the verified Rekor SET and the signing time of the RFC 3161 timestamp
 * (`dev.sigstore.cosign/rfc3161timestamp`, over the raw signature bytes, checked with
 * `@sigstore/verify` against the trusted root's timestamp authorities). A timestamp that
 * is present must verify — also with tlog `skip` — or the layer fails (as in cosign).
 * Without any verified time the certificate must be valid at the current time, as
 * cosign does; a short-lived Fulcio certificate then fails.
 * @throws ChartproofError `INVALID_ARGUMENT` for unusable trust options
 * @public
 */
export function verifyLegacyKeylessLayer(
  input: LegacyKeylessLayerInput,
  trust: LegacyKeylessTrust,
): LegacyKeylessCheck {
  return checkLayer(input, resolveTrust(trust));
}

function checkLayer(input: LegacyKeylessLayerInput, trust: ResolvedTrust): LegacyKeylessCheck {
  const out: LegacyKeylessCheck = {
    verified: false,
    tlog: 'not-checked',
    sct: 'not-checked',
    tsa: 'not-checked',
  };
  const fail = (reason: string): LegacyKeylessCheck => Object.assign(out, { reason });
  const { annotations } = input;
  const certPem = annotations[COSIGN_CERTIFICATE_ANNOTATION];
  if (typeof certPem !== 'string' || certPem.trim() === '')
    return fail(`no ${COSIGN_CERTIFICATE_ANNOTATION} annotation: the signature was made with a key`);

  let leaf: X509Certificate;
  let chain: X509Certificate[];
  try {
    const parsed = parsePemCertificates(certPem);
    if (parsed.length !== 1)
      return fail(`the certificate annotation holds ${parsed.length} certificates, not 1`);
    leaf = parsed[0]!;
    chain = parsePemCertificates(annotations[COSIGN_CHAIN_ANNOTATION] ?? '');
  } catch (e) {
    return fail(`certificate: ${(e as Error).message}`);
  }

  let path: X509Certificate[];
  try {
    path = verifyCertificateChain(leaf, {
      authorities: trust.authorities,
      intermediates: [...trust.intermediates, ...chain],
    });
    const identity = certificateIdentity(leaf);
    const signer: LegacyCertificateSigner = {
      kind: 'certificate',
      subjectAlternativeNames: identity.subjectAlternativeNames,
    };
    if (identity.subject !== undefined) signer.subject = identity.subject;
    if (identity.issuer !== undefined) signer.issuer = identity.issuer;
    out.signer = signer;
  } catch (e) {
    if (!(e instanceof CertificateError)) throw e;
    return fail(`certificate: ${e.message}`);
  }

  if (trust.ctlog !== 'skip') {
    try {
      const scts = verifyEmbeddedScts(leaf, path[1]!, trust.ctKeys);
      if (scts.length > 0) out.sct = 'verified';
      else if (trust.ctlog === 'require')
        return fail('certificate: no embedded SCT (CT log proof) to verify');
    } catch (e) {
      if (!(e instanceof CertificateError)) throw e;
      return fail(`certificate: ${e.message}`);
    }
  }

  // cosign matches every SAN and reads a missing issuer as "".
  const signer = out.signer!;
  const sans = signer.subjectAlternativeNames.length > 0 ? signer.subjectAlternativeNames : [undefined];
  const reasons: string[] = [];
  const matched = trust.identities.some((id) =>
    sans.some((san) => {
      const why = identityMismatch(id, { subject: san, issuer: signer.issuer ?? '' });
      if (why) reasons.push(why);
      return why === undefined;
    }),
  );
  if (!matched) return fail(`certificate identity not trusted: ${[...new Set(reasons)].join('; ')}`);

  const sig = annotations[COSIGN_SIGNATURE_ANNOTATION];
  const check = verifySimpleSigningSignature({
    payload: input.payload,
    signatureB64: sig,
    publicKey: leaf.publicKey,
    subjectDigest: input.subjectDigest,
    annotations: trust.annotations,
  });
  if (check.payload) out.payload = check.payload;
  if (!check.verified)
    return fail((check.reason ?? 'not verified').replace('the public key', "the certificate's key"));

  const rawSignature = decodeStdBase64(sig as string);
  const bundle = annotations[COSIGN_BUNDLE_ANNOTATION];
  if (trust.tlog !== 'skip') {
    if (typeof bundle === 'string') {
      try {
        out.tlogEntry = verifyRekorBundleAnnotation(
          bundle,
          { payload: input.payload, signature: rawSignature, signerKey: leaf.publicKey },
          trust.rekorKeys,
        );
        out.tlog = 'verified';
      } catch (e) {
        if (!(e instanceof RekorEvidenceError)) throw e;
        return fail(`transparency log: ${e.message}`);
      }
    } else if (trust.tlog === 'require') {
      return fail(
        `transparency log: the signature has no Rekor bundle annotation (${COSIGN_BUNDLE_ANNOTATION}); certificate validity cannot be established without a verified time`,
      );
    }
  }

  const times: LegacySignatureTime[] = [];
  if (out.tlogEntry) {
    const at = new Date(out.tlogEntry.integratedTime * 1000);
    times.push({ source: 'transparency-log', time: at.toISOString() });
  }
  const timestamp = annotations[COSIGN_RFC3161_ANNOTATION];
  if (timestamp !== undefined) {
    // cosign: a timestamp that is there must verify, whatever the tlog mode.
    if (!trust.trustedRoot)
      return fail(
        `RFC 3161 timestamp: the signature carries one (${COSIGN_RFC3161_ANNOTATION}), but no trusted root with timestamp authorities was given to verify it`,
      );
    try {
      const at = verifyLegacyTimestamp({
        annotation: timestamp,
        covered: rawSignature,
        trustedRoot: trust.trustedRoot,
        key: leaf.publicKey,
        verifySignature: (key) => verifySignature(key, input.payload, rawSignature),
      });
      out.tsa = 'verified';
      times.push({ source: 'timestamp-authority', time: at.toISOString() });
    } catch (e) {
      if (!(e instanceof ChartproofError)) throw e;
      return fail(e.message);
    }
  }
  const checked = certificateTimes(leaf, times, trust.now);
  out.times = checked.times;
  out.time = checked.times[0]!;
  if (checked.reason !== undefined) return fail(checked.reason);
  out.verified = true;
  return out;
}

/** One layer's outcome: {@link LegacyLayerResult} plus the certificate checks. @public */
export interface LegacyKeylessLayerResult extends LegacyLayerResult {
  signer?: LegacyCertificateSigner;
  sct: 'verified' | 'not-checked';
  /** See {@link LegacyKeylessCheck.tsa}. */
  tsa: 'verified' | 'not-checked';
  /** See {@link LegacyKeylessCheck.times}. */
  times?: LegacySignatureTime[];
  /** The first of `times`. */
  time?: LegacySignatureTime;
}

/** Outcome of {@link verifyLegacyKeylessSignatures}. @public */
export interface LegacyKeylessVerifyResult extends LegacyVerifyResult {
  layers: LegacyKeylessLayerResult[];
}

/** Options of {@link verifyLegacyKeylessSignatures}. @public */
export interface VerifyLegacyKeylessOptions extends LegacyKeylessTrust {
  /** Largest payload read per layer. Default {@link MAX_PAYLOAD_BYTES}. */
  maxPayloadBytes?: number;
  signal?: AbortSignal;
}

// A payload blob that is missing or does not match its descriptor makes that layer
// fail; anything else (auth, network, server errors, abort) is not about the signature.

/**
 * Verifies cosign legacy signatures made with a certificate (keyless Fulcio or custom
 * PKI) of a manifest in `repo`, as `cosign verify --certificate-identity …
 * --certificate-oidc-issuer …` does on the legacy path: GET the `sha256-<hex>.sig`
 * manifest; for each simple-signing layer fetch the payload (size-capped,
 * digest-verified) and check it with {@link verifyLegacyKeylessLayer}. Succeeds when at
 * least one layer verifies. Layers signed with a key fail with a reason.
 *
 * @param subject - digest, tag (resolved with HEAD) or descriptor of the signed manifest.
 * @throws ChartproofError `SIGNATURE_NOT_FOUND` when the tag does not exist;
 *   {@link LegacyVerificationError} (`SIGNATURE_INVALID`, its `result` holds every
 *   layer) when no layer verifies; `INVALID_MANIFEST`; `INVALID_ARGUMENT` for unusable
 *   trust options; registry errors
 * @example
 * ```ts
 * const result = await verifyLegacyKeylessSignatures(repo, 'sha256:…', {
 *   identities: [{ subject: 'dev@example.com', issuer: 'https://github.com/login/oauth' }],
 *   trustedRoot: await loadTrustedRoot('trusted_root.json'),
 * });
 * ```
 * @public
 */
export async function verifyLegacyKeylessSignatures(
  repo: LegacySignatureSource,
  subject: Digest | string | Descriptor,
  options: VerifyLegacyKeylessOptions,
): Promise<LegacyKeylessVerifyResult> {
  const { signal } = options;
  // Trust material is resolved once a signature exists: without one the answer is
  // "no signatures found", whatever the trust configuration.
  let trust: ResolvedTrust | undefined;
  const cap = options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
  if (!Number.isSafeInteger(cap) || cap < 0)
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `maxPayloadBytes must be a non-negative integer, got ${cap}`,
    );
  return verifySignatureManifest(repo, subject, signal, (raw, index, subjectDigest) => {
    trust ??= resolveTrust(options);
    return verifyLayer(repo, raw, index, subjectDigest, trust, cap, signal);
  });
}

async function verifyLayer(
  repo: Fetcher,
  raw: unknown,
  index: number,
  subjectDigest: Digest,
  trust: ResolvedTrust,
  cap: number,
  signal: AbortSignal | undefined,
): Promise<LegacyKeylessLayerResult> {
  const layer = await readSignatureLayer(repo, raw, index, cap, signal);
  const out: LegacyKeylessLayerResult = { ...layer.out, sct: 'not-checked', tsa: 'not-checked' };
  const { annotations, payload } = layer;
  if (payload === undefined) return out;
  const check = checkLayer({ payload, annotations, subjectDigest }, trust);
  out.verified = check.verified;
  out.tlog = check.tlog;
  out.sct = check.sct;
  out.tsa = check.tsa;
  if (check.reason !== undefined) out.reason = check.reason;
  if (check.payload) out.payload = check.payload;
  if (check.signer) out.signer = check.signer;
  if (check.tlogEntry) out.tlogEntry = check.tlogEntry;
  if (check.times) out.times = check.times;
  if (check.time) out.time = check.time;
  if (check.verified) out.payloadBytes = payload;
  return out;
}
