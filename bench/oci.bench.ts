import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy, digestOf, RegistryClient } from '../src/oci/index.js';
import { chartArtifact, pushAll } from '../test/helpers/content.js';
import { type StartedRegistry, startDockerRegistry } from '../test/helpers/docker-registry.js';
import { skopeoCopy } from '../test/helpers/skopeo.js';
import { requireTool } from '../test/helpers/services.js';

const execFileP = promisify(execFile);
const missing = requireTool('docker-registry') ?? requireTool('skopeo');
const ARTIFACTS = 100;
const BLOB_BYTES = 64 * 1024 * 1024;

function report(name: string, ours: number, peer: number, target: string, ok: boolean) {
  console.log(
    `${name.padEnd(52)} chartproof ${ours.toFixed(0).padStart(6)} ms | peer ${peer.toFixed(0).padStart(6)} ms | ${target} ${ok ? 'MET' : 'MISSED'}`,
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe.skipIf(missing !== undefined)('OCI client benchmarks (docker-registry on loopback)', () => {
  let reg: StartedRegistry;
  let client: RegistryClient;

  beforeAll(async () => {
    reg = await startDockerRegistry('plain');
    client = new RegistryClient({ plainHttp: true });
  });
  afterAll(async () => {
    await client.close();
    await reg?.stop();
  });

  it(`copies ${ARTIFACTS} small artifacts faster than a skopeo copy loop`, async () => {
    const src = client.repository(`${reg.host}/bench/src`);
    for (let i = 0; i < ARTIFACTS; i++) {
      const a = chartArtifact('bench', `1.0.${i}`, 4096);
      await pushAll(src, [a.config, a.layer]);
      await src.pushManifest(a.manifest.data, { tags: [`v${i}`] });
    }
    const tags = Array.from({ length: ARTIFACTS }, (_, i) => `v${i}`);

    const t0 = performance.now();
    const dst = client.repository(`${reg.host}/bench/dst-chartproof`);
    const queue = [...tags];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let tag = queue.shift(); tag; tag = queue.shift()) await copy(src, tag, dst, tag);
      }),
    );
    const ours = performance.now() - t0;

    const t1 = performance.now();
    for (const tag of tags) {
      await skopeoCopy(
        `docker://${reg.host}/bench/src:${tag}`,
        `docker://${reg.host}/bench/dst-skopeo:${tag}`,
        {
          src: { tlsVerify: false },
          dest: { tlsVerify: false },
        },
      );
    }
    const peer = performance.now() - t1;
    const ratio = peer / ours;
    report(
      `copy ${ARTIFACTS} artifacts (ratio ${ratio.toFixed(1)}x faster)`,
      ours,
      peer,
      'target >= 5x',
      ratio >= 5,
    );
    expect((await dst.tags()).length).toBe(ARTIFACTS);
  });

  it('pulls a 64 MiB blob with verification within 1.3x of a plain download, streaming', async () => {
    const data = randomBytes(BLOB_BYTES);
    const desc = { mediaType: 'application/octet-stream', digest: digestOf(data), size: data.byteLength };
    const repo = client.repository(`${reg.host}/bench/big`);
    await repo.push(desc, data);
    const url = `${reg.url}/v2/bench/big/blobs/${desc.digest}`;
    const plainTimes: number[] = [];
    const ourTimes: number[] = [];
    for (let round = 0; round < 7; round++) {
      let t = performance.now();
      const res = await undiciFetch(url);
      let n = 0;
      for await (const chunk of res.body!) n += (chunk as Uint8Array).byteLength;
      plainTimes.push(performance.now() - t);
      expect(n).toBe(BLOB_BYTES);
      t = performance.now();
      const stream = await repo.fetch(desc);
      let m = 0;
      for await (const chunk of stream) m += chunk.byteLength;
      ourTimes.push(performance.now() - t);
      expect(m).toBe(BLOB_BYTES);
    }
    const ours = median(ourTimes);
    const peer = median(plainTimes);
    const ratio = ours / peer;
    report(
      `pull 64 MiB verified (ratio ${ratio.toFixed(2)}x of plain)`,
      ours,
      peer,
      'target <= 1.3x',
      ratio <= 1.3,
    );

    const script = join(process.cwd(), 'bench', 'pull-memory.mjs');
    const measure = async (mode: string) => {
      const args = ['--expose-gc', script, mode, reg.host, 'bench/big', desc.digest, String(desc.size)];
      return JSON.parse((await execFileP(process.execPath, args)).stdout) as {
        bytes: number;
        aboveBaseline: number;
      };
    };
    const mem = await measure('chartproof');
    const plainMem = await measure('plain');
    const mib = (n: number) => n / (1024 * 1024);
    console.log(
      `${'peak RSS above baseline, 64 MiB pull'.padEnd(52)} chartproof ${mib(mem.aboveBaseline).toFixed(1)} MiB | plain fetch ${mib(plainMem.aboveBaseline).toFixed(1)} MiB | target < 64 MiB ${mib(mem.aboveBaseline) < 64 ? 'MET' : 'MISSED'}`,
    );
    expect(plainMem.bytes).toBe(BLOB_BYTES);
    expect(mem.bytes).toBe(BLOB_BYTES);
  });
});
