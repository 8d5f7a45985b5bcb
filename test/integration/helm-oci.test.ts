/**
 * OCI push/pull and registry logins with the real Helm v4.1.4 as the peer, against the
 * Debian docker-registry: the same archive pushed by either gives the same manifest
 * digest (Chart.yaml numbers converted as Helm does), each pulls what the other pushed
 * byte for byte, and each uses the login the other wrote.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { helmAvailable, helmHome, runHelm } from '../helpers/helm.js';
import { chartproof, helmEnv, helmOk, writeTree } from '../helpers/helm-peer.js';
import { requireTool } from '../helpers/services.js';

const HAVE_HELM = helmAvailable('helm OCI interop');
const missing = requireTool('docker-registry', 'tar', 'htpasswd');
const SKIP = !HAVE_HELM || missing !== undefined;

/** An archive packed by `tar`, so Chart.yaml is raw (`appVersion: 1.10` unquoted), not re-marshalled. */
function rawArchive(root: string, chartYaml: string): string {
  const src = join(root, 'raw');
  writeTree(src, { 'rawchart/Chart.yaml': chartYaml, 'rawchart/values.yaml': 'a: 1\n' });
  const file = join(root, 'rawchart-0.1.0.tgz');
  execFileSync('tar', ['-czf', file, '-C', src, 'rawchart']);
  utimesSync(file, 1700000000, 1700000000); // both use the file's mtime as the creation time
  return file;
}

const digestOf = (out: string) => /Digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];

describe.skipIf(SKIP)('helm OCI push/pull both ways (docker-registry, plain HTTP)', () => {
  let reg: StartedRegistry;
  let root: string;
  let home: string;
  let archive: string;
  let pushed: string | undefined;
  const env = { TZ: 'UTC' };
  beforeAll(async () => {
    reg = await startDockerRegistry('plain');
    root = mkdtempSync(join(tmpdir(), 'cp-helm-oci-'));
    home = helmHome();
    archive = rawArchive(
      root,
      'apiVersion: v2\nname: rawchart\nversion: 0.1.0\nappVersion: 1.10\nkubeVersion: ">=1.20"\n' +
        'description: "emoji \\U0001F600"\nannotations:\n  build: 012\n',
    );
  });
  afterAll(async () => {
    await reg?.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('gives the same manifest digest for the same archive (appVersion: 1.10 is "1.1" in both configs)', async () => {
    const helm = helmOk(['push', archive, `oci://${reg.host}/helm`, '--plain-http'], { home, env });
    const helmDigest = digestOf(helm.stdout + helm.stderr);
    expect(helmDigest).toBeDefined();
    const ours = await chartproof(['--plain-http', 'push', archive, `oci://${reg.host}/ours`]);
    expect(ours.code).toBe(0);
    expect(digestOf(ours.out)).toBe(helmDigest);
    pushed = helmDigest;
  });

  it('pulls what Helm pushed, and Helm pulls what chartproof pushed, byte for byte', async () => {
    const outOurs = join(root, 'pulled-ours');
    const pulled = await chartproof([
      '--plain-http',
      'pull',
      `oci://${reg.host}/helm/rawchart`,
      '--version',
      '0.1.0',
      '-d',
      outOurs,
    ]);
    expect(pulled.code, pulled.err).toBe(0);
    expect(readFileSync(join(outOurs, 'rawchart-0.1.0.tgz')).equals(readFileSync(archive))).toBe(true);
    expect(pulled.out).toContain(pushed!);

    const outHelm = join(root, 'pulled-helm');
    mkdirSync(outHelm);
    const h = helmOk(
      ['pull', `oci://${reg.host}/ours/rawchart`, '--version', '0.1.0', '--plain-http', '-d', outHelm],
      { home, env },
    );
    expect(readFileSync(join(outHelm, 'rawchart-0.1.0.tgz')).equals(readFileSync(archive))).toBe(true);
    // Helm reports the manifest digest chartproof pushed.
    expect(digestOf(h.stdout + h.stderr)).toBe(pushed);
  });
});

describe.skipIf(SKIP)('registry logins both ways (docker-registry with htpasswd over TLS)', () => {
  let reg: StartedRegistry;
  let root: string;
  beforeAll(async () => {
    reg = await startDockerRegistry('tls-basic');
    root = mkdtempSync(join(tmpdir(), 'cp-helm-login-'));
    // Something to list: a chart pushed with the registry's own credentials.
    const chart = join(root, 'src', 'logged');
    writeTree(chart, { 'Chart.yaml': 'apiVersion: v2\nname: logged\nversion: 1.0.0\n' });
    const out = await chartproof(
      ['--ca-file', reg.caFile!, 'login', reg.host, '-u', reg.username!, '--password-stdin'],
      { HOME: root, HELM_REGISTRY_CONFIG: join(root, 'seed.json') },
      reg.password!,
    );
    expect(out.code).toBe(0);
    const pkg = await chartproof(['package', chart, '-d', root]);
    expect(pkg.code).toBe(0);
    const push = await chartproof(
      ['--ca-file', reg.caFile!, 'push', join(root, 'logged-1.0.0.tgz'), `oci://${reg.host}/charts`],
      { HOME: root, HELM_REGISTRY_CONFIG: join(root, 'seed.json') },
    );
    expect(push.code, push.err).toBe(0);
  });
  afterAll(async () => {
    await reg?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('reads the login `helm registry login` wrote under HELM_CONFIG_HOME', async () => {
    const home = helmHome();
    try {
      const login = runHelm(
        [
          'registry',
          'login',
          reg.host,
          '--username',
          reg.username!,
          '--password-stdin',
          '--ca-file',
          reg.caFile!,
        ],
        { home, input: reg.password! },
      );
      expect(login.status, login.stderr).toBe(0);
      // No HELM_REGISTRY_CONFIG: chartproof must find $HELM_CONFIG_HOME/registry/config.json.
      const env = helmEnv(home);
      const anonymous = await chartproof(['--ca-file', reg.caFile!, 'tags', `${reg.host}/charts/logged`], {
        HOME: home,
      });
      expect(anonymous.code).not.toBe(0);
      const tags = await chartproof(['--ca-file', reg.caFile!, 'tags', `${reg.host}/charts/logged`], env);
      expect(tags.code, tags.err).toBe(0);
      expect(tags.out).toContain('1.0.0');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('lets Helm use the login `chartproof login` wrote under HELM_CONFIG_HOME', async () => {
    const home = helmHome();
    try {
      const env = helmEnv(home);
      const login = await chartproof(
        ['--ca-file', reg.caFile!, 'login', reg.host, '-u', reg.username!, '--password-stdin'],
        env,
        reg.password!,
      );
      expect(login.code, login.err).toBe(0);
      expect(readFileSync(join(home, 'config', 'registry', 'config.json'), 'utf8')).toContain(reg.host);
      const pulled = runHelm(
        [
          'pull',
          `oci://${reg.host}/charts/logged`,
          '--version',
          '1.0.0',
          '--ca-file',
          reg.caFile!,
          '-d',
          home,
        ],
        { home },
      );
      expect(pulled.status, pulled.stderr).toBe(0);
      expect(readFileSync(join(home, 'logged-1.0.0.tgz')).length).toBeGreaterThan(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
