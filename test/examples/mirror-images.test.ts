import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const INTERNAL = 'internal.test/charts/vendor/images';

function check(stdout: string): void {
  expect(stdout).toMatch(
    /^chart {4}copied {2}web-1\.4\.2 -> internal\.test\/charts\/vendor\/web@sha256:[0-9a-f]{64}$/m,
  );
  const images = [
    ...stdout.matchAll(
      /^image {4}copied {2}(\S+) -> (\S+)\n {9}(\d+) upstream signature\(s\) carried, signed: (\S+)\n {9}upstream signature verified: (\S+)$/gm,
    ),
  ];
  expect(images.map((m) => m[1]!.replace(/@.*/, ''))).toEqual([
    'upstream.test/acme/exporter:0.9.0',
    'upstream.test/acme/web:1.4.2',
  ]);
  for (const [, source, pinned, carried, signed, verified] of images) {
    expect(verified).toBe('true');
    // Same digest at the target as upstream resolved it; the vendor's legacy and bundle
    // signatures travel with the image, and ours is added in both formats.
    const digest = pinned!.slice(pinned!.indexOf('@') + 1);
    expect(pinned).toMatch(
      new RegExp(`^${INTERNAL.replaceAll('.', '\\.')}/acme/(web|exporter)@sha256:[0-9a-f]{64}$`),
    );
    if (source!.includes('@')) expect(source!.endsWith(`@${digest}`)).toBe(true);
    expect(Number(carried)).toBeGreaterThanOrEqual(2);
    expect(signed).toBe('legacy+bundle');
  }
  expect(stdout).toContain(
    '\nMirrored: 1 copied, 0 skipped, 0 refused, 0 failed; images: 2 copied, 0 skipped, 0 refused, 0 failed\n',
  );
  expect(stdout).toMatch(
    /^overlay {2}sha256:[0-9a-f]{64} \(values-internal\.yaml\), signature verified: (bundle|legacy)$/m,
  );
  expect(stdout).toContain(`\n  image:\n    registry: ${INTERNAL}\n`);

  // What the install deploys: only internal images, the exporter still pinned by its digest.
  const deployed = [...stdout.matchAll(/^deploys {2}(\S+)$/gm)].map((m) => m[1]!);
  const exporter = images.find((m) => m[1]!.includes('exporter'))![2]!;
  expect(deployed.sort()).toEqual([
    `${INTERNAL}/acme/exporter:0.9.0${exporter.slice(exporter.indexOf('@'))}`,
    `${INTERNAL}/acme/web:1.4.2`,
  ]);
  expect(stdout).toContain(
    '\n$ helm install web oci://internal.test/charts/vendor/web --version 1.4.2 -f values-internal.yaml\n',
  );
}

describe('examples/mirror-images.mjs', () => {
  it('mirrors a chart with its signed images and installs it with the overlay from internal images only', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(process.cwd(), 'examples', 'mirror-images.mjs')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    check(stdout);
  });
});
