import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { Readable } from 'node:stream';
import { ChartproofError, DigestMismatchError } from '../errors.js';
import { writeFileAtomic } from '../fs.js';
import { type Descriptor, toDescriptor } from './descriptor.js';
import { isDigest, parseDigest } from './digest.js';
import {
  formatLayoutIndex,
  isValidDescriptor,
  MAX_INDEX_BYTES,
  parseLayoutIndex,
  plainDescriptor,
  REF_NAME,
} from './layout-index.js';
import { isIndexMediaType, isManifestMediaType } from './media-types.js';
import { parseJsonObject } from './memory-store.js';
import { isValidTag } from './reference.js';
import type { CallOptions, ReferrerLister, ReferrersOptions, TagLister, Target } from './target.js';
import { MAX_MANIFEST_BYTES, readAll, streamOf, verifyBytes, verifyStream } from './verify.js';

export type { LayoutTransferOptions } from './layout-transfer.js';
export { exportToLayout, importFromLayout } from './layout-transfer.js';

/** Content of the `oci-layout` file we write. */
const LAYOUT_FILE = '{"imageLayoutVersion":"1.0.0"}';

/** Options of {@link OciLayout.open}. @public */
export interface OciLayoutOpenOptions extends CallOptions {
  /** Create the directory, `oci-layout` and an empty `index.json` when missing. Default false. */
  create?: boolean;
}

/**
 * A directory in the [OCI image layout] format (`oci-layout`, `index.json`,
 * `blobs/<alg>/<hex>`), as read and written by oras, skopeo (`oci:DIR:TAG`) and
 * regctl (`ocidir://`). Use it as either side of {@link copy} for air-gapped transfer.
 *
 * - Tags are `org.opencontainers.image.ref.name` annotations of `index.json` entries.
 * - Like oras-go's `content/oci` store, every manifest pushed is also recorded in
 *   `index.json` (untagged ones without the annotation), so signatures and other
 *   referrers stay reachable and discoverable by any reader of the layout.
 * - Blobs are streamed into `ingest/`, verified (digest and size) on the way, then
 *   renamed into place; `index.json` is replaced atomically after each change. An
 *   interrupted export leaves a consistent layout that a re-run completes.
 * - Every read is verified; digests are validated strictly before they become paths.
 *
 * One writer at a time: two instances writing the same directory overwrite each
 * other's `index.json`.
 *
 * [OCI image layout]: https://github.com/opencontainers/image-spec/blob/v1.1.0/image-layout.md
 * @public
 */
export class OciLayout implements Target, ReferrerLister, TagLister {
  /** Absolute path of the layout directory. */
  readonly dir: string;
  /** Tag (ref.name) → index entry without the ref.name annotation, in file order. */
  readonly #tags = new Map<string, Descriptor>();
  /** Untagged `index.json` entries by digest, in file order. */
  readonly #untagged = new Map<string, Descriptor>();
  /** Every manifest read or written: reachable from `index.json` or pushed. */
  readonly #manifests = new Map<string, Descriptor>();
  /** Subject digest → referrer digest → referrer descriptor. */
  readonly #referrers = new Map<string, Map<string, Descriptor>>();
  #indexAnnotations: Record<string, string> | undefined;
  /** The `index.json` text on disk (as we would write it). */
  #saved = '';
  #saving: Promise<void> = Promise.resolve();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Opens a layout, reading `index.json` and indexing the manifests it reaches (for
   * {@link OciLayout.referrers}). A manifest that is missing or damaged is left out of
   * the index and fails when fetched.
   * @throws ChartproofError `NOT_FOUND` (no layout and not `create`), `INVALID_MANIFEST`
   *   (a damaged `oci-layout` or `index.json`), `IO`
   */
  static async open(dir: string, options: OciLayoutOpenOptions = {}): Promise<OciLayout> {
    options.signal?.throwIfAborted();
    const layout = new OciLayout(resolvePath(dir));
    await layout.#load(options);
    return layout;
  }

  async #load(options: OciLayoutOpenOptions): Promise<void> {
    const layoutPath = join(this.dir, 'oci-layout');
    const layoutText = await readOptional(layoutPath, 64 * 1024);
    if (layoutText === undefined) {
      if (!options.create)
        throw new ChartproofError('NOT_FOUND', `${this.dir} is not an OCI image layout (no oci-layout file)`);
      await writeFileAtomic(layoutPath, LAYOUT_FILE, 0o644, { dirMode: 0o755 });
    } else {
      const version = parseJsonObject(layoutText)?.imageLayoutVersion;
      if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version))
        throw new ChartproofError(
          'INVALID_MANIFEST',
          `${layoutPath}: not an OCI layout file with imageLayoutVersion 1.x`,
        );
    }
    const indexPath = join(this.dir, 'index.json');
    const indexText = await readOptional(indexPath, MAX_INDEX_BYTES);
    if (indexText === undefined) {
      if (!options.create)
        throw new ChartproofError('INVALID_MANIFEST', `${indexPath} is missing: the layout is incomplete`);
      await this.#save();
      return;
    }
    const entries = parseLayoutIndex(indexText, indexPath);
    this.#indexAnnotations = entries.annotations;
    for (const entry of entries.manifests) {
      const { [REF_NAME]: ref, ...rest } = entry.annotations ?? {};
      const plain = toDescriptor(entry);
      if (Object.keys(rest).length > 0) plain.annotations = rest;
      else delete plain.annotations;
      if (ref !== undefined && ref !== '') this.#tags.set(ref, plain);
      else this.#untagged.set(plain.digest, plain);
    }
    this.#saved = this.#serialize();
    const seen = new Set<string>();
    for (const entry of entries.manifests) await this.#indexFromDisk(entry, seen, options.signal);
  }

  /** Reads a manifest from disk and indexes it (and an index's children); skips what cannot be read. */
  async #indexFromDisk(desc: Descriptor, seen: Set<string>, signal?: AbortSignal): Promise<void> {
    if (!isManifestMediaType(desc.mediaType) || seen.has(desc.digest)) return;
    seen.add(desc.digest);
    signal?.throwIfAborted();
    let bytes: Uint8Array;
    try {
      bytes = await readAll(await this.fetch(desc), MAX_MANIFEST_BYTES);
    } catch {
      return; // missing or damaged: fetch reports it when someone asks for it
    }
    const children = this.#indexManifest(desc, bytes);
    for (const child of children) await this.#indexFromDisk(child, seen, signal);
  }

  /** Records a verified manifest and its subject; returns an index's valid child descriptors. */
  #indexManifest(desc: Descriptor, bytes: Uint8Array): Descriptor[] {
    const plain = plainDescriptor(desc);
    this.#manifests.set(desc.digest, plain);
    const parsed = parseJsonObject(bytes);
    if (!parsed) return [];
    const subject = parsed.subject as Descriptor | undefined;
    if (subject && typeof subject.digest === 'string' && isDigest(subject.digest)) {
      const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
      const config = parsed.config as Descriptor | undefined;
      const artifactType = (parsed.artifactType as string | undefined) ?? config?.mediaType;
      if (typeof artifactType === 'string') entry.artifactType = artifactType;
      const annotations = parsed.annotations as Record<string, string> | undefined;
      if (annotations && typeof annotations === 'object' && Object.keys(annotations).length > 0)
        entry.annotations = annotations;
      const set = this.#referrers.get(subject.digest) ?? new Map<string, Descriptor>();
      this.#referrers.set(subject.digest, set);
      set.set(desc.digest, entry);
    }
    if (!isIndexMediaType(desc.mediaType) || !Array.isArray(parsed.manifests)) return [];
    return parsed.manifests.filter(isValidDescriptor);
  }

  /**
   * Refuses a blob path whose directories (`blobs/`, `blobs/<alg>/`) are not real
   * directories or whose file is not a regular file (by `lstat`: links not followed).
   * A missing file is left to `open` (`NOT_FOUND`).
   */
  async #checkBlobPath(digest: string, path: string): Promise<void> {
    const { algorithm } = parseDigest(digest);
    const checks: Array<[string, 'dir' | 'file']> = [
      [join(this.dir, 'blobs'), 'dir'],
      [join(this.dir, 'blobs', algorithm), 'dir'],
      [path, 'file'],
    ];
    for (const [p, want] of checks) {
      let st: Stats;
      try {
        st = await lstat(p);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw ioError(`cannot stat ${p}`, e);
      }
      if (want === 'dir' ? st.isDirectory() : st.isFile()) continue;
      throw new ChartproofError(
        'INVALID_MANIFEST',
        `${digest}: ${p} is ${describeFileType(st)}, not a ${want === 'dir' ? 'directory' : 'regular file'}`,
      );
    }
  }

  /** Path of a blob; the digest is validated first so the path stays inside `blobs/`. */
  #blobPath(digest: string): string {
    const { algorithm, encoded } = parseDigest(digest);
    return join(this.dir, 'blobs', algorithm, encoded);
  }

  /**
   * Streams a blob or manifest, verified against `desc` (the error arrives with the
   * last chunk). Only regular files are opened: a symbolic link, FIFO, socket or device
   * where a blob should be (or in place of `blobs/` or `blobs/<alg>/`) is refused
   * before anything is opened, so a hostile layout cannot make a read block or escape.
   * @throws ChartproofError `INVALID_DIGEST`, `NOT_FOUND`, `INVALID_MANIFEST` (not a
   *   regular file), `SIZE_MISMATCH` (file size differs), `IO`; the stream fails with
   *   `DIGEST_MISMATCH`
   */
  async fetch(desc: Descriptor, options: CallOptions = {}): Promise<ReadableStream<Uint8Array>> {
    options.signal?.throwIfAborted();
    const path = this.#blobPath(desc.digest);
    await this.#checkBlobPath(desc.digest, path);
    let handle: FileHandle;
    try {
      // O_NONBLOCK: should the file be swapped for a FIFO after the check, open returns.
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | (constants.O_NONBLOCK ?? 0));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR')
        throw new ChartproofError('NOT_FOUND', `${desc.digest}: not found in ${this.dir}`);
      throw ioError(`cannot read ${path}`, e);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile())
        throw new ChartproofError('INVALID_MANIFEST', `${desc.digest}: not a regular file in ${this.dir}`);
      if (st.size !== desc.size)
        throw new DigestMismatchError(
          'SIZE_MISMATCH',
          desc.digest,
          undefined,
          `blob ${desc.digest} in ${this.dir} has ${st.size} bytes, expected ${desc.size}`,
        );
    } catch (e) {
      await handle.close().catch(() => {});
      if (e instanceof ChartproofError) throw e;
      throw ioError(`cannot read ${path}`, e);
    }
    const web = Readable.toWeb(handle.createReadStream({ autoClose: true })) as ReadableStream<Uint8Array>;
    return verifyStream(web, desc);
  }

  /**
   * True when the blob file exists with the expected size. A manifest present only as
   * a blob (left by an interrupted write) counts as absent, so that {@link copy} pushes
   * it again and it gets recorded in `index.json`.
   * @throws ChartproofError `INVALID_DIGEST`, `IO`
   */
  async exists(desc: Descriptor, options: CallOptions = {}): Promise<boolean> {
    options.signal?.throwIfAborted();
    if (!(await this.#fileMatches(desc))) return false;
    return !isManifestMediaType(desc.mediaType) || this.#manifests.has(desc.digest);
  }

  async #fileMatches(desc: Descriptor): Promise<boolean> {
    const path = this.#blobPath(desc.digest);
    try {
      const st = await lstat(path);
      return st.isFile() && st.size === desc.size;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw ioError(`cannot stat ${path}`, e);
    }
  }

  /**
   * Stores content verified against `expected`. A blob file already present with the
   * right size is kept (not rewritten). Manifests are recorded in `index.json` and
   * indexed for referrers.
   * @throws ChartproofError `INVALID_DIGEST`, `INVALID_ARGUMENT`, `DIGEST_MISMATCH`,
   *   `SIZE_MISMATCH`, `TRAILING_DATA`, `SIZE_LIMIT_EXCEEDED` (manifests over 4 MiB), `IO`
   */
  async push(
    expected: Descriptor,
    content: ReadableStream<Uint8Array> | Uint8Array,
    options: CallOptions = {},
  ): Promise<void> {
    const cancel = () => {
      if (!(content instanceof Uint8Array)) content.cancel().catch(() => {});
    };
    try {
      options.signal?.throwIfAborted();
      this.#blobPath(expected.digest);
      if (!Number.isSafeInteger(expected.size) || expected.size < 0)
        throw new ChartproofError('INVALID_ARGUMENT', `invalid size ${expected.size} for ${expected.digest}`);
    } catch (e) {
      cancel();
      throw e;
    }
    if (!isManifestMediaType(expected.mediaType)) {
      if (await this.#fileMatches(expected)) {
        cancel();
        return;
      }
      await this.#writeBlob(expected, content, options.signal);
      return;
    }
    const data =
      content instanceof Uint8Array
        ? content
        : await readAll(verifyStream(content, expected), Math.min(expected.size, MAX_MANIFEST_BYTES));
    verifyBytes(data, expected);
    if (!(await this.#fileMatches(expected))) await this.#writeBlob(expected, data, options.signal);
    this.#indexManifest(expected, data);
    if (!this.#untagged.has(expected.digest)) this.#untagged.set(expected.digest, plainDescriptor(expected));
    await this.#save();
  }

  /** Streams content into `ingest/`, verifying it, then renames it to its digest. */
  async #writeBlob(
    desc: Descriptor,
    content: ReadableStream<Uint8Array> | Uint8Array,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const target = this.#blobPath(desc.digest);
    const { encoded } = parseDigest(desc.digest);
    const ingest = join(this.dir, 'ingest');
    const tmp = join(ingest, `${encoded}_${randomBytes(6).toString('hex')}`);
    const reader = verifyStream(
      content instanceof Uint8Array ? streamOf(content) : content,
      desc,
    ).getReader();
    let handle: FileHandle | undefined;
    try {
      await mkdir(ingest, { recursive: true, mode: 0o755 });
      await mkdir(join(target, '..'), { recursive: true, mode: 0o755 });
      handle = await open(tmp, 'wx', 0o644);
      for (;;) {
        signal?.throwIfAborted();
        const { done, value } = await reader.read();
        if (done) break;
        for (let off = 0; off < value.byteLength; ) {
          off += (await handle.write(value, off, value.byteLength - off)).bytesWritten;
        }
      }
      await handle.sync();
      await handle.close();
      handle = undefined;
      signal?.throwIfAborted();
      await rename(tmp, target);
    } catch (e) {
      reader.cancel(e).catch(() => {});
      await handle?.close().catch(() => {});
      await rm(tmp, { force: true }).catch(() => {});
      if (e instanceof ChartproofError || (signal?.aborted && e === signal.reason)) throw e;
      throw ioError(`cannot write ${target}`, e);
    }
  }

  /**
   * Resolves a tag (`index.json` ref.name), a digest, or `name:tag` / `name@digest`
   * (the name is ignored: a layout holds one repository's tags). A digest of a manifest
   * stored only as a blob resolves with the media type read from the manifest.
   * @throws ChartproofError `NOT_FOUND`
   */
  async resolve(reference: string, options: CallOptions = {}): Promise<Descriptor> {
    options.signal?.throwIfAborted();
    const tagged = this.#tags.get(reference);
    if (tagged) return { ...tagged };
    if (isDigest(reference)) {
      const known = this.#manifests.get(reference) ?? this.#untagged.get(reference);
      if (known) return { ...known };
      const found = await this.#sniff(reference);
      if (found) return found;
    } else {
      const at = reference.lastIndexOf('@');
      if (at > 0) return this.resolve(reference.slice(at + 1), options);
      const colon = reference.lastIndexOf(':');
      if (colon > reference.lastIndexOf('/') && colon > 0) {
        const byTag = this.#tags.get(reference.slice(colon + 1));
        if (byTag) return byTag;
      }
    }
    throw new ChartproofError('NOT_FOUND', `${reference}: not found in ${this.dir}`);
  }

  /** Describes a blob file by digest: a manifest's own `mediaType`, else octet-stream. */
  async #sniff(digest: string): Promise<Descriptor | undefined> {
    let size: number;
    try {
      const st = await lstat(this.#blobPath(digest));
      if (!st.isFile()) return undefined;
      size = st.size;
    } catch {
      return undefined;
    }
    const desc: Descriptor = {
      mediaType: 'application/octet-stream',
      digest: digest as Descriptor['digest'],
      size,
    };
    if (size <= MAX_MANIFEST_BYTES) {
      const bytes = await readAll(await this.fetch(desc), MAX_MANIFEST_BYTES);
      const mediaType = parseJsonObject(bytes)?.mediaType;
      if (typeof mediaType === 'string' && isManifestMediaType(mediaType)) desc.mediaType = mediaType;
    }
    return desc;
  }

  /**
   * Points `reference` at stored content and rewrites `index.json`.
   * @throws ChartproofError `INVALID_REFERENCE`, `INVALID_DIGEST`, `NOT_FOUND`, `IO`
   */
  async tag(desc: Descriptor, reference: string, options: CallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    if (!isValidTag(reference))
      throw new ChartproofError('INVALID_REFERENCE', `invalid tag ${JSON.stringify(reference)}`);
    if (!(await this.#fileMatches(desc)))
      throw new ChartproofError('NOT_FOUND', `${desc.digest}: cannot tag missing content`);
    if (isManifestMediaType(desc.mediaType) && !this.#manifests.has(desc.digest))
      await this.#indexFromDisk(desc, new Set(), options.signal);
    this.#tags.set(reference, this.#manifests.get(desc.digest) ?? plainDescriptor(desc));
    await this.#save();
  }

  /** Tags (`index.json` ref.name annotations), sorted. */
  async tags(options: CallOptions = {}): Promise<string[]> {
    options.signal?.throwIfAborted();
    return [...this.#tags.keys()].sort();
  }

  /**
   * Manifests of the layout whose `subject` is `subject`: those reachable from
   * `index.json` when it was opened, and those pushed since.
   * @throws ChartproofError `INVALID_DIGEST`
   */
  async referrers(subject: Descriptor, options: ReferrersOptions = {}): Promise<Descriptor[]> {
    options.signal?.throwIfAborted();
    parseDigest(subject.digest);
    const found = [...(this.#referrers.get(subject.digest)?.values() ?? [])];
    return options.artifactType === undefined
      ? found
      : found.filter((d) => d.artifactType === options.artifactType);
  }

  /** `index.json` as we write it: tagged entries, then untagged manifests not tagged. */
  #serialize(): string {
    return formatLayoutIndex(this.#tags, this.#untagged, this.#indexAnnotations);
  }

  /** Writes `index.json` atomically when it changed; writes are serialised. */
  #save(): Promise<void> {
    const run = async () => {
      const text = this.#serialize();
      if (text === this.#saved) return;
      await writeFileAtomic(join(this.dir, 'index.json'), text, 0o644, { dirMode: 0o755 });
      this.#saved = text;
    };
    const p = this.#saving.then(run, run);
    this.#saving = p.catch(() => {});
    return p;
  }
}

/** Reads a small file, or undefined when it does not exist. */
async function readOptional(path: string, limit: number): Promise<Uint8Array | undefined> {
  try {
    const st = await lstat(path);
    if (!st.isFile()) throw new ChartproofError('INVALID_MANIFEST', `${path} is not a regular file`);
    if (st.size > limit) throw new ChartproofError('INVALID_MANIFEST', `${path} exceeds ${limit} bytes`);
    // Not following links, and not blocking should a FIFO replace the file meanwhile.
    return await readFile(path, {
      flag: constants.O_RDONLY | constants.O_NOFOLLOW | (constants.O_NONBLOCK ?? 0),
    });
  } catch (e) {
    if (e instanceof ChartproofError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw ioError(`cannot read ${path}`, e);
  }
}

/** What a non-regular file is, for messages. */
function describeFileType(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a directory';
  return 'a special file';
}

function ioError(message: string, cause: unknown): ChartproofError {
  return new ChartproofError('IO', `${message}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}
