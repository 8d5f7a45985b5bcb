import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { loadChartArchive } from '../../src/chart/load.js';
import { pushChart } from '../../src/chart/oci.js';
import { isChartproofError } from '../../src/errors.js';
import {
  AUDIT_CHECKS,
  type AuditedRelease,
  auditReleases,
  parseSecretList,
  renderRevision,
} from '../../src/policy/audit.js';
import { compareDocs, splitReleaseManifest } from '../../src/policy/audit-manifest.js';
import { decodeReleaseSecret } from '../../src/policy/release.js';
import { signLegacy } from '../../src/sign/index.js';
import { helmAvailable, runHelm } from '../helpers/helm.js';
import { describeVectors } from '../helpers/vectors.js';
import {
  auditSetup,
  CHART_FILES,
  IMAGE,
  type Json,
  listOf,
  releaseJson,
  secretOf,
} from './audit-fixtures.js';

const byId = (r: AuditedRelease) => Object.fromEntries(r.checks.map((c) => [c.id, c]));
const statuses = (r: AuditedRelease) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]));
const ALL_PASSED = Object.fromEntries(AUDIT_CHECKS.map((c) => [c, 'passed']));

describe('auditReleases: releases built like Helm stores them', () => {
  it('passes a release installed from the signed chart with user values; verifications cached by digest', async () => {
    const s = await auditSetup();
    const rel = releaseJson(s.chart, { name: 'web', namespace: 'prod', config: { replicas: 3 } });
    expect(rel.manifest).toContain('replicas: 3');
    const one = await auditReleases({ json: listOf([secretOf(rel)]) }, { trust: s.trust, client: s.client });
    expect(one.ok).toBe(true);
    expect(one.summary).toEqual({ releases: 1, passed: 1, failed: 0, ignoredSecrets: 0 });
    const r = one.releases[0]!;
    expect(statuses(r)).toEqual(ALL_PASSED);
    expect(r).toMatchObject({
      namespace: 'prod',
      name: 'web',
      revision: 1,
      status: 'deployed',
      chart: { name: 'app', version: '1.0.0' },
      reference: 'oci://registry.test/charts/app:1.0.0',
      images: [IMAGE],
      result: 'passed',
    });
    expect(r.pinned).toMatch(/^registry\.test\/charts\/app@sha256:[0-9a-f]{64}$/);
    expect(byId(r).manifest!.reason).toBe('1 document(s) and 1 hook(s) equal the re-render');

    // Two more releases of the same chart cost no registry request: cached within the run.
    const before = s.requests();
    await auditReleases({ json: listOf([secretOf(rel)]) }, { trust: s.trust, client: s.client });
    const single = s.requests() - before;
    const three = [
      rel,
      releaseJson(s.chart, { name: 'web', namespace: 'staging' }),
      releaseJson(s.chart, { name: 'api', namespace: 'prod', config: { replicas: 2 } }),
    ];
    const mark = s.requests();
    const all = await auditReleases(
      { json: listOf(three.map(secretOf)) },
      { trust: s.trust, client: s.client },
    );
    expect(all.summary.passed).toBe(3);
    expect(s.requests() - mark).toBe(single);
    expect(all.releases.map((x) => `${x.namespace}/${x.name}`)).toEqual([
      'prod/api',
      'prod/web',
      'staging/web',
    ]);
  });

  it.skipIf(!helmAvailable('audit against a manifest rendered by the real Helm'))(
    'passes a release whose manifest the real Helm rendered (helm template, Helm v4.1.4)',
    async () => {
      const s = await auditSetup();
      const dir = mkdtempSync(join(tmpdir(), 'cp-audit-helm-'));
      try {
        const tgz = join(dir, 'app-1.0.0.tgz');
        writeFileSync(tgz, s.archive);
        const helm = runHelm(['template', 'web', tgz, '-n', 'prod', '--set', 'replicas=3', '--no-hooks']);
        expect(helm.status, helm.stderr).toBe(0);
        const rel = releaseJson(s.chart, {
          name: 'web',
          namespace: 'prod',
          config: { replicas: 3 },
          manifest: helm.stdout,
        });
        expect(rel.manifest).toMatch(/^---\n# Source: app\/templates\/deploy\.yaml\n/);
        const r = (await auditReleases({ secrets: [secretOf(rel)] }, { trust: s.trust, client: s.client }))
          .releases[0]!;
        expect(statuses(r)).toEqual(ALL_PASSED);
        // --set replicas=4 in Helm, 3 in the stored values: caught.
        const other = runHelm(['template', 'web', tgz, '-n', 'prod', '--set', 'replicas=4', '--no-hooks']);
        rel.manifest = other.stdout;
        const f = (await auditReleases({ secrets: [secretOf(rel)] }, { trust: s.trust, client: s.client }))
          .releases[0]!;
        expect(byId(f).manifest!.reason).toBe(
          'document app/templates/deploy.yaml (Deployment web) differs from the re-render at line 10',
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('fails a tampered release: an extra template in the chart and its document in the manifest', async () => {
    const s = await auditSetup();
    const rel = releaseJson(s.chart, { name: 'web', namespace: 'prod' });
    const extra =
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: backdoor';
    rel.chart.templates.push({ name: 'templates/extra.yaml', data: Buffer.from(extra).toString('base64') });
    rel.manifest += `---\n# Source: app/templates/extra.yaml\n${extra}\n`;
    const report = await auditReleases({ secrets: [secretOf(rel)] }, { trust: s.trust, client: s.client });
    expect(report.ok).toBe(false);
    const r = report.releases[0]!;
    expect(r.result).toBe('failed');
    expect(statuses(r)).toMatchObject({
      'chart-signature': 'passed',
      'chart-content': 'failed',
      manifest: 'failed',
    });
    expect(byId(r)['chart-content']!.reason).toBe('template templates/extra.yaml is not in the signed chart');
    expect(byId(r).manifest!.reason).toBe(
      'document app/templates/extra.yaml (ClusterRoleBinding backdoor) is in the release but not in the re-render of the signed chart',
    );
  });

  it('fails a release whose manifest differs from the re-render, naming the line but not its text', async () => {
    const s = await auditSetup();
    const rel = releaseJson(s.chart, { name: 'web', namespace: 'prod' });
    rel.manifest = rel.manifest.replace(`image: ${IMAGE}`, 'image: evil.example/miner:1');
    const report = await auditReleases({ secrets: [secretOf(rel)] }, { trust: s.trust, client: s.client });
    const r = report.releases[0]!;
    expect(statuses(r)).toEqual({
      ...ALL_PASSED,
      manifest: 'failed',
      'image-registries': 'failed',
    });
    const reason = byId(r).manifest!.reason!;
    expect(reason).toBe(
      'document app/templates/deploy.yaml (Deployment web) differs from the re-render at line 15',
    );
    expect(reason).not.toContain('evil');
    expect(byId(r)['image-registries']!.reason).toBe('not from registry.test: evil.example/miner:1');
    expect(r.images).toEqual(['evil.example/miner:1', IMAGE]);
    // A hook edited in the release is caught too.
    const hooked = releaseJson(s.chart, { name: 'web', namespace: 'prod' });
    hooked.hooks[0].manifest += '\n  activeDeadlineSeconds: 1';
    const h = (await auditReleases({ secrets: [secretOf(hooked)] }, { trust: s.trust, client: s.client }))
      .releases[0]!;
    expect(byId(h).manifest!.reason).toBe(
      'hook app/templates/hook.yaml (Job web-migrate) differs from the re-render at line 14',
    );
  });

  it('fails when the values differ from what produced the manifest (config edited after the fact)', async () => {
    const s = await auditSetup();
    const rel = releaseJson(s.chart, { name: 'web', namespace: 'prod', config: { replicas: 3 } });
    rel.config = { replicas: 5 };
    const r = (await auditReleases({ secrets: [secretOf(rel)] }, { trust: s.trust, client: s.client }))
      .releases[0]!;
    expect(statuses(r).manifest).toBe('failed');
    expect(statuses(r)['chart-content']).toBe('passed');
  });

  it('fails an unsigned chart, a chart that is not in the registry, and an unsigned image', async () => {
    const unsigned = await auditSetup({ signChart: false });
    const rel = releaseJson(unsigned.chart, { name: 'web', namespace: 'prod' });
    const a = (
      await auditReleases({ secrets: [secretOf(rel)] }, { trust: unsigned.trust, client: unsigned.client })
    ).releases[0]!;
    expect(statuses(a)).toMatchObject({
      'chart-signature': 'failed',
      'chart-content': 'skipped',
      manifest: 'skipped',
      'image-registries': 'passed',
      'image-signatures': 'passed',
    });
    expect(byId(a)['chart-signature']!.reason).toMatch(
      /^chart oci:\/\/registry\.test\/charts\/app:1\.0\.0 \(registry\.test\/charts\/app@sha256:[0-9a-f]+\) is not signed by a trusted key or identity: no signatures found/,
    );
    expect(byId(a)['chart-content']!.reason).toBe('no verified signed chart');

    const other = releaseJson(unsigned.chart, { name: 'web', namespace: 'prod' });
    other.chart.metadata = { ...other.chart.metadata, name: 'other' };
    const b = (
      await auditReleases({ secrets: [secretOf(other)] }, { trust: unsigned.trust, client: unsigned.client })
    ).releases[0]!;
    expect(byId(b)['chart-signature']!.reason).toBe(
      'chart oci://registry.test/charts/other:1.0.0 is not in the registry',
    );

    const noImageSig = await auditSetup({ signImage: false });
    const c = (
      await auditReleases(
        { secrets: [secretOf(releaseJson(noImageSig.chart, { name: 'web', namespace: 'prod' }))] },
        { trust: noImageSig.trust, client: noImageSig.client },
      )
    ).releases[0]!;
    expect(statuses(c)).toEqual({ ...ALL_PASSED, 'image-signatures': 'failed' });
    expect(byId(c)['image-signatures']!.reason).toMatch(
      /^registry\.test\/apps\/web:1\.0 is not signed by a trusted key/,
    );
    const skipped = (
      await auditReleases(
        { secrets: [secretOf(releaseJson(noImageSig.chart, { name: 'web', namespace: 'prod' }))] },
        { trust: noImageSig.trust, client: noImageSig.client, verifyImages: false },
      )
    ).releases[0]!;
    expect(byId(skipped)['image-signatures']).toMatchObject({ status: 'skipped' });
    expect(skipped.result).toBe('passed');
  });

  it('audits the latest revision by default and every one with allRevisions, rendered as Helm did', async () => {
    const s = await auditSetup();
    const v1 = releaseJson(s.chart, { name: 'web', namespace: 'prod', status: 'superseded' });
    const v2 = releaseJson(s.chart, {
      name: 'web',
      namespace: 'prod',
      revision: 2,
      config: { replicas: 2 },
      status: 'superseded',
    });
    expect(v2.manifest).toContain('revision: "2"');
    expect(v2.manifest).toContain('upgrade: "true"');
    // helm rollback web 1: the manifest and config of revision 1, stored as revision 3.
    const v3 = releaseJson(s.chart, {
      name: 'web',
      namespace: 'prod',
      revision: 3,
      renderRevision: 1,
      description: 'Rollback to 1',
    });
    expect(renderRevision(await decodeReleaseSecret(secretOf(v3)))).toEqual({
      revision: 1,
      isUpgrade: false,
    });
    const list = { json: listOf([v2, v3, v1].map(secretOf)) };
    const latest = await auditReleases(list, { trust: s.trust, client: s.client });
    expect(latest.releases.map((r) => r.revision)).toEqual([3]);
    expect(latest.summary).toEqual({ releases: 1, passed: 1, failed: 0, ignoredSecrets: 2 });
    const all = await auditReleases(list, { trust: s.trust, client: s.client, allRevisions: true });
    expect(all.releases.map((r) => [r.revision, r.status, r.result])).toEqual([
      [1, 'superseded', 'passed'],
      [2, 'superseded', 'passed'],
      [3, 'deployed', 'passed'],
    ]);
    // Rendered as revision 2 without the upgrade flag, the manifest would not match.
    const wrong = releaseJson(s.chart, {
      name: 'web',
      namespace: 'prod',
      revision: 2,
      description: 'Install complete',
    });
    wrong.manifest = v2.manifest;
    wrong.config = v2.config;
    const w = (await auditReleases({ secrets: [secretOf(wrong)] }, { trust: s.trust, client: s.client }))
      .releases[0]!;
    expect(byId(w).manifest!.reason).toMatch(/differs from the re-render at line 8$/);
  });

  it('says when a template never renders the same twice', async () => {
    const files = {
      ...CHART_FILES,
      'templates/secret.yaml':
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: pw\nstringData:\n  password: {{ randAlphaNum 16 | quote }}\n',
    };
    const s = await auditSetup({ files });
    const rel = releaseJson(s.chart, { name: 'web', namespace: 'prod' });
    const r = (await auditReleases({ secrets: [secretOf(rel)] }, { trust: s.trust, client: s.client }))
      .releases[0]!;
    expect(byId(r).manifest!.reason).toBe(
      'document app/templates/secret.yaml (Secret pw) differs from the re-render at line 6 (its template renders differently each time: random, time or crypto functions)',
    );
  });

  it('an owner=helm Secret of another type is a release to Helm: audited (and failed), not ignored', async () => {
    const s = await auditSetup();
    const v1 = secretOf(releaseJson(s.chart, { name: 'web', namespace: 'prod', status: 'superseded' }));
    const v2 = secretOf(releaseJson(s.chart, { name: 'web', namespace: 'prod', revision: 2 }));
    v2.type = 'Opaque'; // Helm lists it (owner=helm) and takes it as the latest revision
    const report = await auditReleases({ secrets: [v1, v2] }, { trust: s.trust, client: s.client });
    expect(report.releases.map((r) => [r.revision, r.result])).toEqual([[2, 'failed']]);
    expect(byId(report.releases[0]!).decode!.reason).toMatch(/Secret type is "Opaque"/);
    expect(report.ok).toBe(false);
  });

  it('lists releases without verifying them when there is no trust config', async () => {
    const s = await auditSetup();
    const rel = releaseJson(s.chart, { name: 'web', namespace: 'prod' });
    const report = await auditReleases({ json: listOf([secretOf(rel), { kind: 'Secret', type: 'Opaque' }]) });
    expect(report.ok).toBe(true);
    expect(report.warnings).toContain('no trust config: releases are listed, not verified');
    expect(report.summary.ignoredSecrets).toBe(1);
    const r = report.releases[0]!;
    expect(statuses(r)).toEqual({
      ...Object.fromEntries(AUDIT_CHECKS.map((c) => [c, 'skipped'])),
      decode: 'passed',
    });
    expect(r.images).toEqual([IMAGE]);
  });

  it('fails Secrets that do not decode and reports the rest', async () => {
    const s = await auditSetup();
    const good = secretOf(releaseJson(s.chart, { name: 'web', namespace: 'prod' }));
    const bad = secretOf(releaseJson(s.chart, { name: 'api', namespace: 'prod' }));
    bad.data.release = Buffer.from('not gzip, not json').toString('base64');
    const report = await auditReleases({ secrets: [good, bad] }, { trust: s.trust, client: s.client });
    expect(report.releases.map((r) => [r.name, r.result])).toEqual([
      ['api', 'failed'],
      ['web', 'passed'],
    ]);
    const r = report.releases[0]!;
    expect(byId(r).decode).toMatchObject({ status: 'failed' });
    expect(byId(r).decode!.reason).toMatch(/^sh\.helm\.release\.v1\.api\.v1: /);
    expect(byId(r)['chart-signature']).toEqual({
      id: 'chart-signature',
      status: 'skipped',
      reason: 'the release Secret does not decode',
    });
  });

  it('keeps to its deadline and its signal; refuses bad options', async () => {
    const s = await auditSetup();
    const list = { json: listOf([secretOf(releaseJson(s.chart, { name: 'web', namespace: 'prod' }))]) };
    s.setHang(true);
    const started = Date.now();
    const err = await auditReleases(list, { trust: s.trust, client: s.client, timeoutMs: 200 }).catch(
      (e) => e,
    );
    expect(isChartproofError(err, 'TIMEOUT')).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    const controller = new AbortController();
    const pending = auditReleases(list, { trust: s.trust, client: s.client, signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    await expect(auditReleases(list, { trust: s.trust })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(auditReleases(list, { concurrency: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('comparing stored manifests document by document', () => {
  it("splits Helm's stored format and labels documents with their kind and name", () => {
    const stored =
      '---\n# Source: app/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    x: "1"\n  name: one\n' +
      '---\n# Source: app/templates/a.yaml\nkind: "Secret"\nmetadata:\n  name: two\n' +
      '---\n# Source: app/templates/b.yaml\nkind: Service\nmetadata:\n  name: Bad\\x1b[31m\n';
    const docs = splitReleaseManifest(stored);
    expect(docs.map((d) => [d.source, d.label])).toEqual([
      ['app/templates/a.yaml', 'ConfigMap one'],
      ['app/templates/a.yaml', 'Secret two'],
      ['app/templates/b.yaml', 'Service'],
    ]);
    const rendered = [docs[0]!, { ...docs[1]!, content: `${docs[1]!.content}\ndata: {}` }];
    expect(compareDocs('document', docs, rendered).differences).toEqual([
      'document app/templates/a.yaml #2 (Secret two) differs from the re-render at line 4',
      'document app/templates/b.yaml (Service) is in the release but not in the re-render of the signed chart',
    ]);
    const many = Array.from({ length: 15 }, (_, i) => ({ source: `t${i}.yaml`, content: 'kind: X' }));
    const listed = compareDocs('hook', [], many).differences;
    expect(listed).toHaveLength(11);
    expect(listed[10]).toBe('and 5 more');
  });

  it('stays linear on hostile manifests', () => {
    const hostile = `kind: A\nmetadata:\n${'    x:    y\n'.repeat(50_000)}Z`;
    const started = Date.now();
    const docs = splitReleaseManifest(`---\n# Source: s\n${hostile}\n`.repeat(3));
    expect(docs).toHaveLength(3);
    expect(docs[0]!.label).toBe('A');
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('parseSecretList: bounded', () => {
  it('accepts a List, a SecretList or one Secret; refuses the rest', () => {
    expect(parseSecretList('{"kind":"List","items":[{"a":1}]}')).toEqual([{ a: 1 }]);
    expect(parseSecretList('{"kind":"SecretList","items":[]}')).toEqual([]);
    expect(parseSecretList('{"kind":"Secret","type":"x"}')).toEqual([{ kind: 'Secret', type: 'x' }]);
    expect(() => parseSecretList('[1]')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => parseSecretList('{"items":')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', source: 'local' }),
    );
    expect(() => parseSecretList('{"kind":"Pod"}')).toThrow(/is not a List of Secrets/);
  });

  it('bounds size, depth and items before or while parsing', () => {
    const deep = `{"items":${'['.repeat(100)}${']'.repeat(100)}}`;
    expect(() => parseSecretList(deep)).toThrow(expect.objectContaining({ code: 'DEPTH_LIMIT_EXCEEDED' }));
    expect(() => parseSecretList('{"items":[]}', { maxBytes: 5 })).toThrow(
      expect.objectContaining({ code: 'SIZE_LIMIT_EXCEEDED' }),
    );
    expect(() => parseSecretList('{"items":[1,2,3]}', { maxItems: 2 })).toThrow(
      expect.objectContaining({ code: 'SIZE_LIMIT_EXCEEDED' }),
    );
  });
});

const RELEASES = join(process.cwd(), '..', 'shared', 'vectors', 'helm-release');
const haveReleases = existsSync(join(RELEASES, 'README.md'));

describeVectors(haveReleases)('auditReleases: the shared Helm release Secrets', () => {
  const read = (f: string): Json => JSON.parse(readFileSync(join(RELEASES, f), 'utf8'));
  const names = ['nginx', 'example', 'demo'];
  const secrets = () => [
    read('sh.helm.release.v1.nginx.v1.secret.json'),
    read('sh.helm.release.v1.example.v1.secret.json'),
    read('sh.helm.release.v1.demo.v1.synthetic-v4.secret.json'),
  ];

  it('decodes every real release and fails the charts that are not in the registry', async () => {
    const s = await auditSetup();
    const report = await auditReleases({ json: listOf(secrets()) }, { trust: s.trust, client: s.client });
    expect(report.releases.map((r) => `${r.namespace}/${r.name}`)).toEqual([
      'default/demo',
      'default/example',
      'stefantest/nginx',
    ]);
    for (const r of report.releases) {
      const decoded = read(
        r.name === 'demo'
          ? 'sh.helm.release.v1.demo.v1.synthetic-v4.decoded.json'
          : `sh.helm.release.v1.${r.name}.v1.decoded.json`,
      );
      expect(r.chart).toEqual({ name: decoded.chart.metadata.name, version: decoded.chart.metadata.version });
      expect(r.status).toBe(decoded.info.status);
      expect(byId(r).decode!.status).toBe('passed');
      expect(byId(r)['chart-signature']!.reason).toBe(
        `chart oci://registry.test/charts/${decoded.chart.metadata.name}:${decoded.chart.metadata.version} is not in the registry`,
      );
      expect(r.result).toBe('failed');
    }
    expect(names.every((n) => report.releases.some((r) => r.name === n))).toBe(true);
    // nginx runs bitnami's image from Docker Hub: not an allowed registry.
    const nginx = report.releases.find((r) => r.name === 'nginx')!;
    expect(nginx.images.some((i) => i.startsWith('docker.io/bitnami/nginx:'))).toBe(true);
    expect(byId(nginx)['image-registries']!.status).toBe('failed');
  });

  it('re-renders the synthetic Helm 4 release from its signed chart: content equal, manifest not', async () => {
    const s = await auditSetup();
    const decoded = read('sh.helm.release.v1.demo.v1.synthetic-v4.decoded.json');
    const files: Record<string, string> = { 'values.yaml': `image: ${decoded.chart.values.image}\n` };
    for (const f of [...decoded.chart.templates, ...decoded.chart.files])
      files[f.name] = Buffer.from(f.data, 'base64').toString('utf8');
    const meta = decoded.chart.metadata;
    files['Chart.yaml'] =
      `apiVersion: ${meta.apiVersion}\nname: ${meta.name}\nversion: ${meta.version}\ndescription: ${meta.description}\nappVersion: ${meta.appVersion}\ntype: ${meta.type}\n`;
    const archive = await makeChartArchive(meta.name, meta.version, files);
    const chart = await loadChartArchive(archive);
    await pushChart(s.client, archive, chart.metadata, 'oci://registry.test/charts');
    const repo = s.client.repository('registry.test/charts/demo');
    await signLegacy(repo, await repo.resolve('0.1.0'), s.signer);
    const report = await auditReleases(
      { secrets: [read('sh.helm.release.v1.demo.v1.synthetic-v4.secret.json')] },
      { trust: s.trust, client: s.client },
    );
    const r = report.releases[0]!;
    expect(statuses(r)).toMatchObject({
      'chart-signature': 'passed',
      'chart-content': 'passed',
      manifest: 'failed',
    });
    // The synthetic manifest stops after metadata; the chart renders a spec.
    expect(byId(r).manifest!.reason).toBe(
      'document demo/templates/deployment.yaml (Deployment demo) differs from the re-render at line 5',
    );
  });
});
