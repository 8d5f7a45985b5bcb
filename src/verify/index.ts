/**
 * chartproof/verify: verification of cosign signatures.
 *
 * {@link verifyChart} is the entry point: it resolves a chart reference to its digest
 * once, tries Sigstore bundles attached as referrers, then legacy signatures, applies
 * a {@link VerificationPolicy} and returns the digest-pinned reference to install.
 *
 * Legacy key-based signatures (`sha256-<hex>.sig` tag, simple-signing payloads):
 * {@link verifyLegacySignatures}, the pure check {@link verifySimpleSigningSignature},
 * containers/image (skopeo) `dir:` signature files
 * ({@link readContainersImageSignature}), and their Rekor evidence checked offline
 * ({@link verifyRekorBundleAnnotation}).
 *
 * Sigstore bundles (cosign v3's default format, key-based and keyless):
 * {@link verifySigstoreBundle} checks a bundle against a {@link VerificationPolicy}
 * (keys or certificate identities, trusted root, transparency-log mode, annotations)
 * through `@sigstore/verify`, including the in-toto subject of DSSE bundles; trusted
 * roots come from a file ({@link loadTrustedRoot}) or, on request, from TUF
 * ({@link fetchTrustedRoot}).
 *
 * Attestations: {@link verifyChartAttestations} (bundle referrers, then legacy
 * `sha256-<hex>.att` layers read by {@link findLegacyAttestations} and checked by
 * {@link verifyLegacyAttestationLayer}).
 *
 * It also re-exports the error types.
 * @packageDocumentation
 */
export type { ChartproofErrorOptions, ErrorCode, ErrorSource } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';
export type { ParseSimpleSigningOptions, SimpleSigningPayload } from '../cosign/simplesigning.js';
export { MAX_SIGNATURE_LAYERS, parseSimpleSigningPayload } from '../cosign/simplesigning.js';
export type {
  ContainersImageSignature,
  LegacyLayerResult,
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
export type { InTotoStatement, InTotoSubject } from '../cosign/statement.js';
export { IN_TOTO_STATEMENT_V01, IN_TOTO_STATEMENT_V1 } from '../cosign/statement.js';
export type { BundleSigner, BundleTimestamp, BundleVerification, VerifyBundleOptions } from './bundle.js';
export { verifySigstoreBundle } from './bundle.js';
export type {
  CertificateIdentity,
  Check,
  CheckList,
  TlogMode,
  TrustedRootJson,
  VerificationPolicy,
} from './policy.js';
export {
  anchoredRegExp,
  assertCertificateIdentity,
  CHECKS,
  DEFAULT_TLOG_MODE,
  identityMismatch,
  meetsThreshold,
  policyThreshold,
  policyTlogMode,
} from './policy.js';
export type { ChartVerification, SignatureCheck, SignatureFormat, VerifyChartOptions } from './chart.js';
export { ChartVerificationError, verifyChart } from './chart.js';
export type { RekorEntryEvidence, RekorLogKey } from './rekor.js';
export {
  RekorEvidenceError,
  rekorKeysFromTrustedRoot,
  rekorLogId,
  verifyRekorBundleAnnotation,
} from './rekor.js';
export type { FetchTrustedRootOptions } from './trusted-root.js';
export { fetchTrustedRoot, loadTrustedRoot, parseTrustedRoot } from './trusted-root.js';
export type {
  AttestationVerification,
  RejectedAttestation,
  VerifiedAttestation,
  VerifyAttestationsOptions,
} from './attestation.js';
export { AttestationVerificationError, verifyChartAttestations } from './attestation.js';
export type { SigstoreBundleJson } from '../cosign/dsse.js';
export type { DsseEnvelopeJson } from '../cosign/dsse.js';
export type {
  FindLegacyAttestationsOptions,
  FindLegacyAttestationsResult,
  LegacyAttestationInput,
  LegacyAttestationLayer,
} from './legacy-attestation.js';
export {
  findLegacyAttestations,
  legacyAttestationBundle,
  verifyLegacyAttestationLayer,
} from './legacy-attestation.js';
export type {
  CertificateAuthority,
  CertificateChainOptions,
  CertificateIdentityClaims,
  CtLogKey,
} from './certificate.js';
export {
  CertificateError,
  certificateAuthoritiesFromTrustedRoot,
  certificateIdentity,
  certificateValidAt,
  ctLogKeysFromTrustedRoot,
  fulcioIssuer,
  parsePemCertificates,
  verifyCertificateChain,
  verifyEmbeddedScts,
} from './certificate.js';
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
