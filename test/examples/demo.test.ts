import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The README's quick start runs this demo; keep it honest.
describe('examples/demo.mjs', () => {
  it('pushes, copies with referrers, uses the CLI and refuses tampered content', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(process.cwd(), 'examples', 'demo.mjs')],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(stdout).toContain('(same digest: true)');
    expect(stdout).toMatch(/\$ chartproof tags .*\n6\.5\.0\n/);
    expect(stdout).toContain('1 referrer(s): application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(stdout).toMatch(/tampered blob refused: (DIGEST_MISMATCH|SIZE_MISMATCH|TRAILING_DATA)/);
  });
});
