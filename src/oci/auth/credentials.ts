import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join, posix, win32 } from 'node:path';
import { ChartproofError } from '../../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../../internal/bounded-parse.js';
import { DOCKER_HUB, normalizeRegistry } from '../reference.js';
import type { CallOptions } from '../target.js';
import { readTextFileBounded } from '../../internal/read-file.js';

/**
 * Credentials for one registry. `identityToken` is an OAuth2 refresh token (Docker's
 * `identitytoken`); `accessToken` is used as a bearer token directly.
 * @public
 */
export interface Credential {
  username?: string;
  password?: string;
  identityToken?: string;
  accessToken?: string;
}

/** Looks up credentials for a registry host (`host[:port]`). @public */
export type CredentialProvider = (registry: string, options?: CallOptions) => Promise<Credential | undefined>;

/** Credentials from a fixed map keyed by registry host. @public */
export function staticCredentials(map: Record<string, Credential>): CredentialProvider {
  const normalized = new Map(Object.entries(map).map(([k, v]) => [normalizeConfigKey(k), v]));
  return async (registry) => normalized.get(normalizeRegistry(registry));
}

/** Tries providers in order and returns the first credential found. @public */
export function chainCredentials(...providers: CredentialProvider[]): CredentialProvider {
  return async (registry, options) => {
    for (const p of providers) {
      const c = await p(registry, options);
      if (c) return c;
    }
    return undefined;
  };
}

/** Docker/Helm `config.json` shape (the fields chartproof reads and writes). @public */
export interface DockerConfigFile {
  auths?: Record<
    string,
    { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }
  >;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [key: string]: unknown;
}

/** Options of {@link configFileCredentials}. @public */
export interface ConfigFileCredentialsOptions {
  /** Run `docker-credential-<name>` helpers named by `credHelpers`/`credsStore`. Default true. */
  useHelpers?: boolean;
  /** Environment for helpers and path lookup. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

/**
 * Credentials from a Docker-format `config.json` (Docker's or Helm's registry
 * config): `credHelpers[host]`, then `credsStore`, then `auths` (`auth`,
 * `username`/`password`, `identitytoken`, `registrytoken`). A missing file gives no
 * credentials; an unreadable or malformed one is an error.
 * @public
 */
export function configFileCredentials(
  path: string,
  options: ConfigFileCredentialsOptions = {},
): CredentialProvider {
  return async (registry, callOptions) => {
    const config = await readConfigFile(path);
    if (!config) return undefined;
    const host = normalizeRegistry(registry);
    const useHelpers = options.useHelpers ?? true;
    const helper = findEntry(config.credHelpers, host) ?? config.credsStore;
    if (useHelpers && helper) {
      const fromHelper = await runCredentialHelper(helper, host, { ...callOptions, env: options.env });
      if (fromHelper) return fromHelper;
    }
    const entry = findEntry(config.auths, host);
    if (!entry) return undefined;
    const cred: Credential = {};
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0)
        throw new ChartproofError('CREDENTIALS_INVALID', `${path}: malformed "auth" for ${host}`);
      cred.username = decoded.slice(0, colon);
      cred.password = decoded.slice(colon + 1);
    }
    if (entry.username !== undefined) cred.username = entry.username;
    if (entry.password !== undefined) cred.password = entry.password;
    if (entry.identitytoken) cred.identityToken = entry.identitytoken;
    if (entry.registrytoken) cred.accessToken = entry.registrytoken;
    return Object.keys(cred).length > 0 ? cred : undefined;
  };
}

/** Path of Docker's config: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. @public */
export function dockerConfigPath(env: Record<string, string | undefined> = process.env): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
}

/**
 * A path under Helm's config home, resolved as Helm's `helmpath.ConfigPath` does:
 * `$HELM_CONFIG_HOME/<elem>`, else `$XDG_CONFIG_HOME/helm/<elem>`, else the platform
 * default + `/helm/<elem>` (`$HOME/.config` on Linux and other Unixes,
 * `$HOME/Library/Preferences` on macOS, `%APPDATA%` on Windows). Empty variables count
 * as unset. Where Helm would fall back to a path relative to the working directory
 * (`HOME` or `APPDATA` unset), chartproof uses the account's home directory instead.
 * @public
 */
export function helmConfigPath(
  elem: string,
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  const join = platform === 'win32' ? win32.join : posix.join;
  if (env.HELM_CONFIG_HOME) return join(env.HELM_CONFIG_HOME, elem);
  let base = env.XDG_CONFIG_HOME;
  if (!base) {
    if (platform === 'win32') base = env.APPDATA || join(homedir(), 'AppData', 'Roaming');
    else if (platform === 'darwin') base = join(env.HOME || homedir(), 'Library', 'Preferences');
    else base = join(env.HOME || homedir(), '.config');
  }
  return join(base, 'helm', elem);
}

/**
 * Path of Helm's registry config, as Helm resolves it: `$HELM_REGISTRY_CONFIG`, else
 * {@link helmConfigPath}`('registry/config.json')` — `$HELM_CONFIG_HOME/registry/config.json`,
 * `$XDG_CONFIG_HOME/helm/registry/config.json`, then the platform default.
 * @public
 */
export function helmRegistryConfigPath(
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.HELM_REGISTRY_CONFIG) return env.HELM_REGISTRY_CONFIG;
  return helmConfigPath('registry/config.json', env, platform);
}

/**
 * The default lookup: Helm's registry config, then Docker's config.
 * @public
 */
export function defaultCredentials(
  env: Record<string, string | undefined> = process.env,
): CredentialProvider {
  return chainCredentials(
    configFileCredentials(helmRegistryConfigPath(env), { env }),
    configFileCredentials(dockerConfigPath(env), { env }),
  );
}

/** Reads a config file; undefined when it does not exist. */
export async function readConfigFile(path: string): Promise<DockerConfigFile | undefined> {
  let text: string;
  try {
    text = await readTextFileBounded(path, {
      maxBytes: 4 * 1024 * 1024,
      what: 'credentials file',
      notFoundCode: true,
    });
  } catch (e) {
    if (e instanceof ChartproofError && e.code === 'NOT_FOUND') return undefined;
    throw e;
  }
  if (text.trim() === '') return {};
  try {
    const parsed = parseJsonBounded(text, { what: path, source: 'local' });
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as DockerConfigFile;
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    // Not JSON.parse's message: V8 quotes the text around the error, which here is
    // a password or an `auth` value.
    throw new ChartproofError('CREDENTIALS_INVALID', `${path}: not a valid config.json (${syntaxWhere(e)})`);
  }
}

/** Where a parse failed (`position N`, `line L column C`), never the text around it. */
function syntaxWhere(e: unknown): string {
  const message = e instanceof Error ? e.message : '';
  if (message === 'not an object') return 'not an object';
  const at = /\bat position \d+(?: \(line \d+ column \d+\))?/.exec(message);
  return at ? `invalid JSON ${at[0]}` : 'invalid JSON';
}

/** Canonical key for a config.json entry: host[:port], Docker Hub folded to `docker.io`. */
export function normalizeConfigKey(key: string): string {
  let k = key.trim().replace(/^[a-z]+:\/\//i, '');
  const slash = k.indexOf('/');
  if (slash >= 0) k = k.slice(0, slash);
  return normalizeRegistry(k);
}

/** The entry of `map` whose key names `host` (see {@link normalizeConfigKey}). @internal */
export function findEntry<T>(map: Record<string, T> | undefined, host: string): T | undefined {
  if (!map) return undefined;
  for (const [key, value] of Object.entries(map)) if (normalizeConfigKey(key) === host) return value;
  return undefined;
}

/** The key Docker uses for Docker Hub in config.json. */
export function configKeyFor(registry: string): string {
  return normalizeRegistry(registry) === DOCKER_HUB
    ? 'https://index.docker.io/v1/'
    : normalizeRegistry(registry);
}

/**
 * Runs `docker-credential-<helper> get` with the registry on stdin. Returns
 * undefined when the helper has no entry for it; throws `CREDENTIAL_HELPER_FAILED`
 * when the helper is missing or fails otherwise.
 * @public
 */
export async function runCredentialHelper(
  helper: string,
  registry: string,
  options: CallOptions & { env?: Record<string, string | undefined> | undefined } = {},
): Promise<Credential | undefined> {
  const program = helperProgram(helper);
  const serverUrl = helperServerUrl(registry);
  const out = await execHelper(program, 'get', serverUrl, options);
  if (out.trim() === '') return undefined;
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = parseJsonBounded(out, { what: `${program} output`, source: 'local' }) as typeof parsed;
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    throw new ChartproofError('CREDENTIAL_HELPER_FAILED', `${program} printed invalid JSON`, { cause: e });
  }
  if (!parsed.Secret) return undefined;
  if (parsed.Username === '<token>') return { identityToken: parsed.Secret };
  return { username: parsed.Username ?? '', password: parsed.Secret };
}

/**
 * Stores a credential with `docker-credential-<helper> store` (as `docker login`
 * does when `credHelpers`/`credsStore` names a helper for the registry).
 * @throws ChartproofError `CREDENTIAL_HELPER_FAILED`
 * @internal
 */
export async function storeWithCredentialHelper(
  helper: string,
  registry: string,
  credential: Credential,
  options: CallOptions & { env?: Record<string, string | undefined> | undefined } = {},
): Promise<void> {
  const program = helperProgram(helper);
  const payload = credential.identityToken
    ? { ServerURL: helperServerUrl(registry), Username: '<token>', Secret: credential.identityToken }
    : {
        ServerURL: helperServerUrl(registry),
        Username: credential.username ?? '',
        Secret: credential.password ?? '',
      };
  await execHelper(program, 'store', JSON.stringify(payload), options);
}

/**
 * Erases a credential with `docker-credential-<helper> erase`. Returns false when
 * the helper had none.
 * @throws ChartproofError `CREDENTIAL_HELPER_FAILED`
 * @internal
 */
export async function eraseWithCredentialHelper(
  helper: string,
  registry: string,
  options: CallOptions & { env?: Record<string, string | undefined> | undefined } = {},
): Promise<boolean> {
  const program = helperProgram(helper);
  const out = await execHelper(program, 'erase', helperServerUrl(registry), options, false);
  return out !== undefined;
}

function helperProgram(helper: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) {
    throw new ChartproofError(
      'CREDENTIALS_INVALID',
      `invalid credential helper name ${JSON.stringify(helper)}`,
    );
  }
  return `docker-credential-${helper}`;
}

function helperServerUrl(registry: string): string {
  return normalizeRegistry(registry) === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

/** Runs a helper action; "credentials not found" gives '' (`get`) or undefined (`erase`). */
function execHelper(
  program: string,
  action: 'get' | 'store' | 'erase',
  input: string,
  options: CallOptions & { env?: Record<string, string | undefined> | undefined },
  notFoundAsEmpty?: true,
): Promise<string>;
function execHelper(
  program: string,
  action: 'get' | 'store' | 'erase',
  input: string,
  options: CallOptions & { env?: Record<string, string | undefined> | undefined },
  notFoundAsEmpty: false,
): Promise<string | undefined>;
function execHelper(
  program: string,
  action: 'get' | 'store' | 'erase',
  input: string,
  options: CallOptions & { env?: Record<string, string | undefined> | undefined },
  notFoundAsEmpty = true,
): Promise<string | undefined> {
  return new Promise<string | undefined>((resolve, reject) => {
    const child = execFile(
      program,
      [action],
      {
        env: (options.env ?? process.env) as NodeJS.ProcessEnv,
        timeout: 30_000,
        maxBuffer: 1024 * 1024,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (err, stdout, stderr) => {
        if (err) {
          const text = `${stdout}${stderr}`;
          if (action !== 'store' && /credentials not found/i.test(text))
            resolve(notFoundAsEmpty ? '' : undefined);
          else if ((err as NodeJS.ErrnoException).code === 'ENOENT')
            reject(
              new ChartproofError('CREDENTIAL_HELPER_FAILED', `${program} is not installed`, { cause: err }),
            );
          else
            reject(
              new ChartproofError(
                'CREDENTIAL_HELPER_FAILED',
                `${program} ${action === 'get' ? '' : `${action} `}failed: ${text.trim().slice(0, 300)}`,
                { cause: err },
              ),
            );
          return;
        }
        resolve(stdout);
      },
    );
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}
