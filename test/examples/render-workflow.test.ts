import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('examples/render-workflow.mjs', () => {
  it('renders two versions and names what the backdoored one adds', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(process.cwd(), 'examples', 'render-workflow.mjs')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(stdout).toContain('# Source: web/templates/deployment.yaml\n');
    expect(stdout).toContain('  name: shop-web\n');
    expect(stdout).toContain('  replicas: 3\n');
    expect(stdout).toContain('new object  ClusterRoleBinding/shop-web-admin');
    expect(stdout).toContain('new image   initContainers: telemetry ghcr.io/evil/collector:latest');
    expect(stdout).not.toContain('new image   containers:');
  });
});
