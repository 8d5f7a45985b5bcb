import type { CommandContext } from '../../src/cli/commands.js';
import { type CliIo, readBounded } from '../../src/cli/io.js';

/** Standard input of a fake {@link CliIo}: text, or a source of chunks (e.g. endless). */
export type FakeStdin = string | (() => AsyncIterable<Uint8Array | string>);

/** Yields `text` in 64 KiB pieces, as a pipe would. */
async function* pieces(text: string): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.byteLength; i += 65536) yield bytes.subarray(i, i + 65536);
}

/**
 * A CLI IO that records stdout/stderr; `stdin` is what `--password-stdin` etc. read,
 * through the CLI's own bounded reader (so the commands' stdin limits apply).
 */
export function captureIo(
  stdin: FakeStdin = '',
  env: Record<string, string | undefined> = { HOME: '/nonexistent' },
) {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: (c) => {
      out += typeof c === 'string' ? c : Buffer.from(c).toString('utf8');
    },
    stderr: (t) => {
      err += t;
    },
    readStdin: (limit) => readBounded(typeof stdin === 'string' ? pieces(stdin) : stdin(), limit),
    env,
  };
  return { io, out: () => out, err: () => err };
}

/** A command context for calling a command's `run` directly (no registry client). */
export function commandContext(
  args: string[],
  values: Record<string, unknown> = {},
  opts: { json?: boolean; stdin?: string } = {},
) {
  const cap = captureIo(opts.stdin ?? '', {});
  const c = {
    args,
    values,
    flags: {
      json: opts.json ?? false,
      registryConfig: undefined,
      plainHttp: false,
      insecure: false,
      caFile: undefined,
      progress: false,
    },
    io: cap.io,
    client: {},
  } as unknown as CommandContext;
  return { c, out: cap.out, err: cap.err };
}
