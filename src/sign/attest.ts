/**
 * in-toto attestations of charts (SLSA provenance, SPDX / CycloneDX SBOMs, OpenVEX,
 * custom predicates), written the way `cosign attest` does by default since v3: an
 * in-toto statement about the chart's manifest digest, signed into a Sigstore DSSE
 * bundle v0.3 and stored as an OCI 1.1 referrer whose manifest carries the
 * `dev.sigstore.bundle.predicateType` annotation; or, on request, in cosign's legacy
 * `sha256-<hex>.att` layout (see `legacy-attest.ts`).
 *
 * References: cosign `cmd/cosign/cli/attest/attest.go`,
 * `cmd/cosign/cli/options/predicate.go` (`PredicateTypeMap`, `ParsePredicateType`),
 * `pkg/cosign/attestation/attestation.go` (`GenerateStatement`), `pkg/oci/remote/write.go`
 * (`WriteAttestationNewBundleFormat`); in-toto attestation `spec/v1/statement.md`.
 */
import { utf8Bytes } from '../internal/encoding/go-json.js';
import { ChartproofError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, parseDigest } from '../oci/digest.js';
import { createDsseBundle, type SigstoreBundleJson, type Witness } from './bundle.js';
import {
  type AttachLegacyAttestationResult,
  attachLegacyAttestation,
  createDsseEnvelope,
} from './legacy-attest.js';
import { type AttachBundleResult, attachBundle } from './referrer.js';
import type { Signer } from '../keys/signer.js';
import { type InTotoSubject, inTotoStatement } from '../cosign/statement.js';
import { resolveSubject } from '../cosign/subject.js';

import { resolvePredicateType } from '../cosign/predicates.js';
import type { SignatureTarget } from './target.js';

/** cosign's custom predicate (see {@link cosignCustomPredicate}). @public */
export interface CosignCustomPredicate {
  [key: string]: string;
  /** The predicate file's text, verbatim. */
  Data: string;
  /** RFC 3339 UTC time, seconds. */
  Timestamp: string;
}

/**
 * The predicate `cosign attest --type custom` (cosign's default type) writes for a
 * predicate file: `{"Data": "<the file's text>", "Timestamp": "<RFC 3339 UTC>"}`. The
 * file is not parsed; `Data` is its text, so what was attested is read back exactly.
 * @param time - if unset, now
 * @public
 */
export function cosignCustomPredicate(
  data: string | Uint8Array,
  time: Date = new Date(),
): CosignCustomPredicate {
  if (Number.isNaN(time.getTime())) throw new ChartproofError('INVALID_ARGUMENT', 'invalid timestamp');
  const text = typeof data === 'string' ? data : new TextDecoder('utf-8').decode(data);
  return { Data: text, Timestamp: time.toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

/**
 * Where {@link (attestChart:1)} stores the attestation: `bundle` (a Sigstore bundle
 * referrer, cosign v3's default), `legacy` (a layer of the `sha256-<hex>.att` manifest,
 * what cosign v2 and `cosign attest --new-bundle-format=false` write), or `both`.
 * @public
 */
export type AttestationFormat = 'bundle' | 'legacy' | 'both';

const ATTESTATION_FORMATS: readonly AttestationFormat[] = ['bundle', 'legacy', 'both'];

/** Options of {@link (attestChart:1)}. @public */
export interface AttestChartOptions {
  /** Predicate type: a URI, or a cosign shorthand (see {@link resolvePredicateType}). */
  predicateType: string;
  /** The predicate, signed as given (JSON object). */
  predicate: Record<string, unknown>;
  /**
   * Annotations signed into the statement's subject; `verifyChartAttestations` with
   * `policy.annotations` requires them. If unset, the subject has none.
   */
  annotations?: Record<string, string>;
  /**
   * The subject's `name`. If unset, the repository (`registry/repository`), as cosign
   * writes it; `false` writes no name.
   */
  subjectName?: string | false;
  /**
   * The storage format. If unset, `bundle` (cosign v3's default). With `both` the same
   * statement is signed twice, once into each format (legacy first).
   */
  format?: AttestationFormat;
  /** Creation time of the referrer (bundle format). If unset, now. */
  created?: Date | string;
  /**
   * Rekor / TSA witnesses (see `createDsseBundle`). If unset, none. Bundle format only:
   * with `legacy` or `both` they are refused.
   */
  witnesses?: Witness[];
  signal?: AbortSignal;
}

/** What {@link (attestChart:1)} did with the bundle format (`bundle` or `both`). @public */
export interface AttestChartResult extends AttachBundleResult {
  /** The format written. */
  format: 'bundle' | 'both';
  /** The predicate type URI written (shorthands resolved). */
  predicateType: string;
  /** The signed in-toto statement bytes. */
  statement: Uint8Array;
  /** The bundle JSON stored in the referrer. */
  bundle: SigstoreBundleJson;
  /** The legacy `.att` layer written, with `format: 'both'`. */
  legacy?: AttachLegacyAttestationResult;
}

/** What {@link (attestChart:1)} did with `format: 'legacy'`. @public */
export interface AttestChartLegacyResult {
  /** The format written. */
  format: 'legacy';
  /** The attested manifest. */
  subject: Descriptor;
  /** The predicate type URI written (shorthands resolved). */
  predicateType: string;
  /** The signed in-toto statement bytes (the envelope's payload). */
  statement: Uint8Array;
  /** The `.att` layer written. */
  legacy: AttachLegacyAttestationResult;
}

/**
 * Attests `subject` the way `cosign attest --key` does: an in-toto Statement v1 whose
 * subject is the manifest's sha256 (named after the repository), `predicateType` and
 * `predicate`, signed by `signer`. `format` (default `bundle`, cosign v3's default)
 * chooses the storage: `bundle` signs a DSSE bundle v0.3 stored with `attachBundle` as a
 * referrer annotated with the predicate type (every call adds a referrer); `legacy`
 * signs a DSSE envelope appended to the `sha256-<hex>.att` manifest
 * (`attachLegacyAttestation`, cosign `--new-bundle-format=false`); `both` does both with
 * the same statement.
 *
 * @param subject - the chart manifest: a descriptor (trusted as given), or a digest or
 *   tag of `repo` (resolved with HEAD, once)
 * @throws ChartproofError `INVALID_ARGUMENT` for an invalid predicate type, predicate,
 *   annotation, format or subject, or witnesses with a legacy format; as
 *   `createDsseBundle`, `attachBundle`, `createDsseEnvelope` and `attachLegacyAttestation`
 * @example
 * ```ts
 * await attestChart(repo, '1.0.0', signer, {
 *   predicateType: SLSA_PROVENANCE_V1_PREDICATE_TYPE,
 *   predicate: { buildDefinition: { … }, runDetails: { … } },
 *   format: 'both',
 * });
 * ```
 * @public
 */
export function attestChart(
  repo: SignatureTarget,
  subject: Descriptor | Digest | string,
  signer: Signer,
  options: AttestChartOptions & { format: 'legacy' },
): Promise<AttestChartLegacyResult>;
/** {@inheritDoc (attestChart:1)} @public */
export function attestChart(
  repo: SignatureTarget,
  subject: Descriptor | Digest | string,
  signer: Signer,
  options: AttestChartOptions & { format?: 'bundle' | 'both' },
): Promise<AttestChartResult>;
/** {@inheritDoc (attestChart:1)} @public */
export function attestChart(
  repo: SignatureTarget,
  subject: Descriptor | Digest | string,
  signer: Signer,
  options: AttestChartOptions,
): Promise<AttestChartResult | AttestChartLegacyResult>;
export async function attestChart(
  repo: SignatureTarget,
  subject: Descriptor | Digest | string,
  signer: Signer,
  options: AttestChartOptions,
): Promise<AttestChartResult | AttestChartLegacyResult> {
  const { signal } = options;
  const format = options.format ?? 'bundle';
  if (!ATTESTATION_FORMATS.includes(format))
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `unknown attestation format ${JSON.stringify(format)}: use ${ATTESTATION_FORMATS.join(', ')}`,
    );
  if (format !== 'bundle' && (options.witnesses ?? []).length > 0)
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      'witnesses (transparency log, timestamps) are written in the bundle format only',
    );
  const predicateType = resolvePredicateType(options.predicateType);
  const predicate = options.predicate;
  if (typeof predicate !== 'object' || predicate === null || Array.isArray(predicate))
    throw new ChartproofError('INVALID_ARGUMENT', 'the predicate must be a JSON object');
  const annotations = options.annotations ?? {};
  for (const [k, v] of Object.entries(annotations))
    if (typeof v !== 'string')
      throw new ChartproofError('INVALID_ARGUMENT', `annotation ${k} must be a string`);
  const subjectDesc = await resolveSubject(repo, subject, signal);
  const { algorithm, encoded } = parseDigest(subjectDesc.digest);
  const statementSubject: InTotoSubject = { digest: { [algorithm]: encoded } };
  const name = options.subjectName === undefined ? repo.name : options.subjectName;
  if (name !== false) statementSubject.name = name;
  if (Object.keys(annotations).length > 0) statementSubject.annotations = { ...annotations };
  const statement = inTotoStatement([statementSubject], predicateType, predicate);

  let legacy: AttachLegacyAttestationResult | undefined;
  if (format !== 'bundle') {
    const envelope = await createDsseEnvelope(statement, signer, { signal });
    legacy = await attachLegacyAttestation(repo, subjectDesc, envelope, { predicateType, signal });
    if (format === 'legacy') return { format, subject: subjectDesc, predicateType, statement, legacy };
  }
  const bundle = await createDsseBundle(statement, signer, {
    signal,
    ...(options.witnesses ? { witnesses: options.witnesses } : {}),
  });
  const attached = await attachBundle(repo, subjectDesc, utf8Bytes(JSON.stringify(bundle)), {
    predicateType,
    ...(options.created !== undefined ? { created: options.created } : {}),
    signal,
  });
  return { ...attached, format, predicateType, statement, bundle, ...(legacy ? { legacy } : {}) };
}
