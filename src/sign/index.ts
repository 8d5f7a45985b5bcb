/**
 * chartproof/sign: cosign-compatible signing. Generates, imports, encrypts and
 * decrypts cosign key files (`cosign.key` / `cosign.pub`), and signs with them or with
 * any other {@link Signer} (KMS, HSM); writes cosign legacy `sha256-<hex>.sig`
 * signatures ({@link signLegacy}), Sigstore bundle referrers ({@link signBundle},
 * {@link signBundleKeyless}), and in-toto attestations in both formats
 * ({@link (attestChart:1)}: bundle referrers or legacy `sha256-<hex>.att` layers).
 * See docs/signing.md.
 *
 * Why each group is public:
 * - key files and the {@link Signer} role: callers bring their own keys, KMS or HSM;
 * - the signing calls and their results (digests, pinned references) per format;
 * - the builders that produce exactly what is signed ({@link simpleSigningPayload},
 *   {@link inTotoStatement}, {@link createDsseBundle}, {@link buildBundleReferrer}):
 *   for signing outside a registry and for reproducing cosign's bytes in tests;
 * - predicate types and cosign's `--type` shorthands, so attestations name them as
 *   cosign does;
 * - the error types.
 * Reading and checking signatures is `chartproof/verify`'s job; this entry point
 * exports no parser or verifier.
 * @packageDocumentation
 */
export type { ChartproofErrorOptions, ErrorCode, ErrorSource } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';

// Key files and signers.
export type {
  EncryptPrivateKeyOptions,
  GenerateKeyPairOptions,
  KeyAlgorithm,
  KeyOptions,
  KeyPairPaths,
  KeyPairPem,
  KeyPassword,
  KeyPemType,
  ScryptN,
  WriteKeyPairOptions,
} from '../keys/keys.js';
export {
  decryptPrivateKey,
  encryptPrivateKey,
  generateKeyPair,
  importKeyPair,
  keyFileSigner,
  keyHint,
  keyObjectSigner,
  loadPublicKey,
  passwordFromEnv,
  publicKeyPem,
  writeKeyPair,
} from '../keys/keys.js';
export type { SignOptions, Signer } from '../keys/signer.js';

// What the signing functions write to: the roles of `chartproof/oci` they use
// (a registry `Repository`, a `MemoryStore`, …).
export type { BundleTarget, SignatureTarget } from './target.js';

// Legacy `sha256-<hex>.sig` signatures (simple signing).
export type { SimpleSigningPayload } from '../cosign/simplesigning.js';
export { cosignSignatureTag, simpleSigningPayload } from '../cosign/simplesigning.js';
export type { SignLegacyOptions, SignLegacyResult } from './legacy.js';
export { signLegacy } from './legacy.js';

// Sigstore bundles stored as OCI referrers, with a key.
export type { SigstoreBundleJson } from '../cosign/dsse.js';
export type { CreateDsseBundleOptions, Witness } from './bundle.js';
export { createDsseBundle, SIGSTORE_BUNDLE_V03_MEDIA_TYPE } from './bundle.js';
export type {
  AttachBundleOptions,
  AttachBundleResult,
  BundleReferrer,
  BundleReferrerOptions,
  SignBundleOptions,
  SignBundleResult,
} from './referrer.js';
export { attachBundle, buildBundleReferrer, signBundle } from './referrer.js';

// Keyless (Fulcio certificate + Rekor entry).
export type {
  CertificateIdentityInfo,
  IdentityTokenSource,
  KeylessBundle,
  KeylessOptions,
  SignBundleKeylessOptions,
  SignBundleKeylessResult,
} from './keyless.js';
export {
  createKeylessDsseBundle,
  DEFAULT_FULCIO_URL,
  DEFAULT_REKOR_URL,
  identityTokenFromEnv,
  SIGSTORE_ID_TOKEN_ENV,
  signBundleKeyless,
} from './keyless.js';

// in-toto statements and attestations.
export type { InTotoStatement, InTotoSubject } from '../cosign/statement.js';
export {
  COSIGN_SIGN_PREDICATE_TYPE,
  cosignSignStatement,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_V01,
  IN_TOTO_STATEMENT_V1,
  inTotoStatement,
} from '../cosign/statement.js';
export {
  COSIGN_CUSTOM_PREDICATE_TYPE,
  COSIGN_VULN_PREDICATE_TYPE,
  CYCLONEDX_PREDICATE_TYPE,
  IN_TOTO_LINK_PREDICATE_TYPE,
  OPENVEX_PREDICATE_TYPE,
  PREDICATE_TYPE_SHORTHANDS,
  resolvePredicateType,
  SLSA_PROVENANCE_V02_PREDICATE_TYPE,
  SLSA_PROVENANCE_V1_PREDICATE_TYPE,
  SPDX_PREDICATE_TYPE,
} from '../cosign/predicates.js';
export type {
  AttestationFormat,
  AttestChartLegacyResult,
  AttestChartOptions,
  AttestChartResult,
  CosignCustomPredicate,
} from './attest.js';
export { attestChart, cosignCustomPredicate } from './attest.js';
export type { DsseEnvelopeJson } from '../cosign/dsse.js';
export { cosignAttestationTag, DSSE_ENVELOPE_MEDIA_TYPE, encodeDsseEnvelope } from '../cosign/dsse.js';
export type {
  AttachLegacyAttestationOptions,
  AttachLegacyAttestationResult,
  CreateDsseEnvelopeOptions,
} from './legacy-attest.js';
export { attachLegacyAttestation, createDsseEnvelope } from './legacy-attest.js';
