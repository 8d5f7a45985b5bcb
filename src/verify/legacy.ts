/**
 * Verification of cosign's legacy ("attached") key-based signatures, as
 * `cosign verify --key cosign.pub --insecure-ignore-tlog` does on the legacy path:
 * read the `sha256-<hex>.sig` manifest, verify each simple-signing layer's signature
 * over its payload, check the payload's claims. Also reads containers/image
 * (skopeo) `dir:` signature files, which carry the same payloads.
 *
 * Transparency-log evidence (`dev.sigstore.cosign/bundle`: Rekor's signed entry
 * timestamp) is checked offline against trusted Rekor keys when `tlog` asks for it
 * (see `rekor.ts`); cosign's online Rekor lookup is not done.
 *
 * References: cosign `pkg/cosign/verify.go` (`VerifyImageSignatures`,
 * `SimpleClaimVerifier`), `pkg/oci/remote/signatures.go`; containers/image
 * `internal/signature/signature.go`, `internal/signature/sigstore.go`.
 */
import type { KeyObject } from 'node:crypto';
import { ChartproofError, isNotFoundError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, isDigest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { Fetcher, ManifestFetcher, Named, Resolver } from '../oci/target.js';
import { readAll } from '../oci/verify.js';
import { resolveSubjectDigest } from '../cosign/subject.js';
import { verifySignature } from '../keys/keys.js';
import type { TlogMode } from './policy.js';
import {
  type RekorEntryEvidence,
  RekorEvidenceError,
  type RekorLogKey,
  verifyRekorBundleAnnotation,
} from './rekor.js';
import {
  COSIGN_BUNDLE_ANNOTATION,
  COSIGN_CERTIFICATE_ANNOTATION,
  COSIGN_RFC3161_ANNOTATION,
  COSIGN_SIGNATURE_ANNOTATION,
  cosignSignatureTag,
  decodeStdBase64,
  checkSignatureLayers,
  parseSimpleSigningPayload,
  type SimpleSigningPayload,
} from '../cosign/simplesigning.js';

/** Largest payload read per layer: 128 MiB, cosign's default `COSIGN_MAX_ATTACHMENT_SIZE`. @public */
export const MAX_PAYLOAD_BYTES = 128 * 1024 * 1024;

/** Input of {@link verifySimpleSigningSignature}. @public */
export interface SimpleSigningSignatureInput {
  /** Exact payload bytes (the layer blob). */
  payload: Uint8Array;
  /** Value of the `dev.cosignproject.cosign/signature` annotation (standard base64). */
  signatureB64: string | undefined;
  /** Key(s) to accept: the signature must verify with one of them. */
  publicKey: KeyObject | readonly KeyObject[];
  /** Digest the payload must claim (`critical.image.docker-manifest-digest`). */
  subjectDigest: Digest | string;
  /** Each must equal the payload's `optional[key]` (`cosign verify -a k=v`). */
  annotations?: Record<string, string>;
  /** Parse the payload with containers/image's strict rules. Default false (cosign's). */
  strict?: boolean;
}

/** Outcome of {@link verifySimpleSigningSignature}. @public */
export interface SimpleSigningSignatureResult {
  verified: boolean;
  /** Why it did not verify (first failed check, in cosign's order). */
  reason?: string;
  /** The parsed payload, once the signature verified. */
  payload?: SimpleSigningPayload;
  /** Index in the key list of the key that verified the signature. */
  keyIndex?: number;
}

/**
 * Checks one simple-signing signature without I/O, in cosign's order: decode the
 * base64 signature, verify it over the exact payload bytes with one of the keys,
 * parse the payload, then the claims (`docker-manifest-digest` equals
 * `subjectDigest`; every required annotation equals `optional[key]`). Like cosign, it
 * checks neither `critical.type` nor `docker-reference` (identity matching is the
 * caller's policy). Failures are reported, not thrown.
 * @throws ChartproofError `INVALID_ARGUMENT` without keys; `KEY_UNSUPPORTED` for a key
 *   that cannot verify cosign signatures
 * @public
 */
export function verifySimpleSigningSignature(
  input: SimpleSigningSignatureInput,
): SimpleSigningSignatureResult {
  const keys = keyList(input.publicKey);
  if (typeof input.signatureB64 !== 'string')
    return { verified: false, reason: `missing ${COSIGN_SIGNATURE_ANNOTATION} annotation` };
  let signature: Uint8Array;
  try {
    signature = decodeStdBase64(input.signatureB64);
  } catch {
    return { verified: false, reason: 'signature annotation is not valid base64' };
  }
  const keyIndex = keys.findIndex((k) => verifySignature(k, input.payload, signature));
  if (keyIndex < 0)
    return {
      verified: false,
      reason:
        keys.length === 1
          ? 'signature does not verify with the public key'
          : `signature does not verify with any of the ${keys.length} public keys`,
    };
  let payload: SimpleSigningPayload;
  try {
    payload = parseSimpleSigningPayload(input.payload, { strict: input.strict ?? false });
  } catch (e) {
    return { verified: false, reason: (e as Error).message, keyIndex };
  }
  if (payload.manifestDigest !== input.subjectDigest) {
    return {
      verified: false,
      reason: `invalid or missing digest in claim: ${JSON.stringify(payload.manifestDigest.slice(0, 200))}, expected ${input.subjectDigest}`,
      payload,
      keyIndex,
    };
  }
  for (const [k, v] of Object.entries(input.annotations ?? {})) {
    if (payload.optional?.[k] !== v)
      return {
        verified: false,
        reason: `missing or incorrect annotation ${JSON.stringify(k)}`,
        payload,
        keyIndex,
      };
  }
  return { verified: true, payload, keyIndex };
}

/** Options of {@link verifyLegacySignatures}. @public */
export interface VerifyLegacyOptions {
  /** Key(s) to accept (`cosign verify --key`); any one verifying a layer suffices. */
  publicKey: KeyObject | readonly KeyObject[];
  /** Required payload annotations (`cosign verify -a k=v`). */
  annotations?: Record<string, string>;
  /** Largest payload read per layer. Default {@link MAX_PAYLOAD_BYTES}. */
  maxPayloadBytes?: number;
  /**
   * Transparency-log evidence (the `dev.sigstore.cosign/bundle` annotation, checked
   * offline against `rekorKeys`): `require` fails layers without verified evidence;
   * `if-present` checks it when the layer has it; `skip` ignores it (cosign
   * `--insecure-ignore-tlog`). Default `skip` for this low-level function; the chart
   * verifier applies the policy's mode (default `require`).
   */
  tlog?: TlogMode;
  /** Trusted Rekor keys (see `rekorKeysFromTrustedRoot`); needed unless `tlog` is `skip`. */
  rekorKeys?: readonly RekorLogKey[];
  signal?: AbortSignal;
}

/** The outcome for one layer of the signature manifest. @public */
export interface LegacyLayerResult {
  /** Position in the manifest's `layers`. */
  index: number;
  /** The layer's media type. */
  mediaType: string;
  /** The layer digest (= digest of the payload). */
  payloadDigest: string;
  verified: boolean;
  /** Why the layer did not verify. */
  reason?: string;
  /** The parsed payload, when the signature verified (also when a claim failed). */
  payload?: SimpleSigningPayload;
  /** The exact payload bytes, when the layer verified (what `cosign verify` prints). */
  payloadBytes?: Uint8Array;
  /** Which key (index into the key list) verified the signature. */
  keyIndex?: number;
  /**
   * `verified`: the Rekor bundle annotation was checked (see `tlogEntry`);
   * `not-checked`: it was absent or ignored (`tlog: 'skip'`).
   */
  tlog: 'verified' | 'not-checked';
  /** The verified transparency-log entry, when `tlog` is `verified`. */
  tlogEntry?: RekorEntryEvidence;
  /** Whether the layer carries a `dev.sigstore.cosign/bundle` (Rekor) annotation. */
  bundle: boolean;
  /** Whether the layer carries a `dev.sigstore.cosign/certificate` annotation (ignored: key-based). */
  certificate: boolean;
  /** Whether the layer carries a `dev.sigstore.cosign/rfc3161timestamp` annotation. */
  rfc3161Timestamp: boolean;
}

/** Outcome of {@link verifyLegacySignatures}. @public */
export interface LegacyVerifyResult {
  /** The verified subject's digest. */
  subjectDigest: Digest;
  /** `registry/repository@digest` of the subject. */
  pinned: string;
  /** The signature tag read, `sha256-<hex>.sig`. */
  signatureTag: string;
  /** Descriptor of the signature manifest read. */
  signatureManifest: Descriptor;
  /** One entry per layer, in manifest order. */
  layers: LegacyLayerResult[];
  /** How many layers verified (≥ 1 when returned). */
  verified: number;
}

/**
 * No layer of the signature manifest verified. `result` holds every layer's reason.
 * @public
 */
export class LegacyVerificationError extends ChartproofError {
  readonly result: LegacyVerifyResult;
  constructor(result: LegacyVerifyResult) {
    const reasons = result.layers
      .map((l) => `layer ${l.index} (${l.payloadDigest}): ${l.reason ?? 'not verified'}`)
      .join('; ');
    super(
      'SIGNATURE_INVALID',
      `no matching signatures for ${result.pinned}: ${reasons || 'the signature manifest has no layers'}`,
    );
    this.result = result;
  }
}

/**
 * Verifies cosign legacy signatures of a manifest in `repo`, with keys, as
 * `cosign verify --key … --insecure-ignore-tlog` does: GET the `sha256-<hex>.sig`
 * manifest; for each layer (simple-signing media type only), fetch the payload
 * (size-capped, digest-verified), decode the base64 signature annotation, verify it
 * over the payload bytes, and check the claims (see
 * {@link verifySimpleSigningSignature}). Succeeds when at least one layer verifies.
 *
 * Registry failures other than a missing or corrupt payload blob (auth, network,
 * 5xx, abort) are thrown rather than reported as a bad layer.
 *
 * @param subject - digest, tag (resolved with HEAD) or descriptor of the signed manifest.
 * @throws ChartproofError `SIGNATURE_NOT_FOUND` ("no signatures found") when the tag
 *   does not exist; {@link LegacyVerificationError} (`SIGNATURE_INVALID`) when no
 *   layer verifies; `INVALID_MANIFEST` when the tag holds no layer list or more than
 *   1000 layers; `INVALID_ARGUMENT` without keys; registry errors
 * @example
 * ```ts
 * const key = loadPublicKey(await readFile('cosign.pub', 'utf8'));
 * const result = await verifyLegacySignatures(repo, 'sha256:…', { publicKey: key });
 * ```
 * @public
 */
export async function verifyLegacySignatures(
  repo: LegacySignatureSource,
  subject: Digest | string | Descriptor,
  options: VerifyLegacyOptions,
): Promise<LegacyVerifyResult> {
  const { signal } = options;
  const keys = keyList(options.publicKey);
  const cap = options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
  if (!Number.isSafeInteger(cap) || cap < 0)
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `maxPayloadBytes must be a non-negative integer, got ${cap}`,
    );
  return verifySignatureManifest(repo, subject, signal, (raw, index, subjectDigest) =>
    verifyLayer(repo, raw, index, subjectDigest, keys, options, cap),
  );
}

/**
 * Where legacy signatures are read from: the subject's repository (a registry
 * `Repository`, or any store holding the `sha256-<hex>.sig` tag and its blobs, such as
 * the air-gap quarantine's `MemoryStore`).
 * @public
 */
export type LegacySignatureSource = ManifestFetcher & Fetcher & Resolver & Named;

/** A signature file of containers/image's `dir:` transport, sigstore format. @public */
export interface ContainersImageSignature {
  /** The attachment's media type (`application/vnd.dev.cosign.simplesigning.v1+json` for signatures). */
  mimeType: string;
  /** The payload bytes (the layer blob in a registry). */
  payload: Uint8Array;
  /** The layer annotations (signature, bundle, certificate, chain). */
  annotations: Record<string, string>;
}

const SIGSTORE_FORMAT = 'sigstore-json';

/**
 * Parses a containers/image (skopeo) `dir:` signature file (`signature-N`) in the
 * sigstore format: byte `0x00`, the format name `sigstore-json`, `\n`, then JSON
 * `{"mimeType", "payload" (base64), "annotations"}`. Verify the result with
 * {@link verifySimpleSigningSignature} (after checking `mimeType`; containers/image
 * ignores other attachments).
 * @throws ChartproofError `SIGNATURE_INVALID` for another format (e.g. GPG simple
 *   signing) or a malformed file
 * @public
 */
export function readContainersImageSignature(bytes: Uint8Array): ContainersImageSignature {
  const fail = (why: string): never => {
    throw new ChartproofError('SIGNATURE_INVALID', `invalid containers/image signature: ${why}`);
  };
  if (bytes.byteLength === 0) fail('empty file');
  if (bytes[0] !== 0x00) fail(`not a sigstore signature (starts with byte 0x${bytes[0]!.toString(16)})`);
  const nl = bytes.indexOf(0x0a, 1);
  if (nl < 0) fail('missing newline after the format name');
  const format = bytes.subarray(1, nl);
  if (format.some((b) => b < 0x20 || b >= 0x7f)) fail('invalid format name');
  const name = Buffer.from(format).toString('latin1');
  if (name !== SIGSTORE_FORMAT) fail(`unsupported format ${JSON.stringify(name)}`);
  let value: unknown;
  try {
    value = parseJsonBounded(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(nl + 1)), {
      what: 'signed entity',
    });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    return fail('not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail('not a JSON object');
  const v = value as Record<string, unknown>;
  const mimeType = v.mimeType ?? '';
  if (typeof mimeType !== 'string') fail('mimeType is not a string');
  let payload: Uint8Array = new Uint8Array();
  if (v.payload !== undefined && v.payload !== null) {
    if (typeof v.payload !== 'string') fail('payload is not a string');
    try {
      payload = decodeStdBase64(v.payload as string);
    } catch {
      fail('payload is not valid base64');
    }
  }
  const annotations: Record<string, string> = {};
  if (v.annotations !== undefined && v.annotations !== null) {
    if (typeof v.annotations !== 'object' || Array.isArray(v.annotations))
      fail('annotations is not an object');
    for (const [k, a] of Object.entries(v.annotations as Record<string, unknown>)) {
      if (typeof a !== 'string') fail(`annotation ${JSON.stringify(k)} is not a string`);
      annotations[k] = a as string;
    }
  }
  return { mimeType: mimeType as string, payload, annotations };
}

// ---------------------------------------------------------------------------------------

function keyList(publicKey: KeyObject | readonly KeyObject[]): readonly KeyObject[] {
  const keys = Array.isArray(publicKey) ? (publicKey as readonly KeyObject[]) : [publicKey as KeyObject];
  if (keys.length === 0 || keys.some((k) => k === undefined || k === null))
    throw new ChartproofError('INVALID_ARGUMENT', 'at least one public key is required');
  return keys;
}

// A payload blob that is missing or does not match its descriptor makes that layer
// fail; anything else (auth, network, server errors, abort) is not about the signature.
const CONTENT_ERRORS = new Set(['DIGEST_MISMATCH', 'SIZE_MISMATCH', 'TRAILING_DATA', 'SIZE_LIMIT_EXCEEDED']);

/** A signature-manifest layer's fields and its string annotations, from any JSON. @internal */
export function layerFields(raw: unknown): {
  d: Record<string, unknown>;
  annotations: Record<string, string>;
} {
  const d = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const annotations: Record<string, string> = {};
  if (d.annotations !== null && typeof d.annotations === 'object' && !Array.isArray(d.annotations)) {
    for (const [k, v] of Object.entries(d.annotations as Record<string, unknown>))
      if (typeof v === 'string') annotations[k] = v;
  }
  return { d, annotations };
}

/**
 * A signature-manifest layer's blob, size-capped and digest-checked, or why the layer
 * is unusable (bad digest or size, too large, blob missing or corrupt). Other registry
 * errors are thrown.
 * @internal
 */
export async function fetchLayerBlob(
  repo: Fetcher,
  mediaType: string,
  digest: string,
  size: unknown,
  cap: number,
  what: string,
  signal: AbortSignal | undefined,
): Promise<Uint8Array | string> {
  if (!isDigest(digest)) return 'invalid layer digest';
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return 'invalid layer size';
  if (size > cap) return `${what} of ${size} bytes exceeds the limit of ${cap}`;
  try {
    // A payload is a blob (its media type was checked): `fetch` reads it as one.
    return await readAll(await repo.fetch({ mediaType, digest, size }, { signal }), cap);
  } catch (e) {
    if (isNotFoundError(e)) return `${what} blob not found`;
    if (e instanceof ChartproofError && CONTENT_ERRORS.has(e.code))
      return `${what} blob rejected: ${e.message}`;
    throw e;
  }
}

/**
 * Reads the `sha256-<hex>.sig` manifest of `subject` and checks each of its layers
 * with `check`; succeeds when at least one layer verifies.
 * @throws ChartproofError `SIGNATURE_NOT_FOUND` without the tag; `INVALID_MANIFEST`;
 *   {@link LegacyVerificationError} when no layer verifies
 * @internal
 */
export async function verifySignatureManifest<L extends LegacyLayerResult>(
  repo: LegacySignatureSource,
  subject: Digest | string | Descriptor,
  signal: AbortSignal | undefined,
  check: (raw: unknown, index: number, subjectDigest: Digest) => Promise<L>,
): Promise<LegacyVerifyResult & { layers: L[] }> {
  const subjectDigest = await resolveSubjectDigest(repo, subject, signal);
  const signatureTag = cosignSignatureTag(subjectDigest);
  const pinned = repo.pinned(subjectDigest);
  let fetched: Awaited<ReturnType<ManifestFetcher['fetchManifest']>>;
  try {
    fetched = await repo.fetchManifest(signatureTag, { signal });
  } catch (e) {
    if (isNotFoundError(e))
      throw new ChartproofError('SIGNATURE_NOT_FOUND', `no signatures found for ${pinned}`, { cause: e });
    throw e;
  }
  const rawLayers = fetched.manifest.layers;
  if (!Array.isArray(rawLayers))
    throw new ChartproofError('INVALID_MANIFEST', `${repo.name}:${signatureTag}: manifest has no layers`);
  checkSignatureLayers(rawLayers, `${repo.name}:${signatureTag}`);
  const layers: L[] = [];
  for (let index = 0; index < rawLayers.length; index++) {
    signal?.throwIfAborted();
    layers.push(await check(rawLayers[index], index, subjectDigest));
  }
  const result = {
    subjectDigest,
    pinned,
    signatureTag,
    signatureManifest: fetched.descriptor,
    layers,
    verified: layers.filter((l) => l.verified).length,
  };
  if (result.verified === 0) throw new LegacyVerificationError(result);
  return result;
}

/** A signature-manifest layer: its result fields, string annotations, and the payload when it could be read. @internal */
export interface SignatureLayer {
  out: LegacyLayerResult;
  annotations: Record<string, string>;
  /** Absent when the layer is unusable (`out.reason` says why). */
  payload?: Uint8Array;
}

/**
 * Reads one layer of a signature manifest: checks it is a simple-signing payload of a
 * sane size and fetches the payload (digest-verified). A missing or corrupt payload
 * blob makes the layer fail; other registry errors are thrown.
 * @internal
 */
export async function readSignatureLayer(
  repo: Fetcher,
  raw: unknown,
  index: number,
  cap: number,
  signal: AbortSignal | undefined,
): Promise<SignatureLayer> {
  const { d, annotations } = layerFields(raw);
  const out: LegacyLayerResult = {
    index,
    mediaType: typeof d.mediaType === 'string' ? d.mediaType : '',
    payloadDigest: typeof d.digest === 'string' ? d.digest : '',
    verified: false,
    tlog: 'not-checked',
    bundle: COSIGN_BUNDLE_ANNOTATION in annotations,
    certificate: COSIGN_CERTIFICATE_ANNOTATION in annotations,
    rfc3161Timestamp: COSIGN_RFC3161_ANNOTATION in annotations,
  };
  const fail = (reason: string): SignatureLayer => ({ out: Object.assign(out, { reason }), annotations });
  if (out.mediaType !== MediaType.CosignSimpleSigning)
    return fail(`skipped: media type ${JSON.stringify(out.mediaType)} is not a simple-signing payload`);
  const payload = await fetchLayerBlob(
    repo,
    out.mediaType,
    out.payloadDigest,
    d.size,
    cap,
    'payload',
    signal,
  );
  return typeof payload === 'string' ? fail(payload) : { out, annotations, payload };
}

async function verifyLayer(
  repo: Fetcher,
  raw: unknown,
  index: number,
  subjectDigest: Digest,
  keys: readonly KeyObject[],
  options: VerifyLegacyOptions,
  cap: number,
): Promise<LegacyLayerResult> {
  const { out, annotations, payload } = await readSignatureLayer(repo, raw, index, cap, options.signal);
  if (payload === undefined) return out;
  const fail = (reason: string): LegacyLayerResult => Object.assign(out, { reason });

  const sig = annotations[COSIGN_SIGNATURE_ANNOTATION];
  const check = verifySimpleSigningSignature({
    payload,
    signatureB64: typeof sig === 'string' ? sig : undefined,
    publicKey: keys,
    subjectDigest,
    ...(options.annotations ? { annotations: options.annotations } : {}),
  });
  if (check.payload) out.payload = check.payload;
  if (check.keyIndex !== undefined) out.keyIndex = check.keyIndex;
  if (!check.verified) return fail(check.reason ?? 'not verified');
  const mode = options.tlog ?? 'skip';
  const bundle = annotations[COSIGN_BUNDLE_ANNOTATION];
  if (mode !== 'skip') {
    if (typeof bundle === 'string') {
      try {
        out.tlogEntry = verifyRekorBundleAnnotation(
          bundle,
          { payload, signature: decodeStdBase64(sig as string), signerKey: keys[check.keyIndex ?? 0]! },
          options.rekorKeys ?? [],
        );
        out.tlog = 'verified';
      } catch (e) {
        if (!(e instanceof RekorEvidenceError)) throw e;
        return fail(`transparency log: ${e.message}`);
      }
    } else if (mode === 'require') {
      return fail(
        'transparency log: the signature has no Rekor bundle annotation (dev.sigstore.cosign/bundle); pass tlog "skip" (--insecure-ignore-tlog) to accept it',
      );
    }
  }
  out.verified = true;
  out.payloadBytes = payload;
  return out;
}
