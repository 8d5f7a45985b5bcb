import { readFile } from 'node:fs/promises';
import { parseChartReference } from '../chart/oci.js';
import { ChartproofError } from '../errors.js';
import { keyFileSigner, passwordFromEnv } from '../sign/keys.js';
import { signLegacy } from '../sign/legacy.js';
import { signBundle } from '../sign/referrer.js';
import { ChartVerificationError, type SignatureFormat, verifyChart } from '../verify/chart.js';
import type { CertificateIdentity, VerificationPolicy } from '../verify/policy.js';
import { fetchTrustedRoot, loadTrustedRoot } from '../verify/trusted-root.js';
import type { Command, CommandContext } from './commands.js';
import { Exit, expectArgs, UsageError } from './io.js';

/** `-a k=v` flags as a map (cosign's `--annotations`). */
function annotations(ctx: CommandContext): Record<string, string> | undefined {
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

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new ChartproofError('IO', `cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

const FORMATS = ['legacy', 'bundle', 'both'] as const;

/**
 * `chartproof sign --key KEY REF [--format legacy|bundle|both] [-a k=v]...`: signs the
 * chart's manifest digest in both cosign formats by default.
 */
export const SIGN_COMMAND: Command = {
  usage: 'sign --key KEY REF [--format legacy|bundle|both] [-a k=v]...',
  summary: 'sign a chart in its registry, cosign-compatible (password from COSIGN_PASSWORD)',
  help:
    '\nThe reference is resolved to its digest once; the signatures name that digest. Formats: legacy\n' +
    '(sha256-<hex>.sig tag, what cosign < 3 and skopeo read), bundle (Sigstore bundle v0.3 as an OCI 1.1\n' +
    'referrer, cosign 3 default), both (default: old and new verifiers accept the chart). No transparency-log\n' +
    'entry is made: verify with --insecure-ignore-tlog, as after `cosign sign --tlog-upload=false`.\n',
  options: {
    key: { type: 'string' },
    format: { type: 'string' },
    annotations: { type: 'string', short: 'a', multiple: true },
    'identity-token': { type: 'string' },
  },
  async run(ctx) {
    const [ref] = expectArgs(ctx.args, 1, this.usage);
    if (ctx.values['identity-token'] !== undefined)
      throw new UsageError('keyless signing (--identity-token) is not available yet; sign with --key');
    const keyPath = ctx.values.key as string | undefined;
    if (!keyPath) throw new UsageError('--key is required');
    const format = (ctx.values.format as string | undefined) ?? 'both';
    if (!(FORMATS as readonly string[]).includes(format))
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
    const password = passwordFromEnv(ctx.io.env);
    if (password === undefined)
      throw new UsageError('set COSIGN_PASSWORD to the private key password (it may be empty)');
    const signer = await keyFileSigner(await readText(keyPath, 'key'), password);
    const parsed = parseChartReference(ref!);
    const repo = ctx.client.repository(parsed);
    // Resolve once: both formats sign the same manifest.
    const subject = await repo.resolve(parsed.digest ?? parsed.tag ?? 'latest');
    const extra = annotations(ctx);
    const written: Record<string, unknown> = {};
    if (format !== 'bundle') {
      const legacy = await signLegacy(repo, subject, signer, extra ? { annotations: extra } : {});
      written.legacy = { tag: legacy.tag, manifestDigest: legacy.manifestDigest, appended: legacy.appended };
    }
    if (format !== 'legacy') {
      const bundle = await signBundle(repo, subject, signer, extra ? { annotations: extra } : {});
      written.bundle = { referrer: bundle.manifest.digest, referrersApi: bundle.referrersApi };
    }
    const pinned = repo.pinned(subject.digest);
    if (ctx.flags.json) {
      ctx.io.stdout(`${JSON.stringify({ pinned, digest: subject.digest, ...written }, null, 2)}\n`);
      return Exit.ok;
    }
    const lines = [`Signed ${pinned}`];
    const l = written.legacy as { tag: string; appended: boolean } | undefined;
    if (l) lines.push(`  legacy: ${repo.name}:${l.tag}${l.appended ? '' : ' (already signed by this key)'}`);
    const b = written.bundle as { referrer: string } | undefined;
    if (b) lines.push(`  bundle: ${repo.name}@${b.referrer} (referrer)`);
    ctx.io.stdout(`${lines.join('\n')}\n`);
    return Exit.ok;
  },
};

async function policyFrom(ctx: CommandContext): Promise<VerificationPolicy> {
  const v = ctx.values;
  const policy: VerificationPolicy = {};
  const keyPath = v.key as string | undefined;
  if (keyPath) policy.keys = [await readText(keyPath, 'public key')];
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
  if (v['insecure-ignore-tlog']) policy.tlog = 'skip';
  const rootPath = v['trusted-root'] as string | undefined;
  if (rootPath) policy.trustedRoot = await loadTrustedRoot(rootPath);
  else if (v.tuf) policy.trustedRoot = await fetchTrustedRoot();
  else if (hasIdentity || policy.tlog !== 'skip')
    throw new UsageError(
      'a trusted root is needed for certificates and transparency-log checks: pass --trusted-root FILE (air gap) or --tuf' +
        (hasIdentity ? '' : ', or --insecure-ignore-tlog for key-only signatures without a log'),
    );
  const a = annotations(ctx);
  if (a) policy.annotations = a;
  return policy;
}

/**
 * `chartproof verify REF (--key PUB | --certificate-identity[-regexp] X
 * --certificate-oidc-issuer[-regexp] Y) [--trusted-root FILE | --tuf]
 * [--insecure-ignore-tlog] [-a k=v]...`: cosign-style verification; stderr has the
 * checks, stdout the JSON result with the pinned reference.
 */
export const VERIFY_COMMAND: Command = {
  usage:
    'verify REF (--key PUB | --certificate-identity[-regexp] X --certificate-oidc-issuer[-regexp] Y) [--trusted-root FILE] [--insecure-ignore-tlog] [-a k=v]...',
  summary: 'verify a chart’s cosign signatures (bundles, then legacy) and print the pinned reference',
  help:
    '\nThe reference is resolved to a digest once; every check is made against it and the result gives\n' +
    '`pinned` (registry/repo@sha256:…) to install. Sigstore bundles (referrers) are tried first, then\n' +
    'legacy .sig signatures. Transparency-log evidence is required unless --insecure-ignore-tlog, and is\n' +
    'checked offline against --trusted-root FILE (or the TUF root with --tuf, which uses the network).\n' +
    '--format bundle|legacy restricts the formats tried.\n',
  options: {
    key: { type: 'string' },
    'certificate-identity': { type: 'string' },
    'certificate-identity-regexp': { type: 'string' },
    'certificate-oidc-issuer': { type: 'string' },
    'certificate-oidc-issuer-regexp': { type: 'string' },
    'trusted-root': { type: 'string' },
    tuf: { type: 'boolean' },
    'insecure-ignore-tlog': { type: 'boolean' },
    annotations: { type: 'string', short: 'a', multiple: true },
    format: { type: 'string' },
  },
  async run(ctx) {
    const [ref] = expectArgs(ctx.args, 1, this.usage);
    const policy = await policyFrom(ctx);
    const format = ctx.values.format as string | undefined;
    if (format !== undefined && format !== 'bundle' && format !== 'legacy')
      throw new UsageError('--format must be bundle or legacy');
    if (policy.tlog === 'skip')
      ctx.io.stderr(
        'WARNING: Skipping tlog verification is an insecure practice that lacks transparency and auditability verification for the signature.\n',
      );
    try {
      const result = await verifyChart(ctx.client, ref!, {
        policy,
        ...(format ? { formats: [format as SignatureFormat] } : {}),
      });
      ctx.io.stderr(
        `\nVerification for ${ref} --\nThe following checks were performed on each of these signatures:\n${result.checks
          .map((c) => `  - ${c}\n`)
          .join('')}`,
      );
      ctx.io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      return Exit.ok;
    } catch (e) {
      if (!(e instanceof ChartVerificationError)) throw e;
      if (ctx.flags.json) {
        ctx.io.stdout(
          `${JSON.stringify({ reference: ref, digest: e.digest, pinned: e.pinned, verified: 0, error: { code: e.code, message: e.message }, signatures: e.signatures }, null, 2)}\n`,
        );
      }
      ctx.io.stderr(`Error: ${e.message}\n`);
      return Exit.verification;
    }
  },
};
