/**
 * listImages and the workload rules on real `helm template` outputs from the shared
 * render corpus (../shared/vectors/helm-render). Expected values were read from the
 * golden YAML files, not from this implementation.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseManifests } from '../../src/render/parse.js';
import { evaluateWorkloadRules, formatImageList, listImages } from '../../src/workloads/index.js';
import { describeVectors } from '../helpers/vectors.js';
import { loadChartDirectory } from '../../src/chart/package.js';
import { builtinScanner } from '../../src/mirror/scan.js';

const CORPUS = join(process.cwd(), '..', 'shared', 'vectors', 'helm-render');
const available = existsSync(join(CORPUS, 'MANIFEST.md'));
if (!available) console.warn(`workload corpus tests skipped: ${CORPUS} not found`);

const read = (rel: string) => parseManifests(readFileSync(join(CORPUS, rel), 'utf8'));
const REAL = 'helm-v4.1.4-realworld/expected';

describeVectors(available)('workloads on the render corpus', () => {
  it('podinfo (features values): exactly the podinfo and redis images, hooks included', () => {
    const inv = listImages(read(`${REAL}/podinfo-features.yaml`));
    expect(inv.findings).toEqual([]);
    expect(inv.images.map((i) => [i.kind, i.name, i.container, i.image, i.source])).toEqual([
      [
        'Deployment',
        'frontend-podinfo',
        'podinfo',
        'ghcr.io/stefanprodan/podinfo:6.14.1',
        'podinfo/templates/deployment.yaml',
      ],
      [
        'Deployment',
        'frontend-podinfo-redis',
        'redis',
        'docker.io/redis:8.8.0',
        'podinfo/templates/redis/deployment.yaml',
      ],
      [
        'Job',
        'frontend-podinfo-post-upgrade',
        'job',
        'ghcr.io/stefanprodan/podinfo:6.14.1',
        'podinfo/templates/hooks/job.yaml',
      ],
      [
        'Job',
        'frontend-podinfo-pre-install',
        'job',
        'ghcr.io/stefanprodan/podinfo:6.14.1',
        'podinfo/templates/hooks/job.yaml',
      ],
    ]);
    expect(formatImageList(inv.images)).toBe(
      'docker.io/library/redis:8.8.0\nghcr.io/stefanprodan/podinfo:6.14.1\n',
    );
    // --no-hooks drops the two hook Jobs and their images.
    expect(listImages(read(`${REAL}/podinfo-features-no-hooks.yaml`)).images).toHaveLength(2);
    const hooks = evaluateWorkloadRules(read(`${REAL}/podinfo-features.yaml`)).filter(
      (f) => f.rule === 'helm-hook',
    );
    expect(hooks.map((f) => [f.object?.name, f.detail?.hooks])).toEqual([
      ['frontend-podinfo-post-upgrade', ['post-upgrade']],
      ['frontend-podinfo-pre-install', ['pre-install']],
    ]);
  });

  it('bitnami nginx (features values): init containers, sidecars and a digest-pinned image', () => {
    const inv = listImages(read(`${REAL}/nginx-features.yaml`));
    expect(inv.findings).toEqual([]);
    expect(inv.images.map((i) => [i.containerKind, i.container, i.normalized, i.pinned])).toEqual([
      [
        'initContainer',
        'preserve-logs-symlinks',
        'registry.example.com/bitnami/nginx@sha256:0000000000000000000000000000000000000000000000000000000000000001',
        true,
      ],
      [
        'initContainer',
        'git-clone-repository',
        'registry.example.com/bitnami/git:2.51.0-debian-12-r0',
        false,
      ],
      ['container', 'git-repo-syncer', 'registry.example.com/bitnami/git:2.51.0-debian-12-r0', false],
      [
        'container',
        'nginx',
        'registry.example.com/bitnami/nginx@sha256:0000000000000000000000000000000000000000000000000000000000000001',
        true,
      ],
      ['container', 'metrics', 'registry.example.com/bitnami/nginx-exporter:1.4.2-debian-12-r9', false],
      ['container', 'log-shipper', 'docker.io/library/busybox:1.36', false],
    ]);
    const findings = evaluateWorkloadRules(read(`${REAL}/nginx-features.yaml`), {
      allowedImages: ['registry.example.com/bitnami'],
    });
    const init = findings.filter((f) => f.rule === 'init-container');
    expect(init.map((f) => [f.object?.name, f.detail?.containers])).toEqual([
      ['web-nginx', ['preserve-logs-symlinks', 'git-clone-repository']],
    ]);
    // Only the busybox sidecar is outside the allowed registry path.
    expect(findings.filter((f) => f.rule === 'image-not-allowed').map((f) => f.container)).toEqual([
      'log-shipper',
    ]);
  });

  it('ingress-nginx: the admission webhook, the ClusterRoles reading secrets and patching webhooks', () => {
    const findings = evaluateWorkloadRules(
      read('ingress-nginx-4.15.1/chartsnap/ingress-nginx.values.snap.yaml'),
    );
    const pick = (rule: string) =>
      findings
        .filter((f) => f.rule === rule)
        .map((f) => [f.object?.kind, f.object?.name, f.severity, f.trivyId]);
    expect(pick('admission-webhook')).toEqual([
      ['ValidatingWebhookConfiguration', 'chartsnap-ingress-nginx-admission', 'high', undefined],
    ]);
    // Findings are ordered by template path: admission-webhooks/job-patch/role.yaml first.
    expect(pick('rbac-secrets')).toEqual([
      ['Role', 'chartsnap-ingress-nginx-admission', 'medium', 'KSV-0113'],
      ['ClusterRole', 'chartsnap-ingress-nginx', 'critical', 'KSV-0041'],
      ['Role', 'chartsnap-ingress-nginx', 'medium', 'KSV-0113'],
    ]);
    expect(pick('rbac-webhook-config')).toEqual([
      ['ClusterRole', 'chartsnap-ingress-nginx-admission', 'critical', 'KSV-0114'],
    ]);
    expect(
      pick('cluster-scoped-rbac')
        .map((x) => `${x[0]}/${x[1]}`)
        .sort(),
    ).toEqual([
      'ClusterRole/chartsnap-ingress-nginx',
      'ClusterRole/chartsnap-ingress-nginx-admission',
      'ClusterRoleBinding/chartsnap-ingress-nginx',
      'ClusterRoleBinding/chartsnap-ingress-nginx-admission',
    ]);
    // Every image is pinned by digest.
    const inv = listImages(read('ingress-nginx-4.15.1/chartsnap/ingress-nginx.values.snap.yaml'));
    expect(inv.images.every((i) => i.pinned)).toBe(true);
    expect(formatImageList(inv.images)).toBe(
      [
        'registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1',
        'registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.9@sha256:01038e7de14b78d702d2849c3aad72fd25903c4765af63cf16aa3398f5d5f2dd',
        '',
      ].join('\n'),
    );
  });

  it('metrics-server: hostNetwork only with the features values', () => {
    const features = evaluateWorkloadRules(read(`${REAL}/metrics-server-features.yaml`));
    expect(
      features
        .filter((f) => f.rule === 'host-network')
        .map((f) => [f.object?.kind, f.object?.name, f.field, f.trivyId]),
    ).toEqual([['Deployment', 'ms-metrics-server', 'spec.template.spec.hostNetwork', 'KSV-0009']]);
    const defaults = evaluateWorkloadRules(read(`${REAL}/metrics-server-defaults.yaml`));
    expect(defaults.some((f) => f.rule === 'host-network')).toBe(false);
  });

  it('kong: the ClusterRoleBinding to its own ClusterRole (not cluster-admin)', () => {
    const findings = evaluateWorkloadRules(
      read('kong-2.52.0/charts/kong/ci/__snapshots__/default-values.snap'),
    );
    const crb = findings.filter((f) => f.object?.kind === 'ClusterRoleBinding');
    expect(crb.map((f) => [f.rule, f.object?.name, f.severity])).toEqual([
      ['cluster-scoped-rbac', 'chartsnap-kong', 'high'],
    ]);
    expect(findings.some((f) => f.rule === 'cluster-admin-binding')).toBe(false);
  });

  it('every golden parses, and every pod container has a valid image', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir).sort()) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (
          /\.(ya?ml|snap)$/.test(name) &&
          /expected|__snapshots__|rendered|chartsnap|deploy\/static/.test(p)
        )
          files.push(p);
      }
    };
    for (const set of ['helm-v4.1.4-realworld', 'ingress-nginx-4.15.1', 'kong-2.52.0', 'otel-helm-charts']) {
      walk(join(CORPUS, set));
    }
    expect(files.length).toBeGreaterThan(60);
    let uses = 0;
    for (const f of files) {
      if (f.endsWith('values.yaml')) continue;
      const manifests = parseManifests(readFileSync(f, 'utf8'));
      const inv = listImages(manifests);
      expect(inv.findings, f).toEqual([]);
      uses += inv.images.length;
    }
    expect(uses).toBeGreaterThan(150);
  });

  it('the figures of docs/images.md and docs/scanning.md: outputs, documents, image uses per set', () => {
    // One output per case of cases.tsv whose expected output is a manifest stream (error
    // cases left out); an otel case is its `rendered/` directory, files in sorted order.
    const sets: Record<string, number> = {
      'helm-v4.1.4-realworld': 6,
      'ingress-nginx-4.15.1': 3,
      'kong-2.52.0': 4,
      'otel-helm-charts': 3,
    };
    const filesUnder = (dir: string): string[] =>
      readdirSync(dir)
        .sort()
        .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n)) : [join(dir, n)]));
    const figures: Record<string, { outputs: number; documents: number; uses: number }> = {};
    for (const [set, column] of Object.entries(sets)) {
      const rows = readFileSync(join(CORPUS, set, 'cases.tsv'), 'utf8')
        .trimEnd()
        .split('\n')
        .slice(1);
      const f = { outputs: 0, documents: 0, uses: 0 };
      for (const row of rows) {
        const expected = join(CORPUS, set, row.split('\t')[column]!);
        if (expected.endsWith('.err')) continue;
        const files = statSync(expected).isDirectory() ? filesUnder(expected) : [expected];
        const manifests = files.flatMap((file) => parseManifests(readFileSync(file, 'utf8')));
        f.outputs++;
        f.documents += manifests.length;
        f.uses += listImages(manifests).images.length;
      }
      figures[set] = f;
    }
    expect(figures).toEqual({
      'helm-v4.1.4-realworld': { outputs: 24, documents: 157, uses: 33 },
      'ingress-nginx-4.15.1': { outputs: 10, documents: 190, uses: 30 },
      'kong-2.52.0': { outputs: 33, documents: 421, uses: 119 },
      'otel-helm-charts': { outputs: 26, documents: 159, uses: 39 },
    });
    const total = Object.values(figures).reduce(
      (a, f) => ({
        outputs: a.outputs + f.outputs,
        documents: a.documents + f.documents,
        uses: a.uses + f.uses,
      }),
      { outputs: 0, documents: 0, uses: 0 },
    );
    expect(total).toEqual({ outputs: 93, documents: 927, uses: 221 });
  });

  it('the comparison table of docs/scanning.md: text heuristics vs rendered rules, per chart', async () => {
    const RANK: Record<string, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
    const blocking = (fs: { rule: string; severity: string }[]) => {
      const out: Record<string, number> = {};
      for (const f of fs) if (RANK[f.severity]! >= RANK.high!) out[f.rule] = (out[f.rule] ?? 0) + 1;
      return out;
    };
    // Expected column and chart directory of each case, per set.
    const sets: Record<string, [number, (cols: string[]) => string]> = {
      'helm-v4.1.4-realworld': [6, (c) => c[1]!],
      'ingress-nginx-4.15.1': [3, () => 'charts/ingress-nginx'],
      'kong-2.52.0': [4, () => 'charts/kong'],
      'otel-helm-charts': [3, (c) => c[1]!],
    };
    const filesUnder = (dir: string): string[] =>
      readdirSync(dir)
        .sort()
        .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n)) : [join(dir, n)]));
    const table: Record<string, { text: string; rendered: string }> = {};
    const rendered: Record<string, { cases: number; findings: number; blocking: Record<string, number> }> =
      {};
    for (const [set, [column, chartOf]] of Object.entries(sets)) {
      for (const row of readFileSync(join(CORPUS, set, 'cases.tsv'), 'utf8')
        .trimEnd()
        .split('\n')
        .slice(1)) {
        const cols = row.split('\t');
        const expected = join(CORPUS, set, cols[column]!);
        if (expected.endsWith('.err')) continue;
        const files = statSync(expected).isDirectory() ? filesUnder(expected) : [expected];
        const findings = evaluateWorkloadRules(files.flatMap((f) => parseManifests(readFileSync(f, 'utf8'))));
        const key = `${set}/${chartOf(cols)}`;
        rendered[key] ??= { cases: 0, findings: 0, blocking: {} };
        const r = rendered[key]!;
        r.cases++;
        r.findings += findings.length;
        for (const [rule, n] of Object.entries(blocking(findings)))
          r.blocking[rule] = (r.blocking[rule] ?? 0) + n;
      }
    }
    for (const [dir, r] of Object.entries(rendered)) {
      const text = await builtinScanner().scan((await loadChartDirectory(join(CORPUS, dir))).chart);
      table[dir.split('/').pop()!] = {
        text: `${text.length} / ${JSON.stringify(blocking(text))}`,
        rendered: `${r.cases} / ${r.findings} / ${JSON.stringify(r.blocking)}`,
      };
    }
    expect(table).toEqual({
      'podinfo-6.14.1': { text: '17 / {}', rendered: '5 / 54 / {"host-port":2}' },
      'metrics-server-3.13.1': {
        text: '15 / {"template-lookup":2,"cluster-scoped-rbac":6,"host-namespace":4,"privileged-container":1}',
        rendered: '6 / 36 / {"cluster-scoped-rbac":18,"host-network":1}',
      },
      'external-dns-1.21.1': {
        text: '5 / {"cluster-scoped-rbac":2}',
        rendered: '4 / 28 / {"cluster-scoped-rbac":6}',
      },
      'nginx-22.1.1': { text: '9 / {"template-lookup":3}', rendered: '3 / 16 / {}' },
      'prometheus-blackbox-exporter-11.17.2': { text: '3 / {}', rendered: '4 / 14 / {}' },
      'capabilities-probe-0.1.0': { text: '0 / {}', rendered: '2 / 0 / {}' },
      'ingress-nginx': {
        text: '18 / {"cluster-scoped-rbac":4,"admission-webhook":1}',
        rendered:
          '10 / 200 / {"cluster-scoped-rbac":40,"rbac-webhook-config":10,"admission-webhook":10,"rbac-secrets":10,"host-port":2}',
      },
      kong: {
        text: '42 / {"template-lookup":7,"admission-webhook":1,"cluster-scoped-rbac":6,"host-namespace":1}',
        rendered: '33 / 651 / {"cluster-scoped-rbac":50,"rbac-secrets":26,"admission-webhook":25}',
      },
      'opentelemetry-collector': {
        text: '8 / {"host-path":5,"cluster-scoped-rbac":2}',
        rendered: '23 / 219 / {"cluster-scoped-rbac":14,"host-port":60}',
      },
      'opentelemetry-operator': {
        text: '15 / {"template-lookup":1,"admission-webhook":4,"cluster-scoped-rbac":3}',
        rendered: '3 / 93 / {"admission-webhook":6,"cluster-scoped-rbac":9}',
      },
    });
  });
});
