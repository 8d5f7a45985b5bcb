/**
 * The rules of {@link evaluateWorkloadRules}: ids, default severities, Trivy check ids
 * (trivy-checks `checks/kubernetes/*.rego`, `KSV-00xx`) and Pod Security Standards
 * levels. docs/scanning.md has the table and every deviation from Trivy.
 */
import type { Severity } from './severity.js';
import type { PodSecurityLevel } from './finding.js';

/** Rule ids of `evaluateWorkloadRules` (`chartproof/workloads`). @public */
export type WorkloadRuleId =
  | 'privileged-container'
  | 'privilege-escalation'
  | 'capability-sys-admin'
  | 'capability-sys-module'
  | 'capability-net-raw'
  | 'capability-added'
  | 'run-as-root'
  | 'run-as-uid-0'
  | 'host-path'
  | 'runtime-socket'
  | 'host-network'
  | 'host-pid'
  | 'host-ipc'
  | 'host-port'
  | 'cluster-admin-binding'
  | 'admin-role-binding'
  | 'cluster-scoped-rbac'
  | 'rbac-wildcard'
  | 'rbac-secrets'
  | 'rbac-webhook-config'
  | 'admission-webhook'
  | 'crd-in-templates'
  | 'crd-directory'
  | 'helm-hook'
  | 'image-invalid'
  | 'image-not-allowed'
  | 'image-not-pinned'
  | 'image-tag-latest'
  | 'service-load-balancer'
  | 'service-node-port'
  | 'service-external-ips'
  | 'automount-service-account-token'
  | 'cpu-limits'
  | 'memory-limits'
  | 'init-container'
  | 'secret-env';

/** A rule of {@link evaluateWorkloadRules}. @public */
export interface WorkloadRule {
  id: WorkloadRuleId;
  /** Default severity. */
  severity: Severity;
  /** Matching Trivy check id(s), `KSV-00xx`. */
  trivyIds: readonly string[];
  /** Pod Security Standards level, when the rule is one of its controls. */
  pss?: PodSecurityLevel;
  summary: string;
}

const r = (
  id: WorkloadRuleId,
  severity: Severity,
  trivyIds: string[],
  summary: string,
  pss?: PodSecurityLevel,
): WorkloadRule => (pss ? { id, severity, trivyIds, pss, summary } : { id, severity, trivyIds, summary });

/**
 * The rules, their default severities (Trivy's, except where docs/scanning.md says
 * otherwise), Trivy check ids and Pod Security Standards levels.
 * @public
 */
export const WORKLOAD_RULES: readonly WorkloadRule[] = Object.freeze([
  r('privileged-container', 'high', ['KSV-0017'], 'securityContext.privileged: true', 'baseline'),
  r('privilege-escalation', 'medium', ['KSV-0001'], 'allowPrivilegeEscalation not false', 'restricted'),
  r('capability-sys-admin', 'high', ['KSV-0005'], 'adds SYS_ADMIN (or ALL)', 'baseline'),
  r('capability-sys-module', 'high', ['KSV-0120'], 'adds SYS_MODULE', 'baseline'),
  r('capability-net-raw', 'high', ['KSV-0119'], 'adds NET_RAW', 'baseline'),
  r('capability-added', 'medium', ['KSV-0022'], 'adds a capability outside the baseline set', 'baseline'),
  r('run-as-root', 'medium', ['KSV-0012'], 'runAsNonRoot not true (pod or container)', 'restricted'),
  r('run-as-uid-0', 'low', ['KSV-0105'], 'runAsUser: 0 (pod or container)', 'restricted'),
  r('host-path', 'medium', ['KSV-0023'], 'hostPath volume', 'baseline'),
  r('runtime-socket', 'high', ['KSV-0006'], 'hostPath to a container runtime socket', 'baseline'),
  r('host-network', 'high', ['KSV-0009'], 'hostNetwork: true', 'baseline'),
  r('host-pid', 'high', ['KSV-0010'], 'hostPID: true', 'baseline'),
  r('host-ipc', 'high', ['KSV-0008'], 'hostIPC: true', 'baseline'),
  r('host-port', 'high', ['KSV-0024'], 'container port with a hostPort', 'baseline'),
  r('cluster-admin-binding', 'critical', ['KSV-0111'], 'binding to the cluster-admin ClusterRole'),
  r('admin-role-binding', 'medium', ['KSV-0111'], 'binding to the admin or edit ClusterRole'),
  r('cluster-scoped-rbac', 'high', [], 'ClusterRole or ClusterRoleBinding'),
  r(
    'rbac-wildcard',
    'critical',
    ['KSV-0044', 'KSV-0045', 'KSV-0046'],
    'wildcard verbs, resources or API groups',
  ),
  r(
    'rbac-secrets',
    'critical',
    ['KSV-0041', 'KSV-0113'],
    'ClusterRole (critical) or Role (medium) on secrets',
  ),
  r('rbac-webhook-config', 'critical', ['KSV-0114'], 'may change admission webhook configurations'),
  r('admission-webhook', 'high', [], 'Mutating/ValidatingWebhookConfiguration'),
  r('crd-in-templates', 'medium', [], 'CustomResourceDefinition rendered from templates/'),
  r('crd-directory', 'info', [], 'CustomResourceDefinition from crds/ (--include-crds)'),
  r('helm-hook', 'medium', [], 'helm.sh/hook annotation'),
  r('image-invalid', 'high', [], 'missing or unparsable image reference'),
  r('image-not-allowed', 'high', ['KSV-0125'], 'image outside the allowed images'),
  r('image-not-pinned', 'low', [], 'image without a digest'),
  r('image-tag-latest', 'medium', ['KSV-0013'], 'image with tag latest or no tag, no digest'),
  r('service-load-balancer', 'medium', [], 'Service of type LoadBalancer'),
  r('service-node-port', 'low', [], 'Service of type NodePort'),
  r('service-external-ips', 'high', ['KSV-0108'], 'Service with externalIPs'),
  r(
    'automount-service-account-token',
    'medium',
    ['KSV-0036'],
    'service-account token mounted (low when by default)',
  ),
  r('cpu-limits', 'low', ['KSV-0011'], 'container without resources.limits.cpu'),
  r('memory-limits', 'low', ['KSV-0018'], 'container without resources.limits.memory'),
  r('init-container', 'info', [], 'init containers'),
  r('secret-env', 'info', [], 'environment from a Secret (secretKeyRef, envFrom.secretRef)'),
]);

/** Rules by id. @internal */
export const RULES: ReadonlyMap<WorkloadRuleId, WorkloadRule> = new Map(WORKLOAD_RULES.map((x) => [x.id, x]));
