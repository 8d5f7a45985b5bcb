import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestMismatchError } from '../../src/errors.js';
import { RegistryClient } from '../../src/oci/client.js';
import { digestOf } from '../../src/oci/digest.js';
import { clientTransport } from '../../src/oci/internal/transport.js';

// Blobs of 16 MiB or more are hashed on a thread of the client while they download
// (src/oci/verify.ts, DigestOffload). Whichever thread hashes, a pull must hand over
// the right bytes and end only once they are verified, or fail with the digest error.

const SIZE = 16 * 1024 * 1024 + 4097;
const good = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i++) good[i] = (i * 131 + (i >> 12)) % 251;
const tampered = good.slice();
tampered[SIZE - 10] = (tampered[SIZE - 10]! + 1) % 256;
const desc = { mediaType: 'application/octet-stream', digest: digestOf(good), size: SIZE };

let server: Server;
let base: string;

beforeAll(async () => {
  // /v2/good/… serves the blob, /v2/bad/… the same length with one byte changed.
  server = createServer((req, res) => {
    const body = req.url?.startsWith('/v2/bad/') ? tampered : good;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(SIZE) });
    // Several writes, like a real transfer.
    for (let off = 0; off < SIZE; off += 1024 * 1024) res.write(body.subarray(off, off + 1024 * 1024));
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

async function pull(client: RegistryClient, repo: string): Promise<Uint8Array> {
  const stream = await client.repository(`${base}/${repo}`).fetch(desc);
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

describe('verified pulls of large blobs', () => {
  describe('when the client has a hashing thread up', () => {
    it('hands over the exact bytes, hashed on the thread', async () => {
      const client = new RegistryClient({ plainHttp: true });
      try {
        const digests = clientTransport(client).digests!;
        expect(await digests.warm()).toBe(true);
        const out = await pull(client, 'good');
        expect(digests.offloaded).toBe(1);
        expect(Buffer.from(out).equals(Buffer.from(good))).toBe(true);
      } finally {
        await client.close();
      }
    });

    it('fails a tampered blob with DIGEST_MISMATCH instead of ending', async () => {
      const client = new RegistryClient({ plainHttp: true });
      try {
        const digests = clientTransport(client).digests!;
        expect(await digests.warm()).toBe(true);
        const err = await failure(pull(client, 'bad'));
        expect(digests.offloaded).toBe(1);
        expect(err).toBeInstanceOf(DigestMismatchError);
        expect(err).toMatchObject({
          code: 'DIGEST_MISMATCH',
          expected: desc.digest,
          actual: digestOf(tampered),
        });
      } finally {
        await client.close();
      }
    });
  });

  describe('when the client is new', () => {
    it('verifies its first large blob on the calling thread, the same way', async () => {
      const client = new RegistryClient({ plainHttp: true });
      try {
        const digests = clientTransport(client).digests!;
        const err = await failure(pull(client, 'bad'));
        expect(err).toMatchObject({ code: 'DIGEST_MISMATCH', actual: digestOf(tampered) });
        expect(digests.offloaded).toBe(0);
        expect(Buffer.from(await pull(client, 'good')).equals(Buffer.from(good))).toBe(true);
      } finally {
        await client.close();
      }
    });
  });
});
