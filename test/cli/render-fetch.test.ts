import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { captureIo } from '../helpers/cli-io.js';

/**
 * `template`, `images` and `verify-images` fetch CHART from a classic repository with
 * `--repo URL` (as `helm template NAME CHART --repo URL`), check the archive against the
 * index's digest, and exit as every other command does when the fetch fails: 3 for a
 * registry or repository failure, 1 for content that does not match its digest.
 */
describe('rendering a fetched chart (--repo, oci://)', () => {
  let dir: string;
  let good: Buffer;
  let http: Server;
  let url: string;
  /** What the repository serves: the archive as packaged, one byte more, or an index without digests. */
  const serving = { evil: false, noDigest: false };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cp-render-fetch-'));
    const chart = join(dir, 'web');
    mkdirSync(join(chart, 'templates'), { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: web\nversion: 1.2.0\n');
    writeFileSync(join(chart, 'values.yaml'), 'image: nginx:1.27\ncount: 1\n');
    writeFileSync(
      join(chart, 'templates', 'deploy.yaml'),
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  template:\n    spec:\n      containers:\n{{- range $i, $_ := until (int .Values.count) }}\n        - name: c{{ $i }}\n          image: {{ if $i }}registry.example/app/c{{ $i }}:1.0{{ else }}{{ $.Values.image }}{{ end }}\n{{- end }}\n',
    );
    writeFileSync(
      join(chart, 'templates', 'cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: version\ndata:\n  version: {{ .Chart.Version | quote }}\n',
    );
    const pkg = captureIo();
    expect(await run(['package', chart, '-d', dir], pkg.io), pkg.err()).toBe(0);
    good = readFileSync(join(dir, 'web-1.2.0.tgz'));
    // A prerelease, newer: only --devel (without --version) or a range naming a prerelease picks it.
    const rcPkg = captureIo();
    expect(await run(['package', chart, '-d', dir, '--version', '1.3.0-rc.1'], rcPkg.io), rcPkg.err()).toBe(
      0,
    );
    const rc = readFileSync(join(dir, 'web-1.3.0-rc.1.tgz'));
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    http = createServer((req, res) => {
      const entry = (version: string, archive: Buffer) =>
        `  - apiVersion: v2\n    name: web\n    version: ${version}\n${serving.noDigest ? '' : `    digest: ${sha(archive)}\n`}    urls:\n    - charts/web-${version}.tgz\n`;
      if (req.url === '/index.yaml') {
        res.end(`apiVersion: v1\nentries:\n  web:\n${entry('1.3.0-rc.1', rc)}${entry('1.2.0', good)}`);
      } else if (req.url === '/charts/web-1.2.0.tgz') {
        res.end(serving.evil ? Buffer.concat([good, Buffer.from([0])]) : good);
      } else if (req.url === '/charts/web-1.3.0-rc.1.tgz') {
        res.end(rc);
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => http.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('template --repo renders what the same archive renders from disk', async () => {
    const local = captureIo();
    expect(await run(['template', 'rel', join(dir, 'web-1.2.0.tgz')], local.io), local.err()).toBe(0);
    const fetched = captureIo();
    expect(
      await run(['template', 'rel', 'web', '--repo', url, '--version', '1.2.x'], fetched.io),
      fetched.err(),
    ).toBe(0);
    expect(fetched.err()).toBe('');
    expect(fetched.out()).toBe(local.out());
    expect(fetched.out()).toContain('name: rel\n');
  });

  it('--devel lets a prerelease match when no --version is given (ignored with one), as Helm', async () => {
    const picked = async (...flags: string[]) => {
      const c = captureIo();
      expect(await run(['template', 'rel', 'web', '--repo', url, ...flags], c.io), c.err()).toBe(0);
      return /version: "([^"]+)"/.exec(c.out())?.[1];
    };
    expect(await picked()).toBe('1.2.0');
    expect(await picked('--devel')).toBe('1.3.0-rc.1');
    expect(await picked('--devel', '--version', '~1.2')).toBe('1.2.0');
    const pull = captureIo();
    expect(await run(['pull', 'web', '--repo', url, '--devel', '-d', join(dir, 'devel')], pull.io)).toBe(0);
    expect(pull.out()).toContain('web-1.3.0-rc.1.tgz');
    const inspect = captureIo();
    expect(await run(['inspect', 'web', '--repo', url, '--devel'], inspect.io)).toBe(0);
    expect(JSON.parse(inspect.out())).toMatchObject({ version: '1.3.0-rc.1' });
  });

  it('images --repo lists the chart’s images', async () => {
    const c = captureIo();
    expect(await run(['images', 'web', '--repo', url, '--set', 'count=2'], c.io), c.err()).toBe(0);
    expect(c.out()).toBe('docker.io/library/nginx:1.27\nregistry.example/app/c1:1.0\n');
  });

  it('warns when the index gives no digest to check the archive against', async () => {
    serving.noDigest = true;
    try {
      const c = captureIo();
      expect(await run(['images', 'web', '--repo', url], c.io), c.err()).toBe(0);
      expect(c.err()).toMatch(/lists no digest for web; the download was not verified/);
      expect(c.out()).toBe('docker.io/library/nginx:1.27\n');
    } finally {
      serving.noDigest = false;
    }
  });

  it('a swapped archive exits 1 (DIGEST_MISMATCH), and renders nothing', async () => {
    serving.evil = true;
    try {
      for (const cmd of ['template', 'images']) {
        const c = captureIo();
        expect(await run(['--json', cmd, 'web', '--repo', url], c.io)).toBe(1);
        expect(c.out()).toBe('');
        expect(JSON.parse(c.err().trim())).toMatchObject({ error: { exitCode: 1, source: 'remote' } });
        expect(c.err()).toMatch(/DIGEST_MISMATCH/);
      }
    } finally {
      serving.evil = false;
    }
  });

  it('a chart the repository does not have, or a repository that does not answer, exits 3', async () => {
    const missing = captureIo();
    expect(await run(['template', 'nothere', '--repo', url], missing.io)).toBe(3);
    expect(missing.err()).toMatch(/^Error: .*nothere/);
    // A port nothing listens on: a closed server's.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const down = captureIo();
    expect(await run(['images', 'web', '--repo', `http://127.0.0.1:${port}`], down.io)).toBe(3);
  });

  it('an oci:// chart that is not there exits 3, not 2 (a registry answer, not a template error)', async () => {
    const registry = new MemoryRegistry();
    const server = await registry.listen();
    try {
      const c = captureIo();
      expect(
        await run(
          ['--plain-http', 'template', `oci://${server.host}/charts/web`, '--version', '1.2.0'],
          c.io,
        ),
      ).toBe(3);
      expect(c.err()).toMatch(/^Error: /);
    } finally {
      await server.close();
    }
  });

  it('--verify --keyring: an oci:// chart renders only when its provenance layer verifies (exit 1 without one)', async () => {
    const { privateKey, publicKey } = await generateKey({
      type: 'rsa',
      rsaBits: 2048,
      userIDs: [{ name: 'Chart Signer', email: 'signer@example.com' }],
      format: 'armored',
    });
    writeFileSync(join(dir, 'signer.asc'), privateKey);
    writeFileSync(join(dir, 'pubring.asc'), publicKey);
    const other = await generateKey({
      type: 'ecc',
      userIDs: [{ email: 'other@example.com' }],
      format: 'armored',
    });
    writeFileSync(join(dir, 'other.asc'), other.publicKey);
    const signed = join(dir, 'signed');
    mkdirSync(signed);
    writeFileSync(join(signed, 'web-1.2.0.tgz'), good);
    const sign = captureIo();
    expect(
      await run(['prov', 'sign', join(signed, 'web-1.2.0.tgz'), '--key', join(dir, 'signer.asc')], sign.io),
    ).toBe(0);
    const registry = new MemoryRegistry();
    const server = await registry.listen();
    try {
      const push = (args: string[]) => run(['--plain-http', 'push', ...args], captureIo().io);
      const tgz = join(signed, 'web-1.2.0.tgz');
      expect(await push([tgz, `oci://${server.host}/signed`, '--prov', `${tgz}.prov`])).toBe(0);
      // push takes the .prov beside the archive by itself (as helm push): push a copy without one.
      expect(await push([join(dir, 'web-1.2.0.tgz'), `oci://${server.host}/unsigned`])).toBe(0);
      const template = async (repo: string, keyring: string) => {
        const c = captureIo();
        const code = await run(
          [
            '--plain-http',
            'template',
            'rel',
            `oci://${server.host}/${repo}/web`,
            '--version',
            '1.2.0',
            '--verify',
            '--keyring',
            keyring,
          ],
          c.io,
        );
        return { code, out: c.out(), err: c.err() };
      };
      const local = captureIo();
      expect(await run(['template', 'rel', tgz], local.io)).toBe(0);
      const ok = await template('signed', join(dir, 'pubring.asc'));
      expect(ok.code, ok.err).toBe(0);
      expect(ok.out).toBe(local.out());
      const wrongKey = await template('signed', join(dir, 'other.asc'));
      expect([wrongKey.code, wrongKey.out]).toEqual([1, '']);
      const unsigned = await template('unsigned', join(dir, 'pubring.asc'));
      expect([unsigned.code, unsigned.out]).toEqual([1, '']);
      expect(unsigned.err).toMatch(/no provenance layer/);
      const noKeyring = captureIo();
      expect(await run(['template', 'rel', tgz, '--verify'], noKeyring.io)).toBe(2);
      expect(noKeyring.err()).toMatch(/--verify needs --keyring/);
    } finally {
      await server.close();
    }
  });

  it('verify-images: a fetched chart that runs more than 500 images is the repository’s (exit 3), before any image request', async () => {
    const c = captureIo('', { HOME: dir, COSIGN_PASSWORD: 'pw' });
    const keygen = captureIo('', { HOME: dir, COSIGN_PASSWORD: 'pw' });
    expect(await run(['keygen', '--output-key-prefix', join(dir, 'cosign')], keygen.io)).toBe(0);
    const code = await run(
      [
        '--json',
        'verify-images',
        'web',
        '--repo',
        url,
        '--set',
        'count=501',
        '--key',
        join(dir, 'cosign.pub'),
        '--insecure-ignore-tlog',
      ],
      c.io,
    );
    expect(code).toBe(3);
    expect(JSON.parse(c.err().trim().split('\n').at(-1)!)).toMatchObject({
      error: { code: 'SIZE_LIMIT_EXCEEDED', source: 'remote' },
    });
  });
});
