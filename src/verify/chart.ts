/**
 * Verifies the signatures of a chart in an OCI registry, the way `cosign verify` does
 * in v3: Sigstore bundles attached as referrers first, then the legacy
 * `sha256-<hex>.sig` signatures; and hands back the digest-pinned reference that was
 * verified, so that what is installed is what was checked.
 */
import type { KeyObject } from 'node:crypto';
import { parseChartReference } from '../chart/oci.js';
import { ChartproofError, isNotFoundError } from '../errors.js';
import { parseJsonBounded } from '../internal/bounded-parse.js';
import type { RegistryClient } from '../oci/client.js';
import type { Digest } from '../oci/digest.js';
import { formatReference } from '../oci/reference.js';
import type { ReferrerLister } from '../oci/target.js';
import { loadPublicKey } from '../keys/keys.js';
import { findBundles } from '../cosign/referrers.js';
import { COSIGN_SIGN_PREDICATE_TYPE } from '../cosign/statement.js';
import { sha256Hex } from '../internal/hash.js';
import { type BundleSigner, bundleCertificate, signerId, verifySigstoreBundle } from './bundle.js';
import {
  type LegacyLayerResult,
  type LegacySignatureSource,
  LegacyVerificationError,
  type LegacyVerifyResult,
  verifyLegacySignatures,
} from './legacy.js';
import {
  type LegacyKeylessLayerResult,
  type LegacyKeylessVerifyResult,
  verifyLegacyKeylessSignatures,
} from './legacy-keyless.js';
import {
  CHECKS,
  type CheckList,
  policyThreshold,
  policyTlogMode,
  type VerificationPolicy,
} from './policy.js';
import { rekorKeysFromTrustedRoot } from './rekor.js';

/** A signature format chartproof reads. @public */
export type SignatureFormat = 'bundle' | 'legacy';

/**
 * A store holding a chart and its signatures, for {@link verifyChart} without a
 * registry (the air-gap import's quarantine `MemoryStore`, for one): it fetches and
 * resolves content, lists referrers (bundles) and holds the `sha256-<hex>.sig` tag.
 * @public
 */
export type ChartSignatureSource = LegacySignatureSource & ReferrerLister;

function isRegistryClient(source: RegistryClient | ChartSignatureSource): source is RegistryClient {
  return typeof (source as Partial<RegistryClient>).repository === 'function';
}

/** Options of {@link verifyChart}. @public */
export interface VerifyChartOptions {
  policy: VerificationPolicy;
  /** Formats to try, in order. If unset, `['bundle', 'legacy']` (cosign v3's order). */
  formats?: SignatureFormat[];
  signal?: AbortSignal;
}

/** One signature found for the chart, and what became of it. @public */
export interface SignatureCheck {
  format: SignatureFormat;
  /** Bundle: the referrer manifest digest; legacy: `<sig tag> layer <n>`. */
  source: string;
  verified: boolean;
  /** Why it did not verify. */
  reason?: string;
  /** Who signed it (verified signatures). */
  signer?: BundleSigner | { kind: 'key'; keyIndex: number };
  /** cosign's check sentences for this signature (verified signatures). */
  checks?: CheckList;
  /** Whether transparency-log evidence was verified for it. */
  tlog: 'verified' | 'not-checked';
  /** What `cosign verify` prints for it on stdout (verified signatures). */
  payload?: unknown;
}

/** Outcome of {@link verifyChart}. @public */
export interface ChartVerification {
  /** The reference as given. */
  reference: string;
  /** The manifest digest every check was made against. */
  digest: Digest;
  /** `registry/repository@sha256:…`: install this, not the tag. */
  pinned: string;
  /** The format whose signatures satisfied the policy. */
  format: SignatureFormat;
  /** How many signatures verified (≥ the policy threshold). */
  verified: number;
  /** Every signature looked at, verified or not. */
  signatures: SignatureCheck[];
  /** cosign's check sentences, as `cosign verify` prints them. */
  checks: CheckList;
}

/**
 * No signature satisfied the policy. `signatures` lists what was found and why each
 * failed. Code `SIGNATURE_NOT_FOUND` when nothing was found, else `SIGNATURE_INVALID`.
 * @public
 */
export class ChartVerificationError extends ChartproofError {
  readonly digest: Digest;
  readonly pinned: string;
  readonly signatures: SignatureCheck[];
  constructor(
    code: 'SIGNATURE_NOT_FOUND' | 'SIGNATURE_INVALID',
    message: string,
    found: {
      digest: Digest;
      pinned: string;
      signatures: SignatureCheck[];
    },
  ) {
    super(code, message);
    this.digest = found.digest;
    this.pinned = found.pinned;
    this.signatures = found.signatures;
  }
}

function keysOf(policy: VerificationPolicy): KeyObject[] {
  return (policy.keys ?? []).map((k) => (typeof k === 'string' ? loadPublicKey(k) : k));
}

/** What cosign prints for a verified bundle: a synthesized simple-signing object. */
function bundlePayload(
  reference: string,
  digest: Digest,
  predicateType: string,
  annotations: unknown,
): unknown {
  return {
    critical: {
      identity: { 'docker-reference': reference },
      image: { 'docker-manifest-digest': digest },
      type: predicateType,
    },
    optional: annotations ?? {},
  };
}

async function bundleChecks(
  repo: ChartSignatureSource,
  reference: string,
  digest: Digest,
  options: VerifyChartOptions,
): Promise<SignatureCheck[]> {
  const found = await findBundles(repo, digest, options.signal ? { signal: options.signal } : {});
  const out: SignatureCheck[] = [];
  const seen = new Map<string, string>();
  for (const b of found.bundles) {
    options.signal?.throwIfAborted();
    const check: SignatureCheck = {
      format: 'bundle',
      source: b.manifestDigest,
      verified: false,
      tlog: 'not-checked',
    };
    try {
      const v = verifySigstoreBundle(b.bundle, { digest, policy: options.policy });
      // cosign verify counts any in-toto statement over the digest; an SBOM or provenance
      // attestation is not an approval, so only cosign's signature statement counts here.
      if (v.statement && v.statement.predicateType !== COSIGN_SIGN_PREDICATE_TYPE) {
        check.reason = `an attestation (${v.statement.predicateType}), not a signature`;
        out.push(check);
        continue;
      }
      // A copy of a signature (another referrer, or an ECDSA signature rewritten as
      // (r, n-s)) needs no key: the same signer over the same content counts once.
      const env = b.bundle.dsseEnvelope;
      const id = `${signerId(v.signer, bundleCertificate(b.bundle))} ${env ? sha256Hex(Buffer.from(env.payload, 'base64')) : 'message'}`;
      const first = seen.get(id);
      if (first !== undefined) {
        check.reason = `a copy of the signature in ${first}`;
        out.push(check);
        continue;
      }
      seen.set(id, b.manifestDigest);
      check.verified = true;
      check.signer = v.signer;
      check.checks = v.checks;
      if (v.tlogEntries > 0) check.tlog = 'verified';
      const subject = v.statement?.subject.find((s) => s.digest.sha256 === digest.slice('sha256:'.length));
      check.payload = bundlePayload(
        reference,
        digest,
        v.statement?.predicateType ?? '',
        subject?.annotations,
      );
    } catch (e) {
      if (!(e instanceof ChartproofError)) throw e;
      if (e.code !== 'SIGNATURE_INVALID' && e.code !== 'KEY_INVALID') throw e;
      check.reason = e.message;
    }
    out.push(check);
  }
  return out;
}

/**
 * Legacy layers with a verified layer's signer and payload again (the layer repeated, or
 * its ECDSA signature rewritten as (r, n-s): no key needed) fail as copies, so that one
 * signature counts once against the threshold.
 */
function countOnce<L extends LegacyLayerResult>(layers: L[], idOf: (l: L) => string): L[] {
  const seen = new Map<string, number>();
  return layers.map((l) => {
    if (!l.verified) return l;
    const first = seen.get(idOf(l));
    if (first === undefined) {
      seen.set(idOf(l), l.index);
      return l;
    }
    return {
      ...l,
      verified: false,
      tlog: 'not-checked',
      reason: `a copy of the signature in layer ${first}`,
    };
  });
}

async function legacyChecks(
  repo: ChartSignatureSource,
  digest: Digest,
  options: VerifyChartOptions,
): Promise<SignatureCheck[]> {
  const { policy } = options;
  const keys = keysOf(policy);
  const mode = policyTlogMode(policy);
  let result: LegacyVerifyResult;
  try {
    if (keys.length === 0 && (policy.identities?.length ?? 0) > 0) {
      // Certificate-signed (keyless or PKI) legacy signatures: identities + trusted root.
      if (!policy.trustedRoot)
        throw new ChartproofError('INVALID_ARGUMENT', 'a trusted root is required to verify certificates');
      let keyless: LegacyKeylessVerifyResult;
      try {
        keyless = await verifyLegacyKeylessSignatures(repo, digest, {
          identities: policy.identities ?? [],
          trustedRoot: policy.trustedRoot,
          tlog: mode,
          ...(policy.annotations ? { annotations: policy.annotations } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (e) {
        if (!(e instanceof LegacyVerificationError)) throw e;
        keyless = e.result as LegacyKeylessVerifyResult;
      }
      // The layer results do not keep the certificate: the same identity over the same payload.
      const keylessId = (l: LegacyKeylessLayerResult) =>
        `certificate ${JSON.stringify([l.signer?.subjectAlternativeNames, l.signer?.issuer])} ${l.payloadDigest}`;
      return countOnce(keyless.layers, keylessId)
        .filter((l) => !l.reason?.startsWith('skipped:'))
        .map((l) => {
          const check: SignatureCheck = {
            format: 'legacy',
            source: `${keyless.signatureTag} layer ${l.index}`,
            verified: l.verified,
            tlog: l.tlog,
          };
          if (l.reason) check.reason = l.reason;
          if (l.verified) {
            const signer: BundleSigner = { kind: 'certificate' };
            if (l.signer?.subject !== undefined) signer.subject = l.signer.subject;
            if (l.signer?.issuer !== undefined) signer.issuer = l.signer.issuer;
            check.signer = signer;
            check.checks = [
              CHECKS.claims,
              ...(l.tlog === 'verified' ? [CHECKS.tlogOffline] : []),
              CHECKS.certificate,
              ...(policy.annotations && Object.keys(policy.annotations).length > 0
                ? [CHECKS.annotations]
                : []),
            ];
            if (l.payloadBytes) {
              try {
                check.payload = parseJsonBounded(new TextDecoder().decode(l.payloadBytes), {
                  what: 'payload',
                });
              } catch {
                // verified payloads are JSON; keep the result without it otherwise
              }
            }
          }
          return check;
        });
    }
    if (keys.length === 0) {
      // Neither keys nor certificate identities: nothing to verify legacy signatures with.
      await repo.fetchManifest(`${digest.replace(':', '-')}.sig`, { signal: options.signal });
      return [
        {
          format: 'legacy',
          source: `${digest.replace(':', '-')}.sig`,
          verified: false,
          tlog: 'not-checked',
          reason: 'legacy signatures are verified with keys only; the policy names no key',
        },
      ];
    }
    result = await verifyLegacySignatures(repo, digest, {
      publicKey: keys,
      tlog: mode,
      rekorKeys: policy.trustedRoot ? rekorKeysFromTrustedRoot(policy.trustedRoot) : [],
      ...(policy.annotations ? { annotations: policy.annotations } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (e) {
    if (e instanceof LegacyVerificationError) result = e.result;
    else if (e instanceof ChartproofError && e.code === 'SIGNATURE_NOT_FOUND') return [];
    else if (isNotFoundError(e)) return [];
    else throw e;
  }
  return countOnce(result.layers, (l) => `key ${l.keyIndex} ${l.payloadDigest}`)
    .filter((l) => !l.reason?.startsWith('skipped:'))
    .map((l) => {
      const check: SignatureCheck = {
        format: 'legacy',
        source: `${result.signatureTag} layer ${l.index}`,
        verified: l.verified,
        tlog: l.tlog,
      };
      if (l.reason) check.reason = l.reason;
      if (l.verified) {
        check.signer = { kind: 'key', keyIndex: l.keyIndex ?? 0 };
        check.checks = [
          CHECKS.claims,
          ...(l.tlog === 'verified' ? [CHECKS.tlogOffline] : []),
          CHECKS.publicKey,
          ...(policy.annotations && Object.keys(policy.annotations).length > 0 ? [CHECKS.annotations] : []),
        ];
        if (l.payloadBytes) {
          try {
            check.payload = parseJsonBounded(new TextDecoder().decode(l.payloadBytes), { what: 'payload' });
          } catch {
            // verified payloads are JSON; keep the result without it otherwise
          }
        }
      }
      return check;
    });
}

/**
 * Verifies a chart's signatures in its registry against `policy`, like
 * `cosign verify` (v3): the reference is resolved to a digest once; Sigstore
 * bundles attached as OCI referrers are tried first (referrers API or the
 * `sha256-<hex>` fallback tag), then legacy `sha256-<hex>.sig` signatures. A format
 * succeeds when at least `policy.threshold` (default 1) of its signatures verify.
 * Every check is made against the resolved digest, and the result carries the
 * digest-pinned reference to install. `source` is a `RegistryClient` (the reference
 * names the repository to read), or a {@link ChartSignatureSource} holding the chart
 * and its signatures (the reference then names what is verified, and its tag or
 * digest is looked up in that store).
 *
 * Transparency-log evidence follows `policy.tlog` (default `require`, like cosign;
 * `skip` = `--insecure-ignore-tlog`): bundles are checked by `@sigstore/verify`
 * against `policy.trustedRoot`; legacy signatures through their Rekor bundle
 * annotation, offline. Legacy signatures made with a certificate (keyless Fulcio
 * or PKI) are verified when the policy names identities and no keys.
 *
 * @throws {@link ChartVerificationError} `SIGNATURE_NOT_FOUND` / `SIGNATURE_INVALID`;
 *   `INVALID_REFERENCE`, `INVALID_ARGUMENT` (policy), registry errors
 * @public
 */
export async function verifyChart(
  source: RegistryClient | ChartSignatureSource,
  reference: string,
  options: VerifyChartOptions,
): Promise<ChartVerification> {
  const threshold = policyThreshold(options.policy);
  policyTlogMode(options.policy);
  const parsed = parseChartReference(reference);
  const repo = isRegistryClient(source) ? source.repository(parsed) : source;
  const digest =
    parsed.digest ?? (await repo.resolve(parsed.tag ?? 'latest', { signal: options.signal })).digest;
  const pinned = repo.pinned(digest);
  const typed = formatReference(parsed);
  const signatures: SignatureCheck[] = [];
  for (const format of options.formats ?? ['bundle', 'legacy']) {
    const found =
      format === 'bundle'
        ? await bundleChecks(repo, typed, digest, options)
        : await legacyChecks(repo, digest, options);
    signatures.push(...found);
    const passed = found.filter((s) => s.verified);
    if (passed.length >= threshold) {
      const checks: CheckList = [];
      for (const s of passed) for (const c of s.checks ?? []) if (!checks.includes(c)) checks.push(c);
      return { reference, digest, pinned, format, verified: passed.length, signatures, checks };
    }
  }
  const found = { digest, pinned, signatures };
  if (signatures.length === 0)
    throw new ChartVerificationError('SIGNATURE_NOT_FOUND', `no signatures found for ${pinned}`, found);
  const passed = signatures.filter((s) => s.verified).length;
  const reasons = signatures
    .filter((s) => !s.verified)
    .map((s) => `${s.format} ${s.source}: ${s.reason}`)
    .join('; ');
  throw new ChartVerificationError(
    'SIGNATURE_INVALID',
    passed > 0
      ? `${pinned}: ${passed} signature(s) verified, the policy requires ${threshold} of one format; ${reasons}`
      : `no matching signatures for ${pinned}: ${reasons}`,
    found,
  );
}
