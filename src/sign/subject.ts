/**
 * The signed subject of a signing call, as cosign resolves it.
 */
import { ChartproofError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { isDigest } from '../oci/digest.js';
import { isManifestMediaType } from '../oci/media-types.js';
import type { Repository } from '../oci/repository.js';

/**
 * The descriptor of the manifest to sign: a descriptor is checked and trusted as
 * given; a tag or digest is resolved with HEAD (it must exist, as cosign requires).
 * @throws ChartproofError `INVALID_ARGUMENT` for a descriptor that is not a manifest
 *   descriptor; registry errors (`MANIFEST_UNKNOWN` for a missing subject)
 * @internal
 */
export async function resolveSubject(
  repo: Repository,
  subject: Descriptor | string,
  signal: AbortSignal | undefined,
): Promise<Descriptor> {
  if (typeof subject !== 'string') {
    checkSubject(subject);
    return { mediaType: subject.mediaType, size: subject.size, digest: subject.digest };
  }
  // cosign resolves the subject with HEAD (and fails when it does not exist).
  const desc = await repo.resolve(subject, { signal });
  return { mediaType: desc.mediaType, size: desc.size, digest: desc.digest };
}

export function checkSubject(subject: Descriptor): void {
  if (
    !subject ||
    typeof subject.mediaType !== 'string' ||
    !isManifestMediaType(subject.mediaType) ||
    typeof subject.digest !== 'string' ||
    !isDigest(subject.digest) ||
    !Number.isSafeInteger(subject.size) ||
    subject.size <= 0
  ) {
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      'subject must be a manifest descriptor with mediaType, digest and size',
    );
  }
}
