/**
 * Where a locked dependency comes from, and fetching it from there: OCI registries
 * (`oci://`), classic chart repositories (`index.yaml`), or the chart itself
 * (`file://` and empty repositories).
 */
import { loadChartArchive } from '../chart/load.js';
import { pullChart } from '../chart/oci.js';
import { downloadRepoChart } from '../chart/repo.js';
import type { ChartDependency } from '../chart/types.js';
import { ociTagForVersion } from '../chart/version.js';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseYamlBounded } from '../internal/bounded-parse.js';
import { helmConfigPath } from '../oci/auth/credentials.js';
import { digestOf } from '../oci/digest.js';
import type { RegistryClient } from '../oci/client.js';
import { readTextFileBounded } from '../internal/read-file.js';

/**
 * Where a dependency is fetched from: an OCI reference (`oci://registry/repo/name:tag`),
 * a classic repository URL, or `local` (`file://…` or an empty repository, which
 * Helm takes from the chart's own tree).
 * @public
 */
export type DependencySource =
  | { kind: 'oci'; ref: string }
  | { kind: 'repo'; url: string }
  | { kind: 'local'; path: string };

/** Options shared by everything that contacts dependency sources. @public */
export interface DependencySourceOptions {
  /** The client for registries and repository servers (auth, TLS, retries). */
  client: RegistryClient;
  /**
   * Helm repository names to URLs, for `repository: "@name"` or `"alias:name"`
   * entries (what Helm reads from `repositories.yaml`).
   */
  repositories?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Where Helm would fetch `dep` from.
 * @throws ChartproofError `NOT_FOUND` for an `@name` / `alias:name` repository that
 *   `repositories` does not define; `UNSUPPORTED` for another URL scheme
 * @public
 */
export function dependencySource(
  dep: ChartDependency,
  repositories: Record<string, string> = {},
): DependencySource {
  let repository = (dep.repository ?? '').trim();
  if (repository === '') return { kind: 'local', path: '' };
  if (repository.startsWith('file://')) return { kind: 'local', path: repository.slice('file://'.length) };
  const alias = repository.startsWith('@')
    ? repository.slice(1)
    : repository.startsWith('alias:')
      ? repository.slice('alias:'.length)
      : undefined;
  if (alias !== undefined) {
    const url = Object.hasOwn(repositories, alias) ? repositories[alias] : undefined;
    if (url === undefined)
      throw new ChartproofError(
        'NOT_FOUND',
        `no repository definition for ${repository}: pass its URL (Helm's repositories.yaml)`,
      );
    repository = url;
  }
  if (repository.startsWith('oci://')) {
    const base = repository.replace(/\/+$/, '');
    return { kind: 'oci', ref: `${base}/${dep.name}:${ociTagForVersion(dep.version ?? '')}` };
  }
  if (/^https?:\/\//i.test(repository)) return { kind: 'repo', url: repository };
  throw new ChartproofError(
    'UNSUPPORTED',
    `dependency ${dep.name}: repository ${JSON.stringify(repository)} is not oci://, http(s):// or file://`,
  );
}

/** A dependency archive fetched from its source. @public */
export interface FetchedDependency {
  /** The chart archive bytes. */
  archive: Uint8Array;
  /** `sha256:<hex>` of `archive`, computed here. */
  digest: string;
  /** OCI sources: the manifest digest the tag resolved to. */
  manifestDigest?: string;
  /** `oci://registry/repo/name:tag` or the archive's URL. */
  location: string;
  /**
   * Classic repositories: true when `index.yaml` declared a digest and the bytes
   * matched it; false when the index has none. OCI: always true (the client checks
   * the layer digest).
   */
  sourceVerified: boolean;
}

/**
 * Fetches a remote dependency at its locked version and checks that the archive is
 * a chart with the locked name and version. Classic repositories: the bytes must
 * match the index digest when it has one (a mismatch is `DIGEST_MISMATCH`). OCI: the
 * chart layer is verified against the manifest.
 * @throws ChartproofError `INVALID_ARGUMENT` for a local dependency; `CHART_INVALID`
 *   when the source serves another chart; registry, network and integrity errors
 * @public
 */
export async function fetchDependency(
  dep: ChartDependency,
  options: DependencySourceOptions,
): Promise<FetchedDependency> {
  const source = dependencySource(dep, options.repositories);
  const version = dep.version ?? '';
  let fetched: FetchedDependency;
  if (source.kind === 'oci') {
    const pulled = await pullChart(options.client, source.ref, {
      ...(options.signal ? { signal: options.signal } : {}),
    });
    fetched = {
      archive: pulled.archive,
      digest: digestOf(pulled.archive),
      manifestDigest: pulled.manifestDigest,
      location: source.ref,
      sourceVerified: true,
    };
  } else if (source.kind === 'repo') {
    const got = await downloadRepoChart(options.client, source.url, dep.name, {
      version,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (got.entry.version !== version)
      throw new ChartproofError(
        'NOT_FOUND',
        `${dep.name}: ${source.url} has no version ${JSON.stringify(version)} (resolved ${got.entry.version})`,
      );
    fetched = { archive: got.archive, digest: got.digest, location: got.url, sourceVerified: got.verified };
  } else {
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `${dep.name}: ${dep.repository ? dep.repository : 'an empty repository'} is local, not fetched`,
    );
  }
  const chart = await loadChartArchive(fetched.archive, options.signal ? { signal: options.signal } : {});
  if (chart.metadata.name !== dep.name || chart.metadata.version !== version)
    throw new ChartproofError(
      'CHART_INVALID',
      `${fetched.location} serves chart ${chart.metadata.name}-${chart.metadata.version}, not ${dep.name}-${version}`,
    );
  return fetched;
}

/** `name-version`, the way Helm names a vendored archive. @internal */
export function dependencyId(dep: { name: string; version?: string }): string {
  return `${dep.name}-${dep.version ?? ''}`;
}

/**
 * Reads the repository names and URLs of Helm's `repositories.yaml`
 * (`repositories: [{name, url, ...}]`), for {@link DependencySourceOptions.repositories}.
 * Credentials and TLS settings in the file are not used: configure them on the client.
 * @throws ChartproofError `IO` (`NOT_FOUND` when absent), `INVALID_ARGUMENT` when malformed
 * @public
 */
export async function readHelmRepositories(path: string): Promise<Record<string, string>> {
  const text = await readTextFileBounded(path, {
    maxBytes: 4 * 1024 * 1024,
    what: 'repositories file',
    notFoundCode: true,
  });
  let doc: unknown;
  try {
    doc = parseYamlBounded(text, { maxAliasCount: 100 }, { what: path, source: 'local' });
  } catch (err) {
    if (isDepthLimitError(err)) throw err;
    throw new ChartproofError('INVALID_ARGUMENT', `${path}: ${(err as Error).message}`, { cause: err });
  }
  const out: Record<string, string> = {};
  const list = (doc as { repositories?: unknown } | null)?.repositories;
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list))
    throw new ChartproofError('INVALID_ARGUMENT', `${path}: repositories is not a list`);
  for (const entry of list) {
    const e = entry as { name?: unknown; url?: unknown } | null;
    if (typeof e?.name === 'string' && typeof e.url === 'string') out[e.name] = e.url;
  }
  return out;
}

/**
 * Where Helm keeps `repositories.yaml`: `$HELM_REPOSITORY_CONFIG`, else
 * `$HELM_CONFIG_HOME/repositories.yaml`, `$XDG_CONFIG_HOME/helm/repositories.yaml`,
 * then the platform default (Helm's `helmpath.ConfigPath`, see `helmConfigPath`).
 * @public
 */
export function helmRepositoriesPath(
  env: Record<string, string | undefined>,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.HELM_REPOSITORY_CONFIG) return env.HELM_REPOSITORY_CONFIG;
  return helmConfigPath('repositories.yaml', env, platform);
}
