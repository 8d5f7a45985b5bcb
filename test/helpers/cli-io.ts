import type { CommandContext } from '../../src/cli/commands.js';
import type { CliIo } from '../../src/cli/io.js';

/** A CLI IO that records stdout/stderr; `stdin` is what `--password-stdin` etc. read. */
export function captureIo(stdin = '', env: Record<string, string | undefined> = { HOME: '/nonexistent' }) {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: (c) => {
      out += typeof c === 'string' ? c : Buffer.from(c).toString('utf8');
    },
    stderr: (t) => {
      err += t;
    },
    readStdin: async () => stdin,
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
