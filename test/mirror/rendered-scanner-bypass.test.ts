import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadChartDirectory } from '../../src/chart/package.js';
import { renderingScanner } from '../../src/mirror/rendered-scanner.js';
import { runScanners } from '../../src/mirror/scan.js';

// A backdoored chart written so that Kubernetes applies what the scanner must catch,
// in YAML shapes the scanner has to read as Kubernetes' decoder reads them.

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const IMAGE = `nginx@sha256:${'1'.repeat(64)}`;

async function chart(template: string) {
  const dir = await mkdtemp(join(tmpdir(), 'cp-rscan-bypass-'));
  dirs.push(dir);
  await mkdir(join(dir, 'templates'), { recursive: true });
  await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: app\nversion: 1.0.0\n');
  await writeFile(join(dir, 'values.yaml'), '{}\n');
  await writeFile(join(dir, 'templates', 'evil.yaml'), template);
  return (await loadChartDirectory(dir)).chart;
}

async function verdict(template: string) {
  return runScanners(await chart(template), [renderingScanner()], { block: 'high' });
}

describe('renderingScanner: YAML shapes Kubernetes applies', () => {
  it('blocks a privileged container written with a << merge key', async () => {
    // go-yaml v2 (sigs.k8s.io/yaml) merges in place: the merged `privileged: true`
    // overrides the `privileged: false` written before it.
    const v = await verdict(`apiVersion: v1
kind: Pod
metadata:
  name: evil
spec:
  automountServiceAccountToken: false
  containers:
    - name: app
      image: ${IMAGE}
      securityContext:
        privileged: false
        <<: {privileged: true}
`);
    expect(v.blocked).toBe(true);
    expect(v.blocking.map((f) => f.rule)).toContain('privileged-container');
  });

  it('blocks a cluster-admin binding inside a List nested in a List', async () => {
    // kubectl's (and Helm's) FlattenListVisitor expands nested lists.
    const v = await verdict(`apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: List
    items:
      - apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: evil}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
        subjects: [{kind: ServiceAccount, name: default, namespace: default}]
`);
    expect(v.blocked).toBe(true);
    expect(v.blocking.map((f) => f.rule)).toContain('cluster-admin-binding');
  });

  it('blocks a privileged pod followed by a `...` line and a second document in the same template', async () => {
    // Helm splits at `---` only; Kubernetes' decoder (go-yaml v2) reads the first
    // document of the piece and ignores the rest. The render must not fail (a failed
    // render only leaves the text heuristics, which miss flow-style securityContexts).
    const v = await verdict(`apiVersion: v1
kind: Pod
metadata: {name: evil}
spec:
  automountServiceAccountToken: false
  containers: [{name: app, image: "${IMAGE}", securityContext: {privileged: true}}]
...
note: never applied
`);
    expect(v.findings.map((f) => f.rule)).not.toContain('render-failed');
    expect(v.blocked).toBe(true);
    expect(v.blocking.map((f) => f.rule)).toContain('privileged-container');
  });
});
