import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { type CliIo, readBounded } from '../../src/cli/io.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { chartArtifact, pushAll, referrerOf } from '../helpers/content.js';

const execFileP = promisify(execFile);

function captureIo(env: Record<string, string | undefined> = {}, stdin = '') {
  const out: Uint8Array[] = [];
  let err = '';
  const io: CliIo = {
    stdout: (c) => out.push(typeof c === 'string' ? Buffer.from(c) : c),
    stderr: (t) => {
      err += t;
    },
    readStdin: (limit) => readBounded(Readable.from([Buffer.from(stdin)]), limit),
    env: { HOME: '/nonexistent', ...env },
  };
  return {
    io,
    stdout: () => Buffer.concat(out).toString('utf8'),
    stdoutBytes: () => Buffer.concat(out),
    stderr: () => err,
  };
}

describe('chartproof CLI', () => {
  let registry: MemoryRegistry;
  let server: { url: string; host: string; close(): Promise<void> };
  let dir: string;
  let subjectDigest: string;
  let manifestBytes: Uint8Array;

  beforeAll(async () => {
    registry = new MemoryRegistry({ auth: { type: 'basic', username: 'ci', password: 'pa55' } });
    server = await registry.listen();
    dir = await mkdtemp(join(tmpdir(), 'chartproof-cli-'));
    const a = chartArtifact('app', '1.0.0');
    const store = registry.repository('charts/app');
    await pushAll(store, [a.config, a.layer, a.manifest]);
    await store.tag(a.manifest.desc, '1.0.0');
    await store.tag(a.manifest.desc, '1.0.1');
    const sig = referrerOf(a.manifest.desc, 'application/vnd.example.sig');
    await pushAll(store, [sig.empty, sig.layer, sig.manifest]);
    subjectDigest = a.manifest.desc.digest;
    manifestBytes = a.manifest.data;
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const config = () => join(dir, 'registry', 'config.json');

  it('logs in with --password-stdin, writes the config with mode 0600, and uses it', async () => {
    const bad = captureIo({}, 'wrong\n');
    expect(
      await run(
        ['--plain-http', '--registry-config', config(), 'login', server.host, '-u', 'ci', '--password-stdin'],
        bad.io,
      ),
    ).toBe(3);
    expect(bad.stderr()).toMatch(/401|UNAUTHORIZED/);

    const good = captureIo({}, 'pa55\n');
    expect(
      await run(
        ['--plain-http', '--registry-config', config(), 'login', server.host, '-u', 'ci', '--password-stdin'],
        good.io,
      ),
    ).toBe(0);
    expect(good.stdout()).toBe('Login Succeeded\n');
    expect((await stat(config())).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(config(), 'utf8'));
    expect(Buffer.from(saved.auths[server.host].auth, 'base64').toString()).toBe('ci:pa55');

    const tags = captureIo();
    expect(
      await run(
        ['--plain-http', '--registry-config', config(), 'tags', `${server.host}/charts/app`],
        tags.io,
      ),
    ).toBe(0);
    expect(tags.stdout()).toBe('1.0.0\n1.0.1\n');

    const json = captureIo();
    expect(
      await run(
        ['--json', '--plain-http', '--registry-config', config(), 'tags', `${server.host}/charts/app`],
        json.io,
      ),
    ).toBe(0);
    expect(JSON.parse(json.stdout())).toEqual(['1.0.0', '1.0.1']);
  });

  it('takes the registry of login and logout with a scheme or a path, as docker and helm do', async () => {
    const file = join(dir, 'scheme', 'config.json');
    for (const arg of [`https://${server.host}/v2/`, `oci://${server.host}`]) {
      const io = captureIo({}, 'pa55\n');
      expect(
        await run(
          ['--plain-http', '--registry-config', file, 'login', arg, '-u', 'ci', '--password-stdin'],
          io.io,
        ),
        io.stderr(),
      ).toBe(0);
      expect(Object.keys(JSON.parse(await readFile(file, 'utf8')).auths)).toEqual([server.host]);
      const out = captureIo();
      expect(await run(['--registry-config', file, 'logout', arg], out.io), out.stderr()).toBe(0);
      expect(out.stdout()).toBe(`Removed login credentials for ${server.host}\n`);
    }
  });

  it('warns when --plain-http login sends a password off this machine, not on loopback', async () => {
    const file = join(dir, 'plain', 'config.json');
    const local = captureIo({}, 'pa55\n');
    expect(
      await run(
        ['--plain-http', '--registry-config', file, 'login', server.host, '-u', 'ci', '--password-stdin'],
        local.io,
      ),
    ).toBe(0);
    expect(local.stderr()).not.toMatch(/unencrypted/);
    const remote = captureIo({}, 'pa55\n');
    expect(
      await run(
        [
          '--plain-http',
          '--timeout',
          '2s',
          '--registry-config',
          file,
          'login',
          'registry.invalid',
          '-u',
          'ci',
          '--password-stdin',
        ],
        remote.io,
      ),
    ).toBe(3);
    expect(remote.stderr()).toMatch(
      /^Warning: --plain-http sends the password to registry\.invalid unencrypted$/m,
    );
    expect(remote.stderr()).not.toContain('pa55');
  });

  it('prints the raw manifest and its descriptor', async () => {
    const raw = captureIo();
    expect(
      await run(
        ['--plain-http', '--registry-config', config(), 'manifest', `${server.host}/charts/app:1.0.0`],
        raw.io,
      ),
    ).toBe(0);
    expect(raw.stdoutBytes().equals(Buffer.from(manifestBytes))).toBe(true);
    const d = captureIo();
    expect(
      await run(
        [
          '--plain-http',
          '--registry-config',
          config(),
          'manifest',
          '--descriptor',
          `${server.host}/charts/app:1.0.0`,
        ],
        d.io,
      ),
    ).toBe(0);
    expect(JSON.parse(d.stdout())).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: subjectDigest,
      size: manifestBytes.byteLength,
    });
  });

  it('copies with referrers and lists referrers as an index', async () => {
    const c = captureIo();
    expect(
      await run(
        [
          '--plain-http',
          '--registry-config',
          config(),
          'copy',
          `${server.host}/charts/app:1.0.0`,
          `${server.host}/mirror/app`,
          '--referrers',
        ],
        c.io,
      ),
    ).toBe(0);
    expect(c.stdout()).toContain(`${server.host}/mirror/app:1.0.0@${subjectDigest}`);
    const r = captureIo();
    expect(
      await run(
        ['--plain-http', '--registry-config', config(), 'referrers', `${server.host}/mirror/app:1.0.0`],
        r.io,
      ),
    ).toBe(0);
    const index = JSON.parse(r.stdout());
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests).toHaveLength(1);
    const none = captureIo();
    expect(
      await run(
        [
          '--plain-http',
          '--registry-config',
          config(),
          'referrers',
          '--artifact-type',
          'application/none',
          `${server.host}/mirror/app:1.0.0`,
        ],
        none.io,
      ),
    ).toBe(0);
    expect(JSON.parse(none.stdout()).manifests).toEqual([]);
  });

  it('uses exit code 2 for usage errors and invalid input, 3 for registry errors', async () => {
    const a = captureIo();
    expect(await run(['tags'], a.io)).toBe(2);
    expect(a.stderr()).toContain('expected 1 argument');
    const b = captureIo();
    expect(await run(['tags', 'UPPER/case'], b.io)).toBe(2);
    expect(b.stderr()).toContain('invalid');
    const c = captureIo();
    expect(await run(['frobnicate'], c.io)).toBe(2);
    const d = captureIo();
    expect(await run(['--bogus-flag', 'tags', 'x/y'], d.io)).toBe(2);
    const e = captureIo();
    expect(
      await run(
        ['--plain-http', '--registry-config', config(), 'manifest', `${server.host}/charts/app:9.9.9`],
        e.io,
      ),
    ).toBe(3);
    expect(e.stderr()).toContain('not found');
    const f = captureIo();
    expect(
      await run(
        [
          '--json',
          '--plain-http',
          '--registry-config',
          config(),
          'manifest',
          `${server.host}/charts/app:9.9.9`,
        ],
        f.io,
      ),
    ).toBe(3);
    expect(JSON.parse(f.stderr()).error.code).toBe('MANIFEST_UNKNOWN');
  });

  it('logs out and then fails authentication', async () => {
    const o = captureIo();
    expect(await run(['--registry-config', config(), 'logout', server.host], o.io)).toBe(0);
    const again = captureIo();
    // Not logged in: the local credentials file is the input, so exit 2.
    expect(await run(['--registry-config', config(), 'logout', server.host], again.io)).toBe(2);
    const t = captureIo();
    expect(
      await run(['--plain-http', '--registry-config', config(), 'tags', `${server.host}/charts/app`], t.io),
    ).toBe(3);
  });

  describe('the built binary', () => {
    const bin = join(process.cwd(), 'dist', 'cli.js');
    it('prints --version and --help and exits with the documented codes', async () => {
      const v = await execFileP(process.execPath, [bin, '--version']);
      expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
      const h = await execFileP(process.execPath, [bin, '--help']);
      expect(h.stdout).toContain('Exit codes');
      const bad = await execFileP(process.execPath, [bin, 'tags']).catch((e) => e);
      expect(bad.code).toBe(2);
    });
  });
});
