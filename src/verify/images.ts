/**
 * Verification of the container images a chart runs: each image's cosign signatures
 * are checked with {@link verifyChart} (the same policy and checks as a chart: Sigstore
 * bundles as referrers, then legacy `sha256-<hex>.sig` tags), a few images at a time,
 * and each verified image is pinned to the digest that was checked.
 */
import { ChartproofError, type ErrorCode } from '../errors.js';
import type { RegistryClient } from '../oci/client.js';
import type { Digest } from '../oci/digest.js';
import {
  ChartVerificationError,
  type SignatureFormat,
  type VerifyChartOptions,
  verifyChart,
} from './chart.js';
import { policyThreshold, policyTlogMode } from './policy.js';

/**
 * The most unique image references {@link verifyImages} accepts in one call (the
 * bound chartproof puts on the images of one chart version, mirroring included).
 * @public
 */
export const MAX_IMAGES_PER_CHART = 500;

/** Images verified at once when {@link VerifyImagesOptions.concurrency} is unset. */
const DEFAULT_CONCURRENCY = 4;
const MAX_CONCURRENCY = 32;

/** "Does not exist" answers: the image is not there, which is a failed check, not an outage. */
const NOT_FOUND_CODES: ReadonlySet<ErrorCode> = new Set(['NOT_FOUND', 'MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);

/** Options of {@link verifyImages}: those of {@link verifyChart}, plus a concurrency. @public */
export interface VerifyImagesOptions extends VerifyChartOptions {
  /** Images verified at once, an integer from 1 to 32. If unset, 4 is used. */
  concurrency?: number;
}

/**
 * Why an image did not verify:
 * - `verification`: the answer is "no": no signature satisfied the policy
 *   (`SIGNATURE_NOT_FOUND`, `SIGNATURE_INVALID`), the image or its tag does not exist
 *   (`NOT_FOUND`, `MANIFEST_UNKNOWN`, `NAME_UNKNOWN`), or the reference is invalid
 *   (`INVALID_REFERENCE`);
 * - `registry`: there is no answer: the registry or the network failed (authentication,
 *   server errors, timeouts, malformed content…), or the policy could not be applied.
 * The CLI exits 3 when any image failed with `registry`, else 1.
 * @public
 */
export type ImageFailureKind = 'verification' | 'registry';

/** One image's outcome in {@link VerifyImagesResult}. @public */
export interface ImageVerification {
  /** The reference as given. */
  image: string;
  /** Whether a format's signatures satisfied the policy. */
  verified: boolean;
  /** `registry/repository@sha256:…` (verified images): run this, not the tag. */
  pinned?: string;
  /** The manifest (or index) digest that was verified. */
  digest?: Digest;
  /** The format whose signatures satisfied the policy (verified images). */
  format?: SignatureFormat;
  /** Why it did not verify (failed images). */
  error?: { code: ErrorCode; message: string };
  /** What kind of failure `error` is (failed images). */
  failure?: ImageFailureKind;
}

/** Outcome of {@link verifyImages}. @public */
export interface VerifyImagesResult {
  /** One entry per unique reference, sorted by code unit. */
  images: ImageVerification[];
  /** Images that verified. */
  verified: number;
  /** Images that did not. */
  failed: number;
  /** Failed images whose failure is `registry` (no answer rather than "no"). */
  registryFailures: number;
}

function failureKind(e: ChartproofError): ImageFailureKind {
  if (e instanceof ChartVerificationError) return 'verification';
  if (NOT_FOUND_CODES.has(e.code) || e.code === 'INVALID_REFERENCE') return 'verification';
  return 'registry';
}

async function verifyOne(
  client: RegistryClient,
  image: string,
  options: VerifyImagesOptions,
  signal: AbortSignal,
): Promise<ImageVerification> {
  try {
    const r = await verifyChart(client, image, {
      policy: options.policy,
      ...(options.formats ? { formats: options.formats } : {}),
      signal,
    });
    return { image, verified: true, pinned: r.pinned, digest: r.digest, format: r.format };
  } catch (e) {
    // Only chartproof's own errors are an image's outcome; a bug, or an abort, ends the call.
    if (!(e instanceof ChartproofError) || signal.aborted) throw e;
    return { image, verified: false, error: { code: e.code, message: e.message }, failure: failureKind(e) };
  }
}

/**
 * Verifies the cosign signatures of container images against `policy`, the way
 * {@link verifyChart} verifies a chart (Sigstore bundles attached as referrers, then
 * legacy `sha256-<hex>.sig` signatures; each reference resolved to a digest once), at
 * most `concurrency` images at a time. Duplicates are removed and the results come in
 * sorted reference order. A failure of one image is recorded in its entry (with its
 * {@link ImageFailureKind}), not thrown.
 *
 * `references` are image references as `listImages` (`chartproof/workloads`) normalises
 * them (`docker.io/library/nginx:1.29`, `ghcr.io/x/y@sha256:…`).
 *
 * @example
 * ```ts
 * const { images, failed } = await verifyImages(client, ['ghcr.io/acme/app:1.2'], {
 *   policy: { keys: [publicKeyPem], trustedRoot },
 * });
 * ```
 * @throws ChartproofError `SIZE_LIMIT_EXCEEDED` for more than
 *   {@link MAX_IMAGES_PER_CHART} unique references and `INVALID_ARGUMENT` for a bad
 *   `concurrency` or a policy that cannot be applied (threshold, tlog mode), all before
 *   any request; the signal's reason when aborted; errors
 *   that are not chartproof errors, as thrown
 * @public
 */
export async function verifyImages(
  client: RegistryClient,
  references: readonly string[],
  options: VerifyImagesOptions,
): Promise<VerifyImagesResult> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `concurrency must be an integer from 1 to ${MAX_CONCURRENCY}`,
    );
  // A policy that cannot be applied is the caller's error, not each image's (and not a
  // registry failure): it throws here, before any request.
  policyThreshold(options.policy);
  policyTlogMode(options.policy);
  const unique = [...new Set(references)].sort();
  if (unique.length > MAX_IMAGES_PER_CHART)
    throw new ChartproofError(
      'SIZE_LIMIT_EXCEEDED',
      `${unique.length} images to verify, more than ${MAX_IMAGES_PER_CHART}`,
    );
  options.signal?.throwIfAborted();

  // The first error that ends the call stops the other workers and their requests.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const images: ImageVerification[] = new Array(unique.length);
  let next = 0;
  let fatal: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (fatal === undefined) {
      const i = next++;
      if (i >= unique.length) return;
      try {
        signal.throwIfAborted();
        images[i] = await verifyOne(client, unique[i] as string, options, signal);
      } catch (e) {
        fatal ??= { error: options.signal?.aborted ? options.signal.reason : e };
        stop.abort(fatal.error);
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, unique.length) }, worker));
  if (fatal !== undefined) throw fatal.error;

  const failed = images.filter((r) => !r.verified);
  return {
    images,
    verified: images.length - failed.length,
    failed: failed.length,
    registryFailures: failed.filter((r) => r.failure === 'registry').length,
  };
}
