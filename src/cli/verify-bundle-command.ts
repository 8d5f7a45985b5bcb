import { readFile, stat } from 'node:fs/promises';
import { ChartproofError } from '../errors.js';
import type { CertificateIdentity, TrustedRootJson, VerificationPolicy } from '../verify/policy.js';
import { verifySigstoreBundle } from '../verify/bundle.js';
import { fetchTrustedRoot, loadTrustedRoot } from '../verify/trusted-root.js';
import type { Command, CommandContext } from './commands.js';
import { Exit, UsageError } from './io.js';

const USAGE =
  'verify-bundle --bundle FILE (--key PUB | --certificate-identity[-regexp] X --certificate-oidc-issuer[-regexp] Y) [--trusted-root FILE | --tuf] [--insecure-ignore-tlog] (FILE | sha256:HEX)';

const DIGEST_ARG = /^sha256:[0-9a-f]{64}$/;

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new ChartproofError('IO', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function str(ctx: CommandContext, name: string): string | undefined {
  return ctx.values[name] as string | undefined;
}

function parseAnnotations(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of values) {
    const i = a.indexOf('=');
    if (i <= 0) throw new UsageError(`--annotations must be key=value, got ${JSON.stringify(a)}`);
    out[a.slice(0, i)] = a.slice(i + 1);
  }
  return out;
}

async function trustedRoot(ctx: CommandContext, needed: boolean): Promise<TrustedRootJson | undefined> {
  const file = str(ctx, 'trusted-root');
  if (file !== undefined) {
    if (ctx.values.tuf === true) throw new UsageError('--trusted-root and --tuf are mutually exclusive');
    return loadTrustedRoot(file);
  }
  if (ctx.values.tuf === true) return fetchTrustedRoot();
  if (!needed) return undefined;
  throw new UsageError(
    'a trusted root is required: pass --trusted-root FILE (air-gapped) or --tuf to fetch the public-good root over the network',
  );
}

/**
 * `chartproof verify-bundle`: verifies a Sigstore bundle for a file or a `sha256:`
 * digest, implementing the sigstore-conformance `verify-bundle` CLI protocol. Checks go
 * to stderr (cosign's sentences), the JSON result to stdout; exit 1 when the bundle does
 * not verify, 2 for unreadable inputs or bad usage.
 */
export const VERIFY_BUNDLE_COMMAND: Command = {
  usage: USAGE,
  summary: 'verify a Sigstore bundle (key or keyless) for a file or digest',
  localInput: true,
  help:
    '\n--bundle FILE                       the Sigstore bundle (JSON)\n' +
    '--key FILE                          trusted public key (PEM); or a certificate identity:\n' +
    '--certificate-identity X            exact Subject Alternative Name\n' +
    '--certificate-identity-regexp R     regular expression matching the WHOLE SAN (anchored; cosign does not anchor)\n' +
    '--certificate-oidc-issuer Y         exact OIDC issuer\n' +
    '--certificate-oidc-issuer-regexp R  regular expression matching the whole issuer\n' +
    '--trusted-root FILE                 trusted_root.json (air-gapped); --tuf fetches it over the network instead\n' +
    '--insecure-ignore-tlog              do not require or check transparency-log entries\n' +
    '-a, --annotations k=v               required in-toto subject annotation (repeatable)\n' +
    '--staging                           accepted for the conformance protocol and ignored (use --trusted-root)\n' +
    '\nThe last argument is the artifact file, or sha256:<64 hex> when no such file exists.\n' +
    'Exit codes: 0 verified, 1 verification failure, 2 unreadable input or bad usage, 3 network (--tuf).\n',
  options: {
    bundle: { type: 'string' },
    key: { type: 'string' },
    'certificate-identity': { type: 'string' },
    'certificate-identity-regexp': { type: 'string' },
    'certificate-oidc-issuer': { type: 'string' },
    'certificate-oidc-issuer-regexp': { type: 'string' },
    'trusted-root': { type: 'string' },
    tuf: { type: 'boolean' },
    'insecure-ignore-tlog': { type: 'boolean' },
    annotations: { type: 'string', short: 'a', multiple: true },
    staging: { type: 'boolean' },
  },
  async run(ctx) {
    if (ctx.args.length !== 1)
      throw new UsageError(`expected one FILE or sha256:HEX argument: chartproof ${USAGE}`);
    const input = ctx.args[0]!;
    const bundlePath = str(ctx, 'bundle');
    if (!bundlePath) throw new UsageError('--bundle is required');
    const keyPath = str(ctx, 'key');
    const identity: CertificateIdentity = {};
    const subject = str(ctx, 'certificate-identity');
    const subjectRegExp = str(ctx, 'certificate-identity-regexp');
    const issuer = str(ctx, 'certificate-oidc-issuer');
    const issuerRegExp = str(ctx, 'certificate-oidc-issuer-regexp');
    if (subject !== undefined) identity.subject = subject;
    if (subjectRegExp !== undefined) identity.subjectRegExp = subjectRegExp;
    if (issuer !== undefined) identity.issuer = issuer;
    if (issuerRegExp !== undefined) identity.issuerRegExp = issuerRegExp;
    const keyless = Object.keys(identity).length > 0;
    if (keyPath !== undefined && keyless) {
      throw new UsageError(
        '--key and --certificate-identity/--certificate-oidc-issuer are mutually exclusive',
      );
    }
    if (keyPath === undefined && !keyless) {
      throw new UsageError(
        'either --key or --certificate-identity and --certificate-oidc-issuer are required',
      );
    }
    if (keyless && subject === undefined && subjectRegExp === undefined) {
      throw new UsageError('--certificate-identity or --certificate-identity-regexp is required');
    }
    if (keyless && issuer === undefined && issuerRegExp === undefined) {
      throw new UsageError('--certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required');
    }
    if (ctx.values.staging === true) {
      ctx.io.stderr('Note: --staging is ignored; pass the staging trusted root with --trusted-root.\n');
    }
    const skipTlog = ctx.values['insecure-ignore-tlog'] === true;

    const policy: VerificationPolicy = { tlog: skipTlog ? 'skip' : 'require' };
    if (keyPath !== undefined) {
      policy.keys = [Buffer.from(await readInput(keyPath, 'key')).toString('utf8')];
    } else {
      policy.identities = [identity];
    }
    const annotations = (ctx.values.annotations as string[] | undefined) ?? [];
    if (annotations.length > 0) policy.annotations = parseAnnotations(annotations);
    const root = await trustedRoot(ctx, !(keyPath !== undefined && skipTlog));
    if (root) policy.trustedRoot = root;

    const bundle = await readInput(bundlePath, 'bundle');
    const target =
      DIGEST_ARG.test(input) && !(await isFile(input))
        ? { digest: input }
        : { artifact: await readInput(input, 'artifact') };

    const result = verifySigstoreBundle(bundle, { ...target, policy });
    if (skipTlog) {
      ctx.io.stderr(
        'WARNING: Skipping tlog verification is an insecure practice that lacks transparency and auditability verification for the signature.\n',
      );
    }
    ctx.io.stderr(
      `Verification for ${input} --\nThe following checks were performed on each of these signatures:\n${result.checks
        .map((c) => `  - ${c}\n`)
        .join('')}`,
    );
    ctx.io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return Exit.ok;
  },
};
