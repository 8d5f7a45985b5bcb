import { describe, expect, it } from 'vitest';
import { ChartproofError } from '../../src/errors.js';
import { RegistryClient } from '../../src/oci/client.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { chartArtifact } from '../helpers/content.js';

// An upload (PUT/PATCH with a body) has no total deadline, but a token exchange it
// needs is a small document like any other: a token server that drips its answer
// must not hold the upload for as long as it likes.

const DEADLINE = 300;
const INTERVAL = 100;

/** A 200 JSON body that delivers one byte every INTERVAL ms. */
function dripping(text: string): Response {
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  const body = new ReadableStream<Uint8Array>({
    pull: (c) =>
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          if (i >= text.length) c.close();
          else c.enqueue(new TextEncoder().encode(text[i++]!));
          resolve();
        }, INTERVAL);
      }),
    cancel: () => clearTimeout(timer),
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
}

describe('token exchange during an upload', () => {
  it('is bounded by timeouts.request', async () => {
    const registry = new MemoryRegistry({ auth: { type: 'bearer' } });
    let putRefused = false;
    let tokens = 0;
    const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      if (url.pathname === '/token' && ++tokens > 1) {
        // 60 bytes at 100 ms each: 6 s, far past the 300 ms deadline.
        return dripping(`{"token":"t2"}${' '.repeat(46)}`);
      }
      if (init?.method === 'PUT' && url.pathname.includes('/blobs/uploads/') && !putRefused) {
        // The token stops working mid-upload: the client fetches a new one.
        putRefused = true;
        const res = await registry.fetch(`${url.origin}/v2/`);
        return new Response(null, {
          status: 401,
          headers: { 'www-authenticate': res.headers.get('www-authenticate') ?? '' },
        });
      }
      return registry.fetch(input, init);
    };
    const client = new RegistryClient({ fetch, timeouts: { request: DEADLINE }, retry: { maxRetries: 0 } });
    const a = chartArtifact('app', '1');
    const started = Date.now();
    let err: unknown;
    try {
      await client.repository('registry.test/charts/app').push(a.layer.desc, a.layer.data);
    } catch (e) {
      err = e;
    }
    const elapsed = Date.now() - started;
    expect(putRefused).toBe(true);
    expect(err).toBeInstanceOf(ChartproofError);
    expect((err as ChartproofError).code).toBe('TIMEOUT');
    expect(elapsed).toBeLessThan(DEADLINE + 1500);
  });
});
