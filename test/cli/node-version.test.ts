import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSupportedNode, SUPPORTED_NODE, unsupportedNodeMessage } from '../../src/cli/node-version.js';

const execFileP = promisify(execFile);
const SYSTEM_NODE = '/usr/bin/node';

describe('Node.js version check', () => {
  it('matches package.json engines', () => {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8'));
    expect(pkg.engines.node).toBe(SUPPORTED_NODE);
  });

  it.each([
    ['20.20.2', false],
    ['22.22.1', false],
    ['22.22.2', true],
    ['22.23.0', true],
    ['23.9.0', false],
    ['24.14.9', false],
    ['24.15.0', true],
    ['25.0.0', false],
    ['26.0.0', true],
    ['v30.1.2', true],
    ['garbage', false],
  ])('%s supported: %s', (version, ok) => {
    expect(isSupportedNode(version)).toBe(ok);
  });

  it('prints the documented message', () => {
    expect(unsupportedNodeMessage('20.20.2')).toBe(
      'chartproof needs Node.js ^22.22.2 || ^24.15.0 || >=26 (found v20.20.2)',
    );
  });

  // The bin entry built the way tsup builds dist/cli.js (ESM, code splitting, dependencies
  // external), run under the machine's own Node.
  describe('the bin entry', () => {
    const out = join(process.cwd(), 'node_modules', '.cache', `chartproof-bin-test-${process.pid}`);
    beforeAll(async () => {
      mkdirSync(out, { recursive: true });
      await build({
        entryPoints: { cli: join(process.cwd(), 'src/cli/bin.ts') },
        bundle: true,
        splitting: true,
        format: 'esm',
        platform: 'node',
        target: 'node22',
        packages: 'external',
        outdir: out,
        logLevel: 'silent',
      });
    }, 60_000);
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('loads nothing but the check before the version is known', () => {
      const entry = readFileSync(join(out, 'cli.js'), 'utf8');
      expect(entry).not.toMatch(/from\s+["']undici["']/);
      expect(entry).not.toMatch(/^import .* from ["']\.\/chunk/m);
      expect(entry).toMatch(/import\(["']\.\/main|import\(["']\.\/chunk/);
    });

    it('runs the CLI on a supported Node', async () => {
      const v = await execFileP(process.execPath, [join(out, 'cli.js'), '--version']);
      expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
      const bad = await execFileP(process.execPath, [join(out, 'cli.js'), 'tags']).catch((e) => e);
      expect(bad.code).toBe(2);
    });

    it('prints one line and exits 2 on an unsupported Node (the system node)', async (ctx) => {
      if (!existsSync(SYSTEM_NODE)) {
        console.warn(`unsupported-Node check skipped: no ${SYSTEM_NODE} to run the CLI with`);
        ctx.skip();
        return;
      }
      const oldNode = SYSTEM_NODE;
      const version = (await execFileP(oldNode, ['-p', 'process.versions.node'])).stdout.trim();
      if (isSupportedNode(version)) {
        console.warn(`unsupported-Node check skipped: ${oldNode} is v${version}, a supported version`);
        ctx.skip();
        return;
      }
      const r = await execFileP(oldNode, [join(out, 'cli.js'), '--version']).catch((e) => e);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`${unsupportedNodeMessage(version)}\n`);
      expect(r.stdout).toBe('');
    });
  });
});
