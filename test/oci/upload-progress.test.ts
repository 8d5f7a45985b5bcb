import { describe, expect, it } from 'vitest';
import { ChartproofError } from '../../src/errors.js';
import { RegistryClient } from '../../src/oci/client.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { chartArtifact } from '../helpers/content.js';

// A chunked upload whose registry keeps acknowledging the same bytes must stop: each
// PATCH has its own (idle) timeouts and uploads have no total deadline, so a loop that
// resends forever is bounded by nothing else.

describe('chunked upload against a registry that acknowledges no progress', () => {
  it('fails with PROTOCOL after a few attempts instead of resending forever', async () => {
    const registry = new MemoryRegistry();
    let patches = 0;
    const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = String(input instanceof Request ? input.url : input);
      if (init?.method === 'PATCH') {
        patches++;
        if (patches > 50) throw new TypeError('fetch failed', { cause: new Error('test: too many PATCHes') });
        // Always "I hold the first byte only".
        return new Response(null, { status: 202, headers: { location: url, range: '0-0' } });
      }
      return registry.fetch(input, init);
    };
    const client = new RegistryClient({ fetch, retry: { maxRetries: 0 } });
    const repo = client.repository('registry.test/charts/app', { upload: { chunkSize: 64 } });
    const a = chartArtifact('app', '1');
    let err: unknown;
    try {
      await repo.push(a.layer.desc, a.layer.data);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChartproofError);
    expect((err as ChartproofError).code).toBe('PROTOCOL');
    expect(patches).toBeLessThanOrEqual(5);
  });

  it('still completes when the registry takes a chunk in two parts', async () => {
    const registry = new MemoryRegistry();
    let split = true;
    const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      if (init?.method === 'PATCH' && split) {
        // Take half of the first chunk, as a registry with a smaller buffer might.
        split = false;
        const body = new Uint8Array(await new Response(init.body as Uint8Array).arrayBuffer());
        const half = body.subarray(0, body.byteLength >> 1);
        const headers = new Headers(init.headers);
        headers.set('content-range', `0-${half.byteLength - 1}`);
        headers.set('content-length', String(half.byteLength));
        return registry.fetch(input, { ...init, headers, body: half });
      }
      return registry.fetch(input, init);
    };
    const client = new RegistryClient({ fetch, retry: { maxRetries: 0 } });
    const repo = client.repository('registry.test/charts/app', { upload: { chunkSize: 64 } });
    const a = chartArtifact('app', '1');
    await repo.push(a.layer.desc, a.layer.data);
    expect(await repo.exists(a.layer.desc)).toBe(true);
  });
});
