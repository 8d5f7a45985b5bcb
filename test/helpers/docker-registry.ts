/**
 * Starts a real CNCF distribution registry (`docker-registry serve config.yml`, the Debian
 * package, v2.8) on loopback for integration tests, in one of four modes:
 *
 * - 'plain'      HTTP, no auth, `http://127.0.0.1:PORT`
 * - 'tls'        HTTPS with a throwaway CA, `https://localhost:PORT` (caFile/caPem/certDir)
 * - 'tls-basic'  as 'tls' plus htpasswd (bcrypt) Basic auth with a random password
 * - 'token'      HTTP with `auth.token` backed by an in-process token server (token-server.ts)
 *
 * Every registry gets its own temp dir (storage, config, keys) which `stop()` removes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import {
  createTestPki,
  freePort,
  type ManagedProcess,
  makeTempDir,
  randomSecret,
  removeDir,
  removeOnExit,
  sleep,
  spawnManaged,
  toolPath,
} from './services.js';
import { type StartedTokenServer, startTokenServer, type TokenServerOptions } from './token-server.js';

export type RegistryMode = 'plain' | 'tls' | 'tls-basic' | 'token';

/** The registry configuration as a plain object; serialised to YAML. */
export type RegistryConfig = { [key: string]: RegistryConfigValue };
export type RegistryConfigValue = string | number | boolean | RegistryConfigValue[] | RegistryConfig;

export interface StartRegistryOptions {
  /** Username for 'tls-basic' and 'token'. Default 'chartproof'. */
  username?: string;
  /** Password for 'tls-basic' and 'token'. Default: random per run. */
  password?: string;
  /** Options for the token server ('token' mode); users are set from username/password. */
  tokenServer?: Omit<TokenServerOptions, 'users'> & { users?: Record<string, string> };
  /** Mutate the generated config before it is written (e.g. read-only, validation settings). */
  configure?: (config: RegistryConfig, ctx: { dir: string; port: number }) => void;
  /** Startup timeout. Default 15 000 ms. */
  startTimeoutMs?: number;
  /** Registry log level. Default 'warn'. */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
}

export interface StartedRegistry {
  /** `127.0.0.1:PORT` (plain, token) or `localhost:PORT` (tls modes). */
  host: string;
  /** `http(s)://host` */
  url: string;
  port: number;
  mode: RegistryMode;
  /** CA certificate file ('tls', 'tls-basic'); the only file in `certDir`. */
  caFile?: string;
  caPem?: string;
  /** Directory holding only `ca.crt`, for skopeo `--cert-dir` / docker `certs.d`. */
  certDir?: string;
  username?: string;
  password?: string;
  /** The token server ('token' mode). */
  tokenServer?: StartedTokenServer;
  /** Temp dir holding config, storage (`data/`) and keys; removed by stop(). */
  dataDir: string;
  configFile: string;
  pid: number;
  /** Registry stdout+stderr so far (tail). */
  logs(): string;
  /** Stops the registry (SIGTERM, SIGKILL after 3 s), the token server, and removes dataDir. */
  stop(): Promise<void>;
}

/** True when the `docker-registry` binary is installed. */
export function dockerRegistryAvailable(): boolean {
  return toolPath('docker-registry') !== undefined;
}

/** Minimal YAML emitter for nested maps, scalars and lists (strings are double-quoted). */
export function toYaml(value: RegistryConfig, indent = 0): string {
  const pad = ' '.repeat(indent);
  const scalar = (v: string | number | boolean) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  let out = '';
  for (const [k, v] of Object.entries(value)) {
    const key = /^[A-Za-z0-9_.-]+$/.test(k) ? k : JSON.stringify(k);
    if (Array.isArray(v)) {
      if (v.length === 0) {
        out += `${pad}${key}: []\n`;
        continue;
      }
      out += `${pad}${key}:\n`;
      for (const item of v) {
        if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
          // '  - ' keeps the item's keys aligned at indent + 4.
          out += `${pad}  - ${toYaml(item, indent + 4).slice(indent + 4)}`;
        } else if (Array.isArray(item)) {
          throw new Error('nested lists are not supported');
        } else {
          out += `${pad}  - ${scalar(item)}\n`;
        }
      }
    } else if (typeof v === 'object' && v !== null) {
      out += `${pad}${key}:\n${toYaml(v, indent + 2)}`;
    } else {
      out += `${pad}${key}: ${scalar(v)}\n`;
    }
  }
  return out;
}

/** GET /v2/ once; resolves the status code or undefined when the connection fails. */
function probe(url: string, ca: string | undefined): Promise<number | undefined> {
  return new Promise((resolve) => {
    const u = new URL('/v2/', url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method: 'GET', agent: false, timeout: 2000, ...(ca ? { ca } : {}) },
      (res) => {
        res.resume();
        resolve(res.statusCode);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

const MAX_PORT_ATTEMPTS = 3;

export async function startDockerRegistry(
  mode: RegistryMode,
  opts: StartRegistryOptions = {},
): Promise<StartedRegistry> {
  const bin = toolPath('docker-registry');
  if (!bin) throw new Error('docker-registry is not installed (apt-get install docker-registry)');
  const dir = await makeTempDir(`chartproof-registry-${mode}-`);
  const unregisterDir = removeOnExit(dir);
  let tokenServer: StartedTokenServer | undefined;
  try {
    const username = mode === 'tls-basic' || mode === 'token' ? (opts.username ?? 'chartproof') : undefined;
    const password = username !== undefined ? (opts.password ?? randomSecret()) : undefined;
    const tls = mode === 'tls' || mode === 'tls-basic';
    const pki = tls ? createTestPki(dir) : undefined;

    let auth: RegistryConfig | undefined;
    if (mode === 'tls-basic') {
      const htpasswdFile = join(dir, 'htpasswd');
      const line = execFileSync('htpasswd', ['-Bbn', username!, password!], { encoding: 'utf8' }).trim();
      writeFileSync(htpasswdFile, `${line}\n`);
      auth = { htpasswd: { realm: 'chartproof-test', path: htpasswdFile } };
    } else if (mode === 'token') {
      tokenServer = await startTokenServer({
        ...opts.tokenServer,
        users: { ...opts.tokenServer?.users, [username!]: password! },
      });
      const bundle = join(dir, 'token-root.pem');
      writeFileSync(bundle, tokenServer.certPem);
      auth = {
        token: {
          realm: tokenServer.realm,
          service: tokenServer.service,
          issuer: tokenServer.issuer,
          rootcertbundle: bundle,
        },
      };
    }

    const dataRoot = join(dir, 'data');
    mkdirSync(dataRoot);
    const configFile = join(dir, 'config.yml');
    // The registry reads REGISTRY_* variables as config overrides: never inherit them.
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REGISTRY_')) env[k] = v;

    let lastError = '';
    for (let attempt = 1; attempt <= MAX_PORT_ATTEMPTS; attempt++) {
      const port = await freePort();
      const config: RegistryConfig = {
        version: '0.1',
        log: { level: opts.logLevel ?? 'warn', formatter: 'text', accesslog: { disabled: true } },
        storage: {
          filesystem: { rootdirectory: dataRoot },
          delete: { enabled: true },
          maintenance: { uploadpurging: { enabled: false } },
        },
        http: {
          addr: `127.0.0.1:${port}`,
          secret: randomSecret(24),
          headers: { 'X-Content-Type-Options': ['nosniff'] },
          ...(pki ? { tls: { certificate: pki.certFile, key: pki.keyFile } } : {}),
        },
        ...(auth ? { auth } : {}),
      };
      opts.configure?.(config, { dir, port });
      writeFileSync(configFile, toYaml(config));

      const proc: ManagedProcess = spawnManaged(bin, ['serve', configFile], { cwd: dir, env });
      const host = `${tls ? 'localhost' : '127.0.0.1'}:${port}`;
      const url = `${tls ? 'https' : 'http'}://${host}`;
      const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
      let ready = false;
      while (Date.now() < deadline && !proc.hasExited()) {
        const status = await probe(url, pki?.caPem);
        if (status === 200 || status === 401) {
          ready = true;
          break;
        }
        await sleep(100);
      }
      if (ready) {
        const ts = tokenServer;
        let stopping: Promise<void> | undefined;
        return {
          host,
          url,
          port,
          mode,
          ...(pki ? { caFile: pki.caFile, caPem: pki.caPem, certDir: pki.certDir } : {}),
          ...(username !== undefined ? { username, password } : {}),
          ...(ts ? { tokenServer: ts } : {}),
          dataDir: dir,
          configFile,
          pid: proc.pid,
          logs: () => proc.output(),
          stop() {
            stopping ??= (async () => {
              try {
                await proc.stop(3000);
                await ts?.stop();
              } finally {
                removeDir(dir);
                unregisterDir();
              }
            })();
            return stopping;
          },
        };
      }
      const exitedEarly = proc.hasExited();
      await proc.stop(1000);
      lastError = proc.output().trim();
      if (exitedEarly && /address already in use/i.test(lastError) && attempt < MAX_PORT_ATTEMPTS) continue;
      throw new Error(
        `docker-registry (${mode}) did not become ready on ${url} ${
          exitedEarly ? '(it exited)' : `within ${opts.startTimeoutMs ?? 15_000} ms`
        }; output:\n${lastError || '(none)'}`,
      );
    }
    throw new Error(`docker-registry (${mode}) could not bind a port; output:\n${lastError}`);
  } catch (err) {
    await tokenServer?.stop();
    removeDir(dir);
    unregisterDir();
    throw err;
  }
}
