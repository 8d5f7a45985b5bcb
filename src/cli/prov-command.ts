import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { loadChartArchive } from '../chart/load.js';
import { signProvenance, verifyProvenance } from '../chart/provenance.js';
import { ChartproofError } from '../errors.js';
import { writeFileAtomic } from '../fs.js';
import type { Command, CommandContext } from './commands.js';
import { Exit, MAX_SECRET_STDIN_BYTES, UsageError } from './io.js';
import { readTextFileBounded } from '../internal/read-file.js';

const USAGE =
  'prov (verify FILE.tgz --keyring KEYRING [--prov FILE.prov] | sign FILE.tgz --key SECRET_KEY [--passphrase-file F])';

function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new ChartproofError('IO', `${what} ${path}: ${errnoText(err)}`, { cause: err });
  }
}

async function checkChartPath(path: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw new ChartproofError('IO', `stat ${path}: ${errnoText(err)}`, { cause: err });
  }
  if (isDir) throw new ChartproofError('INVALID_ARGUMENT', 'unpacked charts cannot be verified');
  if (!path.toLowerCase().endsWith('.tgz'))
    throw new ChartproofError('INVALID_ARGUMENT', 'chart must be a tgz file');
}

async function verify(ctx: CommandContext, chartPath: string): Promise<number> {
  const keyring = ctx.values.keyring as string | undefined;
  if (!keyring) throw new UsageError('--keyring is required');
  await checkChartPath(chartPath);
  const provPath = (ctx.values.prov as string | undefined) ?? `${chartPath}.prov`;
  let provenance: Uint8Array;
  try {
    await stat(provPath);
    provenance = new Uint8Array(await readFile(provPath));
  } catch (err) {
    throw new ChartproofError(
      'IO',
      `could not load provenance file ${provPath}: stat ${provPath}: ${errnoText(err)}`,
      { cause: err },
    );
  }
  const keyringBytes = await readInput(keyring, 'failed to load keyring: open');
  const archive = await readInput(chartPath, 'open');
  try {
    const result = await verifyProvenance(archive, provenance, keyringBytes, {
      fileName: basename(chartPath),
    });
    ctx.io.stdout(
      `Signed by: ${result.signedBy}\nUsing Key With Fingerprint: ${result.fingerprint}\nChart Hash Verified: ${result.chartHash}\n`,
    );
    return Exit.ok;
  } catch (err) {
    // DIGEST_MISMATCH and SIGNATURE_INVALID map to exit 1 through the CLI's error handler too.
    if (
      err instanceof ChartproofError &&
      (err.code === 'CHART_INVALID' || err.code === 'SIGNATURE_INVALID')
    ) {
      ctx.io.stderr(`Error: ${err.message}\n`);
      return Exit.verification;
    }
    throw err;
  }
}

async function readPassphrase(ctx: CommandContext, file: string): Promise<string> {
  const text =
    file === '-'
      ? await ctx.io.readStdin({ maxBytes: MAX_SECRET_STDIN_BYTES, what: 'passphrase' })
      : await readTextFileBounded(file, { maxBytes: MAX_SECRET_STDIN_BYTES, what: 'passphrase file' });
  return text.split('\n', 1)[0]!.replace(/\r$/, '');
}

async function sign(ctx: CommandContext, chartPath: string): Promise<number> {
  const keyPath = ctx.values.key as string | undefined;
  if (!keyPath) throw new UsageError('--key is required');
  await checkChartPath(chartPath);
  const archive = await readInput(chartPath, 'open');
  const secretKey = await readInput(keyPath, 'open');
  const passphraseFile = ctx.values['passphrase-file'] as string | undefined;
  const passphrase = passphraseFile === undefined ? undefined : await readPassphrase(ctx, passphraseFile);
  const chart = await loadChartArchive(archive);
  const prov = await signProvenance(
    archive,
    basename(chartPath),
    chart.metadata,
    secretKey,
    passphrase === undefined ? {} : { passphrase },
  );
  const out = `${chartPath}.prov`;
  await writeFileAtomic(out, prov, 0o644, { dirMode: 0o755 });
  ctx.io.stdout(`${out}\n`);
  return Exit.ok;
}

/**
 * `chartproof prov verify|sign`: Helm's legacy provenance files. `verify` prints
 * `helm verify`'s lines and exits 1 on a failed verification; `sign` writes
 * `FILE.tgz.prov` (mode 0644) and prints its path.
 */
export const PROV_COMMAND: Command = {
  usage: USAGE,
  summary: 'verify or create Helm provenance files (.prov)',
  localInput: true,
  help:
    '\nverify: checks FILE.tgz against FILE.tgz.prov (or --prov) with a public keyring (binary or armored).\n' +
    'sign: clearsigns the message block with a secret key file and writes FILE.tgz.prov.\n',
  options: {
    keyring: { type: 'string' },
    prov: { type: 'string' },
    key: { type: 'string' },
    'passphrase-file': { type: 'string' },
  },
  async run(ctx) {
    const [sub, chartPath, ...rest] = ctx.args;
    if (chartPath === undefined || rest.length > 0) throw new UsageError(`expected: chartproof ${USAGE}`);
    if (sub === 'verify') return verify(ctx, chartPath);
    if (sub === 'sign') return sign(ctx, chartPath);
    throw new UsageError(`unknown prov subcommand "${sub}": expected verify or sign`);
  },
};
