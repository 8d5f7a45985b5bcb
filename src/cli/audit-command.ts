import {
  AUDIT_CHECKS,
  type AuditOptions,
  type AuditReport,
  type AuditSource,
  auditReleases,
  MAX_AUDIT_INPUT_BYTES,
} from '../policy/audit.js';
import { loadTrustConfig } from '../policy/trust.js';
import { fetchTrustedRoot, loadTrustedRoot } from '../verify/trusted-root.js';
import type { Command, CommandContext } from './commands.js';
import { Exit, local, UsageError } from './io.js';
import { readTextFile } from './policy-flags.js';
import { parseDuration } from './transport-flags.js';

/** Column titles of the checks in the text table. */
const TITLES: Record<(typeof AUDIT_CHECKS)[number], string> = {
  decode: 'DECODE',
  'chart-signature': 'SIGNATURE',
  'chart-content': 'CONTENT',
  manifest: 'MANIFEST',
  'image-registries': 'REGISTRIES',
  'image-signatures': 'IMAGE-SIGS',
};

/** Terminal-safe text: control characters from hostile release names become `?`. */
function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
}

/** The text report: a table (one row per release, one column per check), then reasons. */
export function formatAuditTable(report: AuditReport): string {
  const head = ['NAMESPACE', 'RELEASE', 'REVISION', 'CHART', ...AUDIT_CHECKS.map((c) => TITLES[c]), 'RESULT'];
  const rows = report.releases.map((r) => [
    r.namespace,
    r.name,
    String(r.revision),
    r.chart ? `${r.chart.name}-${r.chart.version}` : '-',
    ...r.checks.map((c) => c.status),
    r.result === 'passed' ? 'PASSED' : 'FAILED',
  ]);
  const table = [head, ...rows].map((row) => row.map((cell) => printable(cell)));
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  let out = '';
  for (const row of table)
    out += `${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`;
  const notes: string[] = [];
  for (const r of report.releases) {
    for (const c of r.checks) {
      if (c.status === 'passed' || !c.reason) continue;
      // Skips that only repeat an earlier failure or a missing trust config are noise.
      if (
        c.status === 'skipped' &&
        /^(no trust config|no verified signed chart|the release Secret does not decode)$/.test(c.reason)
      )
        continue;
      notes.push(`${r.namespace}/${r.name} v${r.revision} ${c.id} ${c.status}: ${c.reason}`);
    }
  }
  if (notes.length > 0) out += `\n${notes.map(printable).join('\n')}\n`;
  const s = report.summary;
  out += `\nAudited ${s.releases} release(s): ${s.passed} passed, ${s.failed} failed`;
  out +=
    s.ignoredSecrets > 0 ? ` (${s.ignoredSecrets} older revision(s) or other Secret(s) not audited)\n` : '\n';
  return out;
}

async function readSource(ctx: CommandContext): Promise<AuditSource> {
  const from = ctx.values.from as string | undefined;
  const kubeconfig = ctx.values.kubeconfig as string | undefined;
  if (from !== undefined && kubeconfig !== undefined)
    throw new UsageError('--from and --kubeconfig are mutually exclusive');
  if (from === undefined && kubeconfig === undefined)
    throw new UsageError('--from FILE|- or --kubeconfig FILE is required');
  if (from !== undefined) {
    for (const flag of ['context', 'namespace'])
      if (ctx.values[flag] !== undefined) throw new UsageError(`--${flag} needs --kubeconfig`);
    if (from === '-') {
      const text = await ctx.io.readStdin({ maxBytes: MAX_AUDIT_INPUT_BYTES, what: 'Secret list' });
      return { json: text, what: 'standard input' };
    }
    return local(async () => ({
      json: await readTextFile(from, 'Secret list', MAX_AUDIT_INPUT_BYTES),
      what: from,
    }));
  }
  const source: AuditSource = { kubeconfig: kubeconfig! };
  if (ctx.values.context !== undefined) source.context = ctx.values.context as string;
  if (ctx.values.namespace !== undefined) source.namespace = ctx.values.namespace as string;
  return source;
}

/**
 * `chartproof audit (--from FILE|- | --kubeconfig FILE [--context C] [-n NS]) [--config trust.yaml] …`:
 * audits Helm releases against their signed charts; a table (or `--json`), exit 1
 * when any release fails.
 */
export const AUDIT_COMMAND: Command = {
  usage:
    'audit (--from FILE|- | --kubeconfig FILE [--context NAME] [--namespace NS]) [--config FILE] [--all-revisions]',
  summary: 'audit deployed Helm releases against their signed charts (signature, content, manifest, images)',
  help:
    '\nReads Helm release Secrets from `kubectl get secrets -A -l owner=helm -o json` output (--from FILE, or -\n' +
    'for stdin) or a cluster (--kubeconfig; all namespaces unless --namespace). Per release (the latest\n' +
    "revision, or every one with --all-revisions): the chart is located through the trust config's\n" +
    "charts.reference and verified, its content compared with the release's, the signed chart re-rendered\n" +
    "with the release's values and compared with the applied manifest and hooks, and every image checked\n" +
    'against the allowed registries and verified. Each check: passed, failed or skipped.\n' +
    '  --config FILE             trust config (without one, releases are listed, not verified)\n' +
    '  --trusted-root FILE       trusted root for keyless identities and tlog checks (or --tuf)\n' +
    '  --skip-image-signatures   check image registries only\n' +
    "  --kube-version V          .Capabilities.KubeVersion of the re-render (default: the cluster's, or Helm's)\n" +
    '  --api-versions X          extra .Capabilities.APIVersions (repeatable)\n' +
    '  --concurrency N           releases checked at once (default 4)\n' +
    '  --deadline DURATION       total time the audit may take (default 5m)\n' +
    'Exit 1 when any release fails; --json prints the report (docs/audit.md).\n',
  options: {
    from: { type: 'string' },
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    config: { type: 'string' },
    'all-revisions': { type: 'boolean' },
    'skip-image-signatures': { type: 'boolean' },
    'kube-version': { type: 'string' },
    'api-versions': { type: 'string', multiple: true },
    concurrency: { type: 'string' },
    deadline: { type: 'string' },
    'trusted-root': { type: 'string' },
    tuf: { type: 'boolean' },
  },
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(ctx.args[0])}`);
    const v = ctx.values;
    const options: AuditOptions = {};
    if (v.concurrency !== undefined) {
      const n = Number(v.concurrency);
      if (!Number.isInteger(n) || n < 1 || n > 32)
        throw new UsageError('--concurrency must be an integer from 1 to 32');
      options.concurrency = n;
    }
    if (v.deadline !== undefined) {
      const ms = parseDuration(v.deadline as string, '--deadline');
      if (ms <= 0) throw new UsageError('--deadline must be positive');
      options.timeoutMs = ms;
    }
    if (v['trusted-root'] !== undefined && v.tuf)
      throw new UsageError('--trusted-root and --tuf are mutually exclusive');
    if (v['all-revisions']) options.allRevisions = true;
    if (v['skip-image-signatures']) options.verifyImages = false;
    if (v['kube-version'] !== undefined) options.kubeVersion = v['kube-version'] as string;
    const apiVersions = v['api-versions'] as string[] | undefined;
    if (apiVersions && apiVersions.length > 0) options.apiVersions = apiVersions.flatMap((a) => a.split(','));
    const source = await readSource(ctx);
    const config = v.config as string | undefined;
    if (config !== undefined) {
      options.trust = await local(() => loadTrustConfig(config));
      options.client = ctx.client;
    }
    const rootPath = v['trusted-root'] as string | undefined;
    if (rootPath) options.trustedRoot = await local(() => loadTrustedRoot(rootPath));
    else if (v.tuf) options.trustedRoot = await fetchTrustedRoot();
    // Input errors carry `source: 'local'` (exit 2), the API server's `remote` (exit 3);
    // registry trouble inside a release is a failed check in the report.
    const report = await auditReleases(source, options);
    if (ctx.flags.json) ctx.io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    else {
      // With --json the warnings are in the report (stderr keeps only an error object).
      if (config === undefined) ctx.io.stderr('Warning: no --config: releases are listed, not verified\n');
      for (const w of report.warnings) if (!w.startsWith('no trust config')) ctx.io.stderr(`Warning: ${w}\n`);
      ctx.io.stdout(formatAuditTable(report));
    }
    return report.ok ? Exit.ok : Exit.verification;
  },
};
