import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ChartproofError, DigestMismatchError } from '../../src/errors.js';
import { createDigester, type Digest, digestOf, isDigest, parseDigest } from '../../src/oci/digest.js';
import {
  DigestOffload,
  HASH_THREAD,
  readAll,
  streamOf,
  verifyBytes,
  verifyStream,
  verifyStreamWith,
} from '../../src/oci/verify.js';

const enc = new TextEncoder();
const HEX64 = 'a'.repeat(64);
const HEX128 = 'b'.repeat(128);
const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function bytes(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) % 256;
  return out;
}

/** A pull-based source that yields `data` in chunks of `chunkSize` and counts pulls. */
function chunked(data: Uint8Array, chunkSize: number) {
  const stats = { pulls: 0, cancelled: false };
  let off = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        stats.pulls++;
        if (off >= data.byteLength) {
          controller.close();
          return;
        }
        controller.enqueue(data.slice(off, off + chunkSize));
        off += chunkSize;
      },
      cancel() {
        stats.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, stats };
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('parseDigest', () => {
  describe('when the digest is valid', () => {
    it.each([
      [`sha256:${HEX64}`, 'sha256', HEX64],
      [`sha512:${HEX128}`, 'sha512', HEX128],
      [EMPTY_SHA256, 'sha256', EMPTY_SHA256.slice(7)],
    ])('parses %s', (value, algorithm, encoded) => {
      expect(parseDigest(value)).toEqual({ algorithm, encoded });
      expect(isDigest(value)).toBe(true);
    });
  });

  describe('when the digest is invalid', () => {
    it.each([
      ['short sha256', 'sha256:abc'],
      ['63 hex chars', `sha256:${'a'.repeat(63)}`],
      ['65 hex chars', `sha256:${'a'.repeat(65)}`],
      ['sha512 with 64 chars', `sha512:${HEX64}`],
      ['sha256 with 128 chars', `sha256:${HEX128}`],
      ['uppercase hex', `sha256:${'A'.repeat(64)}`],
      ['non-hex characters', `sha256:${'g'.repeat(64)}`],
      ['unknown algorithm md5', 'md5:d41d8cd98f00b204e9800998ecf8427e'],
      ['unknown algorithm sha384', `sha384:${'a'.repeat(96)}`],
      ['prototype key as algorithm', `constructor:${HEX64}`],
      ['uppercase algorithm', `SHA256:${HEX64}`],
      ['missing algorithm', `:${HEX64}`],
      ['missing colon', HEX64],
      ['empty', ''],
      ['trailing newline', `sha256:${HEX64}\n`],
      ['leading space', ` sha256:${HEX64}`],
    ])('rejects %s', (_name, value) => {
      expect(() => parseDigest(value)).toThrow(ChartproofError);
      expect(() => parseDigest(value)).toThrow(expect.objectContaining({ code: 'INVALID_DIGEST' }));
      expect(isDigest(value)).toBe(false);
    });
  });
});

describe('digestOf and createDigester', () => {
  describe('when hashing', () => {
    it.each([
      ['empty string', ''],
      ['ascii', 'hello world'],
      ['unicode', 'héllo ✓'],
    ])('matches node:crypto for %s with both algorithms', (_name, text) => {
      for (const algorithm of ['sha256', 'sha512'] as const) {
        const expected = `${algorithm}:${createHash(algorithm).update(text).digest('hex')}`;
        expect(digestOf(text, algorithm)).toBe(expected);
        expect(digestOf(enc.encode(text), algorithm)).toBe(expected);
      }
    });

    it('defaults to sha256 and knows the empty digest', () => {
      expect(digestOf(new Uint8Array(0))).toBe(EMPTY_SHA256);
      expect(createDigester().digest()).toBe(EMPTY_SHA256);
    });

    it.each([1, 7, 64, 1000])('digests incrementally in chunks of %i like in one go', (size) => {
      const data = bytes(4099);
      for (const algorithm of ['sha256', 'sha512'] as const) {
        const d = createDigester(algorithm);
        for (let off = 0; off < data.byteLength; off += size) d.update(data.subarray(off, off + size));
        expect(d.digest()).toBe(digestOf(data, algorithm));
      }
    });
  });
});

describe('verifyStream', () => {
  const data = bytes(10_000);
  const desc = { digest: digestOf(data), size: data.byteLength };

  describe('when the content matches', () => {
    it.each([1, 333, 4096, 10_000, 20_000])('passes through chunks of %i bytes unchanged', async (chunk) => {
      const { stream } = chunked(data, chunk);
      const out = await drain(verifyStream(stream, desc));
      expect(Buffer.from(out).equals(Buffer.from(data))).toBe(true);
    });

    it('verifies sha512 descriptors', async () => {
      const d512 = { digest: digestOf(data, 'sha512'), size: data.byteLength };
      const out = await drain(verifyStream(chunked(data, 999).stream, d512));
      expect(out.byteLength).toBe(data.byteLength);
    });

    it('accepts an empty blob of size 0', async () => {
      const out = await drain(verifyStream(streamOf(new Uint8Array(0)), { digest: EMPTY_SHA256, size: 0 }));
      expect(out.byteLength).toBe(0);
    });
  });

  describe('when the content is short', () => {
    it('fails with SIZE_MISMATCH', async () => {
      const { stream } = chunked(data.subarray(0, 9_999), 1000);
      const err = await failure(drain(verifyStream(stream, desc)));
      expect(err).toBeInstanceOf(DigestMismatchError);
      expect(err).toBeInstanceOf(ChartproofError);
      expect(err).toMatchObject({ code: 'SIZE_MISMATCH', expected: desc.digest, actual: undefined });
    });

    it('fails with SIZE_MISMATCH for an empty stream with a non-zero size', async () => {
      const err = await failure(
        drain(verifyStream(streamOf(new Uint8Array(0)), { digest: desc.digest, size: 1 })),
      );
      expect(err).toMatchObject({ code: 'SIZE_MISMATCH' });
    });
  });

  describe('when the bytes differ but the length is right', () => {
    it('fails with DIGEST_MISMATCH carrying expected and actual', async () => {
      const tampered = data.slice();
      tampered[5000] = (tampered[5000]! + 1) % 256;
      const err = await failure(drain(verifyStream(chunked(tampered, 1024).stream, desc)));
      expect(err).toBeInstanceOf(DigestMismatchError);
      expect(err).toMatchObject({
        code: 'DIGEST_MISMATCH',
        expected: desc.digest,
        actual: digestOf(tampered),
      });
    });

    it('fails with DIGEST_MISMATCH for a non-empty digest on empty content', async () => {
      const err = await failure(
        drain(verifyStream(streamOf(new Uint8Array(0)), { digest: desc.digest, size: 0 })),
      );
      expect(err).toMatchObject({ code: 'DIGEST_MISMATCH', actual: EMPTY_SHA256 });
    });
  });

  describe('when the source is longer than declared', () => {
    it('fails with TRAILING_DATA before consuming the oversize source', async () => {
      const huge = bytes(1024 * 1024);
      const { stream, stats } = chunked(huge, 1024);
      const small = { digest: digestOf(huge.subarray(0, 4096)), size: 4096 };
      const err = await failure(drain(verifyStream(stream, small)));
      expect(err).toBeInstanceOf(DigestMismatchError);
      expect(err).toMatchObject({ code: 'TRAILING_DATA', expected: small.digest });
      // 4 chunks fit, the 5th overflows; the other ~1000 chunks are never pulled.
      expect(stats.pulls).toBeLessThanOrEqual(8);
      expect(stats.cancelled).toBe(true);
    });

    it('fails with TRAILING_DATA when one extra byte follows the content', async () => {
      const extended = new Uint8Array(data.byteLength + 1);
      extended.set(data);
      const err = await failure(drain(verifyStream(chunked(extended, 2500).stream, desc)));
      expect(err).toMatchObject({ code: 'TRAILING_DATA' });
    });

    it('fails with TRAILING_DATA for a declared empty blob that has content', async () => {
      const err = await failure(
        drain(verifyStream(streamOf(enc.encode('x')), { digest: EMPTY_SHA256, size: 0 })),
      );
      expect(err).toMatchObject({ code: 'TRAILING_DATA' });
    });
  });

  describe('when the descriptor digest is invalid', () => {
    it('throws INVALID_DIGEST synchronously', () => {
      expect(() => verifyStream(streamOf(data), { digest: 'sha256:abc' as Digest, size: 1 })).toThrow(
        expect.objectContaining({ code: 'INVALID_DIGEST' }),
      );
    });
  });
});

describe('readAll', () => {
  const data = bytes(5000);

  describe('when the content fits', () => {
    it.each([
      [1000, 5000],
      [5000, 5000],
      [5000, 1_000_000],
      [64, 5000],
    ])('reads chunks of %i under limit %i', async (chunk, limit) => {
      const out = await readAll(chunked(data, chunk).stream, limit);
      expect(Buffer.from(out).equals(Buffer.from(data))).toBe(true);
    });

    it('reads an empty stream', async () => {
      expect((await readAll(streamOf(new Uint8Array(0)), 0)).byteLength).toBe(0);
    });
  });

  describe('when the content exceeds the limit', () => {
    it.each([4999, 1000, 0])(
      'fails with SIZE_LIMIT_EXCEEDED at limit %i and stops reading',
      async (limit) => {
        const big = bytes(1024 * 1024);
        const { stream, stats } = chunked(big, 1000);
        const err = await failure(readAll(stream, limit));
        expect(err).toBeInstanceOf(ChartproofError);
        expect(err).toMatchObject({ code: 'SIZE_LIMIT_EXCEEDED' });
        expect(stats.pulls).toBeLessThanOrEqual(Math.ceil(limit / 1000) + 3);
        expect(stats.cancelled).toBe(true);
      },
    );
  });
});

describe('verifyBytes', () => {
  const data = enc.encode('chart bytes');
  const desc = { digest: digestOf(data), size: data.byteLength };

  describe('when the content matches', () => {
    it.each([
      ['sha256', desc],
      ['sha512', { digest: digestOf(data, 'sha512'), size: data.byteLength }],
      ['empty', { digest: EMPTY_SHA256 as Digest, size: 0 }],
    ])('accepts %s', (name, d) => {
      expect(() => verifyBytes(name === 'empty' ? new Uint8Array(0) : data, d)).not.toThrow();
    });
  });

  describe('when the content does not match', () => {
    it.each<[string, Uint8Array, string]>([
      ['short', data.subarray(0, 3), 'SIZE_MISMATCH'],
      ['long', enc.encode('chart bytes!'), 'TRAILING_DATA'],
      ['tampered', enc.encode('chart bytez'), 'DIGEST_MISMATCH'],
    ])('rejects %s content with %s', (_name, content, code) => {
      let err: unknown;
      try {
        verifyBytes(content, desc);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DigestMismatchError);
      expect(err).toMatchObject({ code, expected: desc.digest });
      if (code === 'DIGEST_MISMATCH') expect((err as DigestMismatchError).actual).toBe(digestOf(content));
    });
  });
});

describe('verifyStreamWith on a hashing thread (DigestOffload)', () => {
  const MIB = 1024 * 1024;
  const big = bytes(10 * MIB + 12_345, 3); // over two turns of the 4 MiB ring
  const desc = { digest: digestOf(big), size: big.byteLength };

  async function warmOffload(options: ConstructorParameters<typeof DigestOffload>[0] = {}) {
    const offload = new DigestOffload({ minBytes: MIB, ...options });
    expect(await offload.warm()).toBe(true);
    return offload;
  }

  describe('when the process runs with --input-type=module', () => {
    // Workers inherit the process's flags; an eval'd thread is then an ES module. The
    // thread must come up there too (it once used `require` and failed on every blob).
    it('the thread starts and hashes', async () => {
      const script = `
        import { Worker } from 'node:worker_threads';
        const ring = new SharedArrayBuffer(4 * 1024 * 1024);
        const ctl = new Int32Array(new SharedArrayBuffer(32));
        const w = new Worker(process.env.HASH_THREAD, { eval: true, workerData: { ring, ctl: ctl.buffer, idleMs: 5000 } });
        w.on('error', (e) => { console.log('error ' + e.message); process.exit(0); });
        w.on('message', (m) => {
          if (m.type !== 'ready') { console.log(JSON.stringify(m)); w.terminate(); return; }
          new Uint8Array(ring).set(new TextEncoder().encode('abc'));
          Atomics.store(ctl, 0, 3);
          Atomics.store(ctl, 2, 2);
          Atomics.add(ctl, 3, 1);
          Atomics.notify(ctl, 3);
        });`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, HASH_THREAD },
        timeout: 20_000,
      });
      expect(JSON.parse(stdout)).toEqual({
        type: 'digest',
        digest: createHash('sha256').update('abc').digest('hex'),
      });
    });
  });

  describe('when the content matches', () => {
    it.each([1000, 65_536, 3 * MIB])('passes chunks of %i bytes through unchanged', async (chunk) => {
      const offload = await warmOffload();
      try {
        const out = await drain(verifyStreamWith(chunked(big, chunk).stream, desc, offload));
        expect(offload.offloaded).toBe(1);
        expect(Buffer.from(out).equals(Buffer.from(big))).toBe(true);
      } finally {
        await offload.close();
      }
    });

    it('verifies sha512 and reuses the thread for the next blob', async () => {
      const offload = await warmOffload();
      try {
        const d512 = { digest: digestOf(big, 'sha512'), size: big.byteLength };
        expect((await drain(verifyStreamWith(chunked(big, 70_000).stream, d512, offload))).byteLength).toBe(
          big.byteLength,
        );
        expect((await drain(verifyStreamWith(chunked(big, 70_000).stream, desc, offload))).byteLength).toBe(
          big.byteLength,
        );
        expect(offload.offloaded).toBe(2);
      } finally {
        await offload.close();
      }
    });

    it('hashes small blobs, and a blob that finds the thread busy, inline', async () => {
      const offload = await warmOffload({ maxThreads: 1 });
      try {
        const small = bytes(MIB - 1);
        const a = drain(verifyStreamWith(chunked(big, 65_536).stream, desc, offload));
        const b = drain(verifyStreamWith(chunked(big, 65_536).stream, desc, offload));
        const c = drain(
          verifyStreamWith(
            chunked(small, 65_536).stream,
            { digest: digestOf(small), size: small.byteLength },
            offload,
          ),
        );
        expect((await Promise.all([a, b, c])).map((x) => x.byteLength)).toEqual([
          big.byteLength,
          big.byteLength,
          small.byteLength,
        ]);
        expect(offload.offloaded).toBe(1);
      } finally {
        await offload.close();
      }
    });
  });

  describe('when the content does not match', () => {
    it('fails with DIGEST_MISMATCH carrying the actual digest, and never closes', async () => {
      const offload = await warmOffload();
      try {
        const tampered = big.slice();
        tampered[big.byteLength - 1] = (tampered[big.byteLength - 1]! + 1) % 256;
        const err = await failure(drain(verifyStreamWith(chunked(tampered, 65_536).stream, desc, offload)));
        expect(offload.offloaded).toBe(1);
        expect(err).toBeInstanceOf(DigestMismatchError);
        expect(err).toMatchObject({
          code: 'DIGEST_MISMATCH',
          expected: desc.digest,
          actual: digestOf(tampered),
        });
      } finally {
        await offload.close();
      }
    });

    it.each<[string, string, Uint8Array]>([
      ['short', 'SIZE_MISMATCH', big.subarray(0, big.byteLength - 1)],
      ['long', 'TRAILING_DATA', Buffer.concat([big, Buffer.from('x')])],
    ])('fails %s content with %s and frees the thread', async (_name, code, content) => {
      const offload = await warmOffload({ maxThreads: 1 });
      try {
        const err = await failure(drain(verifyStreamWith(chunked(content, 65_536).stream, desc, offload)));
        expect(err).toMatchObject({ code });
        await expect(offload.warm()).resolves.toBe(true);
        const out = await drain(verifyStreamWith(chunked(big, 65_536).stream, desc, offload));
        expect(out.byteLength).toBe(big.byteLength);
        expect(offload.offloaded).toBe(2);
      } finally {
        await offload.close();
      }
    });
  });

  describe('when the reader stops early', () => {
    it('cancels the job and frees the thread', async () => {
      const offload = await warmOffload({ maxThreads: 1 });
      try {
        const { stream, stats } = chunked(big, 65_536);
        const reader = verifyStreamWith(stream, desc, offload).getReader();
        for (let i = 0; i < 100; i++) await reader.read();
        await reader.cancel(new Error('enough'));
        expect(stats.cancelled).toBe(true);
        await expect(offload.warm()).resolves.toBe(true);
        expect((await drain(verifyStreamWith(chunked(big, 65_536).stream, desc, offload))).byteLength).toBe(
          big.byteLength,
        );
        expect(offload.offloaded).toBe(2);
      } finally {
        await offload.close();
      }
    });
  });

  describe('when the offload is closed or idle', () => {
    it('fails a stream still being hashed when closed, and hashes inline afterwards', async () => {
      const offload = await warmOffload();
      const reader = verifyStreamWith(chunked(big, 65_536).stream, desc, offload).getReader();
      await reader.read();
      await offload.close();
      const err = await failure(
        (async () => {
          for (;;) if ((await reader.read()).done) return;
        })(),
      );
      expect(err).toMatchObject({ code: 'ABORTED' });
      const out = await drain(verifyStreamWith(chunked(big, 65_536).stream, desc, offload));
      expect(out.byteLength).toBe(big.byteLength);
      expect(offload.offloaded).toBe(1);
    });

    it('lets an idle thread exit and starts another on demand', async () => {
      const offload = await warmOffload({ idleMs: 250 });
      try {
        expect(offload.threads).toBe(1);
        for (let waited = 0; offload.threads > 0 && waited < 10_000; waited += 10)
          await new Promise((r) => setTimeout(r, 10));
        expect(offload.threads).toBe(0);
        // The thread has exited: this blob is hashed inline while a new one starts.
        expect((await drain(verifyStreamWith(chunked(big, 65_536).stream, desc, offload))).byteLength).toBe(
          big.byteLength,
        );
        expect(offload.offloaded).toBe(0);
        // A new thread, once up, takes the next blob. On a loaded machine it may idle out
        // between `warm()` and the blob (the idle time is short here): try again then.
        for (let attempt = 0; attempt < 5 && offload.offloaded === 0; attempt++) {
          expect(await offload.warm()).toBe(true);
          expect((await drain(verifyStreamWith(chunked(big, 65_536).stream, desc, offload))).byteLength).toBe(
            big.byteLength,
          );
        }
        expect(offload.offloaded).toBe(1);
      } finally {
        await offload.close();
      }
    });
  });
});
