import { describe, expect, it } from 'vitest';
import { ChartproofError } from '../../src/errors.js';
import { evaluateFindings } from '../../src/mirror/scan.js';
import { parseManifests } from '../../src/render/parse.js';
import {
  evaluateWorkloadRules,
  WORKLOAD_RULES,
  type WorkloadRuleId,
  type WorkloadRuleOptions,
} from '../../src/workloads/index.js';

const D = 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

/** A hardened container: no rule of the container family fires on it. */
const SAFE_CONTAINER = {
  name: 'app',
  image: `registry.example/app:1@${D}`,
  securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true },
  resources: { limits: { cpu: '1', memory: '1Gi' } },
};

function deployment(pod: Record<string, unknown>, container: Record<string, unknown> = {}): string {
  const spec = {
    automountServiceAccountToken: false,
    containers: [{ ...SAFE_CONTAINER, ...container }],
    ...pod,
  };
  return `# Source: app/templates/deploy.yaml\n${JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'app', namespace: 'ns' },
    spec: { template: { spec } },
  })}`;
}

function run(yaml: string, options: WorkloadRuleOptions = {}) {
  return evaluateWorkloadRules(parseManifests(yaml), options);
}

function rulesOf(yaml: string, options: WorkloadRuleOptions = {}): WorkloadRuleId[] {
  return run(yaml, options).map((f) => f.rule as WorkloadRuleId);
}

describe('a hardened workload', () => {
  it('has no findings', () => {
    expect(run(deployment({}))).toEqual([]);
  });
});

describe('container and pod rules: positive and negative cases', () => {
  const cases: [
    WorkloadRuleId,
    Record<string, unknown>,
    Record<string, unknown>,
    Record<string, unknown>,
    Record<string, unknown>,
  ][] = [
    // rule, positive pod, positive container, negative pod, negative container
    [
      'privileged-container',
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, privileged: true } },
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, privileged: false } },
    ],
    [
      'privileged-container',
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, privileged: 'yes' } },
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, privileged: 'no' } },
    ],
    [
      'privilege-escalation',
      {},
      { securityContext: { runAsNonRoot: true } },
      {},
      { securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: 'false' } },
    ],
    [
      'privilege-escalation',
      {},
      { securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: true } },
      {},
      {},
    ],
    [
      'capability-sys-admin',
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, capabilities: { add: ['CAP_SYS_ADMIN'] } } },
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, capabilities: { drop: ['SYS_ADMIN'] } } },
    ],
    [
      'capability-sys-admin',
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, capabilities: { add: ['ALL'] } } },
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, capabilities: { add: ['NET_BIND_SERVICE'] } } },
    ],
    [
      'capability-sys-module',
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, capabilities: { add: ['SYS_MODULE'] } } },
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, capabilities: { add: ['CHOWN'] } } },
    ],
    [
      'capability-net-raw',
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, capabilities: { add: ['net_raw'] } } },
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, capabilities: { add: ['KILL'] } } },
    ],
    [
      'capability-added',
      {},
      {
        securityContext: {
          ...SAFE_CONTAINER.securityContext,
          capabilities: { add: ['NET_ADMIN', 'SYS_PTRACE'] },
        },
      },
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, capabilities: { add: ['SETUID', 'SETGID'] } } },
    ],
    [
      'run-as-root',
      {},
      { securityContext: { allowPrivilegeEscalation: false } },
      { securityContext: { runAsNonRoot: true } },
      { securityContext: { allowPrivilegeEscalation: false } },
    ],
    [
      'run-as-root',
      { securityContext: { runAsNonRoot: true } },
      { securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: false } },
      {},
      {},
    ],
    [
      'run-as-uid-0',
      { securityContext: { runAsUser: 0 } },
      {},
      { securityContext: { runAsUser: 0 } },
      { securityContext: { ...SAFE_CONTAINER.securityContext, runAsUser: 1000 } },
    ],
    [
      'run-as-uid-0',
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, runAsUser: 0 } },
      {},
      { securityContext: { ...SAFE_CONTAINER.securityContext, runAsUser: 10001 } },
    ],
    [
      'host-path',
      { volumes: [{ name: 'h', hostPath: { path: '/var/log' } }] },
      {},
      { volumes: [{ name: 'e', emptyDir: {} }] },
      {},
    ],
    [
      'runtime-socket',
      { volumes: [{ name: 'h', hostPath: { path: '/var/run/docker.sock' } }] },
      {},
      { volumes: [{ name: 'h', configMap: { name: 'docker.sock' } }] },
      {},
    ],
    ['host-network', { hostNetwork: true }, {}, { hostNetwork: false }, {}],
    ['host-pid', { hostPID: true }, {}, { hostPID: false }, {}],
    ['host-ipc', { hostIPC: 'on' }, {}, {}, {}],
    [
      'host-port',
      {},
      { ports: [{ containerPort: 80, hostPort: 8080 }] },
      {},
      { ports: [{ containerPort: 80, hostPort: 0 }] },
    ],
    [
      'cpu-limits',
      {},
      { resources: { limits: { memory: '1Gi' } } },
      {},
      { resources: { limits: { cpu: '100m', memory: '1Gi' } } },
    ],
    ['memory-limits', {}, { resources: { requests: { memory: '1Gi' }, limits: { cpu: 1 } } }, {}, {}],
    [
      'automount-service-account-token',
      { automountServiceAccountToken: true },
      {},
      { automountServiceAccountToken: false },
      {},
    ],
    [
      'init-container',
      { initContainers: [{ ...SAFE_CONTAINER, name: 'init' }] },
      {},
      { initContainers: [] },
      {},
    ],
    [
      'secret-env',
      {},
      { env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] },
      {},
      { env: [{ name: 'P', valueFrom: { configMapKeyRef: { name: 's', key: 'k' } } }] },
    ],
    [
      'secret-env',
      {},
      { envFrom: [{ secretRef: { name: 's' } }] },
      {},
      { envFrom: [{ configMapRef: { name: 's' } }] },
    ],
  ];
  it.each(cases)('%s', (rule, posPod, posContainer, negPod, negContainer) => {
    expect(rulesOf(deployment(posPod, posContainer))).toContain(rule);
    expect(rulesOf(deployment(negPod, negContainer))).not.toContain(rule);
  });

  it('fills in the Trivy id, PSS level, object, template path, container and field', () => {
    const [f] = run(
      deployment({}, { securityContext: { ...SAFE_CONTAINER.securityContext, privileged: true } }),
    );
    expect(f).toEqual({
      rule: 'privileged-container',
      severity: 'high',
      message: expect.stringContaining("container 'app' of Deployment ns/app is privileged"),
      chart: '',
      trivyId: 'KSV-0017',
      pss: 'baseline',
      object: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app', namespace: 'ns' },
      source: 'app/templates/deploy.yaml',
      file: 'templates/deploy.yaml',
      container: 'app',
      containerKind: 'container',
      field: 'spec.template.spec.containers[0].securityContext.privileged',
    });
  });

  it('messages carry no control characters from object names', () => {
    const yaml = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'evil\u001b[2J\nname' },
      spec: { hostPID: true, automountServiceAccountToken: false, containers: [SAFE_CONTAINER] },
    });
    const [f] = run(yaml);
    expect(f?.rule).toBe('host-pid');
    expect(f?.message).toBe("Pod evil?[2J?name sets hostPID: true (shares the node's namespace)");
  });

  it('checks init containers too and names them', () => {
    const fs = run(
      deployment({
        initContainers: [
          {
            ...SAFE_CONTAINER,
            name: 'init',
            securityContext: { privileged: true, runAsNonRoot: true, allowPrivilegeEscalation: false },
          },
        ],
      }),
    ).filter((f) => f.rule === 'privileged-container');
    expect(fs.map((f) => [f.container, f.containerKind, f.field])).toEqual([
      ['init', 'initContainer', 'spec.template.spec.initContainers[0].securityContext.privileged'],
    ]);
  });

  it('automount: low when defaulted, silent when the ServiceAccount in the render disables it', () => {
    const pod = deployment({ automountServiceAccountToken: undefined, serviceAccountName: 'app' });
    const defaulted = run(pod).filter((f) => f.rule === 'automount-service-account-token');
    expect(defaulted.map((f) => [f.severity, f.trivyId])).toEqual([['low', 'KSV-0036']]);
    const sa =
      '---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: ns}\nautomountServiceAccountToken: false\n';
    expect(rulesOf(`${pod}\n${sa}`)).not.toContain('automount-service-account-token');
    const explicit = run(deployment({ automountServiceAccountToken: true })).filter(
      (f) => f.rule === 'automount-service-account-token',
    );
    expect(explicit.map((f) => f.severity)).toEqual(['medium']);
  });

  it('CronJob pod templates are checked', () => {
    const yaml = JSON.stringify({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: {
        jobTemplate: {
          spec: {
            template: {
              spec: { hostPID: true, containers: [SAFE_CONTAINER], automountServiceAccountToken: false },
            },
          },
        },
      },
    });
    expect(run(yaml).map((f) => [f.rule, f.field])).toEqual([
      ['host-pid', 'spec.jobTemplate.spec.template.spec.hostPID'],
    ]);
  });
});

function rbac(kind: string, body: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: { name: 'r', namespace: 'ns' },
    ...body,
  });
}

describe('RBAC rules', () => {
  it.each([
    [
      'ClusterRoleBinding to cluster-admin',
      rbac('ClusterRoleBinding', {
        roleRef: { kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'x' }],
      }),
      ['cluster-admin-binding'],
      ['critical'],
    ],
    [
      'RoleBinding to cluster-admin',
      rbac('RoleBinding', { roleRef: { kind: 'ClusterRole', name: 'cluster-admin' } }),
      ['cluster-admin-binding'],
      ['critical'],
    ],
    [
      'RoleBinding to edit',
      rbac('RoleBinding', { roleRef: { kind: 'ClusterRole', name: 'edit' } }),
      ['admin-role-binding'],
      ['medium'],
    ],
    [
      'RoleBinding to a Role named cluster-admin',
      rbac('RoleBinding', { roleRef: { kind: 'Role', name: 'cluster-admin' } }),
      [],
      [],
    ],
    [
      'ClusterRoleBinding to another role',
      rbac('ClusterRoleBinding', { roleRef: { kind: 'ClusterRole', name: 'view-things' } }),
      ['cluster-scoped-rbac'],
      ['high'],
    ],
    [
      'ClusterRole * * *',
      rbac('ClusterRole', { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] }),
      ['cluster-scoped-rbac', 'rbac-wildcard'],
      ['high', 'critical'],
    ],
    [
      'ClusterRole list on *',
      rbac('ClusterRole', { rules: [{ apiGroups: [''], resources: ['*'], verbs: ['list'] }] }),
      ['cluster-scoped-rbac', 'rbac-wildcard'],
      ['high', 'critical'],
    ],
    [
      // Not KSV-0046 (watch is not among its verbs), but watching every core resource
      // streams every Secret of the cluster.
      'ClusterRole watch on *',
      rbac('ClusterRole', { rules: [{ apiGroups: [''], resources: ['*'], verbs: ['watch'] }] }),
      ['cluster-scoped-rbac', 'rbac-secrets'],
      ['high', 'critical'],
    ],
    [
      'Role * on pods',
      rbac('Role', { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }] }),
      ['rbac-wildcard'],
      ['critical'],
    ],
    [
      'Role * on configmaps',
      rbac('Role', { rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }] }),
      [],
      [],
    ],
    [
      'ClusterRole reading secrets',
      rbac('ClusterRole', { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] }),
      ['cluster-scoped-rbac', 'rbac-secrets'],
      ['high', 'critical'],
    ],
    [
      'Role reading secrets',
      rbac('Role', { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['watch'] }] }),
      ['rbac-secrets'],
      ['medium'],
    ],
    [
      // Every resource of the core group: Secrets included (Trivy looks for "secrets" only).
      'Role reading every core resource',
      rbac('Role', { rules: [{ apiGroups: [''], resources: ['*'], verbs: ['get', 'list'] }] }),
      ['rbac-secrets'],
      ['medium'],
    ],
    [
      'Role reading every resource of apps (no Secrets there)',
      rbac('Role', { rules: [{ apiGroups: ['apps'], resources: ['*'], verbs: ['get'] }] }),
      [],
      [],
    ],
    [
      'ClusterRole writing every admissionregistration resource',
      rbac('ClusterRole', {
        rules: [{ apiGroups: ['admissionregistration.k8s.io'], resources: ['*'], verbs: ['patch'] }],
      }),
      ['cluster-scoped-rbac', 'rbac-webhook-config'],
      ['high', 'critical'],
    ],
    [
      'Role on configmaps',
      rbac('Role', { rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] }),
      [],
      [],
    ],
    [
      'ClusterRole patching webhooks',
      rbac('ClusterRole', {
        rules: [
          {
            apiGroups: ['admissionregistration.k8s.io'],
            resources: ['validatingwebhookconfigurations'],
            verbs: ['get', 'update'],
          },
        ],
      }),
      ['cluster-scoped-rbac', 'rbac-webhook-config'],
      ['high', 'critical'],
    ],
    [
      'ClusterRole reading webhooks',
      rbac('ClusterRole', {
        rules: [
          {
            apiGroups: ['admissionregistration.k8s.io'],
            resources: ['validatingwebhookconfigurations'],
            verbs: ['get'],
          },
        ],
      }),
      ['cluster-scoped-rbac'],
      ['high'],
    ],
  ])('%s', (_, yaml, rules, severities) => {
    const fs = run(yaml);
    expect(fs.map((f) => f.rule)).toEqual(rules);
    expect(fs.map((f) => f.severity)).toEqual(severities);
  });

  it('names the Trivy check per case', () => {
    const ids = (rules: unknown[], kind = 'ClusterRole') =>
      run(rbac(kind, { rules }))
        .filter((f) => f.rule === 'rbac-wildcard' || f.rule === 'rbac-secrets')
        .map((f) => f.trivyId);
    expect(ids([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }])).toEqual(['KSV-0044']);
    expect(ids([{ apiGroups: [''], resources: ['*'], verbs: ['get'] }])).toEqual(['KSV-0046']);
    // Not covered by a wildcard finding: reported as the Secrets it reaches.
    expect(ids([{ apiGroups: [''], resources: ['*'], verbs: ['get'] }], 'Role')).toEqual(['KSV-0113']);
    expect(ids([{ apiGroups: [''], resources: ['jobs'], verbs: ['*'] }], 'Role')).toEqual(['KSV-0045']);
    expect(ids([{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }])).toEqual(['KSV-0041']);
    expect(ids([{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }], 'Role')).toEqual(['KSV-0113']);
  });
});

describe('kinds, hooks, services and images', () => {
  it.each([
    [
      'admission-webhook',
      'apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: m}\nwebhooks: [{name: a.example.com}]',
      'apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: m}',
    ],
    [
      'crd-in-templates',
      '# Source: app/templates/crd.yaml\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x.example.com}',
      '# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}',
    ],
    [
      'crd-directory',
      '# Source: app/crds/crd.yaml\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x.example.com}',
      '# Source: app/templates/crd.yaml\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x.example.com}',
    ],
    [
      'helm-hook',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, annotations: {helm.sh/hook: "pre-install, pre-upgrade"}}',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, annotations: {helm.sh/hook-weight: "1"}}',
    ],
    [
      'service-load-balancer',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer}',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: ClusterIP}',
    ],
    [
      'service-node-port',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: NodePort}',
      'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: s}\nspec: {type: NodePort}',
    ],
    [
      'service-external-ips',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {externalIPs: [1.2.3.4]}',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {externalIPs: []}',
    ],
  ])('%s', (rule, positive, negative) => {
    expect(rulesOf(positive)).toContain(rule);
    expect(rulesOf(negative)).not.toContain(rule);
  });

  it('hook types are in detail.hooks', () => {
    const [f] = run(
      'apiVersion: batch/v1\nkind: ConfigMap\nmetadata: {name: x, annotations: {helm.sh/hook: "pre-install,post-upgrade"}}',
    );
    expect(f?.detail).toEqual({ hooks: ['pre-install', 'post-upgrade'] });
  });

  it('image-not-pinned and image-tag-latest', () => {
    const image = (img: string) =>
      rulesOf(deployment({}, { image: img })).filter((r) => r.startsWith('image-'));
    expect(image('nginx')).toEqual(['image-not-pinned', 'image-tag-latest']);
    expect(image('nginx:latest')).toEqual(['image-not-pinned', 'image-tag-latest']);
    expect(image('nginx:1.25')).toEqual(['image-not-pinned']);
    expect(image(`nginx@${D}`)).toEqual([]);
    expect(image(`nginx:latest@${D}`)).toEqual([]);
    expect(image('Not A Ref')).toEqual(['image-invalid']);
  });

  it('image-not-allowed: only with allowedImages, prefix at a boundary or glob', () => {
    const yaml = deployment({}, { image: `docker.io/bitnamix/nginx:1@${D}` });
    expect(rulesOf(yaml)).not.toContain('image-not-allowed');
    expect(rulesOf(yaml, { allowedImages: ['docker.io/bitnami'] })).toContain('image-not-allowed');
    expect(rulesOf(yaml, { allowedImages: ['docker.io/bitnamix'] })).not.toContain('image-not-allowed');
    expect(rulesOf(yaml, { allowedImages: ['docker.io/*'] })).not.toContain('image-not-allowed');
    expect(rulesOf(yaml, { allowedImages: [] })).toContain('image-not-allowed');
    const [f] = run(yaml, { allowedImages: [] });
    expect(f).toMatchObject({
      rule: 'image-not-allowed',
      severity: 'high',
      trivyId: 'KSV-0125',
      container: 'app',
    });
  });
});

describe('options and policy', () => {
  it('severity overrides replace defaults (also per-finding ones)', () => {
    const yaml = rbac('Role', { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] });
    expect(run(yaml, { severities: { 'rbac-secrets': 'high' } }).map((f) => f.severity)).toEqual(['high']);
  });

  it('rejects unknown rules, severities and empty allowedImages entries', () => {
    for (const options of [
      { severities: { nope: 'high' } },
      { severities: { 'host-pid': 'urgent' } },
      { allowedImages: [''] },
    ] as WorkloadRuleOptions[]) {
      let err: unknown;
      try {
        run('kind: ConfigMap\n', options);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ChartproofError);
      expect((err as ChartproofError).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('findings feed the mirror gate (block: high)', () => {
    const findings = run(deployment({ hostNetwork: true }), { chart: 'app-1.0.0' });
    const verdict = evaluateFindings(findings, { block: 'high' });
    expect(verdict.blocked).toBe(true);
    expect(verdict.blocking.map((f) => [f.rule, f.chart])).toEqual([['host-network', 'app-1.0.0']]);
    expect(evaluateFindings(run(deployment({})), { block: 'high' }).blocked).toBe(false);
  });

  it('every rule id is listed once with a severity', () => {
    const ids = WORKLOAD_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of WORKLOAD_RULES) {
      expect(['info', 'low', 'medium', 'high', 'critical']).toContain(rule.severity);
      for (const id of rule.trivyIds) expect(id).toMatch(/^KSV-\d{4}$/);
    }
  });

  it('aborts', () => {
    const c = new AbortController();
    c.abort(new Error('stop'));
    expect(() => run(deployment({}), { signal: c.signal })).toThrow('stop');
  });
});
