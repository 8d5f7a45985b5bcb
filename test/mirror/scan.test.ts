import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBudget } from '../../src/chart/archive.js';
import { loadChartArchive, loadFiles } from '../../src/chart/load.js';
import { loadChartDirectory } from '../../src/chart/package.js';
import type { Chart } from '../../src/chart/types.js';
import {
  BUILTIN_RULES,
  builtinScanner,
  compareFindings,
  evaluateFindings,
  type Finding,
  runScanners,
  type Scanner,
  SEVERITIES,
  severityAtLeast,
} from '../../src/mirror/index.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { HELM_VECTORS, helmVectorsAvailable } from '../helpers/vectors.js';

// ---- helpers ----

const enc = new TextEncoder();
const DIGEST = `sha256:${'ab'.repeat(32)}`;

function chartYaml(name: string, version: string, apiVersion = 'v2'): string {
  return `apiVersion: ${apiVersion}\nname: ${name}\nversion: ${version}\n`;
}

/** Builds a chart from a path → text map (subcharts as `charts/<name>/...`). */
async function chartFrom(files: Record<string, string>, name = 'app', version = '1.0.0'): Promise<Chart> {
  const all: Record<string, string> = { 'Chart.yaml': chartYaml(name, version), ...files };
  const list = Object.entries(all).map(([n, text]) => ({ name: n, data: enc.encode(text) }));
  return loadFiles(list, createBudget(), 0);
}

async function scan(files: Record<string, string>, options?: Parameters<typeof builtinScanner>[0]) {
  return builtinScanner(options).scan(await chartFrom(files));
}

/** Findings as compact strings `rule severity file:line`. */
function brief(findings: Finding[]): string[] {
  return findings.map((f) => `${f.rule} ${f.severity} ${f.file ?? '-'}:${f.line ?? '-'}`);
}

function rules(findings: Finding[]): string[] {
  return findings.map((f) => f.rule);
}

// ---- severities and policy ----

describe('severityAtLeast', () => {
  it('orders info < low < medium < high < critical', () => {
    expect(SEVERITIES).toEqual(['info', 'low', 'medium', 'high', 'critical']);
    expect(severityAtLeast('high', 'high')).toBe(true);
    expect(severityAtLeast('critical', 'high')).toBe(true);
    expect(severityAtLeast('medium', 'high')).toBe(false);
    expect(severityAtLeast('info', 'low')).toBe(false);
    expect(severityAtLeast('low', 'info')).toBe(true);
  });
});

describe('evaluateFindings', () => {
  const f = (rule: string, severity: Finding['severity']): Finding => ({
    rule,
    severity,
    message: rule,
    chart: 'app-1.0.0',
  });
  const findings = [f('a', 'info'), f('b', 'medium'), f('c', 'high'), f('d', 'critical'), f('e', 'low')];

  it('blocks at or above block and warns at or above warn', () => {
    const v = evaluateFindings(findings, { block: 'high', warn: 'medium' });
    expect(v.blocked).toBe(true);
    expect(rules(v.blocking)).toEqual(['c', 'd']);
    expect(rules(v.warnings)).toEqual(['b']);
    expect(v.findings).toHaveLength(5);
  });

  it('does not block when every finding is below the threshold', () => {
    const v = evaluateFindings([f('b', 'medium'), f('a', 'info')], { block: 'high', warn: 'medium' });
    expect(v.blocked).toBe(false);
    expect(v.blocking).toEqual([]);
    expect(rules(v.warnings)).toEqual(['b']);
  });

  it('never triggers an unset threshold', () => {
    const v = evaluateFindings(findings, {});
    expect(v.blocked).toBe(false);
    expect(v.blocking).toEqual([]);
    expect(v.warnings).toEqual([]);
  });

  it('rejects unknown thresholds', () => {
    expect(() => evaluateFindings([], { block: 'severe' as never })).toThrow(/block must be one of/);
    try {
      evaluateFindings([], { warn: 'x' as never });
    } catch (err) {
      expect((err as { code?: string }).code).toBe('INVALID_ARGUMENT');
    }
  });
});

// ---- runScanners ----

describe('runScanners', () => {
  const ok = (findings: Finding[]): Scanner => ({ name: 'ok', scan: async () => findings });

  it('turns a throwing scanner into a blocking scanner-error finding', async () => {
    const chart = await chartFrom({});
    const broken: Scanner = {
      name: 'trivy',
      scan: async () => {
        throw new Error('exec failed: token=s3cr3t-value');
      },
    };
    const v = await runScanners(chart, [ok([]), broken], { block: 'high' });
    expect(v.blocked).toBe(true);
    expect(v.blocking).toHaveLength(1);
    const e = v.blocking[0] as Finding;
    expect(e.rule).toBe('scanner-error');
    expect(e.severity).toBe('high');
    expect(e.chart).toBe('app-1.0.0');
    expect(e.scanner).toBe('trivy');
    expect(e.message).toContain("scanner 'trivy' failed: exec failed");
  });

  it('treats a malformed result as a scanner error', async () => {
    const chart = await chartFrom({});
    const bad1: Scanner = { name: 'bad1', scan: async () => 'nope' as never };
    const bad2: Scanner = {
      name: 'bad2',
      scan: async () => [{ rule: 'x', severity: 'severe', message: 'm', chart: 'c' }] as never,
    };
    const v = await runScanners(chart, [bad1, bad2], { block: 'high' });
    expect(v.blocking.map((f) => [f.rule, f.scanner])).toEqual([
      ['scanner-error', 'bad1'],
      ['scanner-error', 'bad2'],
    ]);
  });

  it('merges, sorts and tags findings of several scanners', async () => {
    const chart = await chartFrom({
      'templates/rbac.yaml': 'kind: ClusterRole\nmetadata:\n  name: x\n',
    });
    const custom = ok([
      {
        rule: 'z-custom',
        severity: 'low',
        message: 'm',
        chart: 'app-1.0.0',
        file: 'templates/a.yaml',
        line: 3,
      },
    ]);
    const v = await runScanners(chart, [custom, builtinScanner()], { block: 'critical', warn: 'high' });
    expect(v.blocked).toBe(false);
    expect(v.findings.map((f) => [f.rule, f.scanner])).toEqual([
      ['z-custom', 'ok'],
      ['cluster-scoped-rbac', 'builtin'],
    ]);
    expect(rules(v.warnings)).toEqual(['cluster-scoped-rbac']);
  });

  it('rejects when the signal is aborted', async () => {
    const chart = await chartFrom({});
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(runScanners(chart, [builtinScanner()], {}, { signal: ac.signal })).rejects.toThrow('stop');
    const slow: Scanner = {
      name: 'slow',
      scan: (_c, o) =>
        new Promise((_resolve, reject) =>
          o?.signal?.addEventListener('abort', () => reject(o.signal?.reason)),
        ),
    };
    const ac2 = new AbortController();
    const p = runScanners(chart, [slow], { block: 'high' }, { signal: ac2.signal });
    ac2.abort(new Error('cancelled'));
    await expect(p).rejects.toThrow('cancelled');
  });
});

// ---- built-in scanner ----

describe('builtinScanner', () => {
  describe('options', () => {
    it('rejects unknown rules, severities and empty allow-list entries', async () => {
      await expectChartproofError(
        Promise.resolve().then(() => builtinScanner({ severities: { 'no-such-rule': 'high' } as never })),
        'INVALID_ARGUMENT',
        /unknown built-in scan rule/,
      );
      await expectChartproofError(
        Promise.resolve().then(() => builtinScanner({ severities: { 'helm-hook': 'urgent' as never } })),
        'INVALID_ARGUMENT',
      );
      await expectChartproofError(
        Promise.resolve().then(() => builtinScanner({ allowedImages: [' '] })),
        'INVALID_ARGUMENT',
      );
    });

    it('lists every rule once with a valid default severity', () => {
      const ids = BUILTIN_RULES.map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const r of BUILTIN_RULES) expect(SEVERITIES).toContain(r.severity);
    });
  });

  describe('images', () => {
    const values = [
      'image: "nginx:1.25"',
      'pinned:',
      '  image:',
      '    registry: registry.internal.example',
      '    repository: team/app',
      '    tag: "1.0"',
      `    digest: "${DIGEST}"`,
      'sidecar:',
      '  image:',
      '    registry: evil.example',
      '    repository: steal/secrets',
      '    tag: latest',
      'helper:',
      '  repository: ghcr.io/x/helper',
      '  tag: 2',
      'images:',
      '  - quay.io/a/b:1',
      '  - docker.io/library/redis@' + DIGEST,
      'notImages:',
      '  description: "nginx:1.25"',
      '  empty:',
      '    image: ""',
      '  templated:',
      '    image: "{{ .Values.other }}"',
      '  pullPolicy: Always',
      '',
    ].join('\n');
    const template = [
      'apiVersion: v1',
      'kind: Pod',
      'spec:',
      '  containers:',
      '    - name: a',
      '      image: busybox:1.36',
      '    - name: b',
      '      image: "{{ .Values.image }}"',
      '    # image: evil.example/commented:1',
      `    - image: registry.internal.example/app@${DIGEST}`,
      '',
    ].join('\n');

    it('reports unpinned images in values and literal template lines', async () => {
      const findings = await scan({ 'values.yaml': values, 'templates/pod.yaml': template });
      const pinned = findings.filter((f) => f.rule === 'image-not-pinned');
      expect(pinned.map((f) => [f.file, f.line ?? null, f.detail?.image])).toEqual([
        ['templates/pod.yaml', 6, 'busybox:1.36'],
        ['values.yaml', null, 'evil.example/steal/secrets:latest'],
        ['values.yaml', null, 'ghcr.io/x/helper:2'],
        ['values.yaml', null, 'nginx:1.25'],
        ['values.yaml', null, 'quay.io/a/b:1'],
      ]);
      expect(pinned.find((f) => f.detail?.image === 'nginx:1.25')?.detail).toMatchObject({
        normalized: 'docker.io/library/nginx:1.25',
        path: 'image',
      });
      expect(pinned.find((f) => f.detail?.image === 'quay.io/a/b:1')?.detail?.path).toBe('images[0]');
      expect(findings.every((f) => f.severity === 'low')).toBe(true);
      // Without an allow-list nothing is "not allowed".
      expect(rules(findings)).not.toContain('image-not-allowed');
    });

    it('reports images outside the allow-list (globs and prefixes)', async () => {
      const allowedImages = ['registry.internal.example/*', 'docker.io/library/nginx', 'quay.io/a'];
      const findings = await scan(
        { 'values.yaml': values, 'templates/pod.yaml': template },
        { allowedImages },
      );
      const denied = findings.filter((f) => f.rule === 'image-not-allowed');
      expect(denied.every((f) => f.severity === 'high')).toBe(true);
      expect(denied.map((f) => f.detail?.normalized).sort()).toEqual([
        'docker.io/library/busybox:1.36',
        `docker.io/library/redis@${DIGEST}`,
        'evil.example/steal/secrets:latest',
        'ghcr.io/x/helper:2',
      ]);
    });

    it('matches prefixes only at a path, tag or digest boundary', async () => {
      const t = (img: string) => `kind: Pod\nspec:\n  containers:\n    - image: ${img}\n`;
      const denied = async (img: string, allowedImages: string[]) =>
        rules(await scan({ 'templates/p.yaml': t(img) }, { allowedImages })).includes('image-not-allowed');
      expect(await denied('nginxx:1', ['docker.io/library/nginx'])).toBe(true);
      expect(await denied('nginx:1', ['docker.io/library/nginx'])).toBe(false);
      expect(await denied('bitnami/nginx:1', ['docker.io/bitnami'])).toBe(false);
      expect(await denied('bitnamix/nginx:1', ['docker.io/bitnami'])).toBe(true);
      expect(await denied('registry.internal.example/a/b/c:1', ['registry.internal.example/*'])).toBe(false);
      expect(await denied('registry.internal.example.evil/a:1', ['registry.internal.example/*'])).toBe(true);
      expect(await denied('ghcr.io/org/app:v1', ['ghcr.io/org/app:v?'])).toBe(false);
      expect(await denied('ghcr.io/org/app:v10', ['ghcr.io/org/app:v?'])).toBe(true);
      // An empty list allows nothing.
      expect(await denied('nginx:1', [])).toBe(true);
    });

    it('does not report a digest-pinned, allowed image', async () => {
      const findings = await scan(
        {
          'templates/p.yaml': `kind: Pod\nspec:\n  containers:\n    - image: "registry.internal.example/app:1@${DIGEST}"\n`,
        },
        { allowedImages: ['registry.internal.example/*'] },
      );
      expect(findings).toEqual([]);
    });
  });

  describe('cluster-scoped kinds', () => {
    it('reports ClusterRole, ClusterRoleBinding and cluster-admin bindings per document', async () => {
      const rbac = [
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: ClusterRole',
        'metadata:',
        '  name: reader',
        '---',
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: ClusterRoleBinding',
        'metadata:',
        '  name: own',
        'roleRef:',
        '  apiGroup: rbac.authorization.k8s.io',
        '  kind: ClusterRole',
        '  name: reader',
        '---',
        'kind: "ClusterRoleBinding"',
        'roleRef:',
        '  kind: ClusterRole',
        '  name: cluster-admin',
        'subjects:',
        '  - kind: ServiceAccount',
        '    name: default',
        '---',
        'kind: ClusterRoleBinding',
        'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}',
        '',
      ].join('\n');
      const findings = await scan({ 'templates/rbac.yaml': rbac });
      expect(brief(findings)).toEqual([
        'cluster-scoped-rbac high templates/rbac.yaml:2',
        'cluster-scoped-rbac high templates/rbac.yaml:7',
        'cluster-admin-binding critical templates/rbac.yaml:15',
        'cluster-admin-binding critical templates/rbac.yaml:23',
      ]);
      expect(findings[0]?.detail).toEqual({ kind: 'ClusterRole' });
    });

    it('reads a kind followed by a YAML comment', async () => {
      const findings = await scan({ 'templates/r.yaml': 'kind: ClusterRole  # for the operator\n' });
      expect(brief(findings)).toEqual(['cluster-scoped-rbac high templates/r.yaml:1']);
    });

    it('ignores kinds in comments, nested fields, block scalars and values', async () => {
      const findings = await scan({
        'values.yaml': 'rbac:\n  kind: ClusterRole\nnote: "kind: ClusterRoleBinding"\n',
        'templates/rolebinding.yaml': [
          '# kind: ClusterRole',
          '{{/* kind: ClusterRoleBinding',
          'kind: MutatingWebhookConfiguration */}}',
          'kind: RoleBinding',
          'roleRef:',
          '  kind: ClusterRole',
          '  name: cluster-admin',
          '---',
          'kind: ConfigMap',
          'data:',
          '  manifest: |',
          '    kind: ClusterRoleBinding',
          '',
        ].join('\n'),
      });
      expect(findings).toEqual([]);
    });

    it('reports admission webhooks and CRDs in templates; lists crds/ files as info', async () => {
      const findings = await scan({
        'templates/webhook.yaml':
          'kind: MutatingWebhookConfiguration\n---\nkind: ValidatingWebhookConfiguration\n',
        'templates/crd.yaml': 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n',
        'crds/widgets.yaml': 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n',
        'crds/sneaky.yaml': 'kind: ClusterRoleBinding\nroleRef:\n  name: cluster-admin\n',
        'crds/README.md': 'kind: ClusterRole\n',
      });
      expect(brief(findings)).toEqual([
        // A finding without a line sorts before the file's line findings.
        'crd-directory info crds/sneaky.yaml:-',
        'cluster-admin-binding critical crds/sneaky.yaml:1',
        'crd-directory info crds/widgets.yaml:-',
        'crd-in-templates medium templates/crd.yaml:2',
        'admission-webhook high templates/webhook.yaml:1',
        'admission-webhook high templates/webhook.yaml:3',
      ]);
      expect(findings.find((f) => f.file === 'crds/widgets.yaml')?.detail).toEqual({
        kinds: ['CustomResourceDefinition'],
      });
    });
  });

  describe('helm-hook', () => {
    it('reports hook annotations with their types, not other hook annotations or comments', async () => {
      const findings = await scan({
        'templates/job.yaml': [
          'kind: Job',
          'metadata:',
          '  annotations:',
          '    "helm.sh/hook": pre-install,pre-upgrade',
          '    "helm.sh/hook-weight": "-5"',
          '    helm.sh/hook-delete-policy: before-hook-creation',
          '    # helm.sh/hook: post-delete',
          '---',
          'kind: Pod',
          'metadata:',
          '  annotations:',
          "    helm.sh/hook: 'test'",
          '',
        ].join('\n'),
      });
      expect(brief(findings)).toEqual([
        'helm-hook medium templates/job.yaml:4',
        'helm-hook medium templates/job.yaml:12',
      ]);
      expect(findings.map((f) => f.detail?.hooks)).toEqual([['pre-install', 'pre-upgrade'], ['test']]);
    });
  });

  describe('template-lookup', () => {
    it('reports lookup calls inside actions, high for Secrets', async () => {
      const findings = await scan({
        'templates/_helpers.tpl': [
          '{{- define "app.password" -}}',
          '{{- $s := lookup "v1" "Secret" .Release.Namespace "db" -}}',
          '{{- end -}}',
          '{{ (lookup "v1" "ConfigMap" "kube-system" "cfg").data }}',
          '{{ $all := (',
          '  lookup "v1" .Values.kind "" "") }}',
          '',
        ].join('\n'),
      });
      expect(brief(findings)).toEqual([
        'template-lookup high templates/_helpers.tpl:2',
        'template-lookup medium templates/_helpers.tpl:4',
        'template-lookup high templates/_helpers.tpl:6',
      ]);
      expect(findings[0]?.detail).toEqual({ apiVersion: 'v1', kind: 'Secret', namespace: null, name: 'db' });
      expect(findings[1]?.detail).toMatchObject({ kind: 'ConfigMap', namespace: 'kube-system' });
      expect(findings[2]?.detail?.kind).toBeNull();
    });

    it('ignores lookup outside actions, in strings, comments, fields and variables', async () => {
      const findings = await scan({
        'templates/cm.yaml': [
          'kind: ConfigMap',
          'data:',
          '  text: lookup "v1" "Secret" "ns" "name"',
          '  a: {{ "lookup \\"v1\\" \\"Secret\\"" }}',
          '  b: {{ `lookup "v1" "Secret"` }}',
          '  c: {{ .Values.lookup }}',
          '  d: {{ $lookup }}',
          '  {{/* lookup "v1" "Secret" "" "" */}}',
          '',
        ].join('\n'),
      });
      expect(findings).toEqual([]);
    });

    it('scans NOTES.txt for lookup but not for manifest rules', async () => {
      const findings = await scan({
        'templates/NOTES.txt': 'kind: ClusterRole\nimage: busybox\n{{ lookup "v1" "Secret" "" "" }}\n',
      });
      expect(brief(findings)).toEqual(['template-lookup high templates/NOTES.txt:3']);
    });
  });

  describe('v1-requirements', () => {
    const req = 'dependencies:\n  - name: db\n    version: 1.0.0\n    repository: https://example.com\n';
    const v1 = async (files: Record<string, string>) =>
      builtinScanner().scan(
        await loadFiles(
          Object.entries(files).map(([name, t]) => ({ name, data: enc.encode(t) })),
          createBudget(),
          0,
        ),
      );

    it('reports an apiVersion v1 chart with requirements.yaml', async () => {
      const findings = await v1({ 'Chart.yaml': chartYaml('old', '0.1.0', 'v1'), 'requirements.yaml': req });
      expect(brief(findings)).toEqual(['v1-requirements low requirements.yaml:-']);
    });

    it('does not report v1 without requirements.yaml or v2 charts', async () => {
      expect(await v1({ 'Chart.yaml': chartYaml('old', '0.1.0', 'v1') })).toEqual([]);
      expect(await v1({ 'Chart.yaml': chartYaml('new', '0.1.0', 'v2'), 'requirements.yaml': req })).toEqual(
        [],
      );
    });
  });

  describe('container settings', () => {
    it('reports host access, privilege, init containers and secret env in templates', async () => {
      const findings = await scan({
        'templates/ds.yaml': [
          'kind: DaemonSet',
          'spec:',
          '  template:',
          '    spec:',
          '      hostNetwork: true',
          '      hostPID: "true"',
          '      hostIPC: false',
          '      hostNetwork: {{ .Values.hostNetwork }}',
          '      initContainers:',
          '        - name: steal',
          '          securityContext:',
          '            privileged: true',
          '          env:',
          '            - name: TOKEN',
          '              valueFrom:',
          '                secretKeyRef:',
          '                  name: other-app',
          '      volumes:',
          '        - name: root',
          '          hostPath:',
          '            path: /',
          '      # privileged: true',
          '',
        ].join('\n'),
        'templates/empty.yaml':
          'kind: Pod\nspec:\n  initContainers: []\n  securityContext:\n    privileged: false\n',
      });
      expect(brief(findings)).toEqual([
        'host-namespace high templates/ds.yaml:5',
        'host-namespace high templates/ds.yaml:6',
        'init-container info templates/ds.yaml:9',
        'privileged-container high templates/ds.yaml:12',
        'secret-env info templates/ds.yaml:16',
        'host-path high templates/ds.yaml:20',
      ]);
      expect(findings.map((f) => f.detail?.key ?? null).slice(0, 2)).toEqual(['hostNetwork', 'hostPID']);
    });

    it('reports the same settings in values, with their path', async () => {
      const findings = await scan({
        'values.yaml': [
          'agent:',
          '  hostNetwork: true',
          '  hostPID: false',
          '  securityContext:',
          '    privileged: true',
          '  extraInitContainers:',
          '    - name: x',
          '  initContainers: []',
          '  hostPath:',
          '    path: /var/run',
          '  cache:',
          '    hostPath: ""',
          '  env:',
          '    - valueFrom:',
          '        secretKeyRef: {name: s, key: k}',
          '',
        ].join('\n'),
      });
      expect(findings.map((f) => [f.rule, f.file, f.detail?.path])).toEqual([
        ['host-namespace', 'values.yaml', 'agent.hostNetwork'],
        ['host-path', 'values.yaml', 'agent.hostPath'],
        ['init-container', 'values.yaml', 'agent.extraInitContainers'],
        ['privileged-container', 'values.yaml', 'agent.securityContext.privileged'],
        ['secret-env', 'values.yaml', 'agent.env[0].valueFrom.secretKeyRef'],
      ]);
    });
  });

  describe('subcharts, overrides and ordering', () => {
    const files = {
      'templates/rbac.yaml': 'kind: ClusterRole\n',
      'charts/common/Chart.yaml': chartYaml('common', '2.0.0'),
      'charts/common/templates/hook.yaml': 'metadata:\n  annotations:\n    helm.sh/hook: pre-install\n',
      'charts/common/charts/deep/Chart.yaml': chartYaml('deep', '0.3.0'),
      'charts/common/charts/deep/values.yaml': 'image: alpine:3\n',
    };

    it('reports subchart findings with the chart path', async () => {
      const findings = await scan(files);
      expect(findings.map((f) => [f.chart, f.rule])).toEqual([
        ['app-1.0.0', 'cluster-scoped-rbac'],
        ['app-1.0.0 > common-2.0.0', 'helm-hook'],
        ['app-1.0.0 > common-2.0.0 > deep-0.3.0', 'image-not-pinned'],
      ]);
    });

    it('applies severity overrides', async () => {
      const findings = await scan(
        { ...files, 'templates/x.yaml': '{{ lookup "v1" "Secret" "" "" }}\n' },
        { severities: { 'image-not-pinned': 'high', 'template-lookup': 'critical', 'helm-hook': 'info' } },
      );
      expect(findings.map((f) => `${f.rule}=${f.severity}`)).toEqual([
        'cluster-scoped-rbac=high',
        'template-lookup=critical',
        'helm-hook=info',
        'image-not-pinned=high',
      ]);
    });

    it('is deterministic and sorted by chart, file, line, rule', async () => {
      const entries = Object.entries({
        'Chart.yaml': chartYaml('app', '1.0.0'),
        ...files,
        'templates/a.yaml': 'kind: ClusterRoleBinding\nroleRef:\n  name: x\n      image: busybox\n',
        'values.yaml': 'image: nginx\nb:\n  image: redis\n',
      });
      const load = (list: [string, string][]) =>
        loadFiles(
          list.map(([name, t]) => ({ name, data: enc.encode(t) })),
          createBudget(),
          0,
        );
      const scanner = builtinScanner({ allowedImages: ['quay.io/*'] });
      const a = await scanner.scan(await load(entries));
      const b = await scanner.scan(await load([...entries].reverse()));
      expect(b).toEqual(a);
      expect([...a].sort(compareFindings)).toEqual(a);
      for (let i = 1; i < a.length; i++) {
        const p = a[i - 1] as Finding;
        const q = a[i] as Finding;
        const key = (f: Finding) =>
          [f.chart, f.file ?? '', String(f.line ?? 0).padStart(6, '0'), f.rule].join('\0');
        expect(key(p) <= key(q)).toBe(true);
      }
      expect(a.filter((f) => f.file === 'templates/a.yaml').map((f) => `${f.line} ${f.rule}`)).toEqual([
        '1 cluster-scoped-rbac',
        '4 image-not-allowed',
        '4 image-not-pinned',
      ]);
    });

    it('scans a chart loaded from a directory', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'chartproof-scan-'));
      try {
        for (const [name, text] of Object.entries({ 'Chart.yaml': chartYaml('app', '1.0.0'), ...files })) {
          await mkdir(dirname(join(dir, name)), { recursive: true });
          await writeFile(join(dir, name), text);
        }
        const { chart } = await loadChartDirectory(dir);
        expect(await builtinScanner().scan(chart)).toEqual(await scan(files));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});

// ---- Helm's own test charts ----

describe.runIf(helmVectorsAvailable('scan vectors'))('builtinScanner on Helm test charts', () => {
  const load = (path: string) => loadChartArchive(readFileSync(join(HELM_VECTORS, path)));

  /** 1-based line of the first line of `file` in `chart` matching `re`, read independently of the scanner. */
  function lineOf(chart: Chart, file: string, re: RegExp): number {
    const t = chart.templates.find((f) => f.name === file);
    const lines = new TextDecoder().decode(t?.data).split('\n');
    const i = lines.findIndex((l) => re.test(l));
    expect(i).toBeGreaterThanOrEqual(0);
    return i + 1;
  }

  it('frobnitz-1.2.3: only the literal alpine image of the alpine subchart', async () => {
    const chart = await load('pkg/chart/v2/loader/testdata/frobnitz-1.2.3.tgz');
    const alpine = chart.dependencies.find((c) => c.metadata.name === 'alpine') as Chart;
    const line = lineOf(alpine, 'templates/alpine-pod.yaml', /image: "alpine:3\.3"/);
    const findings = await builtinScanner({ allowedImages: ['registry.internal.example/*'] }).scan(chart);
    // apiVersion v1 but dependencies in Chart.yaml (no requirements.yaml): no v1-requirements.
    expect(findings.map((f) => [f.rule, f.severity, f.chart, f.file, f.line, f.detail?.normalized])).toEqual([
      [
        'image-not-allowed',
        'high',
        'frobnitz-1.2.3 > alpine-0.1.0',
        'templates/alpine-pod.yaml',
        line,
        'docker.io/library/alpine:3.3',
      ],
      [
        'image-not-pinned',
        'low',
        'frobnitz-1.2.3 > alpine-0.1.0',
        'templates/alpine-pod.yaml',
        line,
        'docker.io/library/alpine:3.3',
      ],
    ]);
  });

  it('frobnitz.v1: apiVersion v1 with requirements.yaml', async () => {
    const chart = await load('pkg/chart/v2/loader/testdata/frobnitz.v1.tgz');
    const findings = await builtinScanner().scan(chart);
    expect(findings.filter((f) => f.rule === 'v1-requirements').map((f) => [f.chart, f.file])).toEqual([
      ['frobnitz-1.2.3', 'requirements.yaml'],
    ]);
  });

  it('oci-dependent-chart: the test hook, its busybox image and the nginx image in values', async () => {
    const chart = await load('pkg/cmd/testdata/testcharts/oci-dependent-chart-0.1.0.tgz');
    const file = 'templates/tests/test-connection.yaml';
    const findings = await builtinScanner().scan(chart);
    expect(findings.map((f) => [f.rule, f.file, f.line ?? null, f.detail?.hooks ?? f.detail?.image])).toEqual(
      [
        ['helm-hook', file, lineOf(chart, file, /"helm\.sh\/hook": test/), ['test']],
        ['image-not-pinned', file, lineOf(chart, file, /image: busybox/), 'busybox'],
        // values.yaml: image.repository nginx with tag "" (the template falls back to appVersion).
        ['image-not-pinned', 'values.yaml', null, 'nginx'],
      ],
    );
  });

  it('chart-with-compressed-dependencies: Bitnami image maps, mariadb test hook and init container', async () => {
    const chart = await load('pkg/action/testdata/charts/chart-with-compressed-dependencies-2.1.8.tgz');
    const mariadb = chart.dependencies.find((c) => c.metadata.name === 'mariadb') as Chart;
    const runner = 'templates/test-runner.yaml';
    const findings = await builtinScanner({ allowedImages: ['docker.io/bitnami/*'] }).scan(chart);
    const root = 'chart-with-compressed-dependencies-2.1.8';
    const sub = `${root} > mariadb-4.3.1`;
    const pick = (rule: string) =>
      findings.filter((f) => f.rule === rule).map((f) => [f.chart, f.file, f.line ?? null]);

    expect(pick('v1-requirements')).toEqual([[root, 'requirements.yaml', null]]);
    expect(pick('helm-hook')).toEqual([
      [sub, runner, lineOf(mariadb, runner, /"helm\.sh\/hook": test-success/)],
    ]);
    expect(pick('init-container')).toEqual([[sub, runner, lineOf(mariadb, runner, /initContainers:/)]]);
    // registry/repository/tag maps in values.yaml of both charts (wordpress, mariadb, metrics exporter).
    expect(
      findings
        .filter((f) => f.rule === 'image-not-pinned' && f.file === 'values.yaml')
        .map((f) => [f.chart, f.detail?.path, f.detail?.normalized]),
    ).toEqual([
      [root, 'image', 'docker.io/bitnami/wordpress:4.9.8-debian-9'],
      [sub, 'image', 'docker.io/bitnami/mariadb:10.1.34-debian-9'],
      [sub, 'metrics.image', 'docker.io/prom/mysqld-exporter:v0.10.0'],
    ]);
    // Only images outside docker.io/bitnami are denied: the bats test image and the exporter.
    expect(findings.filter((f) => f.rule === 'image-not-allowed').map((f) => f.detail?.normalized)).toEqual([
      'docker.io/dduportal/bats:0.4.0',
      'docker.io/prom/mysqld-exporter:v0.10.0',
    ]);
    // Every secretKeyRef line of the mariadb templates, and nothing cluster-scoped.
    const secretRefLines = mariadb.templates.flatMap((t) =>
      new TextDecoder()
        .decode(t.data)
        .split('\n')
        .flatMap((l, i) => (/^\s*secretKeyRef:/.test(l) ? [`${t.name}:${i + 1}`] : [])),
    );
    expect(secretRefLines.length).toBeGreaterThan(0);
    expect(
      findings
        .filter((f) => f.rule === 'secret-env')
        .map((f) => `${f.file}:${f.line}`)
        .sort(),
    ).toEqual(secretRefLines.sort());
    const forbidden = [
      'cluster-scoped-rbac',
      'cluster-admin-binding',
      'admission-webhook',
      'template-lookup',
    ];
    expect(findings.filter((f) => forbidden.includes(f.rule))).toEqual([]);
  });
});
