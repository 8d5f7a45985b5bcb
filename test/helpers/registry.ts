/**
 * The one in-memory registry fixture of the unit tests: a `MemoryRegistry` (an HTTP
 * emulation of a distribution registry, `src/testing`) and a `RegistryClient` talking
 * to it through its `fetch`, with the host name `registry.test`. `listeningFixture`
 * serves the same registry on a loopback port, for tests that run the CLI (which
 * opens its own connections). Tests that need TLS, auth, deadlines, request events or
 * the real docker-registry construct their client themselves (`services.ts`).
 */
import { RegistryClient, type RegistryClientOptions } from '../../src/oci/client.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import type { FetchLike } from '../../src/oci/transport/fetch.js';
import type { Repository } from '../../src/oci/repository.js';
import type { RetryPolicy } from '../../src/oci/transport/retry.js';
import { MemoryRegistry, type MemoryRegistryOptions } from '../../src/testing/memory-registry.js';
import type { RunningRegistry } from '../../src/testing/registry-server.js';
import { MediaType } from '../../src/oci/media-types.js';
import { blob, chartArtifact, manifest, pushAll } from './content.js';

/** The host name the fixture's client uses (any name reaches the in-memory registry). */
export const TEST_HOST = 'registry.test';

export interface MemoryFixtureOptions extends MemoryRegistryOptions {
  /**
   * `none` (default): a failed request fails the test at once. `fast`: the client's
   * retries with 1–2 ms backoff, for tests that inject faults and expect recovery.
   * `default`: the client's own retry policy (what a caller gets without options).
   */
  retries?: 'none' | 'fast' | 'default';
  /** Wraps the registry's fetch (to observe or tamper with traffic). */
  wrapFetch?: (fetch: MemoryRegistry['fetch']) => FetchLike;
  /** Extra client options. */
  client?: Omit<RegistryClientOptions, 'fetch' | 'plainHttp' | 'retry'>;
  /** The repository of `app`, and the default of `repo()` and `store()`. Default `charts/app`. */
  repository?: string;
}

type Store = ReturnType<MemoryRegistry['repository']>;

export interface MemoryFixture {
  registry: MemoryRegistry;
  client: RegistryClient;
  /**
   * `repo()`, made once: the repository most tests use (`charts/app` unless the
   * `repository` option says otherwise). A `Repository` remembers whether the registry
   * serves the referrers API and what it just pushed, so a test keeps using this one
   * instance rather than calling `repo()` again.
   */
  app: Repository;
  /** A new `client.repository('registry.test/<name>')`; default: the `repository` option. */
  repo(name?: string): Repository;
  /**
   * The registry's own store of a repository (bypasses HTTP); default: the `repository`
   * option. The same store on every call; the first call creates the repository.
   */
  store(name?: string): Store;
}

function retryPolicy(retries: MemoryFixtureOptions['retries'] = 'none'): RetryPolicy | undefined {
  if (retries === 'default') return undefined;
  return retries === 'fast' ? { baseDelayMs: 1, maxDelayMs: 2 } : { maxRetries: 0 };
}

/** A fresh in-memory registry and a client for it. */
export function memoryFixture(options: MemoryFixtureOptions = {}): MemoryFixture {
  const {
    retries,
    wrapFetch,
    client: clientOptions,
    repository = 'charts/app',
    ...registryOptions
  } = options;
  const registry = new MemoryRegistry(registryOptions);
  const fetch = wrapFetch ? wrapFetch(registry.fetch) : registry.fetch;
  const retry = retryPolicy(retries);
  const client = new RegistryClient({ ...clientOptions, fetch, plainHttp: true, ...(retry && { retry }) });
  const repo = (name = repository) => client.repository(`${TEST_HOST}/${name}`);
  const store = (name = repository) => registry.repository(name);
  return { registry, client, app: repo(), repo, store };
}

export interface ListeningFixture extends MemoryFixture {
  /** The loopback server; `server.host` (`127.0.0.1:<port>`) goes in references. `repo(name)` is `<server.host>/<name>`. */
  server: RunningRegistry;
  /** Closes the client's connections, then the server. */
  close(): Promise<void>;
}

/**
 * A fresh in-memory registry listening on loopback, and a client that reaches it over
 * the socket (plain HTTP).
 */
export async function listeningFixture(
  options: Omit<MemoryFixtureOptions, 'wrapFetch'> = {},
): Promise<ListeningFixture> {
  const { retries, client: clientOptions, repository = 'charts/app', ...registryOptions } = options;
  const registry = new MemoryRegistry(registryOptions);
  const server = await registry.listen();
  const retry = retryPolicy(retries);
  const client = new RegistryClient({ ...clientOptions, plainHttp: true, ...(retry && { retry }) });
  const repo = (name = repository) => client.repository(`${server.host}/${name}`);
  const store = (name = repository) => registry.repository(name);
  return {
    registry,
    client,
    server,
    app: repo(),
    repo,
    store,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

/**
 * Pushes a `chartArtifact(name, version)` through `repo` (config, layer, then the
 * manifest tagged `version`) and returns the manifest's descriptor: the subject that
 * signatures and attestations refer to.
 */
export async function pushTestChart(repo: Repository, name = 'app', version = '1.0.0'): Promise<Descriptor> {
  const a = chartArtifact(name, version);
  await pushAll(repo, [a.config, a.layer]);
  return repo.pushManifest(a.manifest.data, { tags: [version] });
}

/**
 * Stores a `chartArtifact(name, version)` straight into the registry's store (no HTTP),
 * tagged `version`; returns the manifest's descriptor.
 */
export async function seedTestChart(
  store: Store,
  name = 'app',
  version = '1.0.0',
  layerBytes?: number,
): Promise<Descriptor> {
  const a = chartArtifact(name, version, layerBytes);
  await pushAll(store, [a.config, a.layer, a.manifest]);
  await store.tag(a.manifest.desc, version);
  return a.manifest.desc;
}

/** Stores a one-layer image in `apps/<name>`, tagged `1.0`; returns its manifest descriptor. */
export async function seedImage(f: MemoryFixture, name: string): Promise<Descriptor> {
  const config = blob(JSON.stringify({ architecture: 'amd64', os: 'linux', name }), MediaType.OciConfig);
  const layer = blob(`layer of ${name}`, 'application/vnd.oci.image.layer.v1.tar+gzip');
  const m = manifest(config.desc, [layer.desc]);
  const store = f.store(`apps/${name}`);
  await pushAll(store, [config, layer, m]);
  await store.tag(m.desc, '1.0');
  return m.desc;
}

/** The reference of a {@link seedImage} image: `registry.test/apps/<name>:1.0` (or `@digest`). */
export const appRef = (name: string, tagOrDigest = ':1.0') => `${TEST_HOST}/apps/${name}${tagOrDigest}`;
