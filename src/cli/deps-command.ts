import { ChartproofError, type ErrorCode } from '../errors.js';
import { type BuildOptions, type BuiltDependency, buildDependencies } from '../lock/build.js';
import { type PinnedDependency, type PinOptions, pinDependencies } from '../lock/pin.js';
import { helmRepositoriesPath, readHelmRepositories } from '../lock/sources.js';
import { type UpdateOptions, type UpdateReport, updateDependencies } from '../lock/update.js';
import { type DependencyResult, type VerifyDependenciesOptions, verifyDependencies } from '../lock/verify.js';
import type { Command, CommandContext } from './commands.js';
import { Exit, exitCodeFor, local, UsageError } from './io.js';

const USAGE = 'deps (verify|pin|build|update) PATH [--online] [--force] [--allow-unpinned] [--no-pin]';

/**
 * Lines for a mismatch: the issue's `FAIL: … digest mismatch` + `  Expected:` / `  Actual:`,
 * then `  At:` (the source) and `  Reason:` (e.g. the vendored archive is not valid gzip).
 */
function mismatchLines(id: string, expected: string, actual: string, at?: string, reason?: string): string[] {
  const lines = [`FAIL: ${id} digest mismatch`, `  Expected: ${expected}`, `  Actual: ${actual}`];
  if (at) lines.push(`  At: ${at}`);
  if (reason) lines.push(`  Reason: ${reason}`);
  return lines;
}

/**
 * Exit code of a failed deps run: 3 when a source could not be reached or answered
 * with an error (network, registry, missing version), else 1 (content or lock failed
 * verification). Failures recorded without an error code count as 1.
 */
export function depsFailureExit(codes: ReadonlyArray<ErrorCode | undefined>): number {
  for (const code of codes) {
    if (code === undefined) continue;
    if (exitCodeFor(new ChartproofError(code, code, { source: 'remote' })) === Exit.registry)
      return Exit.registry;
  }
  return Exit.verification;
}

function verifyLines(d: DependencyResult): string[] {
  const id = d.version === '' ? d.name : `${d.name}-${d.version}`;
  switch (d.status) {
    case 'ok':
      return [
        `OK: ${id} digest matches${d.checked.vendored ? '' : d.checked.source ? ' (at the source; not vendored)' : ''}`,
      ];
    case 'digest-mismatch':
      return mismatchLines(
        id,
        d.expected ?? '',
        d.actual ?? '',
        d.where === 'source' ? d.source : undefined,
        d.detail,
      );
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
      return mismatchLines(id, d.expected ?? '', d.actual ?? '', d.source, d.detail);
    case 'failed':
      return [`FAIL: ${id} ${d.detail}`];
  }
}

/** `Replaced: charts/x-1.0.0.tgz (sha256:…): it did not match the pinned digest`. */
function replacedLines(d: BuiltDependency): string[] {
  if (!d.replaced || !d.file) return [];
  const was = d.replaced.digest ? ` (${d.replaced.digest})` : '';
  return [`Replaced: ${d.file}${was}: ${d.replaced.reason}`];
}

/**
 * `deps update` output: first the lines `helm dependency update` prints (repository
 * updates, `Saving N charts`, `Downloading … from repo …`, `Deleting outdated charts`;
 * `Pulled:`/`Digest:` for OCI go to `errLines`, as Helm writes them to stderr), then
 * chartproof's pins and the lock.
 */
function updateLines(r: UpdateReport, chartDir: string, pin: boolean, errLines: string[]): string[] {
  const lines: string[] = [];
  const unmanaged = r.repositories.filter((x) => x.name === undefined);
  const managed = r.repositories.filter((x) => x.name !== undefined);
  if (unmanaged.length > 0) {
    lines.push('Getting updates for unmanaged Helm repositories...');
    for (const x of unmanaged)
      lines.push(`...Successfully got an update from the "${x.url}" chart repository`);
  }
  if (managed.length > 0) {
    lines.push('Hang tight while we grab the latest from your chart repositories...');
    for (const x of managed)
      lines.push(`...Successfully got an update from the "${x.name}" chart repository`);
    lines.push('Update Complete. \u2388Happy Helming!\u2388');
  }
  if (r.ok && !r.lock) return lines; // no dependencies declared: Helm prints nothing
  if (!r.ok) {
    for (const d of r.dependencies) {
      const id = d.version ? `${d.name}-${d.version}` : d.name;
      if (d.status === 'failed') lines.push(`FAIL: ${id} ${d.detail}`);
      if (d.status === 'changed')
        lines.push(
          ...mismatchLines(id, d.previous ?? '', d.digest ?? '', d.source),
          '  The source serves different content under the same version; use --force to accept it.',
        );
    }
    lines.push(`Nothing written to charts/ or ${r.lockFile}: fix the failures above.`);
    return lines;
  }
  lines.push(`Saving ${r.dependencies.length} charts`);
  for (const d of r.dependencies) {
    if (d.status === 'local')
      lines.push(
        `Dependency ${d.name} did not declare a repository. Assuming it exists in the charts directory`,
      );
    else if (d.status === 'already-downloaded')
      lines.push(`Already downloaded ${d.name} from repo ${d.repository}`);
    else if (d.status === 'downloaded') {
      lines.push(`Downloading ${d.name} from repo ${d.repository}`);
      // Helm's registry client writes these to stderr.
      if (d.pulled) errLines.push(`Pulled: ${d.pulled}`, `Digest: ${d.manifestDigest}`);
    }
  }
  lines.push('Deleting outdated charts');
  for (const x of r.notRemoved)
    lines.push(
      `Could not verify ${chartDir.replace(/\/+$/, '')}/${x.file} for deletion: ${x.reason} (Skipping)`,
    );
  if (pin) {
    for (const d of r.dependencies) {
      if (!d.digest || d.status === 'already-downloaded') continue;
      const where = d.manifestDigest ? `${d.source}, manifest ${d.manifestDigest}` : d.source;
      lines.push(
        d.previous
          ? `Repinned: ${d.name}-${d.version} ${d.digest} (${where}; was ${d.previous})`
          : `Pinned: ${d.name}-${d.version} ${d.digest} (${where})`,
      );
    }
  }
  if (r.lockWritten) lines.push(`Wrote ${r.lockFile} (Helm's lock digest: ${r.lock?.digest}).`);
  return lines;
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
    'update PATH   like helm dependency update: resolves the Chart.yaml version ranges (index.yaml, OCI tags,\n' +
    '              file:// charts), downloads and verifies every archive, then writes charts/ and Chart.lock\n' +
    "              with Helm's digest and each dependency's content digest (--no-pin: Helm's lock exactly).\n" +
    '              Content that changed under an unchanged version fails unless --force. --dry-run writes nothing.\n' +
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
    'no-pin': { type: 'boolean' },
  },
  async run(ctx) {
    const [sub, path, ...rest] = ctx.args;
    if (sub !== 'verify' && sub !== 'pin' && sub !== 'build' && sub !== 'update') {
      throw new UsageError(
        sub === undefined
          ? `expected: chartproof ${USAGE}`
          : `unknown deps subcommand "${sub}": expected verify, pin, build or update`,
      );
    }
    if (path === undefined || rest.length > 0) throw new UsageError(`expected: chartproof deps ${sub} PATH`);
    const v = ctx.values;
    const allowed: Record<string, string[]> = {
      verify: ['online', 'allow-unpinned', 'repository-config'],
      pin: ['force', 'dry-run', 'repository-config'],
      build: ['allow-unpinned', 'repository-config'],
      update: ['force', 'dry-run', 'repository-config', 'no-pin'],
    };
    for (const flag of ['online', 'force', 'dry-run', 'allow-unpinned', 'repository-config', 'no-pin']) {
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
        options.repositories = await local(() => repositories(ctx));
      }
      if (v['allow-unpinned']) options.allowUnpinned = true;
      const r = await local(() => verifyDependencies(path, options));
      report = r;
      code = r.ok ? Exit.ok : depsFailureExit(r.dependencies.map((d) => d.errorCode));
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
      const options: PinOptions = { client: ctx.client, repositories: await local(() => repositories(ctx)) };
      if (v.force) options.force = true;
      if (v['dry-run']) options.dryRun = true;
      const r = await local(() => pinDependencies(path, options));
      report = r;
      code = r.ok ? Exit.ok : depsFailureExit(r.dependencies.map((d) => d.errorCode));
      for (const d of r.dependencies) {
        lines.push(...pinLines(d));
        if (d.warning) ctx.io.stderr(`warning: ${d.warning}\n`);
      }
      if (!r.ok) lines.push(`Nothing written to ${r.lockFile}.`);
      else if (r.written) lines.push(`Wrote ${r.lockFile} (Helm's lock digest unchanged: ${r.digest}).`);
      else if (v['dry-run']) lines.push(`Dry run: ${r.lockFile} not written.`);
      else lines.push(`${r.lockFile} is up to date.`);
    } else if (sub === 'update') {
      const options: UpdateOptions = {
        client: ctx.client,
        repositories: await local(() => repositories(ctx)),
      };
      if (v.force) options.force = true;
      if (v['dry-run']) options.dryRun = true;
      if (v['no-pin']) options.pin = false;
      const r = await local(() => updateDependencies(path, options));
      report = r;
      code = r.ok ? Exit.ok : depsFailureExit(r.dependencies.map((d) => d.errorCode));
      for (const d of r.dependencies) if (d.warning) ctx.io.stderr(`warning: ${d.warning}\n`);
      const errLines: string[] = [];
      lines.push(...updateLines(r, path, !v['no-pin'], errLines));
      if (!ctx.flags.json) for (const l of errLines) ctx.io.stderr(`${l}\n`);
      if (r.ok && r.lock && !r.lockWritten)
        lines.push(v['dry-run'] ? 'Dry run: nothing written.' : `${r.lockFile} is up to date.`);
    } else {
      const options: BuildOptions = {
        client: ctx.client,
        repositories: await local(() => repositories(ctx)),
      };
      if (v['allow-unpinned']) options.allowUnpinned = true;
      const r = await local(() => buildDependencies(path, options));
      report = r;
      code = r.ok ? Exit.ok : depsFailureExit(r.dependencies.map((d) => d.errorCode));
      for (const d of r.dependencies) lines.push(...buildLines(d));
      if (r.ok) for (const d of r.dependencies) lines.push(...replacedLines(d));
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
