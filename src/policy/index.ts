/**
 * chartproof/policy: admission for Helm.
 *
 * - Trust config ({@link parseTrustConfigYaml}, {@link loadTrustConfig}): internal
 *   registries, cosign keys or keyless identities, excluded namespaces, Audit/Enforce.
 * - Kyverno policies from it ({@link generateKyvernoPolicies}): ImageValidatingPolicy +
 *   ValidatingPolicy (`policies.kyverno.io/v1`) or a legacy ClusterPolicy, with
 *   warnings for known Kyverno bugs.
 * - Helm release Secrets ({@link decodeReleaseSecret}), bounded and bomb-safe.
 * - The admission webhook: {@link reviewAdmission} (release Secrets are checked against
 *   the signed chart in the internal registry, Pods against the allowed registries)
 *   and {@link createAdmissionServer} (HTTPS).
 * - The ValidatingWebhookConfiguration for it ({@link generateWebhookConfiguration}).
 * - Auditing deployed releases against their signed charts ({@link auditReleases}):
 *   signature, chart content, manifest re-rendered, image registries and signatures.
 *
 * It also re-exports the error types.
 * @packageDocumentation
 */
export type { ChartproofErrorOptions, ErrorCode, ErrorSource } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';
export type {
  AdmissionCounters,
  AdmissionFailurePolicy,
  AdmissionResponse,
  AdmissionReviewResponse,
  ReviewAdmissionOptions,
} from './admission.js';
export {
  AdmissionState,
  compareReleaseChart,
  DEFAULT_CACHE_TTL_MS,
  DEFAULT_REVIEW_DEADLINE_MS,
  reviewAdmission,
  trustPolicy,
} from './admission.js';
export type {
  AuditCheck,
  AuditCheckId,
  AuditCheckStatus,
  AuditedRelease,
  AuditOptions,
  AuditReport,
  AuditSource,
} from './audit.js';
export {
  AUDIT_CHECKS,
  auditReleases,
  DEFAULT_AUDIT_CONCURRENCY,
  DEFAULT_AUDIT_TIMEOUT_MS,
  KUBE_PAGE_LIMIT,
  MAX_AUDIT_INPUT_BYTES,
  MAX_AUDIT_INPUT_DEPTH,
  MAX_AUDIT_SECRETS,
  parseSecretList,
  renderRevision,
} from './audit.js';
export type {
  GenerateKyvernoOptions,
  KyvernoPolicies,
  KyvernoPolicyKind,
  KyvernoWarning,
} from './kyverno.js';
export { generateKyvernoPolicies, kyvernoWarnings } from './kyverno.js';
export type { DecodeReleaseOptions, HelmRelease, ReleaseChart, ReleaseChartFile } from './release.js';
export {
  decodeReleasePayload,
  decodeReleaseSecret,
  HELM_RELEASE_SECRET_TYPE,
  MAX_RELEASE_CHART_FILES,
  MAX_RELEASE_ENCODED_BYTES,
  MAX_RELEASE_JSON_BYTES,
  parseReleaseSecretName,
  ReleaseSecretError,
} from './release.js';
export type { AdmissionServer, AdmissionServerOptions } from './server.js';
export { createAdmissionServer, MAX_REVIEW_BODY_BYTES } from './server.js';
export type {
  LabelSelector,
  ValidatingWebhook,
  ValidatingWebhookConfiguration,
  WebhookConfigOptions,
  WebhookConfigResult,
} from './webhook-config.js';
export {
  DEFAULT_WEBHOOK_PATH,
  DEFAULT_WEBHOOK_TIMEOUT_SECONDS,
  generateWebhookConfiguration,
} from './webhook-config.js';
export type {
  TrustConfig,
  TrustIdentity,
  TrustSignatureFormat,
  ValidationFailureAction,
} from './trust.js';
export {
  chartReferenceFor,
  loadTrustConfig,
  MAX_TRUST_CONFIG_BYTES,
  MAX_TRUST_CONFIG_DEPTH,
  parseTrustConfig,
  parseTrustConfigYaml,
  TRUST_CONFIG_SCHEMA,
  TrustConfigError,
} from './trust.js';
