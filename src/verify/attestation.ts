/**
 * Verification of in-toto attestations attached to a chart as Sigstore bundle
 * referrers (`cosign attest`, v3 default format), the way `cosign verify-attestation
 * --type T` does: every DSSE bundle referrer is a candidate, the predicate type that
 * counts is the one in the SIGNED statement (the manifest annotation is not trusted),
 * and each candidate must verify against the policy and name the chart's digest.
 *
 * References: cosign `cmd/cosign/cli/verify/verify_attestation.go`,
 * `pkg/policy/attestation.go` (`AttestationToPayloadJSON`), `pkg/cosign/verify.go`
 * (`GetBundles`, `IntotoSubjectClaimVerifier`).
 */
import { parseChartReference } from '../chart/oci.js';
import { ChartproofError } from '../errors.js';
import type { RegistryClient } from '../oci/client.js';
import type { Digest } from '../oci/digest.js';
import { resolvePredicateType } from '../sign/attest.js';
import { findBundles } from '../sign/referrer.js';
import { COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, parseInTotoStatement } from '../sign/statement.js';
import { type BundleSigner, verifySigstoreBundle } from './bundle.js';
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
  /** Most referrers examined. If unset, 256 (see `findBundles`). */
  maxReferrers?: number;
  signal?: AbortSignal;
}

/** An attestation that verified. @public */
export interface VerifiedAttestation {
  /** The predicate type of the signed statement. */
  predicateType: string;
  /** The signed predicate; `null` when the statement has none. */
  predicate: Record<string, unknown> | null;
  /** Who signed it. */
  signer: BundleSigner;
  /** cosign's check sentences for it. */
  checks: CheckList;
  /** Digest of the referrer manifest holding the bundle. */
  manifestDigest: Digest;
  /** Whether transparency-log evidence was verified for it. */
  tlog: 'verified' | 'not-checked';
}

/** A candidate attestation that did not verify, and why. @public */
export interface RejectedAttestation {
  /** Digest of the referrer manifest holding the bundle. */
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
  /** The predicate type URI asked for (shorthands resolved); absent when any type was accepted. */
  predicateType?: string;
  /** The verified attestations (at least the policy threshold). */
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

/**
 * Verifies the in-toto attestations of a chart in its registry, like
 * `cosign verify-attestation --type T` (v3, bundle referrers): the reference is
 * resolved to a digest once; the Sigstore bundle referrers of that digest are read;
 * DSSE bundles whose signed in-toto statement has the wanted predicate type are
 * verified with `verifySigstoreBundle` (signature, key or certificate identity,
 * transparency log per `policy.tlog`, a statement subject with the chart's sha256,
 * `policy.annotations`). At least `policy.threshold` (default 1) must verify.
 *
 * The `dev.sigstore.bundle.predicateType` manifest annotation is never trusted: a
 * referrer annotated as SLSA provenance whose statement is an SPDX document is an SPDX
 * attestation. Legacy `sha256-<hex>.att` attestations are not read.
 *
 * @throws {@link AttestationVerificationError} `SIGNATURE_NOT_FOUND` /
 *   `SIGNATURE_INVALID`; ChartproofError `INVALID_REFERENCE`, `INVALID_ARGUMENT`
 *   (policy, predicate type), registry errors
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
  const wanted =
    options.predicateType === undefined ? undefined : resolvePredicateType(options.predicateType);
  const matches = (type: string) =>
    wanted === undefined ? type !== COSIGN_SIGN_PREDICATE_TYPE : type === wanted;

  const parsed = parseChartReference(reference);
  const repo = client.repository(parsed);
  const digest = parsed.digest ?? (await repo.resolve(parsed.tag ?? 'latest', { signal })).digest;
  const pinned = repo.pinned(digest);
  const found = await findBundles(repo, digest, {
    ...(options.maxReferrers !== undefined ? { maxReferrers: options.maxReferrers } : {}),
    ...(signal ? { signal } : {}),
  });

  const attestations: VerifiedAttestation[] = [];
  const rejected: RejectedAttestation[] = [];
  const seen: string[] = [];
  let candidates = 0;
  for (const b of found.bundles) {
    signal?.throwIfAborted();
    const env = b.bundle.dsseEnvelope;
    // Message-signature bundles sign a digest, not a statement: not attestations.
    if (!env || env.payloadType !== IN_TOTO_PAYLOAD_TYPE) continue;
    // Select on the statement inside the envelope; the signature over exactly these
    // bytes is checked below, and the verified statement is checked again.
    let claimed: string;
    try {
      claimed = parseInTotoStatement(new Uint8Array(Buffer.from(env.payload, 'base64'))).predicateType;
    } catch (e) {
      rejected.push({
        manifestDigest: b.manifestDigest,
        reason: `unreadable statement: ${(e as Error).message}`,
      });
      continue;
    }
    if (!seen.includes(claimed)) seen.push(claimed);
    if (!matches(claimed)) continue;
    candidates++;
    try {
      const v = verifySigstoreBundle(b.bundle, { digest, policy });
      const statement = v.statement;
      if (!statement || !matches(statement.predicateType))
        throw new ChartproofError(
          'SIGNATURE_INVALID',
          'the verified statement does not have the wanted predicate type',
        );
      attestations.push({
        predicateType: statement.predicateType,
        predicate: statement.predicate ?? null,
        signer: v.signer,
        checks: v.checks,
        manifestDigest: b.manifestDigest,
        tlog: v.tlogEntries > 0 ? 'verified' : 'not-checked',
      });
    } catch (e) {
      if (!(e instanceof ChartproofError) || (e.code !== 'SIGNATURE_INVALID' && e.code !== 'KEY_INVALID'))
        throw e;
      rejected.push({ manifestDigest: b.manifestDigest, predicateType: claimed, reason: e.message });
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
  if (attestations.length < threshold) {
    const reasons = rejected.map((r) => `${r.manifestDigest}: ${r.reason}`).join('; ');
    throw new AttestationVerificationError(
      'SIGNATURE_INVALID',
      attestations.length > 0
        ? `${pinned}: ${attestations.length} of the ${what} verified, the policy requires ${threshold}; ${reasons}`
        : `no ${what} verified for ${pinned}: ${reasons}`,
      details,
    );
  }
  const checks: CheckList = [];
  for (const a of attestations) for (const c of a.checks) if (!checks.includes(c)) checks.push(c);
  const result: AttestationVerification = { reference, digest, pinned, attestations, rejected, checks };
  if (wanted !== undefined) result.predicateType = wanted;
  return result;
}
