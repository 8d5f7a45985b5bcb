import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import type { ChartDependency } from '../../src/chart/types.js';
import { run } from '../../src/cli/main.js';
import { hashReq } from '../../src/lock/digest.js';
import { formatLock, readLockFile } from '../../src/lock/lockfile.js';
import { staticCredentials } from '../../src/oci/auth/credentials.js';
import { RegistryClient } from '../../src/oci/index.js';
import { ChartRepoServer, makeChartArchive } from '../helpers/chart-repo.js';
import { captureIo } from '../helpers/cli-io.js';
import { type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { requireTool } from '../helpers/services.js';

const sha = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const missing = requireTool('docker-registry', 'htpasswd', 'openssl');

/**
 * The whole Chart.lock workflow through the CLI, the way a person runs it: a real
 * docker-registry with TLS and htpasswd auth (only --ca-file and `login`), and a
 * classic repository on loopback.
 */
describe.skipIf(missing !== undefined)(
  'deps pin/build/verify against docker-registry (TLS + basic auth)',
  () => {
    let reg: StartedRegistry;
    let repo: ChartRepoServer;
    let root: string;
    let home: string;
    let common: Uint8Array;
    let redis: Uint8Array;

    beforeAll(async () => {
      reg = await startDockerRegistry('tls-basic');
      repo = await new ChartRepoServer().start();
      root = mkdtempSync(join(tmpdir(), 'cp-deps-int-'));
      home = join(root, 'home');
      mkdirSync(home);
      common = await makeChartArchive('common', '1.0.0', { 'templates/_h.tpl': '{{/* h */}}\n' });
      await publishCommon(common);
      redis = await makeChartArchive('redis', '17.3.1');
      repo.publish('redis', '17.3.1', redis);
    });
    afterAll(async () => {
      await reg?.stop();
      await repo?.close();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    /** Pushes a `common-1.0.0` archive to `libs/` as the registry's owner would. */
    async function publishCommon(archive: Uint8Array): Promise<void> {
      const client = new RegistryClient({
        ca: reg.caPem!,
        credentials: staticCredentials({ [reg.host]: { username: reg.username!, password: reg.password! } }),
      });
      try {
        await pushChart(
          client,
          archive,
          { name: 'common', version: '1.0.0', apiVersion: 'v2' },
          `oci://${reg.host}/libs`,
        );
      } finally {
        await client.close();
      }
    }

    async function cli(args: string[], stdin = '') {
      const c = captureIo(stdin, { HOME: home });
      const code = await run(['--ca-file', reg.caFile!, ...args], c.io);
      return { code, out: c.out(), err: c.err() };
    }

    it('login, pin, build, verify offline and online; a swapped chart is caught', async () => {
      expect(
        (await cli(['login', reg.host, '-u', reg.username!, '--password-stdin'], `${reg.password}\n`)).code,
      ).toBe(0);
      const deps: ChartDependency[] = [
        { name: 'common', version: '1.0.0', repository: `oci://${reg.host}/libs` },
        { name: 'redis', version: '17.3.1', repository: repo.url },
      ];
      const dir = join(root, 'app');
      mkdirSync(dir);
      writeFileSync(
        join(dir, 'Chart.yaml'),
        `apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n${deps
          .map((d) => `- name: ${d.name}\n  version: ${d.version}\n  repository: ${d.repository}\n`)
          .join('')}`,
      );
      const digest = hashReq(deps, deps);
      writeFileSync(
        join(dir, 'Chart.lock'),
        formatLock({ digest, generated: '2025-01-01T00:00:00Z', dependencies: deps }),
      );

      const pin = await cli(['deps', 'pin', dir]);
      expect(pin.err).toBe('');
      expect(pin.code).toBe(0);
      const lock = await readLockFile(dir, 'Chart.lock');
      expect(lock.digest).toBe(digest);
      expect(lock.dependencies.map((d) => d.digest)).toEqual([sha(common), sha(redis)]);
      expect(lock.dependencies[0]!.manifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(pin.out).toContain(
        `Pinned: common-1.0.0 ${sha(common)} (oci://${reg.host}/libs/common:1.0.0, manifest ${lock.dependencies[0]!.manifestDigest})`,
      );

      const build = await cli(['deps', 'build', dir]);
      expect(build.code).toBe(0);
      expect(readdirSync(join(dir, 'charts')).sort()).toEqual(['common-1.0.0.tgz', 'redis-17.3.1.tgz']);
      expect(sha(readFileSync(join(dir, 'charts', 'common-1.0.0.tgz')))).toBe(sha(common));

      const verify = await cli(['deps', 'verify', '--online', dir]);
      expect(verify.out).toBe(
        'OK: common-1.0.0 digest matches\nOK: redis-17.3.1 digest matches\nAll dependency checksums verified.\n',
      );
      expect(verify.code).toBe(0);

      // Re-push different content under the same tag on the real registry.
      const evil = await makeChartArchive('common', '1.0.0', {
        'templates/crb.yaml': 'kind: ClusterRoleBinding\n',
      });
      await publishCommon(evil);
      const swapped = await cli(['deps', 'verify', '--online', dir]);
      expect(swapped.code).toBe(1);
      expect(swapped.out).toContain(
        `FAIL: common-1.0.0 digest mismatch\n  Expected: ${sha(common)}\n  Actual: ${sha(evil)}\n  At: oci://${reg.host}/libs/common:1.0.0\n`,
      );
      // Offline the vendored copy still matches its pin: the lock protects what was vetted.
      expect((await cli(['deps', 'verify', dir])).code).toBe(0);
      rmSync(join(dir, 'charts'), { recursive: true });
      const rebuild = await cli(['deps', 'build', dir]);
      expect(rebuild.code).toBe(1);
      expect(rebuild.out).toContain('Nothing written to charts/');
      expect(readdirSync(dir)).not.toContain('charts');
    });
  },
);
