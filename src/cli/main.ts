import { parseArgs } from 'node:util';
import { isChartproofError } from '../errors.js';
import {
  chainCredentials,
  configFileCredentials,
  dockerConfigPath,
  helmRegistryConfigPath,
} from '../oci/auth/credentials.js';
import { RegistryClient, type RegistryClientOptions } from '../oci/client.js';
import { readCaFile } from '../oci/transport/fetch.js';
import { VERSION } from '../version.js';
import { COMMANDS, type Command, type GlobalFlags } from './commands.js';
import { type CliIo, Exit, exitCodeFor, processIo, UsageError } from './io.js';

const GLOBAL_HELP = `chartproof ${VERSION}: supply-chain security for Helm charts

Usage: chartproof [global flags] <command> [args]

Commands:
${Object.values(COMMANDS)
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
  --json                       machine-readable output
  -h, --help                   show help
  --version                    print the version

Exit codes: 0 success, 1 verification or policy failure, 2 usage or invalid input,
3 registry or network failure.
`;

const GLOBAL_OPTIONS = {
  'registry-config': { type: 'string' },
  'ca-file': { type: 'string' },
  'plain-http': { type: 'boolean' },
  'insecure-skip-tls-verify': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** Runs the CLI; returns the exit code. */
export async function run(argv: string[], io: CliIo = processIo()): Promise<number> {
  let json = argv.includes('--json');
  try {
    const name = argv.find((a) => !a.startsWith('-') && !isFlagValue(argv, a));
    const command: Command | undefined = name ? COMMANDS[name] : undefined;
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
        io.stdout(GLOBAL_HELP);
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
    };
    const client = makeClient(flags, io);
    try {
      return await command.run({
        args,
        values: values as Record<string, unknown>,
        flags,
        io,
        client,
        clientWith: (hosts) => makeClient(flags, io, hosts),
      });
    } finally {
      await client.close();
    }
  } catch (err) {
    const code = exitCodeFor(err);
    const message = err instanceof Error ? err.message : String(err);
    if (json) {
      io.stderr(
        `${JSON.stringify({ error: { code: isChartproofError(err) ? err.code : err instanceof UsageError ? 'USAGE' : 'INTERNAL', message } })}\n`,
      );
    } else {
      io.stderr(`Error: ${message}\n`);
      if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
        io.stderr('Run chartproof --help for usage.\n');
      }
    }
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return Exit.usage;
    return code;
  }
}

function isFlagValue(argv: string[], a: string): boolean {
  const i = argv.indexOf(a);
  const prev = argv[i - 1];
  return prev === '--registry-config' || prev === '--ca-file';
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
  return new RegistryClient(options);
}

// Entry point when executed as a program.
const invoked = process.argv[1] ?? '';
if (/chartproof$|cli\.(c|m)?js$/.test(invoked)) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 3;
    },
  );
}
