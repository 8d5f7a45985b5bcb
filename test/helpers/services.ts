/**
 * Shared plumbing for integration-test services: tool detection with a printed skip reason,
 * free ports, temp dirs, an openssl-backed test PKI, and child processes that can never outlive
 * the test process (an 'exit' handler, plus a detached janitor process that cleans up when the
 * test process is killed without running 'exit' handlers).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

// ---------------------------------------------------------------------------------------------
// Tool detection
// ---------------------------------------------------------------------------------------------

const toolCache = new Map<string, string | undefined>();
const warned = new Set<string>();

/** Absolute path of an executable on PATH (or an absolute path that exists), else undefined. */
export function toolPath(name: string): string | undefined {
  if (toolCache.has(name)) return toolCache.get(name);
  let found: string | undefined;
  const candidates = name.includes('/')
    ? [name]
    : [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin']
        .filter(Boolean)
        .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (!statSync(candidate).isFile()) continue;
      found = candidate;
      break;
    } catch {
      // not there
    }
  }
  toolCache.set(name, found);
  return found;
}

/** True when every named executable is available. */
export function toolAvailable(...names: string[]): boolean {
  return names.every((n) => toolPath(n) !== undefined);
}

/**
 * Returns a human-readable reason when any of the named executables is missing (and prints it
 * once per process with console.warn), else undefined. Use as
 * `const missing = requireTool('docker-registry'); describe.skipIf(missing)(...)` so that no suite
 * is skipped without a printed reason.
 */
export function requireTool(...names: string[]): string | undefined {
  const missing = names.filter((n) => toolPath(n) === undefined);
  if (missing.length === 0) return undefined;
  const reason = `skipping: required tool${missing.length > 1 ? 's' : ''} not found on PATH: ${missing.join(', ')}`;
  if (!warned.has(reason)) {
    warned.add(reason);
    console.warn(`[chartproof tests] ${reason}`);
  }
  return reason;
}

// ---------------------------------------------------------------------------------------------
// Ports, temp dirs, waiting
// ---------------------------------------------------------------------------------------------

/** A port that was free on 127.0.0.1 a moment ago (listen on 0, read it, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** Resolves true when a TCP connection to host:port is accepted, false when refused/failed. */
export function portAcceptsConnections(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Creates a fresh temp dir under os.tmpdir(). */
export function makeTempDir(prefix = 'chartproof-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Synchronous variant of makeTempDir. */
export function makeTempDirSync(prefix = 'chartproof-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Best-effort recursive removal. */
export function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // best effort
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A random URL-safe string (passwords, secrets). */
export function randomSecret(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}

// ---------------------------------------------------------------------------------------------
// Managed child processes
// ---------------------------------------------------------------------------------------------

export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited (and been reaped). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** Combined stdout+stderr (the last 64 KiB). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
const dirsToRemove = new Set<string>();
let exitHandlerInstalled = false;

/**
 * The janitor: one small detached node process per test process, fed over a pipe with the pids
 * and dirs to clean up. When this process dies in a way that skips 'exit' handlers (a vitest
 * worker killed by a signal, SIGKILL, a crash), the pipe reaches EOF and the janitor kills the
 * remaining services and removes their temp dirs.
 */
const JANITOR_SOURCE = `
const fs = require('node:fs');
const pids = new Set();
const dirs = new Set();
let buf = '';
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    try {
      const m = JSON.parse(line);
      const set = m.pid !== undefined ? pids : dirs;
      const value = m.pid !== undefined ? m.pid : m.dir;
      if (m.op === 'add') set.add(value); else set.delete(value);
    } catch {}
  }
});
process.stdin.on('end', () => {
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  for (const dir of dirs) { try { fs.rmSync(dir, { recursive: true, force: true }); } catch {} }
  process.exit(0);
});
`;

let janitor: ChildProcess | null | undefined;

function tellJanitor(msg: { op: 'add' | 'del'; pid?: number; dir?: string }): void {
  if (janitor === undefined) {
    try {
      janitor = spawn(process.execPath, ['-e', JANITOR_SOURCE], {
        stdio: ['pipe', 'ignore', 'ignore'],
        detached: true,
        env: {},
      });
      janitor.on('error', () => {
        janitor = null;
      });
      janitor.stdin?.on('error', () => {});
      janitor.unref();
      (janitor.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    } catch {
      janitor = null;
    }
  }
  if (janitor?.stdin?.writable) janitor.stdin.write(`${JSON.stringify(msg)}\n`);
}

/**
 * Removes `dir` when this process exits (an 'exit' handler, or the janitor if the process is
 * killed) unless the returned disposer was called first. Pair with removeDir() in stop().
 */
export function removeOnExit(dir: string): () => void {
  installExitHandler();
  dirsToRemove.add(dir);
  tellJanitor({ op: 'add', dir });
  return () => {
    if (dirsToRemove.delete(dir)) tellJanitor({ op: 'del', dir });
  };
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // ignore
      }
    }
    live.clear();
    for (const dir of dirsToRemove) removeDir(dir);
    dirsToRemove.clear();
  });
}

const OUTPUT_LIMIT = 64 * 1024;

/**
 * Spawns a long-running service. It is killed when this process exits (an 'exit' handler) and,
 * through the janitor, also when this process dies abruptly (signal, SIGKILL, crash).
 */
export function spawnManaged(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ManagedProcess {
  installExitHandler();
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const append = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (out.length > OUTPUT_LIMIT) out = out.slice(out.length - OUTPUT_LIMIT);
  };
  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (exitedFlag) return;
      exitedFlag = true;
      live.delete(child);
      if (child.pid !== undefined) tellJanitor({ op: 'del', pid: child.pid });
      resolve({ code, signal });
    };
    child.once('exit', finish);
    child.once('error', (err) => {
      append(Buffer.from(`\n[spawn error] ${err.message}\n`));
      finish(null, null);
    });
  });
  if (child.pid === undefined) throw new Error(`failed to spawn ${command}`);
  const pid = child.pid;
  live.add(child);
  tellJanitor({ op: 'add', pid });
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  // Do not keep the event loop alive just because a service runs; tests stop it explicitly.
  child.unref();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 3000): Promise<void> => {
    stopping ??= (async () => {
      if (exitedFlag) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), graceMs);
        }),
      ]);
      if (timer) clearTimeout(timer);
      if (timedOut && !exitedFlag) child.kill('SIGKILL');
      await exited;
    })();
    return stopping;
  };

  return {
    child,
    pid,
    exited,
    hasExited: () => exitedFlag,
    output: () => out,
    stop,
  };
}

// ---------------------------------------------------------------------------------------------
// Test PKI (openssl)
// ---------------------------------------------------------------------------------------------

export type KeyType = 'ec' | 'rsa';

function keyArgs(keyType: KeyType): string[] {
  return keyType === 'ec'
    ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']
    : ['-newkey', 'rsa:2048'];
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}

export interface CertFiles {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

/**
 * A self-signed certificate (1 day). `ca: true` adds CA basic constraints (for trust anchors and
 * token-signing roots).
 */
export function createSelfSignedCert(
  dir: string,
  opts: { name: string; cn: string; keyType?: KeyType; ca?: boolean },
): CertFiles {
  const certFile = join(dir, `${opts.name}.crt`);
  const keyFile = join(dir, `${opts.name}.key`);
  const ext = opts.ca
    ? [
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      ]
    : ['-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature'];
  openssl(
    [
      'req',
      '-x509',
      '-new',
      ...keyArgs(opts.keyType ?? 'ec'),
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      `/CN=${opts.cn}`,
      ...ext,
    ],
    dir,
  );
  return {
    certFile,
    keyFile,
    certPem: readFileSync(certFile, 'utf8'),
    keyPem: readFileSync(keyFile, 'utf8'),
  };
}

export interface TestPki {
  /** The CA certificate (PEM file) — the only file in `certDir`. */
  caFile: string;
  caPem: string;
  /** A directory containing only `ca.crt` (containers-image / docker `certs.d` layout). */
  certDir: string;
  caKeyFile: string;
  /** Server certificate (leaf) signed by the CA, for `hosts`. */
  certFile: string;
  certPem: string;
  keyFile: string;
}

/**
 * A throwaway CA plus a server certificate for `hosts` (DNS names and IPs; default localhost and
 * 127.0.0.1), both valid for 1 day. Files live under `dir`.
 */
export function createTestPki(
  dir: string,
  opts: { hosts?: string[]; keyType?: KeyType; cn?: string } = {},
): TestPki {
  const hosts = opts.hosts ?? ['localhost', '127.0.0.1'];
  const keyType = opts.keyType ?? 'ec';
  const certDir = join(dir, 'certs');
  mkdirSync(certDir, { recursive: true });
  const ca = createSelfSignedCert(dir, { name: 'ca', cn: 'chartproof test CA', keyType, ca: true });
  // Keep certDir free of keys: containers-image treats *.key there as client credentials.
  const caFile = join(certDir, 'ca.crt');
  writeFileSync(caFile, ca.certPem);

  const keyFile = join(dir, 'server.key');
  const csrFile = join(dir, 'server.csr');
  const certFile = join(dir, 'server.crt');
  const extFile = join(dir, 'server.ext');
  const san = hosts.map((h) => (/^[\d.]+$/.test(h) || h.includes(':') ? `IP:${h}` : `DNS:${h}`)).join(',');
  writeFileSync(
    extFile,
    [
      `subjectAltName=${san}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  openssl(
    [
      'req',
      '-new',
      ...keyArgs(keyType),
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      csrFile,
      '-subj',
      `/CN=${opts.cn ?? hosts[0]}`,
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csrFile,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      '1',
      '-sha256',
      '-extfile',
      extFile,
      '-out',
      certFile,
    ],
    dir,
  );
  return {
    caFile,
    caPem: ca.certPem,
    certDir,
    caKeyFile: ca.keyFile,
    certFile,
    certPem: readFileSync(certFile, 'utf8'),
    keyFile,
  };
}
