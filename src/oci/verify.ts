import { ChartproofError, DigestMismatchError } from '../errors.js';
import type { Descriptor } from './descriptor.js';
import { createDigester, parseDigest } from './digest.js';

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
  const { algorithm } = parseDigest(desc.digest);
  const digester = createDigester(algorithm);
  let seen = 0;
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        if (seen !== desc.size) {
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
        const actual = digester.digest();
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
      digester.update(value);
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
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
