import { parseChartReference } from '../chart/oci.js';
import { keyFileSigner, passwordFromEnv } from '../keys/keys.js';
import { identityTokenFromEnv, type SignBundleKeylessOptions, signBundleKeyless } from '../sign/keyless.js';
import { signLegacy } from '../sign/legacy.js';
import { signBundle } from '../sign/referrer.js';
import { ChartVerificationError, verifyChart } from '../verify/chart.js';
import type { Command, CommandContext } from './commands.js';
import { Exit, expectArgs, local, MAX_SECRET_STDIN_BYTES, UsageError } from './io.js';
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
import { ChartproofError } from '../errors.js';
import { readTextFileBounded } from '../internal/read-file.js';

const FORMATS = ['legacy', 'bundle', 'both'] as const;

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** `--identity-token` is the token or, as in cosign, a file holding it. */
async function identityToken(value: string): Promise<string> {
  const trimmed = value.trim();
  if (JWT.test(trimmed)) return trimmed;
  try {
    return (
      await readTextFileBounded(value, { maxBytes: MAX_SECRET_STDIN_BYTES, what: 'identity token' })
    ).trim();
  } catch (e) {
    if (e instanceof ChartproofError && e.code === 'SIZE_LIMIT_EXCEEDED') throw e;
    // Not quoted: the value may be a (malformed) token.
    throw new UsageError('--identity-token is neither a JWT nor a readable file holding one');
  }
}

/** Keyless signing: Fulcio certificate for the OIDC token, Rekor entry, optional TSA timestamp. */
async function signKeyless(ctx: CommandContext, ref: string, token: string): Promise<number> {
  const v = ctx.values;
  const format = (v.format as string | undefined) ?? 'bundle';
  if (format !== 'bundle')
    throw new UsageError(
      `keyless signing writes the bundle format only (cosign 3's default); --format ${format} needs --key`,
    );
  const parsed = parseChartReference(ref);
  const repo = ctx.client.repository(parsed);
  const subject = await repo.resolve(parsed.digest ?? parsed.tag ?? 'latest');
  const options: SignBundleKeylessOptions = { identityToken: token };
  if (v['fulcio-url'] !== undefined) options.fulcioURL = v['fulcio-url'] as string;
  if (v['rekor-url'] !== undefined) options.rekorURL = v['rekor-url'] as string;
  if (v['timestamp-server-url'] !== undefined) options.tsaURL = v['timestamp-server-url'] as string;
  const extra = annotationsFromFlags(ctx);
  if (extra) options.annotations = extra;
  const result = await signBundleKeyless(repo, subject, options);
  const pinned = repo.pinned(subject.digest);
  if (ctx.flags.json) {
    const out = {
      pinned,
      digest: subject.digest,
      bundle: { referrer: result.manifest.digest, referrersApi: result.referrersApi },
      identity: result.identity,
    };
    ctx.io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return Exit.ok;
  }
  const { subject: who, issuer } = result.identity;
  ctx.io.stdout(
    `Signed ${pinned}\n  identity: ${who ?? '?'} (issuer ${issuer ?? '?'})\n` +
      `  bundle: ${repo.name}@${result.manifest.digest} (referrer, transparency-logged)\n`,
  );
  return Exit.ok;
}

/**
 * `chartproof sign --key KEY REF [--format legacy|bundle|both] [-a k=v]...`: signs the
 * chart's manifest digest in both cosign formats by default. With `--identity-token`
 * (or `SIGSTORE_ID_TOKEN`) and no `--key`: keyless, bundle format.
 */
export const SIGN_COMMAND: Command = {
  usage:
    'sign (--key KEY [--format legacy|bundle|both] | --identity-token TOKEN [--fulcio-url U] [--rekor-url U] [--timestamp-server-url U]) REF [-a k=v]...',
  summary: 'sign a chart in its registry, cosign-compatible (key password from COSIGN_PASSWORD)',
  help:
    '\nThe reference is resolved to its digest once; the signatures name that digest. Formats: legacy\n' +
    '(sha256-<hex>.sig tag, what cosign < 3 and skopeo read), bundle (Sigstore bundle v0.3 as an OCI 1.1\n' +
    'referrer, cosign 3 default), both (default: old and new verifiers accept the chart). No transparency-log\n' +
    'entry is made: verify with --insecure-ignore-tlog, as after `cosign sign --tlog-upload=false`.\n' +
    '\nKeyless: --identity-token TOKEN (the OIDC token or a file holding it; else SIGSTORE_ID_TOKEN when no\n' +
    '--key is given) gets a short-lived Fulcio certificate for an ephemeral key (kept in memory only),\n' +
    'logs the signature in Rekor and, with --timestamp-server-url, adds an RFC 3161 timestamp. Defaults:\n' +
    'public-good https://fulcio.sigstore.dev and https://rekor.sigstore.dev. Keyless writes the bundle\n' +
    'format only; verify with --certificate-identity and --certificate-oidc-issuer.\n',
  options: {
    key: { type: 'string' },
    format: { type: 'string' },
    annotations: { type: 'string', short: 'a', multiple: true },
    'identity-token': { type: 'string' },
    'fulcio-url': { type: 'string' },
    'rekor-url': { type: 'string' },
    'timestamp-server-url': { type: 'string' },
  },
  async run(ctx) {
    const [ref] = expectArgs(ctx.args, 1, this.usage);
    const tokenFlag = ctx.values['identity-token'] as string | undefined;
    const keyPath = ctx.values.key as string | undefined;
    if (tokenFlag !== undefined && keyPath !== undefined)
      throw new UsageError('use either --key or --identity-token (keyless), not both');
    const token =
      tokenFlag !== undefined
        ? await local(() => identityToken(tokenFlag))
        : keyPath
          ? undefined
          : identityTokenFromEnv(ctx.io.env);
    if (token !== undefined) return signKeyless(ctx, ref!, token);
    for (const flag of ['fulcio-url', 'rekor-url', 'timestamp-server-url'])
      if (ctx.values[flag] !== undefined) throw new UsageError(`--${flag} applies to keyless signing only`);
    if (!keyPath)
      throw new UsageError('--key, or --identity-token / SIGSTORE_ID_TOKEN for keyless signing, is required');
    const format = (ctx.values.format as string | undefined) ?? 'both';
    if (!(FORMATS as readonly string[]).includes(format))
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
    const password = passwordFromEnv(ctx.io.env);
    if (password === undefined)
      throw new UsageError('set COSIGN_PASSWORD to the private key password (it may be empty)');
    const signer = await local(async () => keyFileSigner(await readTextFile(keyPath, 'key'), password));
    const parsed = parseChartReference(ref!);
    const repo = ctx.client.repository(parsed);
    // Resolve once: both formats sign the same manifest.
    const subject = await repo.resolve(parsed.digest ?? parsed.tag ?? 'latest');
    const extra = annotationsFromFlags(ctx);
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
  options: { ...POLICY_OPTIONS, format: { type: 'string' } },
  async run(ctx) {
    const [ref] = expectArgs(ctx.args, 1, this.usage);
    const policy = await policyFromFlags(ctx);
    const format = verifyFormatFromFlags(ctx);
    if (policy.tlog === 'skip') ctx.io.stderr(TLOG_WARNING);
    try {
      const result = await verifyChart(ctx.client, ref!, {
        policy,
        ...(format ? { formats: [format] } : {}),
      });
      printChecks(ctx, ref!, result.checks);
      ctx.io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      return Exit.ok;
    } catch (e) {
      if (!(e instanceof ChartVerificationError)) throw e;
      // A failure never prints a pinned reference: nothing here may be installed.
      if (ctx.flags.json) {
        ctx.io.stdout(
          `${JSON.stringify({ reference: ref, digest: e.digest, verified: 0, error: { code: e.code, message: e.message }, signatures: e.signatures }, null, 2)}\n`,
        );
      }
      printFailure(ctx, e, Exit.verification);
      return Exit.verification;
    }
  },
};
