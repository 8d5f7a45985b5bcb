// Load benchmark of the admission webhook: reviews per second and latency percentiles
// of the HTTPS server (createAdmissionServer) on loopback, with a keep-alive TLS client,
// for Pod reviews and for release-Secret reviews whose chart verification is cached.
// Prints figures; asserts only that every review was answered correctly (no timing gate).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../src/oci/index.js';
import { parseTrustConfig } from '../src/policy/trust.js';
import { type AdmissionServer, createAdmissionServer } from '../src/policy/server.js';
import { MemoryRegistry } from '../src/testing/index.js';
import {
  httpsClient,
  type Json,
  podOf,
  pushSignedChart,
  releaseJson,
  reviewOf,
  secretOf,
} from '../test/helpers/admission.js';
import { createTestPki, makeTempDirSync, removeDir, requireTool } from '../test/helpers/services.js';

const missing = requireTool('openssl');
const CONCURRENCY = 16;
/** Each scenario stops at this many reviews or this many milliseconds, whichever comes first. */
const MAX_REVIEWS = { pod: 4000, release: 1500 };
const MAX_MS = 30_000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe.skipIf(missing !== undefined)('admission webhook load (HTTPS on loopback)', () => {
  let dir: string;
  let webhook: AdmissionServer;
  let client: ReturnType<typeof httpsClient>;
  beforeAll(async () => {
    dir = makeTempDirSync('admission-bench-');
    const pki = createTestPki(dir);
    const registry = new MemoryRegistry();
    const registryClient = new RegistryClient({ fetch: registry.fetch, plainHttp: true });
    const { publicKeyPem } = await pushSignedChart(registryClient, 'registry.test');
    webhook = createAdmissionServer({
      tls: { key: readFileSync(pki.keyFile), cert: pki.certPem },
      trust: parseTrustConfig({
        registries: ['registry.test'],
        verify: { keys: [publicKeyPem], tlog: 'skip' },
        validationFailureAction: 'Enforce',
        charts: { reference: 'oci://registry.test/charts/{name}:{version}' },
      }),
      client: registryClient,
    });
    const port = await webhook.listen(0, '127.0.0.1');
    client = httpsClient(port, pki.caPem, CONCURRENCY);
  });
  afterAll(async () => {
    client?.close();
    await webhook?.close({ graceMs: 1000 });
    if (dir) removeDir(dir);
  });

  async function load(name: string, review: (i: number) => Json, max: number) {
    // warm-up: TLS sessions, the verification cache, JIT
    for (let i = 0; i < CONCURRENCY; i++) {
      const r = JSON.parse((await client.post('/validate', review(i))).body);
      expect(r.response.allowed, JSON.stringify(r.response)).toBe(true);
    }
    const bodies = Array.from({ length: 64 }, (_, i) => JSON.stringify(review(i)));
    const latencies: number[] = [];
    let next = 0;
    let denied = 0;
    const started = performance.now();
    const worker = async () => {
      while (next < max && performance.now() - started < MAX_MS) {
        const i = next++;
        const t0 = performance.now();
        const res = await client.post('/validate?timeout=10s', bodies[i % bodies.length]!);
        latencies.push(performance.now() - t0);
        if (res.status !== 200 || !JSON.parse(res.body).response.allowed) denied++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      `${name.padEnd(34)} ${String(latencies.length).padStart(5)} reviews in ${seconds.toFixed(1)} s: ` +
        `${(latencies.length / seconds).toFixed(0).padStart(5)} reviews/s, ` +
        `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, ` +
        `max ${sorted.at(-1)!.toFixed(1)} ms (concurrency ${CONCURRENCY})`,
    );
    expect(denied).toBe(0);
    expect(latencies.length).toBeGreaterThan(0);
  }

  it('Pod reviews (allowed registries)', async () => {
    await load('pod CREATE', (i) => reviewOf(podOf([`registry.test/app:${i}`]), `pod-${i}`), MAX_REVIEWS.pod);
  });

  it('release Secret reviews (chart verification cached by digest)', async () => {
    const before = webhook.state.cacheSize;
    await load(
      'release Secret CREATE (cached)',
      (i) => reviewOf(secretOf(releaseJson(i + 1)), `rel-${i}`),
      MAX_REVIEWS.release,
    );
    // one verified chart, cached once: every review after the first hit the cache
    expect(webhook.state.cacheSize).toBe(Math.max(before, 1));
    expect(webhook.state.counters.errors).toBe(0);
  });
});
