import { isChartproofError } from '../errors.js';

/** Exit codes of the CLI. */
export const Exit = {
  ok: 0,
  /** Verification or policy failure. */
  verification: 1,
  /** Usage error or invalid input. */
  usage: 2,
  /** Registry or network failure. */
  registry: 3,
} as const;

/** A usage error: printed with a hint, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Checks the number of positional arguments of a command. */
export function expectArgs(args: string[], count: number, usage: string): string[] {
  if (args.length !== count) throw new UsageError(`expected ${count} argument(s): chartproof ${usage}`);
  return args;
}

const VERIFICATION = new Set([
  'DIGEST_MISMATCH',
  'SIZE_MISMATCH',
  'TRAILING_DATA',
  'SIGNATURE_INVALID',
  'SIGNATURE_NOT_FOUND',
  'LOCK_OUT_OF_SYNC',
]);
const INPUT = new Set([
  'INVALID_REFERENCE',
  'INVALID_DIGEST',
  'INVALID_ARGUMENT',
  'INVALID_MANIFEST',
  'INVALID_CONFIG',
  'CREDENTIALS_INVALID',
  'IO',
  'CHART_INVALID',
  'CHART_METADATA_INVALID',
  'KEY_INVALID',
  'KEY_UNSUPPORTED',
  'KEY_PASSWORD_INVALID',
]);

/** Maps an error to the CLI's exit code. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return Exit.usage;
  if (isChartproofError(err)) {
    if (VERIFICATION.has(err.code)) return Exit.verification;
    if (INPUT.has(err.code)) return Exit.usage;
    return Exit.registry;
  }
  return Exit.registry;
}

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  stdout: (chunk: string | Uint8Array) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
  env: Record<string, string | undefined>;
}

/** Process-backed IO. */
export function processIo(): CliIo {
  return {
    stdout: (c) => {
      process.stdout.write(c);
    },
    stderr: (t) => {
      process.stderr.write(t);
    },
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
  };
}
