import { createHash, type Hash } from 'node:crypto';
import { ChartproofError } from '../errors.js';

/** A digest string `algorithm:encoded`, e.g. `sha256:9f86…`. @public */
export type Digest = `${string}:${string}`;

/** Digest algorithms chartproof can compute and verify. @public */
export type DigestAlgorithm = 'sha256' | 'sha512';

const ENCODED_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
// OCI image-spec digest grammar, restricted to registered algorithms we can verify.
const DIGEST_RE = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** The parts of a validated digest. @public */
export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  encoded: string;
}

/**
 * Parses and validates a digest: a known algorithm and a lowercase hex value of the
 * right length.
 * @throws ChartproofError `INVALID_DIGEST`
 * @public
 */
export function parseDigest(value: string): ParsedDigest {
  const parsed = tryParseDigest(value);
  if (typeof parsed !== 'string') return parsed;
  throw new ChartproofError('INVALID_DIGEST', parsed);
}

/** The parsed digest, or why it is not one (no exception: tags are checked often). */
function tryParseDigest(value: string): ParsedDigest | string {
  const m = DIGEST_RE.exec(value);
  if (!m) return `invalid digest ${JSON.stringify(value.slice(0, 200))}`;
  const algorithm = m[1] as DigestAlgorithm;
  const encoded = m[2]!;
  const len = Object.hasOwn(ENCODED_LENGTH, algorithm) ? ENCODED_LENGTH[algorithm] : undefined;
  if (len === undefined) return `unsupported digest algorithm ${JSON.stringify(m[1])}`;
  if (encoded.length !== len || !/^[a-f0-9]+$/.test(encoded))
    return `invalid ${algorithm} digest ${JSON.stringify(value.slice(0, 200))}`;
  return { algorithm, encoded };
}

/** True when `value` is a valid digest with a supported algorithm. @public */
export function isDigest(value: string): value is Digest {
  return typeof tryParseDigest(value) !== 'string';
}

/** Computes the digest of bytes (sha256 unless told otherwise). @public */
export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** An incremental digester. @public */
export interface Digester {
  update(chunk: Uint8Array): void;
  digest(): Digest;
}

/** Starts an incremental digest computation. @public */
export function createDigester(algorithm: DigestAlgorithm = 'sha256'): Digester {
  const hash: Hash = createHash(algorithm);
  return {
    update: (chunk) => {
      hash.update(chunk);
    },
    digest: () => `${algorithm}:${hash.digest('hex')}`,
  };
}
