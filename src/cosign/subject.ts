/**
 * The subject of a signature or attestation: the manifest it is about, resolved the
 * way cosign resolves it. One home for signing (which needs the whole descriptor and
 * requires the subject to exist) and verification (which needs only the digest).
 */
import { ChartproofError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, isDigest } from '../oci/digest.js';
import { isManifestMediaType } from '../oci/media-types.js';
import type { Resolver } from '../oci/target.js';

/**
 * The descriptor of the manifest to sign: a descriptor is checked and trusted as
 * given; a tag or digest is resolved with HEAD (it must exist, as cosign requires).
 * @throws ChartproofError `INVALID_ARGUMENT` for a descriptor that is not a manifest
 *   descriptor; registry errors (`MANIFEST_UNKNOWN` for a missing subject)
 */
export async function resolveSubject(
  target: Resolver,
  subject: Descriptor | string,
  signal: AbortSignal | undefined,
): Promise<Descriptor> {
  if (typeof subject !== 'string') {
    checkSubject(subject);
    return { mediaType: subject.mediaType, size: subject.size, digest: subject.digest };
  }
  // cosign resolves the subject with HEAD (and fails when it does not exist).
  const desc = await target.resolve(subject, { signal });
  return { mediaType: desc.mediaType, size: desc.size, digest: desc.digest };
}

/**
 * The digest whose signatures are looked up: a digest is taken as given (no request),
 * a tag is resolved, a descriptor must carry a valid digest.
 * @throws ChartproofError `INVALID_ARGUMENT` for a descriptor without a valid digest;
 *   registry errors when a tag does not resolve
 */
export async function resolveSubjectDigest(
  target: Resolver,
  subject: Digest | string | Descriptor,
  signal: AbortSignal | undefined,
): Promise<Digest> {
  if (typeof subject === 'string') {
    if (isDigest(subject)) return subject;
    return (await target.resolve(subject, { signal })).digest;
  }
  if (!subject || typeof subject.digest !== 'string' || !isDigest(subject.digest))
    throw new ChartproofError('INVALID_ARGUMENT', 'subject descriptor has no valid digest');
  return subject.digest;
}

/** Throws unless `subject` is a manifest descriptor with mediaType, digest and size. */
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
