/**
 * Reading and verifying cosign's legacy attestations (`sha256-<hex>.att`): each layer
 * is a DSSE envelope over an in-toto statement, with the certificate, chain and Rekor
 * evidence (if any) in layer annotations, as cosign v2 writes them.
 *
 * A layer holds the same material a Sigstore bundle does, so each one is re-expressed as
 * a Sigstore bundle v0.1 (the version whose log entries carry only an inclusion promise,
 * the SignedEntryTimestamp cosign stores) and checked by the same `verifySigstoreBundle`
 * that checks bundle referrers: key or certificate chain, SCT and identity, the Rekor
 * entry (`intoto` 0.0.2 or `dsse` 0.0.1: the SET against the trusted root's log keys,
 * and the entry's signature and payload hash against this envelope), the DSSE signature
 * over the PAE, and the statement's subject and annotations.
 *
 * An RFC 3161 timestamp (`dev.sigstore.cosign/rfc3161timestamp`) covers the envelope's
 * exact bytes (cosign timestamps the layer blob of legacy attestations, not the DSSE
 * signature), so it cannot be a bundle's `timestampVerificationData` (which
 * `@sigstore/verify` checks over the signature): it is verified next to the bundle, with
 * `@sigstore/verify` too (`legacy-timestamp.ts`), and its time counts for the certificate.
 *
 * References: cosign `pkg/cosign/verify.go` (`VerifyImageAttestations`, `VerifyBundle`),
 * `pkg/oci/remote/remote.go` (`.att` suffix), `pkg/cosign/bundle/rekor.go`; sigstore
 * protobuf-specs `sigstore_bundle.proto` (v0.1); Rekor `intoto` v0.0.2 and `dsse` v0.0.1.
 */
import { ChartproofError, RegistryError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { FetchedManifest, Fetcher, ManifestFetcher, Named } from '../oci/target.js';
import { dssePae, type SigstoreBundleJson } from '../cosign/dsse.js';
import {
  cosignAttestationTag,
  DSSE_ENVELOPE_MEDIA_TYPE,
  type DsseEnvelopeJson,
  decodeDsseBase64,
  parseDsseEnvelope,
} from '../cosign/dsse.js';
import { keyHint, loadPublicKey, verifySignature } from '../keys/keys.js';
import {
  COSIGN_BUNDLE_ANNOTATION,
  COSIGN_CERTIFICATE_ANNOTATION,
  COSIGN_RFC3161_ANNOTATION,
  decodeStdBase64,
  checkSignatureLayers,
} from '../cosign/simplesigning.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../cosign/statement.js';
import { type BundleSigner, type BundleVerification, verifySigstoreBundle } from './bundle.js';
import { parsePemCertificates } from './certificate.js';
import { fetchLayerBlob, layerFields, MAX_PAYLOAD_BYTES } from './legacy.js';
import { verifyLegacyTimestamp, verifyTimestampedAttestation } from './legacy-timestamp.js';
import {
  CHECKS,
  identityMismatch,
  policyTlogMode,
  type TlogMode,
  type VerificationPolicy,
} from './policy.js';

/** What reading a legacy `.att` tag needs of a repository. @public */
export type AttestationSource = ManifestFetcher & Fetcher & Pick<Named, 'name'>;

/** One layer of a `sha256-<hex>.att` manifest, read but NOT verified. @public */
export interface LegacyAttestationLayer {
  /** Position in the manifest's `layers`. */
  index: number;
  /** The layer's media type (`application/vnd.dsse.envelope.v1+json` for attestations). */
  mediaType: string;
  /** The layer digest (= digest of the envelope bytes, checked when they were read). */
  layerDigest: string;
  /** The layer's string annotations. */
  annotations: Record<string, string>;
  /** The parsed envelope, when the layer is a readable DSSE envelope. */
  envelope?: DsseEnvelopeJson;
  /** The envelope's exact bytes (what an RFC 3161 timestamp covers), with `envelope`. */
  envelopeBytes?: Uint8Array;
  /** Why the layer is unusable (not a DSSE layer, blob missing or corrupt, not an envelope). */
  reason?: string;
}

/** Outcome of {@link findLegacyAttestations}. @public */
export interface FindLegacyAttestationsResult {
  /** The tag read, `sha256-<hex>.att`. */
  tag: string;
  /** The attestation manifest; absent when the tag does not exist. */
  manifest?: Descriptor;
  /** Every layer, in manifest order. */
  layers: LegacyAttestationLayer[];
}

/** Options of {@link findLegacyAttestations}. @public */
export interface FindLegacyAttestationsOptions {
  /** Largest envelope read per layer. If unset, 128 MiB (cosign's attachment limit). */
  maxPayloadBytes?: number;
  signal?: AbortSignal;
}

/**
 * Reads the legacy attestations of `digest`: GET the `sha256-<hex>.att` manifest (absent ⇒
 * no layers); for each layer with media type `application/vnd.dsse.envelope.v1+json`
 * fetch the envelope (size-capped, digest- and size-checked while it streams) and parse
 * it. Nothing is verified: the `predicateType` annotation is unsigned, and the envelope's
 * signature and statement still have to be checked ({@link verifyLegacyAttestationLayer}).
 * @throws ChartproofError `INVALID_MANIFEST` when the tag holds something other than an
 *   image manifest with a layer list, or more than 1000 layers; `INVALID_ARGUMENT` for a
 *   bad digest or limit; registry errors other than a missing tag or blob
 * @public
 */
export async function findLegacyAttestations(
  repo: AttestationSource,
  digest: Digest,
  options: FindLegacyAttestationsOptions = {},
): Promise<FindLegacyAttestationsResult> {
  const { signal } = options;
  const cap = options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
  if (!Number.isSafeInteger(cap) || cap < 0)
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `maxPayloadBytes must be a non-negative integer, got ${cap}`,
    );
  const tag = cosignAttestationTag(digest);
  let fetched: FetchedManifest;
  try {
    fetched = await repo.fetchManifest(tag, { signal });
  } catch (e) {
    if (e instanceof RegistryError && e.status === 404) return { tag, layers: [] };
    throw e;
  }
  const where = `${repo.name}:${tag}`;
  const mt = fetched.descriptor.mediaType;
  if (mt !== MediaType.OciManifest && mt !== MediaType.DockerManifest)
    throw new ChartproofError('INVALID_MANIFEST', `${where} is a ${mt}, not an image manifest`);
  const raw = fetched.manifest.layers;
  if (!Array.isArray(raw)) throw new ChartproofError('INVALID_MANIFEST', `${where}: manifest has no layers`);
  checkSignatureLayers(raw, where);
  const layers: LegacyAttestationLayer[] = [];
  for (let index = 0; index < raw.length; index++) {
    signal?.throwIfAborted();
    layers.push(await readLayer(repo, raw[index], index, cap, signal));
  }
  return { tag, manifest: fetched.descriptor, layers };
}

async function readLayer(
  repo: Fetcher,
  raw: unknown,
  index: number,
  cap: number,
  signal: AbortSignal | undefined,
): Promise<LegacyAttestationLayer> {
  const { d, annotations } = layerFields(raw);
  const out: LegacyAttestationLayer = {
    index,
    mediaType: typeof d.mediaType === 'string' ? d.mediaType : '',
    layerDigest: typeof d.digest === 'string' ? d.digest : '',
    annotations,
  };
  const fail = (reason: string) => Object.assign(out, { reason });
  if (out.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE)
    return fail(`skipped: media type ${JSON.stringify(out.mediaType)} is not a DSSE envelope`);
  const bytes = await fetchLayerBlob(repo, out.mediaType, out.layerDigest, d.size, cap, 'envelope', signal);
  if (typeof bytes === 'string') return fail(bytes);
  try {
    out.envelope = parseDsseEnvelope(bytes);
    out.envelopeBytes = bytes;
  } catch (e) {
    return fail((e as Error).message);
  }
  return out;
}

const ENTRY_KINDS = ['intoto', 'dsse'];

function invalid(message: string): never {
  throw new ChartproofError('SIGNATURE_INVALID', message);
}

/**
 * A `dev.sigstore.cosign/bundle` annotation (Rekor's SignedEntryTimestamp and entry,
 * `{"SignedEntryTimestamp", "Payload": {"body", "integratedTime", "logIndex", "logID"}}`)
 * as a bundle v0.1 transparency-log entry with an inclusion promise. Only `intoto` and
 * `dsse` entries, the kinds cosign logs attestations as, are accepted.
 * @throws ChartproofError `SIGNATURE_INVALID` for a malformed annotation or another entry kind
 */
function tlogEntry(annotation: string): Record<string, unknown> {
  const bad = (why: string): never => invalid(`transparency log: ${why}`);
  let parsed: unknown;
  try {
    parsed = parseJsonBounded(annotation, { what: 'the Rekor bundle annotation', source: 'remote' });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    bad('the Rekor bundle annotation is not JSON');
  }
  const b = parsed as { SignedEntryTimestamp?: unknown; Payload?: Record<string, unknown> } | null;
  const p = b?.Payload;
  if (typeof b?.SignedEntryTimestamp !== 'string' || typeof p !== 'object' || p === null)
    bad('the Rekor bundle lacks SignedEntryTimestamp or Payload');
  const { body, integratedTime, logIndex, logID } = p as Record<string, unknown>;
  if (typeof body !== 'string' || typeof logID !== 'string' || !/^[0-9a-fA-F]{64}$/.test(logID))
    bad('the Rekor bundle payload lacks body or a log ID');
  if (!Number.isSafeInteger(integratedTime) || !Number.isSafeInteger(logIndex) || (logIndex as number) < 0)
    bad('the Rekor bundle has an invalid integratedTime or logIndex');
  let set: Uint8Array;
  let entry: { kind?: unknown; apiVersion?: unknown };
  try {
    set = decodeStdBase64(b!.SignedEntryTimestamp as string);
    entry = parseJsonBounded(Buffer.from(decodeStdBase64(body as string)).toString('utf8'), {
      what: 'the Rekor entry body',
      source: 'remote',
    }) as typeof entry;
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    return bad('the Rekor bundle has a malformed SignedEntryTimestamp or body');
  }
  if (typeof entry?.kind !== 'string' || typeof entry.apiVersion !== 'string')
    bad('the Rekor entry body has no kind or apiVersion');
  if (!ENTRY_KINDS.includes(entry.kind as string))
    bad(`a Rekor ${String(entry.kind)} entry does not record a DSSE envelope (intoto or dsse expected)`);
  return {
    logIndex: String(logIndex),
    logId: { keyId: Buffer.from(logID as string, 'hex').toString('base64') },
    kindVersion: { kind: entry.kind, version: entry.apiVersion },
    integratedTime: String(integratedTime),
    inclusionPromise: { signedEntryTimestamp: Buffer.from(set).toString('base64') },
    canonicalizedBody: body,
  };
}

/**
 * The Sigstore bundle (v0.1) that carries the same material as a legacy attestation
 * layer: the envelope, the certificate (`dev.sigstore.cosign/certificate`; else a key,
 * identified by the policy) and, unless `tlog` is false, the Rekor entry of
 * `dev.sigstore.cosign/bundle`. The chain annotation is not used (the trusted root's CA
 * certificates complete the path). The RFC 3161 timestamp annotation is not put in the
 * bundle: it covers the envelope bytes, where a bundle's timestamps cover the signature
 * ({@link verifyLegacyAttestationLayer} verifies it).
 * @throws ChartproofError `SIGNATURE_INVALID` for an envelope with other than one
 *   signature, an unreadable certificate or Rekor annotation
 * @public
 */
export function legacyAttestationBundle(
  envelope: DsseEnvelopeJson,
  annotations: Record<string, string>,
  options: { tlog?: boolean } = {},
): SigstoreBundleJson {
  if (envelope.signatures.length !== 1)
    invalid(
      `the DSSE envelope has ${envelope.signatures.length} signatures; cosign writes (and chartproof verifies) exactly one`,
    );
  const std = (v: string) => Buffer.from(decodeDsseBase64(v)).toString('base64');
  const material: SigstoreBundleJson['verificationMaterial'] = {};
  const certPem = annotations[COSIGN_CERTIFICATE_ANNOTATION];
  if (certPem !== undefined && certPem.trim() !== '') {
    let certs: ReturnType<typeof parsePemCertificates>;
    try {
      certs = parsePemCertificates(certPem);
    } catch (e) {
      return invalid(`certificate: ${(e as Error).message}`);
    }
    if (certs.length !== 1) invalid(`the certificate annotation holds ${certs.length} certificates, not 1`);
    material.x509CertificateChain = { certificates: [{ rawBytes: certs[0]!.raw.toString('base64') }] };
  } else {
    material.publicKey = { hint: '' };
  }
  const rekor = annotations[COSIGN_BUNDLE_ANNOTATION];
  material.tlogEntries = options.tlog !== false && rekor !== undefined ? [tlogEntry(rekor)] : [];
  const sig = envelope.signatures[0]!;
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: material,
    dsseEnvelope: {
      payload: std(envelope.payload),
      payloadType: envelope.payloadType,
      signatures: [{ sig: std(sig.sig), keyid: sig.keyid ?? '' }],
    },
  };
}

/** Input of {@link verifyLegacyAttestationLayer}. @public */
export interface LegacyAttestationInput {
  /**
   * The envelope: the layer blob's bytes, or parsed. A layer with an RFC 3161 timestamp
   * needs the bytes (the timestamp covers them exactly).
   */
  envelope: DsseEnvelopeJson | Uint8Array;
  /** The layer annotations (certificate, chain, Rekor bundle, RFC 3161 timestamp; `predicateType` is ignored). */
  annotations: Record<string, string>;
}

/**
 * Verifies one legacy attestation layer for the manifest `digest` against `policy`:
 * payload type `application/vnd.in-toto+json`; a certificate layer needs policy
 * identities and a trusted root, a key layer policy keys; `policy.tlog` as for legacy
 * `.sig` signatures (`require`: a `dev.sigstore.cosign/bundle` annotation must be there
 * and verify; `if-present`: verified when there; `skip`: ignored); then
 * `verifySigstoreBundle` on the layer re-expressed as a bundle: signature over the PAE,
 * certificate chain, SCT, identity and validity at the log's integrated time, the Rekor
 * entry against this envelope, an in-toto subject with the digest's sha256 and
 * `policy.annotations` on it. The predicate type is not checked here.
 *
 * A `dev.sigstore.cosign/rfc3161timestamp` annotation, when present, must verify (as in
 * cosign; with any tlog mode, and it needs `policy.trustedRoot`): a timestamp over the
 * envelope bytes by one of the trusted root's timestamp authorities. Its signing time is
 * a verified time, so a keyless layer verifies with the timestamp alone (tlog `skip`, or
 * no Rekor annotation with `if-present`); the certificate must be valid at every
 * verified time. It is listed in the result's `timestamps` (`timestamp-authority`).
 * @throws ChartproofError `SIGNATURE_INVALID` with the reason when it does not verify;
 *   `INVALID_ARGUMENT` / `KEY_INVALID` for an unusable policy
 * @public
 */
export function verifyLegacyAttestationLayer(
  input: LegacyAttestationInput,
  options: { digest: Digest | string; policy: VerificationPolicy },
): BundleVerification {
  const { policy } = options;
  if (typeof policy !== 'object' || policy === null)
    throw new ChartproofError('INVALID_ARGUMENT', 'a policy is required');
  const tlog = policyTlogMode(policy);
  const envelope = input.envelope instanceof Uint8Array ? parseDsseEnvelope(input.envelope) : input.envelope;
  const { annotations } = input;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    invalid(`unsupported DSSE payload type ${JSON.stringify(envelope.payloadType)}`);
  const keyless = (annotations[COSIGN_CERTIFICATE_ANNOTATION] ?? '').trim() !== '';
  if (keyless && (policy.identities ?? []).length === 0)
    invalid('the attestation is signed with a certificate, but the policy names no certificate identities');
  if (!keyless && (policy.keys ?? []).length === 0)
    invalid('the attestation is signed with a key, but the policy names no keys');
  if (!policy.trustedRoot && (keyless || tlog !== 'skip'))
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      keyless
        ? 'a trusted root is required to verify certificates'
        : 'a trusted root is required to verify transparency-log entries (or skip the transparency log)',
    );
  if (tlog === 'require' && annotations[COSIGN_BUNDLE_ANNOTATION] === undefined)
    invalid(
      `transparency log: the attestation has no Rekor bundle annotation (${COSIGN_BUNDLE_ANNOTATION}); pass tlog "skip" (--insecure-ignore-tlog) to accept it`,
    );
  const bundle = legacyAttestationBundle(envelope, annotations, { tlog: tlog !== 'skip' });
  const timestamp = annotations[COSIGN_RFC3161_ANNOTATION];
  if (timestamp === undefined) return verifySigstoreBundle(bundle, { digest: options.digest, policy });
  if (!policy.trustedRoot)
    invalid(
      `RFC 3161 timestamp: the attestation carries one (${COSIGN_RFC3161_ANNOTATION}), but no trusted root with timestamp authorities was given to verify it`,
    );
  if (!(input.envelope instanceof Uint8Array))
    invalid(
      "RFC 3161 timestamp: it covers the envelope's exact bytes; pass the envelope as bytes to verify it",
    );
  const timestamped = { annotation: timestamp, envelope, bytes: input.envelope, bundle };
  return keyless
    ? verifyKeylessTimestamped(timestamped, options.digest, policy, tlog)
    : verifyKeyTimestamped(timestamped, options.digest, policy);
}

interface Timestamped {
  annotation: string;
  envelope: DsseEnvelopeJson;
  bytes: Uint8Array;
  bundle: SigstoreBundleJson;
}

/** Key-signed: the bundle as usual, then the timestamp with the policy key that verified. */
function verifyKeyTimestamped(
  t: Timestamped,
  digest: string,
  policy: VerificationPolicy,
): BundleVerification {
  const result = verifySigstoreBundle(t.bundle, { digest, policy });
  const keys = (policy.keys ?? []).map((k) => (typeof k === 'string' ? loadPublicKey(k) : k));
  const key = keys.find((k) => keyHint(k) === result.signer.keyHint) ?? invalid('the verifying key is gone');
  const pae = dssePae(t.envelope.payloadType, decodeDsseBase64(t.envelope.payload));
  const sig = decodeDsseBase64(t.envelope.signatures[0]!.sig);
  const time = verifyLegacyTimestamp({
    annotation: t.annotation,
    covered: t.bytes,
    trustedRoot: policy.trustedRoot!,
    key,
    verifySignature: (k) => verifySignature(k, pae, sig),
  });
  return {
    ...result,
    timestamps: [...result.timestamps, { kind: 'timestamp-authority', time: time.toISOString() }],
  };
}

/**
 * Certificate-signed: `@sigstore/verify` checks the timestamp (over the envelope bytes),
 * the Rekor entry, the certificate chain at every verified time, the SCT and the DSSE
 * signature; then the identity; then the statement, by `verifySigstoreBundle` with the
 * certificate's (now verified) key, as for any bundle.
 */
function verifyKeylessTimestamped(
  t: Timestamped,
  digest: string,
  policy: VerificationPolicy,
  tlog: TlogMode,
): BundleVerification {
  const v = verifyTimestampedAttestation({
    bundle: t.bundle,
    envelope: t.bytes,
    annotation: t.annotation,
    trustedRoot: policy.trustedRoot!,
    tlogThreshold: tlog === 'require' ? 1 : 0,
  });
  const signer: BundleSigner = { kind: 'certificate' };
  const san = v.signer.identity?.subjectAlternativeName;
  const issuer = v.signer.identity?.extensions?.issuer;
  if (san !== undefined) signer.subject = san;
  if (issuer !== undefined) signer.issuer = issuer;
  const reasons = (policy.identities ?? []).map((id) => identityMismatch(id, signer));
  if (!reasons.includes(undefined)) invalid(`certificate identity not trusted: ${reasons.join('; ')}`);
  const claims = verifySigstoreBundle(legacyAttestationBundle(t.envelope, {}, { tlog: false }), {
    digest,
    policy: {
      keys: [v.signer.key],
      tlog: 'skip',
      ...(policy.annotations ? { annotations: policy.annotations } : {}),
    },
  });
  const annotated = Object.keys(policy.annotations ?? {}).length > 0;
  const result: BundleVerification = {
    verified: true,
    mediaType: claims.mediaType,
    content: 'dsse-envelope',
    signer,
    checks: [
      CHECKS.claims,
      ...(v.tlogEntries > 0 ? [CHECKS.tlogOffline] : []),
      CHECKS.certificate,
      ...(annotated ? [CHECKS.annotations] : []),
    ],
    timestamps: [
      ...v.tlogTimes.map((d) => ({ kind: 'transparency-log' as const, time: d.toISOString() })),
      { kind: 'timestamp-authority', time: v.time.toISOString() },
    ],
    tlogEntries: v.tlogEntries,
  };
  if (claims.statement) result.statement = claims.statement;
  return result;
}
