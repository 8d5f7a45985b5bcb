/**
 * The images of an air-gapped mirror (spec `images`): export writes each image a chart
 * deploys (whole index, every platform, with its upstream signatures, referrers and
 * cosign tags) into one OCI image layout per image repository; import verifies each one
 * again in a quarantine (every manifest and blob against its digest, upstream
 * signatures with the spec's `images.verify`) before copying it into the target.
 */
import { constants } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChartproofError, CopyError, isChartproofError } from '../errors.js';
import { messageOf as message } from '../internal/guards.js';
import { mapLimit } from '../internal/map-limit.js';
import type { Signer } from '../keys/signer.js';
import { type BlobMountCache, copy } from '../oci/copy.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { OciLayout } from '../oci/layout.js';
import {
  formatLayoutIndex,
  MAX_INDEX_BYTES,
  parseLayoutIndex,
  plainDescriptor,
  REF_NAME,
} from '../oci/layout-index.js';
import { writeFileAtomic } from '../fs.js';
import { manifestProblem, parseManifestJson } from '../oci/manifest.js';
import { isManifestMediaType } from '../oci/media-types.js';
import { MemoryStore } from '../oci/memory-store.js';
import type {
  CallOptions,
  FetchedManifest,
  ManifestFetcher,
  Named,
  ReferrerLister,
  ReferrersOptions,
  TagLister,
  Target,
} from '../oci/target.js';
import { MAX_MANIFEST_BYTES, readAll, streamOf, verifyStream } from '../oci/verify.js';
import { normalizeImage } from '../workloads/images.js';
import type { AirgapEntry, AirgapImage } from './airgap.js';
import {
  chartImageOverlay,
  type MirrorImageItem,
  type MirrorImageResult,
  type MirrorOverlay,
  type SignAndTag,
} from './images.js';
import type { MirrorOptions, MirrorPlanItem, MirrorVerification } from './plan.js';
import { verifyPolicy } from './policy.js';
import type { MirrorChart, MirrorImages, MirrorSpec } from './spec.js';

/** Directory of the image layouts inside an export. */
const IMAGES_DIR = 'images';

/**
 * The layout directory of an image repository, relative to the export:
 * `images/<registry>/<repository>` of the upstream reference, with every character of
 * the registry other than letters, digits, `.` and `-` (a port's `:`) written `_`
 * (a host name has no `_`, so two registries never share a directory).
 * @internal
 */
export function imageLayoutPath(source: string): string {
  const img = normalizeImage(source);
  return `${IMAGES_DIR}/${img.registry.replace(/[^A-Za-z0-9.-]/g, '_')}/${img.repository}`;
}

/** The open image layouts of one export, one instance per directory (one writer each). */
export type ImageLayouts = Map<string, Promise<OciLayout>>;

function openLayout(
  layouts: ImageLayouts,
  dir: string,
  path: string,
  signal?: AbortSignal,
): Promise<OciLayout> {
  let open = layouts.get(path);
  if (!open) {
    open = OciLayout.open(join(dir, path), { create: true, ...(signal ? { signal } : {}) });
    layouts.set(path, open);
    open.catch(() => layouts.delete(path));
  }
  return open;
}

/**
 * Rewrites a layout's `index.json` in a canonical order (tags by name, then untagged
 * manifests by digest), once every write into it is done. {@link copy} pushes an
 * index's platform manifests and the referrers concurrently, so the order in which the
 * layout recorded them varies from run to run; sorted, the same export gives the same
 * bytes. The content (which manifests, which tags) is unchanged.
 * @internal
 */
export async function canonicalizeLayoutIndex(layoutDir: string): Promise<void> {
  const path = join(layoutDir, 'index.json');
  let text: Buffer;
  try {
    text = await readFile(path, {
      flag: constants.O_RDONLY | constants.O_NOFOLLOW | (constants.O_NONBLOCK ?? 0),
    });
  } catch (e) {
    throw new ChartproofError('IO', `cannot read ${path}: ${message(e)}`, { cause: e });
  }
  if (text.byteLength > MAX_INDEX_BYTES)
    throw new ChartproofError('INVALID_MANIFEST', `${path} exceeds ${MAX_INDEX_BYTES} bytes`);
  const parsed = parseLayoutIndex(text, path);
  const tags = new Map<string, Descriptor>();
  const untagged = new Map<string, Descriptor>();
  for (const d of parsed.manifests) {
    const ref = d.annotations?.[REF_NAME];
    if (ref !== undefined && ref !== '') tags.set(ref, plainDescriptor(d));
    else untagged.set(d.digest, plainDescriptor(d));
  }
  const byKey = <T>(m: Map<string, T>) => new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const out = formatLayoutIndex(byKey(tags), byKey(untagged), parsed.annotations);
  if (out !== text.toString('utf8')) await writeFileAtomic(path, out, 0o644, { dirMode: 0o755 });
}

/**
 * Writes the planned images of a chart version into their layouts: each whole (index,
 * every platform), with every referrer and cosign tag upstream has (whatever the spec's
 * `carrySignatures`: import verifies them again and decides), tagged with its source tag.
 * Returns one result per image and, when all were written, the manifest entries.
 * @internal
 */
export async function exportChartImages(
  item: MirrorPlanItem,
  settings: MirrorImages,
  dir: string,
  layouts: ImageLayouts,
  options: MirrorOptions,
): Promise<{ results: MirrorImageResult[]; entries?: AirgapImage[] }> {
  const { client, signal } = options;
  const done = await mapLimit(item.images ?? [], settings.concurrency ?? 2, async (img) => {
    const result: MirrorImageResult = {
      source: img.source,
      target: img.target,
      status: 'failed',
      signaturesCarried: 0,
    };
    if (img.verification) result.verification = img.verification;
    let entry: AirgapImage | undefined;
    try {
      if (img.action !== 'copy' || img.digest === undefined)
        throw new ChartproofError(
          'INVALID_ARGUMENT',
          `not exportable (${img.action}): ${img.reason ?? 'no digest'}`,
        );
      const src = normalizeImage(img.source);
      const path = imageLayoutPath(img.source);
      const layout = await openLayout(layouts, dir, path, signal);
      const copied = await copy(
        client.repository(`${src.registry}/${src.repository}`),
        img.digest,
        layout,
        undefined,
        {
          tags: src.tag !== undefined ? [src.tag] : [],
          referrers: true,
          cosignTags: true,
          ...(signal ? { signal } : {}),
        },
      );
      const signatures = copied.referrers.length + copied.cosignTags.length;
      entry = {
        source: img.source,
        target: img.target,
        digest: copied.descriptor.digest,
        layout: path,
        signatures,
      };
      if (src.tag !== undefined) entry.tag = src.tag;
      if (img.mediaType) entry.mediaType = img.mediaType;
      if (img.verification) entry.verification = img.verification;
      result.status = 'copied';
      result.digest = copied.descriptor.digest;
      result.pinned = `${img.target.replace(/[:@][^/]*$/, '')}@${copied.descriptor.digest}`;
      result.signaturesCarried = signatures;
      options.onEvent?.({ name: item.name, version: item.version, step: 'image', detail: img.source });
    } catch (e) {
      signal?.throwIfAborted();
      result.reason = message(e);
    }
    return { result, entry };
  });
  const results = done.map((d) => d.result);
  const entries = done.flatMap((d) => (d.entry ? [d.entry] : []));
  return entries.length === done.length ? { results, entries } : { results };
}

/**
 * One image's content verified in the air-gap quarantine. Manifests (the image, its
 * platforms, signatures and referrers: small) are kept in memory, checked as a
 * registry checks them; blobs (layers: large) are verified against their digest and
 * size as they stream from the layout, and not kept: copying out of the quarantine
 * reads them from the layout again, verified again on the way (and the target
 * registry checks each digest once more before it stores the blob).
 * @internal
 */
export class ImageQuarantine implements Target, ManifestFetcher, Named, ReferrerLister, TagLister {
  readonly #store: MemoryStore;
  readonly #layout: OciLayout;
  /** Verified blobs: digest → size. */
  readonly #blobs = new Map<string, number>();

  constructor(layout: OciLayout, name: string) {
    this.#layout = layout;
    this.#store = new MemoryStore({ name });
  }

  get name(): string {
    return this.#store.name;
  }

  pinned(digest: Digest): string {
    return this.#store.pinned(digest);
  }

  #has(digest: string): boolean {
    return this.#blobs.has(digest) || this.#store.describe(digest) !== undefined;
  }

  async push(
    expected: Descriptor,
    content: ReadableStream<Uint8Array> | Uint8Array,
    options: CallOptions = {},
  ): Promise<void> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (isManifestMediaType(expected.mediaType)) {
      const data =
        content instanceof Uint8Array
          ? content
          : await readAll(verifyStream(content, expected), MAX_MANIFEST_BYTES);
      const where = `${this.name}@${expected.digest}`;
      if (data.byteLength > MAX_MANIFEST_BYTES)
        throw new ChartproofError(
          'SIZE_LIMIT_EXCEEDED',
          `${where}: manifest exceeds ${MAX_MANIFEST_BYTES} bytes`,
        );
      // As a registry (and the chart quarantine) checks it: valid JSON, consistent media
      // type, every referenced manifest and blob already verified here.
      const problem = manifestProblem(parseManifestJson(data, where), expected.mediaType, (d) =>
        this.#has(d),
      );
      if (problem) throw new ChartproofError('INVALID_MANIFEST', `${where}: ${problem}`);
      await this.#store.push(expected, data, options);
      return;
    }
    const reader = verifyStream(
      content instanceof Uint8Array ? streamOf(content) : content,
      expected,
    ).getReader();
    try {
      for (;;) {
        signal?.throwIfAborted();
        if ((await reader.read()).done) break;
      }
    } catch (e) {
      reader.cancel(e).catch(() => {});
      throw e;
    }
    this.#blobs.set(expected.digest, expected.size);
  }

  async exists(desc: Descriptor, options: CallOptions = {}): Promise<boolean> {
    options.signal?.throwIfAborted();
    return this.#blobs.get(desc.digest) === desc.size || this.#store.exists(desc, options);
  }

  async fetch(desc: Descriptor, options: CallOptions = {}): Promise<ReadableStream<Uint8Array>> {
    if (this.#store.describe(desc.digest)) return this.#store.fetch(desc, options);
    if (this.#blobs.get(desc.digest) !== desc.size)
      throw new ChartproofError('NOT_FOUND', `${desc.digest}: not in the quarantine`);
    return this.#layout.fetch(desc, options);
  }

  fetchManifest(reference: string, options?: CallOptions): Promise<FetchedManifest> {
    return this.#store.fetchManifest(reference, options);
  }

  resolve(reference: string, options?: CallOptions): Promise<Descriptor> {
    return this.#store.resolve(reference, options);
  }

  tag(desc: Descriptor, reference: string, options?: CallOptions): Promise<void> {
    return this.#store.tag(desc, reference, options);
  }

  tags(options?: CallOptions): Promise<string[]> {
    return this.#store.tags(options);
  }

  referrers(subject: Descriptor, options?: ReferrersOptions): Promise<Descriptor[]> {
    return this.#store.referrers(subject, options);
  }
}

/** An image of the chart verified for import (or already at the target). */
export interface ImportedImage {
  item: MirrorImageItem;
  /** `copy` items: the verified content. */
  quarantine?: ImageQuarantine;
}

/**
 * What {@link checkImportImages} found: the overlay and each image, or why not (`failed`:
 * an image failed, e.g. the target could not be read, rather than being refused).
 */
export type ImageCheck =
  | { overlay: MirrorOverlay; images: ImportedImage[] }
  | { refuse: string; failed?: boolean; overlay?: MirrorOverlay; images?: MirrorImageResult[] };

/**
 * Opens the OCI layout at `rel` (`web`, `images/<registry>/<repository>`) under an
 * import directory, refusing a symbolic link or a file on the way: a directory export
 * is hostile (a tar export has no links), and the layout's own files are checked by
 * {@link OciLayout}. `INVALID_MANIFEST` for a link.
 * @internal
 */
export async function openImportLayout(dir: string, rel: string, signal?: AbortSignal): Promise<OciLayout> {
  let at = dir;
  for (const part of rel.split('/').filter((p) => p !== '')) {
    at = join(at, part);
    const st = await lstat(at).catch(() => undefined);
    if (st === undefined) break; // missing: OciLayout.open says so
    if (st.isSymbolicLink() || !st.isDirectory())
      throw new ChartproofError('INVALID_MANIFEST', `${at} is not a directory (a symbolic link or a file)`);
  }
  return OciLayout.open(join(dir, rel), signal ? { signal } : {});
}

function splitRef(ref: string): { repository: string; tag?: string } {
  const img = normalizeImage(ref);
  return {
    repository: `${img.registry}/${img.repository}`,
    ...(img.tag !== undefined ? { tag: img.tag } : {}),
  };
}

/**
 * The import side of a chart version's images, before anything is written: the
 * overlay is computed again from the verified chart and the importing spec (never taken
 * from the export file), then each image it names must be in the export; an image the
 * target already holds under its tag (same digest) is skipped, another digest there
 * refuses; the others are copied from their layout into a quarantine (every manifest
 * and blob verified) and their upstream signatures verified with `images.verify`.
 * Any refusal refuses the chart version, any failure fails it. `claims` (one map per
 * import run) holds the digest each internal image tag is written with in this run.
 * @internal
 */
export async function checkImportImages(
  entry: AirgapEntry,
  chart: MirrorChart,
  settings: MirrorImages,
  archive: Uint8Array,
  dir: string,
  spec: MirrorSpec,
  quarantineName: string,
  options: MirrorOptions,
  claims: Map<string, string> = new Map(),
): Promise<ImageCheck> {
  const { client, signal } = options;
  if (entry.images === undefined)
    return { refuse: 'the spec mirrors this chart’s images, the export has none (exported without images)' };
  const built = await chartImageOverlay(
    archive,
    spec,
    chart,
    settings,
    `${entry.name}-${entry.version}`,
    signal,
  );
  if ('refuse' in built) return built;
  const overlay: MirrorOverlay = built.overlay;
  const policy = await verifyPolicy(settings.verify);
  const required = settings.verify?.required ?? true;
  const layouts = new Map<string, Promise<OciLayout>>();
  const checked = await mapLimit(built.images, settings.concurrency ?? 2, async (m) => {
    const item: MirrorImageItem = { source: m.source, target: m.target, action: 'refuse' };
    const out: ImportedImage = { item };
    const exported = entry.images!.find((i) => i.source === m.source);
    if (!exported) {
      item.reason = 'not in the export';
      return out;
    }
    item.digest = exported.digest;
    if (exported.mediaType) item.mediaType = exported.mediaType;
    try {
      const pinned = normalizeImage(m.source).digest;
      if (pinned !== undefined && pinned !== exported.digest) {
        item.reason = `the chart pins ${pinned}, the export holds ${exported.digest}`;
        return out;
      }
      // The target first: an image already there (same digest) needs nothing from the export.
      const dst = splitRef(m.target);
      const dstRepo = client.repository(dst.repository);
      if (dst.tag !== undefined) {
        let current: string | undefined;
        try {
          current = (await dstRepo.resolve(dst.tag, { signal })).digest;
        } catch (e) {
          if (!isChartproofError(e) || !['NOT_FOUND', 'MANIFEST_UNKNOWN', 'NAME_UNKNOWN'].includes(e.code))
            throw e;
        }
        if (current !== undefined && current !== exported.digest) {
          item.targetDigest = current;
          item.reason = `the internal tag names ${current}, the export ${exported.digest}: not overwritten`;
          return out;
        }
        if (current !== undefined) {
          item.targetDigest = current;
          item.action = 'skip';
          item.reason = 'the target already has this digest';
          return out;
        }
        // Charts are imported side by side: one that found the tag absent as well, with
        // another digest for it in the export, must not overwrite this one's (or the
        // reverse). The first to get here claims the tag for its digest.
        const claim = `${dst.repository}:${dst.tag}`;
        const claimed = claims.get(claim);
        if (claimed !== undefined && claimed !== exported.digest) {
          item.reason = `another chart of this import writes ${m.target} as ${claimed}, the export ${exported.digest}: not overwritten`;
          return out;
        }
        claims.set(claim, exported.digest);
      } else {
        try {
          const there = await dstRepo.resolve(exported.digest, { signal });
          if (there.digest === exported.digest) {
            item.action = 'skip';
            item.reason = 'the target already has this digest';
            return out;
          }
        } catch (e) {
          if (!isChartproofError(e) || !['NOT_FOUND', 'MANIFEST_UNKNOWN', 'NAME_UNKNOWN'].includes(e.code))
            throw e;
        }
      }
      const q = await quarantineImage(exported, m.source, dir, layouts, quarantineName, signal);
      if ('refuse' in q) {
        item.reason = q.refuse;
        return out;
      }
      if (policy) {
        try {
          const { verifyChart } = await import('../verify/chart.js');
          const r = await verifyChart(q.quarantine, q.quarantine.pinned(exported.digest as Digest), {
            policy,
            ...(signal ? { signal } : {}),
          });
          item.verification = { method: 'cosign', verified: true, required, format: r.format };
        } catch (e) {
          if (!isChartproofError(e) || !['SIGNATURE_INVALID', 'SIGNATURE_NOT_FOUND'].includes(e.code))
            throw e;
          item.verification = { method: 'cosign', verified: false, required, reason: e.message };
          if (required) {
            item.reason = `upstream signature: ${e.message}`;
            return out;
          }
        }
      } else item.verification = { method: 'none', verified: false, required: false } as MirrorVerification;
      item.action = 'copy';
      out.quarantine = q.quarantine;
    } catch (e) {
      signal?.throwIfAborted();
      item.action = 'fail';
      item.reason = message(e);
    }
    return out;
  });
  const bad =
    checked.find((c) => c.item.action === 'fail') ?? checked.find((c) => c.item.action === 'refuse');
  if (bad) {
    const count = checked.filter((c) => c.item.action === 'fail' || c.item.action === 'refuse').length;
    return {
      refuse: `image ${bad.item.source}${count > 1 ? ` (and ${count - 1} more)` : ''}: ${bad.item.reason}`,
      // As in apply: an image that failed fails the chart version, one refused refuses it.
      failed: bad.item.action === 'fail',
      overlay,
      images: checked.map((c) => notCopied(c.item)),
    };
  }
  options.onEvent?.({
    name: entry.name,
    version: entry.version,
    step: 'images',
    detail: `${checked.length} image(s)`,
  });
  return { overlay, images: checked };
}

/** The result of an image that was not copied (skipped, or refused with the chart). */
function notCopied(item: MirrorImageItem): MirrorImageResult {
  const status = ({ copy: 'refused', skip: 'skipped', refuse: 'refused', fail: 'failed' } as const)[
    item.action
  ];
  const r: MirrorImageResult = { source: item.source, target: item.target, status, signaturesCarried: 0 };
  // A verified image not copied because another image refused the chart.
  if (item.action === 'copy') r.reason = 'not imported: another image of the chart was refused';
  else if (item.reason) r.reason = item.reason;
  if (item.verification) r.verification = item.verification;
  if (item.action === 'skip' && item.digest) r.digest = item.digest;
  return r;
}

/**
 * Whether a copy out of a layout failed because the layout could not be read (EIO,
 * EACCES: `IO` at the source): a failure to retry, not a damaged or tampered bundle.
 * @internal
 */
export function isLayoutReadError(e: unknown): boolean {
  const read = e instanceof CopyError && e.origin === 'source' ? e.cause : e;
  return read instanceof ChartproofError && read.code === 'IO';
}

/** Copies one exported image from its layout into a fresh quarantine, or says why not. */
async function quarantineImage(
  exported: AirgapImage,
  source: string,
  dir: string,
  layouts: Map<string, Promise<OciLayout>>,
  quarantineName: string,
  signal: AbortSignal | undefined,
): Promise<{ quarantine: ImageQuarantine } | { refuse: string }> {
  // The layout path comes from the (verified) chart's own image reference, never from
  // the export file, which only has to agree.
  const path = imageLayoutPath(source);
  if (exported.layout !== path) return { refuse: `layout ${JSON.stringify(exported.layout)} is not ${path}` };
  let layout: OciLayout;
  try {
    let open = layouts.get(path);
    if (!open) {
      open = openImportLayout(dir, path, signal);
      layouts.set(path, open);
    }
    layout = await open;
  } catch (e) {
    signal?.throwIfAborted();
    if (e instanceof ChartproofError && e.code !== 'IO')
      return { refuse: `the image layout is damaged or missing: ${e.message}` };
    throw e;
  }
  const q = new ImageQuarantine(layout, `${quarantineName}/${path.toLowerCase()}`);
  try {
    const root = await layout.resolve(exported.digest, signal ? { signal } : {});
    if (root.digest !== exported.digest)
      return { refuse: `the layout holds ${root.digest}, the export recorded ${exported.digest}` };
    await copy(layout, root.digest, q, undefined, {
      tags: [],
      referrers: true,
      cosignTags: true,
      ...(signal ? { signal } : {}),
    });
  } catch (e) {
    signal?.throwIfAborted();
    if (isLayoutReadError(e)) throw e;
    return { refuse: `the image layout is damaged or was tampered with: ${message(e)}` };
  }
  return { quarantine: q };
}

/**
 * Copies the verified images into the target, as apply copies them from upstream: each
 * whole, with its upstream signatures and referrers when `carrySignatures`, shared
 * blobs mounted through `mountCache`, signed (spec `sign`, unless `images.sign` is
 * false), tagged last.
 * @internal
 */
export async function copyImportImages(
  images: readonly ImportedImage[],
  at: { name: string; version: string },
  spec: MirrorSpec,
  settings: MirrorImages,
  signer: Signer | undefined,
  signAndTag: SignAndTag,
  mountCache: BlobMountCache,
  options: MirrorOptions,
): Promise<MirrorImageResult[]> {
  const { client, signal } = options;
  const carry = spec.carrySignatures ?? true;
  const sign = settings.sign === false ? undefined : signer;
  return mapLimit(images, settings.concurrency ?? 2, async ({ item, quarantine }) => {
    const result = notCopied(item);
    const dst = splitRef(item.target);
    const dstRepo = client.repository(dst.repository);
    if (item.action === 'skip' && item.digest) result.pinned = dstRepo.pinned(item.digest as Digest);
    if (item.action !== 'copy' || !quarantine) return result;
    delete result.reason;
    try {
      const copied = await copy(quarantine, item.digest!, dstRepo, undefined, {
        tags: sign || dst.tag === undefined ? [] : [dst.tag],
        referrers: carry,
        cosignTags: carry,
        mountCache,
        ...(signal ? { signal } : {}),
      });
      result.signaturesCarried = copied.referrers.length + copied.cosignTags.length;
      await signAndTag(dstRepo, copied.descriptor, dst.tag, sign, result, !sign);
      result.digest = copied.descriptor.digest;
      result.pinned = dstRepo.pinned(copied.descriptor.digest as Digest);
      result.status = 'copied';
      options.onEvent?.({ name: at.name, version: at.version, step: 'image', detail: result.pinned });
    } catch (e) {
      signal?.throwIfAborted();
      result.status = 'failed';
      result.reason = message(e);
    }
    return result;
  });
}
