import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, win32 } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChartproofError } from '../../src/errors.js';
import {
  type Credential,
  type CredentialProvider,
  chainCredentials,
  configFileCredentials,
  dockerConfigPath,
  helmConfigPath,
  helmRegistryConfigPath,
  staticCredentials,
} from '../../src/oci/auth/credentials.js';
import { helmRepositoriesPath } from '../../src/lock/sources.js';
import { writeFileAtomic } from '../../src/fs.js';
import { logout } from '../../src/oci/auth/login.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const HUB = 'https://index.docker.io/v1/';

// A fake docker-credential helper: prints a secret per server URL read on stdin.
const HELPER = `#!/bin/sh
[ "$1" = "get" ] || exit 2
url=$(cat)
case "$url" in
  helper.io) printf '{"ServerURL":"%s","Username":"u","Secret":"s"}' "$url" ;;
  https://index.docker.io/v1/) printf '{"Username":"hub","Secret":"hub-secret"}' ;;
  token.io) printf '{"Username":"<token>","Secret":"refresh-xyz"}' ;;
  broken.io) echo "boom: backend unavailable" >&2; exit 3 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;

let dir: string;
let env: Record<string, string | undefined>;

async function config(name: string, content: unknown): Promise<string> {
  const path = join(dir, name, 'config.json');
  await mkdir(join(dir, name), { recursive: true });
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chartproof-creds-'));
  await mkdir(join(dir, 'bin'));
  await writeFile(join(dir, 'bin', 'docker-credential-fake'), HELPER);
  await chmod(join(dir, 'bin', 'docker-credential-fake'), 0o755);
  env = { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('configFileCredentials', () => {
  describe('when reading auths entries', () => {
    const auths = {
      'localhost:5000': { auth: b64('alice:secret') },
      'https://private.io:8443': { auth: b64('user:pa:ss') },
      [HUB]: { auth: b64('hubuser:hubpass') },
      'id.io': { auth: b64('<token>:'), identitytoken: 'refresh-abc' },
      'reg.io': { registrytoken: 'access-123' },
      'plain.io': { username: 'bob', password: 'pw' },
      'both.io': { auth: b64('old:old'), username: 'new' },
      'empty.io': {},
    };
    const cases: Array<[string, Credential | undefined]> = [
      ['localhost:5000', { username: 'alice', password: 'secret' }],
      ['private.io:8443', { username: 'user', password: 'pa:ss' }],
      ['docker.io', { username: 'hubuser', password: 'hubpass' }],
      ['registry-1.docker.io', { username: 'hubuser', password: 'hubpass' }],
      ['id.io', { username: '<token>', password: '', identityToken: 'refresh-abc' }],
      ['reg.io', { accessToken: 'access-123' }],
      ['plain.io', { username: 'bob', password: 'pw' }],
      ['both.io', { username: 'new', password: 'old' }],
      ['LOCALHOST:5000', { username: 'alice', password: 'secret' }],
      ['empty.io', undefined],
      ['localhost:5001', undefined],
      ['private.io', undefined],
    ];
    it.each(cases)('%s → %j', async (registry, expected) => {
      const provider = configFileCredentials(await config('auths', { auths }), { env });
      expect(await provider(registry)).toEqual(expected);
    });
  });

  describe('when the file is missing, empty or malformed', () => {
    it('gives no credentials for a missing file', async () => {
      expect(await configFileCredentials(join(dir, 'nope', 'config.json'))('ghcr.io')).toBeUndefined();
    });

    it('gives no credentials for an empty file', async () => {
      expect(await configFileCredentials(await config('empty', '  \n'))('ghcr.io')).toBeUndefined();
    });

    it.each([
      ['malformed JSON', '{"auths": {'],
      ['a JSON array', '[]'],
      ['JSON null', 'null'],
      ['an auth without a colon', { auths: { 'ghcr.io': { auth: b64('nocolon') } } }],
    ])('fails with CREDENTIALS_INVALID for %s', async (_name, content) => {
      const err = await failure(configFileCredentials(await config('bad', content))('ghcr.io'));
      expect(err).toBeInstanceOf(ChartproofError);
      expect(err).toMatchObject({ code: 'CREDENTIALS_INVALID' });
    });
  });

  describe('when a credential helper is configured', () => {
    const fallback = {
      auths: { 'notfound.io': { auth: b64('file:fallback') }, 'helper.io': { auth: b64('f:f') } },
    };
    const cases: Array<[string, Record<string, unknown>, Credential | undefined]> = [
      ['helper.io', { credHelpers: { 'helper.io': 'fake' } }, { username: 'u', password: 's' }],
      ['token.io', { credHelpers: { 'token.io': 'fake' } }, { identityToken: 'refresh-xyz' }],
      ['docker.io', { credHelpers: { [HUB]: 'fake' } }, { username: 'hub', password: 'hub-secret' }],
      ['helper.io', { credsStore: 'fake' }, { username: 'u', password: 's' }],
      ['notfound.io', { credHelpers: { 'notfound.io': 'fake' } }, { username: 'file', password: 'fallback' }],
      ['notfound.io', { credsStore: 'fake' }, { username: 'file', password: 'fallback' }],
      ['other.io', { credsStore: 'fake' }, undefined],
    ];
    it.each(cases)('%s with %j → %j', async (registry, extra, expected) => {
      const provider = configFileCredentials(await config('helper', { ...fallback, ...extra }), { env });
      expect(await provider(registry)).toEqual(expected);
    });

    it('skips helpers when useHelpers is false', async () => {
      const path = await config('nohelp', { ...fallback, credHelpers: { 'helper.io': 'missing' } });
      expect(await configFileCredentials(path, { env, useHelpers: false })('helper.io')).toEqual({
        username: 'f',
        password: 'f',
      });
    });

    const HF = 'CREDENTIAL_HELPER_FAILED';
    const CI = 'CREDENTIALS_INVALID';
    it.each([
      ['a missing helper', { credHelpers: { 'helper.io': 'does-not-exist' } }, 'helper.io', HF],
      ['a failing helper', { credHelpers: { 'broken.io': 'fake' } }, 'broken.io', HF],
      ['a helper name with /', { credHelpers: { 'helper.io': '../bin/fake' } }, 'helper.io', CI],
      ['a credsStore name with /', { credsStore: '/usr/bin/evil' }, 'helper.io', CI],
    ])('fails for %s', async (_name, content, registry, code) => {
      const err = await failure(configFileCredentials(await config('helperr', content), { env })(registry));
      expect(err).toBeInstanceOf(ChartproofError);
      expect(err).toMatchObject({ code });
    });

    it('reports the helper output in the error message', async () => {
      const path = await config('helperr2', { credHelpers: { 'broken.io': 'fake' } });
      const err = await failure(configFileCredentials(path, { env })('broken.io'));
      expect((err as Error).message).toContain('docker-credential-fake failed');
      expect((err as Error).message).toContain('backend unavailable');
    });
  });
});

describe('config paths', () => {
  type Env = Record<string, string | undefined>;
  const HELM = '/h/.config/helm/registry/config.json';
  const DOCKER = '/h/.docker/config.json';
  describe('when resolving Helm registry config', () => {
    it.each<[string, Env, string]>([
      ['HELM_REGISTRY_CONFIG wins', { HELM_REGISTRY_CONFIG: '/r.json', XDG_CONFIG_HOME: '/x' }, '/r.json'],
      ['XDG_CONFIG_HOME', { XDG_CONFIG_HOME: '/xdg', HOME: '/h' }, '/xdg/helm/registry/config.json'],
      ['HOME fallback', { HOME: '/h' }, HELM],
      ['empty HELM_REGISTRY_CONFIG is unset', { HELM_REGISTRY_CONFIG: '', HOME: '/h' }, HELM],
      ['empty XDG_CONFIG_HOME is unset (XDG spec, Helm)', { XDG_CONFIG_HOME: '', HOME: '/h' }, HELM],
      [
        'HELM_CONFIG_HOME (no helm/ segment)',
        { HELM_CONFIG_HOME: '/c', HOME: '/h' },
        '/c/registry/config.json',
      ],
      [
        'HELM_CONFIG_HOME before XDG_CONFIG_HOME',
        { HELM_CONFIG_HOME: '/c', XDG_CONFIG_HOME: '/x', HOME: '/h' },
        '/c/registry/config.json',
      ],
      [
        'HELM_REGISTRY_CONFIG before HELM_CONFIG_HOME',
        { HELM_REGISTRY_CONFIG: '/r.json', HELM_CONFIG_HOME: '/c' },
        '/r.json',
      ],
      [
        'empty HELM_CONFIG_HOME is unset',
        { HELM_CONFIG_HOME: '', XDG_CONFIG_HOME: '/x' },
        '/x/helm/registry/config.json',
      ],
    ])('%s', (_name, e, expected) => {
      expect(helmRegistryConfigPath(e, 'linux')).toBe(expected);
    });

    it.each<[string, NodeJS.Platform, Env, string]>([
      [
        'macOS default',
        'darwin',
        { HOME: '/Users/u' },
        '/Users/u/Library/Preferences/helm/registry/config.json',
      ],
      [
        'macOS XDG_CONFIG_HOME',
        'darwin',
        { HOME: '/Users/u', XDG_CONFIG_HOME: '/x' },
        '/x/helm/registry/config.json',
      ],
      [
        'macOS HELM_CONFIG_HOME',
        'darwin',
        { HOME: '/Users/u', HELM_CONFIG_HOME: '/c' },
        '/c/registry/config.json',
      ],
      ['FreeBSD default', 'freebsd', { HOME: '/home/u' }, '/home/u/.config/helm/registry/config.json'],
      [
        'Windows default (APPDATA)',
        'win32',
        { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' },
        'C:\\Users\\u\\AppData\\Roaming\\helm\\registry\\config.json',
      ],
      [
        'Windows HELM_CONFIG_HOME',
        'win32',
        { HELM_CONFIG_HOME: 'D:\\helm' },
        'D:\\helm\\registry\\config.json',
      ],
      [
        'Windows XDG_CONFIG_HOME',
        'win32',
        { XDG_CONFIG_HOME: 'D:\\xdg', APPDATA: 'C:\\a' },
        'D:\\xdg\\helm\\registry\\config.json',
      ],
    ])('%s', (_name, platform, e, expected) => {
      expect(helmRegistryConfigPath(e, platform)).toBe(expected);
    });

    it('never falls back to a path relative to the working directory', () => {
      for (const platform of ['linux', 'darwin', 'win32'] as const)
        expect(
          isAbsolute(helmRegistryConfigPath({}, platform)) ||
            win32.isAbsolute(helmRegistryConfigPath({}, platform)),
        ).toBe(true);
    });

    it('resolves repositories.yaml the same way (HELM_REPOSITORY_CONFIG first)', () => {
      expect(helmRepositoriesPath({ HELM_CONFIG_HOME: '/c', HOME: '/h' }, 'linux')).toBe(
        '/c/repositories.yaml',
      );
      expect(helmRepositoriesPath({ XDG_CONFIG_HOME: '/x' }, 'linux')).toBe('/x/helm/repositories.yaml');
      expect(
        helmRepositoriesPath({ HELM_REPOSITORY_CONFIG: '/r.yaml', HELM_CONFIG_HOME: '/c' }, 'linux'),
      ).toBe('/r.yaml');
      expect(helmConfigPath('repositories.yaml', { HOME: '/h' }, 'darwin')).toBe(
        '/h/Library/Preferences/helm/repositories.yaml',
      );
    });
  });

  describe('when resolving Docker config', () => {
    it.each<[string, Env, string]>([
      ['DOCKER_CONFIG', { DOCKER_CONFIG: '/d', HOME: '/h' }, '/d/config.json'],
      ['HOME fallback', { HOME: '/h' }, DOCKER],
      ['empty DOCKER_CONFIG is unset (Docker CLI)', { DOCKER_CONFIG: '', HOME: '/h' }, DOCKER],
    ])('%s', (_name, e, expected) => {
      expect(dockerConfigPath(e)).toBe(expected);
    });
  });
});

describe('chainCredentials and staticCredentials', () => {
  describe('when chaining', () => {
    it('returns the first credential found, in order, and stops there', async () => {
      const calls: string[] = [];
      const make =
        (name: string, cred?: Credential): CredentialProvider =>
        async (registry) => {
          calls.push(`${name}:${registry}`);
          return cred;
        };
      const chain = chainCredentials(make('a'), make('b', { username: 'b' }), make('c', { username: 'c' }));
      expect(await chain('r.io')).toEqual({ username: 'b' });
      expect(calls).toEqual(['a:r.io', 'b:r.io']);
      expect(await chainCredentials(make('x'))('r.io')).toBeUndefined();
      expect(await chainCredentials()('r.io')).toBeUndefined();
    });
  });

  describe('when keys need normalising', () => {
    const provider = staticCredentials({
      'https://index.docker.io/v1/': { username: 'hub' },
      'GHCR.IO': { username: 'gh' },
      'https://localhost:5000/some/path': { username: 'local' },
    });
    it.each<[string, string | undefined]>([
      ['docker.io', 'hub'],
      ['index.docker.io', 'hub'],
      ['registry-1.docker.io', 'hub'],
      ['ghcr.io', 'gh'],
      ['GHCR.io', 'gh'],
      ['localhost:5000', 'local'],
      ['localhost', undefined],
    ])('%s → %s', async (registry, username) => {
      expect((await provider(registry))?.username).toBe(username);
    });
  });
});

describe('writeFileAtomic', () => {
  describe('when writing', () => {
    it('creates parent dirs, writes mode 0600 and leaves no temp files', async () => {
      const path = join(dir, 'atomic', 'deep', 'er', 'config.json');
      await writeFileAtomic(path, '{"a":1}\n');
      expect(await readFile(path, 'utf8')).toBe('{"a":1}\n');
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await readdir(join(dir, 'atomic', 'deep', 'er'))).toEqual(['config.json']);
    });

    it('replaces existing content and honours a custom mode', async () => {
      const path = join(dir, 'atomic2', 'f.bin');
      await writeFileAtomic(path, 'a much longer first version');
      await writeFileAtomic(path, new Uint8Array([1, 2, 3]), 0o640);
      expect([...(await readFile(path))]).toEqual([1, 2, 3]);
      expect((await stat(path)).mode & 0o777).toBe(0o640);
      expect((await readdir(join(dir, 'atomic2'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });

    it('fails with IO when the parent is a file', async () => {
      await writeFile(join(dir, 'plainfile'), 'x');
      const err = await failure(writeFileAtomic(join(dir, 'plainfile', 'config.json'), 'x'));
      expect(err).toBeInstanceOf(ChartproofError);
      expect(err).toMatchObject({ code: 'IO' });
    });
  });
});

describe('logout', () => {
  describe('when credentials are stored', () => {
    it.each([
      ['ghcr.io', ['https://localhost:5000', HUB]],
      ['localhost:5000', ['ghcr.io', HUB]],
      ['docker.io', ['ghcr.io', 'https://localhost:5000']],
      ['index.docker.io', ['ghcr.io', 'https://localhost:5000']],
    ])('removes only %s and keeps other keys', async (registry, remaining) => {
      const others = { credsStore: 'desktop', credHelpers: { 'gcr.io': 'gcloud' }, experimental: 'enabled' };
      const auths = { 'ghcr.io': { auth: b64('a:b') }, 'https://localhost:5000': {}, [HUB]: {} };
      const path = await config(`logout-${registry}`, { auths, ...others });
      expect(await logout(registry, { configPath: path })).toBe(true);
      const after = JSON.parse(await readFile(path, 'utf8'));
      expect(Object.keys(after.auths).sort()).toEqual([...remaining].sort());
      expect(after).toMatchObject(others);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await logout(registry, { configPath: path })).toBe(false);
    });

    it('removes every alias of the same registry', async () => {
      const path = await config('logout-alias', {
        auths: { 'docker.io': {}, [HUB]: {}, 'registry-1.docker.io': {}, 'quay.io': {} },
      });
      expect(await logout('docker.io', { configPath: path })).toBe(true);
      expect(Object.keys(JSON.parse(await readFile(path, 'utf8')).auths)).toEqual(['quay.io']);
    });
  });

  describe('when nothing is stored', () => {
    it.each([
      ['a missing file', null],
      ['a file without auths', { credsStore: 'desktop' }],
      ['a file without a matching entry', { auths: { 'quay.io': {} } }],
    ])('returns false for %s and leaves the file untouched', async (name, content) => {
      const path = join(dir, `logout-none-${name.replace(/\s/g, '-')}`, 'config.json');
      if (content !== null) await config(`logout-none-${name.replace(/\s/g, '-')}`, content);
      const before = content === null ? null : await readFile(path, 'utf8');
      expect(await logout('ghcr.io', { configPath: path })).toBe(false);
      if (before === null) await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
      else expect(await readFile(path, 'utf8')).toBe(before);
    });
  });
});
