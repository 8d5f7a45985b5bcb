import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('examples/audit-releases.mjs', () => {
  it('passes the release installed from the signed chart and fails the tampered one', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(process.cwd(), 'examples', 'audit-releases.mjs')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(stdout).toContain('prod/shop v1 (web 1.2.0): passed\n');
    expect(stdout).toContain('staging/shop v1 (web 1.2.0): failed\n');
    expect(stdout).toContain(
      '  chart-content    failed  template templates/crb.yaml is not in the signed chart\n',
    );
    expect(stdout).toContain(
      '  manifest         failed  document web/templates/crb.yaml (ClusterRoleBinding web-admin) is in the release but not in the re-render of the signed chart\n',
    );
    expect(stdout).toMatch(/ok: false\n$/);
  });
});
