/**
 * chartproof: supply-chain security for Helm charts.
 *
 * The root entry holds what every user of the package touches: the error types (to
 * branch on codes), the registry client and the reference and digest types its calls
 * take and return, and the package version. Everything else lives in the entry point
 * of its capability (`chartproof/oci`, `chartproof/chart`, `chartproof/verify`, ...),
 * so importing the root loads no chart, signing or rendering code.
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
export type { RegistryClientOptions } from './oci/client.js';
export { RegistryClient } from './oci/client.js';
export type { Descriptor } from './oci/descriptor.js';
export type { Digest } from './oci/digest.js';
export type { Reference } from './oci/reference.js';
export { formatReference, parseReference } from './oci/reference.js';
export type { RepositoryOptions } from './oci/repository.js';
export { Repository } from './oci/repository.js';
export { VERSION } from './version.js';
