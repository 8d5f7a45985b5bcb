/**
 * cosign's verification-policy flags, shared by `verify`, `verify-attestation` and
 * `verify-bundle`, and small file helpers.
 */
import type { ChartproofError } from '../errors.js';
import type { CertificateIdentity, VerificationPolicy } from '../verify/policy.js';
import { fetchTrustedRoot, loadTrustedRoot } from '../verify/trusted-root.js';
import type { Command, CommandContext } from './commands.js';
import { errorJson, local, UsageError } from './io.js';
import { readTextFileBounded } from '../internal/read-file.js';

/** The warning cosign prints with `--insecure-ignore-tlog`. */
export const TLOG_WARNING =
  'WARNING: Skipping tlog verification is an insecure practice that lacks transparency and auditability verification for the signature.\n';

/** `--format bundle|legacy` of the verify commands: which signature format to try. */
export function verifyFormatFromFlags(ctx: CommandContext): 'bundle' | 'legacy' | undefined {
  const format = ctx.values.format as string | undefined;
  if (format !== undefined && format !== 'bundle' && format !== 'legacy')
    throw new UsageError('--format must be bundle or legacy');
  return format;
}

/** cosign's `Verification for REF --` block on stderr, one line per check performed. */
export function printChecks(ctx: CommandContext, ref: string, checks: readonly string[]): void {
  ctx.io.stderr(
    `\nVerification for ${ref} --\nThe following checks were performed on each of these signatures:\n${checks
      .map((c) => `  - ${c}\n`)
      .join('')}`,
  );
}

/**
 * A failure the command handles itself: `Error: …` on stderr, or with `--json` the
 * CLI's JSON error object (`{"error":{"code","message","exitCode"}}`).
 */
export function printFailure(ctx: CommandContext, e: ChartproofError, exitCode: number): void {
  if (ctx.flags.json) ctx.io.stderr(`${JSON.stringify({ error: errorJson(e, e.message, exitCode) })}\n`);
  else ctx.io.stderr(`Error: ${e.message}\n`);
}

/** cosign's verification-policy flags (parseArgs options). */
export const POLICY_OPTIONS = {
  key: { type: 'string' },
  'certificate-identity': { type: 'string' },
  'certificate-identity-regexp': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
  'certificate-oidc-issuer-regexp': { type: 'string' },
  'trusted-root': { type: 'string' },
  tuf: { type: 'boolean' },
  'insecure-ignore-tlog': { type: 'boolean' },
  annotations: { type: 'string', short: 'a', multiple: true },
} as const satisfies Command['options'];

/** `-a k=v` flags as a map (cosign's `--annotations`), undefined without any. */
export function annotationsFromFlags(ctx: CommandContext): Record<string, string> | undefined {
  const raw = ctx.values.annotations as string[] | undefined;
  if (!raw || raw.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const a of raw) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new UsageError(`-a expects key=value, got ${JSON.stringify(a)}`);
    out[a.slice(0, eq)] = a.slice(eq + 1);
  }
  return out;
}

/** Largest key, predicate or Secret-list file read by the CLI unless told otherwise. */
const MAX_TEXT_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Reads a file as text, at most `maxBytes` (`SIZE_LIMIT_EXCEEDED` past it); `IO` error
 * (exit 2) when it cannot be read.
 */
export async function readTextFile(
  path: string,
  what: string,
  maxBytes: number = MAX_TEXT_FILE_BYTES,
): Promise<string> {
  return readTextFileBounded(path, { maxBytes, what });
}

/**
 * The verification policy of {@link POLICY_OPTIONS}: `--key` or a certificate
 * identity (subject and issuer, exact or regexp), the trust root (`--trusted-root`
 * or `--tuf`; required unless `--key` with `--insecure-ignore-tlog`), `-a`.
 * @throws UsageError for inconsistent flags
 */
export async function policyFromFlags(ctx: CommandContext): Promise<VerificationPolicy> {
  const v = ctx.values;
  const policy: VerificationPolicy = {};
  const keyPath = v.key as string | undefined;
  const identity: CertificateIdentity = {};
  if (v['certificate-identity'] !== undefined) identity.subject = v['certificate-identity'] as string;
  if (v['certificate-identity-regexp'] !== undefined)
    identity.subjectRegExp = v['certificate-identity-regexp'] as string;
  if (v['certificate-oidc-issuer'] !== undefined) identity.issuer = v['certificate-oidc-issuer'] as string;
  if (v['certificate-oidc-issuer-regexp'] !== undefined)
    identity.issuerRegExp = v['certificate-oidc-issuer-regexp'] as string;
  const hasIdentity = Object.keys(identity).length > 0;
  if (keyPath && hasIdentity)
    throw new UsageError('use either --key or --certificate-identity/--certificate-oidc-issuer');
  if (!keyPath && !hasIdentity)
    throw new UsageError(
      '--key, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp], is required',
    );
  if (hasIdentity) {
    if (identity.subject === undefined && identity.subjectRegExp === undefined)
      throw new UsageError('--certificate-identity or --certificate-identity-regexp is required');
    if (identity.issuer === undefined && identity.issuerRegExp === undefined)
      throw new UsageError('--certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required');
    policy.identities = [identity];
  }
  if (keyPath) policy.keys = [await local(() => readTextFile(keyPath, 'public key'))];
  if (v['insecure-ignore-tlog']) policy.tlog = 'skip';
  const rootPath = v['trusted-root'] as string | undefined;
  if (rootPath && v.tuf) throw new UsageError('--trusted-root and --tuf are mutually exclusive');
  if (rootPath) policy.trustedRoot = await local(() => loadTrustedRoot(rootPath));
  else if (v.tuf) policy.trustedRoot = await fetchTrustedRoot();
  else if (hasIdentity || policy.tlog !== 'skip')
    throw new UsageError(
      'a trusted root is needed for certificates and transparency-log checks: pass --trusted-root FILE (air gap) or --tuf' +
        (hasIdentity ? '' : ', or --insecure-ignore-tlog for key-only signatures without a log'),
    );
  const a = annotationsFromFlags(ctx);
  if (a) policy.annotations = a;
  return policy;
}
