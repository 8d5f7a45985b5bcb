/**
 * in-toto predicate types cosign knows by name (`cosign attest --type`), and the
 * mapping from its shorthands to URIs.
 *
 * References: cosign `cmd/cosign/cli/options/predicate.go` (`PredicateTypeMap`,
 * `ParsePredicateType`).
 */
import { ChartproofError } from '../errors.js';

/** SLSA provenance v1 (`cosign attest --type slsaprovenance1`). @public */
export const SLSA_PROVENANCE_V1_PREDICATE_TYPE = 'https://slsa.dev/provenance/v1';
/** SLSA provenance v0.2 (`--type slsaprovenance` / `slsaprovenance02`). @public */
export const SLSA_PROVENANCE_V02_PREDICATE_TYPE = 'https://slsa.dev/provenance/v0.2';
/** SPDX document (`--type spdx` / `spdxjson`). @public */
export const SPDX_PREDICATE_TYPE = 'https://spdx.dev/Document';
/** CycloneDX BOM (`--type cyclonedx`). @public */
export const CYCLONEDX_PREDICATE_TYPE = 'https://cyclonedx.org/bom';
/** cosign's custom predicate `{"Data": …, "Timestamp": …}` (`--type custom`, cosign's default). @public */
export const COSIGN_CUSTOM_PREDICATE_TYPE = 'https://cosign.sigstore.dev/attestation/v1';
/** cosign's vulnerability-scan predicate (`--type vuln`). @public */
export const COSIGN_VULN_PREDICATE_TYPE = 'https://cosign.sigstore.dev/attestation/vuln/v1';
/** OpenVEX (`--type openvex`). @public */
export const OPENVEX_PREDICATE_TYPE = 'https://openvex.dev/ns';
/** in-toto link v1 (`--type link`). @public */
export const IN_TOTO_LINK_PREDICATE_TYPE = 'https://in-toto.io/Link/v1';

/**
 * cosign's `--type` shorthands and the predicate type URIs they stand for, as
 * cosign's `PredicateTypeMap` maps them (`slsaprovenance` is SLSA v0.2, not v1).
 * @public
 */
export const PREDICATE_TYPE_SHORTHANDS: Readonly<Record<string, string>> = Object.freeze({
  custom: COSIGN_CUSTOM_PREDICATE_TYPE,
  slsaprovenance: SLSA_PROVENANCE_V02_PREDICATE_TYPE,
  slsaprovenance02: SLSA_PROVENANCE_V02_PREDICATE_TYPE,
  slsaprovenance1: SLSA_PROVENANCE_V1_PREDICATE_TYPE,
  spdx: SPDX_PREDICATE_TYPE,
  spdxjson: SPDX_PREDICATE_TYPE,
  cyclonedx: CYCLONEDX_PREDICATE_TYPE,
  link: IN_TOTO_LINK_PREDICATE_TYPE,
  vuln: COSIGN_VULN_PREDICATE_TYPE,
  openvex: OPENVEX_PREDICATE_TYPE,
});

/**
 * The predicate type URI for a cosign `--type` value: a shorthand of
 * {@link PREDICATE_TYPE_SHORTHANDS}, or a URI, taken as is. Like cosign's
 * `ParsePredicateType` (Go `url.ParseRequestURI`), anything else is refused: a URI
 * needs a scheme (`https://…`, `urn:…`) or must be an absolute path.
 * @throws ChartproofError `INVALID_ARGUMENT` for anything else
 * @public
 */
export function resolvePredicateType(type: string): string {
  if (typeof type !== 'string' || type.length === 0)
    throw new ChartproofError('INVALID_ARGUMENT', 'the predicate type must be a non-empty string');
  if (Object.hasOwn(PREDICATE_TYPE_SHORTHANDS, type)) return PREDICATE_TYPE_SHORTHANDS[type]!;
  if (/\s/.test(type) || !(/^[A-Za-z][A-Za-z0-9+.-]*:/.test(type) || type.startsWith('/')))
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `invalid predicate type ${JSON.stringify(type)}: use one of ${Object.keys(PREDICATE_TYPE_SHORTHANDS).join(', ')} or a URI`,
    );
  return type;
}
