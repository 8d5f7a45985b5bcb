import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ChartproofError, DigestMismatchError } from '../errors.js';
import type { Descriptor } from './descriptor.js';
import { createDigester, type DigestAlgorithm, parseDigest } from './digest.js';

/** Largest manifest, index, tag list or referrers response read into memory (4 MiB). @public */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Largest error body read from a registry (64 KiB). @public */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * Wraps a byte stream so that it fails unless it yields exactly `desc.size` bytes
 * whose digest is `desc.digest`. Errors surface on the read that detects them: an
 * over-long stream fails as soon as it passes the size, a wrong digest at the end.
 * @public
 */
export function verifyStream(
  source: ReadableStream<Uint8Array>,
  desc: Pick<Descriptor, 'digest' | 'size'>,
): ReadableStream<Uint8Array> {
  return verifyStreamWith(source, desc, undefined);
}

/**
 * {@link verifyStream}, hashing on a thread of `offload` when the blob is large enough
 * and a thread is free. Whichever thread hashes, the stream closes only once the
 * digest of every byte it passed on has been checked, and errors instead when it does
 * not match: a consumer that reads to the end sees either the verified end or the
 * error, never an unverified end. Not exported from an entry point.
 */
export function verifyStreamWith(
  source: ReadableStream<Uint8Array>,
  desc: Pick<Descriptor, 'digest' | 'size'>,
  offload: DigestOffload | undefined,
): ReadableStream<Uint8Array> {
  const { algorithm } = parseDigest(desc.digest);
  let hasher: StreamHasher | undefined;
  let seen = 0;
  const reader = source.getReader();
  const stop = () => {
    hasher?.cancel();
    hasher = undefined;
  };
  return new ReadableStream<Uint8Array>({
    start() {
      hasher = offload?.start(algorithm, desc.size) ?? inlineHasher(algorithm);
    },
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (e) {
        stop();
        throw e;
      }
      const { done, value } = chunk;
      if (done) {
        if (seen !== desc.size) {
          stop();
          controller.error(
            new DigestMismatchError(
              'SIZE_MISMATCH',
              desc.digest,
              undefined,
              `content of ${desc.digest} ended after ${seen} of ${desc.size} bytes`,
            ),
          );
          return;
        }
        const h = hasher!;
        hasher = undefined;
        const actual = await h.digest();
        if (actual !== desc.digest) {
          controller.error(
            new DigestMismatchError(
              'DIGEST_MISMATCH',
              desc.digest,
              actual,
              `digest mismatch: expected ${desc.digest}, got ${actual}`,
            ),
          );
          return;
        }
        controller.close();
        return;
      }
      seen += value.byteLength;
      if (seen > desc.size) {
        stop();
        reader.cancel().catch(() => {});
        controller.error(
          new DigestMismatchError(
            'TRAILING_DATA',
            desc.digest,
            undefined,
            `content of ${desc.digest} is longer than its declared size ${desc.size}`,
          ),
        );
        return;
      }
      const pending = hasher!.update(value);
      if (pending) {
        try {
          await pending;
        } catch (e) {
          stop();
          reader.cancel().catch(() => {});
          throw e;
        }
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      stop();
      return reader.cancel(reason);
    },
  });
}

/**
 * Fetch option of a bulk copy: hash a blob on the event loop even when a hashing
 * thread is free. In a copy the event loop also sends every byte, and handing each chunk
 * to the thread (a copy into its ring, a wake-up every 256 KiB, the thread's share of
 * the cores) costs more CPU than hashing it in place: mirroring 470 MiB of images on two
 * cores used ~0.3 s (~10 %) less CPU and ran ~6 % faster with the copy hashing inline
 * (bench/images.bench.ts). A single pull keeps the thread. Not exported from an entry
 * point.
 * @internal
 */
export interface InlineDigestOptions {
  inlineDigest?: boolean;
}

/** One digest computation fed by {@link verifyStreamWith}. */
interface StreamHasher {
  /** Takes a chunk; a promise when the caller must wait before sending more. */
  update(chunk: Uint8Array): Promise<void> | undefined;
  digest(): Promise<string> | string;
  /** Abandons the computation (no digest will be asked for). */
  cancel(): void;
}

function inlineHasher(algorithm: DigestAlgorithm): StreamHasher {
  const d = createDigester(algorithm);
  return {
    update(chunk) {
      d.update(chunk);
      return undefined;
    },
    digest: () => d.digest(),
    cancel() {},
  };
}

/** Options of {@link DigestOffload}. */
export interface DigestOffloadOptions {
  /** Smallest blob hashed on a helper thread. Default 16 MiB. */
  minBytes?: number;
  /** Most helper threads. Default: the number of CPUs minus one, between 1 and 4. */
  maxThreads?: number;
  /** An idle thread exits after this long (ms). Default 10 000. */
  idleMs?: number;
}

// Each helper thread hashes what the main thread copies into its ring buffer, so that
// SHA-256 of a large blob runs beside the transfer instead of after each chunk on the
// event loop. Control words (Int32 over a SharedArrayBuffer):
const WRITTEN = 0; // bytes copied into the ring so far, modulo 2^30
const HASHED = 1; // bytes hashed so far, modulo 2^30
const STATE = 2; // see the S_* values
const WAKE = 3; // bumped after every change the thread must notice (it waits on it)
const ALGORITHM = 4; // 0 sha256, 1 sha512
const S_IDLE = 0; // waiting for a job (set by the thread)
const S_RUN = 1; // a job is running (set by the main thread)
const S_END = 2; // no more input: digest what is left and send it
const S_CANCEL = 3; // drop the job
const S_EXIT = 4; // exit (set by the thread itself when idle too long)
const COUNTER_MASK = 0x3fffffff;
const RING_BYTES = 4 * 1024 * 1024; // a power of two, well below 2^30
const PUBLISH_BYTES = 256 * 1024; // the thread is woken at most once per this many bytes

// The thread's code, run with `eval` so that it needs no file next to the bundle. It
// loads built-ins with `process.getBuiltinModule`, not `require`: a worker inherits the
// process's flags, and under `--input-type=module` an eval'd thread is an ES module
// where `require` does not exist. @internal (exported for tests)
export const HASH_THREAD = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const { createHash } = process.getBuiltinModule('node:crypto');
const ring = new Uint8Array(workerData.ring);
const ctl = new Int32Array(workerData.ctl);
const size = ring.length;
const mask = ${COUNTER_MASK};
parentPort.postMessage({ type: 'ready' });
for (;;) {
  let state = Atomics.load(ctl, ${STATE});
  while (state === ${S_IDLE}) {
    const wake = Atomics.load(ctl, ${WAKE});
    state = Atomics.load(ctl, ${STATE});
    if (state !== ${S_IDLE}) break;
    if (Atomics.wait(ctl, ${WAKE}, wake, workerData.idleMs) === 'timed-out') {
      state = Atomics.compareExchange(ctl, ${STATE}, ${S_IDLE}, ${S_EXIT});
      if (state === ${S_IDLE}) state = ${S_EXIT};
    } else {
      state = Atomics.load(ctl, ${STATE});
    }
  }
  if (state === ${S_EXIT}) break;
  const hash = createHash(Atomics.load(ctl, ${ALGORITHM}) === 1 ? 'sha512' : 'sha256');
  let hashed = 0;
  let result;
  for (;;) {
    const wake = Atomics.load(ctl, ${WAKE});
    let n = (Atomics.load(ctl, ${WRITTEN}) - hashed) & mask;
    if (n > 0) {
      let at = hashed & (size - 1);
      while (n > 0) {
        const m = Math.min(n, size - at);
        hash.update(ring.subarray(at, at + m));
        n -= m;
        hashed = (hashed + m) & mask;
        at = (at + m) & (size - 1);
      }
      Atomics.store(ctl, ${HASHED}, hashed);
      Atomics.notify(ctl, ${HASHED});
      continue;
    }
    const s = Atomics.load(ctl, ${STATE});
    if (s === ${S_END}) {
      if (((Atomics.load(ctl, ${WRITTEN}) - hashed) & mask) !== 0) continue;
      result = { type: 'digest', digest: hash.digest('hex') };
      break;
    }
    if (s === ${S_CANCEL}) {
      result = { type: 'cancelled' };
      break;
    }
    Atomics.wait(ctl, ${WAKE}, wake);
  }
  // The main thread starts no job before this message arrives.
  Atomics.store(ctl, ${STATE}, ${S_IDLE});
  parentPort.postMessage(result);
}
`;

// `Atomics.waitAsync` (ES2024; in Node since 16) is not in this project's `lib`.
const AtomicsAsync = Atomics as unknown as {
  waitAsync(
    array: Int32Array,
    index: number,
    value: number,
    timeoutMs: number,
  ): { async: false; value: string } | { async: true; value: Promise<string> };
};

interface HashThread {
  worker: Worker;
  ring: Uint8Array;
  ctl: Int32Array;
  /** Online and without a job. */
  free: boolean;
  /** The running job's completion. */
  settle?: ((result: { digest?: string; error?: unknown }) => void) | undefined;
  dead: boolean;
}

/**
 * Helper threads that hash large blobs beside their transfer (owned by a
 * `RegistryClient`, stopped by its `close()`). Threads start on demand: the blob that
 * finds none free is hashed on the calling thread while one starts for the next. An
 * idle thread exits after `idleMs`. Nothing here keeps the process alive. Not
 * exported from an entry point.
 */
export class DigestOffload {
  readonly #minBytes: number;
  readonly #maxThreads: number;
  readonly #idleMs: number;
  readonly #threads = new Set<HashThread>();
  #starting = 0;
  #closed = false;
  /** Blobs hashed on a helper thread so far (for tests and benchmarks). */
  offloaded = 0;

  /** Threads up (idle or busy). */
  get threads(): number {
    return this.#threads.size;
  }

  constructor(options: DigestOffloadOptions = {}) {
    this.#minBytes = options.minBytes ?? 16 * 1024 * 1024;
    this.#maxThreads = Math.max(
      1,
      options.maxThreads ?? Math.min(4, Math.max(1, availableParallelism() - 1)),
    );
    this.#idleMs = options.idleMs ?? 10_000;
  }

  /**
   * A hasher on a free helper thread for a blob of `size` bytes, or undefined (hash
   * on the calling thread) when the blob is small, no thread is free, or threads
   * cannot be started here.
   */
  start(algorithm: DigestAlgorithm, size: number): StreamHasher | undefined {
    if (this.#closed || size < this.#minBytes) return undefined;
    for (const t of this.#threads) {
      if (!t.free || t.dead) continue;
      // The thread may just have timed out: it owns the switch from idle to exit.
      Atomics.store(t.ctl, WRITTEN, 0);
      Atomics.store(t.ctl, HASHED, 0);
      Atomics.store(t.ctl, ALGORITHM, algorithm === 'sha512' ? 1 : 0);
      if (Atomics.compareExchange(t.ctl, STATE, S_IDLE, S_RUN) !== S_IDLE) continue;
      Atomics.add(t.ctl, WAKE, 1);
      Atomics.notify(t.ctl, WAKE);
      t.free = false;
      this.offloaded++;
      return this.#job(t, algorithm);
    }
    this.#spawn();
    return undefined;
  }

  /**
   * Starts a thread unless one is up, and resolves true once one is free (false when
   * threads are unavailable or it takes over 10 s). For tests and benchmarks.
   */
  async warm(): Promise<boolean> {
    this.#spawn();
    for (let waited = 0; waited < 10_000; waited += 5) {
      if (this.#closed) return false;
      for (const t of this.#threads) if (t.free && !t.dead) return true;
      if (this.#threads.size + this.#starting === 0) this.#spawn();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return false;
  }

  /** Stops every thread. Running jobs fail (their streams error) if still reading. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#threads];
    this.#threads.clear();
    await Promise.all(all.map((t) => t.worker.terminate().catch(() => {})));
  }

  #spawn(): void {
    if (this.#threads.size + this.#starting >= this.#maxThreads) return;
    let worker: Worker;
    const ring = new SharedArrayBuffer(RING_BYTES);
    const ctl = new SharedArrayBuffer(8 * Int32Array.BYTES_PER_ELEMENT);
    try {
      worker = new Worker(HASH_THREAD, {
        eval: true,
        workerData: { ring, ctl, idleMs: this.#idleMs },
        // A small heap: the thread only hashes bytes that live in the ring.
        resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
      });
    } catch {
      // Threads are not available here (e.g. a sandbox): hash inline from now on.
      this.#closed = true;
      return;
    }
    worker.unref();
    this.#starting++;
    const t: HashThread = {
      worker,
      ring: new Uint8Array(ring),
      ctl: new Int32Array(ctl),
      free: false,
      dead: false,
    };
    worker.on('message', (m: { type: string; digest?: string }) => {
      if (m.type === 'ready') {
        this.#starting--;
        if (this.#closed) {
          worker.terminate().catch(() => {});
          return;
        }
        this.#threads.add(t);
        t.free = true;
        return;
      }
      const settle = t.settle;
      t.settle = undefined;
      t.free = true;
      settle?.(m.type === 'digest' ? { digest: m.digest! } : {});
    });
    const gone = (error?: unknown) => {
      if (t.dead) return;
      t.dead = true;
      t.free = false;
      if (!this.#threads.delete(t)) {
        this.#starting = Math.max(0, this.#starting - 1);
        // It never came up: starting more would fail the same way, each at the cost
        // of a thread's start-up. Hash inline from now on.
        if (error !== undefined) this.#closed = true;
      }
      const settle = t.settle;
      t.settle = undefined;
      settle?.({ error: error ?? new Error('the hashing thread exited') });
    };
    worker.on('error', gone);
    worker.on('exit', () => gone());
  }

  #job(t: HashThread, algorithm: DigestAlgorithm): StreamHasher {
    const { ring, ctl } = t;
    let written = 0;
    let published = 0;
    let outcome: Promise<{ digest?: string; error?: unknown }> | undefined = new Promise((resolve) => {
      t.settle = resolve;
    });
    const publish = () => {
      published = written;
      Atomics.store(ctl, WRITTEN, written & COUNTER_MASK);
      Atomics.add(ctl, WAKE, 1);
      Atomics.notify(ctl, WAKE);
    };
    const signal = (state: number) => {
      Atomics.store(ctl, STATE, state);
      Atomics.add(ctl, WAKE, 1);
      Atomics.notify(ctl, WAKE);
    };
    const failed = (error: unknown) =>
      new ChartproofError('ABORTED', `hashing stopped before the end of the blob: ${String(error)}`, {
        cause: error,
      });
    return {
      update(chunk) {
        if (t.dead) return Promise.reject(failed('the hashing thread exited'));
        let offset = 0;
        while (offset < chunk.byteLength) {
          const hashed = Atomics.load(ctl, HASHED);
          const free = RING_BYTES - ((written - hashed) & COUNTER_MASK);
          if (free === 0) return drain(chunk.subarray(offset));
          const at = written & (RING_BYTES - 1);
          const n = Math.min(chunk.byteLength - offset, free, RING_BYTES - at);
          ring.set(chunk.subarray(offset, offset + n), at);
          offset += n;
          written += n;
        }
        if (written - published >= PUBLISH_BYTES) publish();
        return undefined;
      },
      async digest() {
        publish();
        signal(S_END);
        const result = await outcome!;
        outcome = undefined;
        if (result.digest === undefined) throw failed(result.error ?? 'cancelled');
        return `${algorithm}:${result.digest}`;
      },
      cancel() {
        if (outcome === undefined) return;
        outcome = undefined;
        if (!t.dead) signal(S_CANCEL);
      },
    };

    // The ring is full: let the thread catch up, then copy the rest of the chunk.
    async function drain(rest: Uint8Array): Promise<void> {
      if (written !== published) publish();
      let offset = 0;
      while (offset < rest.byteLength) {
        if (t.dead) throw failed('the hashing thread exited');
        const hashed = Atomics.load(ctl, HASHED);
        const free = RING_BYTES - ((written - hashed) & COUNTER_MASK);
        if (free === 0) {
          // Bounded waits, so that a thread that died is noticed.
          const w = AtomicsAsync.waitAsync(ctl, HASHED, hashed, 1000);
          if (w.async) await w.value;
          continue;
        }
        const at = written & (RING_BYTES - 1);
        const n = Math.min(rest.byteLength - offset, free, RING_BYTES - at);
        ring.set(rest.subarray(offset, offset + n), at);
        offset += n;
        written += n;
        publish();
      }
    }
  }
}

/**
 * Reads a whole stream into memory, failing with `SIZE_LIMIT_EXCEEDED` once more than
 * `limit` bytes arrive (the rest is not read).
 * @public
 */
export async function readAll(source: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = source.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        reader.cancel().catch(() => {});
        throw new ChartproofError('SIZE_LIMIT_EXCEEDED', `content exceeds the limit of ${limit} bytes`);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/** Verifies in-memory bytes against a descriptor. @public */
export function verifyBytes(data: Uint8Array, desc: Pick<Descriptor, 'digest' | 'size'>): void {
  if (data.byteLength !== desc.size) {
    throw new DigestMismatchError(
      data.byteLength > desc.size ? 'TRAILING_DATA' : 'SIZE_MISMATCH',
      desc.digest,
      undefined,
      `content of ${desc.digest} has ${data.byteLength} bytes, expected ${desc.size}`,
    );
  }
  const { algorithm } = parseDigest(desc.digest);
  const d = createDigester(algorithm);
  d.update(data);
  const actual = d.digest();
  if (actual !== desc.digest) {
    throw new DigestMismatchError(
      'DIGEST_MISMATCH',
      desc.digest,
      actual,
      `digest mismatch: expected ${desc.digest}, got ${actual}`,
    );
  }
}

/** A stream over one in-memory buffer. */
export function streamOf(data: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (data.byteLength > 0) controller.enqueue(data);
      controller.close();
    },
  });
}
