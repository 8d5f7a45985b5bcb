/**
 * Runs `/usr/bin/skopeo` as an independent reference client in integration tests, isolated from
 * the host's containers configuration: a temp `--policy` (insecureAcceptAnything), an empty
 * `--registries.d`, an empty registries.conf (CONTAINERS_REGISTRIES_CONF) and a non-existent auth
 * file (REGISTRY_AUTH_FILE), so root's or the system's settings never leak into a test.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StartedRegistry } from './docker-registry.js';
import { makeTempDirSync, removeDir, removeOnExit, toolPath } from './services.js';

/** Transport settings for one side of a skopeo command. */
export interface SkopeoEndpoint {
  /** false for plain HTTP or unverified TLS. */
  tlsVerify?: boolean;
  /** A directory holding `ca.crt` (and optionally client `*.cert`/`*.key`). */
  certDir?: string;
  /** `user:pass` */
  creds?: string;
  /** A bearer token to send as-is. */
  registryToken?: string;
}

export interface SkopeoOptions {
  /** Source side of `copy` / `sync` (`--src-*`). */
  src?: SkopeoEndpoint;
  /** Destination side of `copy` / `sync` (`--dest-*`). */
  dest?: SkopeoEndpoint;
  /** The single side of `inspect`, `delete`, `list-tags` (`--tls-verify`, `--cert-dir`, `--creds`). */
  target?: SkopeoEndpoint;
  /** Default 60 000 ms. */
  timeoutMs?: number;
  /** Adds `--debug` (output goes to stderr). */
  debug?: boolean;
  /** Extra environment variables. */
  env?: NodeJS.ProcessEnv;
}

export interface SkopeoResult {
  stdout: string;
  stderr: string;
  /** stdout as raw bytes (for digests of `inspect --raw`). */
  stdoutBytes: Buffer;
}

export const SKOPEO_BIN = '/usr/bin/skopeo';

/** True when skopeo is installed. */
export function skopeoAvailable(): boolean {
  return toolPath(SKOPEO_BIN) !== undefined || toolPath('skopeo') !== undefined;
}

interface Sandbox {
  dir: string;
  dispose: () => void;
  policy: string;
  registriesD: string;
  registriesConf: string;
  authFile: string;
  tmp: string;
}

/** A fresh per-invocation config sandbox (removed after the command). */
function createSandbox(): Sandbox {
  const dir = makeTempDirSync('chartproof-skopeo-');
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const registriesD = join(dir, 'registries.d');
  mkdirSync(registriesD);
  const registriesConf = join(dir, 'registries.conf');
  writeFileSync(registriesConf, 'unqualified-search-registries = []\n');
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const unregister = removeOnExit(dir);
  const dispose = () => {
    removeDir(dir);
    unregister();
  };
  return { dir, dispose, policy, registriesD, registriesConf, authFile: join(dir, 'auth.json'), tmp };
}

function endpointFlags(prefix: '' | 'src-' | 'dest-', e: SkopeoEndpoint | undefined): string[] {
  if (!e) return [];
  const flags: string[] = [];
  if (e.tlsVerify !== undefined) flags.push(`--${prefix}tls-verify=${e.tlsVerify}`);
  if (e.certDir !== undefined) flags.push(`--${prefix}cert-dir`, e.certDir);
  if (e.creds !== undefined) flags.push(`--${prefix}creds`, e.creds);
  if (e.registryToken !== undefined) flags.push(`--${prefix}registry-token`, e.registryToken);
  return flags;
}

/**
 * Runs `skopeo <global flags> <args[0]> <endpoint flags> <args[1..]>`. Throws (with stderr) on a
 * non-zero exit.
 */
export function skopeo(args: string[], opts: SkopeoOptions = {}): Promise<SkopeoResult> {
  const bin = toolPath(SKOPEO_BIN) ?? toolPath('skopeo');
  if (!bin) return Promise.reject(new Error('skopeo is not installed'));
  const [sub, ...rest] = args;
  if (!sub) return Promise.reject(new Error('skopeo: missing subcommand'));
  const sb = createSandbox();
  const global = ['--policy', sb.policy, '--registries.d', sb.registriesD, '--tmpdir', sb.tmp];
  if (opts.debug) global.push('--debug');
  const full = [
    ...global,
    sub,
    ...endpointFlags('src-', opts.src),
    ...endpointFlags('dest-', opts.dest),
    ...endpointFlags('', opts.target),
    ...rest,
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_REGISTRIES_CONF: sb.registriesConf,
    REGISTRY_AUTH_FILE: sb.authFile,
    ...opts.env,
  };
  return new Promise((resolve, reject) => {
    const run = () =>
      execFile(
        bin,
        full,
        {
          env,
          encoding: 'buffer',
          maxBuffer: 256 * 1024 * 1024,
          timeout: opts.timeoutMs ?? 60_000,
          killSignal: 'SIGKILL',
        },
        (err, stdout, stderr) => {
          sb.dispose();
          const result = {
            stdout: stdout.toString('utf8'),
            stderr: stderr.toString('utf8'),
            stdoutBytes: stdout,
          };
          if (err) {
            const e = err as Error & { code?: number | string; killed?: boolean };
            reject(
              new Error(
                `skopeo ${sub} failed (${e.killed ? 'timed out' : `exit ${e.code}`}): ${result.stderr.trim() || e.message}`,
              ),
            );
            return;
          }
          resolve(result);
        },
      );
    try {
      run();
    } catch (err) {
      sb.dispose();
      reject(err);
    }
  });
}

/** Endpoint settings matching a started registry (TLS trust, plain HTTP, credentials). */
export function skopeoEndpoint(reg: StartedRegistry, opts: { withCreds?: boolean } = {}): SkopeoEndpoint {
  const e: SkopeoEndpoint =
    reg.mode === 'tls' || reg.mode === 'tls-basic'
      ? { tlsVerify: true, certDir: reg.certDir! }
      : { tlsVerify: false };
  if ((opts.withCreds ?? true) && reg.username !== undefined && reg.password !== undefined) {
    e.creds = `${reg.username}:${reg.password}`;
  }
  return e;
}

/** `skopeo inspect --raw <ref>`: the manifest bytes exactly as served. */
export async function skopeoInspectRaw(ref: string, target?: SkopeoEndpoint): Promise<Buffer> {
  const { stdoutBytes } = await skopeo(['inspect', '--raw', ref], target ? { target } : {});
  return stdoutBytes;
}

/** `skopeo copy <src> <dest>` with per-side settings; `extra` flags go before the references. */
export async function skopeoCopy(
  src: string,
  dest: string,
  opts: { src?: SkopeoEndpoint; dest?: SkopeoEndpoint; extra?: string[]; timeoutMs?: number } = {},
): Promise<SkopeoResult> {
  return skopeo(['copy', ...(opts.extra ?? []), src, dest], {
    ...(opts.src ? { src: opts.src } : {}),
    ...(opts.dest ? { dest: opts.dest } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
}
