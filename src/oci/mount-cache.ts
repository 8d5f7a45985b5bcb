import { ChartproofError } from '../errors.js';

/** Options of a {@link BlobMountCache}. @public */
export interface BlobMountCacheOptions {
  /**
   * Most blobs remembered (per cache, all registries together); the ones recorded
   * longest ago are forgotten first. Default 100 000.
   */
  maxEntries?: number;
}

/** Repositories remembered per blob: at most this many mounts are tried from the cache. */
const LOCATIONS_PER_BLOB = 2;

/**
 * A blob being placed in a repository by one copy; the others that need it in the same
 * registry wait for it. `done` resolves true when the blob landed in `repository`,
 * false when that copy failed (it never rejects).
 */
type BlobFlight = { readonly repository: string; readonly done: Promise<boolean> };

/**
 * Where blobs already are at destination registries, shared between copies (e.g. the
 * images of one mirror run): see `CopyOptions.mountCache`. It remembers, per registry
 * host and digest, the last two repositories a copy pushed,
 * mounted or found the blob in, and which blobs a copy is placing right now. It holds
 * no content and no credentials, only names; it trusts what it saw, so give each run
 * its own cache rather than keeping one for days (a blob deleted since is then tried
 * once, refused, and forgotten).
 * @public
 */
export class BlobMountCache {
  /** See {@link BlobMountCacheOptions.maxEntries}. */
  readonly maxEntries: number;
  // `${registry} ${digest}` → repositories holding the blob, most recent first. A Map
  // iterates in insertion order, so re-inserting on each record makes the first key the
  // one recorded longest ago.
  readonly #where = new Map<string, string[]>();
  // `${registry} ${digest}` → the copy placing that blob now. Bounded by the copies'
  // concurrency: an entry lives only while its upload or mount runs.
  readonly #flights = new Map<string, BlobFlight>();

  constructor(options: BlobMountCacheOptions = {}) {
    const max = options.maxEntries ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1)
      throw new ChartproofError('INVALID_ARGUMENT', `maxEntries must be a positive integer, got ${max}`);
    this.maxEntries = max;
  }

  /** Number of blobs remembered. */
  get size(): number {
    return this.#where.size;
  }

  /** Repositories of `registry` known to hold `digest`, most recent first (at most 2). */
  locations(registry: string, digest: string): readonly string[] {
    return this.#where.get(key(registry, digest)) ?? [];
  }

  /** Notes that `repository` of `registry` holds `digest`. */
  record(registry: string, digest: string, repository: string): void {
    const k = key(registry, digest);
    const known = this.#where.get(k);
    const next = [repository, ...(known ?? []).filter((r) => r !== repository)].slice(0, LOCATIONS_PER_BLOB);
    this.#where.delete(k);
    this.#where.set(k, next);
    while (this.#where.size > this.maxEntries) this.#where.delete(this.#where.keys().next().value!);
  }

  /** Forgets that `repository` holds `digest` (a mount from it was refused). */
  forget(registry: string, digest: string, repository: string): void {
    const k = key(registry, digest);
    const known = this.#where.get(k);
    if (!known) return;
    const rest = known.filter((r) => r !== repository);
    if (rest.length > 0) this.#where.set(k, rest);
    else this.#where.delete(k);
  }

  /** The copy placing `digest` in `registry` now, if any. @internal */
  flight(
    registry: string,
    digest: string,
  ): { readonly repository: string; readonly done: Promise<boolean> } | undefined {
    return this.#flights.get(key(registry, digest));
  }

  /**
   * Announces that the caller places `digest` in `repository` now. The caller must
   * call `land` once, whatever happens (in a `finally`); until then others wait.
   * Undefined when another copy is placing the blob (then wait for its `flight`).
   * @internal
   */
  claim(registry: string, digest: string, repository: string): { land(ok: boolean): void } | undefined {
    const k = key(registry, digest);
    if (this.#flights.has(k)) return undefined;
    let settle!: (ok: boolean) => void;
    const flight: BlobFlight = {
      repository,
      done: new Promise<boolean>((resolve) => {
        settle = resolve;
      }),
    };
    this.#flights.set(k, flight);
    let landed = false;
    return {
      land: (ok) => {
        if (landed) return;
        landed = true;
        if (ok) this.record(registry, digest, repository);
        if (this.#flights.get(k) === flight) this.#flights.delete(k);
        settle(ok);
      },
    };
  }
}

function key(registry: string, digest: string): string {
  return `${registry} ${digest}`;
}
