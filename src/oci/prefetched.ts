/**
 * A read-only source that serves content already downloaded (and verified) from
 * memory and asks the underlying target for everything else: lets a caller that has
 * inspected an artifact copy it without downloading it twice.
 */
import { ChartproofError } from '../errors.js';
import type { Descriptor } from './descriptor.js';
import { isDigest } from './digest.js';
import { referrersTag } from './referrers.js';
import { Repository } from './repository.js';
import type { CallOptions, ReadOnlyTarget, ReferrerLister, ReferrersOptions } from './target.js';
import { isReferrerLister } from './target.js';

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

/**
 * Wraps `target`, answering `resolve`/`fetch` for the given root and blobs from
 * memory. The bytes must already be verified against their digests (they are served
 * only to a descriptor with the same digest and size). With `knownTags` (a tag list
 * of the target taken just before), a tag missing from the list is reported absent
 * without a request, and so is the referrers tag schema's index when the registry
 * has no referrers API.
 * @internal
 */
export class PrefetchedSource implements ReadOnlyTarget, ReferrerLister {
  readonly #target: ReadOnlyTarget;
  readonly #root: Descriptor;
  readonly #content: Map<string, Uint8Array>;
  readonly #knownTags: ReadonlySet<string> | undefined;

  constructor(
    target: ReadOnlyTarget,
    root: Descriptor,
    rootBytes: Uint8Array,
    blobs: Map<string, Uint8Array>,
    knownTags?: ReadonlySet<string>,
  ) {
    this.#target = target;
    this.#root = root;
    this.#content = new Map(blobs);
    this.#content.set(root.digest, rootBytes);
    this.#knownTags = knownTags;
  }

  /** True when the tag list says `reference` (a tag) does not exist at the source. */
  knownAbsent(reference: string): boolean {
    return this.#knownTags !== undefined && !this.#knownTags.has(reference) && !isDigest(reference);
  }

  async resolve(reference: string, options?: CallOptions): Promise<Descriptor> {
    if (reference === this.#root.digest) return { ...this.#root };
    if (this.knownAbsent(reference))
      throw new ChartproofError('NOT_FOUND', `tag ${reference} is not in the source's tag list`);
    return this.#target.resolve(reference, options);
  }

  async fetch(desc: Descriptor, options?: CallOptions): Promise<ReadableStream<Uint8Array>> {
    const bytes = this.#content.get(desc.digest);
    if (bytes !== undefined && bytes.byteLength === desc.size) return streamOf(bytes);
    return this.#target.fetch(desc, options);
  }

  async exists(desc: Descriptor, options?: CallOptions): Promise<boolean> {
    const bytes = this.#content.get(desc.digest);
    if (bytes !== undefined && bytes.byteLength === desc.size) return true;
    return this.#target.exists(desc, options);
  }

  async referrers(subject: Descriptor, options?: ReferrersOptions): Promise<Descriptor[]> {
    if (!isReferrerLister(this.#target)) return [];
    if (
      this.#knownTags &&
      this.#target instanceof Repository &&
      this.#target.referrersApi === false &&
      !this.#knownTags.has(referrersTag(subject.digest))
    )
      return [];
    return this.#target.referrers(subject, options);
  }
}
