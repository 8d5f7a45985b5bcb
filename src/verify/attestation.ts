/**
 * Verification of in-toto attestations attached to a chart, the way `cosign
 * verify-attestation --type T` does: Sigstore bundle referrers (`cosign attest`, v3
 * default format) first, then cosign's legacy `sha256-<hex>.att` layers (cosign v2,
 * `--new-bundle-format=false`). Every DSSE envelope is a candidate, the predicate type
 * that counts is the one in the SIGNED statement (manifest and layer annotations are not
 * trusted), and each candidate must verify against the policy and name the chart's digest.
 *
 * References: cosign `cmd/cosign/cli/verify/verify_attestation.go`,
 * `pkg/policy/attestation.go` (`AttestationToPayloadJSON`), `pkg/cosign/verify.go`
 * (`GetBundles`, `IntotoSubjectClaimVerifier`).
 */
import { parseChartReference } from '../chart/oci.js';
import { ChartproofError } from '../errors.js';
import type { RegistryClient } from '../oci/client.js';
import type { Digest } from '../oci/digest.js';
import type { BundleSource } from '../cosign/referrers.js';
import { resolvePredicateType } from '../cosign/predicates.js';
import { decodeDsseBase64 } from '../cosign/dsse.js';
import { findBundles } from '../cosign/referrers.js';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  parseInTotoStatement,
} from '../cosign/statement.js';
import { sha256Hex } from '../internal/hash.js';
import { COSIGN_CERTIFICATE_ANNOTATION } from '../cosign/simplesigning.js';
import {
  type BundleSigner,
  type BundleVerification,
  bundleCertificate,
  signerId,
  verifySigstoreBundle,
} from './bundle.js';
import { parsePemCertificates } from './certificate.js';
import type { SignatureFormat } from './chart.js';
import {
  type AttestationSource,
  findLegacyAttestations,
  verifyLegacyAttestationLayer,
} from './legacy-attestation.js';
import { type CheckList, policyThreshold, policyTlogMode, type VerificationPolicy } from './policy.js';

/** Options of {@link verifyChartAttestations}. @public */
export interface VerifyAttestationsOptions {
  policy: VerificationPolicy;
  /**
   * The predicate type wanted: a URI or a cosign `--type` shorthand (`slsaprovenance1`,
   * `spdx`, `custom`, …). If unset, every attestation is returned, except cosign
   * signature statements (`https://sigstore.dev/cosign/sign/v1`), which are signatures.
   */
  predicateType?: string;
  /**
   * Formats to try, in order; the first whose verified attestations reach the threshold
   * wins. If unset, `['bundle', 'legacy']` (cosign v3's order: referrers, then the
   * `sha256-<hex>.att` tag).
   */
  formats?: SignatureFormat[];
  /** Most referrers examined. If unset, 256 (see `findBundles`). */
  maxReferrers?: number;
  /** Largest legacy envelope read per layer. If unset, 128 MiB (see `findLegacyAttestations`). */
  maxPayloadBytes?: number;
  signal?: AbortSignal;
}

/** An attestation that verified. @public */
export interface VerifiedAttestation {
  /** `bundle`: a Sigstore bundle referrer; `legacy`: a layer of the `sha256-<hex>.att` manifest. */
  format: SignatureFormat;
  /** Where it is: the referrer manifest digest, or `<att tag> layer <n>`. */
  source: string;
  /** The predicate type of the signed statement. */
  predicateType: string;
  /** The signed predicate; `null` when the statement has none. */
  predicate: Record<string, unknown> | null;
  /** Who signed it. */
  signer: BundleSigner;
  /** cosign's check sentences for it. */
  checks: CheckList;
  /** Digest of the manifest holding it (the referrer, or the `.att` manifest). */
  manifestDigest: Digest;
  /** Whether transparency-log evidence was verified for it. */
  tlog: 'verified' | 'not-checked';
}

/** A candidate attestation that did not verify, and why. @public */
export interface RejectedAttestation {
  /** `bundle`: a Sigstore bundle referrer; `legacy`: a layer of the `sha256-<hex>.att` manifest. */
  format: SignatureFormat;
  /** Where it is: the referrer manifest digest, or `<att tag> layer <n>`. */
  source: string;
  /** Digest of the manifest holding it (the referrer, or the `.att` manifest). */
  manifestDigest: Digest;
  /** The (unverified) predicate type of its statement, when readable. */
  predicateType?: string;
  reason: string;
}

/** Outcome of {@link verifyChartAttestations}. @public */
export interface AttestationVerification {
  /** The reference as given. */
  reference: string;
  /** The manifest digest every check was made against. */
  digest: Digest;
  /** `registry/repository@sha256:…`: install this, not the tag. */
  pinned: string;
  /** The format whose attestations satisfied the policy. */
  format: SignatureFormat;
  /** The predicate type URI asked for (shorthands resolved); absent when any type was accepted. */
  predicateType?: string;
  /** The verified attestations of {@link AttestationVerification.format} (at least the policy threshold). */
  attestations: VerifiedAttestation[];
  /** Attestations of the wanted type that did not verify, and unreadable statements. */
  rejected: RejectedAttestation[];
  /** cosign's check sentences over all verified attestations. */
  checks: CheckList;
}

/**
 * No attestation satisfied the policy. Code `SIGNATURE_NOT_FOUND` when no attestation
 * of the wanted type exists (`found` lists the predicate types seen), else
 * `SIGNATURE_INVALID`; `rejected` says why each candidate failed.
 * @public
 */
export class AttestationVerificationError extends ChartproofError {
  readonly digest: Digest;
  readonly pinned: string;
  readonly rejected: RejectedAttestation[];
  /** Predicate types of the statements seen (unverified). */
  readonly found: string[];
  constructor(
    code: 'SIGNATURE_NOT_FOUND' | 'SIGNATURE_INVALID',
    message: string,
    details: { digest: Digest; pinned: string; rejected: RejectedAttestation[]; found: string[] },
  ) {
    super(code, message);
    this.digest = details.digest;
    this.pinned = details.pinned;
    this.rejected = details.rejected;
    this.found = details.found;
  }
}

/** What one format yielded. */
interface Tally {
  attestations: VerifiedAttestation[];
  rejected: RejectedAttestation[];
  seen: string[];
  candidates: number;
  /** Signer and statement of each verified attestation → where it is (copies count once). */
  verified: Map<string, string>;
}

interface Where {
  format: SignatureFormat;
  source: string;
  manifestDigest: Digest;
}

/**
 * Selects on the statement inside the envelope, then verifies it: the signature over
 * exactly these bytes is checked by `verify`, and the verified statement's type is
 * checked again.
 */
function consider(
  tally: Tally,
  where: Where,
  payloadB64: string,
  matches: (type: string) => boolean,
  verify: () => BundleVerification,
  certificate: Uint8Array | undefined,
): void {
  let claimed: string;
  let payload: Uint8Array;
  try {
    payload = decodeDsseBase64(payloadB64);
    claimed = parseInTotoStatement(payload).predicateType;
  } catch (e) {
    tally.rejected.push({ ...where, reason: `unreadable statement: ${(e as Error).message}` });
    return;
  }
  if (!tally.seen.includes(claimed)) tally.seen.push(claimed);
  if (!matches(claimed)) return;
  tally.candidates++;
  try {
    const v = verify();
    const statement = v.statement;
    if (!statement || !matches(statement.predicateType))
      throw new ChartproofError(
        'SIGNATURE_INVALID',
        'the verified statement does not have the wanted predicate type',
      );
    // A copy (another referrer, a repeated layer, an ECDSA signature rewritten as
    // (r, n-s)) needs no key: the same signer over the same statement counts once.
    const id = `${signerId(v.signer, certificate)} ${sha256Hex(payload)}`;
    const first = tally.verified.get(id);
    if (first !== undefined)
      throw new ChartproofError('SIGNATURE_INVALID', `a copy of the attestation in ${first}`);
    tally.verified.set(id, where.source);
    tally.attestations.push({
      ...where,
      predicateType: statement.predicateType,
      predicate: statement.predicate ?? null,
      signer: v.signer,
      checks: v.checks,
      tlog: v.tlogEntries > 0 ? 'verified' : 'not-checked',
    });
  } catch (e) {
    if (!(e instanceof ChartproofError) || (e.code !== 'SIGNATURE_INVALID' && e.code !== 'KEY_INVALID'))
      throw e;
    tally.rejected.push({ ...where, predicateType: claimed, reason: e.message });
  }
}

/** The DER of a legacy layer's certificate annotation, when it holds one. */
function legacyCertificate(annotations: Record<string, string>): Uint8Array | undefined {
  try {
    return parsePemCertificates(annotations[COSIGN_CERTIFICATE_ANNOTATION] ?? '')[0]?.raw;
  } catch {
    return undefined;
  }
}

async function bundleAttestations(
  repo: BundleSource,
  digest: Digest,
  options: VerifyAttestationsOptions,
  matches: (type: string) => boolean,
): Promise<Tally> {
  const { policy, signal } = options;
  const tally: Tally = { attestations: [], rejected: [], seen: [], candidates: 0, verified: new Map() };
  const found = await findBundles(repo, digest, {
    ...(options.maxReferrers !== undefined ? { maxReferrers: options.maxReferrers } : {}),
    ...(signal ? { signal } : {}),
  });
  for (const b of found.bundles) {
    signal?.throwIfAborted();
    const env = b.bundle.dsseEnvelope;
    // Message-signature bundles sign a digest, not a statement: not attestations.
    if (!env || env.payloadType !== IN_TOTO_PAYLOAD_TYPE) continue;
    const where: Where = { format: 'bundle', source: b.manifestDigest, manifestDigest: b.manifestDigest };
    consider(
      tally,
      where,
      env.payload,
      matches,
      () => verifySigstoreBundle(b.bundle, { digest, policy }),
      bundleCertificate(b.bundle),
    );
  }
  return tally;
}

async function legacyAttestations(
  repo: AttestationSource,
  digest: Digest,
  options: VerifyAttestationsOptions,
  matches: (type: string) => boolean,
): Promise<Tally> {
  const { policy, signal } = options;
  const tally: Tally = { attestations: [], rejected: [], seen: [], candidates: 0, verified: new Map() };
  const found = await findLegacyAttestations(repo, digest, {
    ...(options.maxPayloadBytes !== undefined ? { maxPayloadBytes: options.maxPayloadBytes } : {}),
    ...(signal ? { signal } : {}),
  });
  if (!found.manifest) return tally;
  for (const layer of found.layers) {
    signal?.throwIfAborted();
    // Other attachments (not DSSE envelopes) are not attestations.
    if (layer.reason?.startsWith('skipped:')) continue;
    const where: Where = {
      format: 'legacy',
      source: `${found.tag} layer ${layer.index}`,
      manifestDigest: found.manifest.digest,
    };
    const envelope = layer.envelope;
    if (!envelope) {
      tally.rejected.push({ ...where, reason: layer.reason ?? 'unreadable envelope' });
      continue;
    }
    // Like bundles: only in-toto statements are attestations.
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) continue;
    consider(
      tally,
      where,
      envelope.payload,
      matches,
      () =>
        verifyLegacyAttestationLayer(
          { envelope: layer.envelopeBytes ?? envelope, annotations: layer.annotations },
          { digest, policy },
        ),
      legacyCertificate(layer.annotations),
    );
  }
  return tally;
}

/**
 * Verifies the in-toto attestations of a chart in its registry, like
 * `cosign verify-attestation --type T`: the reference is resolved to a digest once;
 * the Sigstore bundle referrers of that digest are read first, then (when they do not
 * satisfy the policy) the layers of the legacy `sha256-<hex>.att` manifest. DSSE
 * envelopes whose signed in-toto statement has the wanted predicate type are verified
 * against the policy: signature (key, or certificate identity with chain, SCT and
 * validity), transparency log per `policy.tlog` (bundles: their tlog entries; legacy
 * layers: the `dev.sigstore.cosign/bundle` Rekor `intoto`/`dsse` entry, offline), a
 * statement subject with the chart's sha256 and `policy.annotations`. A format succeeds
 * when at least `policy.threshold` (default 1) of its attestations verify; the result
 * says which.
 *
 * The `dev.sigstore.bundle.predicateType` manifest annotation and the legacy layers'
 * `predicateType` annotation are never trusted: an attestation annotated as SLSA
 * provenance whose statement is an SPDX document is an SPDX attestation.
 *
 * @throws {@link AttestationVerificationError} `SIGNATURE_NOT_FOUND` /
 *   `SIGNATURE_INVALID`; ChartproofError `INVALID_REFERENCE`, `INVALID_ARGUMENT`
 *   (policy, predicate type, formats), `INVALID_MANIFEST` (an `.att` tag that is not
 *   an image manifest), registry errors
 * @public
 */
export async function verifyChartAttestations(
  client: RegistryClient,
  reference: string,
  options: VerifyAttestationsOptions,
): Promise<AttestationVerification> {
  const { policy, signal } = options;
  if (typeof policy !== 'object' || policy === null)
    throw new ChartproofError('INVALID_ARGUMENT', 'a policy is required');
  const threshold = policyThreshold(policy);
  policyTlogMode(policy);
  if ((policy.keys ?? []).length === 0 && (policy.identities ?? []).length === 0)
    throw new ChartproofError('INVALID_ARGUMENT', 'the policy names no keys and no certificate identities');
  const formats = options.formats ?? ['bundle', 'legacy'];
  if (formats.length === 0 || formats.some((f) => f !== 'bundle' && f !== 'legacy'))
    throw new ChartproofError('INVALID_ARGUMENT', 'formats must list bundle and/or legacy');
  const wanted =
    options.predicateType === undefined ? undefined : resolvePredicateType(options.predicateType);
  const matches = (type: string) =>
    wanted === undefined ? type !== COSIGN_SIGN_PREDICATE_TYPE : type === wanted;

  const parsed = parseChartReference(reference);
  const repo = client.repository(parsed);
  const digest = parsed.digest ?? (await repo.resolve(parsed.tag ?? 'latest', { signal })).digest;
  const pinned = repo.pinned(digest);

  const rejected: RejectedAttestation[] = [];
  const seen: string[] = [];
  let candidates = 0;
  let verified = 0;
  for (const format of formats) {
    const tally =
      format === 'bundle'
        ? await bundleAttestations(repo, digest, options, matches)
        : await legacyAttestations(repo, digest, options, matches);
    rejected.push(...tally.rejected);
    for (const t of tally.seen) if (!seen.includes(t)) seen.push(t);
    candidates += tally.candidates;
    verified += tally.attestations.length;
    if (tally.attestations.length >= threshold) {
      const checks: CheckList = [];
      for (const a of tally.attestations) for (const c of a.checks) if (!checks.includes(c)) checks.push(c);
      const result: AttestationVerification = {
        reference,
        digest,
        pinned,
        format,
        attestations: tally.attestations,
        rejected,
        checks,
      };
      if (wanted !== undefined) result.predicateType = wanted;
      return result;
    }
  }

  const what = wanted === undefined ? 'attestations' : `attestations of type ${wanted}`;
  const details = { digest, pinned, rejected, found: seen };
  if (candidates === 0) {
    const others = seen.length > 0 ? `; found: ${seen.join(', ')}` : '';
    throw new AttestationVerificationError(
      'SIGNATURE_NOT_FOUND',
      `no ${what} found for ${pinned}${others}`,
      details,
    );
  }
  const reasons = rejected.map((r) => `${r.format} ${r.source}: ${r.reason}`).join('; ');
  throw new AttestationVerificationError(
    'SIGNATURE_INVALID',
    verified > 0
      ? `${pinned}: ${verified} of the ${what} verified, the policy requires ${threshold} of one format; ${reasons}`
      : `no ${what} verified for ${pinned}: ${reasons}`,
    details,
  );
}
