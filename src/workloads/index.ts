/**
 * What a chart deploys, read from its rendered manifests: every container image
 * ({@link listImages}) and security findings on the rendered objects
 * ({@link evaluateWorkloadRules}). Input is {@link parseManifests}' output (from
 * `chartproof/render`), and the values overlay that points a chart's images at an
 * internal registry ({@link buildImageOverlay}). See docs/images.md and docs/scanning.md.
 * @packageDocumentation
 */
export { WORKLOAD_RULES, type WorkloadRule, type WorkloadRuleId } from './catalog.js';
export type { ObjectRef, PodSecurityLevel, WorkloadFinding } from './finding.js';
export {
  type ContainerImage,
  formatImageList,
  type ImageInventory,
  type ImageUse,
  type ListImagesOptions,
  listImages,
  type NormalizedImage,
  normalizeImage,
} from './images.js';
export {
  buildImageOverlay,
  type ImageMapping,
  type ImageOverlay,
  type ImageOverlayOptions,
  type OverlayRewrite,
} from './overlay.js';
export type { ContainerKind, PodSpecAt, WorkloadObject } from './pods.js';
export { evaluateWorkloadRules, type WorkloadRuleOptions } from './rules.js';
export type { ChartproofErrorOptions, ErrorCode, ErrorSource } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';
