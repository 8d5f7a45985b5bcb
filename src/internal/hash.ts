/**
 * sha256 of bytes as lowercase hex (Helm's `index.yaml` and `.prov` digests, Rekor
 * payload hashes). The `sha256:<hex>` form is `digestOf` in `oci/digest.ts`.
 *
 * Internal: never exported from the public entry points.
 */
import { createHash } from 'node:crypto';

/** Lowercase hex sha256 of `data` (a string is hashed as UTF-8). */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
