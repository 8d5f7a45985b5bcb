import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import type { Descriptor } from './descriptor.js';
import { isDigest } from './digest.js';
import { MediaType, stripParameters } from './media-types.js';

/** Parses manifest bytes as a JSON object with `schemaVersion` 2. @internal */
export function parseManifestJson(bytes: Uint8Array, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseJsonBounded(new TextDecoder('utf-8', { fatal: true }).decode(bytes), {
      what: `${where}: manifest`,
    });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    throw new ChartproofError('INVALID_MANIFEST', `${where}: manifest is not valid JSON`, { cause: e });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ChartproofError('INVALID_MANIFEST', `${where}: manifest is not a JSON object`);
  }
  const m = value as Record<string, unknown>;
  if (m.schemaVersion !== 2)
    throw new ChartproofError(
      'INVALID_MANIFEST',
      `${where}: unsupported schemaVersion ${String(m.schemaVersion)}`,
    );
  return m;
}

/**
 * Why a distribution registry would refuse to store `manifest` under `mediaType`, or
 * undefined: the `mediaType` field must agree, an index needs a `manifests` array, an
 * image manifest a `config` (and `layers`, if present, an array), every descriptor must
 * be valid, and what the manifest references must already be stored (`has`), except its
 * `subject` and foreign layers (with `urls`).
 * @internal
 */
export function manifestProblem(
  manifest: Record<string, unknown>,
  mediaType: string,
  has: (digest: string) => boolean,
): string | undefined {
  const declared = typeof manifest.mediaType === 'string' ? manifest.mediaType : undefined;
  if (declared !== undefined && declared !== mediaType)
    return `mediaType ${JSON.stringify(declared)} does not match ${mediaType}`;
  const refs: unknown[] = [];
  const type = stripParameters(mediaType);
  if (type === MediaType.OciIndex || type === MediaType.DockerManifestList) {
    if (!Array.isArray(manifest.manifests)) return 'an index needs a "manifests" array';
    refs.push(...manifest.manifests);
  } else if (type === MediaType.OciArtifactManifest) {
    if (manifest.blobs !== undefined && !Array.isArray(manifest.blobs)) return '"blobs" must be an array';
    refs.push(...((manifest.blobs as unknown[] | undefined) ?? []));
  } else {
    if (manifest.config === undefined) return 'an image manifest needs a "config"';
    if (manifest.layers !== undefined && !Array.isArray(manifest.layers)) return '"layers" must be an array';
    refs.push(manifest.config, ...((manifest.layers as unknown[] | undefined) ?? []));
  }
  if (manifest.subject !== undefined && !isDescriptorLike(manifest.subject))
    return '"subject" is not a valid descriptor';
  for (const ref of refs) {
    if (!isDescriptorLike(ref)) return `invalid descriptor ${JSON.stringify(ref)?.slice(0, 200)}`;
    if (Array.isArray(ref.urls) && ref.urls.length > 0) continue; // foreign layer
    if (!has(ref.digest)) return `manifest references unknown ${ref.digest}`;
  }
  return undefined;
}

function isDescriptorLike(v: unknown): v is Descriptor {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const d = v as Partial<Descriptor>;
  return (
    typeof d.mediaType === 'string' &&
    typeof d.digest === 'string' &&
    isDigest(d.digest) &&
    Number.isSafeInteger(d.size) &&
    (d.size as number) >= 0
  );
}
