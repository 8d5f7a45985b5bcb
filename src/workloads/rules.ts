/**
 * Security rules evaluated on rendered objects ({@link evaluateWorkloadRules}): what a
 * chart really deploys once its templates are rendered, as opposed to the mirror's
 * text heuristics over template sources. Each rule names the matching Trivy
 * misconfiguration check (trivy-checks `checks/kubernetes/*.rego`, `KSV-00xx`) and Pod
 * Security Standards level where one exists; docs/scanning.md has the table and every
 * deviation from Trivy.
 */
import { ChartproofError } from '../errors.js';
import type { Severity } from '../mirror/scan.js';
import type { ParsedManifest } from '../render/parse.js';
import { describe, findingAt, type PodSecurityLevel, type WorkloadFinding } from './finding.js';
import { type ContainerImage, listImages } from './images.js';
import {
  type ContainerAt,
  containersOf,
  get,
  isMap,
  objectsOf,
  type PodSpecAt,
  podSpecsOf,
  type WorkloadObject,
} from './pods.js';

/** Rule ids of {@link evaluateWorkloadRules}. @public */
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

/** Options of {@link evaluateWorkloadRules}. @public */
export interface WorkloadRuleOptions {
  /** Chart label for findings (`app-1.0.0`); default ``. */
  chart?: string;
  /**
   * Allowed images, matched against the normalised reference, with the mirror
   * scanner's semantics: an entry with `*`/`?` is a glob over the whole reference (`*`
   * matches `/` too); any other entry is a prefix ending at a path, tag or digest
   * boundary (`docker.io/bitnami`, `registry.internal.example/`). Unset: the rule is off;
   * `[]` allows nothing.
   */
  allowedImages?: readonly string[];
  /** Per-rule severity overrides (an override replaces every severity of the rule). */
  severities?: Partial<Record<WorkloadRuleId, Severity>>;
  signal?: AbortSignal;
}

const SEVERITY_NAMES = ['info', 'low', 'medium', 'high', 'critical'];

// YAML 1.1 booleans, which Kubernetes' decoder (go-yaml v2 via sigs.k8s.io/yaml) reads
// as booleans while a YAML 1.2 parser keeps them as strings.
const TRUE_WORDS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'true', 'True', 'TRUE']);
const FALSE_WORDS = new Set(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF', 'false', 'False', 'FALSE']);

/** True for `true` and YAML 1.1 true words. @internal */
export function yamlTrue(v: unknown): boolean {
  return v === true || (typeof v === 'string' && TRUE_WORDS.has(v));
}

/** True for `false` and YAML 1.1 false words. @internal */
export function yamlFalse(v: unknown): boolean {
  return v === false || (typeof v === 'string' && FALSE_WORDS.has(v));
}

function isZero(v: unknown): boolean {
  return v === 0 || v === 0n || v === '0';
}

function nonZeroPort(v: unknown): boolean {
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'string') return v.trim() !== '' && v.trim() !== '0';
  return false;
}

// Pod Security Standards baseline: capabilities that may be added.
const BASELINE_CAPS = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

const RUNTIME_SOCKETS = new Set([
  '/var/run/docker.sock',
  '/run/docker.sock',
  '/var/run/containerd/containerd.sock',
  '/run/containerd/containerd.sock',
  '/var/run/crio/crio.sock',
  '/run/crio/crio.sock',
  '/var/run/cri-dockerd.sock',
]);

// Verbs of Trivy's KSV-0041/0113 (secrets) and KSV-0046 (all resources).
const SECRET_VERBS = new Set([
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  'impersonate',
  '*',
]);
const MANAGE_ALL_VERBS = new Set([
  'create',
  'update',
  'delete',
  'deletecollection',
  'impersonate',
  '*',
  'list',
  'get',
]);
const WEBHOOK_VERBS = new Set([
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  'impersonate',
  '*',
]);
// KSV-0045: a wildcard verb on these resources.
const SENSITIVE_RESOURCES = new Set([
  'secrets',
  'pods',
  'deployments',
  'daemonsets',
  'statefulsets',
  'replicationcontrollers',
  'replicasets',
  'cronjobs',
  'jobs',
  'roles',
  'clusterroles',
  'rolebindings',
  'clusterrolebindings',
  'users',
  'groups',
]);

/** Strings of a list field (non-strings dropped). */
function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Capability name as the runtime reads it: upper case, without `CAP_`. */
function capName(c: string): string {
  const u = c.trim().toUpperCase();
  return u.startsWith('CAP_') ? u.slice(4) : u;
}

interface Ctx {
  chart: string;
  severity(rule: WorkloadRuleId, fallback?: Severity): Severity;
  out: WorkloadFinding[];
  allowed?: (ref: string) => boolean;
  /** automountServiceAccountToken of ServiceAccounts in the stream, by `namespace/name` and by name. */
  serviceAccounts: Map<string, unknown>;
}

const RULES = new Map(WORKLOAD_RULES.map((x) => [x.id, x]));

function emit(
  ctx: Ctx,
  o: WorkloadObject,
  rule: WorkloadRuleId,
  message: string,
  extra: Partial<WorkloadFinding> = {},
  severity?: Severity,
): void {
  const def = RULES.get(rule) as WorkloadRule;
  const base: Partial<WorkloadFinding> & Pick<WorkloadFinding, 'rule' | 'severity' | 'message'> = {
    rule,
    severity: ctx.severity(rule, severity),
    message,
  };
  if (def.trivyIds.length === 1) base.trivyId = def.trivyIds[0] as string;
  if (def.pss) base.pss = def.pss;
  const f = findingAt(o, { ...base, ...extra }, ctx.chart);
  if (f.field !== undefined && o.at) f.field = `${o.at}.${f.field}`;
  ctx.out.push(f);
}

function containerExtra(c: ContainerAt, field: string): Partial<WorkloadFinding> {
  const extra: Partial<WorkloadFinding> = { containerKind: c.containerKind, field: `${c.path}${field}` };
  if (typeof c.container.name === 'string') extra.container = c.container.name;
  return extra;
}

function containerLabel(c: ContainerAt): string {
  return `${c.containerKind} '${typeof c.container.name === 'string' ? c.container.name : '?'}'`;
}

// ---- pod-level and container-level rules ----

function checkPod(ctx: Ctx, o: WorkloadObject, pod: PodSpecAt): void {
  const what = describe(o);
  const spec = pod.spec;
  for (const [key, rule] of [
    ['hostNetwork', 'host-network'],
    ['hostPID', 'host-pid'],
    ['hostIPC', 'host-ipc'],
  ] as const) {
    if (yamlTrue(spec[key])) {
      emit(ctx, o, rule, `${what} sets ${key}: true (shares the node's namespace)`, {
        field: `${pod.path}.${key}`,
      });
    }
  }
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  volumes.forEach((v, i) => {
    if (!isMap(v) || !Object.hasOwn(v, 'hostPath')) return;
    const path = get(v, 'hostPath', 'path');
    const field = `${pod.path}.volumes[${i}].hostPath`;
    const detail = {
      volume: typeof v.name === 'string' ? v.name : null,
      path: typeof path === 'string' ? path : null,
    };
    if (typeof path === 'string' && RUNTIME_SOCKETS.has(path.replace(/\/+$/, ''))) {
      emit(ctx, o, 'runtime-socket', `${what} mounts the container runtime socket ${path}`, {
        field,
        detail,
      });
    } else {
      emit(ctx, o, 'host-path', `${what} mounts hostPath ${typeof path === 'string' ? path : '(no path)'}`, {
        field,
        detail,
      });
    }
  });

  const podSc = isMap(spec.securityContext) ? spec.securityContext : {};
  const containers = containersOf(pod);
  if (containers.some((c) => c.containerKind === 'initContainer')) {
    const names = containers
      .filter((c) => c.containerKind === 'initContainer')
      .map((c) => (typeof c.container.name === 'string' ? c.container.name : '?'));
    emit(
      ctx,
      o,
      'init-container',
      `${what} runs init containers before its containers: ${names.join(', ')}`,
      {
        field: `${pod.path}.initContainers`,
        detail: { containers: names },
      },
    );
  }
  for (const c of containers) checkContainer(ctx, o, c, podSc, what);
  checkAutomount(ctx, o, pod, what);
}

function checkContainer(
  ctx: Ctx,
  o: WorkloadObject,
  c: ContainerAt,
  podSc: Record<string, unknown>,
  what: string,
): void {
  const sc = isMap(c.container.securityContext) ? c.container.securityContext : {};
  const label = `${containerLabel(c)} of ${what}`;
  if (yamlTrue(sc.privileged)) {
    emit(
      ctx,
      o,
      'privileged-container',
      `${label} is privileged`,
      containerExtra(c, '.securityContext.privileged'),
    );
  }
  // Ephemeral containers cannot be given allowPrivilegeEscalation by charts' authors in
  // practice, but the field exists on them too; Trivy checks containers and init containers.
  if (!yamlFalse(sc.allowPrivilegeEscalation)) {
    emit(
      ctx,
      o,
      'privilege-escalation',
      `${label} does not set securityContext.allowPrivilegeEscalation: false`,
      containerExtra(c, '.securityContext.allowPrivilegeEscalation'),
    );
  }
  const added = strings(get(sc, 'capabilities', 'add')).map(capName);
  if (added.length > 0) {
    const field = '.securityContext.capabilities.add';
    const sysAdmin = added.filter((x) => x === 'SYS_ADMIN' || x === 'ALL');
    if (sysAdmin.length > 0) {
      emit(ctx, o, 'capability-sys-admin', `${label} adds ${sysAdmin.join(', ')}`, {
        ...containerExtra(c, field),
        detail: { capabilities: sysAdmin },
      });
    }
    if (added.includes('SYS_MODULE')) {
      emit(ctx, o, 'capability-sys-module', `${label} adds SYS_MODULE`, {
        ...containerExtra(c, field),
        detail: { capabilities: ['SYS_MODULE'] },
      });
    }
    if (added.includes('NET_RAW')) {
      emit(ctx, o, 'capability-net-raw', `${label} adds NET_RAW`, {
        ...containerExtra(c, field),
        detail: { capabilities: ['NET_RAW'] },
      });
    }
    const others = [
      ...new Set(
        added.filter(
          (x) => !BASELINE_CAPS.has(x) && !['SYS_ADMIN', 'ALL', 'SYS_MODULE', 'NET_RAW'].includes(x),
        ),
      ),
    ];
    if (others.length > 0) {
      emit(ctx, o, 'capability-added', `${label} adds ${others.join(', ')}`, {
        ...containerExtra(c, field),
        detail: { capabilities: others },
      });
    }
  }
  // Pod-level runAsNonRoot/runAsUser apply unless the container sets its own.
  const nonRoot = Object.hasOwn(sc, 'runAsNonRoot') ? sc.runAsNonRoot : podSc.runAsNonRoot;
  if (!yamlTrue(nonRoot)) {
    emit(
      ctx,
      o,
      'run-as-root',
      `${label} may run as root (runAsNonRoot is not true for it or its pod)`,
      containerExtra(c, '.securityContext.runAsNonRoot'),
    );
  }
  const uidFromContainer = Object.hasOwn(sc, 'runAsUser');
  const uid = uidFromContainer ? sc.runAsUser : podSc.runAsUser;
  if (isZero(uid)) {
    emit(
      ctx,
      o,
      'run-as-uid-0',
      `${label} runs as UID 0${uidFromContainer ? '' : ' (from the pod securityContext)'}`,
      {
        ...containerExtra(c, '.securityContext.runAsUser'),
      },
    );
  }
  const ports = Array.isArray(c.container.ports) ? c.container.ports : [];
  ports.forEach((p, i) => {
    if (isMap(p) && nonZeroPort(p.hostPort)) {
      emit(ctx, o, 'host-port', `${label} binds host port ${String(p.hostPort)}`, {
        ...containerExtra(c, `.ports[${i}].hostPort`),
        detail: { hostPort: typeof p.hostPort === 'bigint' ? Number(p.hostPort) : p.hostPort },
      });
    }
  });
  if (c.containerKind !== 'ephemeralContainer') {
    const limits = get(c.container, 'resources', 'limits');
    for (const [res, rule] of [
      ['cpu', 'cpu-limits'],
      ['memory', 'memory-limits'],
    ] as const) {
      if (!isMap(limits) || !Object.hasOwn(limits, res) || limits[res] === null) {
        emit(
          ctx,
          o,
          rule,
          `${label} sets no resources.limits.${res}`,
          containerExtra(c, `.resources.limits.${res}`),
        );
      }
    }
  }
  const secretRefs: string[] = [];
  const env = Array.isArray(c.container.env) ? c.container.env : [];
  for (const e of env) {
    const name = get(e, 'valueFrom', 'secretKeyRef', 'name');
    if (isMap(get(e, 'valueFrom', 'secretKeyRef'))) secretRefs.push(typeof name === 'string' ? name : '?');
  }
  const envFrom = Array.isArray(c.container.envFrom) ? c.container.envFrom : [];
  for (const e of envFrom) {
    const name = get(e, 'secretRef', 'name');
    if (isMap(get(e, 'secretRef'))) secretRefs.push(typeof name === 'string' ? name : '?');
  }
  if (secretRefs.length > 0) {
    const unique = [...new Set(secretRefs)];
    emit(ctx, o, 'secret-env', `${label} reads environment from Secret(s) ${unique.join(', ')}`, {
      ...containerExtra(c, ''),
      detail: { secrets: unique },
    });
  }
}

function checkAutomount(ctx: Ctx, o: WorkloadObject, pod: PodSpecAt, what: string): void {
  const own = pod.spec.automountServiceAccountToken;
  const saName =
    typeof pod.spec.serviceAccountName === 'string' && pod.spec.serviceAccountName !== ''
      ? pod.spec.serviceAccountName
      : typeof pod.spec.serviceAccount === 'string' && pod.spec.serviceAccount !== ''
        ? pod.spec.serviceAccount
        : 'default';
  const field = `${pod.path}.automountServiceAccountToken`;
  const detail = { serviceAccount: saName };
  if (yamlTrue(own)) {
    emit(
      ctx,
      o,
      'automount-service-account-token',
      `${what} mounts its service-account token (automountServiceAccountToken: true)`,
      {
        field,
        detail,
      },
    );
    return;
  }
  if (yamlFalse(own)) return;
  const key = o.namespace !== undefined ? `${o.namespace}/${saName}` : undefined;
  const sa =
    key !== undefined && ctx.serviceAccounts.has(key)
      ? ctx.serviceAccounts.get(key)
      : ctx.serviceAccounts.get(saName);
  if (yamlFalse(sa)) return;
  emit(
    ctx,
    o,
    'automount-service-account-token',
    `${what} mounts the token of service account '${saName}' by default (automountServiceAccountToken unset)`,
    { field, detail },
    'low',
  );
}

// ---- RBAC ----

function checkRole(ctx: Ctx, o: WorkloadObject): void {
  const what = describe(o);
  const rules = Array.isArray(o.object.rules) ? o.object.rules : [];
  const cluster = o.kind === 'ClusterRole';
  rules.forEach((rule, i) => {
    if (!isMap(rule)) return;
    const verbs = strings(rule.verbs);
    const resources = strings(rule.resources);
    const groups = strings(rule.apiGroups);
    const field = `rules[${i}]`;
    const detail = { apiGroups: groups, resources, verbs };
    let wildcard: string | undefined;
    if (groups.includes('*') && resources.includes('*') && verbs.includes('*')) wildcard = 'KSV-0044';
    else if (cluster && resources.includes('*') && verbs.some((v) => MANAGE_ALL_VERBS.has(v)))
      wildcard = 'KSV-0046';
    else if (verbs.includes('*') && resources.some((x) => SENSITIVE_RESOURCES.has(x))) wildcard = 'KSV-0045';
    if (wildcard) {
      emit(
        ctx,
        o,
        'rbac-wildcard',
        `${what} grants ${verbs.join(',')} on ${resources.join(',')} in API groups ${groups.map((g) => g || '""').join(',')}`,
        {
          field,
          detail,
          trivyId: wildcard,
        },
      );
    }
    if (resources.includes('secrets') && verbs.some((v) => SECRET_VERBS.has(v))) {
      emit(
        ctx,
        o,
        'rbac-secrets',
        `${what} grants ${verbs.join(',')} on secrets${cluster ? ' in every namespace' : ''}`,
        { field, detail, trivyId: cluster ? 'KSV-0041' : 'KSV-0113' },
        cluster ? 'critical' : 'medium',
      );
    }
    if (
      resources.some(
        (x) => x === 'mutatingwebhookconfigurations' || x === 'validatingwebhookconfigurations',
      ) &&
      verbs.some((v) => WEBHOOK_VERBS.has(v))
    ) {
      emit(ctx, o, 'rbac-webhook-config', `${what} may change admission webhook configurations`, {
        field,
        detail,
      });
    }
  });
}

function checkBinding(ctx: Ctx, o: WorkloadObject): boolean {
  const what = describe(o);
  const roleKind = get(o.object, 'roleRef', 'kind');
  const roleName = get(o.object, 'roleRef', 'name');
  if (roleKind !== 'ClusterRole' || typeof roleName !== 'string') return false;
  const subjects = Array.isArray(o.object.subjects)
    ? o.object.subjects.filter(isMap).map((s) => `${String(s.kind ?? '?')}/${String(s.name ?? '?')}`)
    : [];
  const detail = { roleRef: roleName, subjects };
  if (roleName === 'cluster-admin') {
    emit(
      ctx,
      o,
      'cluster-admin-binding',
      `${what} grants cluster-admin${o.kind === 'RoleBinding' ? ' in its namespace' : ''} to ${subjects.join(', ') || 'no subjects'}`,
      { field: 'roleRef', detail },
    );
    return true;
  }
  if (roleName === 'admin' || roleName === 'edit') {
    emit(
      ctx,
      o,
      'admin-role-binding',
      `${what} grants the ${roleName} ClusterRole to ${subjects.join(', ') || 'no subjects'}`,
      {
        field: 'roleRef',
        detail,
      },
    );
  }
  return false;
}

// ---- kinds, hooks, services, images ----

function checkObject(ctx: Ctx, o: WorkloadObject): void {
  const what = describe(o);
  const rbac = o.apiVersion?.startsWith('rbac.authorization.k8s.io/') ?? false;
  if (rbac && (o.kind === 'Role' || o.kind === 'ClusterRole')) checkRole(ctx, o);
  let admin = false;
  if (rbac && (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) admin = checkBinding(ctx, o);
  if (rbac && (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') && !admin) {
    emit(ctx, o, 'cluster-scoped-rbac', `${what} grants cluster-wide permissions`);
  }
  if (o.kind === 'MutatingWebhookConfiguration' || o.kind === 'ValidatingWebhookConfiguration') {
    const hooks = Array.isArray(o.object.webhooks) ? o.object.webhooks.filter(isMap) : [];
    emit(ctx, o, 'admission-webhook', `${what} intercepts API requests cluster-wide`, {
      detail: {
        webhooks: hooks.map((h) => (typeof h.name === 'string' ? h.name : '?')),
        failurePolicy: hooks.map((h) => (typeof h.failurePolicy === 'string' ? h.failurePolicy : null)),
      },
    });
  }
  if (o.kind === 'CustomResourceDefinition') {
    const fromCrds = /(^|\/)crds\//.test(o.manifest.source ?? '');
    emit(
      ctx,
      o,
      fromCrds ? 'crd-directory' : 'crd-in-templates',
      fromCrds
        ? `${what} comes from crds/ (installed as-is, never upgraded by Helm)`
        : `${what} is rendered from templates (cluster-scoped, removed on uninstall)`,
      { detail: { group: get(o.object, 'spec', 'group') ?? null } },
    );
  }
  const hook = get(o.object, 'metadata', 'annotations', 'helm.sh/hook');
  if (typeof hook === 'string') {
    const hooks = hook
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '');
    emit(
      ctx,
      o,
      'helm-hook',
      `${what} is a Helm hook (${hooks.join(', ')}): runs outside the normal install order`,
      {
        field: 'metadata.annotations.helm.sh/hook',
        detail: { hooks },
      },
    );
  }
  if (o.kind === 'Service' && (o.apiVersion === 'v1' || o.apiVersion === undefined)) {
    const type = get(o.object, 'spec', 'type');
    if (type === 'LoadBalancer') {
      emit(ctx, o, 'service-load-balancer', `${what} is exposed through a cloud load balancer`, {
        field: 'spec.type',
      });
    } else if (type === 'NodePort') {
      emit(ctx, o, 'service-node-port', `${what} opens a port on every node`, { field: 'spec.type' });
    }
    const ips = strings(get(o.object, 'spec', 'externalIPs'));
    if (ips.length > 0) {
      emit(ctx, o, 'service-external-ips', `${what} sets externalIPs ${ips.join(', ')}`, {
        field: 'spec.externalIPs',
        detail: { externalIPs: ips },
      });
    }
  }
  for (const pod of podSpecsOf(o)) checkPod(ctx, o, pod);
}

function checkImage(ctx: Ctx, o: WorkloadObject, img: ContainerImage): void {
  const extra: Partial<WorkloadFinding> = {
    containerKind: img.containerKind,
    field: img.field,
    detail: { image: img.image, normalized: img.normalized },
  };
  if (img.container !== undefined) extra.container = img.container;
  // image fields are already prefixed with the List item path
  const at = { ...o, at: '' };
  const label = `${img.containerKind} '${img.container ?? '?'}' of ${describe(o)}`;
  if (ctx.allowed && !ctx.allowed(img.normalized)) {
    emit(
      ctx,
      at,
      'image-not-allowed',
      `${label} uses ${img.image}, which is not in the allowed images`,
      extra,
    );
  }
  if (!img.pinned) {
    emit(
      ctx,
      at,
      'image-not-pinned',
      `${label} uses ${img.image} by tag (no digest); the tag can be moved`,
      extra,
    );
    if (img.tag === 'latest') {
      emit(
        ctx,
        at,
        'image-tag-latest',
        `${label} uses ${img.image}, which resolves to the moving tag latest`,
        extra,
      );
    }
  }
}

/** Matcher of one allowed-images entry (the mirror scanner's semantics). @internal */
export function imageAllowed(entry: string): (ref: string) => boolean {
  if (/[*?]/.test(entry)) {
    const source = [...entry]
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
      .join('');
    const re = new RegExp(`^${source}$`, 's');
    return (ref) => re.test(ref);
  }
  return (ref) => {
    if (ref === entry) return true;
    if (!ref.startsWith(entry)) return false;
    if (entry.endsWith('/')) return true;
    const next = ref[entry.length];
    return next === '/' || next === ':' || next === '@';
  };
}

function compare(a: WorkloadFinding, b: WorkloadFinding): number {
  const t = (x: string | undefined, y: string | undefined) =>
    (x ?? '') < (y ?? '') ? -1 : (x ?? '') > (y ?? '') ? 1 : 0;
  return (
    t(a.file, b.file) ||
    t(a.object?.kind, b.object?.kind) ||
    t(a.object?.name, b.object?.name) ||
    t(a.rule, b.rule) ||
    t(a.field, b.field) ||
    t(a.message, b.message)
  );
}

/**
 * Evaluates the rules ({@link WORKLOAD_RULES}) on rendered manifests and returns the
 * findings, sorted by file, object, rule and field. Image findings (`image-invalid`,
 * `image-not-allowed`, `image-not-pinned`, `image-tag-latest`) come from
 * {@link listImages}. Nothing throws on odd shapes: a field of the wrong type is
 * treated as absent.
 *
 * Errors ({@link ChartproofError}): `INVALID_ARGUMENT` for an unknown rule id or
 * severity in `severities`, or an empty `allowedImages` entry. Aborting `signal`
 * throws its reason.
 * @public
 */
export function evaluateWorkloadRules(
  manifests: readonly ParsedManifest[],
  options: WorkloadRuleOptions = {},
): WorkloadFinding[] {
  const overrides = options.severities ?? {};
  for (const [rule, sev] of Object.entries(overrides)) {
    if (!RULES.has(rule as WorkloadRuleId)) {
      throw new ChartproofError('INVALID_ARGUMENT', `unknown workload rule '${rule}'`);
    }
    if (typeof sev !== 'string' || !SEVERITY_NAMES.includes(sev)) {
      throw new ChartproofError(
        'INVALID_ARGUMENT',
        `severity of rule '${rule}' must be one of ${SEVERITY_NAMES.join(', ')}, got ${JSON.stringify(sev)}`,
      );
    }
  }
  let allowed: ((ref: string) => boolean) | undefined;
  if (options.allowedImages !== undefined) {
    const matchers = options.allowedImages.map((e) => {
      if (typeof e !== 'string' || e.trim() === '') {
        throw new ChartproofError('INVALID_ARGUMENT', 'allowedImages entries must be non-empty strings');
      }
      return imageAllowed(e.trim());
    });
    allowed = (ref) => matchers.some((m) => m(ref));
  }
  const chart = options.chart ?? '';
  const objects = objectsOf(manifests);
  const serviceAccounts = new Map<string, unknown>();
  for (const o of objects) {
    if (o.kind !== 'ServiceAccount' || o.apiVersion !== 'v1' || o.name === undefined) continue;
    const v = o.object.automountServiceAccountToken;
    if (o.namespace !== undefined) serviceAccounts.set(`${o.namespace}/${o.name}`, v);
    serviceAccounts.set(o.name, v);
  }
  const ctx: Ctx = {
    chart,
    severity: (rule, fallback) => overrides[rule] ?? fallback ?? (RULES.get(rule) as WorkloadRule).severity,
    out: [],
    serviceAccounts,
  };
  if (allowed) ctx.allowed = allowed;
  for (const o of objects) {
    options.signal?.throwIfAborted();
    checkObject(ctx, o);
  }
  const inventory = listImages(manifests, { chart });
  for (const f of inventory.findings) {
    f.severity = ctx.severity('image-invalid', f.severity);
    ctx.out.push(f);
  }
  const byIndex = new Map<number, WorkloadObject[]>();
  for (const o of objects) byIndex.set(o.manifest.index, [...(byIndex.get(o.manifest.index) ?? []), o]);
  for (const img of inventory.images) {
    const candidates = byIndex.get(img.index) ?? [];
    const o =
      candidates.find(
        (c) =>
          c.kind === img.kind && c.name === img.name && (c.at === '' || img.field.startsWith(`${c.at}.`)),
      ) ?? candidates[0];
    if (o) checkImage(ctx, o, img);
  }
  return ctx.out.sort(compare);
}
