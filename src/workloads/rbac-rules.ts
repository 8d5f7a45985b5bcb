/**
 * RBAC rules: wildcards, Secrets, webhook configurations (Roles and ClusterRoles) and
 * bindings to cluster-admin, admin and edit.
 */
import { type Ctx, emit, strings } from './context.js';
import { describe } from './finding.js';
import { get, isMap, type WorkloadObject } from './pods.js';

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

/** Checks the rules of a Role or ClusterRole. @internal */
export function checkRole(ctx: Ctx, o: WorkloadObject): void {
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
    // `resources: ['*']` in the core group (or every group) covers Secrets too, and in
    // admissionregistration.k8s.io the webhook configurations; Trivy's checks look for
    // them by name only, which such a rule passes. Reported unless rbac-wildcard already
    // reported the rule.
    const allIn = (group: string) =>
      !wildcard && resources.includes('*') && (groups.includes(group) || groups.includes('*'));
    const onSecrets = resources.includes('secrets')
      ? 'secrets'
      : allIn('')
        ? 'every resource, secrets included,'
        : '';
    if (onSecrets && verbs.some((v) => SECRET_VERBS.has(v))) {
      emit(
        ctx,
        o,
        'rbac-secrets',
        `${what} grants ${verbs.join(',')} on ${onSecrets}${cluster ? ' in every namespace' : ''}`,
        { field, detail, trivyId: cluster ? 'KSV-0041' : 'KSV-0113' },
        cluster ? 'critical' : 'medium',
      );
    }
    if (
      (resources.some(
        (x) => x === 'mutatingwebhookconfigurations' || x === 'validatingwebhookconfigurations',
      ) ||
        allIn('admissionregistration.k8s.io')) &&
      verbs.some((v) => WEBHOOK_VERBS.has(v))
    ) {
      emit(ctx, o, 'rbac-webhook-config', `${what} may change admission webhook configurations`, {
        field,
        detail,
      });
    }
  });
}

/** Checks a RoleBinding or ClusterRoleBinding; true when it binds cluster-admin. @internal */
export function checkBinding(ctx: Ctx, o: WorkloadObject): boolean {
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
