import { ChartproofError } from '../errors.js';
import { helmRegistryConfigPath } from '../oci/auth/credentials.js';
import { login, logout } from '../oci/auth/login.js';
import type { RegistryClient, RegistryClientOptions } from '../oci/client.js';
import { copy } from '../oci/copy.js';
import { MediaType } from '../oci/media-types.js';
import { formatReference, normalizeRegistry, parseReference, pinReference } from '../oci/reference.js';
import { readCaFile, type Timeouts } from '../oci/transport/fetch.js';
import { type CliIo, Exit, expectArgs, local, MAX_SECRET_STDIN_BYTES, UsageError } from './io.js';
import { createProgress } from './progress.js';
import { verboseHook } from './transport-flags.js';

/** Global flags after parsing. */
export interface GlobalFlags {
  json: boolean;
  registryConfig: string | undefined;
  plainHttp: boolean;
  insecure: boolean;
  caFile: string | undefined;
  /** Transfer progress on stderr (the CLI sets it unless --no-progress; absent means none). */
  progress?: boolean;
  /** `--timeout` / `--min-speed`. */
  timeouts?: Timeouts;
  /** `--verbose`: registry events on stderr. */
  verbose?: boolean;
}

/** What a command receives. */
export interface CommandContext {
  args: string[];
  values: Record<string, unknown>;
  flags: GlobalFlags;
  io: CliIo;
  client: RegistryClient;
  /** A new client with the global settings plus per-host ones; the caller closes it. */
  clientWith?: (hosts: NonNullable<RegistryClientOptions['hosts']>) => RegistryClient;
  /** A new client with the global settings overridden (copy's --from-…/--to-… flags); the caller closes it. */
  clientFrom?: (overrides: Partial<GlobalFlags>) => RegistryClient;
}

/** One CLI command. */
export interface Command {
  usage: string;
  summary: string;
  help?: string;
  options?: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
  /**
   * The command reads only local input (files, keys, archives): every error it throws
   * is attributed to that input (`source: 'local'`, exit 2 unless a verification failure).
   */
  localInput?: boolean;
  run(ctx: CommandContext): Promise<number>;
}

function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

const loginCommand: Command = {
  usage: 'login REGISTRY -u USER --password-stdin',
  summary: 'check credentials against the registry and store them',
  help: "\nStores credentials in Helm's registry config (or --registry-config) with mode 0600.\n",
  options: {
    username: { type: 'string', short: 'u' },
    password: { type: 'string', short: 'p' },
    'password-stdin': { type: 'boolean' },
  },
  async run(ctx) {
    const [registry] = expectArgs(ctx.args, 1, this.usage);
    const username = ctx.values.username as string | undefined;
    if (!username) throw new UsageError('--username (-u) is required');
    let password = ctx.values.password as string | undefined;
    if (ctx.values['password-stdin']) {
      if (password !== undefined)
        throw new UsageError('--password and --password-stdin are mutually exclusive');
      password = (await ctx.io.readStdin({ maxBytes: MAX_SECRET_STDIN_BYTES, what: 'password' })).replace(
        /\r?\n$/,
        '',
      );
    } else if (password !== undefined) {
      ctx.io.stderr('Warning: using --password on the command line is insecure; prefer --password-stdin\n');
    }
    if (!password) throw new UsageError('a password is required (--password-stdin)');
    const host = registryArgument(registry!);
    if (ctx.flags.plainHttp && !isLoopback(host))
      ctx.io.stderr(`Warning: --plain-http sends the password to ${host} unencrypted\n`);
    const clientOptions: Omit<RegistryClientOptions, 'credentials'> = {};
    if (ctx.flags.plainHttp) clientOptions.plainHttp = true;
    if (ctx.flags.insecure) clientOptions.insecureSkipTlsVerify = true;
    if (ctx.flags.caFile) clientOptions.ca = readCaFile(ctx.flags.caFile);
    if (ctx.flags.timeouts) clientOptions.timeouts = ctx.flags.timeouts;
    if (ctx.flags.verbose) clientOptions.onEvent = verboseHook(ctx.io);
    const path = await login(
      host,
      { username, password },
      {
        configPath: ctx.flags.registryConfig ?? helmRegistryConfigPath(ctx.io.env),
        client: clientOptions,
        env: ctx.io.env,
      },
    );
    if (ctx.flags.json) printJson(ctx.io, { registry: host, configPath: path });
    else ctx.io.stdout('Login Succeeded\n');
    return Exit.ok;
  },
};

/**
 * The registry host of a `login`/`logout` argument: `oci://`, `https://` or `http://`
 * and any path dropped (as `docker login https://host/v2/` and `helm registry login
 * oci://host` accept), Docker Hub's names folded.
 */
function registryArgument(arg: string): string {
  return normalizeRegistry(arg.replace(/^(?:oci|https?):\/\//i, '').replace(/\/.*$/, ''));
}

/** Whether `host[:port]` names this machine (`localhost`, 127.0.0.0/8, `[::1]`). */
function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(name);
}

const logoutCommand: Command = {
  usage: 'logout REGISTRY',
  summary: 'remove stored credentials for a registry',
  localInput: true,
  async run(ctx) {
    const [registry] = expectArgs(ctx.args, 1, this.usage);
    const host = registryArgument(registry!);
    const removed = await logout(host, {
      configPath: ctx.flags.registryConfig ?? helmRegistryConfigPath(ctx.io.env),
      env: ctx.io.env,
    });
    if (!removed) throw new ChartproofError('NOT_FOUND', `not logged in to ${host}`, { source: 'local' });
    if (ctx.flags.json) printJson(ctx.io, { registry: host, removed: true });
    else ctx.io.stdout(`Removed login credentials for ${host}\n`);
    return Exit.ok;
  },
};

const tagsCommand: Command = {
  usage: 'tags REPO',
  summary: 'list tags, one per line (a JSON array with --json)',
  async run(ctx) {
    const [repo] = expectArgs(ctx.args, 1, this.usage);
    const ref = parseReference(repo!);
    const tags = await ctx.client.repository(ref).tags();
    if (ctx.flags.json) printJson(ctx.io, tags);
    else if (tags.length > 0) ctx.io.stdout(`${tags.join('\n')}\n`);
    return Exit.ok;
  },
};

const manifestCommand: Command = {
  usage: 'manifest REF [--descriptor]',
  summary: 'print the raw manifest (or its descriptor as JSON)',
  options: { descriptor: { type: 'boolean' } },
  async run(ctx) {
    const [input] = expectArgs(ctx.args, 1, this.usage);
    const ref = requireSelector(input!);
    const m = await ctx.client.repository(ref).fetchManifest();
    if (ctx.values.descriptor) printJson(ctx.io, m.descriptor);
    else ctx.io.stdout(m.bytes);
    return Exit.ok;
  },
};

/** copy's per-side flags (oras-style) and the global flag each one overrides for its side. */
const SIDE_FLAGS = {
  'plain-http': 'plainHttp',
  'ca-file': 'caFile',
  'registry-config': 'registryConfig',
  insecure: 'insecure',
} as const;

function sideOverrides(values: Record<string, unknown>, side: 'from' | 'to'): Partial<GlobalFlags> {
  const out: Partial<GlobalFlags> = {};
  for (const [flag, key] of Object.entries(SIDE_FLAGS)) {
    const v = values[`${side}-${flag}`];
    if (v !== undefined) (out as Record<string, unknown>)[key] = v;
  }
  return out;
}

const copyCommand: Command = {
  usage: 'copy SRC DST [--referrers] [--cosign-tags] [--concurrency N] [--from-…/--to-… FLAGS]',
  summary: 'copy an artifact and its blobs between repositories or registries',
  help:
    '\nDST without a tag or digest gets the tag of SRC. Content is copied byte for byte; tags are written last.\n' +
    '  --referrers      also copy signatures, attestations and other referrers\n' +
    '  --cosign-tags    also copy cosign sha256-<hex>.sig/.att/.sbom tags\n' +
    '  --concurrency N  parallel transfers (default 3)\n' +
    'Per side (override the global flag for the source or the destination only):\n' +
    '  --from-plain-http, --to-plain-http             HTTP instead of HTTPS\n' +
    '  --from-ca-file F, --to-ca-file F               extra trusted CA certificates (PEM)\n' +
    '  --from-registry-config F, --to-registry-config F   credentials file\n' +
    '  --from-insecure, --to-insecure                 do not verify TLS certificates\n' +
    'Progress goes to stderr (--no-progress to silence). Content that fails its digest or size is a\n' +
    'verification failure (exit 1); the error names the side that sent it.\n',
  options: {
    referrers: { type: 'boolean' },
    'cosign-tags': { type: 'boolean' },
    concurrency: { type: 'string' },
    'from-plain-http': { type: 'boolean' },
    'to-plain-http': { type: 'boolean' },
    'from-ca-file': { type: 'string' },
    'to-ca-file': { type: 'string' },
    'from-registry-config': { type: 'string' },
    'to-registry-config': { type: 'string' },
    'from-insecure': { type: 'boolean' },
    'to-insecure': { type: 'boolean' },
  },
  async run(ctx) {
    const [srcInput, dstInput] = expectArgs(ctx.args, 2, this.usage);
    const src = requireSelector(srcInput!);
    const dst = parseReference(dstInput!);
    const tag = dst.tag ?? (dst.digest ? undefined : src.tag);
    if (dst.digest && dst.digest !== src.digest) {
      throw new UsageError('DST may name a digest only when it equals the source digest');
    }
    const concurrency = ctx.values.concurrency === undefined ? undefined : Number(ctx.values.concurrency);
    if (
      concurrency !== undefined &&
      (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    ) {
      throw new UsageError('--concurrency must be an integer from 1 to 64');
    }
    const fromFlags = sideOverrides(ctx.values, 'from');
    const toFlags = sideOverrides(ctx.values, 'to');
    const own: RegistryClient[] = [];
    const sideClient = async (overrides: Partial<GlobalFlags>) => {
      if (Object.keys(overrides).length === 0 || !ctx.clientFrom) return ctx.client;
      const c = await local(() => ctx.clientFrom!(overrides));
      own.push(c);
      return c;
    };
    const progress = createProgress(ctx.io, 'Copying', ctx.flags.progress === true);
    let result: Awaited<ReturnType<typeof copy>>;
    try {
      const srcClient = await sideClient(fromFlags);
      const dstClient = await sideClient(toFlags);
      result = await copy(
        srcClient.repository(src),
        (src.digest ?? src.tag)!,
        dstClient.repository(dst),
        undefined,
        {
          tags: tag ? [tag] : [],
          referrers: ctx.values.referrers === true,
          cosignTags: ctx.values['cosign-tags'] === true,
          ...(concurrency ? { concurrency } : {}),
          onProgress: progress.onProgress,
        },
      );
    } finally {
      progress.done();
      await Promise.all(own.map((c) => c.close()));
    }
    const pinned = formatReference(
      pinReference({ ...dst, ...(tag ? { tag } : {}) }, result.descriptor.digest),
    );
    if (ctx.flags.json) {
      printJson(ctx.io, {
        source: formatReference(src),
        destination: pinned,
        descriptor: result.descriptor,
        referrers: result.referrers,
        cosignTags: result.cosignTags,
      });
    } else {
      ctx.io.stdout(`Copied ${formatReference(src)} => ${pinned}\n`);
      if (result.referrers.length > 0) ctx.io.stdout(`Referrers copied: ${result.referrers.length}\n`);
      if (result.cosignTags.length > 0)
        ctx.io.stdout(`Cosign tags copied: ${result.cosignTags.join(', ')}\n`);
    }
    return Exit.ok;
  },
};

const referrersCommand: Command = {
  usage: 'referrers REF [--artifact-type T]',
  summary: 'list referrers of an artifact as an OCI image index (JSON)',
  options: { 'artifact-type': { type: 'string' } },
  async run(ctx) {
    const [input] = expectArgs(ctx.args, 1, this.usage);
    const ref = requireSelector(input!);
    const repo = ctx.client.repository(ref);
    const subject = await repo.resolve();
    const artifactType = ctx.values['artifact-type'] as string | undefined;
    const manifests = await repo.referrers(subject, artifactType ? { artifactType } : {});
    printJson(ctx.io, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests });
    return Exit.ok;
  },
};

function requireSelector(input: string) {
  const ref = parseReference(input);
  if (!ref.tag && !ref.digest) throw new UsageError(`${input}: a tag or digest is required`);
  return ref;
}

/**
 * Every command by name, each loaded when it is run: a command's module (and what it
 * alone needs: the renderer, the mirror, the webhook…) is not loaded for the others,
 * so `chartproof --version` or `chartproof pull` does not pay for `template`'s code.
 */
const COMMAND_LOADERS: Record<string, () => Promise<Command>> = {
  login: async () => loginCommand,
  logout: async () => logoutCommand,
  tags: async () => tagsCommand,
  manifest: async () => manifestCommand,
  copy: async () => copyCommand,
  referrers: async () => referrersCommand,
  package: async () => (await import('./package-command.js')).PACKAGE_COMMAND,
  inspect: async () => (await import('./chart-commands.js')).CHART_COMMANDS.inspect!,
  push: async () => (await import('./chart-commands.js')).CHART_COMMANDS.push!,
  pull: async () => (await import('./chart-commands.js')).CHART_COMMANDS.pull!,
  prov: async () => (await import('./prov-command.js')).PROV_COMMAND,
  deps: async () => (await import('./deps-command.js')).DEPS_COMMAND,
  template: async () => (await import('./template-command.js')).TEMPLATE_COMMAND,
  images: async () => (await import('./images-command.js')).IMAGES_COMMAND,
  'verify-images': async () => (await import('./verify-images-command.js')).VERIFY_IMAGES_COMMAND,
  'verify-bundle': async () => (await import('./verify-bundle-command.js')).VERIFY_BUNDLE_COMMAND,
  keygen: async () => (await import('./keygen-command.js')).KEYGEN_COMMAND,
  sign: async () => (await import('./sign-commands.js')).SIGN_COMMAND,
  verify: async () => (await import('./sign-commands.js')).VERIFY_COMMAND,
  mirror: async () => (await import('./mirror-command.js')).MIRROR_COMMAND,
  attest: async () => (await import('./attest-commands.js')).ATTEST_COMMAND,
  'verify-attestation': async () => (await import('./attest-commands.js')).VERIFY_ATTESTATION_COMMAND,
  policy: async () => (await import('./policy-command.js')).POLICY_COMMAND,
  webhook: async () => (await import('./webhook-command.js')).WEBHOOK_COMMAND,
  audit: async () => (await import('./audit-command.js')).AUDIT_COMMAND,
};

/** The command called `name`, loaded; undefined when there is none. */
export async function loadCommand(name: string): Promise<Command | undefined> {
  return Object.hasOwn(COMMAND_LOADERS, name) ? COMMAND_LOADERS[name]!() : undefined;
}

/** Every command, loaded, in the order of the help (for `--help` and the docs checks). */
export async function loadAllCommands(): Promise<Record<string, Command>> {
  const entries = await Promise.all(
    Object.entries(COMMAND_LOADERS).map(async ([name, load]) => [name, await load()] as const),
  );
  return Object.fromEntries(entries);
}
