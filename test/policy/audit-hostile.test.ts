/**
 * Hostile input to the release audit: which revision of a release the audit
 * picks must be the one Helm reads. Helm's storage driver finds a release's history
 * by the labels `owner=helm,name=<release>` (pkg/storage/storage.go History/Last/Deployed),
 * so a Secret without them is no revision of that release to Helm and must not hide
 * the one Helm does read.
 */
import { describe, expect, it } from 'vitest';
import { type AuditedRelease, auditReleases } from '../../src/policy/audit.js';
import { auditSetup, type Json, releaseJson, secretOf } from './audit-fixtures.js';

const summary = (rs: AuditedRelease[]) => rs.map((r) => [r.name, r.revision, r.result]);

/** Revision 1 as Helm stored it, from a chart with an extra template (not the signed one). */
async function hostileV1(s: Awaited<ReturnType<typeof auditSetup>>): Promise<Json> {
  const rel = releaseJson(s.chart, { name: 'web', namespace: 'prod' });
  const extra =
    'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: backdoor';
  rel.chart.templates.push({ name: 'templates/extra.yaml', data: Buffer.from(extra).toString('base64') });
  rel.manifest += `---\n# Source: app/templates/extra.yaml\n${extra}\n`;
  return secretOf(rel);
}

describe('audit: the revision audited is the one Helm reads', () => {
  it('a higher revision without owner=helm does not hide the revision Helm reads', async () => {
    const s = await auditSetup();
    const v1 = await hostileV1(s);
    const decoy = secretOf(releaseJson(s.chart, { name: 'web', namespace: 'prod', revision: 2 }));
    delete decoy.metadata.labels.owner; // Helm lists owner=helm only: it never reads this one
    const report = await auditReleases({ secrets: [v1, decoy] }, { trust: s.trust, client: s.client });
    expect(report.ok).toBe(false);
    expect(summary(report.releases)).toContainEqual(['web', 1, 'failed']);
    const d = report.releases.find((r) => r.revision === 2)!;
    expect(d.result).toBe('failed');
    expect(d.checks[0]!.reason).toMatch(/Helm does not read it as revision 2 of release "web"/);
  });

  it('a higher revision labelled with another release name does not hide it either', async () => {
    const s = await auditSetup();
    const v1 = await hostileV1(s);
    const decoy = secretOf(releaseJson(s.chart, { name: 'web', namespace: 'prod', revision: 9 }));
    decoy.metadata.labels.name = 'other'; // in the history of "other" to Helm, not of "web"
    const report = await auditReleases({ secrets: [decoy, v1] }, { trust: s.trust, client: s.client });
    expect(report.ok).toBe(false);
    expect(summary(report.releases)).toContainEqual(['web', 1, 'failed']);
    expect(report.releases.find((r) => r.revision === 9)!.result).toBe('failed');
  });

  it('two Secrets claiming the same latest revision are both audited', async () => {
    const s = await auditSetup();
    const good = secretOf(releaseJson(s.chart, { name: 'web', namespace: 'prod' }));
    const bad = await hostileV1(s);
    for (const order of [
      [good, bad],
      [bad, good],
    ]) {
      const report = await auditReleases({ secrets: order }, { trust: s.trust, client: s.client });
      expect(report.releases).toHaveLength(2);
      expect(report.ok).toBe(false);
    }
  });

  it('still audits a normal history: the latest revision, older ones ignored', async () => {
    const s = await auditSetup();
    const v1 = secretOf(releaseJson(s.chart, { name: 'web', namespace: 'prod', status: 'superseded' }));
    const v2 = secretOf(releaseJson(s.chart, { name: 'web', namespace: 'prod', revision: 2 }));
    const report = await auditReleases({ secrets: [v1, v2] }, { trust: s.trust, client: s.client });
    expect(summary(report.releases)).toEqual([['web', 2, 'passed']]);
    expect(report.summary.ignoredSecrets).toBe(1);
  });
});

describe('audit: hooks as Helm will run them', () => {
  it('fails a stored hook whose events or weight differ from the re-render (Helm runs hooks by the stored events)', async () => {
    const s = await auditSetup();
    const rel = releaseJson(s.chart, { name: 'web', namespace: 'prod' });
    expect(rel.hooks).toHaveLength(1);
    // Same document, but recorded to run when the release is deleted or tested.
    rel.hooks[0].events = ['pre-delete', 'test'];
    const a = await auditReleases({ secrets: [secretOf(rel)] }, { trust: s.trust, client: s.client });
    const m = a.releases[0]!.checks.find((c) => c.id === 'manifest')!;
    expect(m.status).toBe('failed');
    expect(m.reason).toMatch(/hook app\/templates\/hook\.yaml .*events or weight/);
    rel.hooks[0].events = ['pre-upgrade', 'pre-install']; // order does not matter to Helm
    rel.hooks[0].weight = -5;
    const b = await auditReleases({ secrets: [secretOf(rel)] }, { trust: s.trust, client: s.client });
    expect(b.releases[0]!.checks.find((c) => c.id === 'manifest')!.status).toBe('failed');
    rel.hooks[0].weight = 0;
    const c = await auditReleases({ secrets: [secretOf(rel)] }, { trust: s.trust, client: s.client });
    expect(c.releases[0]!.checks.find((x) => x.id === 'manifest')!.status).toBe('passed');
  });
});
