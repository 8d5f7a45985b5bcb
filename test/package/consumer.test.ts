/**
 * The published package as a strict TypeScript consumer sees it: `npm pack`, unpack
 * into a throwaway project (inside node_modules/.cache so the dependencies resolve
 * from this checkout without a network install), then `tsc --noEmit` with
 * `module: nodenext` and `skipLibCheck: false`, once through `import` (ESM, .d.ts)
 * and once through `require` (CJS, .d.cts). Needs `npm run build` first (npm test does).
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = process.cwd();
const ENTRIES = Object.keys(
  (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> })
    .exports,
)
  .filter((k) => k !== './package.json')
  .map((k) => (k === '.' ? 'chartproof' : `chartproof/${k.slice(2)}`));

let work: string;
let unpacked: string;
let files: string[];

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return r;
}

function list(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? list(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'index.d.ts'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  }
  const cache = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  work = mkdtempSync(join(cache, 'consumer-'));
  const pack = run('npm', ['pack', '--json', '--pack-destination', work], ROOT);
  expect(pack.status, pack.stderr).toBe(0);
  const [{ filename }] = JSON.parse(pack.stdout) as [{ filename: string }];
  unpacked = join(work, 'node_modules', 'chartproof');
  mkdirSync(unpacked, { recursive: true });
  const untar = run('tar', ['-xzf', join(work, filename), '-C', unpacked, '--strip-components=1'], work);
  expect(untar.status, untar.stderr).toBe(0);
  files = list(unpacked);
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the published package', () => {
  it('ships the licence, the README and the build, without source maps', () => {
    expect(files).toContain('LICENSE');
    expect(readFileSync(join(unpacked, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
    expect(files).toContain('README.md');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.cjs');
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
  });

  it('has no @internal declarations in its .d.ts files', () => {
    const dts = files.filter((f) => f.endsWith('.d.ts') || f.endsWith('.d.cts'));
    expect(dts.length).toBeGreaterThan(ENTRIES.length);
    const leaking = dts.filter((f) => readFileSync(join(unpacked, f), 'utf8').includes('@internal'));
    expect(leaking).toEqual([]);
  });

  it('type-checks in a strict nodenext consumer, as ESM and as CJS', () => {
    const names = ENTRIES.map((e, i) => [`m${i}`, e] as const);
    writeFileSync(join(work, 'package.json'), '{ "name": "consumer", "private": true, "type": "module" }\n');
    writeFileSync(
      join(work, 'esm.mts'),
      `${names.map(([n, e]) => `import * as ${n} from '${e}';`).join('\n')}\nexport const all = [${names.map(([n]) => n).join(', ')}];\n`,
    );
    writeFileSync(
      join(work, 'cjs.cts'),
      `${names.map(([n, e]) => `import ${n} = require('${e}');`).join('\n')}\nexport const all = [${names.map(([n]) => n).join(', ')}];\n`,
    );
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2023',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
        },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    const tsc = run(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      work,
    );
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
    expect(tsc.status).toBe(0);
  }, 120_000);
});
