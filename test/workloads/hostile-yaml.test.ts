import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../src/render/parse.js';
import { evaluateWorkloadRules, listImages } from '../../src/workloads/index.js';

// Documents shaped so that Kubernetes (go-yaml v2 through sigs.k8s.io/yaml, and
// cli-runtime's list flattening, which Helm uses) applies something the rules must see.

const D = `sha256:${'0'.repeat(64)}`;

const rules = (yaml: string) => evaluateWorkloadRules(parseManifests(yaml)).map((f) => f.rule);

describe('<< merge keys', () => {
  const pod = (sc: string) => `apiVersion: v1
kind: Pod
metadata: {name: p}
x: &priv {privileged: true}
spec:
  containers:
    - name: app
      image: a@${D}
      securityContext:
${sc}
`;

  it('are applied (inline map, alias, sequence of aliases)', () => {
    expect(rules(pod('        <<: {privileged: true}'))).toContain('privileged-container');
    expect(rules(pod('        <<: *priv'))).toContain('privileged-container');
    expect(rules(pod('        <<: [*priv, {privileged: false}]'))).toContain('privileged-container');
  });

  it('override the keys written before them, as go-yaml v2 does; keys after them win', () => {
    expect(rules(pod('        privileged: false\n        <<: *priv'))).toContain('privileged-container');
    expect(rules(pod('        <<: *priv\n        privileged: false'))).not.toContain('privileged-container');
    // In a sequence the first map wins.
    expect(rules(pod('        <<: [{privileged: false}, *priv]'))).not.toContain('privileged-container');
  });

  it('a quoted "<<" is an ordinary key', () => {
    expect(rules(pod('        "<<": {privileged: true}'))).not.toContain('privileged-container');
  });

  it('reach pod-level fields and volumes', () => {
    const found = rules(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: d}
spec:
  template:
    spec:
      <<: {hostPID: true, volumes: [{name: root, hostPath: {path: /}}]}
      containers: [{name: app, image: a@${D}}]
`);
    expect(found).toContain('host-pid');
    expect(found).toContain('host-path');
  });
});

describe('lists, as kubectl and Helm flatten them', () => {
  const crb = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: evil}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: Group, name: 'system:authenticated'}]`;
  const indent = (s: string, n: number) =>
    s
      .split('\n')
      .map((l, i) => (i === 0 ? l : ' '.repeat(n) + l))
      .join('\n');

  it('expands a List nested in a List', () => {
    const yaml = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: List
    items:
      - ${indent(crb, 8)}
`;
    const found = evaluateWorkloadRules(parseManifests(yaml));
    const f = found.find((x) => x.rule === 'cluster-admin-binding');
    expect(f?.object).toMatchObject({ kind: 'ClusterRoleBinding', name: 'evil' });
    expect(f?.field).toBe('items[0].items[0].roleRef');
  });

  it('gives items without kind and apiVersion the kind and apiVersion of a typed list', () => {
    const yaml = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBindingList
items:
  - metadata: {name: evil}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
    subjects: [{kind: Group, name: 'system:authenticated'}]
`;
    expect(rules(yaml)).toContain('cluster-admin-binding');
    const pods = `apiVersion: v1
kind: PodList
items:
  - metadata: {name: p}
    spec: {containers: [{name: c, image: 'evil:latest'}]}
`;
    expect(listImages(parseManifests(pods)).images.map((i) => i.image)).toEqual(['evil:latest']);
  });

  it('expands the items of any object that has an items list (and still checks the object)', () => {
    const yaml = `apiVersion: v1
kind: ConfigMap
metadata: {name: harmless}
items:
  - ${indent(crb, 4)}
`;
    expect(rules(yaml)).toContain('cluster-admin-binding');
  });
});

describe('effective runAsUser', () => {
  const pod = (podSc: string, sc: string) => `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext: ${podSc}
  containers:
    - name: app
      image: a@${D}
      securityContext: ${sc}
`;

  it("a container's null runAsUser leaves the pod's 0 in force", () => {
    expect(rules(pod('{runAsUser: 0}', '{runAsUser: null}'))).toContain('run-as-uid-0');
    expect(rules(pod('{runAsUser: 0}', '{runAsUser: 1000}'))).not.toContain('run-as-uid-0');
  });

  it('reads YAML 1.1 spellings of 0 as go-yaml v2 does', () => {
    for (const zero of ['0b0', '0_0', '-0b0', '+0']) {
      expect(rules(pod('{}', `{runAsUser: ${zero}}`))).toContain('run-as-uid-0');
    }
    expect(rules(pod('{}', '{runAsUser: 0b1}'))).not.toContain('run-as-uid-0');
  });
});

describe('a `...` line inside a document', () => {
  it('ends the document: the first one is read, the rest ignored (go-yaml v2)', () => {
    const m = parseManifests('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n...\nkind: Secret\n');
    expect(m.map((x) => x.object)).toEqual([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }]);
  });

  it('still fails when nothing comes before it', () => {
    expect(() => parseManifests('...\nkind: Pod\n')).toThrow(/multiple documents/);
  });
});
