import { ChartproofError } from '../errors.js';
import { type BuildOptions, type BuiltDependency, buildDependencies } from '../lock/build.js';
import { type PinnedDependency, type PinOptions, pinDependencies } from '../lock/pin.js';
import { helmRepositoriesPath, readHelmRepositories } from '../lock/sources.js';
import { type DependencyResult, type VerifyDependenciesOptions, verifyDependencies } from '../lock/verify.js';
import type { Command, CommandContext } from './commands.js';
import { Exit, UsageError } from './io.js';

const USAGE = 'deps (verify|pin|build) PATH [--online] [--force] [--allow-unpinned]';

/** Lines for a mismatch: the issue's `FAIL: … digest mismatch` + `  Expected:` / `  Actual:`. */
function mismatchLines(id: string, expected: string, actual: string, at?: string): string[] {
  const lines = [`FAIL: ${id} digest mismatch`, `  Expected: ${expected}`, `  Actual: ${actual}`];
  if (at) lines.push(`  At: ${at}`);
  return lines;
}

function verifyLines(d: DependencyResult): string[] {
  const id = d.version === '' ? d.name : `${d.name}-${d.version}`;
  switch (d.status) {
    case 'ok':
      return [
        `OK: ${id} digest matches${d.checked.vendored ? '' : d.checked.source ? ' (at the source; not vendored)' : ''}`,
      ];
    case 'digest-mismatch':
      return mismatchLines(id, d.expected ?? '', d.actual ?? '', d.where === 'source' ? d.source : undefined);
    case 'unpinned':
      return [`WARN: ${id} has no pinned digest: its content was not verified (run chartproof deps pin)`];
    case 'missing':
      return [`FAIL: ${id} missing`];
    case 'not-locked':
      return [`FAIL: ${id} not in Chart.lock${d.version === '' ? ` (${d.detail})` : ''}`];
    case 'version-mismatch':
      return [`FAIL: ${id} version mismatch (${d.detail})`];
    case 'unverifiable':
      return [`FAIL: ${id} cannot be verified: ${d.detail}`];
    case 'invalid':
      return [`FAIL: ${id} is not a valid chart: ${d.detail}`];
    case 'source-error':
      return [`FAIL: ${id} source unavailable: ${d.detail}`];
  }
}

function pinLines(d: PinnedDependency): string[] {
  const id = `${d.name}-${d.version}`;
  const where = d.manifestDigest ? `${d.source}, manifest ${d.manifestDigest}` : d.source;
  switch (d.status) {
    case 'pinned':
      return [
        d.previous
          ? `Repinned: ${id} ${d.digest} (${where}; was ${d.previous})`
          : `Pinned: ${id} ${d.digest} (${where})`,
      ];
    case 'unchanged':
      return [`Unchanged: ${id} ${d.digest}`];
    case 'skipped':
      return [`Skipped: ${id}: ${d.detail}`];
    case 'changed':
      return [
        ...mismatchLines(id, d.previous ?? '', d.digest ?? '', d.source),
        '  The source serves different content under the same version; use --force to accept it.',
      ];
    case 'vendored-mismatch':
      return [`FAIL: ${id} vendored archive differs from the source: ${d.detail}`];
    case 'failed':
      return [`FAIL: ${id} ${d.detail}`];
  }
}

function buildLines(d: BuiltDependency): string[] {
  const id = `${d.name}-${d.version}`;
  switch (d.status) {
    case 'downloaded':
      return [`Downloaded: ${id} digest matches (${d.source}) -> ${d.file}`];
    case 'present':
      return [`Present: ${id} digest matches (${d.file})`];
    case 'skipped':
      return [`Skipped: ${id}: ${d.detail}`];
    case 'unpinned':
      return d.file
        ? [`WARN: ${id} downloaded without a pinned digest (${d.source}) -> ${d.file}`]
        : [`FAIL: ${id} ${d.detail}`];
    case 'digest-mismatch':
      return mismatchLines(id, d.expected ?? '', d.actual ?? '', d.source);
    case 'failed':
      return [`FAIL: ${id} ${d.detail}`];
  }
}

async function repositories(ctx: CommandContext): Promise<Record<string, string>> {
  const explicit = ctx.values['repository-config'] as string | undefined;
  const path = explicit ?? helmRepositoriesPath(ctx.io.env);
  try {
    return await readHelmRepositories(path);
  } catch (err) {
    // The default file is optional; an explicit one must exist.
    if (!explicit && err instanceof ChartproofError && err.code === 'NOT_FOUND') return {};
    throw err;
  }
}

/**
 * `chartproof deps verify|pin|build PATH`: Chart.lock integrity.
 * - verify: one line per dependency (`OK: <name>-<version> digest matches`,
 *   `FAIL: … digest mismatch` with `  Expected:`/`  Actual:`, `FAIL: … missing`,
 *   `FAIL: … not in Chart.lock`), the lock's out-of-sync error, and
 *   `All dependency checksums verified.` (exit 0) or exit 1.
 * - pin: records per-dependency digests in the lock.
 * - build: downloads the locked dependencies into charts/, verified first.
 */
export const DEPS_COMMAND: Command = {
  usage: USAGE,
  summary: 'verify, pin and build Chart.lock dependencies by content digest',
  help:
    '\nverify PATH   the lock must match Chart.yaml (Helm 2 requirements.lock hashes are accepted for apiVersion v1\n' +
    '              charts), every locked dependency must be vendored in charts/ with the locked version and match\n' +
    '              the digest pinned in the lock, and nothing unlocked may be vendored. Offline; a directory or .tgz.\n' +
    '              --online also fetches each dependency from its source and checks it against the pin.\n' +
    '              --allow-unpinned accepts dependencies the lock pins no digest for (reported, not verified).\n' +
    "pin PATH      resolves each locked dependency at its source and writes its digest into the lock (Helm's\n" +
    '              top-level digest is unchanged). A pin the source no longer matches fails unless --force.\n' +
    '              --dry-run reports without writing.\n' +
    'build PATH    downloads the locked dependencies into charts/; each must match its pinned digest, and nothing\n' +
    '              is written unless all do. --allow-unpinned downloads unpinned ones unverified.\n' +
    '\n@name / alias:name repositories are read from --repository-config (default: Helm\u2019s repositories.yaml).\n' +
    'Exit codes: 0 all good, 1 a verification failure, 2 unreadable input or bad usage, 3 registry or network.\n',
  options: {
    online: { type: 'boolean' },
    force: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    'allow-unpinned': { type: 'boolean' },
    'repository-config': { type: 'string' },
  },
  async run(ctx) {
    const [sub, path, ...rest] = ctx.args;
    if (sub !== 'verify' && sub !== 'pin' && sub !== 'build') {
      throw new UsageError(
        sub === undefined
          ? `expected: chartproof ${USAGE}`
          : `unknown deps subcommand "${sub}": expected verify, pin or build`,
      );
    }
    if (path === undefined || rest.length > 0) throw new UsageError(`expected: chartproof deps ${sub} PATH`);
    const v = ctx.values;
    const allowed: Record<string, string[]> = {
      verify: ['online', 'allow-unpinned', 'repository-config'],
      pin: ['force', 'dry-run', 'repository-config'],
      build: ['allow-unpinned', 'repository-config'],
    };
    for (const flag of ['online', 'force', 'dry-run', 'allow-unpinned', 'repository-config']) {
      if (v[flag] !== undefined && !allowed[sub]!.includes(flag))
        throw new UsageError(`--${flag} does not apply to deps ${sub}`);
    }
    const lines: string[] = [];
    let code: number;
    let report: unknown;
    if (sub === 'verify') {
      const options: VerifyDependenciesOptions = {};
      if (v.online) {
        options.online = true;
        options.client = ctx.client;
        options.repositories = await repositories(ctx);
      }
      if (v['allow-unpinned']) options.allowUnpinned = true;
      const r = await verifyDependencies(path, options);
      report = r;
      code = r.ok ? Exit.ok : Exit.verification;
      if (r.lock.warning) ctx.io.stderr(`warning: ${r.lock.warning}\n`);
      if (!r.lock.inSync && r.lock.message) lines.push(`FAIL: ${r.lock.message}`);
      for (const d of r.dependencies) lines.push(...verifyLines(d));
      if (r.ok && r.allPinned) lines.push('All dependency checksums verified.');
      else if (r.ok) {
        const n = r.dependencies.filter((d) => d.status === 'unpinned').length;
        lines.push(
          `Dependency checks passed, but ${n} ${n === 1 ? 'dependency has' : 'dependencies have'} no pinned digest and ${n === 1 ? 'was' : 'were'} not verified.`,
        );
      } else if (r.dependencies.some((d) => d.status === 'unpinned') && !v['allow-unpinned']) {
        lines.push(
          'Unpinned dependencies fail verification: run chartproof deps pin, or pass --allow-unpinned.',
        );
      }
    } else if (sub === 'pin') {
      const options: PinOptions = { client: ctx.client, repositories: await repositories(ctx) };
      if (v.force) options.force = true;
      if (v['dry-run']) options.dryRun = true;
      const r = await pinDependencies(path, options);
      report = r;
      code = r.ok ? Exit.ok : Exit.verification;
      for (const d of r.dependencies) {
        lines.push(...pinLines(d));
        if (d.warning) ctx.io.stderr(`warning: ${d.warning}\n`);
      }
      if (!r.ok) lines.push(`Nothing written to ${r.lockFile}.`);
      else if (r.written) lines.push(`Wrote ${r.lockFile} (Helm's lock digest unchanged: ${r.digest}).`);
      else if (v['dry-run']) lines.push(`Dry run: ${r.lockFile} not written.`);
      else lines.push(`${r.lockFile} is up to date.`);
    } else {
      const options: BuildOptions = { client: ctx.client, repositories: await repositories(ctx) };
      if (v['allow-unpinned']) options.allowUnpinned = true;
      const r = await buildDependencies(path, options);
      report = r;
      code = r.ok ? Exit.ok : Exit.verification;
      for (const d of r.dependencies) lines.push(...buildLines(d));
      for (const f of r.removed) lines.push(`Removed: ${f}`);
      lines.push(
        r.ok
          ? `Saved ${r.written.length} ${r.written.length === 1 ? 'chart' : 'charts'} to charts/.`
          : 'Nothing written to charts/: fix the failures above.',
      );
    }
    if (ctx.flags.json) {
      ctx.io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return code;
    }
    ctx.io.stdout(`${lines.join('\n')}\n`);
    return code;
  },
};
