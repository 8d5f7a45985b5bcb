import type { Descriptor } from './descriptor.js';
import type { Digest } from './digest.js';

/** Options every asynchronous call accepts. @public */
export interface CallOptions {
  /** Cancels the operation; the rejection is the signal's reason. */
  signal?: AbortSignal;
}

/** Reads content by descriptor, verified against its digest and size. @public */
export interface Fetcher {
  /** Returns a stream that errors unless the bytes match `desc`. */
  fetch(desc: Descriptor, options?: CallOptions): Promise<ReadableStream<Uint8Array>>;
}

/** Tells whether content exists. @public */
export interface Exister {
  exists(desc: Descriptor, options?: CallOptions): Promise<boolean>;
}

/** Resolves a tag or digest to a descriptor. @public */
export interface Resolver {
  resolve(reference: string, options?: CallOptions): Promise<Descriptor>;
}

/** Stores content, checking it against the expected descriptor. @public */
export interface Pusher {
  push(
    expected: Descriptor,
    content: ReadableStream<Uint8Array> | Uint8Array,
    options?: CallOptions,
  ): Promise<void>;
}

/** Points a tag at existing content. @public */
export interface Tagger {
  tag(desc: Descriptor, reference: string, options?: CallOptions): Promise<void>;
}

/** Lists the manifests whose `subject` is a given manifest. @public */
export interface ReferrerLister {
  referrers(subject: Descriptor, options?: ReferrersOptions): Promise<Descriptor[]>;
}

/** Options of {@link ReferrerLister.referrers}. @public */
export interface ReferrersOptions extends CallOptions {
  /** Only referrers with this artifact type. */
  artifactType?: string;
}

/** Lists tags. @public */
export interface TagLister {
  tags(options?: CallOptions): Promise<string[]>;
}

/** Mounts a blob from another repository of the same registry. @public */
export interface Mounter {
  /** Returns true when mounted; false when the registry would not mount. */
  mount(desc: Descriptor, fromRepository: string, options?: CallOptions): Promise<boolean>;
}

/**
 * Mounts a blob, or uploads it into the upload session the registry opens when it
 * will not mount (a 202 to the mount request; OCI distribution spec: the client "MAY
 * proceed with the upload"), which saves cancelling that session and opening another.
 * @public
 */
export interface MountPusher {
  /**
   * `'mounted'` when the registry mounted the blob from `fromRepository`; otherwise
   * reads `content()` and uploads it (into the session the refused mount opened, when
   * the registry named one), resolving to `'pushed'`. A session it opened and could
   * not use is cancelled.
   */
  mountOrPush(
    desc: Descriptor,
    fromRepository: string,
    content: () => Promise<ReadableStream<Uint8Array> | Uint8Array>,
    options?: CallOptions,
  ): Promise<'mounted' | 'pushed'>;
}

/** Deletes content. @public */
export interface Deleter {
  delete(desc: Descriptor, options?: CallOptions): Promise<void>;
}

/** A fetched manifest: its descriptor and exact bytes. @public */
export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Uint8Array;
  /** Parsed JSON. */
  manifest: Record<string, unknown>;
}

/**
 * Fetches a manifest by tag or digest in one step: verified against the digest
 * (when one is asked for), parsed, with its exact bytes. @public
 */
export interface ManifestFetcher {
  fetchManifest(reference: string, options?: CallOptions): Promise<FetchedManifest>;
}

/** Says which repository a target holds, for messages and pinned references. @public */
export interface Named {
  /** `registry/repository`, as shown in messages. */
  readonly name: string;
  /** `registry/repository@digest`. */
  pinned(digest: Digest): string;
}

/** What read-only algorithms (verify, copy source) need. @public */
export interface ReadOnlyTarget extends Fetcher, Resolver, Exister {}

/** What writing algorithms (copy destination) need. @public */
export interface Target extends ReadOnlyTarget, Pusher, Tagger {}

/** True when the target can list referrers. @public */
export function isReferrerLister(t: object): t is ReferrerLister {
  return typeof (t as Partial<ReferrerLister>).referrers === 'function';
}

/** True when the target can list tags. @public */
export function isTagLister(t: object): t is TagLister {
  return typeof (t as Partial<TagLister>).tags === 'function';
}

/** True when the target can mount a blob or upload it into the session a refused mount opened. @public */
export function isMountPusher(t: object): t is MountPusher {
  return typeof (t as Partial<MountPusher>).mountOrPush === 'function';
}

/** True when the target can mount blobs. @public */
export function isMounter(t: object): t is Mounter {
  return typeof (t as Partial<Mounter>).mount === 'function';
}
