/**
 * Shared bits of the `test/integration/helm-*.test.ts` suites, which run the real Helm
 * (test/helpers/helm.ts) and chartproof side by side on the same inputs.
 */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../../src/cli/main.js';
import { captureIo } from './cli-io.js';
import { type HelmResult, runHelm } from './helm.js';
import { sleep, spawnManaged } from './services.js';

/** Writes a tree of files; every file gets the same modification time (seconds). */
export function writeTree(
  root: string,
  files: Record<string, string | Uint8Array>,
  mtime = 1700000000,
): void {
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    utimesSync(path, mtime, mtime);
  }
}

/** Runs the chartproof CLI in process with the given environment. */
export async function chartproof(
  args: string[],
  env: Record<string, string | undefined> = { HOME: '/nonexistent' },
  stdin = '',
): Promise<{ code: number; out: string; err: string }> {
  const c = captureIo(stdin, env);
  const code = await run(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

/** Runs Helm and fails with its output when it exits non-zero. */
export function helmOk(args: string[], opts: Parameters<typeof runHelm>[1] = {}): HelmResult {
  const r = runHelm(args, opts);
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r;
}

/** The environment `runHelm` gives Helm for a home directory (for chartproof to share). */
export function helmEnv(home: string): Record<string, string> {
  return {
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
}

// A static file server in its own process: Helm runs through spawnSync, which blocks this
// process's event loop, so an in-process server could never answer it.
const STATIC_SERVER = `
const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
const root = process.argv[1];
http.createServer((req, res) => {
  const name = decodeURIComponent(new URL(req.url, 'http://x').pathname).slice(1);
  const file = path.join(root, name);
  if (name.includes('..') || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404).end(); return; }
  res.writeHead(200).end(fs.readFileSync(file));
}).listen(0, '127.0.0.1', function () { console.log('PORT ' + this.address().port); });
`;

/** Serves `dir` over HTTP on loopback from a child process (a classic chart repository). */
export async function startStaticServer(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const proc = spawnManaged(process.execPath, ['-e', STATIC_SERVER, dir]);
  for (let i = 0; i < 200; i++) {
    const m = /PORT (\d+)/.exec(proc.output());
    if (m) return { url: `http://127.0.0.1:${m[1]}/`, stop: () => proc.stop() };
    if (proc.hasExited()) break;
    await sleep(25);
  }
  await proc.stop();
  throw new Error(`static server did not start: ${proc.output()}`);
}
