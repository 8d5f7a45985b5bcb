/**
 * `index.json` of an OCI image layout: parsing and validation ({@link parseLayoutIndex}),
 * the form {@link OciLayout} writes ({@link formatLayoutIndex}), and the descriptor
 * helpers around the `org.opencontainers.image.ref.name` tag annotation.
 *
 * Internal to `layout.ts`; nothing here is exported from an entry point.
 */
import { ChartproofError } from '../errors.js';
import { assertJsonDepth } from '../internal/bounded-parse.js';
import { type Descriptor, toDescriptor } from './descriptor.js';
import { isDigest } from './digest.js';
import { MediaType } from './media-types.js';
import { parseJsonObject } from './memory-store.js';

/** The annotation holding a tag in `index.json`. @internal */
export const REF_NAME = 'org.opencontainers.image.ref.name';
/** Largest `index.json` read (16 MiB, tens of thousands of tags). @internal */
export const MAX_INDEX_BYTES = 16 * 1024 * 1024;

/**
 * `index.json` as {@link OciLayout} writes it: tagged entries, then untagged manifests
 * not tagged.
 * @internal
 */
export function formatLayoutIndex(
  tags: ReadonlyMap<string, Descriptor>,
  untagged: ReadonlyMap<string, Descriptor>,
  annotations: Record<string, string> | undefined,
): string {
  const manifests: Descriptor[] = [];
  const tagged = new Set<string>();
  for (const [ref, d] of tags) {
    manifests.push({ ...d, annotations: { ...d.annotations, [REF_NAME]: ref } });
    tagged.add(d.digest);
  }
  for (const d of untagged.values()) if (!tagged.has(d.digest)) manifests.push(d);
  const index: Record<string, unknown> = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
  if (annotations) index.annotations = annotations;
  return JSON.stringify(index);
}

/** A copy of `d` without the ref.name annotation (and without empty annotations). @internal */
export function plainDescriptor(d: Descriptor): Descriptor {
  const out = toDescriptor(d);
  if (out.annotations && REF_NAME in out.annotations) {
    const { [REF_NAME]: _ref, ...rest } = out.annotations;
    if (Object.keys(rest).length > 0) out.annotations = rest;
    else delete out.annotations;
  }
  return out;
}

/** True for a descriptor with a media type, a valid digest and a safe non-negative size. @internal */
export function isValidDescriptor(d: unknown): d is Descriptor {
  const v = d as Partial<Descriptor> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.mediaType === 'string' &&
    typeof v.digest === 'string' &&
    isDigest(v.digest) &&
    Number.isSafeInteger(v.size) &&
    (v.size as number) >= 0
  );
}

/** Parses `index.json`, refusing anything but an image index of valid descriptors. @internal */
export function parseLayoutIndex(
  text: Uint8Array,
  path: string,
): { manifests: Descriptor[]; annotations: Record<string, string> | undefined } {
  assertJsonDepth(new TextDecoder().decode(text), { what: path, source: 'local' });
  const v = parseJsonObject(text);
  if (!v) throw new ChartproofError('INVALID_MANIFEST', `${path} is not valid JSON (truncated or damaged?)`);
  if (v.schemaVersion !== 2 || !Array.isArray(v.manifests))
    throw new ChartproofError(
      'INVALID_MANIFEST',
      `${path} is not an OCI image index (schemaVersion 2, manifests)`,
    );
  if (v.mediaType !== undefined && v.mediaType !== MediaType.OciIndex)
    throw new ChartproofError('INVALID_MANIFEST', `${path} has media type ${JSON.stringify(v.mediaType)}`);
  for (const [i, d] of v.manifests.entries()) {
    if (!isValidDescriptor(d))
      throw new ChartproofError('INVALID_MANIFEST', `${path}: manifests[${i}] is not a valid descriptor`);
    if (d.annotations !== undefined && (typeof d.annotations !== 'object' || d.annotations === null))
      throw new ChartproofError('INVALID_MANIFEST', `${path}: manifests[${i}] has invalid annotations`);
  }
  const annotations =
    v.annotations && typeof v.annotations === 'object' && Object.keys(v.annotations).length > 0
      ? v.annotations
      : undefined;
  return { manifests: v.manifests, annotations };
}
