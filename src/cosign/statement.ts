/**
 * in-toto Statements: what a Sigstore DSSE bundle signs. cosign v3 signs an image
 * (or chart) with a Statement v1 whose predicate type is
 * `https://sigstore.dev/cosign/sign/v1`; attestations (SBOM, SLSA, custom) use the
 * same envelope with their own predicate.
 *
 * References: in-toto attestation spec `spec/v1/statement.md`,
 * `spec/v1/resource_descriptor.md`; cosign `cmd/cosign/cli/sign/sign.go`
 * (`signDigestBundle`), `pkg/types/predicate.go`.
 */
import { compareGoMapKeys } from '../internal/encoding/go-json.js';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import { type Digest, parseDigest } from '../oci/digest.js';
import { isRecord } from '../internal/guards.js';

/** `_type` of an in-toto Statement v1. @public */
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** `_type` of an in-toto Statement v0.1 (older attestations; still read). @public */
export const IN_TOTO_STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';
/** DSSE `payloadType` of an in-toto Statement. @public */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** Predicate type of the statement `cosign sign` (v3 bundle format) signs. @public */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

/** A subject of an in-toto Statement (a ResourceDescriptor with a digest). @public */
export interface InTotoSubject {
  /** Optional name (cosign writes none). */
  name?: string;
  /** Algorithm → lowercase hex digest, e.g. `{ sha256: '9f86…' }`. At least one entry. */
  digest: Record<string, string>;
  /** Free-form annotations (cosign: the `-a key=value` pairs). */
  annotations?: Record<string, unknown>;
}

/** A parsed in-toto Statement. @public */
export interface InTotoStatement<P = Record<string, unknown>> {
  _type: typeof IN_TOTO_STATEMENT_V1 | typeof IN_TOTO_STATEMENT_V01;
  subject: InTotoSubject[];
  predicateType: string;
  /** Absent in statements written by cosign ≤ 3.0.4. */
  predicate?: P;
}

// Lowercase hex lengths of the digest algorithms whose values are checked.
const HEX_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128, sha1: 40 };

/**
 * The statement `cosign sign` (≥ 3.0.5, bundle format) signs for `subjectDigest`,
 * byte for byte as cosign's protojson writes it (compact):
 * `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"<hex>"},"annotations":{…}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`.
 * `annotations` is always present (`{}` without `-a`), keys sorted, as protojson
 * writes a `Struct`. cosign ≤ 3.0.4 omitted `"predicate"`; readers accept both.
 * @throws ChartproofError `INVALID_DIGEST` for an invalid digest, `INVALID_ARGUMENT`
 *   for non-string annotation values
 * @public
 */
export function cosignSignStatement(
  subjectDigest: Digest | string,
  annotations: Record<string, string> = {},
): Uint8Array {
  const { algorithm, encoded } = parseDigest(subjectDigest);
  checkAnnotations(annotations, 'INVALID_ARGUMENT');
  const subject = `{"digest":{${JSON.stringify(algorithm)}:${JSON.stringify(encoded)}},"annotations":${sortedJson(annotations)}}`;
  return utf8(
    `{"_type":${JSON.stringify(IN_TOTO_STATEMENT_V1)},"subject":[${subject}],"predicateType":${JSON.stringify(COSIGN_SIGN_PREDICATE_TYPE)},"predicate":{}}`,
  );
}

/**
 * An in-toto Statement v1 for an attestation (SBOM, SLSA provenance, custom
 * predicates), serialised compactly in the spec's field order
 * (`_type, subject, predicateType, predicate`; subject `name, digest, annotations`).
 * @throws ChartproofError `INVALID_ARGUMENT` for an empty subject list, a subject
 *   without digest, an empty predicate type or a predicate that is not an object
 * @public
 */
export function inTotoStatement(
  subjects: readonly InTotoSubject[],
  predicateType: string,
  predicate: Record<string, unknown>,
): Uint8Array {
  if (!Array.isArray(subjects) || subjects.length === 0)
    throw new ChartproofError('INVALID_ARGUMENT', 'an in-toto statement needs at least one subject');
  const parts = subjects.map((s, i) => {
    checkSubject(s, `subject[${i}]`, 'INVALID_ARGUMENT');
    const fields: string[] = [];
    if (s.name !== undefined) fields.push(`"name":${JSON.stringify(s.name)}`);
    fields.push(`"digest":${sortedJson(s.digest)}`);
    if (s.annotations !== undefined) fields.push(`"annotations":${JSON.stringify(s.annotations)}`);
    return `{${fields.join(',')}}`;
  });
  if (typeof predicateType !== 'string' || predicateType.length === 0)
    throw new ChartproofError('INVALID_ARGUMENT', 'predicateType must be a non-empty string');
  if (!isRecord(predicate)) throw new ChartproofError('INVALID_ARGUMENT', 'predicate must be a JSON object');
  return utf8(
    `{"_type":${JSON.stringify(IN_TOTO_STATEMENT_V1)},"subject":[${parts.join(',')}],"predicateType":${JSON.stringify(predicateType)},"predicate":${JSON.stringify(predicate)}}`,
  );
}

/**
 * Parses and validates an in-toto Statement (the DSSE payload of a bundle): `_type`
 * v1 or v0.1, a non-empty subject list whose entries have a non-empty digest map of
 * strings (`sha256`/`sha384`/`sha512`/`sha1` values must be lowercase hex of the right
 * length), a non-empty `predicateType`, and an object `predicate` when present.
 * @throws ChartproofError `SIGNATURE_INVALID` when the bytes are not such a statement
 * @public
 */
export function parseInTotoStatement(bytes: Uint8Array | string): InTotoStatement {
  let value: unknown;
  try {
    const text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    value = parseJsonBounded(text, { what: 'in-toto statement' });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    throw new ChartproofError('SIGNATURE_INVALID', 'in-toto statement is not valid UTF-8 JSON', { cause: e });
  }
  if (!isRecord(value)) throw invalid('not a JSON object');
  const type = value._type;
  if (type !== IN_TOTO_STATEMENT_V1 && type !== IN_TOTO_STATEMENT_V01)
    throw invalid(`unsupported _type ${JSON.stringify(type)}`);
  const subjects = value.subject;
  if (!Array.isArray(subjects) || subjects.length === 0) throw invalid('subject must be a non-empty list');
  for (const [i, s] of subjects.entries()) checkSubject(s, `subject[${i}]`, 'SIGNATURE_INVALID');
  if (typeof value.predicateType !== 'string' || value.predicateType.length === 0)
    throw invalid('predicateType must be a non-empty string');
  if (value.predicate !== undefined && value.predicate !== null && !isRecord(value.predicate))
    throw invalid('predicate must be a JSON object');
  const out: InTotoStatement = {
    _type: type,
    subject: subjects as InTotoSubject[],
    predicateType: value.predicateType,
  };
  if (isRecord(value.predicate)) out.predicate = value.predicate;
  return out;
}

/**
 * True when one subject of `statement` has `digest` (`algorithm:hex`) in its digest
 * map. This is the claim check cosign's verifier makes (`IntotoSubjectClaimVerifier`).
 * @throws ChartproofError `INVALID_DIGEST` for an invalid digest
 * @public
 */
export function statementHasSubject(statement: InTotoStatement, digest: Digest | string): boolean {
  const { algorithm, encoded } = parseDigest(digest);
  return statement.subject.some((s) => s.digest[algorithm] === encoded);
}

function checkSubject(
  s: unknown,
  where: string,
  code: 'INVALID_ARGUMENT' | 'SIGNATURE_INVALID',
): asserts s is InTotoSubject {
  const bad = (why: string) => new ChartproofError(code, `in-toto statement ${where}: ${why}`);
  if (!isRecord(s)) throw bad('not an object');
  if (s.name !== undefined && typeof s.name !== 'string') throw bad('name must be a string');
  const digest = s.digest;
  if (!isRecord(digest) || Object.keys(digest).length === 0) throw bad('digest must be a non-empty map');
  for (const [alg, hex] of Object.entries(digest)) {
    if (typeof hex !== 'string' || hex.length === 0) throw bad(`digest ${alg} must be a non-empty string`);
    const len = HEX_LENGTHS[alg];
    if (len !== undefined && (hex.length !== len || !/^[0-9a-f]+$/.test(hex)))
      throw bad(`digest ${alg} is not ${len} lowercase hex characters`);
  }
  if (s.annotations !== undefined && !isRecord(s.annotations)) throw bad('annotations must be an object');
}

function checkAnnotations(a: unknown, code: 'INVALID_ARGUMENT'): asserts a is Record<string, string> {
  if (!isRecord(a) || !Object.values(a).every((v) => typeof v === 'string'))
    throw new ChartproofError(code, 'annotations must be a map of strings');
}

function invalid(why: string): ChartproofError {
  return new ChartproofError('SIGNATURE_INVALID', `invalid in-toto statement: ${why}`);
}

// A map of strings with sorted keys (protojson and Go both sort map keys).
function sortedJson(map: Record<string, string>): string {
  const keys = Object.keys(map).sort(compareGoMapKeys);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(map[k])}`).join(',')}}`;
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
