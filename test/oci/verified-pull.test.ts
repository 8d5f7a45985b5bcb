import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyError, DigestMismatchError } from '../../src/errors.js';
import { RegistryClient } from '../../src/oci/client.js';
import { copy } from '../../src/oci/copy.js';
import { digestOf } from '../../src/oci/digest.js';
import { clientTransport } from '../../src/oci/internal/transport.js';
import { MediaType } from '../../src/oci/media-types.js';
import { MemoryStore } from '../../src/oci/memory-store.js';
import { blob, manifest } from '../helpers/content.js';
import { memoryFixture } from '../helpers/registry.js';

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

// A copy hashes the blobs it reads on the event loop even with a thread free (the
// thread's handoff costs more CPU than it frees while the event loop also sends every
// byte; src/oci/verify.ts, InlineDigestOptions). Verification stays the same.
describe('blobs read by a copy', () => {
  /** An image whose one layer is the 16 MiB blob above (or its tampered twin, served under its digest). */
  async function source(serveTampered: boolean) {
    const fx = memoryFixture({
      repository: 'src/app',
      wrapFetch: (fetch) => async (input, init) => {
        const res = await fetch(input, init);
        if (!serveTampered || !String(input).endsWith(`/blobs/${desc.digest}`) || res.status !== 200)
          return res;
        return new Response(tampered, { status: 200, headers: res.headers });
      },
    });
    const layer = { desc: { ...desc, mediaType: MediaType.OciLayerGzip }, data: good };
    const config = blob('{"architecture":"amd64","os":"linux"}', MediaType.OciConfig);
    const m = manifest(config.desc, [layer.desc]);
    const store = fx.store();
    for (const p of [config, layer, m]) await store.push(p.desc, p.data);
    await store.tag(m.desc, '1');
    return { fx, manifest: m };
  }

  describe('when the source serves the right bytes', () => {
    it('copies them hashed inline, while a pull of the same blob still uses the thread', async () => {
      const { fx, manifest: m } = await source(false);
      try {
        const digests = clientTransport(fx.client).digests!;
        expect(await digests.warm()).toBe(true);
        const dst = new MemoryStore({ name: 'dst' });
        const copied = await copy(fx.app, '1', dst, '1');
        expect(copied.descriptor.digest).toBe(m.desc.digest);
        expect(await dst.exists({ ...desc, mediaType: MediaType.OciLayerGzip })).toBe(true);
        expect(digests.offloaded).toBe(0);
        const pulled = new Uint8Array(await new Response(await fx.app.fetch(desc)).arrayBuffer());
        expect(Buffer.from(pulled).equals(Buffer.from(good))).toBe(true);
        expect(digests.offloaded).toBe(1);
      } finally {
        await fx.client.close();
      }
    });
  });

  describe('when the source swaps the blob', () => {
    it('fails the copy with the source’s DIGEST_MISMATCH and stores nothing under that digest', async () => {
      const { fx } = await source(true);
      try {
        const digests = clientTransport(fx.client).digests!;
        expect(await digests.warm()).toBe(true);
        const dst = new MemoryStore({ name: 'dst' });
        const err = await failure(copy(fx.app, '1', dst, '1'));
        expect(err).toBeInstanceOf(CopyError);
        expect(err).toMatchObject({ origin: 'source', digest: desc.digest });
        expect((err as CopyError).cause).toMatchObject({
          code: 'DIGEST_MISMATCH',
          actual: digestOf(tampered),
        });
        expect(await dst.exists({ ...desc, mediaType: MediaType.OciLayerGzip })).toBe(false);
        expect(digests.offloaded).toBe(0);
      } finally {
        await fx.client.close();
      }
    });
  });
});
