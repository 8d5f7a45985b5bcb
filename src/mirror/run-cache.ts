/**
 * What one mirror run learns once and reuses for every chart version: tag lists of
 * source and target repositories (so signature tags, referrers tags and target tags
 * are looked up in memory instead of probed one request at a time) and classic
 * repository indexes (fetched once per repository, not once per version).
 */
import { fetchRepoIndex, type RepoIndex } from '../chart/repo.js';
import { RegistryError, isNotFoundError } from '../errors.js';
import type { RegistryClient } from '../oci/client.js';
import type { Repository } from '../oci/repository.js';

/** @internal */
export class MirrorRunCache {
  readonly #tags = new Map<string, Promise<Set<string> | undefined>>();
  readonly #indexes = new Map<string, Promise<RepoIndex>>();

  /**
   * The repository's tags, listed once per run; an unknown repository has none.
   * Undefined when the registry refuses to list them (then callers probe each tag).
   */
  tags(repo: Repository, signal?: AbortSignal): Promise<Set<string> | undefined> {
    const key = `${repo.reference.registry}/${repo.reference.repository}`;
    let p = this.#tags.get(key);
    if (!p) {
      p = repo.tags(signal ? { signal } : {}).then(
        (list) => new Set(list),
        (e: unknown) => {
          signal?.throwIfAborted();
          if (isNotFoundError(e)) return new Set<string>();
          // Listing not allowed or not supported: fall back to one probe per tag.
          if (e instanceof RegistryError && [401, 403, 405].includes(e.status)) return undefined;
          throw e;
        },
      );
      // A failed listing is not cached, so the next version tries again.
      p.catch(() => this.#tags.delete(key));
      this.#tags.set(key, p);
    }
    return p;
  }

  /** Records a tag this run wrote, so later versions see it. */
  async tagged(repo: Repository, tag: string): Promise<void> {
    const key = `${repo.reference.registry}/${repo.reference.repository}`;
    const known = await this.#tags.get(key)?.catch(() => undefined);
    known?.add(tag);
  }

  /** A classic repository's index, fetched once per run. */
  index(client: RegistryClient, url: string, signal?: AbortSignal): Promise<RepoIndex> {
    let p = this.#indexes.get(url);
    if (!p) {
      p = fetchRepoIndex(client, url, signal ? { signal } : {});
      p.catch(() => this.#indexes.delete(url));
      this.#indexes.set(url, p);
    }
    return p;
  }
}
