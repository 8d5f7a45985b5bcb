/**
 * chartproof/verify: verification of cosign signatures.
 *
 * Today: cosign's legacy key-based signatures (`sha256-<hex>.sig` tag,
 * simple-signing payloads) read from a registry with
 * {@link verifyLegacySignatures}, the pure check
 * {@link verifySimpleSigningSignature}, and containers/image (skopeo) `dir:`
 * signature files ({@link readContainersImageSignature}). Transparency-log proofs
 * are reported as not checked. It also re-exports the error types.
 * @packageDocumentation
 */
export type { ChartproofErrorOptions, ErrorCode } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';
export type { ParseSimpleSigningOptions, SimpleSigningPayload } from '../sign/simplesigning.js';
export { MAX_SIGNATURE_LAYERS, parseSimpleSigningPayload } from '../sign/simplesigning.js';
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
