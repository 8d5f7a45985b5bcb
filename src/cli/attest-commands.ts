import { parseChartReference } from '../chart/oci.js';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import { type AttestationFormat, attestChart, cosignCustomPredicate } from '../sign/attest.js';
import {
  COSIGN_CUSTOM_PREDICATE_TYPE,
  resolvePredicateType,
  SLSA_PROVENANCE_V1_PREDICATE_TYPE,
} from '../cosign/predicates.js';
import { keyFileSigner, passwordFromEnv } from '../keys/keys.js';
import { AttestationVerificationError, verifyChartAttestations } from '../verify/attestation.js';
import type { Command } from './commands.js';
import {
  annotationsFromFlags,
  POLICY_OPTIONS,
  policyFromFlags,
  readTextFile,
  printChecks,
  printFailure,
  TLOG_WARNING,
  verifyFormatFromFlags,
} from './policy-flags.js';
import { Exit, expectArgs, local, UsageError } from './io.js';

/**
 * The predicate `cosign attest --type T --predicate FILE` signs for a file: the
 * custom type wraps the text (`{"Data", "Timestamp"}`); every other type needs a JSON
 * object (SPDX tag-value text is not supported). For SLSA v1, cosign's renaming of
 * `runDetails.metadata.invocationID` to `invocationId` is applied.
 */
export function predicateFromFile(
  text: string,
  predicateType: string,
  now = new Date(),
): Record<string, unknown> {
  if (predicateType === COSIGN_CUSTOM_PREDICATE_TYPE) return cosignCustomPredicate(text, now);
  let value: unknown;
  try {
    value = parseJsonBounded(text, { what: `the predicate for ${predicateType}`, source: 'local' });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `the predicate for ${predicateType} must be JSON: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ChartproofError('INVALID_ARGUMENT', `the predicate for ${predicateType} must be a JSON object`);
  const predicate = value as Record<string, unknown>;
  if (predicateType === SLSA_PROVENANCE_V1_PREDICATE_TYPE) {
    const metadata = (predicate.runDetails as { metadata?: unknown } | undefined)?.metadata;
    if (typeof metadata === 'object' && metadata !== null && 'invocationID' in metadata) {
      const m = metadata as Record<string, unknown>;
      m.invocationId = m.invocationID;
      delete m.invocationID;
    }
  }
  return predicate;
}

const ATTEST_FORMATS: readonly AttestationFormat[] = ['bundle', 'legacy', 'both'];

/**
 * `chartproof attest --key KEY --predicate FILE [--type T] [--format bundle|legacy|both]
 * REF [-a k=v]...`: signs an in-toto attestation of the chart's manifest digest and
 * attaches it as a bundle referrer (cosign v3 `attest`, the default), as a layer of the
 * legacy `sha256-<hex>.att` manifest (cosign v2, `--new-bundle-format=false`), or both.
 */
export const ATTEST_COMMAND: Command = {
  usage: 'attest --key KEY --predicate FILE [--type T] [--format bundle|legacy|both] REF [-a k=v]...',
  summary:
    'attach a signed in-toto attestation (SBOM, SLSA provenance, …) to a chart (password from COSIGN_PASSWORD)',
  help:
    '\n--type: slsaprovenance (SLSA v0.2), slsaprovenance02, slsaprovenance1 (SLSA v1), spdx, spdxjson, cyclonedx,\n' +
    'link, vuln, openvex, custom (default, as in cosign), or a predicate type URI. With custom, the predicate file is\n' +
    'wrapped as cosign does: {"Data": "<file text>", "Timestamp": "<now>"}; every other type takes a JSON object.\n' +
    'The reference is resolved to its digest once; the statement names that digest. -a adds signed annotations to\n' +
    'the statement subject. --format: bundle (default, cosign 3: a Sigstore bundle referrer), legacy (cosign 2 and\n' +
    '`cosign attest --new-bundle-format=false`: a DSSE layer appended to the sha256-<hex>.att tag, other layers\n' +
    'kept) or both. No transparency-log entry is made: verify with --insecure-ignore-tlog.\n',
  options: {
    key: { type: 'string' },
    predicate: { type: 'string' },
    type: { type: 'string' },
    format: { type: 'string' },
    annotations: { type: 'string', short: 'a', multiple: true },
  },
  async run(ctx) {
    const [ref] = expectArgs(ctx.args, 1, this.usage);
    const keyPath = ctx.values.key as string | undefined;
    if (!keyPath) throw new UsageError('--key is required');
    const predicatePath = ctx.values.predicate as string | undefined;
    if (!predicatePath) throw new UsageError('--predicate is required');
    const format = ((ctx.values.format as string | undefined) ?? 'bundle') as AttestationFormat;
    if (!ATTEST_FORMATS.includes(format))
      throw new UsageError(`--format must be one of ${ATTEST_FORMATS.join(', ')}`);
    const predicateType = resolvePredicateType((ctx.values.type as string | undefined) ?? 'custom');
    const predicate = await local(async () =>
      predicateFromFile(await readTextFile(predicatePath, 'predicate'), predicateType),
    );
    const password = passwordFromEnv(ctx.io.env);
    if (password === undefined)
      throw new UsageError('set COSIGN_PASSWORD to the private key password (it may be empty)');
    const signer = await local(async () => keyFileSigner(await readTextFile(keyPath, 'key'), password));
    const parsed = parseChartReference(ref!);
    const repo = ctx.client.repository(parsed);
    const subject = await repo.resolve(parsed.digest ?? parsed.tag ?? 'latest');
    const annotations = annotationsFromFlags(ctx);
    const result = await attestChart(repo, subject, signer, {
      predicateType,
      predicate,
      format,
      ...(annotations ? { annotations } : {}),
    });
    const pinned = repo.pinned(subject.digest);
    const out: Record<string, unknown> = { pinned, digest: subject.digest, predicateType, format };
    const lines = [`Attested ${pinned}`, `  type: ${predicateType}`];
    if (result.legacy) {
      const l = result.legacy;
      out.legacy = {
        tag: l.tag,
        manifestDigest: l.manifestDigest,
        layer: l.layer.digest,
        appended: l.appended,
      };
      lines.push(
        `  legacy: ${repo.name}:${l.tag} (layer ${l.layer.digest}${l.appended ? '' : ', already there'})`,
      );
    }
    if (result.format !== 'legacy') {
      out.referrer = result.manifest.digest;
      out.referrersApi = result.referrersApi;
      lines.push(`  bundle: ${repo.name}@${result.manifest.digest} (referrer)`);
    }
    ctx.io.stdout(ctx.flags.json ? `${JSON.stringify(out, null, 2)}\n` : `${lines.join('\n')}\n`);
    return Exit.ok;
  },
};

/**
 * `chartproof verify-attestation REF (--key PUB | --certificate-identity[-regexp] X
 * --certificate-oidc-issuer[-regexp] Y) [--type T] [--trusted-root FILE | --tuf]
 * [--insecure-ignore-tlog] [-a k=v]...`: cosign-style; stderr has the checks, stdout
 * the JSON result with the pinned reference and the verified predicates.
 */
export const VERIFY_ATTESTATION_COMMAND: Command = {
  usage:
    'verify-attestation REF (--key PUB | --certificate-identity[-regexp] X --certificate-oidc-issuer[-regexp] Y) [--type T] [--format bundle|legacy] [--trusted-root FILE | --tuf] [--insecure-ignore-tlog] [-a k=v]...',
  summary: 'verify a chart’s in-toto attestations of one predicate type and print the predicates',
  help:
    '\n--type is a cosign shorthand (slsaprovenance, slsaprovenance1, spdx, cyclonedx, vuln, openvex, custom, …) or a\n' +
    'URI; the default is custom, as in cosign. Only the predicate type inside the signed statement counts. The\n' +
    'reference is resolved to a digest once; the result gives `pinned` (registry/repo@sha256:…) to install.\n' +
    'Sigstore bundle referrers are tried first, then legacy sha256-<hex>.att layers (cosign 2); the result\n' +
    'says which format verified. --format bundle|legacy restricts the formats tried.\n' +
    'Transparency-log evidence is required unless --insecure-ignore-tlog, checked offline against --trusted-root\n' +
    'FILE (or the TUF root with --tuf, over the network).\n' +
    'Exit codes: 0 verified, 1 no (valid) attestation, 2 bad usage or unreadable input, 3 registry or network.\n',
  options: { ...POLICY_OPTIONS, type: { type: 'string' }, format: { type: 'string' } },
  async run(ctx) {
    const [ref] = expectArgs(ctx.args, 1, this.usage);
    const predicateType = resolvePredicateType((ctx.values.type as string | undefined) ?? 'custom');
    const format = verifyFormatFromFlags(ctx);
    const policy = await policyFromFlags(ctx);
    if (policy.tlog === 'skip') ctx.io.stderr(TLOG_WARNING);
    try {
      const result = await verifyChartAttestations(ctx.client, ref!, {
        policy,
        predicateType,
        ...(format ? { formats: [format] } : {}),
      });
      printChecks(ctx, ref!, result.checks);
      ctx.io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      return Exit.ok;
    } catch (e) {
      if (!(e instanceof AttestationVerificationError)) throw e;
      // A failure never prints a pinned reference: nothing here may be installed.
      if (ctx.flags.json) {
        ctx.io.stdout(
          `${JSON.stringify({ reference: ref, digest: e.digest, verified: false, predicateType, attestations: [], error: { code: e.code, message: e.message }, rejected: e.rejected, found: e.found }, null, 2)}\n`,
        );
      }
      printFailure(ctx, e, Exit.verification);
      return Exit.verification;
    }
  },
};
