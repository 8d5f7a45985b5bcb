import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { AUDIT_CHECKS } from '../../src/policy/audit.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { captureIo } from '../helpers/cli-io.js';
import { auditSetup, CHART_FILES, listOf, releaseJson, secretOf } from '../policy/audit-fixtures.js';

describe('chartproof audit', () => {
  let registry: MemoryRegistry;
  let server: { host: string; close(): Promise<void> };
  let dir: string;
  let good: string;
  let tampered: string;
  let trustFile: string;

  beforeAll(async () => {
    registry = new MemoryRegistry();
    server = await registry.listen();
    dir = mkdtempSync(join(tmpdir(), 'cp-audit-cli-'));
    const s = await auditSetup({
      registry,
      host: server.host,
      files: { ...CHART_FILES, 'values.yaml': `image: ${server.host}/apps/web:1.0\nreplicas: 1\n` },
    });
    writeFileSync(join(dir, 'cosign.pub'), s.publicKeyPem);
    trustFile = join(dir, 'trust.yaml');
    writeFileSync(
      trustFile,
      `registries: [${JSON.stringify(server.host)}]\nverify:\n  keys: [cosign.pub]\n  tlog: skip\n` +
        `charts:\n  reference: oci://${server.host}/charts/{name}:{version}\n`,
    );
    const rel = releaseJson(s.chart, { name: 'web', namespace: 'prod', config: { replicas: 2 } });
    good = listOf([secretOf(rel)]);
    const bad = releaseJson(s.chart, { name: 'api', namespace: 'prod', config: { replicas: 2 } });
    bad.manifest = bad.manifest.replace('replicas: 2', 'replicas: 20');
    tampered = listOf([secretOf(rel), secretOf(bad)]);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a table from --from FILE and exits 0 when every release passes', async () => {
    const file = join(dir, 'releases.json');
    writeFileSync(file, good);
    const c = captureIo('', { HOME: dir });
    const code = await run(['--plain-http', 'audit', '--from', file, '--config', trustFile], c.io);
    expect(code, c.err()).toBe(0);
    const lines = c.out().split('\n');
    expect(lines[0]).toMatch(
      /^NAMESPACE\s+RELEASE\s+REVISION\s+CHART\s+DECODE\s+SIGNATURE\s+CONTENT\s+MANIFEST\s+REGISTRIES\s+IMAGE-SIGS\s+RESULT$/,
    );
    expect(lines[1]).toMatch(/^prod\s+web\s+1\s+app-1\.0\.0\s+(passed\s+){6}PASSED$/);
    expect(c.out()).toContain('\nAudited 1 release(s): 1 passed, 0 failed\n');
    expect(c.err()).toBe('');
  });

  it('reads stdin with --from -, prints the JSON report and exits 1 when a release fails', async () => {
    const c = captureIo(tampered, { HOME: dir });
    const code = await run(['--plain-http', '--json', 'audit', '--from', '-', '--config', trustFile], c.io);
    expect(code, c.err()).toBe(1);
    const report = JSON.parse(c.out());
    expect(report.ok).toBe(false);
    expect(report.summary).toEqual({ releases: 2, passed: 1, failed: 1, ignoredSecrets: 0 });
    const api = report.releases[0];
    expect(api).toMatchObject({ namespace: 'prod', name: 'api', revision: 1, result: 'failed' });
    expect(api.checks.map((x: { id: string }) => x.id)).toEqual([...AUDIT_CHECKS]);
    expect(api.checks.find((x: { id: string }) => x.id === 'manifest')).toEqual({
      id: 'manifest',
      status: 'failed',
      reason: 'document app/templates/deploy.yaml (Deployment api) differs from the re-render at line 10',
    });
    // text mode names the failure under the table
    const t = captureIo(tampered, { HOME: dir });
    expect(await run(['--plain-http', 'audit', '--from', '-', '--config', trustFile], t.io)).toBe(1);
    expect(t.out()).toContain(
      'prod/api v1 manifest failed: document app/templates/deploy.yaml (Deployment api) differs from the re-render at line 10\n',
    );
    expect(t.out()).toMatch(/\nAudited 2 release\(s\): 1 passed, 1 failed\n$/);
  });

  it('lists releases without a trust config (warning, exit 0)', async () => {
    const c = captureIo(good, { HOME: dir });
    expect(await run(['audit', '--from', '-'], c.io)).toBe(0);
    expect(c.err()).toBe('Warning: no --config: releases are listed, not verified\n');
    expect(c.out().split('\n')[1]).toMatch(/^prod\s+web\s+1\s+app-1\.0\.0\s+passed\s+(skipped\s+){5}PASSED$/);
  });

  it('exits 2 on usage errors and on unreadable or hostile input', async () => {
    const cases: [string[], RegExp][] = [
      [['audit'], /--from FILE\|- or --kubeconfig FILE is required/],
      [['audit', '--from', '-', '--kubeconfig', 'k'], /mutually exclusive/],
      [['audit', '--from', '-', '--context', 'x'], /--context needs --kubeconfig/],
      [['audit', '--from', '-', '--concurrency', '0'], /--concurrency must be an integer from 1 to 32/],
      [['audit', '--from', join(dir, 'missing.json')], /missing\.json/],
      [['audit', 'extra', '--from', '-'], /unexpected argument "extra"/],
    ];
    for (const [args, message] of cases) {
      const c = captureIo('{}', { HOME: dir });
      expect(await run(args, c.io), args.join(' ')).toBe(2);
      expect(c.err()).toMatch(message);
    }
    const deep = captureIo(`{"items":${'['.repeat(64)}${']'.repeat(64)}}`, { HOME: dir });
    expect(await run(['--json', 'audit', '--from', '-'], deep.io)).toBe(2);
    expect(JSON.parse(deep.err()).error).toMatchObject({ code: 'DEPTH_LIMIT_EXCEEDED', exitCode: 2 });
    const notJson = captureIo('kind: List', { HOME: dir });
    expect(await run(['audit', '--from', '-'], notJson.io)).toBe(2);
    expect(notJson.err()).toMatch(/^Error: standard input is not JSON/);
  });
});
