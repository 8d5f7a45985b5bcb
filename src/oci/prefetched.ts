/**
 * A read-only source that serves content already downloaded (and verified) from
 * memory and asks the underlying target for everything else: lets a caller that has
 * inspected an artifact copy it without downloading it twice.
 */
import type { Descriptor } from './descriptor.js';
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
 * only to a descriptor with the same digest and size).
 * @internal
 */
export class PrefetchedSource implements ReadOnlyTarget, ReferrerLister {
  readonly #target: ReadOnlyTarget;
  readonly #root: Descriptor;
  readonly #content: Map<string, Uint8Array>;

  constructor(
    target: ReadOnlyTarget,
    root: Descriptor,
    rootBytes: Uint8Array,
    blobs: Map<string, Uint8Array>,
  ) {
    this.#target = target;
    this.#root = root;
    this.#content = new Map(blobs);
    this.#content.set(root.digest, rootBytes);
  }

  async resolve(reference: string, options?: CallOptions): Promise<Descriptor> {
    if (reference === this.#root.digest) return { ...this.#root };
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
    return this.#target.referrers(subject, options);
  }
}
