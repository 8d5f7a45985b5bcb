import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('examples/chart-workflow.mjs', () => {
  it('packages reproducibly, pushes, pulls by range and inspects', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(process.cwd(), 'examples', 'chart-workflow.mjs')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(stdout).toContain('repackaged digest equal: true');
    expect(stdout).toMatch(/pushed {3}oci:\/\/registry\.test\/charts\/hello:1\.2\.3/);
    expect(stdout).toMatch(/pulled {3}registry\.test\/charts\/hello@sha256:[0-9a-f]{64}/);
    expect(stdout).toContain('archive identical: true');
    expect(stdout).toMatch(/"name":"hello","version":"1\.2\.3"/);
  });
});
