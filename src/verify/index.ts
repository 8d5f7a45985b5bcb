/**
 * chartproof/verify: verification of cosign signatures and attestations.
 *
 * {@link verifyChart} is the entry point: it resolves a chart reference to its digest
 * once, tries Sigstore bundles attached as referrers, then legacy signatures, applies
 * a {@link VerificationPolicy} and returns the digest-pinned reference to install.
 * {@link verifyImages} does the same for each container image a chart runs.
 * Verification never loads signing code (`@sigstore/sign` is not imported).
 *
 * Why each group is public:
 * - the policy and result types: what a caller passes and branches on (and
 *   {@link MAX_IMAGES_PER_CHART}, the bound on what {@link verifyImages} accepts);
 * - trusted roots: keyless verification needs one, from a file or from TUF;
 * - per-format verifiers ({@link verifySigstoreBundle}, {@link verifyLegacySignatures},
 *   {@link verifyLegacyKeylessSignatures}) and their pure one-layer checks: for tools
 *   that hold signatures outside a registry (air-gapped copies, skopeo `dir:` layouts);
 * - discovery and parsing ({@link findBundles}, {@link findLegacyAttestations},
 *   `parse*`): reading what is attached before deciding what to verify; nothing they
 *   return is trusted;
 * - the error classes, so callers can branch on them.
 * Building blocks of these (certificate-chain arithmetic, policy evaluation helpers)
 * stay internal.
 * @packageDocumentation
 */
export type { ChartproofErrorOptions, ErrorCode, ErrorSource } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';

// The policy and the result of verifying a chart.
export type {
  ChartSignatureSource,
  ChartVerification,
  SignatureCheck,
  SignatureFormat,
  VerifyChartOptions,
} from './chart.js';
export { ChartVerificationError, verifyChart } from './chart.js';
export type {
  CertificateIdentity,
  Check,
  CheckList,
  TlogMode,
  TrustedRootJson,
  VerificationPolicy,
} from './policy.js';
export { CHECKS } from './policy.js';

// The images a chart runs, each verified like a chart.
export type {
  ImageFailureKind,
  ImageVerification,
  VerifyImagesOptions,
  VerifyImagesResult,
} from './images.js';
export { MAX_IMAGES_PER_CHART, verifyImages } from './images.js';

// Trusted roots (Fulcio, Rekor, CT logs, TSAs).
export type { FetchTrustedRootOptions } from './trusted-root.js';
export { fetchTrustedRoot, loadTrustedRoot, parseTrustedRoot } from './trusted-root.js';

// Sigstore bundles (cosign v3's default format): discovery, parsing, verification.
export type {
  BundleSource,
  FindBundlesOptions,
  FindBundlesResult,
  FoundBundle,
  SkippedReferrer,
} from '../cosign/referrers.js';
export { findBundles } from '../cosign/referrers.js';
export { MAX_BUNDLE_BYTES, parseSigstoreBundle } from '../cosign/bundle.js';
export type { SigstoreBundleJson } from '../cosign/dsse.js';
export type { BundleSigner, BundleTimestamp, BundleVerification, VerifyBundleOptions } from './bundle.js';
export { verifySigstoreBundle } from './bundle.js';

// Legacy `sha256-<hex>.sig` signatures (simple signing), key-based and keyless.
export type { ParseSimpleSigningOptions, SimpleSigningPayload } from '../cosign/simplesigning.js';
export { parseSimpleSigningPayload } from '../cosign/simplesigning.js';
export type {
  ContainersImageSignature,
  LegacyLayerResult,
  LegacySignatureSource,
  LegacyVerifyResult,
  SimpleSigningSignatureInput,
  SimpleSigningSignatureResult,
  VerifyLegacyOptions,
} from './legacy.js';
export {
  LegacyVerificationError,
  MAX_PAYLOAD_BYTES,
  readContainersImageSignature,
  verifyLegacySignatures,
  verifySimpleSigningSignature,
} from './legacy.js';
export type {
  LegacyCertificateSigner,
  LegacyKeylessCheck,
  LegacyKeylessLayerInput,
  LegacyKeylessLayerResult,
  LegacyKeylessTrust,
  LegacyKeylessVerifyResult,
  LegacySignatureTime,
  VerifyLegacyKeylessOptions,
} from './legacy-keyless.js';
export { verifyLegacyKeylessLayer, verifyLegacyKeylessSignatures } from './legacy-keyless.js';
export type { CertificateAuthority, CtLogKey } from './certificate.js';
export {
  CertificateError,
  certificateAuthoritiesFromTrustedRoot,
  ctLogKeysFromTrustedRoot,
} from './certificate.js';
export type { RekorEntryEvidence, RekorLogKey } from './rekor.js';
export { RekorEvidenceError, rekorKeysFromTrustedRoot, verifyRekorBundleAnnotation } from './rekor.js';

// Attestations (in-toto statements in bundles or legacy `sha256-<hex>.att` layers).
export type {
  AttestationVerification,
  RejectedAttestation,
  VerifiedAttestation,
  VerifyAttestationsOptions,
} from './attestation.js';
export { AttestationVerificationError, verifyChartAttestations } from './attestation.js';
export type {
  AttestationSource,
  FindLegacyAttestationsOptions,
  FindLegacyAttestationsResult,
  LegacyAttestationInput,
  LegacyAttestationLayer,
} from './legacy-attestation.js';
export { findLegacyAttestations, verifyLegacyAttestationLayer } from './legacy-attestation.js';
export type { InTotoStatement, InTotoSubject } from '../cosign/statement.js';
export { parseInTotoStatement, statementHasSubject } from '../cosign/statement.js';
export type { DsseEnvelopeJson } from '../cosign/dsse.js';
export { parseDsseEnvelope } from '../cosign/dsse.js';
