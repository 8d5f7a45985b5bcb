/**
 * Sigstore bundle JSON as stored by cosign: media type versions and structural
 * parsing (checked by @sigstore/bundle), nothing signed or trusted here.
 *
 * References: sigstore protobuf-specs `sigstore_bundle.proto`, cosign
 * `specs/BUNDLE_SPEC.md`.
 */
import { bundleFromJSON } from '@sigstore/bundle';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import { MediaType } from '../oci/media-types.js';
import type { SigstoreBundleJson } from './dsse.js';

/** Largest bundle read by default (16 MiB): attestations may carry large predicates. @public */
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

/**
 * The version of a Sigstore bundle media type (`0.3` for
 * `application/vnd.dev.sigstore.bundle.v0.3+json` and
 * `application/vnd.dev.sigstore.bundle+json;version=0.3`), or undefined when it is not
 * a bundle media type.
 * @public
 */
export function bundleMediaTypeVersion(mediaType: string): string | undefined {
  const m =
    /^application\/vnd\.dev\.sigstore\.bundle(?:\.v(\d+\.\d+(?:\.\d+)?)\+json|\+json;\s*version=(\d+\.\d+(?:\.\d+)?))$/.exec(
      mediaType.trim(),
    );
  return m ? (m[1] ?? m[2]) : undefined;
}

/** True when bundle `version` (e.g. `0.3`, `0.3.1`) is at least `minimum`. @public */
export function isBundleVersionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/**
 * Parses bundle bytes: JSON object, a Sigstore bundle media type, and the structure
 * @sigstore/bundle requires for that version (`bundleFromJSON`).
 * @throws ChartproofError `SIGNATURE_INVALID` when the bytes are not a valid bundle,
 *   `SIZE_LIMIT_EXCEEDED` above `maxBytes` (default {@link MAX_BUNDLE_BYTES})
 * @public
 */
export function parseSigstoreBundle(
  bytes: Uint8Array,
  options: { maxBytes?: number } = {},
): { bundle: SigstoreBundleJson; version: string } {
  const max = options.maxBytes ?? MAX_BUNDLE_BYTES;
  if (bytes.byteLength > max)
    throw new ChartproofError('SIZE_LIMIT_EXCEEDED', `bundle of ${bytes.byteLength} bytes exceeds ${max}`);
  let value: unknown;
  try {
    value = parseJsonBounded(new TextDecoder('utf-8', { fatal: true }).decode(bytes), { what: 'bundle' });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    throw new ChartproofError('SIGNATURE_INVALID', 'bundle is not valid UTF-8 JSON', { cause: e });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ChartproofError('SIGNATURE_INVALID', 'bundle is not a JSON object');
  const mediaType = (value as { mediaType?: unknown }).mediaType;
  const version = typeof mediaType === 'string' ? bundleMediaTypeVersion(mediaType) : undefined;
  if (!version)
    throw new ChartproofError('SIGNATURE_INVALID', `unknown bundle mediaType ${JSON.stringify(mediaType)}`);
  try {
    bundleFromJSON(value);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ChartproofError('SIGNATURE_INVALID', `invalid bundle: ${why}`, { cause: e });
  }
  return { bundle: value as SigstoreBundleJson, version };
}

/** The media type `createDsseBundle` (chartproof/sign) writes. @public */
export const SIGSTORE_BUNDLE_V03_MEDIA_TYPE = MediaType.SigstoreBundleV03;
