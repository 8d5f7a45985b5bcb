/**
 * chartproof/sign: cosign-compatible signing. Generates, imports, encrypts and
 * decrypts cosign key files (`cosign.key` / `cosign.pub`), and signs with them or with
 * any other {@link Signer} (KMS, HSM); writes cosign legacy `sha256-<hex>.sig`
 * signatures ({@link signLegacy}). See docs/signing.md. It also re-exports the
 * error types.
 * @packageDocumentation
 */
export type { ChartproofErrorOptions, ErrorCode } from '../errors.js';
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
