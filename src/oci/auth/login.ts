import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ChartproofError } from '../../errors.js';
import { RegistryClient, type RegistryClientOptions } from '../client.js';
import { normalizeRegistry } from '../reference.js';
import type { CallOptions } from '../target.js';
import {
  type Credential,
  configKeyFor,
  type DockerConfigFile,
  helmRegistryConfigPath,
  normalizeConfigKey,
  readConfigFile,
  staticCredentials,
} from './credentials.js';

/** Options of {@link login}. @public */
export interface LoginOptions extends CallOptions {
  /** File to store credentials in. Default: Helm's registry config. */
  configPath?: string;
  /** Client settings (TLS, plain HTTP, transport) used for the check. */
  client?: Omit<RegistryClientOptions, 'credentials'>;
}

/**
 * Checks credentials against the registry's `/v2/` endpoint and, when they work,
 * stores them in Helm's registry config (Docker `config.json` format), written
 * atomically with mode 0600. Other entries in the file are kept.
 * @throws RegistryError `UNAUTHORIZED` when the registry rejects the credentials
 * @public
 */
export async function login(
  registry: string,
  credential: Credential,
  options: LoginOptions = {},
): Promise<string> {
  const host = normalizeRegistry(registry);
  const client = new RegistryClient({
    ...options.client,
    credentials: staticCredentials({ [host]: credential }),
  });
  try {
    await client.ping(host, options.signal ? { signal: options.signal } : {});
  } finally {
    await client.close();
  }
  const path = options.configPath ?? helmRegistryConfigPath();
  const config = (await readConfigFile(path)) ?? {};
  const auths = { ...(config.auths ?? {}) };
  for (const key of Object.keys(auths)) if (normalizeConfigKey(key) === host) delete auths[key];
  const entry: NonNullable<DockerConfigFile['auths']>[string] = {};
  if (credential.identityToken) entry.identitytoken = credential.identityToken;
  if (credential.username !== undefined || credential.password !== undefined) {
    entry.auth = Buffer.from(`${credential.username ?? ''}:${credential.password ?? ''}`).toString('base64');
  }
  auths[configKeyFor(host)] = entry;
  await writeFileAtomic(path, `${JSON.stringify({ ...config, auths }, null, '\t')}\n`);
  return path;
}

/**
 * Removes stored credentials for a registry. Returns false when none were stored.
 * @public
 */
export async function logout(registry: string, options: { configPath?: string } = {}): Promise<boolean> {
  const host = normalizeRegistry(registry);
  const path = options.configPath ?? helmRegistryConfigPath();
  const config = await readConfigFile(path);
  if (!config?.auths) return false;
  const auths = { ...config.auths };
  let removed = false;
  for (const key of Object.keys(auths)) {
    if (normalizeConfigKey(key) === host) {
      delete auths[key];
      removed = true;
    }
  }
  if (removed) await writeFileAtomic(path, `${JSON.stringify({ ...config, auths }, null, '\t')}\n`);
  return removed;
}

/** Writes a file via a temporary sibling and rename, mode 0600, fsynced. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } catch (e) {
      await handle.close();
      await rm(tmp, { force: true });
      throw e;
    }
    await handle.close();
    await chmod(tmp, mode);
    try {
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  } catch (e) {
    throw new ChartproofError('IO', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
