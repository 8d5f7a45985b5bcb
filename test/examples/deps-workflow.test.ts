import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('examples/deps-workflow.mjs', () => {
  it('pins, builds, verifies, then catches a dependency swapped upstream', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(process.cwd(), 'examples', 'deps-workflow.mjs')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    const pinned = /pinned {3}common-1\.0\.0 (sha256:[0-9a-f]{64})/.exec(stdout)?.[1];
    expect(pinned).toBeDefined();
    expect(stdout).toContain(`- digest: ${pinned}\n  manifestDigest: sha256:`);
    expect(stdout).toContain('build    ok: wrote charts/common-1.0.0.tgz');
    expect(stdout).toContain('verify   offline ok: true, online ok: true');
    expect(stdout).toContain(
      'swapped  online ok: false; common-1.0.0 digest-mismatch at oci://registry.test/charts/common:1.0.0',
    );
    expect(stdout).toContain(`expected ${pinned}`);
    expect(stdout).toMatch(/actual {3}sha256:[0-9a-f]{64}/);
    expect(stdout).not.toMatch(new RegExp(`actual {3}${pinned}`));
    expect(stdout).toContain('rebuild  ok: false; digest-mismatch; wrote 0 files');
  });
});
