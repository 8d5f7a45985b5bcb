import { generateKeyPair, type KeyAlgorithm, passwordFromEnv, writeKeyPair } from '../keys/keys.js';
import type { Command } from './commands.js';
import { Exit, UsageError } from './io.js';

const ALGORITHMS: readonly KeyAlgorithm[] = [
  'ecdsa-p256',
  'ecdsa-p384',
  'ecdsa-p521',
  'rsa-2048',
  'rsa-3072',
  'rsa-4096',
];

/**
 * `chartproof keygen [--output-key-prefix P] [--algorithm A] [--compat] [--force]`:
 * writes a cosign key pair `P.key` (encrypted, 0600) / `P.pub` (0644), the password
 * taken from `COSIGN_PASSWORD` (which may be empty), like `cosign generate-key-pair`.
 */
export const KEYGEN_COMMAND: Command = {
  usage: 'keygen [--output-key-prefix P] [--algorithm A] [--compat] [--force]',
  summary: 'generate a cosign key pair (P.key / P.pub; password from COSIGN_PASSWORD)',
  localInput: true,
  help:
    '\nWrites P.key (ENCRYPTED SIGSTORE PRIVATE KEY, scrypt N=65536, as cosign >= 2.2 writes) and P.pub.\n' +
    '--compat writes ENCRYPTED COSIGN PRIVATE KEY with N=32768, which cosign, skopeo >= 1.9 and\n' +
    'containers/image < 5.28 all read. --algorithm: ' +
    ALGORITHMS.join(', ') +
    ' (default ecdsa-p256).\n' +
    'The password comes from COSIGN_PASSWORD (set it to an empty string for no password).\n',
  options: {
    'output-key-prefix': { type: 'string' },
    algorithm: { type: 'string' },
    compat: { type: 'boolean' },
    force: { type: 'boolean' },
  },
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(ctx.args[0])}`);
    const password = passwordFromEnv(ctx.io.env);
    if (password === undefined)
      throw new UsageError('set COSIGN_PASSWORD to the password for the private key (it may be empty)');
    const algorithm = (ctx.values.algorithm as string | undefined) ?? 'ecdsa-p256';
    if (!(ALGORITHMS as readonly string[]).includes(algorithm))
      throw new UsageError(`--algorithm must be one of ${ALGORITHMS.join(', ')}`);
    const prefix = (ctx.values['output-key-prefix'] as string | undefined) ?? 'cosign';
    const pair = await generateKeyPair({
      password,
      algorithm: algorithm as KeyAlgorithm,
      ...(ctx.values.compat ? { pemType: 'COSIGN' as const, scryptN: 32768 as const } : {}),
    });
    const paths = await writeKeyPair(prefix, pair, { force: ctx.values.force === true });
    if (ctx.flags.json) ctx.io.stdout(`${JSON.stringify(paths, null, 2)}\n`);
    else
      ctx.io.stdout(
        `Private key written to ${paths.privateKeyPath}\nPublic key written to ${paths.publicKeyPath}\n`,
      );
    return Exit.ok;
  },
};
