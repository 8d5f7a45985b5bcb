import { captureIo } from '../helpers/cli-io.js';
import { HELM_VECTORS as VECTORS } from '../helpers/vectors.js';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { MemoryRegistry } from '../../src/testing/index.js';

const haveVectors = existsSync(VECTORS);
if (!haveVectors) console.warn(`chart CLI tests skipped: Helm vectors not found at ${VECTORS}`);
const GOLDEN_DIGEST = 'sha256:fbbade96da6050f68f94f122881e3b80051a18f13ab5f4081868dd494538f5c2';

const capture = () => captureIo();

describe.skipIf(!haveVectors)('chartproof push / pull / inspect', () => {
  let registry: MemoryRegistry;
  let server: { host: string; close(): Promise<void> };
  let dir: string;
  let tgz: string;

  beforeAll(async () => {
    registry = new MemoryRegistry();
    server = await registry.listen();
    dir = await mkdtemp(join(tmpdir(), 'chartproof-chart-cli-'));
    tgz = join(dir, 'signtest-0.1.0.tgz');
    await copyFile(join(VECTORS, 'pkg/downloader/testdata/signtest-0.1.0.tgz'), tgz);
    await copyFile(join(VECTORS, 'pkg/downloader/testdata/signtest-0.1.0.tgz.prov'), `${tgz}.prov`);
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('inspects an archive', async () => {
    const c = capture();
    expect(await run(['inspect', tgz], c.io)).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({
      name: 'signtest',
      version: '0.1.0',
      apiVersion: 'v1',
      digest: 'sha256:e5ef611620fb97704d8751c16bab17fedb68883bfb0edc76f78a70e9173f9b55',
    });
  });

  it('pushes like helm push: same manifest digest as Helm for the same creation time', async () => {
    const c = capture();
    const code = await run(
      ['--plain-http', 'push', tgz, `oci://${server.host}/charts`, '--creation-time', '1977-09-02T22:04:05Z'],
      c.io,
    );
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    expect(c.out()).toBe(`Pushed: oci://${server.host}/charts/signtest:0.1.0\nDigest: ${GOLDEN_DIGEST}\n`);
  });

  it('pulls the chart and its provenance back, byte for byte, and prints the pinned reference', async () => {
    const dest = join(dir, 'out');
    const c = capture();
    expect(
      await run(
        [
          '--plain-http',
          'pull',
          `oci://${server.host}/charts/signtest`,
          '--version',
          '^0.1',
          '-d',
          dest,
          '--prov',
        ],
        c.io,
      ),
    ).toBe(0);
    expect(c.out()).toContain(`Reference: ${server.host}/charts/signtest@${GOLDEN_DIGEST}`);
    expect((await readFile(join(dest, 'signtest-0.1.0.tgz'))).equals(await readFile(tgz))).toBe(true);
    expect(
      (await readFile(join(dest, 'signtest-0.1.0.tgz.prov'))).equals(await readFile(`${tgz}.prov`)),
    ).toBe(true);
    const i = capture();
    expect(await run(['--plain-http', 'inspect', `oci://${server.host}/charts/signtest:0.1.0`], i.io)).toBe(
      0,
    );
    expect(JSON.parse(i.out()).reference).toBe(`${server.host}/charts/signtest@${GOLDEN_DIGEST}`);
  });

  it('exits 2 on an invalid archive and 3 on a missing version', async () => {
    const bad = join(dir, 'bad.tgz');
    await copyFile(join(VECTORS, 'pkg/action/testdata/charts/corrupted-compressed-chart.tgz'), bad);
    const c = capture();
    expect(await run(['inspect', bad], c.io)).toBe(2);
    expect(c.err()).toMatch(/Error: /);
    const m = capture();
    expect(
      await run(
        ['--plain-http', 'pull', `oci://${server.host}/charts/signtest`, '--version', '9.9.9', '-d', dir],
        m.io,
      ),
    ).toBe(3);
  });

  it('pulls from a classic repository, verifying the index digest, and refuses a swapped archive', async () => {
    const good = await readFile(tgz);
    const evil = Buffer.concat([good, Buffer.from([0])]);
    let serveEvil = false;
    let serveProv = true;
    const prov = await readFile(`${tgz}.prov`);
    const digest = createHash('sha256').update(good).digest('hex');
    const index = `apiVersion: v1\nentries:\n  signtest:\n  - apiVersion: v1\n    name: signtest\n    version: 0.1.0\n    digest: ${digest}\n    urls:\n    - charts/signtest-0.1.0.tgz\n`;
    const http = createServer((req, res) => {
      if (req.url === '/index.yaml') res.end(index);
      else if (req.url === '/charts/signtest-0.1.0.tgz') res.end(serveEvil ? evil : good);
      else if (req.url === '/charts/signtest-0.1.0.tgz.prov' && serveProv) res.end(prov);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      const dest = join(dir, 'classic');
      const c = capture();
      expect(await run(['pull', 'signtest', '--repo', url, '--version', '0.1.x', '-d', dest], c.io)).toBe(0);
      expect(c.out()).toContain('(verified against index.yaml)');
      expect((await readFile(join(dest, 'signtest-0.1.0.tgz'))).equals(good)).toBe(true);
      expect(existsSync(join(dest, 'signtest-0.1.0.tgz.prov'))).toBe(false);
      // --prov also downloads <archive URL>.prov, as helm pull --prov does; its absence is an error.
      const p = capture();
      expect(await run(['pull', 'signtest', '--repo', url, '--prov', '-d', dest], p.io)).toBe(0);
      expect((await readFile(join(dest, 'signtest-0.1.0.tgz.prov'))).equals(prov)).toBe(true);
      serveProv = false;
      const noProv = capture();
      expect(
        await run(['pull', 'signtest', '--repo', url, '--prov', '-d', join(dir, 'np')], noProv.io),
      ).not.toBe(0);
      expect(noProv.err()).toMatch(/failed to fetch provenance ".*signtest-0\.1\.0\.tgz\.prov"/);
      expect(existsSync(join(dir, 'np', 'signtest-0.1.0.tgz'))).toBe(false);
      serveEvil = true;
      const bad = capture();
      expect(await run(['pull', 'signtest', '--repo', url, '-d', join(dir, 'evil')], bad.io)).toBe(1);
      expect(bad.err()).toMatch(/digest/i);
      expect(existsSync(join(dir, 'evil', 'signtest-0.1.0.tgz'))).toBe(false);
    } finally {
      await new Promise((r) => http.close(r));
    }
  });
});
