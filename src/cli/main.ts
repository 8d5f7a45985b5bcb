import { parseArgs } from 'node:util';
import {
  chainCredentials,
  configFileCredentials,
  dockerConfigPath,
  helmRegistryConfigPath,
} from '../oci/auth/credentials.js';
import { RegistryClient, type RegistryClientOptions } from '../oci/client.js';
import { readCaFile } from '../oci/transport/fetch.js';
import { VERSION } from '../version.js';
import { type Command, type GlobalFlags, loadAllCommands, loadCommand } from './commands.js';
import { TRANSPORT_HELP, TRANSPORT_OPTIONS, timeoutsFromFlags, verboseHook } from './transport-flags.js';
import {
  type CliIo,
  Exit,
  errorJson,
  exitCodeFor,
  isParseArgsError,
  local,
  processIo,
  UsageError,
} from './io.js';

const globalHelp = (
  commands: Record<string, Command>,
) => `chartproof ${VERSION}: supply-chain security for Helm charts

Usage: chartproof [global flags] <command> [args]

Commands:
${Object.values(commands)
  .map((c) =>
    c.usage.length <= 56
      ? `  ${c.usage.padEnd(56)} ${c.summary}`
      : `  ${c.usage}\n  ${''.padEnd(56)} ${c.summary}`,
  )
  .join('\n')}

Global flags:
  --registry-config FILE       credentials file (default: Helm's registry config)
  --ca-file FILE               extra trusted CA certificates (PEM)
  --plain-http                 use HTTP instead of HTTPS
  --insecure-skip-tls-verify   do not verify TLS certificates
${TRANSPORT_HELP.trimEnd()}
  --json                       JSON on stdout; a failure prints {"error":{…}} on stderr
  --no-progress                no transfer progress on stderr
  -h, --help                   show help
  --version                    print the version

Exit codes: 0 success, 1 verification or policy failure, 2 usage or invalid input,
3 registry or network failure.
`;

export const GLOBAL_OPTIONS = {
  'registry-config': { type: 'string' },
  'ca-file': { type: 'string' },
  'plain-http': { type: 'boolean' },
  'insecure-skip-tls-verify': { type: 'boolean' },
  ...TRANSPORT_OPTIONS,
  json: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** Runs the CLI; returns the exit code. */
export async function run(argv: string[], io: CliIo = processIo()): Promise<number> {
  let json = argv.includes('--json');
  try {
    const name = argv.find((a) => !a.startsWith('-') && !isFlagValue(argv, a));
    const command: Command | undefined = name ? await loadCommand(name) : undefined;
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...(command?.options ?? {}) },
      allowPositionals: true,
      strict: true,
    });
    json = values.json === true;
    if (values.version === true && !command?.options?.version) {
      io.stdout(`${VERSION}\n`);
      return Exit.ok;
    }
    if (!command) {
      if (values.help || !name) {
        io.stdout(globalHelp(await loadAllCommands()));
        return values.help ? Exit.ok : Exit.usage;
      }
      throw new UsageError(`unknown command ${JSON.stringify(name)}; see chartproof --help`);
    }
    if (values.help) {
      io.stdout(`Usage: chartproof ${command.usage}\n\n${command.summary}\n${command.help ?? ''}`);
      return Exit.ok;
    }
    const args = positionals.slice(positionals.indexOf(name!) + 1);
    const flags: GlobalFlags = {
      json,
      registryConfig: values['registry-config'] as string | undefined,
      plainHttp: values['plain-http'] === true,
      insecure: values['insecure-skip-tls-verify'] === true,
      caFile: values['ca-file'] as string | undefined,
      progress: values['no-progress'] !== true,
    };
    const timeouts = timeoutsFromFlags(values as Record<string, unknown>);
    if (timeouts) flags.timeouts = timeouts;
    if (values.verbose === true) flags.verbose = true;
    const client = await local(() => makeClient(flags, io));
    try {
      const ctx = {
        args,
        values: values as Record<string, unknown>,
        flags,
        io,
        client,
        clientWith: (hosts: NonNullable<RegistryClientOptions['hosts']>) => makeClient(flags, io, hosts),
        clientFrom: (overrides: Partial<GlobalFlags>) => makeClient({ ...flags, ...overrides }, io),
      };
      // Commands that only read local input: whatever they throw is about that input.
      return command.localInput ? await local(() => command.run(ctx)) : await command.run(ctx);
    } finally {
      await client.close();
    }
  } catch (err) {
    const code = exitCodeFor(err);
    const message = err instanceof Error ? err.message : String(err);
    const usage = err instanceof UsageError || isParseArgsError(err);
    if (json) {
      io.stderr(`${JSON.stringify({ error: errorJson(err, message, code) })}\n`);
    } else {
      io.stderr(`Error: ${message}\n`);
      if (usage) io.stderr('Run chartproof --help for usage.\n');
    }
    return code;
  }
}

/** The documented `--json` error object: `{ code, message, exitCode[, source] }`. */
const GLOBAL_STRING_FLAGS = new Set(
  Object.entries(GLOBAL_OPTIONS)
    .filter(([, o]) => o.type === 'string')
    .map(([name]) => `--${name}`),
);

function isFlagValue(argv: string[], a: string): boolean {
  const i = argv.indexOf(a);
  const prev = argv[i - 1];
  return prev !== undefined && GLOBAL_STRING_FLAGS.has(prev);
}

function makeClient(flags: GlobalFlags, io: CliIo, hosts?: RegistryClientOptions['hosts']): RegistryClient {
  const env = io.env;
  const options: RegistryClientOptions = {
    ...(hosts ? { hosts } : {}),
    credentials: chainCredentials(
      configFileCredentials(flags.registryConfig ?? helmRegistryConfigPath(env), { env }),
      configFileCredentials(dockerConfigPath(env), { env }),
    ),
    onWarning: (w) => io.stderr(`Warning: ${w}\n`),
  };
  if (flags.plainHttp) options.plainHttp = true;
  if (flags.insecure) options.insecureSkipTlsVerify = true;
  if (flags.caFile) options.ca = readCaFile(flags.caFile);
  if (flags.timeouts) options.timeouts = flags.timeouts;
  if (flags.verbose) options.onEvent = verboseHook(io);
  return new RegistryClient(options);
}
