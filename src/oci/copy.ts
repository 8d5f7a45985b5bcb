import { untilAborted } from '../internal/abort.js';
import { ChartproofError, CopyError, isNotFoundError } from '../errors.js';
import type { Descriptor } from './descriptor.js';
import { isDigest } from './digest.js';
import { isIndexMediaType, isManifestMediaType } from './media-types.js';
import type { BlobMountCache } from './mount-cache.js';
import { referrersTag } from './referrers.js';
import { isValidTag } from './reference.js';
import { parseManifestJson } from './manifest.js';
import { Repository } from './repository.js';
import type { VerifiedPushOptions } from './upload.js';
import {
  type CallOptions,
  isMounter,
  isMountPusher,
  isReferrerLister,
  type ReadOnlyTarget,
  type Target,
} from './target.js';
import { type InlineDigestOptions, MAX_MANIFEST_BYTES, readAll, verifyBytes } from './verify.js';

/** Progress of a copy. @public */
export type CopyEvent =
  | { type: 'copied'; descriptor: Descriptor }
  | { type: 'skipped'; descriptor: Descriptor }
  | { type: 'mounted'; descriptor: Descriptor; from: string }
  | { type: 'tagged'; descriptor: Descriptor; tag: string }
  /**
   * Bytes of a blob read from the source so far (cumulative for `descriptor`, whose
   * `size` is the total); sent as the blob streams, before its `copied` event.
   */
  | { type: 'bytes'; descriptor: Descriptor; bytes: number };

/** Options of {@link copy}. @public */
export interface CopyOptions extends CallOptions {
  /** Blobs and manifests transferred at once. Default 3. */
  concurrency?: number;
  /** Also copy referrers (signatures, attestations, SBOMs) of the root and its child manifests, recursively. Default false. */
  referrers?: boolean;
  /** Also copy cosign's legacy `sha256-<hex>.sig`, `.att` and `.sbom` tags of the root. Default false. */
  cosignTags?: boolean;
  /**
   * Repositories of the destination registry to try mounting blobs from. Default:
   * the source repository when source and destination are on the same registry.
   */
  mountFrom?: string[];
  /** Destination tags. Default: the tag of `dstRef` (none for a digest). */
  tags?: string[];
  /** Receives progress events: per descriptor, and `bytes` as blobs stream. */
  onProgress?: (event: CopyEvent) => void;
  /** Depth of referrers-of-referrers followed. Default 4. */
  maxReferrerDepth?: number;
  /**
   * Skip the existence check of the root manifest at the destination: the caller
   * knows it is absent (e.g. a mirror plan that listed the destination's tags). Its
   * blobs are still checked one by one, so a root that is there after all costs those
   * checks and one `PUT`, never a wrong result. Saves a request per copy. Default false.
   */
  assumeRootAbsent?: boolean;
  /**
   * Shared by copies into one destination registry (e.g. the images of a mirror run;
   * only used when `dst` is a `Repository`): a blob another copy pushed, mounted or
   * found is mounted from that repository (at most the 2 most recent ones are tried)
   * before it is uploaded, and a blob another copy is placing in the same registry is
   * waited for, then mounted, instead of uploaded twice. Default: none (each copy on
   * its own).
   */
  mountCache?: BlobMountCache;
}

export { BlobMountCache, type BlobMountCacheOptions } from './mount-cache.js';

/** Result of {@link copy}. @public */
export interface CopyResult {
  /** The copied root. */
  descriptor: Descriptor;
  /** Referrers copied (when `referrers` was set). */
  referrers: Descriptor[];
  /** Cosign tags copied (when `cosignTags` was set). */
  cosignTags: string[];
}

/**
 * Copies a manifest or index and everything it references from `src` to `dst`,
 * byte for byte (same digests). Content already at the destination is skipped,
 * children are pushed before parents, blobs are mounted when possible, and tags are
 * written last, so an interrupted copy never leaves a tag pointing at missing
 * content.
 * @throws CopyError `COPY_FAILED` with `origin` and the original error as `cause`
 * @public
 */
export async function copy(
  src: ReadOnlyTarget,
  srcRef: string,
  dst: Target,
  dstRef?: string,
  options: CopyOptions = {},
): Promise<CopyResult> {
  // A remote source is read with one GET (which also caches the verified bytes for the walk).
  const root = await fromSource(undefined, async () =>
    src instanceof Repository
      ? (await src.fetchManifest(srcRef, callOpts(options))).descriptor
      : src.resolve(srcRef, callOpts(options)),
  );
  const tags = options.tags ?? (dstRef !== undefined ? tagOf(dstRef) : []);
  for (const tag of tags) {
    if (!isValidTag(tag))
      throw new ChartproofError('INVALID_REFERENCE', `invalid tag ${JSON.stringify(tag)}`);
  }
  // The walk below the root starts at once, beside the lookups of what travels with the
  // root; should a lookup fail, the walk is stopped (and awaited) before the failure is
  // reported, so nothing is left running.
  const stop = new AbortController();
  const job = new CopyJob(src, dst, {
    ...options,
    signal: options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal,
  });
  // What travels with the root is looked up beside the walk: when nothing does, the root
  // is pushed and tagged in one request; otherwise the tags wait until the rest is
  // copied. Only the root's own push waits for these lookups (independent source
  // reads, sent at once), not its children's transfers.
  const lookups = options.cosignTags
    ? ['sig', 'att', 'sbom']
        .map((suffix) => `${referrersTag(root.digest)}.${suffix}`)
        .filter((tag) => !(src as { knownAbsent?: (ref: string) => boolean }).knownAbsent?.(tag))
        .map((tag) =>
          src.resolve(tag, callOpts(options)).then(
            (desc) => ({ tag, desc }),
            (e: unknown) => {
              if (isNotFoundError(e)) return undefined;
              throw new CopyError('source', undefined, e);
            },
          ),
        )
    : [];
  const rootListing = options.referrers ? job.list(root) : Promise.resolve([]);
  // An index's children's referrers are listed beside the copy of its content (they are
  // copied after it): otherwise each listing would wait for the whole transfer. After
  // the root's listing, which teaches the client whether the registry has the
  // referrers API (else each listing would try it).
  const prefetch =
    options.referrers && isIndexMediaType(root.mediaType)
      ? rootListing.then(
          () => job.prefetchChildReferrers(root),
          () => {},
        )
      : undefined;
  let decided!: () => void;
  job.rootDecision = { digest: root.digest, ready: new Promise<void>((resolve) => (decided = resolve)) };
  if (options.assumeRootAbsent) job.unchecked = root.digest;
  const walk = job.graph(root);
  walk.catch(() => {}); // awaited below; not unhandled while the lookups run
  let looked: [Descriptor[], ...({ tag: string; desc: Descriptor } | undefined)[]];
  try {
    looked = await Promise.all([rootListing, ...lookups] as const);
  } catch (e) {
    stop.abort(e);
    decided();
    // Nothing left running: the walk, the other lookups and the children's listings.
    await Promise.allSettled([walk, rootListing, ...lookups, prefetch]);
    await job.settled();
    throw e;
  }
  const [rootReferrers, ...tagged] = looked;
  const found = tagged.filter((t) => t !== undefined);
  // An index whose referrers are copied: its children's referrers go in after it, so the
  // tags wait for them unless, once the children are copied, none turns out to have any.
  if (rootReferrers.length === 0 && found.length === 0) {
    job.rootTags = {
      digest: root.digest,
      tags,
      unlessChildReferrers: options.referrers === true && isIndexMediaType(root.mediaType),
    };
  }
  decided();
  const copiedReferrers: Descriptor[] = [];
  const cosignTags: string[] = [];
  try {
    await walk;
    if (options.referrers) {
      await job.referrers(root, copiedReferrers, options.maxReferrerDepth ?? 4, rootReferrers);
    }
    for (const { tag, desc } of found) {
      await job.graph(desc);
      await toDestination(desc.digest, () => dst.tag(desc, tag, callOpts(options)));
      options.onProgress?.({ type: 'tagged', descriptor: desc, tag });
      cosignTags.push(tag);
    }
    for (const tag of tags) {
      if (job.tagged.has(tag)) continue;
      await toDestination(root.digest, () => dst.tag(root, tag, callOpts(options)));
      options.onProgress?.({ type: 'tagged', descriptor: root, tag });
    }
  } catch (e) {
    // One failed transfer fails the copy: the others are stopped, and the copy settles
    // only once every request it started is over.
    stop.abort(e);
    await job.settled();
    throw e;
  }
  return { descriptor: root, referrers: copiedReferrers, cosignTags };
}

/** The destination registry and repository of a copy that uses a mount cache. */
interface Shared {
  readonly cache: BlobMountCache;
  readonly registry: string;
  readonly repository: string;
}

class CopyJob {
  readonly #done = new Map<string, Promise<void>>();
  /** Referrer listings at the source, by subject digest. */
  readonly #listed = new Map<string, Promise<Descriptor[]>>();
  /** Child manifests of the indexes whose referrers are copied, by index digest. */
  readonly #indexChildren = new Map<string, Promise<Descriptor[]>>();
  /** Subjects whose referrers were followed, with the depth they were followed to. */
  readonly #followed = new Map<string, number>();
  /**
   * Manifests walked because a source listing named them referrers of a subject, with
   * that subject's digest: their own `subject` must name it, or a hostile listing could
   * make the copy write (and attach, at the destination) a manifest that refers to
   * something else entirely.
   */
  readonly #listedAsReferrerOf = new Map<string, string>();
  readonly #limit: Limiter;
  readonly #mountFrom: string[];
  readonly #shared: Shared | undefined;
  /**
   * Tags to write together with the root manifest, when allowed; with
   * `unlessChildReferrers`, only if none of the index's children has referrers.
   */
  rootTags: { digest: string; tags: string[]; unlessChildReferrers: boolean } | undefined;
  /** Tags already written. */
  readonly tagged = new Set<string>();
  /** A digest known to be absent at the destination (`assumeRootAbsent`). */
  unchecked: string | undefined;
  /** The root, whose push waits until `rootTags` is decided (`ready`). */
  rootDecision: { digest: string; ready: Promise<void> } | undefined;

  constructor(
    readonly src: ReadOnlyTarget,
    readonly dst: Target,
    readonly options: CopyOptions,
  ) {
    this.#limit = new Limiter(Math.max(1, options.concurrency ?? 3));
    this.#mountFrom =
      options.mountFrom ??
      (src instanceof Repository &&
      dst instanceof Repository &&
      src.reference.registry === dst.reference.registry &&
      src.reference.repository !== dst.reference.repository
        ? [src.reference.repository]
        : []);
    const cache = options.mountCache;
    this.#shared =
      cache && dst instanceof Repository
        ? { cache, registry: dst.reference.registry, repository: dst.reference.repository }
        : undefined;
  }

  /** Settles once every node and listing this job started has (after a stop). */
  async settled(): Promise<void> {
    for (let seen = -1; seen !== this.#done.size + this.#listed.size; ) {
      seen = this.#done.size + this.#listed.size;
      await Promise.allSettled([...this.#done.values(), ...this.#listed.values()]);
    }
  }

  graph(desc: Descriptor): Promise<void> {
    let p = this.#done.get(desc.digest);
    if (!p) {
      p = this.#node(desc);
      this.#done.set(desc.digest, p);
    }
    return p;
  }

  async #node(desc: Descriptor): Promise<void> {
    const o = callOpts(this.options);
    o.signal?.throwIfAborted();
    const present =
      desc.digest !== this.unchecked &&
      (await toDestination(desc.digest, () => this.#limit.run(() => this.dst.exists(desc, o))));
    const shared = this.#shared;
    if (present) {
      if (shared && !isManifestMediaType(desc.mediaType))
        shared.cache.record(shared.registry, desc.digest, shared.repository);
      this.options.onProgress?.({ type: 'skipped', descriptor: desc });
      return;
    }
    if (!isManifestMediaType(desc.mediaType)) {
      await (shared ? this.#sharedBlob(desc, shared) : this.#limit.run(() => this.#blob(desc)));
      return;
    }
    // Checked here too, whatever the source: a manifest that is not what its digest says
    // could list itself (or an ancestor), and the walk would wait for itself forever.
    const bytes = await fromSource(desc.digest, () =>
      this.#limit.run(async () => {
        const read = await readAll(await this.src.fetch(desc, o), MAX_MANIFEST_BYTES);
        verifyBytes(read, desc);
        return read;
      }),
    );
    const manifest = parseManifestJson(bytes, desc.digest);
    const listedSubject = this.#listedAsReferrerOf.get(desc.digest);
    if (listedSubject !== undefined) {
      const own = (manifest.subject as { digest?: unknown } | undefined)?.digest;
      if (own !== listedSubject) {
        throw new CopyError(
          'source',
          desc.digest,
          new ChartproofError(
            'INVALID_MANIFEST',
            `listed as a referrer of ${listedSubject}, but its subject is ${typeof own === 'string' ? own : 'absent'}`,
          ),
        );
      }
    }
    await Promise.all(successors(desc, manifest).map((child) => this.graph(child)));
    const dst = this.dst;
    if (this.rootDecision?.digest === desc.digest) await this.rootDecision.ready;
    const rootTags =
      this.rootTags?.digest === desc.digest && dst instanceof Repository ? this.rootTags : undefined;
    const tags =
      rootTags && (!rootTags.unlessChildReferrers || (await this.#childrenWithoutReferrers(desc)))
        ? rootTags.tags
        : [];
    if (tags.length > 0 && dst instanceof Repository) {
      await toDestination(desc.digest, () =>
        this.#limit.run(() => dst.pushManifest(bytes, { mediaType: desc.mediaType, tags, ...o })),
      );
      this.options.onProgress?.({ type: 'copied', descriptor: desc });
      for (const tag of tags) {
        this.tagged.add(tag);
        this.options.onProgress?.({ type: 'tagged', descriptor: desc, tag });
      }
      return;
    }
    await toDestination(desc.digest, () => this.#limit.run(() => dst.push(desc, bytes, o)));
    this.options.onProgress?.({ type: 'copied', descriptor: desc });
  }

  /**
   * Places an absent blob when copies share a mount cache. One copy at a time places a
   * given blob in the registry (a "flight"); the others wait for it and then mount
   * from where it landed. Two uploads of one blob committing at once race in
   * distribution 2.8's filesystem driver (both write its data and link files), and
   * cost the bytes twice.
   *
   * No deadlock: a flight is claimed only by a copy holding one of its own concurrency
   * slots, and what runs in that slot (mounts, source read, upload) never waits for
   * another copy; waiting happens outside the slots. So every flight finishes, and a
   * copy never waits for itself (its walk visits each digest once).
   */
  async #sharedBlob(desc: Descriptor, shared: Shared): Promise<void> {
    const { cache, registry, repository } = shared;
    const signal = this.options.signal;
    for (;;) {
      signal?.throwIfAborted();
      const busy = cache.flight(registry, desc.digest);
      if (busy) {
        const landed = await untilAborted(busy.done, signal);
        if (landed && busy.repository === repository) {
          this.options.onProgress?.({ type: 'skipped', descriptor: desc });
          return;
        }
        continue; // landed elsewhere (mount from there) or failed (place it ourselves)
      }
      const placed = await this.#limit.run(async () => {
        // Another copy may have claimed the blob while this one waited for a slot.
        const flight = cache.claim(registry, desc.digest, repository);
        if (!flight) return false;
        let ok = false;
        try {
          await this.#placeShared(desc, shared);
          ok = true;
        } finally {
          flight.land(ok);
        }
        return true;
      });
      if (placed) return;
    }
  }

  /** Mounts from where the cache saw the blob, else uploads it (in a slot, claimed). */
  async #placeShared(desc: Descriptor, { cache, registry, repository }: Shared): Promise<void> {
    const known = cache.locations(registry, desc.digest);
    if (known.includes(repository)) {
      // Another copy into this repository placed it after this copy's existence check.
      const o = callOpts(this.options);
      if (await toDestination(desc.digest, () => this.dst.exists(desc, o))) {
        this.options.onProgress?.({ type: 'skipped', descriptor: desc });
        return;
      }
      cache.forget(registry, desc.digest, repository);
    }
    await this.#blob(
      desc,
      known.filter((r) => r !== repository && !this.#mountFrom.includes(r)),
    );
  }

  /**
   * A `Repository` source streams verified content (it errors before its end unless every
   * byte matches): a `Repository` destination then does not hash it a second time.
   */
  #pushOptions(o: CallOptions): CallOptions {
    if (!(this.src instanceof Repository) || !(this.dst instanceof Repository)) return o;
    const verified: VerifiedPushOptions = { ...o, sourceVerified: true };
    return verified;
  }

  /** A `Repository` source hashes a copied blob inline (see `InlineDigestOptions`). */
  #fetchOptions(o: CallOptions): CallOptions {
    if (!(this.src instanceof Repository)) return o;
    const inline: CallOptions & InlineDigestOptions = { ...o, inlineDigest: true };
    return inline;
  }

  /** Tries to mount from each of `from` in turn (refused cache entries are forgotten). */
  async #mount(desc: Descriptor, from: readonly string[], cached: readonly string[]): Promise<boolean> {
    if (from.length === 0 || !isMounter(this.dst)) return false;
    const dst = this.dst;
    for (const repository of from) {
      if (await toDestination(desc.digest, () => dst.mount(desc, repository, callOpts(this.options)))) {
        this.options.onProgress?.({ type: 'mounted', descriptor: desc, from: repository });
        return true;
      }
      this.#refused(desc, repository, cached);
    }
    return false;
  }

  /** A mount from `repository` was refused (gone, or not readable with these credentials): do not offer it again. */
  #refused(desc: Descriptor, repository: string, cached: readonly string[]): void {
    if (this.#shared && cached.includes(repository))
      this.#shared.cache.forget(this.#shared.registry, desc.digest, repository);
  }

  /**
   * Mounts (from `mountFrom`, then `cached`) or uploads an absent blob. The last mount
   * is tried with `mountOrPush` when the destination has it: a refusal then uploads
   * into the session the registry opened instead of cancelling it and opening another.
   */
  async #blob(desc: Descriptor, cached: readonly string[] = []): Promise<void> {
    const o = callOpts(this.options);
    const dst = this.dst;
    const from = [...this.#mountFrom, ...cached];
    const pusher = isMountPusher(dst) ? dst : undefined;
    const last = pusher ? from.pop() : undefined;
    // Mount only what is absent: re-linking present blobs concurrently is not safe on every
    // registry (distribution's filesystem driver rewrites the link file in place).
    if (await this.#mount(desc, from, cached)) return;
    let source: ReturnType<typeof watched> | undefined;
    const open = async () => {
      const fetched = await fromSource(desc.digest, () => this.src.fetch(desc, this.#fetchOptions(o)));
      source = watched(fetched, desc, this.options.onProgress);
      return source.stream;
    };
    const cancel = () => {
      source?.stream.cancel().catch(() => {});
    };
    try {
      if (pusher && last !== undefined) {
        const placed = await toDestination(
          desc.digest,
          () => pusher.mountOrPush(desc, last, open, this.#pushOptions(o)),
          cancel,
        );
        if (placed === 'mounted') {
          this.options.onProgress?.({ type: 'mounted', descriptor: desc, from: last });
          return;
        }
        this.#refused(desc, last, cached);
      } else {
        const stream = await open();
        await toDestination(desc.digest, () => dst.push(desc, stream, this.#pushOptions(o)), cancel);
      }
    } catch (e) {
      // The push failed because reading the source failed (bad digest, dropped connection):
      // the source sent the bad bytes, whatever error the destination's client wrapped it in.
      const failure = source?.error();
      if (failure !== undefined && !isAbort(e)) throw new CopyError('source', desc.digest, failure);
      throw e;
    }
    this.options.onProgress?.({ type: 'copied', descriptor: desc });
  }

  /** The subject's referrers at the source (listed once per copy). */
  list(subject: Descriptor): Promise<Descriptor[]> {
    const src = this.src;
    if (!isReferrerLister(src)) return Promise.resolve([]);
    let listed = this.#listed.get(subject.digest);
    if (!listed) {
      const o = callOpts(this.options);
      listed = fromSource(subject.digest, () => src.referrers(subject, o));
      this.#listed.set(subject.digest, listed);
    }
    return listed;
  }

  /**
   * Starts listing the referrers of `index`'s child manifests (read by {@link referrers}
   * later). A failure surfaces there, where the listing is awaited; the promise returned
   * settles (never rejects) once every listing has.
   */
  async prefetchChildReferrers(index: Descriptor): Promise<void> {
    if (!isReferrerLister(this.src)) return;
    try {
      const children = await this.#children(index);
      await Promise.allSettled(children.map((child) => this.list(child)));
    } catch {
      // reported where the listing is read
    }
  }

  /**
   * Whether none of `index`'s children has referrers at the source (their listings were
   * started beside the transfer). False when a child is itself an index or a listing
   * failed: the root then goes in by digest, and the referrer step reports the failure.
   */
  async #childrenWithoutReferrers(index: Descriptor): Promise<boolean> {
    try {
      const children = await this.#children(index);
      if (children.some((c) => isIndexMediaType(c.mediaType))) return false;
      const listings = await Promise.all(children.map((c) => this.list(c)));
      return listings.every((l) => l.length === 0);
    } catch {
      return false;
    }
  }

  /** An index's `manifests`, read and parsed once per copy. */
  #children(index: Descriptor): Promise<Descriptor[]> {
    let children = this.#indexChildren.get(index.digest);
    if (!children) {
      const o = callOpts(this.options);
      children = fromSource(index.digest, async () => {
        const read = await readAll(await this.src.fetch(index, o), MAX_MANIFEST_BYTES);
        verifyBytes(read, index);
        return read;
      }).then((bytes) => {
        // Hostile input: anything but an array of objects with a string digest is skipped.
        const listed: unknown = (parseManifestJson(bytes, index.digest) as { manifests?: unknown }).manifests;
        return Array.isArray(listed)
          ? listed.filter(
              (c): c is Descriptor =>
                typeof (c as Descriptor | null)?.digest === 'string' && isDigest((c as Descriptor).digest),
            )
          : [];
      });
      this.#indexChildren.set(index.digest, children);
    }
    return children;
  }

  async referrers(
    subject: Descriptor,
    out: Descriptor[],
    depth: number,
    listed?: Descriptor[],
  ): Promise<void> {
    if (depth <= 0 || !isReferrerLister(this.src)) return;
    // Each subject once (to the greatest depth asked): an index may list one child many
    // times, at every level of a nesting, and following each listing again is exponential.
    if ((this.#followed.get(subject.digest) ?? 0) >= depth) return;
    this.#followed.set(subject.digest, depth);
    const list = listed ?? (await this.list(subject));
    for (const r of list) {
      // A listing that names the subject itself says nothing about its referrers.
      if (r.digest === subject.digest || out.some((d) => d.digest === r.digest)) continue;
      if (!isManifestMediaType(r.mediaType)) {
        throw new CopyError(
          'source',
          r.digest,
          new ChartproofError(
            'INVALID_MANIFEST',
            `referrer of ${subject.digest} is not a manifest (${String(r.mediaType)})`,
          ),
        );
      }
      if (!this.#done.has(r.digest)) this.#listedAsReferrerOf.set(r.digest, subject.digest);
      await this.graph(r);
      out.push(r);
      await this.referrers(r, out, depth - 1);
    }
    // Referrers of the children of an index (per-platform signatures).
    if (isIndexMediaType(subject.mediaType)) {
      for (const child of await this.#children(subject)) await this.referrers(child, out, depth);
    }
  }
}

/** Children of a manifest node: subject, config, layers, or an index's manifests. */
function successors(_desc: Descriptor, manifest: Record<string, unknown>): Descriptor[] {
  const out: Descriptor[] = [];
  const subject = manifest.subject as Descriptor | undefined;
  if (subject) out.push(subject);
  const config = manifest.config as Descriptor | undefined;
  if (config) out.push(config);
  for (const key of ['layers', 'manifests', 'blobs'] as const) {
    const list = manifest[key];
    if (Array.isArray(list)) out.push(...(list as Descriptor[]));
  }
  for (const d of out) {
    if (
      !d ||
      typeof d.digest !== 'string' ||
      // Digests go into request paths: only a well-formed one (no `/`, `..`, `?`).
      !isDigest(d.digest) ||
      typeof d.mediaType !== 'string' ||
      !Number.isSafeInteger(d.size)
    ) {
      throw new ChartproofError('INVALID_MANIFEST', 'manifest has an invalid descriptor');
    }
  }
  // Foreign (non-distributable) layers with URLs are not copied, like oras and crane.
  return out.filter((d) => !(d.urls && d.urls.length > 0 && /nondistributable|foreign/.test(d.mediaType)));
}

function tagOf(ref: string): string[] {
  if (ref.startsWith('sha256:') || ref.startsWith('sha512:')) return [];
  const at = ref.indexOf('@');
  const base = at >= 0 ? ref.slice(0, at) : ref;
  const slash = base.lastIndexOf('/');
  const colon = base.indexOf(':', slash + 1);
  if (colon >= 0) return [base.slice(colon + 1)];
  return at >= 0 || slash >= 0 ? [] : [base];
}

function callOpts(o: CopyOptions): CallOptions {
  return o.signal ? { signal: o.signal } : {};
}

async function fromSource<T>(digest: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (
      e instanceof CopyError ||
      (e as Error)?.name === 'AbortError' ||
      (e as Error)?.name === 'TimeoutError'
    )
      throw e;
    throw new CopyError('source', digest, e);
  }
}

async function toDestination<T>(digest: string, fn: () => Promise<T>, onError?: () => void): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    onError?.();
    if (
      e instanceof CopyError ||
      (e as Error)?.name === 'AbortError' ||
      (e as Error)?.name === 'TimeoutError'
    )
      throw e;
    // Errors raised while reading (and verifying) the source stream surface during the
    // push, possibly wrapped by the destination's transport: any integrity failure in
    // the cause chain was detected on the bytes the source sent.
    let origin: 'source' | 'destination' = 'destination';
    for (let c: unknown = e, i = 0; c && i < 8; c = (c as { cause?: unknown }).cause, i++) {
      const code = (c as { code?: string }).code;
      if (code === 'DIGEST_MISMATCH' || code === 'SIZE_MISMATCH' || code === 'TRAILING_DATA')
        origin = 'source';
    }
    throw new CopyError(origin, digest, e);
  }
}

function isAbort(e: unknown): boolean {
  return (e as Error)?.name === 'AbortError' || (e as Error)?.name === 'TimeoutError';
}

/**
 * A stream of `data` (or `stream`) that reports the bytes read so far as `bytes`
 * events, then `copied` at the end: progress for chart pushes and pulls.
 * @internal
 */
export function withByteProgress(
  content: Uint8Array | ReadableStream<Uint8Array>,
  descriptor: Descriptor,
  onProgress: (event: CopyEvent) => void,
): ReadableStream<Uint8Array> {
  const CHUNK = 256 * 1024;
  let offset = 0;
  const source =
    content instanceof Uint8Array
      ? new ReadableStream<Uint8Array>({
          pull(controller) {
            if (offset >= content.byteLength) {
              controller.close();
              return;
            }
            const end = Math.min(offset + CHUNK, content.byteLength);
            controller.enqueue(content.subarray(offset, end));
            offset = end;
          },
        })
      : content;
  return watched(source, descriptor, onProgress).stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      flush() {
        onProgress({ type: 'copied', descriptor });
      },
    }),
  );
}

/**
 * Passes a source blob stream through, reporting the bytes read so far as `bytes`
 * events and remembering whether reading the source itself failed.
 */
function watched(
  stream: ReadableStream<Uint8Array>,
  descriptor: Descriptor,
  onProgress: ((event: CopyEvent) => void) | undefined,
): { stream: ReadableStream<Uint8Array>; error: () => unknown } {
  const reader = stream.getReader();
  let failure: unknown;
  let bytes = 0;
  const out = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (e) {
        failure = e ?? new Error('source stream failed');
        throw e;
      }
      if (chunk.done) {
        controller.close();
        return;
      }
      bytes += chunk.value.byteLength;
      controller.enqueue(chunk.value);
      onProgress?.({ type: 'bytes', descriptor, bytes });
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { stream: out, error: () => failure };
}

/** A counting semaphore. */
class Limiter {
  #active = 0;
  readonly #queue: Array<() => void> = [];
  constructor(readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.max) await new Promise<void>((r) => this.#queue.push(r));
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#queue.shift()?.();
    }
  }
}
