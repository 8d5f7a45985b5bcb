import { ChartproofError } from '../errors.js';
import { parseJsonBounded } from '../internal/bounded-parse.js';
import { type Descriptor, type ImageIndex, type ImageManifest, toDescriptor } from './descriptor.js';
import { type Digest, isDigest } from './digest.js';
import { isManifestMediaType } from './media-types.js';
import { isValidTag } from './reference.js';
import type { CallOptions, Deleter, ReferrerLister, ReferrersOptions, TagLister, Target } from './target.js';
import { MAX_MANIFEST_BYTES, readAll, streamOf, verifyBytes } from './verify.js';

/**
 * A content-addressed store in memory implementing {@link Target}, referrers and
 * tag listing. Useful in tests and as a staging area; the in-memory registry keeps
 * one per repository.
 * @public
 */
export class MemoryStore implements Target, ReferrerLister, TagLister, Deleter {
  readonly #content = new Map<string, { desc: Descriptor; data: Uint8Array }>();
  readonly #tags = new Map<string, Descriptor>();
  readonly #referrers = new Map<string, Map<string, Descriptor>>();

  async fetch(desc: Descriptor, options: CallOptions = {}): Promise<ReadableStream<Uint8Array>> {
    options.signal?.throwIfAborted();
    const entry = this.#content.get(desc.digest);
    if (!entry) throw new ChartproofError('NOT_FOUND', `${desc.digest}: not found`);
    return streamOf(entry.data);
  }

  async exists(desc: Descriptor, options: CallOptions = {}): Promise<boolean> {
    options.signal?.throwIfAborted();
    return this.#content.has(desc.digest);
  }

  /** Bytes of stored content, or undefined. */
  get(digest: string): Uint8Array | undefined {
    return this.#content.get(digest)?.data;
  }

  /** Descriptor of stored content, or undefined. */
  describe(digest: string): Descriptor | undefined {
    return this.#content.get(digest)?.desc;
  }

  async push(
    expected: Descriptor,
    content: ReadableStream<Uint8Array> | Uint8Array,
    options: CallOptions = {},
  ): Promise<void> {
    options.signal?.throwIfAborted();
    const data = content instanceof Uint8Array ? content : await readAll(content, expected.size + 1);
    verifyBytes(data, expected);
    this.putVerified(toDescriptor(expected), data);
  }

  /** Stores bytes already verified against `desc` (indexes `subject` for manifests). */
  putVerified(desc: Descriptor, data: Uint8Array): void {
    this.#content.set(desc.digest, { desc, data });
    if (isManifestMediaType(desc.mediaType) && data.byteLength <= MAX_MANIFEST_BYTES) {
      const parsed = parseJsonObject(data);
      const subject = parsed?.subject as Descriptor | undefined;
      if (subject && typeof subject.digest === 'string') {
        const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
        const artifactType =
          (parsed?.artifactType as string | undefined) ??
          (parsed as Partial<ImageManifest>)?.config?.mediaType;
        if (artifactType) entry.artifactType = artifactType;
        const annotations = parsed?.annotations as Record<string, string> | undefined;
        if (annotations && Object.keys(annotations).length > 0) entry.annotations = annotations;
        const set = this.#referrers.get(subject.digest) ?? new Map<string, Descriptor>();
        this.#referrers.set(subject.digest, set);
        set.set(desc.digest, entry);
      }
    }
  }

  async resolve(reference: string, options: CallOptions = {}): Promise<Descriptor> {
    options.signal?.throwIfAborted();
    if (isDigest(reference)) {
      const entry = this.#content.get(reference);
      if (entry) return entry.desc;
    } else {
      const desc = this.#tags.get(reference);
      if (desc) return desc;
    }
    throw new ChartproofError('NOT_FOUND', `${reference}: not found`);
  }

  async tag(desc: Descriptor, reference: string, options: CallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    if (!isValidTag(reference))
      throw new ChartproofError('INVALID_REFERENCE', `invalid tag ${JSON.stringify(reference)}`);
    const entry = this.#content.get(desc.digest);
    if (!entry) throw new ChartproofError('NOT_FOUND', `${desc.digest}: cannot tag missing content`);
    this.#tags.set(reference, entry.desc);
  }

  /** Removes a tag; content stays. Returns whether the tag existed. */
  untag(reference: string): boolean {
    return this.#tags.delete(reference);
  }

  async tags(options: CallOptions = {}): Promise<string[]> {
    options.signal?.throwIfAborted();
    return [...this.#tags.keys()].sort();
  }

  async referrers(subject: Descriptor, options: ReferrersOptions = {}): Promise<Descriptor[]> {
    options.signal?.throwIfAborted();
    const found = [...(this.#referrers.get(subject.digest)?.values() ?? [])].filter((d) =>
      this.#content.has(d.digest),
    );
    return options.artifactType === undefined
      ? found
      : found.filter((d) => d.artifactType === options.artifactType);
  }

  async delete(desc: Descriptor, options: CallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    if (!this.#content.delete(desc.digest))
      throw new ChartproofError('NOT_FOUND', `${desc.digest}: not found`);
    for (const [tag, d] of this.#tags) if (d.digest === desc.digest) this.#tags.delete(tag);
  }

  /** Every stored digest. */
  digests(): Digest[] {
    return [...this.#content.keys()] as Digest[];
  }
}

/** Parses bytes as a JSON object, or returns undefined. */
export function parseJsonObject(
  data: Uint8Array,
): (Record<string, unknown> & Partial<ImageIndex>) | undefined {
  try {
    const v = parseJsonBounded(new TextDecoder('utf-8', { fatal: true }).decode(data), {
      what: 'JSON document',
    }) as (Record<string, unknown> & Partial<ImageIndex>) | null;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
