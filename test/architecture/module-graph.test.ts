/**
 * What each built entry point really loads: every published entry point (ESM and CJS)
 * is loaded in a fresh Node process whose module resolution is recorded
 * (`module.registerHooks`), and the packages it pulled in are checked against the
 * layering: verification never loads signing code (`@sigstore/sign`), the OCI client
 * loads no Sigstore, OpenPGP or Kubernetes code, and the Kubernetes client is loaded by
 * nobody until an audit asks for it. The heavy dependencies only some calls need
 * (`@sigstore/sign`, `@sigstore/verify`, `openpgp`, `ajv`, `re2js`, and `undici` until a
 * registry is contacted) are loaded on first use: no entry point,
 * nor the `chartproof` program, loads them up front. Needs `npm run build` first (npm
 * test does).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const DIST = join(ROOT, 'dist');

interface Conditions {
  import: { default: string };
  require: { default: string };
}
const EXPORTS = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, Conditions | string>;
  }
).exports;

/** Packages loaded on first use only (see the file comment). */
const ON_FIRST_USE = [
  '@sigstore/sign',
  '@sigstore/verify',
  '@sigstore/core',
  'openpgp',
  'ajv',
  're2js',
  'undici',
];

/** Package names (`@scope/name` or `name`) of the node_modules files `entry` loads, by condition. */
function loadedPackages(file: string, mode: 'import' | 'require' | 'program', args: string[] = []): string[] {
  const load =
    mode === 'require'
      ? `require(${JSON.stringify(file)}); done();`
      : mode === 'import'
        ? `import(${JSON.stringify(`file://${file}`)}).then(done);`
        : // The program runs its command after the import settles: report at exit, on stderr.
          `process.argv.splice(1, Infinity, ${JSON.stringify(file)}, ...${JSON.stringify(args)});
           process.on('exit', () => process.stderr.write('\\n' + JSON.stringify([...seen])));
           import(${JSON.stringify(`file://${file}`)});`;
  const script = `
    const { registerHooks } = require('node:module');
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
    const done = () => process.stdout.write(JSON.stringify([...seen]));
    ${load}
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`loading ${file} failed: ${r.stderr}`);
  const recorded = mode === 'program' ? (r.stderr.trim().split('\n').at(-1) ?? '') : r.stdout;
  const urls = JSON.parse(recorded) as string[];
  const names = new Set<string>();
  for (const url of urls) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m) names.add(m[1] as string);
  }
  return [...names].sort();
}

const graph = new Map<string, { import: string[]; require: string[] }>();

beforeAll(() => {
  if (!existsSync(join(DIST, 'verify.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  for (const [key, value] of Object.entries(EXPORTS)) {
    if (typeof value === 'string') continue;
    graph.set(key, {
      import: loadedPackages(join(ROOT, value.import.default), 'import'),
      require: loadedPackages(join(ROOT, value.require.default), 'require'),
    });
  }
}, 120_000);

function packagesOf(entry: string): string[] {
  const g = graph.get(entry);
  if (!g) throw new Error(`no entry point ${entry}`);
  return [...new Set([...g.import, ...g.require])];
}

describe('built module graph', () => {
  it('records what an entry point loads (the probe sees packages)', () => {
    expect(graph.size).toBeGreaterThanOrEqual(10);
    // Verification loads @sigstore/bundle up front: the probe would see @sigstore/sign likewise.
    expect(graph.get('./verify')?.import).toContain('@sigstore/bundle');
    expect(graph.get('./verify')?.require).toContain('@sigstore/bundle');
    expect(packagesOf('./render')).toContain('yaml');
  });

  it('no entry point loads @sigstore/sign, @sigstore/verify, openpgp, ajv, re2js or undici before a call needs them', () => {
    for (const [entry] of graph)
      expect(
        packagesOf(entry).filter((p) => ON_FIRST_USE.includes(p)),
        entry,
      ).toEqual([]);
  });

  it('the chartproof program loads none of them to start (here: --version)', () => {
    const loaded = loadedPackages(join(DIST, 'cli.js'), 'program', ['--version']);
    // The probe sees the program's own dependencies (YAML, for the registry config);
    // the commands load when they run, so the version code (semver) is not loaded.
    expect(loaded).toContain('yaml');
    expect(loaded).not.toContain('semver');
    const template = loadedPackages(join(DIST, 'cli.js'), 'program', ['template', '--help']);
    expect(template).toContain('semver');
    expect(template.filter((p) => ON_FIRST_USE.includes(p))).toEqual([]);
    expect(loaded.filter((p) => ON_FIRST_USE.includes(p))).toEqual([]);
  });

  it.each(['import', 'require'] as const)(
    'loads them when a call needs them, and the call works (%s build)',
    (mode) => {
      const entry = (name: string) => {
        const e = EXPORTS[name] as Conditions;
        return join(ROOT, mode === 'import' ? e.import.default : e.require.default);
      };
      // A registry answering one tag list, and an invalid trust config: the client's
      // first request loads undici, the config's validation loads ajv.
      const script = `
        const { registerHooks } = require('node:module');
        const seen = new Set();
        registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
        const load = (file) => ${mode === 'import' ? 'import(require("node:url").pathToFileURL(file).href)' : 'Promise.resolve(require(file))'};
        const server = require('node:http').createServer((req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ name: 'x', tags: ['1.0'] }));
        });
        server.listen(0, '127.0.0.1', async () => {
          const { RegistryClient } = await load(${JSON.stringify(entry('./oci'))});
          const { parseTrustConfig } = await load(${JSON.stringify(entry('./policy'))});
          const client = new RegistryClient({ plainHttp: true });
          const tags = await client.repository('127.0.0.1:' + server.address().port + '/x').tags();
          await client.close();
          server.close();
          let config;
          try { parseTrustConfig({ registries: 'not a list' }); } catch (e) { config = e.code; }
          process.stdout.write(JSON.stringify({ tags, config, seen: [...seen] }));
        });
      `;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { tags: string[]; config: string; seen: string[] };
      expect(out.tags).toEqual(['1.0']);
      expect(out.config).toBe('INVALID_CONFIG');
      const names = out.seen.map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]);
      expect(names).toContain('undici');
      expect(names).toContain('ajv');
    },
    60_000,
  );

  it('chartproof/verify does not load @sigstore/sign (ESM and CJS)', () => {
    expect(graph.get('./verify')?.import).not.toContain('@sigstore/sign');
    expect(graph.get('./verify')?.require).not.toContain('@sigstore/sign');
  });

  it('chartproof/oci and the root entry load no Sigstore, OpenPGP or Kubernetes code', () => {
    for (const entry of ['.', './oci']) {
      const loaded = packagesOf(entry);
      expect(
        loaded.filter((p) => p.startsWith('@sigstore/') || p === 'openpgp' || p.startsWith('@kubernetes/')),
      ).toEqual([]);
    }
  });

  it('nothing loads the Kubernetes client up front', () => {
    for (const [entry] of graph) expect(packagesOf(entry), entry).not.toContain('@kubernetes/client-node');
  });
});
