/**
 * Dependencies with the real Helm v4.1.4 as the peer: `chartproof deps update` against
 * `helm dependency update` (a classic repository on loopback and an OCI repository in
 * the Debian docker-registry), and a Helm-written Chart.lock pinned by `chartproof deps
 * pin` that `helm dependency build`, `helm lint` and `helm template` still accept.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import { readLockFile } from '../../src/lock/lockfile.js';
import { RegistryClient } from '../../src/oci/index.js';
import { ChartRepoServer, makeChartArchive } from '../helpers/chart-repo.js';
import { type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { helmAvailable, helmHome } from '../helpers/helm.js';
import { chartproof, helmEnv, helmOk, startStaticServer, writeTree } from '../helpers/helm-peer.js';
import { requireTool } from '../helpers/services.js';

const HAVE_HELM = helmAvailable('helm dependency interop');
const missing = requireTool('docker-registry');
const SKIP = !HAVE_HELM || missing !== undefined;

/** Chart.lock without its `generated` line (the only part that differs between runs). */
const withoutGenerated = (lock: string) => lock.replace(/^generated: .*\n/m, '');
/** Chart.lock without chartproof's per-dependency pins. */
const withoutPins = (lock: string) => {
  let out = lock.replace(/^ {2}(digest|manifestDigest): .*\n/gm, '');
  for (let prev = ''; prev !== out; ) {
    prev = out;
    out = out.replace(/^- (digest|manifestDigest): .*\n {2}/m, '- ');
  }
  return out;
};

describe.skipIf(SKIP)('helm dependency interop (loopback index.yaml + docker-registry)', () => {
  let reg: StartedRegistry;
  let repo: { url: string; stop(): Promise<void> };
  let client: RegistryClient;
  let root: string;
  let home: string;
  let buildHome: string;
  let n = 0;

  beforeAll(async () => {
    reg = await startDockerRegistry('plain');
    client = new RegistryClient({ plainHttp: true });
    root = mkdtempSync(join(tmpdir(), 'cp-helm-deps-'));
    home = helmHome();
    // A classic repository: index.yaml (with digests) and archives, served from another process.
    const index = new ChartRepoServer();
    for (const v of ['17.3.1', '17.4.0', '18.0.0', '18.1.0-rc.1'])
      index.publish('redis', v, await makeChartArchive('redis', v, { 'templates/cm.yaml': cm('redis') }));
    const repoDir = join(root, 'repo');
    writeTree(repoDir, { 'index.yaml': index.indexYaml() });
    for (const [file, data] of index.files) writeTree(repoDir, { [file]: data });
    repo = await startStaticServer(repoDir);
    // `helm dependency build` needs classic repositories added; update works without.
    buildHome = helmHome();
    helmOk(['repo', 'add', 'local', repo.url], { home: buildHome });
    for (const v of ['1.0.0', '1.1.0', '2.0.0']) {
      const a = await makeChartArchive('common', v, { 'templates/cm.yaml': cm('common') });
      await pushChart(
        client,
        a,
        { apiVersion: 'v2', name: 'common', version: v },
        `oci://${reg.host}/charts`,
      );
    }
  });
  afterAll(async () => {
    await client?.close();
    await repo?.stop();
    await reg?.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
    rmSync(buildHome, { recursive: true, force: true });
  });

  function cm(name: string): string {
    return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}-{{ .Release.Name }}\ndata:\n  version: {{ .Chart.Version | quote }}\n`;
  }

  /** A parent chart depending on redis (classic repo) and common (OCI), by range. */
  function parent(): string {
    const dir = join(root, `c${n++}`, 'app');
    writeTree(dir, {
      'Chart.yaml':
        'apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n' +
        `  - name: redis\n    version: ^17.3.0\n    repository: ${repo.url}\n` +
        `  - name: common\n    version: ~1.0 || ~1.1\n    repository: oci://${reg.host}/charts\n`,
      'templates/cm.yaml': cm('app'),
    });
    return dir;
  }

  it('deps update resolves, vendors and locks what helm dependency update does, with the same output lines', async () => {
    const helmDir = parent();
    const oursDir = parent();
    const h = helmOk(['dependency', 'update', helmDir, '--plain-http'], { home });
    const ours = await chartproof(['--plain-http', 'deps', 'update', oursDir, '--no-pin']);
    expect(ours.code, ours.err).toBe(0);

    const helmLock = readFileSync(join(helmDir, 'Chart.lock'), 'utf8');
    const ourLock = readFileSync(join(oursDir, 'Chart.lock'), 'utf8');
    expect(helmLock).toContain('version: 17.4.0');
    expect(helmLock).toContain('version: 1.1.0');
    expect(withoutGenerated(ourLock)).toBe(withoutGenerated(helmLock));

    const files = (d: string) => readdirSync(join(d, 'charts')).sort();
    expect(files(oursDir)).toEqual(files(helmDir));
    for (const f of files(helmDir))
      expect(readFileSync(join(oursDir, 'charts', f)).equals(readFileSync(join(helmDir, 'charts', f)))).toBe(
        true,
      );

    // Helm's lines, in Helm's order (chartproof adds its own lines after them); like Helm,
    // the OCI `Pulled:`/`Digest:` lines go to stderr.
    const helmLines = h.stdout.trimEnd().split('\n');
    expect(helmLines).toContain('Saving 2 charts');
    expect(ours.out.split('\n').slice(0, helmLines.length)).toEqual(helmLines);
    expect(ours.err.trimEnd()).toBe(h.stderr.trimEnd());
  });

  it('deps update resolves @name through Helm\u2019s repositories.yaml (HELM_CONFIG_HOME) like Helm', async () => {
    const mk = () => {
      const dir = join(root, `c${n++}`, 'app');
      writeTree(dir, {
        'Chart.yaml':
          'apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: redis\n    version: 17.x\n    repository: "@local"\n',
      });
      return dir;
    };
    const helmDir = mk();
    const oursDir = mk();
    const h = helmOk(['dependency', 'update', helmDir], { home: buildHome });
    const ours = await chartproof(['deps', 'update', oursDir, '--no-pin'], helmEnv(buildHome));
    expect(ours.code, ours.err).toBe(0);
    const helmLines = h.stdout.trimEnd().split('\n');
    expect(helmLines[0]).toBe('Hang tight while we grab the latest from your chart repositories...');
    expect(ours.out.split('\n').slice(0, helmLines.length)).toEqual(helmLines);
    const helmLock = readFileSync(join(helmDir, 'Chart.lock'), 'utf8');
    expect(helmLock).toContain(`repository: ${repo.url}`); // @local rewritten to its URL
    expect(withoutGenerated(readFileSync(join(oursDir, 'Chart.lock'), 'utf8'))).toBe(
      withoutGenerated(helmLock),
    );
  });

  it('deps update packages file:// dependencies as Helm does (same tar stream, same lock)', async () => {
    const mk = () => {
      const base = join(root, `c${n++}`);
      writeTree(base, {
        'app/Chart.yaml':
          'apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: lib\n    version: ">=0.1.0"\n    repository: file://../lib\n',
        'lib/Chart.yaml': 'apiVersion: v2\nname: lib\nversion: 0.3.0\nappVersion: 1.10\n',
        'lib/templates/cm.yaml': cm('lib'),
        'lib/files/ünïcødé.txt': 'x\n',
      });
      return join(base, 'app');
    };
    const helmDir = mk();
    const oursDir = mk();
    helmOk(['dependency', 'update', helmDir], { home });
    const ours = await chartproof(['deps', 'update', oursDir, '--no-pin']);
    expect(ours.code, ours.err).toBe(0);
    const tar = (d: string) => gunzipSync(readFileSync(join(d, 'charts', 'lib-0.3.0.tgz')));
    expect(tar(oursDir).equals(tar(helmDir))).toBe(true);
    expect(withoutGenerated(readFileSync(join(oursDir, 'Chart.lock'), 'utf8'))).toBe(
      withoutGenerated(readFileSync(join(helmDir, 'Chart.lock'), 'utf8')),
    );
  });

  it('deps update with pins: Helm reads the lock and builds from it; the pins verify', async () => {
    const dir = parent();
    const up = await chartproof(['--plain-http', 'deps', 'update', dir]);
    expect(up.code, up.err).toBe(0);
    const lock = await readLockFile(dir, 'Chart.lock');
    expect(lock.dependencies.every((d) => d.digest?.startsWith('sha256:'))).toBe(true);
    expect(lock.dependencies[1]!.manifestDigest).toMatch(/^sha256:/);
    rmSync(join(dir, 'charts'), { recursive: true });
    const build = helmOk(['dependency', 'build', dir, '--plain-http'], { home: buildHome });
    expect(build.stdout + build.stderr).not.toMatch(/out of sync/i);
    const verify = await chartproof(['deps', 'verify', dir]);
    expect(verify.code, verify.out).toBe(0);
    expect(verify.out).toContain('All dependency checksums verified.');
  });

  it('template --repo renders what helm template --repo renders (same version picked, same bytes)', async () => {
    // Chart.Version in the output tells which version each picked; --devel is ignored with --version.
    const picked: (string | undefined)[] = [];
    for (const flags of [
      ['--version', '^17.3.0'],
      ['--version', '18.0.0'],
      [],
      ['--devel'],
      ['--devel', '--version', '^18.0.0'],
    ]) {
      const h = helmOk(['template', 'rel', 'redis', '--repo', repo.url, ...flags], { home });
      const ours = await chartproof(['template', 'rel', 'redis', '--repo', repo.url, ...flags]);
      expect(ours.code, ours.err).toBe(0);
      expect(ours.out).toBe(h.stdout);
      expect(ours.out).toContain('name: redis-rel');
      picked.push(/version: "([^"]+)"/.exec(ours.out)?.[1]);
    }
    expect(picked).toEqual(['17.4.0', '18.0.0', '18.0.0', '18.1.0-rc.1', '18.0.0']);
    const img = await chartproof(['images', 'rel', 'redis', '--repo', repo.url, '--version', '^17.3.0']);
    expect(img.code, img.err).toBe(0);
  });

  it('a Chart.lock from helm dependency update, pinned by chartproof, still works for build, lint and template', async () => {
    const dir = parent();
    helmOk(['dependency', 'update', dir, '--plain-http'], { home });
    const helmLock = readFileSync(join(dir, 'Chart.lock'), 'utf8');
    const pin = await chartproof(['--plain-http', 'deps', 'pin', dir]);
    expect(pin.code, pin.out + pin.err).toBe(0);
    const pinned = readFileSync(join(dir, 'Chart.lock'), 'utf8');
    expect(pinned).not.toBe(helmLock);
    expect(withoutPins(pinned)).toBe(helmLock); // only the pins were added

    const copy = join(root, 'pinned-copy', 'app');
    cpSync(dir, copy, { recursive: true });
    rmSync(join(copy, 'charts'), { recursive: true });
    helmOk(['dependency', 'build', copy, '--plain-http'], { home: buildHome });
    expect(readdirSync(join(copy, 'charts')).sort()).toEqual(['common-1.1.0.tgz', 'redis-17.4.0.tgz']);
    helmOk(['lint', copy], { home });
    const rendered = helmOk(['template', 'rel', copy], { home }).stdout;
    expect(rendered).toContain('name: redis-rel');
    expect(rendered).toContain('name: common-rel');
    const verify = await chartproof(['deps', 'verify', copy]);
    expect(verify.code, verify.out).toBe(0);
  });
});
