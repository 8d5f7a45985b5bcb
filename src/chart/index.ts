/**
 * chartproof/chart: safe chart loading, packaging, Helm-identical OCI push/pull and
 * classic `index.yaml` repositories.
 * @packageDocumentation
 */
export type { ChartproofErrorOptions, ErrorCode, ErrorSource } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';
export type { LoadOptions } from './archive.js';
export { readArchiveEntries } from './archive.js';
export { helmAnnotations, OciAnnotation } from './annotations.js';
export { helmConfigJson } from './config.js';
export type { HelmIgnore } from './helmignore.js';
export { parseHelmIgnore } from './helmignore.js';
export { loadChartArchive, loadChartFile } from './load.js';
export { parseChartMetadata, validateChartMetadata } from './metadata.js';
export type {
  ChartArchiveOptions,
  LoadDirectoryOptions,
  LoadedChartDirectory,
  PackageOptions,
  PackageResult,
} from './package.js';
export { createChartArchive, loadChartDirectory, packageChart } from './package.js';
export type { ProvenanceVerification, SignProvenanceOptions, VerifyProvenanceOptions } from './provenance.js';
export { provenanceMessageBlock, signProvenance, verifyProvenance } from './provenance.js';
export type {
  BuildChartManifestOptions,
  ChartBlob,
  ChartManifestBuild,
  ChartPullOptions,
  ChartPushOptions,
  ChartPushResult,
  PulledChart,
  ResolveChartVersionOptions,
} from './oci.js';
export {
  buildChartManifest,
  LEGACY_CHART_LAYER_MEDIA_TYPE,
  MAX_CHART_BYTES,
  pullChart,
  pushChart,
  resolveChartVersion,
} from './oci.js';
export type {
  DownloadedChart,
  DownloadRepoChartOptions,
  FetchRepoIndexOptions,
  ParseRepoIndexOptions,
  RepoIndex,
  RepoIndexEntry,
  ResolveRepoChartVersionOptions,
} from './repo.js';
export {
  downloadRepoChart,
  fetchRepoIndex,
  MAX_REPO_CHART_BYTES,
  MAX_REPO_INDEX_BYTES,
  parseRepoIndex,
  resolveRepoChartVersion,
  resolveRepoUrl,
} from './repo.js';
export type {
  Chart,
  ChartDependency,
  ChartFile,
  ChartLock,
  ChartLockDependency,
  ChartMaintainer,
  ChartMetadata,
} from './types.js';
export { ociTagForVersion, versionForOciTag } from './version.js';
