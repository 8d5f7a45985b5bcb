import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

function check(stdout: string): void {
  expect(stdout).toContain('plan     copy   podinfo-6.5.0 (6.5.0)');
  expect(stdout).toContain('plan     copy   podinfo-6.5.1 (~6.5.0)');
  expect(stdout).toContain('plan     copy   redis-18.1.0 (18.1.0)');
  expect(stdout).toContain('plan     refuse sneaky-0.1.0 (0.1.0)');
  expect(stdout).toMatch(
    /apply {4}copied {2}podinfo-6\.5\.0: [2-9] upstream signature\(s\) carried, signed: legacy\+bundle/,
  );
  expect(stdout).toMatch(/apply {4}copied {2}podinfo-6\.5\.1: [1-9] upstream signature\(s\) carried/);
  expect(stdout).toMatch(/apply {4}copied {2}redis-18\.1\.0: [1-9] upstream signature\(s\) carried/);
  expect(stdout).toMatch(/apply {4}refused sneaky-0\.1\.0: scanner: .*cluster-admin-binding \(critical\)/);
  expect(stdout).toContain('\nMirrored: 3 copied, 0 skipped, 1 refused, 0 failed\n');
  const pinned = [...stdout.matchAll(/^pinned {3}(\S+)$/gm)].map((m) => m[1]);
  expect(pinned).toHaveLength(3);
  for (const p of pinned)
    expect(p).toMatch(/^internal\.test\/charts\/vendor\/(podinfo|redis)@sha256:[0-9a-f]{64}$/);
  expect(stdout).toMatch(
    /verify {3}internal\.test\/charts\/vendor\/podinfo:6\.5\.1: internal key bundle ok, vendor key bundle ok, sha256:[0-9a-f]{64}/,
  );
  expect(stdout).toContain('re-run   Mirrored: 0 copied, 3 skipped, 1 refused, 0 failed\n');
}

describe('examples/mirror-workflow.mjs', () => {
  it('plans, mirrors signed charts, refuses the risky one, and skips everything on a re-run', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(process.cwd(), 'examples', 'mirror-workflow.mjs')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    check(stdout);
  });
});
