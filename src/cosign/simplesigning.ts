/**
 * cosign "simple signing" payloads (`application/vnd.dev.cosign.simplesigning.v1+json`),
 * byte for byte as cosign writes them, and the names cosign derives from a subject:
 * the `sha256-<hex>.sig` tag and the repository-only docker reference.
 *
 * References: sigstore `pkg/signature/payload/payload.go`, cosign
 * `pkg/cosign/verify.go` (`SimpleClaimVerifier`), containers/image
 * `signature/internal/sigstore_payload.go`.
 */
import { scanJsonKeys } from '../internal/json-keys.js';
import { GoRaw, goJsonStruct, goJsonValue, utf8Bytes } from '../internal/encoding/go-json.js';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import { decodeBase64 } from '../internal/encoding/base64.js';
import type { Digest } from '../oci/digest.js';
import { isDigest, parseDigest } from '../oci/digest.js';
import { DOCKER_HUB, parseReference, type Reference } from '../oci/reference.js';

/** Value of `critical.type` in every cosign container image signature. @public */
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

/** Layer annotation holding the base64 signature. @public */
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** Layer annotation holding a Rekor bundle (offline transparency-log proof). @public */
export const COSIGN_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
/** Layer annotation holding a PEM signing certificate (keyless or `--cert`). @public */
export const COSIGN_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
/** Layer annotation holding the PEM certificate chain. @public */
export const COSIGN_CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
/** Layer annotation holding an RFC 3161 timestamp over the signature. @public */
export const COSIGN_RFC3161_ANNOTATION = 'dev.sigstore.cosign/rfc3161timestamp';

/**
 * Most layers cosign reads from one signature manifest (`pkg/oci/remote/signatures.go`
 * refuses more); chartproof's legacy signer never writes more.
 * @public
 */
export const MAX_SIGNATURE_LAYERS = 1000;

/**
 * Most bytes the layers of one signature or attestation manifest may declare together
 * (each is also bounded on its own): what a check may read, and an attestation listing
 * holds, for one subject.
 * @internal
 */
export const MAX_SIGNATURE_MANIFEST_BYTES = 512 * 1024 * 1024;

/**
 * Checks the layer count and the declared sizes of a signature or attestation manifest.
 * @throws ChartproofError `INVALID_MANIFEST`
 * @internal
 */
export function checkSignatureLayers(layers: readonly unknown[], where: string): void {
  if (layers.length > MAX_SIGNATURE_LAYERS)
    throw new ChartproofError(
      'INVALID_MANIFEST',
      `${where}: ${layers.length} layers exceed the limit of ${MAX_SIGNATURE_LAYERS}`,
    );
  let total = 0;
  for (const l of layers) {
    const size = (l as { size?: unknown } | null)?.size;
    if (typeof size === 'number' && Number.isSafeInteger(size) && size > 0) total += size;
  }
  if (total > MAX_SIGNATURE_MANIFEST_BYTES)
    throw new ChartproofError(
      'INVALID_MANIFEST',
      `${where}: its layers declare ${total} bytes in all, over the limit of ${MAX_SIGNATURE_MANIFEST_BYTES}`,
    );
}

/**
 * A parsed simple-signing payload. Strings that are absent in the JSON read as `''`
 * (lenient mode), as Go's `json.Unmarshal` leaves them.
 * @public
 */
export interface SimpleSigningPayload {
  /** `critical.identity.docker-reference`: the signed repository (cosign) or reference (skopeo). */
  dockerReference: string;
  /** `critical.image.docker-manifest-digest`: the signed manifest digest. */
  manifestDigest: string;
  /** `critical.type`; cosign writes `COSIGN_SIGNATURE_TYPE`. */
  type: string;
  /** `optional`: annotations given at signing time (`null` when none). */
  optional: Record<string, unknown> | null;
  /** `optional.creator` when a string (containers/image writes it). */
  creator?: string;
  /** `optional.timestamp` (Unix seconds) when a number (containers/image writes it). */
  timestamp?: number;
}

/** Options of {@link parseSimpleSigningPayload}. @public */
export interface ParseSimpleSigningOptions {
  /**
   * Apply containers/image's rules instead of cosign's: no duplicate keys; the top
   * level has exactly `critical` and `optional` (which may be `null`); `critical`
   * exactly `type`, `image`, `identity`; `image` exactly `docker-manifest-digest`
   * (a valid digest); `identity` exactly `docker-reference`; `type` must be
   * `COSIGN_SIGNATURE_TYPE`; `optional.creator` a string and
   * `optional.timestamp` an integer when present. Default false: cosign's lenient
   * reading, which ignores unknown members and missing fields and checks nothing
   * but the JSON types.
   */
  strict?: boolean;
}

/**
 * The exact payload bytes cosign signs for `manifestDigest` (Go `json.Marshal` of
 * `payload.SimpleContainerImage`): compact, fields in struct order, `optional` a
 * key-sorted object of the annotations or `null` when there are none (an empty
 * object also gives `null`, as cosign without `-a` does), HTML-safe escaping.
 *
 * @param dockerReference - `critical.identity.docker-reference`; cosign uses the
 *   repository without tag, as cosign's `docker-reference`.
 * @param manifestDigest - digest of the signed manifest.
 * @param optional - annotations (`cosign sign -a k=v`).
 * @throws ChartproofError `INVALID_ARGUMENT` for an empty reference or an invalid digest
 * @example
 * ```ts
 * const bytes = simpleSigningPayload('ghcr.io/acme/charts/app', 'sha256:9f86…');
 * ```
 * @public
 */
export function simpleSigningPayload(
  dockerReference: string,
  manifestDigest: Digest | string,
  optional?: Record<string, string>,
): Uint8Array {
  if (typeof dockerReference !== 'string' || dockerReference.length === 0)
    throw new ChartproofError('INVALID_ARGUMENT', 'docker reference must be a non-empty string');
  if (!isDigest(manifestDigest))
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `invalid manifest digest ${JSON.stringify(String(manifestDigest).slice(0, 200))}`,
    );
  const annotations = optional === undefined ? {} : optional;
  for (const [k, v] of Object.entries(annotations)) {
    if (typeof v !== 'string')
      throw new ChartproofError('INVALID_ARGUMENT', `annotation ${JSON.stringify(k)} must be a string`);
  }
  const critical = goJsonStruct([
    ['identity', new GoRaw(goJsonStruct([['docker-reference', dockerReference, false]])), false],
    ['image', new GoRaw(goJsonStruct([['docker-manifest-digest', manifestDigest, false]])), false],
    ['type', COSIGN_SIGNATURE_TYPE, false],
  ]);
  const opt = Object.keys(annotations).length === 0 ? 'null' : goJsonValue(annotations);
  return utf8Bytes(
    goJsonStruct([
      ['critical', new GoRaw(critical), false],
      ['optional', new GoRaw(opt), false],
    ]),
  );
}

/**
 * Parses a simple-signing payload. The default is cosign's reading (Go
 * `json.Unmarshal` into `SimpleContainerImage`): unknown members are ignored and
 * missing strings read as `''`, but every known member must have its JSON type.
 * Members whose names differ from a known one only in case are rejected, because Go
 * would match them case-insensitively and the two readings could disagree.
 * `strict` applies containers/image's rules instead, see
 * {@link ParseSimpleSigningOptions.strict}.
 * @throws ChartproofError `SIGNATURE_INVALID` when the payload is malformed
 * @public
 */
export function parseSimpleSigningPayload(
  bytes: Uint8Array,
  options: ParseSimpleSigningOptions = {},
): SimpleSigningPayload {
  const strict = options.strict ?? false;
  const fail = (why: string): never => {
    throw new ChartproofError('SIGNATURE_INVALID', `invalid simple-signing payload: ${why}`);
  };
  let text: string;
  let value: unknown;
  try {
    // Go replaces invalid UTF-8 and rejects a BOM; so does this (ignoreBOM keeps it in the text).
    text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    value = parseJsonBounded(text, { what: 'signature payload' });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    return fail('not valid JSON');
  }
  if (strict) {
    const dup = findDuplicateKey(text);
    if (dup !== undefined) fail(`duplicate key ${JSON.stringify(dup)}`);
  }

  const top = object(value, 'payload', strict, fail);
  if (strict) exactFields(top, ['critical', 'optional'], 'payload', fail);
  else rejectCaseVariants(top, ['critical', 'optional'], 'payload', fail);
  const critical = object(top.critical, 'critical', strict, fail);
  if (strict) exactFields(critical, ['type', 'image', 'identity'], 'critical', fail);
  else rejectCaseVariants(critical, ['type', 'image', 'identity'], 'critical', fail);
  const image = object(critical.image, 'critical.image', strict, fail);
  if (strict) exactFields(image, ['docker-manifest-digest'], 'critical.image', fail);
  else rejectCaseVariants(image, ['docker-manifest-digest'], 'critical.image', fail);
  const identity = object(critical.identity, 'critical.identity', strict, fail);
  if (strict) exactFields(identity, ['docker-reference'], 'critical.identity', fail);
  else rejectCaseVariants(identity, ['docker-reference'], 'critical.identity', fail);

  const type = str(critical.type, 'critical.type', fail);
  const manifestDigest = str(image['docker-manifest-digest'], 'critical.image.docker-manifest-digest', fail);
  const dockerReference = str(identity['docker-reference'], 'critical.identity.docker-reference', fail);

  let optional: Record<string, unknown> | null = null;
  if (top.optional !== null && top.optional !== undefined) {
    if (typeof top.optional !== 'object' || Array.isArray(top.optional)) fail('optional is not an object');
    optional = top.optional as Record<string, unknown>;
  } else if (strict && top.optional === undefined) {
    fail('missing optional');
  }

  const out: SimpleSigningPayload = { dockerReference, manifestDigest, type, optional };
  if (optional) {
    const { creator, timestamp } = optional;
    if (typeof creator === 'string') out.creator = creator;
    else if (strict && creator !== undefined && creator !== null) fail('optional.creator is not a string');
    if (typeof timestamp === 'number') {
      if (strict && !Number.isSafeInteger(timestamp)) fail('optional.timestamp is not an integer');
      out.timestamp = timestamp;
    } else if (strict && timestamp !== undefined && timestamp !== null) {
      fail('optional.timestamp is not a number');
    }
  }
  if (strict) {
    if (type !== COSIGN_SIGNATURE_TYPE) fail(`unrecognized signature type ${JSON.stringify(type)}`);
    if (!isDigest(manifestDigest))
      fail(`invalid docker-manifest-digest ${JSON.stringify(manifestDigest.slice(0, 200))}`);
  }
  return out;
}

/**
 * The tag cosign stores signatures of `digest` under: `sha256-<hex>.sig`.
 * @throws ChartproofError `INVALID_ARGUMENT` for an invalid digest, or one whose tag
 *   would exceed 128 characters (sha512, which cosign cannot tag either)
 * @public
 */
export function cosignSignatureTag(digest: Digest | string): string {
  if (!isDigest(digest))
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `invalid digest ${JSON.stringify(String(digest).slice(0, 200))}`,
    );
  const { algorithm, encoded } = parseDigest(digest);
  const tag = `${algorithm}-${encoded}.sig`;
  if (tag.length > 128)
    throw new ChartproofError('INVALID_ARGUMENT', `${algorithm} digests have no cosign signature tag`);
  return tag;
}

/**
 * The `docker-reference` cosign writes for a subject: `registry/repository`, without
 * tag or digest (ggcr `Repository.Name()`), with Docker Hub spelled
 * `index.docker.io` and its `library/` prefix.
 * @param ref - a reference string (tag and digest are dropped) or a parsed reference.
 * @throws ChartproofError `INVALID_REFERENCE` for an invalid reference string
 * @example
 * ```ts
 * cosignDockerReference('nginx:1.27'); // 'index.docker.io/library/nginx'
 * ```
 * @public
 */
export function cosignDockerReference(ref: string | Reference): string {
  const r = typeof ref === 'string' ? parseReference(ref) : ref;
  const registry = r.registry === DOCKER_HUB ? 'index.docker.io' : r.registry;
  return `${registry}/${r.repository}`;
}

// ---------------------------------------------------------------------------------------

type Fail = (why: string) => never;

function object(v: unknown, where: string, strict: boolean, fail: Fail): Record<string, unknown> {
  // Go leaves a struct untouched for `null` (or a missing member); c/image requires objects.
  if ((v === null || v === undefined) && !strict) return {};
  if (v === undefined) return fail(`missing ${where}`);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(`${where} is not an object`);
  return v as Record<string, unknown>;
}

function str(v: unknown, where: string, fail: Fail): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') return fail(`${where} is not a string`);
  return v;
}

function exactFields(o: Record<string, unknown>, names: readonly string[], where: string, fail: Fail): void {
  for (const k of Object.keys(o)) if (!names.includes(k)) fail(`unexpected member ${where}.${k}`);
  for (const n of names) if (!(n in o)) fail(`missing ${where}.${n}`);
}

// Go's encoding/json matches member names case-insensitively (Unicode simple folding:
// also U+017F ſ → s and U+212A K → k); a payload relying on that is refused.
function fold(s: string): string {
  return s
    .replace(/\u017f/g, 's')
    .replace(/\u212a/g, 'k')
    .toLowerCase();
}

function rejectCaseVariants(
  o: Record<string, unknown>,
  names: readonly string[],
  where: string,
  fail: Fail,
): void {
  for (const k of Object.keys(o)) {
    if (names.includes(k)) continue;
    const f = fold(k);
    if (names.some((n) => fold(n) === f))
      fail(`member ${where}.${JSON.stringify(k)} differs from a known name only in case`);
  }
}

/**
 * Finds the first object key that occurs twice in one object of a valid JSON text
 * (JSON.parse silently keeps the last one).
 */
function findDuplicateKey(text: string): string | undefined {
  const seen = new Map<number, Set<string>>();
  return scanJsonKeys(text, (key, frame) => {
    const keys = seen.get(frame.id) ?? new Set<string>();
    seen.set(frame.id, keys);
    if (keys.has(key)) return key;
    keys.add(key);
    return undefined;
  });
}

/**
 * Decodes standard, padded base64 as Go's `base64.StdEncoding` does (what cosign uses
 * for the signature annotation): `\r` and `\n` are ignored, anything else outside the
 * alphabet, missing padding or a wrong length is an error (Node's own decoder would
 * silently skip such characters).
 * @throws ChartproofError `SIGNATURE_INVALID` for malformed base64
 * @public
 */
export function decodeStdBase64(value: string): Uint8Array {
  const bytes = decodeBase64(value, 'std', { ignoreNewlines: true });
  if (!bytes) throw new ChartproofError('SIGNATURE_INVALID', 'malformed base64');
  return new Uint8Array(bytes);
}
