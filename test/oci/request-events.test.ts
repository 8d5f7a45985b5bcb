import { discard } from '../../src/oci/transport/errors.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { staticCredentials } from '../../src/oci/auth/credentials.js';
import { RegistryClient } from '../../src/oci/client.js';
import { clientTransport } from '../../src/oci/internal/transport.js';
import { formatRegistryEvent, type RegistryEvent } from '../../src/oci/transport/events.js';
import { MemoryRegistry, type MemoryRegistryOptions } from '../../src/testing/index.js';
import { captureIo } from '../helpers/cli-io.js';
import { chartArtifact, pushAll } from '../helpers/content.js';
import { makeTempDirSync, removeDir } from '../helpers/services.js';

const PASSWORD = 'pw-SECRET-5bd1';
const BASIC_B64 = Buffer.from(`alice:${PASSWORD}`).toString('base64');

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(options: MemoryRegistryOptions) {
  const registry = new MemoryRegistry(options);
  const a = chartArtifact('app', '1.0.0');
  const store = registry.repository('charts/app');
  await pushAll(store, [a.config, a.layer, a.manifest]);
  await store.tag(a.manifest.desc, '1.0.0');
  const events: RegistryEvent[] = [];
  const client = new RegistryClient({
    fetch: registry.fetch,
    credentials: staticCredentials({ 'registry.test': { username: 'alice', password: PASSWORD } }),
    retry: { baseDelayMs: 1, jitter: 0 },
    onEvent: (e) => events.push(e),
  });
  return { registry, client, events, repo: client.repository('registry.test/charts/app'), a };
}

/** Every bearer token the registry received. */
function tokensSeen(registry: MemoryRegistry): string[] {
  return registry.requests
    .map((r) => /^Bearer (\S+)$/.exec(r.headers.authorization ?? '')?.[1])
    .filter((t): t is string => t !== undefined);
}

function expectClean(events: RegistryEvent[], secrets: string[]) {
  const text = `${JSON.stringify(events)}\n${events.map(formatRegistryEvent).join('\n')}`;
  for (const s of secrets) expect(text).not.toContain(s);
}

describe('request events', () => {
  it('report each attempt, the retries and their reason, with a Bearer token nowhere in them', async () => {
    const { registry, events, repo } = await setup({
      auth: { type: 'bearer', username: 'alice', password: PASSWORD },
    });
    registry.failNext({ status: 503, method: 'GET', path: /\/manifests\//, times: 2 });
    await repo.fetchManifest('1.0.0');
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries.map((e) => [e.attempt, e.reason])).toEqual([
      [1, 'status 503'],
      [2, 'status 503'],
    ]);
    const gets = events.filter((e) => e.type === 'response' && e.method === 'GET');
    expect(gets.map((e) => (e.type === 'response' ? e.status : 0))).toEqual([503, 503, 401, 200]);
    expect(events.some((e) => e.type === 'request' && e.auth === 'bearer')).toBe(true);
    expect(events.some((e) => e.type === 'auth' && e.scheme === 'bearer')).toBe(true);
    const tokens = tokensSeen(registry);
    expect(tokens.length).toBeGreaterThan(0);
    expectClean(events, [PASSWORD, BASIC_B64, ...tokens]);
  });

  it('report network failures that are retried, and never the Basic password', async () => {
    const { registry, events, repo } = await setup({
      auth: { type: 'basic', username: 'alice', password: PASSWORD },
    });
    registry.dropNext({ method: 'GET', path: /\/tags\/list/ });
    expect(await repo.tags()).toEqual(['1.0.0']);
    const retry = events.find((e) => e.type === 'retry');
    expect(retry).toMatchObject({ type: 'retry', attempt: 1 });
    expect(retry?.type === 'retry' && retry.reason).toMatch(/^NETWORK: /);
    expect(events.some((e) => e.type === 'request' && e.auth === 'basic')).toBe(true);
    expectClean(events, [PASSWORD, BASIC_B64]);
  });

  it('report the final failure as an error event', async () => {
    const { registry, events, repo } = await setup({});
    registry.dropNext({ times: 10 });
    await expect(repo.tags()).rejects.toMatchObject({ code: 'NETWORK' });
    const last = events[events.length - 1];
    expect(last).toMatchObject({ type: 'error', code: 'NETWORK' });
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(4);
  });

  it('ignore a hook that throws', async () => {
    const registry = new MemoryRegistry();
    const client = new RegistryClient({
      fetch: registry.fetch,
      onEvent: () => {
        throw new Error('broken logger');
      },
    });
    await client.ping('registry.test');
  });

  it('share one id per logical request and redact secrets in URLs', async () => {
    const { events, client } = await setup({});
    const res = await clientTransport(client).send({
      method: 'GET',
      url: `https://registry.test/v2/?access_token=${PASSWORD}&password=${PASSWORD}`,
      scopes: [],
    });
    await discard(res);
    expect(events.length).toBeGreaterThan(1);
    expect(new Set(events.map((e) => e.id)).size).toBe(1);
    expectClean(events, [PASSWORD]);
    // A URL with userinfo is refused outright, without repeating it.
    const err = await clientTransport(client)
      .send({ method: 'GET', url: `https://u:${PASSWORD}@registry.test/v2/`, scopes: [] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((err as Error).message).not.toContain(PASSWORD);
  });
});

describe('CLI --verbose', () => {
  it('prints requests and retries to stderr without credentials', async () => {
    const registry = new MemoryRegistry({ auth: { type: 'basic', username: 'alice', password: PASSWORD } });
    const a = chartArtifact('app', '1.0.0');
    const store = registry.repository('charts/app');
    await pushAll(store, [a.config, a.layer, a.manifest]);
    await store.tag(a.manifest.desc, '1.0.0');
    const running = await registry.listen();
    cleanups.push(() => running.close());
    const dir = makeTempDirSync('chartproof-verbose-');
    cleanups.push(() => removeDir(dir));
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ auths: { [running.host]: { auth: BASIC_B64 } } }));
    registry.failNext({ status: 503, method: 'GET', path: /\/tags\/list/ });
    const cap = captureIo('', { HOME: dir });
    const code = await run(
      ['--plain-http', '--verbose', '--registry-config', config, 'tags', `${running.host}/charts/app`],
      cap.io,
    );
    expect(code, cap.err()).toBe(0);
    expect(cap.out()).toContain('1.0.0');
    expect(cap.err()).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/v2\/charts\/app\/tags\/list .*-> 503/);
    expect(cap.err()).toContain('retrying in');
    expect(cap.err()).toContain('basic auth');
    expect(cap.err() + cap.out()).not.toContain(PASSWORD);
    expect(cap.err() + cap.out()).not.toContain(BASIC_B64);
  });
});
