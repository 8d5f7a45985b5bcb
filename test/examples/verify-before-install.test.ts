import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('examples/verify-before-install.mjs', () => {
  it('verifies and pins a signed chart, refuses unsigned and re-published ones', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(process.cwd(), 'examples', 'verify-before-install.mjs')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    const pinned = /signed {3}(registry\.test\/charts\/payments-api@sha256:[0-9a-f]{64})/.exec(stdout)?.[1];
    expect(pinned).toBeDefined();
    expect(stdout).toContain('verified registry.test/charts/payments-api:1.4.2 (bundle, 1 signature(s))');
    expect(stdout).toContain(`  helm install payments oci://${pinned}\n`);
    expect(stdout).toMatch(
      /refused {2}registry\.test\/charts\/unsigned:0\.1\.0: SIGNATURE_NOT_FOUND: no signatures found/,
    );
    expect(stdout).toMatch(
      /refused {2}registry\.test\/charts\/payments-api:1\.4\.2: SIGNATURE_NOT_FOUND: no signatures found for registry\.test\/charts\/payments-api@sha256:(?!.*\n.*verified registry\.test\/charts\/payments-api:1\.4\.2)/,
    );
    expect(stdout).toContain(`verified ${pinned} (bundle, 1 signature(s))`);
    // The re-published tag must not resolve to the signed digest.
    const refusedLine = stdout
      .split('\n')
      .find((l) => l.startsWith('refused  registry.test/charts/payments-api:1.4.2'));
    expect(refusedLine).toBeDefined();
    expect(refusedLine).not.toContain(pinned!.split('@')[1]);
  });
});
