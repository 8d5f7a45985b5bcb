import { ChartproofError } from '../errors.js';
import { parseJsonBounded } from '../internal/bounded-parse.js';
import { type Descriptor, type ImageIndex, type ImageManifest, toDescriptor } from './descriptor.js';
import { type Digest, isDigest } from './digest.js';
import { manifestProblem, parseManifestJson } from './manifest.js';
import { isManifestMediaType } from './media-types.js';
import { isValidTag } from './reference.js';
import type {
  CallOptions,
  Deleter,
  FetchedManifest,
  ManifestFetcher,
  Named,
  ReferrerLister,
  ReferrersOptions,
  TagLister,
  Target,
} from './target.js';
import { MAX_MANIFEST_BYTES, readAll, streamOf, verifyBytes } from './verify.js';

/** Options of a {@link MemoryStore}. @public */
export interface MemoryStoreOptions {
  /** What the store is called in messages and pinned references. Default `memory`. */
  name?: string;
  /**
   * Refuse, as a distribution registry does, manifests that are not JSON objects with
   * `schemaVersion` 2, have a `mediaType` field other than the pushed one or invalid
   * descriptors, or reference content not stored yet (`INVALID_MANIFEST`). Default
   * false: any bytes matching their descriptor are stored.
   */
  checkManifests?: boolean;
  /**
   * Bytes the store holds at most, all content together; a push past it fails with
   * `SIZE_LIMIT_EXCEEDED` before its content is read. Default: no bound.
   */
  maxBytes?: number;
}

/**
 * A content-addressed store in memory implementing `Target`, referrers, tag
 * listing and manifest fetching. Every push is verified against its descriptor, so
 * what it serves is what was asked for. Useful in tests and as a staging area (the
 * air-gap import's quarantine); the in-memory registry keeps one per repository.
 * @public
 */
export class MemoryStore implements Target, ManifestFetcher, Named, ReferrerLister, TagLister, Deleter {
  /** The store's name in messages (see {@link MemoryStoreOptions.name}). */
  readonly name: string;
  readonly #checkManifests: boolean;
  readonly #maxBytes: number;
  #bytes = 0;
  readonly #content = new Map<string, { desc: Descriptor; data: Uint8Array }>();
  readonly #tags = new Map<string, Descriptor>();
  readonly #referrers = new Map<string, Map<string, Descriptor>>();

  constructor(options: MemoryStoreOptions = {}) {
    this.name = options.name ?? 'memory';
    this.#checkManifests = options.checkManifests ?? false;
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  }

  /** Refuses content that would take the store past `maxBytes`. */
  #reserve(desc: Descriptor): void {
    if (this.#content.has(desc.digest)) return;
    if (!Number.isSafeInteger(desc.size) || desc.size < 0 || this.#bytes + desc.size > this.#maxBytes)
      throw new ChartproofError(
        'SIZE_LIMIT_EXCEEDED',
        `${this.name}: ${desc.digest} of ${desc.size} bytes would take the store past ${this.#maxBytes} bytes`,
      );
  }

  /** `<name>@<digest>`. */
  pinned(digest: Digest): string {
    return `${this.name}@${digest}`;
  }

  /**
   * A stored manifest by tag or digest, parsed (JSON object, `schemaVersion` 2) and
   * with a `mediaType` field, if any, equal to the one it was pushed with.
   */
  async fetchManifest(reference: string, options: CallOptions = {}): Promise<FetchedManifest> {
    const desc = await this.resolve(reference, options);
    const where = `${this.name}:${reference}`;
    if (!isManifestMediaType(desc.mediaType))
      throw new ChartproofError('INVALID_MANIFEST', `${where}: ${desc.mediaType} is not a manifest`);
    const bytes = this.#content.get(desc.digest)!.data;
    if (bytes.byteLength > MAX_MANIFEST_BYTES)
      throw new ChartproofError(
        'SIZE_LIMIT_EXCEEDED',
        `${where}: manifest of ${bytes.byteLength} bytes exceeds ${MAX_MANIFEST_BYTES}`,
      );
    const manifest = parseManifestJson(bytes, where);
    if (typeof manifest.mediaType === 'string' && manifest.mediaType !== desc.mediaType)
      throw new ChartproofError(
        'INVALID_MANIFEST',
        `${where}: mediaType ${manifest.mediaType} does not match ${desc.mediaType}`,
      );
    return {
      descriptor: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size },
      bytes,
      manifest,
    };
  }

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
    this.#reserve(expected);
    const data = content instanceof Uint8Array ? content : await readAll(content, expected.size + 1);
    verifyBytes(data, expected);
    if (this.#checkManifests && isManifestMediaType(expected.mediaType)) {
      const where = `${this.name}@${expected.digest}`;
      if (data.byteLength > MAX_MANIFEST_BYTES)
        throw new ChartproofError(
          'SIZE_LIMIT_EXCEEDED',
          `${where}: manifest exceeds ${MAX_MANIFEST_BYTES} bytes`,
        );
      const problem = manifestProblem(parseManifestJson(data, where), expected.mediaType, (d) =>
        this.#content.has(d),
      );
      if (problem) throw new ChartproofError('INVALID_MANIFEST', `${where}: ${problem}`);
    }
    this.putVerified(toDescriptor(expected), data);
  }

  /** Stores bytes already verified against `desc` (indexes `subject` for manifests). */
  putVerified(desc: Descriptor, data: Uint8Array): void {
    this.#reserve(desc);
    if (!this.#content.has(desc.digest)) this.#bytes += data.byteLength;
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
    const stored = this.#content.get(desc.digest);
    if (!stored) throw new ChartproofError('NOT_FOUND', `${desc.digest}: not found`);
    this.#content.delete(desc.digest);
    this.#bytes -= stored.data.byteLength;
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
