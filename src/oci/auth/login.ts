import { writeFileAtomic } from '../../fs.js';
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
