import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChartFile } from '../src/chart/load.js';

const execFileP = promisify(execFile);
const FILES = 2000;
const FILE_BYTES = 10 * 1024; // 2,000 × 10 KiB ≈ 20 MiB decompressed

async function buildArchive(): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  p.entry({ name: 'big/Chart.yaml' }, 'apiVersion: v2\nname: big\nversion: 1.0.0\n');
  p.entry({ name: 'big/values.yaml' }, 'a: 1\n');
  for (let i = 0; i < FILES; i++) {
    // half compressible text, half random, so gzip does real work both ways
    const body = Buffer.concat([Buffer.alloc(FILE_BYTES / 2, `line ${i}\n`), randomBytes(FILE_BYTES / 2)]);
    p.entry({ name: `big/${i % 2 ? 'templates' : 'files'}/f${i}.yaml` }, body);
  }
  p.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe('chart loading benchmark', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chartproof-bench-'));
    file = join(dir, 'big-1.0.0.tgz');
    await writeFile(file, await buildArchive());
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it(`loads a ${FILES}-file chart within 2x of gunzip | sha256sum, under 3x its size in memory`, async () => {
    const ours: number[] = [];
    const peer: number[] = [];
    for (let round = 0; round < 5; round++) {
      let t = performance.now();
      const chart = await loadChartFile(file);
      ours.push(performance.now() - t);
      expect(chart.files.length + chart.templates.length).toBe(FILES);
      t = performance.now();
      await execFileP('sh', ['-c', `gunzip -c '${file}' | sha256sum`]);
      peer.push(performance.now() - t);
    }
    const ratio = median(ours) / median(peer);
    console.log(
      `${`load ${FILES}-file chart (ratio ${ratio.toFixed(2)}x of gunzip|sha256sum)`.padEnd(52)} chartproof ${median(ours).toFixed(0).padStart(6)} ms | peer ${median(peer).toFixed(0).padStart(6)} ms | target <= 2x ${ratio <= 2 ? 'MET' : 'MISSED'}`,
    );
    const script = join(process.cwd(), 'bench', 'load-memory.mjs');
    const mem = JSON.parse((await execFileP(process.execPath, ['--expose-gc', script, file])).stdout) as {
      files: number;
      aboveBaseline: number;
    };
    const size = FILES * FILE_BYTES;
    const times = mem.aboveBaseline / size;
    console.log(
      `${'peak RSS above baseline while loading'.padEnd(52)} ${(mem.aboveBaseline / 2 ** 20).toFixed(1)} MiB = ${times.toFixed(2)}x the decompressed size | target < 3x ${times < 3 ? 'MET' : 'MISSED'}`,
    );
    expect(mem.files).toBe(FILES);
  });
});
