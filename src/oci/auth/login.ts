import { ChartproofError } from '../../errors.js';
import { writeFileAtomic } from '../../fs.js';
import { RegistryClient, type RegistryClientOptions } from '../client.js';
import { normalizeRegistry } from '../reference.js';
import type { CallOptions } from '../target.js';
import {
  type Credential,
  configKeyFor,
  type DockerConfigFile,
  eraseWithCredentialHelper,
  findEntry,
  helmRegistryConfigPath,
  normalizeConfigKey,
  readConfigFile,
  staticCredentials,
  storeWithCredentialHelper,
} from './credentials.js';

/** Options of {@link login}. @public */
export interface LoginOptions extends CallOptions {
  /** File to store credentials in. Default: Helm's registry config. */
  configPath?: string;
  /** Client settings (TLS, plain HTTP, transport) used for the check. */
  client?: Omit<RegistryClientOptions, 'credentials'>;
  /** Environment of credential helpers (their lookup on `PATH`). Default `process.env`. */
  env?: Record<string, string | undefined>;
}

/**
 * Checks credentials against the registry's `/v2/` endpoint and, when they work,
 * stores them in Helm's registry config (Docker `config.json` format), written
 * atomically with mode 0600. Other entries in the file are kept. When the file names
 * a credential helper for the registry (`credHelpers`, else `credsStore`), the
 * credentials go to that helper (`docker-credential-<name> store`) instead, as with
 * `docker login`, and no plain-text entry is kept for the registry.
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
  // A helper named for the host (`credHelpers`, else `credsStore`) is where the secret
  // goes, as with `docker login` and Helm: not into the file in plain text, where the
  // helper's (old) entry would shadow it on every lookup anyway.
  const helper = findEntry(config.credHelpers, host) ?? config.credsStore;
  if (typeof helper === 'string' && helper !== '') {
    await storeWithCredentialHelper(helper, host, credential, {
      ...(options.signal ? { signal: options.signal } : {}),
      env: options.env,
    });
    if (Object.keys(auths).length !== Object.keys(config.auths ?? {}).length)
      await writeFileAtomic(path, `${JSON.stringify({ ...config, auths }, null, '\t')}\n`);
    return path;
  }
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
 * Removes stored credentials for a registry (from the file, and from the credential
 * helper the file names for it). Returns false when none were stored.
 * @public
 */
export async function logout(
  registry: string,
  options: { configPath?: string; env?: Record<string, string | undefined> } = {},
): Promise<boolean> {
  const host = normalizeRegistry(registry);
  const path = options.configPath ?? helmRegistryConfigPath();
  const config = await readConfigFile(path);
  if (!config) return false;
  let removed = false;
  const helper = findEntry(config.credHelpers, host) ?? config.credsStore;
  if (typeof helper === 'string' && helper !== '') {
    try {
      removed = await eraseWithCredentialHelper(helper, host, { env: options.env });
    } catch (e) {
      // A helper that is not installed holds nothing (as `docker logout`, which only warns).
      const cause = e instanceof ChartproofError ? (e.cause as NodeJS.ErrnoException | undefined) : undefined;
      if (cause?.code !== 'ENOENT') throw e;
    }
  }
  if (!config.auths) return removed;
  const auths = { ...config.auths };
  for (const key of Object.keys(auths)) {
    if (normalizeConfigKey(key) === host) {
      delete auths[key];
      removed = true;
    }
  }
  if (Object.keys(auths).length !== Object.keys(config.auths).length)
    await writeFileAtomic(path, `${JSON.stringify({ ...config, auths }, null, '\t')}\n`);
  return removed;
}
