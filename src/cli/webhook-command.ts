/**
 * `chartproof webhook serve` (the admission webhook over HTTPS, until SIGTERM/SIGINT)
 * and `chartproof webhook config` (its ValidatingWebhookConfiguration on stdout).
 */
import { ChartproofError } from '../errors.js';
import type { AdmissionFailurePolicy } from '../policy/admission.js';
import { type AdmissionServer, createAdmissionServer } from '../policy/server.js';
import { loadTrustConfig } from '../policy/trust.js';
import { DEFAULT_WEBHOOK_TIMEOUT_SECONDS, generateWebhookConfiguration } from '../policy/webhook-config.js';
import { loadTrustedRoot } from '../verify/trusted-root.js';
import type { Command, CommandContext } from './commands.js';
import { Exit, local, UsageError } from './io.js';
import { readFileBounded } from '../internal/read-file.js';

/** How often `serve` re-reads the TLS files (certificate rotation). */
const TLS_RELOAD_MS = 60_000;
/** Largest TLS key or certificate file read. */
const MAX_TLS_FILE_BYTES = 1024 * 1024;

function failurePolicyFlag(ctx: CommandContext): AdmissionFailurePolicy {
  const v = (ctx.values['failure-policy'] as string | undefined) ?? 'Fail';
  if (v !== 'Fail' && v !== 'Ignore') throw new UsageError('--failure-policy must be Fail or Ignore');
  return v;
}

/** `--timeout S`: the webhook timeout in whole seconds, 1–30 (`10` or `10s`). */
function timeoutFlag(ctx: CommandContext): number {
  const raw = ctx.values.timeout as string | undefined;
  if (raw === undefined) return DEFAULT_WEBHOOK_TIMEOUT_SECONDS;
  const m = /^(\d{1,2})s?$/.exec(raw.trim());
  const n = m ? Number(m[1]) : Number.NaN;
  if (!(n >= 1 && n <= 30))
    throw new UsageError(`--timeout must be whole seconds from 1 to 30 (the apiserver's limit), got ${raw}`);
  return n;
}

function readBounded(path: string, what: string): Promise<Buffer> {
  return readFileBounded(path, { maxBytes: MAX_TLS_FILE_BYTES, what });
}

function required(ctx: CommandContext, flag: string): string {
  const v = ctx.values[flag] as string | undefined;
  if (!v) throw new UsageError(`--${flag} is required`);
  return v;
}

/** Resolves on the first SIGTERM or SIGINT (the handlers are removed afterwards). */
function untilSignal(): { done: Promise<NodeJS.Signals>; dispose: () => void } {
  let dispose = () => {};
  const done = new Promise<NodeJS.Signals>((resolve) => {
    const on = (sig: NodeJS.Signals) => resolve(sig);
    process.once('SIGTERM', on);
    process.once('SIGINT', on);
    dispose = () => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
    };
  });
  return { done, dispose };
}

async function serve(ctx: CommandContext): Promise<number> {
  const configPath = required(ctx, 'config');
  const certPath = required(ctx, 'tls-cert');
  const keyPath = required(ctx, 'tls-key');
  const failurePolicy = failurePolicyFlag(ctx);
  const timeout = timeoutFlag(ctx);
  const portText = (ctx.values.port as string | undefined) ?? '8443';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    throw new UsageError('--port must be a number from 0 to 65535');
  const address = (ctx.values.address as string | undefined) ?? '0.0.0.0';
  const rootPath = ctx.values['trusted-root'] as string | undefined;

  const trust = await local(() => loadTrustConfig(configPath));
  if (!trust.charts)
    ctx.io.stderr(
      'Warning: the trust config has no charts.reference: release Secrets cannot be checked and follow the failure policy\n',
    );
  const trustedRoot = rootPath ? await local(() => loadTrustedRoot(rootPath)) : undefined;
  const readTls = async () => ({
    cert: await readBounded(certPath, 'TLS certificate'),
    key: await readBounded(keyPath, 'TLS key'),
  });
  let tls = await readTls();
  let webhook: AdmissionServer;
  try {
    webhook = createAdmissionServer({
      tls,
      trust,
      client: ctx.client,
      failurePolicy,
      deadlineMs: timeout * 1000,
      verifyImages: ctx.values['verify-images'] === true,
      ...(trustedRoot ? { trustedRoot } : {}),
      onReview: (e) => {
        if (e.error !== undefined)
          ctx.io.stderr(
            `chartproof webhook: error: ${e.error instanceof Error ? e.error.message : String(e.error)}\n`,
          );
        else if (e.allowed === false)
          ctx.io.stderr(`chartproof webhook: denied ${e.uid}: ${e.message ?? ''}\n`);
      },
    });
  } catch (e) {
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `--tls-cert/--tls-key: not a usable certificate and key: ${(e as Error).message}`,
      { cause: e, source: 'local' },
    );
  }
  const signals = untilSignal();
  let bound: number;
  try {
    bound = await webhook.listen(port, address);
  } catch (e) {
    signals.dispose();
    throw e;
  }
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `https://${host}:${bound}/validate`;
  if (ctx.flags.json)
    ctx.io.stdout(`${JSON.stringify({ url, metrics: `https://${host}:${bound}/metrics` })}\n`);
  else ctx.io.stdout(`chartproof webhook listening on ${url} (metrics: /metrics, health: /healthz)\n`);

  // Certificate rotation (cert-manager, kubelet-updated Secret volumes): re-read the files.
  const reload = setInterval(() => {
    readTls().then(
      (next) => {
        if (next.cert.equals(tls.cert) && next.key.equals(tls.key)) return;
        try {
          webhook.setTls(next);
          tls = next;
          ctx.io.stderr('chartproof webhook: TLS certificate reloaded\n');
        } catch (e) {
          ctx.io.stderr(`chartproof webhook: keeping the old certificate: ${(e as Error).message}\n`);
        }
      },
      (e: unknown) =>
        ctx.io.stderr(`chartproof webhook: keeping the old certificate: ${(e as Error).message}\n`),
    );
  }, TLS_RELOAD_MS);
  reload.unref();
  try {
    const sig = await signals.done;
    ctx.io.stderr(`chartproof webhook: ${sig}: closing (reviews in flight may finish)\n`);
    await webhook.close({ graceMs: timeout * 1000 });
  } finally {
    clearInterval(reload);
    signals.dispose();
  }
  const c = webhook.state.counters;
  ctx.io.stderr(
    `chartproof webhook: stopped (allowed ${c.allowed}, denied ${c.denied}, errors ${c.errors})\n`,
  );
  return Exit.ok;
}

async function config(ctx: CommandContext): Promise<number> {
  const configPath = required(ctx, 'config');
  const serviceFlag = ctx.values.service as string | undefined;
  const url = ctx.values.url as string | undefined;
  if ((serviceFlag === undefined) === (url === undefined))
    throw new UsageError('give exactly one of --service NAMESPACE/NAME and --url URL');
  let service: { namespace: string; name: string } | undefined;
  if (serviceFlag !== undefined) {
    const m = /^([^/]+)\/([^/]+)$/.exec(serviceFlag);
    if (!m) throw new UsageError('--service expects NAMESPACE/NAME');
    service = { namespace: m[1]!, name: m[2]! };
  }
  const failurePolicy = failurePolicyFlag(ctx);
  const timeoutSeconds = timeoutFlag(ctx);
  const caPath = ctx.flags.caFile;
  const trust = await local(() => loadTrustConfig(configPath));
  const caBundle = caPath ? await readBounded(caPath, 'CA certificate') : undefined;
  const out = await local(() =>
    generateWebhookConfiguration(trust, {
      ...(service ? { service } : { url: url! }),
      ...(caBundle ? { caBundle } : {}),
      failurePolicy,
      timeoutSeconds,
    }),
  );
  for (const w of out.warnings) ctx.io.stderr(`Warning: ${w}\n`);
  if (ctx.flags.json) ctx.io.stdout(`${JSON.stringify(out.document, null, 2)}\n`);
  else ctx.io.stdout(out.yaml);
  return Exit.ok;
}

/**
 * `chartproof webhook serve|config`: the admission webhook for Helm release Secrets
 * and Pods, and its ValidatingWebhookConfiguration.
 */
export const WEBHOOK_COMMAND: Command = {
  usage:
    'webhook serve --config FILE --tls-cert FILE --tls-key FILE [--port N] [--address A] | ' +
    'webhook config --config FILE --service NAMESPACE/NAME|--url URL [--ca-file FILE]',
  summary: 'run the admission webhook for Helm releases and Pods, or print its webhook configuration',
  help:
    '\nchartproof webhook serve --config FILE --tls-cert FILE --tls-key FILE [flags]\n' +
    '  Serves POST /validate (AdmissionReview v1), GET /healthz and GET /metrics over HTTPS until\n' +
    '  SIGTERM or SIGINT; prints one line with the listening URL. Release Secrets are checked\n' +
    "  against the signed chart named by the trust config's charts.reference, Pods against the\n" +
    '  allowed registries. The global registry flags (--registry-config, --ca-file, --plain-http)\n' +
    '  apply to the registry. The TLS files are re-read every minute (certificate rotation).\n' +
    '  --port N                  listening port (default 8443; 0 picks a free one)\n' +
    '  --address A               listening address (default 0.0.0.0)\n' +
    '  --timeout S               review deadline in seconds, 1-30 (default 10; also bounds each\n' +
    "                            registry request); lowered to the apiserver's ?timeout= when shorter\n" +
    '  --failure-policy P        Fail (default: undecidable reviews are denied) or Ignore (allowed)\n' +
    '  --trusted-root FILE       Sigstore trusted root (keyless identities, tlog: require)\n' +
    '  --verify-images           also verify the signatures of Pod images (not only their registry)\n' +
    '\nchartproof webhook config --config FILE (--service NAMESPACE/NAME | --url URL) [flags]\n' +
    '  Prints the admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration (YAML; --json).\n' +
    '  --service NAMESPACE/NAME  the Service in front of the webhook (port 443, path /validate)\n' +
    '  --url URL                 or an https URL (a webhook outside the cluster)\n' +
    '  --ca-file FILE            PEM CA that signed the serving certificate (becomes caBundle)\n' +
    '  --failure-policy P        Fail (default) or Ignore\n' +
    '  --timeout S               timeoutSeconds, 1-30 (default 10)\n',
  options: {
    config: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    port: { type: 'string' },
    address: { type: 'string' },
    'failure-policy': { type: 'string' },
    'trusted-root': { type: 'string' },
    'verify-images': { type: 'boolean' },
    service: { type: 'string' },
    url: { type: 'string' },
  },
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
    if (sub === 'serve') return serve(ctx);
    if (sub === 'config') return config(ctx);
    throw new UsageError(
      'expected a subcommand: chartproof webhook serve|config (see chartproof webhook --help)',
    );
  },
};
