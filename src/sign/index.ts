/**
 * chartproof/sign: cosign-compatible signing. Generates, imports, encrypts and
 * decrypts cosign key files (`cosign.key` / `cosign.pub`), and signs with them or with
 * any other {@link Signer} (KMS, HSM); writes cosign legacy `sha256-<hex>.sig`
 * signatures ({@link signLegacy}), Sigstore bundle referrers, and in-toto attestations
 * in both formats ({@link (attestChart:1)}: bundle referrers or legacy `sha256-<hex>.att`
 * layers). See docs/signing.md. It also re-exports the
 * error types.
 * @packageDocumentation
 */
export type { ChartproofErrorOptions, ErrorCode, ErrorSource } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';
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
} from './keys.js';
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
  verifySignature,
  writeKeyPair,
} from './keys.js';
export type { SignOptions, Signer } from './signer.js';
export type {
  SignatureManifest,
  SignatureManifestOptions,
  SignLegacyOptions,
  SignLegacyResult,
} from './legacy.js';
export { buildSignatureConfig, buildSignatureManifest, signLegacy } from './legacy.js';
export type { ParseSimpleSigningOptions, SimpleSigningPayload } from './simplesigning.js';
export {
  COSIGN_BUNDLE_ANNOTATION,
  COSIGN_CERTIFICATE_ANNOTATION,
  COSIGN_CHAIN_ANNOTATION,
  COSIGN_RFC3161_ANNOTATION,
  COSIGN_SIGNATURE_ANNOTATION,
  COSIGN_SIGNATURE_TYPE,
  cosignDockerReference,
  cosignSignatureTag,
  MAX_SIGNATURE_LAYERS,
  parseSimpleSigningPayload,
  simpleSigningPayload,
} from './simplesigning.js';
export type { CreateDsseBundleOptions, SigstoreBundleJson, Witness } from './bundle.js';
export {
  bundleMediaTypeVersion,
  createDsseBundle,
  dssePae,
  isBundleVersionAtLeast,
  MAX_BUNDLE_BYTES,
  parseSigstoreBundle,
  SIGSTORE_BUNDLE_V03_MEDIA_TYPE,
} from './bundle.js';
export type {
  AttachBundleOptions,
  AttachBundleResult,
  BundleReferrer,
  BundleReferrerOptions,
  FindBundlesOptions,
  FindBundlesResult,
  FoundBundle,
  SignBundleOptions,
  SignBundleResult,
  SkippedReferrer,
} from './referrer.js';
export {
  attachBundle,
  BUNDLE_CONTENT_ANNOTATION,
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  buildBundleReferrer,
  CREATED_ANNOTATION,
  EMPTY_CONFIG,
  findBundles,
  signBundle,
} from './referrer.js';
export type { InTotoStatement, InTotoSubject } from './statement.js';
export {
  COSIGN_SIGN_PREDICATE_TYPE,
  cosignSignStatement,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_V01,
  IN_TOTO_STATEMENT_V1,
  inTotoStatement,
  parseInTotoStatement,
  statementHasSubject,
} from './statement.js';
export type {
  AttestationFormat,
  AttestChartLegacyResult,
  AttestChartOptions,
  AttestChartResult,
  CosignCustomPredicate,
} from './attest.js';
export {
  attestChart,
  COSIGN_CUSTOM_PREDICATE_TYPE,
  COSIGN_VULN_PREDICATE_TYPE,
  CYCLONEDX_PREDICATE_TYPE,
  cosignCustomPredicate,
  IN_TOTO_LINK_PREDICATE_TYPE,
  OPENVEX_PREDICATE_TYPE,
  PREDICATE_TYPE_SHORTHANDS,
  resolvePredicateType,
  SLSA_PROVENANCE_V02_PREDICATE_TYPE,
  SLSA_PROVENANCE_V1_PREDICATE_TYPE,
  SPDX_PREDICATE_TYPE,
} from './attest.js';
export type {
  AttachLegacyAttestationOptions,
  AttachLegacyAttestationResult,
  CreateDsseEnvelopeOptions,
  DsseEnvelopeJson,
} from './legacy-attest.js';
export {
  attachLegacyAttestation,
  cosignAttestationTag,
  createDsseEnvelope,
  DSSE_ENVELOPE_MEDIA_TYPE,
  decodeDsseBase64,
  encodeDsseEnvelope,
  LEGACY_PREDICATE_TYPE_ANNOTATION,
  parseDsseEnvelope,
} from './legacy-attest.js';
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
