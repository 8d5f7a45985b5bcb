import { join } from 'node:path';
import { writeFileAtomic } from '../fs.js';
import { exportMirror } from '../mirror/airgap.js';
import { importMirror } from '../mirror/airgap-import.js';
import { applyMirror, type MirrorReport, mirrorSummaryLine } from '../mirror/apply.js';
import { detectDrift, type DriftReport, driftSummaryLine } from '../mirror/drift.js';
import { type MirrorPlanItem, mirrorPlanEntry, planMirror } from '../mirror/plan.js';
import { loadMirrorSpec, type MirrorSpec, mirrorHostSettings } from '../mirror/spec.js';
import type { RegistryClient } from '../oci/client.js';
import { fetchValuesOverlays } from '../mirror/images.js';
import type { Command, CommandContext } from './commands.js';
import { Exit, local, UsageError } from './io.js';
import { POLICY_OPTIONS, policyFromFlags, TLOG_WARNING } from './policy-flags.js';

const USAGE =
  'mirror (plan|apply|drift) --config FILE | export --config FILE --to DIR|FILE.tar | ' +
  'import --from DIR|FILE.tar --config FILE | overlay REF [--prefix P] [--output FILE] [--key PUB | --certificate-identity X --certificate-oidc-issuer Y] ' +
  '[--report FILE] [--concurrency N] [--overlay-dir DIR]';
const SUBCOMMANDS = ['plan', 'apply', 'export', 'import', 'drift', 'overlay'];
const VERB = { copy: 'copy', skip: 'skip', refuse: 'REFUSE', fail: 'FAIL' } as const;

function planLines(i: MirrorPlanItem): string[] {
  const id = `${i.name}-${i.version || i.requested}`;
  const why = i.reason ? `: ${i.reason}` : '';
  const lines = [`${VERB[i.action].padEnd(6)} ${id} ${i.source} -> ${i.target}${why}`];
  for (const img of i.images ?? []) {
    const note = img.reason && img.action !== 'skip' ? `: ${img.reason}` : '';
    const digest = img.digest ? ` (${img.digest})` : '';
    lines.push(`  ${`image ${VERB[img.action]}`.padEnd(12)} ${img.source} -> ${img.target}${digest}${note}`);
  }
  return lines;
}

/** Writes each result's values overlay to DIR/<name>-<version>.values-internal.yaml. */
async function writeOverlays(dir: string, report: MirrorReport): Promise<string[]> {
  const written: string[] = [];
  for (const r of report.results) {
    if (!r.overlay || !r.version) continue;
    const file = join(dir, `${r.name}-${r.version}.values-internal.yaml`);
    await local(() => writeFileAtomic(file, r.overlay!.yaml, 0o644, { dirMode: 0o755 }));
    written.push(file);
  }
  return written;
}

/** Exit code of a drift check: 3 when a chart could not be checked, 1 when upstream or the target changed, else 0. */
function driftExit(summary: DriftReport['summary']): number {
  const images = summary.images;
  if (summary.failed > 0 || (images?.failed ?? 0) > 0) return Exit.registry;
  if (summary.changedUpstream + (summary.changedTarget ?? 0) > 0) return Exit.verification;
  if (images && images['changed-upstream'] + images['changed-target'] > 0) return Exit.verification;
  return Exit.ok;
}

function reportLines(report: MirrorReport, copiedVerb = 'copied'): string[] {
  const width = Math.max(7, copiedVerb.length);
  const lines = report.results.flatMap((r) => {
    const id = `${r.name}-${r.version || r.requested}`;
    const extra =
      r.status === 'copied'
        ? ` ${r.pinned} (${r.signaturesCarried} upstream signature(s)/referrer(s) carried${r.internalSignature ? ', signed' : ''})`
        : r.status === 'skipped'
          ? ` ${r.pinned ?? r.target}`
          : `: ${r.reason}`;
    const out = [`${(r.status === 'copied' ? copiedVerb : r.status).padEnd(width)} ${id}${extra}`];
    for (const img of r.images ?? []) {
      const detail =
        img.status === 'copied'
          ? ` ${img.pinned} (${img.signaturesCarried} carried${img.internalSignature ? ', signed' : ''})`
          : img.status === 'skipped'
            ? ` ${img.pinned ?? img.target}`
            : `: ${img.source}: ${img.reason}`;
      out.push(`  image ${(img.status === 'copied' ? copiedVerb : img.status).padEnd(width)}${detail}`);
    }
    if (r.overlay?.digest) out.push(`  overlay ${r.overlay.prefix} (${r.overlay.digest})`);
    return out;
  });
  lines.push(mirrorSummaryLine(report));
  return lines;
}

/** Exit code of a run: 3 when something failed, 1 when something was refused, else 0. */
function exitFor(summary: MirrorReport['summary']): number {
  if (summary.failed > 0) return Exit.registry;
  if (summary.refused > 0) return Exit.verification;
  return Exit.ok;
}

async function withClient<T>(
  ctx: CommandContext,
  spec: MirrorSpec,
  fn: (c: RegistryClient) => Promise<T>,
): Promise<T> {
  if (!ctx.clientWith) return fn(ctx.client);
  const client = ctx.clientWith(mirrorHostSettings(spec));
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** `SOURCE_DATE_EPOCH` as the export's recorded time (none without it). */
function sourceDateEpoch(ctx: CommandContext): { sourceDateEpoch?: number } {
  const raw = ctx.io.env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return {};
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(Number(raw)))
    throw new UsageError(`invalid SOURCE_DATE_EPOCH: ${JSON.stringify(raw)}`);
  return { sourceDateEpoch: Number(raw) };
}

/** The JSON report: on stdout with the global --json, and into the --report file. */
async function output(ctx: CommandContext, report: string | undefined, value: unknown): Promise<void> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (ctx.flags.json) ctx.io.stdout(text);
  if (report !== undefined) await local(() => writeFileAtomic(report, text, 0o644, { dirMode: 0o755 }));
}

/**
 * `chartproof mirror plan|apply|export|import|drift --config FILE`: mirrors pinned charts into an
 * internal registry (docs/mirroring.md). Ends with
 * `Mirrored: N copied, M skipped, K refused, F failed`; exit 0 when everything was
 * copied or skipped, 1 when something was refused, 3 when something failed.
 */
export const MIRROR_COMMAND: Command = {
  usage: USAGE,
  summary: 'mirror pinned charts into an internal registry, verified, scanned and re-signed',
  help:
    '\nplan    reports what would be copied, skipped (already present with the same digest), refused (upstream\n' +
    '        signature, scanner, or a different digest already under the tag) or failed (e.g. missing version).\n' +
    'apply   copies: OCI sources byte for byte with their signatures and referrers, classic charts in Helm\u2019s\n' +
    '        OCI format; adds the internal signature (sign.key, password from COSIGN_PASSWORD); tags last.\n' +
    'export  writes the verified, scanned charts with their upstream signatures to DIR (one OCI image layout\n' +
    '        per chart in DIR/<name>, plus chartproof-mirror.json), whatever the target already holds;\n' +
    '        a --to path ending in .tar writes that tree as one reproducible tar file instead.\n' +
    'import  copies such an export (directory or tar) into the target after verifying it again in a\n' +
    '        quarantine (signatures, scanners, digests); signs and tags like apply.\n' +
    'drift   compares mirrored versions with upstream: CHANGED (same version, other digest upstream: exit 1),\n' +
    '        missing-upstream, and newer-upstream versions the spec would take. Ends with a Drift: line.\n' +
    '        With --key PUB (or the keyless flags) the target content must also verify with that policy:\n' +
    '        CHANGED-TARGET (exit 1) when a tag names content the mirror did not sign.\n' +
    'overlay prints the values-internal.yaml pushed next to a mirrored chart REF (--output FILE writes it;\n' +
    '        --prefix P picks one of several; --json lists them with their image mappings). With --key PUB\n' +
    '        (or --certificate-identity/--certificate-oidc-issuer, as verify) only an overlay whose signature\n' +
    '        satisfies that policy counts: the mirror signs the overlays it pushes with sign.key.\n' +
    'With images: true in the spec, each chart\u2019s images are copied too (whole indexes, same digests,\n' +
    'signatures carried, signed, tagged before the chart) and a values overlay is pushed next to the chart;\n' +
    '--overlay-dir DIR (apply, import) also writes DIR/<name>-<version>.values-internal.yaml.\n' +
    '--report FILE writes the JSON report to FILE; the global --json prints it on stdout instead of the text\n' +
    '(the summary line then goes to stderr). Credentials come from --registry-config.\n',
  options: {
    config: { type: 'string' },
    to: { type: 'string' },
    from: { type: 'string' },
    report: { type: 'string' },
    concurrency: { type: 'string' },
    'overlay-dir': { type: 'string' },
    prefix: { type: 'string' },
    output: { type: 'string' },
    ...POLICY_OPTIONS,
  },
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    if (sub === undefined || !SUBCOMMANDS.includes(sub))
      throw new UsageError(
        sub === undefined ? `expected: chartproof ${USAGE}` : `unknown mirror subcommand "${sub}"`,
      );
    if (sub === 'overlay') return overlayCommand(ctx, rest);
    for (const flag of ['prefix', 'output'])
      if (ctx.values[flag] !== undefined) throw new UsageError(`--${flag} applies to mirror overlay`);
    const policyFlags = Object.keys(POLICY_OPTIONS).filter((f) => ctx.values[f] !== undefined);
    if (policyFlags.length > 0 && sub !== 'drift')
      throw new UsageError(`--${policyFlags[0]} applies to mirror drift and mirror overlay`);
    if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
    const overlayDir = ctx.values['overlay-dir'] as string | undefined;
    if (overlayDir !== undefined && sub !== 'apply' && sub !== 'import')
      throw new UsageError('--overlay-dir applies to mirror apply and import');
    const config = ctx.values.config as string | undefined;
    if (!config) throw new UsageError('--config FILE is required');
    const to = ctx.values.to as string | undefined;
    const from = ctx.values.from as string | undefined;
    if (sub === 'export' ? !to : to !== undefined)
      throw new UsageError(
        sub === 'export' ? '--to DIR (or FILE.tar) is required' : '--to applies to mirror export',
      );
    if (sub === 'import' ? !from : from !== undefined)
      throw new UsageError(
        sub === 'import' ? '--from DIR (or FILE.tar) is required' : '--from applies to mirror import',
      );
    const report = ctx.values.report as string | undefined;
    if (report === '' || report === '-')
      throw new UsageError('--report takes a file name; use the global --json for JSON on stdout');
    const json = ctx.flags.json;
    const spec = await local(() => loadMirrorSpec(config));
    const rawConcurrency = ctx.values.concurrency as string | undefined;
    if (rawConcurrency !== undefined) {
      const n = Number(rawConcurrency);
      if (!Number.isInteger(n) || n < 1 || n > 64)
        throw new UsageError('--concurrency must be an integer from 1 to 64');
      spec.concurrency = n;
    }
    if (sub === 'plan') {
      const items = await withClient(ctx, spec, (client) => planMirror(spec, { client }));
      const summary = { copied: 0, skipped: 0, refused: 0, failed: 0 };
      for (const i of items)
        summary[
          ({ copy: 'copied', skip: 'skipped', refuse: 'refused', fail: 'failed' } as const)[i.action]
        ]++;
      const lines = items.flatMap(planLines);
      lines.push(
        `Plan: ${summary.copied} to copy, ${summary.skipped} to skip, ${summary.refused} refused, ${summary.failed} failed`,
      );
      if (!json) ctx.io.stdout(`${lines.join('\n')}\n`);
      else ctx.io.stderr(`${lines.at(-1)}\n`);
      await output(ctx, report, items.map(mirrorPlanEntry));
      return exitFor(summary);
    }
    if (sub === 'drift') {
      const targetPolicy = policyFlags.length > 0 ? await policyFromFlags(ctx) : undefined;
      if (targetPolicy?.tlog === 'skip') ctx.io.stderr(TLOG_WARNING);
      const drift = await withClient(ctx, spec, (client) =>
        detectDrift(spec, { client, ...(targetPolicy ? { targetPolicy } : {}) }),
      );
      if (!json) {
        const lines = drift.items.map((i) => {
          const verb =
            i.status === 'changed-upstream'
              ? 'CHANGED'
              : i.status === 'changed-target'
                ? 'CHANGED-TARGET'
                : i.status === 'failed'
                  ? 'FAIL'
                  : i.status;
          const line = `${verb.padEnd(16)} ${i.name}${i.version ? `-${i.version}` : ''} ${i.target}${i.reason ? `: ${i.reason}` : ''}`;
          const images = (i.images ?? []).map((img) => {
            const v = { 'changed-upstream': 'CHANGED', 'changed-target': 'CHANGED-TARGET', failed: 'FAIL' }[
              img.status as string
            ];
            return `  image ${(v ?? img.status).padEnd(16)} ${img.source || img.target}${img.reason ? `: ${img.reason}` : ''}`;
          });
          return [line, ...images].join('\n');
        });
        lines.push(driftSummaryLine(drift));
        ctx.io.stdout(`${lines.join('\n')}\n`);
      }
      await output(ctx, report, drift);
      if (json) ctx.io.stderr(`${driftSummaryLine(drift)}\n`);
      return driftExit(drift.summary);
    }
    const onEvent = (e: { name: string; version: string; step: string; detail?: string }) => {
      if (e.step === 'done' || !ctx.flags.progress) return;
      ctx.io.stderr(`${e.name}-${e.version}: ${e.step}${e.detail ? ` ${e.detail}` : ''}\n`);
    };
    const result = await withClient(ctx, spec, (client) =>
      sub === 'export'
        ? exportMirror(spec, to!, { client, onEvent, ...sourceDateEpoch(ctx) })
        : sub === 'import'
          ? importMirror(spec, from!, { client, env: ctx.io.env, onEvent })
          : applyMirror(spec, { client, env: ctx.io.env, onEvent }),
    );
    if (!json) ctx.io.stdout(`${reportLines(result, sub === 'export' ? 'exported' : 'copied').join('\n')}\n`);
    if (overlayDir !== undefined) {
      for (const file of await writeOverlays(overlayDir, result)) ctx.io.stderr(`wrote ${file}\n`);
    }
    await output(ctx, report, result);
    if (json) ctx.io.stderr(`${mirrorSummaryLine(result)}\n`);
    return exitFor(result.summary);
  },
};

/**
 * `chartproof mirror overlay REF [--prefix P] [--output FILE]`: the values overlay pushed
 * next to a mirrored chart, as `values-internal.yaml` (stdout or FILE); `--json` prints
 * every overlay with its image mapping. Exit 1 when none matches; exit 2 (usage) when
 * several do (text output) and `--prefix` does not pick one.
 */
async function overlayCommand(ctx: CommandContext, args: string[]): Promise<number> {
  if (args.length !== 1)
    throw new UsageError('expected: chartproof mirror overlay REF [--prefix P] [--output FILE]');
  for (const flag of ['config', 'to', 'from', 'report', 'concurrency', 'overlay-dir'])
    if (ctx.values[flag] !== undefined) throw new UsageError(`--${flag} does not apply to mirror overlay`);
  const prefix = ctx.values.prefix as string | undefined;
  const outputFile = ctx.values.output as string | undefined;
  const signed = Object.keys(POLICY_OPTIONS).some((f) => ctx.values[f] !== undefined);
  const policy = signed ? await policyFromFlags(ctx) : undefined;
  if (policy?.tlog === 'skip') ctx.io.stderr(TLOG_WARNING);
  const overlays = await fetchValuesOverlays(ctx.client, args[0]!, {
    ...(prefix !== undefined ? { prefix } : {}),
    ...(policy ? { policy } : {}),
  });
  if (ctx.flags.json) {
    ctx.io.stdout(`${JSON.stringify(overlays, null, 2)}\n`);
    return overlays.length > 0 ? Exit.ok : Exit.verification;
  }
  if (overlays.length === 0) {
    ctx.io.stderr(
      `no values overlay${policy ? ' signed to satisfy the policy' : ''} refers to ${args[0]}${prefix !== undefined ? ` with prefix ${prefix}` : ''}\n`,
    );
    return Exit.verification;
  }
  if (overlays.length > 1)
    throw new UsageError(
      `${overlays.length} overlays refer to ${args[0]} (prefixes ${overlays.map((o) => o.prefix).join(', ')}): choose one with --prefix`,
    );
  const yaml = overlays[0]!.yaml;
  if (outputFile !== undefined) {
    await local(() => writeFileAtomic(outputFile, yaml, 0o644, { dirMode: 0o755 }));
    ctx.io.stderr(
      `wrote ${outputFile} (${overlays[0]!.images.length} image(s) under ${overlays[0]!.prefix})\n`,
    );
  } else ctx.io.stdout(yaml);
  return Exit.ok;
}
