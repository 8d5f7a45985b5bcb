import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { ChartproofError } from '../../src/errors.js';
import {
  copy,
  digestOf,
  login,
  MediaType,
  RegistryClient,
  type RegistryClientOptions,
  referrersTag,
  staticCredentials,
} from '../../src/oci/index.js';
import { blob, chartArtifact, pushAll, referrerOf } from '../helpers/content.js';
import { type RegistryMode, type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { requireTool } from '../helpers/services.js';

const missing = requireTool('docker-registry') ?? requireTool('openssl') ?? requireTool('htpasswd');

function clientFor(reg: StartedRegistry, extra: RegistryClientOptions = {}): RegistryClient {
  const options: RegistryClientOptions = { retry: { baseDelayMs: 10 }, ...extra };
  if (reg.url.startsWith('http:')) options.plainHttp = true;
  if (reg.caPem) options.ca = reg.caPem;
  if (reg.username)
    options.credentials = staticCredentials({
      [reg.host]: { username: reg.username, password: reg.password! },
    });
  return new RegistryClient(options);
}

describe.skipIf(missing !== undefined)('OCI client against docker-registry (CNCF distribution 2.8)', () => {
  const modes: RegistryMode[] = ['plain', 'tls', 'tls-basic', 'token'];
  for (const mode of modes) {
    describe(`in ${mode} mode`, () => {
      let reg: StartedRegistry;
      let client: RegistryClient;
      beforeAll(async () => {
        reg = await startDockerRegistry(mode);
        client = clientFor(reg);
      });
      afterAll(async () => {
        await client?.close();
        await reg?.stop();
      });

      it('pushes, resolves, pulls, lists and deletes', async () => {
        const repo = client.repository(`${reg.host}/charts/app`);
        const a = chartArtifact('app', '1.0.0', 200_000);
        await repo.push(a.config.desc, a.config.data);
        await repo.push(a.layer.desc, new Blob([a.layer.data]).stream());
        const desc = await repo.pushManifest(a.manifest.data, { tags: ['1.0.0', '1.0'] });
        expect(desc).toEqual(a.manifest.desc);
        expect(await repo.resolve('1.0.0')).toEqual(a.manifest.desc);
        const m = await repo.fetchManifest('1.0');
        expect(Buffer.from(m.bytes).equals(Buffer.from(a.manifest.data))).toBe(true);
        const layer = new Uint8Array(await new Response(await repo.fetch(a.layer.desc)).arrayBuffer());
        expect(digestOf(layer)).toBe(a.layer.desc.digest);
        expect((await repo.tags()).sort()).toEqual(['1.0', '1.0.0']);
        await repo.delete(desc);
        await expect(repo.resolve('1.0.0')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
      });

      it('uploads in chunks', async () => {
        const repo = client.repository(`${reg.host}/charts/chunked`, { upload: { chunkSize: 100_000 } });
        const b = blob(new Uint8Array(350_000).map((_, i) => i % 7));
        await repo.push(b.desc, new Blob([b.data]).stream());
        expect(await repo.exists(b.desc)).toBe(true);
      });

      it('falls back to the referrers tag schema and copies with referrers and mounts', async () => {
        const src = client.repository(`${reg.host}/charts/signed`);
        const a = chartArtifact('signed', '2.0.0');
        await pushAll(src, [a.config, a.layer]);
        const subject = await src.pushManifest(a.manifest.data, { tags: ['2.0.0'] });
        const sig = referrerOf(subject, MediaType.SigstoreBundleV03);
        await pushAll(src, [sig.empty, sig.layer, sig.manifest]);
        expect(src.referrersApi).toBe(false);
        expect((await src.resolve(referrersTag(subject.digest))).mediaType).toBe(MediaType.OciIndex);
        expect((await src.referrers(subject)).map((d) => d.digest)).toEqual([sig.manifest.desc.digest]);

        const events: string[] = [];
        const dst = client.repository(`${reg.host}/mirror/signed`);
        const result = await copy(src, '2.0.0', dst, '2.0.0', {
          referrers: true,
          onProgress: (e) => events.push(e.type),
        });
        expect(result.descriptor.digest).toBe(subject.digest);
        expect(events).toContain('mounted');
        expect((await dst.referrers(subject, { artifactType: MediaType.SigstoreBundleV03 })).length).toBe(1);
        expect((await dst.resolve('2.0.0')).digest).toBe(subject.digest);
      });
    });
  }

  describe('TLS without the CA', () => {
    let reg: StartedRegistry;
    beforeAll(async () => {
      reg = await startDockerRegistry('tls');
    });
    afterAll(async () => reg?.stop());

    it('refuses an unknown certificate, and accepts it with insecureSkipTlsVerify', async () => {
      const strict = new RegistryClient({ retry: { maxRetries: 0 } });
      await expect(strict.repository(`${reg.host}/x/y`).tags()).rejects.toMatchObject({ code: 'TLS' });
      await strict.close();
      const lax = new RegistryClient({ insecureSkipTlsVerify: true });
      await expect(lax.repository(`${reg.host}/x/y`).tags()).rejects.toMatchObject({ status: 404 });
      await lax.close();
    });
  });

  describe('authentication failures', () => {
    let basic: StartedRegistry;
    let token: StartedRegistry;
    beforeAll(async () => {
      [basic, token] = await Promise.all([startDockerRegistry('tls-basic'), startDockerRegistry('token')]);
    });
    afterAll(async () => {
      await basic?.stop();
      await token?.stop();
    });

    it('reports missing and wrong credentials with stable codes and no secrets', async () => {
      const anonymous = new RegistryClient({ ca: basic.caPem! });
      await expect(anonymous.repository(`${basic.host}/x/y`).tags()).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        status: 401,
      });
      await anonymous.close();
      const wrong = new RegistryClient({
        ca: basic.caPem!,
        credentials: staticCredentials({
          [basic.host]: { username: basic.username!, password: 'not-the-password' },
        }),
      });
      const err = await wrong
        .repository(`${basic.host}/x/y`)
        .tags()
        .catch((e) => e);
      expect(err).toBeInstanceOf(ChartproofError);
      expect(err.code).toBe('UNAUTHORIZED');
      expect(err.message).not.toContain('not-the-password');
      await wrong.close();
      const badToken = new RegistryClient({
        plainHttp: true,
        credentials: staticCredentials({ [token.host]: { username: token.username!, password: 'nope' } }),
      });
      await expect(badToken.repository(`${token.host}/x/y`).tags()).rejects.toMatchObject({
        code: 'AUTH_FAILED',
      });
      await badToken.close();
    });

    it('logs in (writing a 0600 config) and the CLI copies and lists tags with only --ca-file and that login', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'chartproof-login-'));
      try {
        const configPath = join(dir, 'config.json');
        await expect(
          login(
            basic.host,
            { username: basic.username!, password: 'wrong' },
            { configPath, client: { ca: basic.caPem! } },
          ),
        ).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
        await expect(stat(configPath)).rejects.toThrow();

        const caFile = basic.caFile!;
        const out: string[] = [];
        let err = '';
        const io: CliIo = {
          stdout: (c) => out.push(typeof c === 'string' ? c : Buffer.from(c).toString()),
          stderr: (t) => {
            err += t;
          },
          readStdin: async () => `${basic.password}\n`,
          env: { HOME: dir },
        };
        const cli = (...args: string[]) =>
          run(['--ca-file', caFile, '--registry-config', configPath, ...args], io);
        expect(await cli('login', basic.host, '-u', basic.username!, '--password-stdin')).toBe(0);
        expect((await stat(configPath)).mode & 0o777).toBe(0o600);
        expect(JSON.parse(await readFile(configPath, 'utf8')).auths[basic.host]).toBeDefined();

        const seed = clientFor(basic).repository(`${basic.host}/team/app`);
        const a = chartArtifact('app', '3.1.4');
        await pushAll(seed, [a.config, a.layer]);
        await seed.pushManifest(a.manifest.data, { tags: ['3.1.4'] });
        await seed.client.close();

        out.length = 0;
        expect(await cli('copy', `${basic.host}/team/app:3.1.4`, `${basic.host}/mirror/app`)).toBe(0);
        expect(out.join('')).toContain(`@${a.manifest.desc.digest}`);
        out.length = 0;
        expect(await cli('tags', `${basic.host}/mirror/app`)).toBe(0);
        expect(out.join('')).toBe('3.1.4\n');
        expect(err).toBe('');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
