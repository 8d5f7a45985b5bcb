/**
 * What one mirror run learns once and reuses for every chart version: tag lists of
 * source and target repositories (so signature tags, referrers tags and target tags
 * are looked up in memory instead of probed one request at a time) and classic
 * repository indexes (fetched once per repository, not once per version).
 */
import { fetchRepoIndex, type RepoIndex } from '../chart/repo.js';
import { ChartproofError, RegistryError } from '../errors.js';
import type { RegistryClient } from '../oci/client.js';
import type { Named, TagLister } from '../oci/target.js';

/** Shared per-run state of a mirror run (not exported from `chartproof/mirror`). */
export class MirrorRunCache {
  readonly #tags = new Map<string, Promise<Set<string> | undefined>>();
  readonly #indexes = new Map<string, Promise<RepoIndex>>();

  /**
   * The repository's tags, listed once per run; a repository the registry reports as
   * unknown (`NAME_UNKNOWN`) has none. Undefined when the registry does not list them
   * (401, 403, or a 404 without that code, 405): callers then probe each tag.
   */
  tags(repo: TagLister & Named, signal?: AbortSignal): Promise<Set<string> | undefined> {
    const key = repo.name;
    let p = this.#tags.get(key);
    if (!p) {
      p = repo.tags(signal ? { signal } : {}).then(
        (list) => new Set(list),
        (e: unknown) => {
          signal?.throwIfAborted();
          // Only the registry's own word that the repository is unknown means "no tags":
          // a bare 404 may be an endpoint the registry lacks, and taking it for "absent"
          // would let a version overwrite a tag that exists.
          if (e instanceof ChartproofError && e.code === 'NAME_UNKNOWN') return new Set<string>();
          // Listing not allowed or not supported: fall back to one probe per tag.
          if (e instanceof RegistryError && [401, 403, 404, 405].includes(e.status)) return undefined;
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
  async tagged(repo: Named, tag: string): Promise<void> {
    const key = repo.name;
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
