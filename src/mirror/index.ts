/**
 * chartproof/mirror: mirroring pinned public charts into an internal registry
 * ({@link planMirror}, {@link applyMirror}, driven by a {@link MirrorSpec}), and the
 * chart scanner that mirroring (and later admission) applies before a chart is
 * copied: the {@link Scanner}
 * interface, {@link runScanners} / {@link evaluateFindings} with block/warn severity
 * thresholds, and the rendering-free {@link builtinScanner} (docs/scanning.md). It
 * also re-exports the error types.
 * @packageDocumentation
 */
export type { ChartproofErrorOptions, ErrorCode, ErrorSource } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';
export type {
  BuiltinRule,
  BuiltinRuleId,
  BuiltinScannerOptions,
  Finding,
  ScanOptions,
  ScanPolicy,
  Scanner,
  ScanVerdict,
  Severity,
} from './scan.js';
/** Ids of the rendered rules, for `scan.severities` and `renderingScanner`'s `severities`. */
export type { WorkloadRuleId } from '../workloads/catalog.js';
export {
  BUILTIN_RULES,
  builtinScanner,
  compareFindings,
  evaluateFindings,
  runScanners,
  SEVERITIES,
  severityAtLeast,
} from './scan.js';
export type { ApplyMirrorOptions, MirrorImageSummary, MirrorReport, MirrorResult } from './apply.js';
export { applyMirror, mirrorSummaryLine } from './apply.js';
export type {
  MirrorAction,
  MirrorEvent,
  MirrorOptions,
  MirrorPlanEntry,
  MirrorPlanItem,
  MirrorVerification,
} from './plan.js';
export { mirrorPlanEntry, planMirror } from './plan.js';
export type {
  ImageMappingDocument,
  MirrorImageItem,
  MirrorImageResult,
  MirrorOverlay,
  ValuesOverlayArtifact,
  FetchValuesOverlaysOptions,
} from './images.js';
export type { OverlayRewrite } from '../workloads/overlay.js';
export {
  fetchValuesOverlays,
  IMAGE_MAPPING_MEDIA_TYPE,
  IMAGES_PREFIX_ANNOTATION,
  VALUES_OVERLAY_ARTIFACT_TYPE,
  VALUES_OVERLAY_MEDIA_TYPE,
} from './images.js';
export type {
  MirrorChart,
  MirrorImages,
  MirrorScan,
  MirrorSign,
  MirrorSpec,
  MirrorTarget,
  MirrorVerify,
} from './spec.js';
export {
  chartImages,
  imagesPrefix,
  loadMirrorSpec,
  mirrorHostSettings,
  parseMirrorSpec,
  targetRepository,
} from './spec.js';
export type { AirgapEntry, AirgapImage, AirgapManifest, ExportMirrorOptions } from './airgap.js';
export { AIRGAP_MANIFEST_FILE, exportMirror } from './airgap.js';
export { importMirror } from './airgap-import.js';
export type { DriftImage, DriftItem, DriftOptions, DriftReport, DriftStatus } from './drift.js';
export { detectDrift, driftSummaryLine } from './drift.js';
export { RENDER_FAILED, type RenderingScannerOptions, renderingScanner } from './rendered-scanner.js';
