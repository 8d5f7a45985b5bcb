/**
 * The hostile documents of issue 10 ("Hardening", nesting depth), each through the real
 * call site that reads it: every one fails fast with `DEPTH_LIMIT_EXCEEDED`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChartArchive } from '../../src/chart/load.js';
import { parseRepoIndex } from '../../src/chart/repo.js';
import { loadMirrorSpec } from '../../src/mirror/spec.js';
import { readConfigFile } from '../../src/oci/auth/credentials.js';
import { type Descriptor, digestOf } from '../../src/oci/index.js';
import { MediaType } from '../../src/oci/media-types.js';
import { fromYaml } from '../../src/render/funcs/yaml.js';
import { mapGet } from '../../src/render/template/value.js';
import { parseValuesYaml } from '../../src/render/values/yaml.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { type ListeningFixture, listeningFixture } from '../helpers/registry.js';
import { header, pax, rawTar } from '../helpers/tar-blocks.js';

const root = mkdtempSync(join(tmpdir(), 'cp-hostile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const FOUR_MIB_OF_BRACKETS = `a: ${'['.repeat(4 * 1024 * 1024)}`;
const NESTED_BRACES = `${'{'.repeat(200_000)}`;

/** A gzipped chart archive with the given files under `hostile/`. */
async function chartTgz(files: Record<string, string>): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const [name, body] of Object.entries(files))
    pack.entry({ name: `hostile/${name}`, type: 'file', mode: 0o644 }, body);
  pack.finalize();
  await done;
  return new Uint8Array(gzipSync(Buffer.concat(chunks)));
}

const CHART_YAML = 'apiVersion: v2\nname: hostile\nversion: 1.0.0\n';

describe('hostile nesting through the real call sites', () => {
  it('values.yaml of `a: ` and 4 MiB of [ (loadChartArchive)', async () => {
    const tgz = await chartTgz({ 'Chart.yaml': CHART_YAML, 'values.yaml': FOUR_MIB_OF_BRACKETS });
    await expectChartproofError(loadChartArchive(tgz), 'DEPTH_LIMIT_EXCEEDED', /values\.yaml/);
  });

  it('a wide values.yaml: 5 MiB of `- a` lines (1.3 M nodes) is refused before parsing', async () => {
    const wide = `list:\n${'- a\n'.repeat(1_300_000)}`;
    expect(wide.length).toBeLessThan(5 * 1024 * 1024 + 16);
    const tgz = await chartTgz({ 'Chart.yaml': CHART_YAML, 'values.yaml': wide });
    const err = await expectChartproofError(loadChartArchive(tgz), 'SIZE_LIMIT_EXCEEDED', /values\.yaml/);
    expect(err.message).toMatch(/more than 300000 YAML nodes/);
  });

  it('a wide document just under the node bound still parses (the bound is not a size limit)', () => {
    const ok = parseValuesYaml(`list:\n${'- a\n'.repeat(100_000)}`, 'values.yaml');
    expect((ok.list as unknown[]).length).toBe(100_000);
  });

  it('Chart.yaml with 200k nested { inside a .tgz (loadChartArchive)', async () => {
    const tgz = await chartTgz({ 'Chart.yaml': `${CHART_YAML}annotations: ${NESTED_BRACES}` });
    await expectChartproofError(loadChartArchive(tgz), 'DEPTH_LIMIT_EXCEEDED', /Chart\.yaml/);
  });

  it('a deep Chart.lock (loadChartArchive)', async () => {
    const lock = `digest: sha256:00\ndependencies: ${'['.repeat(100_000)}`;
    const tgz = await chartTgz({ 'Chart.yaml': CHART_YAML, 'Chart.lock': lock });
    await expectChartproofError(loadChartArchive(tgz), 'DEPTH_LIMIT_EXCEEDED', /Chart\.lock/);
  });

  it('a deep classic index.yaml, as YAML and as JSON (parseRepoIndex)', () => {
    for (const text of [
      `apiVersion: v1\nentries:\n  x: ${'['.repeat(500_000)}`,
      `{"apiVersion":"v1","entries":${'['.repeat(500_000)}`,
    ]) {
      let err: unknown;
      try {
        parseRepoIndex(text);
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string }).code).toBe('DEPTH_LIMIT_EXCEEDED');
    }
  });

  it('a values file given to the renderer (-f), and fromYaml in a template', () => {
    let err: unknown;
    try {
      parseValuesYaml(FOUR_MIB_OF_BRACKETS, 'hostile.yaml');
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('DEPTH_LIMIT_EXCEEDED');
    // fromYaml reports failures in the map's Error key, as Helm does.
    const error = mapGet(fromYaml(FOUR_MIB_OF_BRACKETS), 'Error');
    expect(String(error)).toMatch(/nests deeper than/);
  });

  it('a deep mirror spec (loadMirrorSpec), attributed to local input', async () => {
    const path = join(root, 'mirror.yaml');
    writeFileSync(path, `target: {registry: r.example}\ncharts: ${'{a: '.repeat(100_000)}`);
    const err = await expectChartproofError(loadMirrorSpec(path), 'DEPTH_LIMIT_EXCEEDED', /mirror spec/);
    expect(err.source).toBe('local');
  });

  it('a deep config.json (credentials), attributed to local input', async () => {
    const path = join(root, 'config.json');
    writeFileSync(path, `{"auths":${'{"a":'.repeat(100_000)}`);
    const err = await expectChartproofError(readConfigFile(path), 'DEPTH_LIMIT_EXCEEDED');
    expect(err.source).toBe('local');
  });

  describe('a deep JSON manifest served by a registry', () => {
    let registry: ListeningFixture;
    beforeAll(async () => {
      registry = await listeningFixture({ repository: 'charts/deep' });
      const store = registry.store();
      const data = new TextEncoder().encode(
        `{"schemaVersion":2,"mediaType":"${MediaType.OciManifest}","annotations":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`,
      );
      const desc: Descriptor = {
        mediaType: MediaType.OciManifest,
        digest: digestOf(data),
        size: data.byteLength,
      };
      await store.push(desc, data);
      await store.tag(desc, 'v1');
    });
    afterAll(() => registry.close());

    it('fails with the typed error, not after parsing it', async () => {
      await expectChartproofError(registry.app.fetchManifest('v1'), 'DEPTH_LIMIT_EXCEEDED', /manifest/);
    });
  });

  it('1 TiB declared sizes in a chart archive fail with SIZE_LIMIT_EXCEEDED before anything is allocated', async () => {
    const tib = 1024n ** 4n;
    for (const tarBytes of [
      // base-256 size field (GNU), then no data at all
      Buffer.concat([header('hostile/Chart.yaml', tib), Buffer.alloc(1024)]),
      // PAX size record
      rawTar([
        { name: 'PaxHeader', type: 'x', body: pax({ size: String(tib) }) },
        { name: 'hostile/values.yaml', size: 0 },
      ]),
    ]) {
      const before = process.memoryUsage().arrayBuffers;
      await expectChartproofError(
        loadChartArchive(new Uint8Array(gzipSync(tarBytes))),
        'SIZE_LIMIT_EXCEEDED',
      );
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    }
  });

  it('in a child process with a 200 MiB heap, the 4 MiB document fails with the typed error', async () => {
    // The loader is bundled from source so the child runs the code under test.
    const { build } = await import('esbuild');
    const entry = join(root, 'entry.ts');
    writeFileSync(
      entry,
      [
        `import { readFileSync } from 'node:fs';`,
        `import { loadChartArchive } from ${JSON.stringify(join(process.cwd(), 'src/chart/load.ts'))};`,
        'const started = Date.now();',
        'loadChartArchive(new Uint8Array(readFileSync(process.argv[2]))).then(',
        `  () => console.log(JSON.stringify({ code: 'LOADED' })),`,
        '  (e) => console.log(JSON.stringify({ code: e.code, ms: Date.now() - started })),',
        ');',
      ].join('\n'),
    );
    const bundle = join(root, 'load.cjs');
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: bundle,
      logLevel: 'error',
    });
    const tgzPath = join(root, 'hostile.tgz');
    writeFileSync(tgzPath, await chartTgz({ 'Chart.yaml': CHART_YAML, 'values.yaml': FOUR_MIB_OF_BRACKETS }));
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((resolve) => {
      const child = spawn(process.execPath, ['--max-old-space-size=200', bundle, tgzPath], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
      });
      // Generous: the point is "exits with the typed error", not a benchmark.
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve({ code: c, stdout: out, stderr: err });
      });
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout.trim())).toMatchObject({ code: 'DEPTH_LIMIT_EXCEEDED' });
  }, 90_000);
});
