/**
 * chartproof: supply-chain security for Helm charts.
 *
 * The root entry re-exports the stable core: errors and the OCI client. Capabilities
 * also have their own entry points (`chartproof/oci`, `chartproof/testing`, ...).
 * @packageDocumentation
 */
export type {
  ChartproofErrorOptions,
  DistributionErrorCode,
  ErrorCode,
  ErrorSource,
  RegistryDiagnostic,
} from './errors.js';
export {
  attributeErrors,
  ChartproofError,
  CopyError,
  DigestMismatchError,
  isChartproofError,
  RegistryError,
  redact,
} from './errors.js';
export * from './oci/index.js';
export { VERSION } from './version.js';
