import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadChartArchive, loadChartFile } from '../chart/load.js';
import { pullChart, pushChart } from '../chart/oci.js';
import { downloadRepoChart } from '../chart/repo.js';
import type { Chart } from '../chart/types.js';
import { ChartproofError } from '../errors.js';
import { writeFileAtomic } from '../fs.js';
import type { Command } from './commands.js';
import { Exit, expectArgs, local, remote, UsageError, versionFlags } from './io.js';
import { createProgress } from './progress.js';

function summary(chart: Chart) {
  const m = chart.metadata;
  return {
    name: m.name,
    version: m.version,
    apiVersion: m.apiVersion,
    type: m.type || 'application',
    ...(m.appVersion ? { appVersion: m.appVersion } : {}),
    dependencies: (m.dependencies ?? []).map((d) => ({
      name: d.name,
      ...(d.version ? { version: d.version } : {}),
      repository: d.repository,
      ...(d.alias ? { alias: d.alias } : {}),
    })),
    digest: chart.digest,
  };
}

/** RFC 3339 in the local time zone with second precision, as Go's time.RFC3339 prints. */
export function rfc3339Local(date: Date): string {
  const pad = (n: number) => String(Math.trunc(Math.abs(n))).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const zone = offset === 0 ? 'Z' : `${offset > 0 ? '+' : '-'}${pad(offset / 60)}:${pad(offset % 60)}`;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${zone}`;
}

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ChartproofError('IO', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

const inspectCommand: Command = {
  usage: 'inspect (FILE.tgz | oci://REF | CHART --repo URL) [--version V] [--devel]',
  summary: 'print chart metadata as JSON (name, version, apiVersion, type, dependencies, digest)',
  options: { version: { type: 'string' }, devel: { type: 'boolean' }, repo: { type: 'string' } },
  async run(ctx) {
    const target = expectArgs(ctx.args, 1, this.usage)[0]!;
    const repo = ctx.values.repo as string | undefined;
    if (repo !== undefined) {
      const got = await downloadRepoChart(ctx.client, repo, target, versionFlags(ctx.values));
      const chart = await remote(() => loadChartArchive(got.archive));
      ctx.io.stdout(
        `${JSON.stringify({ ...summary(chart), url: got.url, verified: got.verified }, null, 2)}\n`,
      );
      return Exit.ok;
    }
    if (target.startsWith('oci://')) {
      const pulled = await pullChart(ctx.client, target, versionFlags(ctx.values));
      const chart = await remote(() => loadChartArchive(pulled.archive));
      ctx.io.stdout(`${JSON.stringify({ ...summary(chart), reference: pulled.pinned }, null, 2)}\n`);
      return Exit.ok;
    }
    if (ctx.values.version) throw new UsageError('--version applies to oci:// references only');
    const chart = await local(() => loadChartFile(target));
    ctx.io.stdout(`${JSON.stringify(summary(chart), null, 2)}\n`);
    return Exit.ok;
  },
};

const pushCommand: Command = {
  usage: 'push FILE.tgz oci://REGISTRY/NAMESPACE [--prov FILE.prov] [--creation-time RFC3339]',
  summary: 'push a chart archive the way `helm push` does',
  help: "\nA FILE.tgz.prov next to the archive is pushed as the provenance layer, as Helm does.\nThe creation time defaults to the archive's modification time (Helm's behaviour).\n",
  options: { prov: { type: 'string' }, 'creation-time': { type: 'string' } },
  async run(ctx) {
    const [file, destination] = expectArgs(ctx.args, 2, this.usage) as [string, string];
    if (!destination.startsWith('oci://')) throw new UsageError('the destination must start with oci://');
    const { archive, chart, provenance, mtime } = await local(async () => {
      const archive = await readOptional(file);
      if (!archive) throw new ChartproofError('IO', `${file}: no such file`);
      const chart = await loadChartArchive(archive);
      const provPath = (ctx.values.prov as string | undefined) ?? `${file}.prov`;
      const provenance = await readOptional(provPath);
      if (ctx.values.prov && !provenance) throw new ChartproofError('IO', `${provPath}: no such file`);
      return { archive, chart, provenance, mtime: (await stat(file)).mtime };
    });
    let creationTime = ctx.values['creation-time'] as string | undefined;
    if (creationTime !== undefined && Number.isNaN(Date.parse(creationTime))) {
      throw new UsageError(`--creation-time ${JSON.stringify(creationTime)} is not an RFC 3339 time`);
    }
    creationTime ??= rfc3339Local(mtime);
    const progress = createProgress(ctx.io, 'Pushing', ctx.flags.progress === true);
    const result = await pushChart(ctx.client, archive, chart.metadata, destination, {
      creationTime,
      ...(provenance ? { provenance } : {}),
      onProgress: progress.onProgress,
    }).finally(() => progress.done());
    if (ctx.flags.json) {
      ctx.io.stdout(
        `${JSON.stringify({ ref: `oci://${result.ref}`, digest: result.digest, pinned: result.pinned }, null, 2)}\n`,
      );
    } else {
      ctx.io.stdout(`Pushed: oci://${result.ref}\nDigest: ${result.digest}\n`);
    }
    return Exit.ok;
  },
};

const pullCommand: Command = {
  usage:
    'pull (oci://REGISTRY/NAMESPACE/NAME | CHART --repo URL) [--version RANGE] [--devel] [-d DEST] [--prov]',
  summary: 'download a chart (and its .prov) and print the digest-pinned reference',
  options: {
    version: { type: 'string' },
    devel: { type: 'boolean' },
    destination: { type: 'string', short: 'd' },
    prov: { type: 'boolean' },
    repo: { type: 'string' },
  },
  async run(ctx) {
    const ref = expectArgs(ctx.args, 1, this.usage)[0]!;
    const versions = versionFlags(ctx.values);
    const dest = resolve((ctx.values.destination as string | undefined) ?? '.');
    const repo = ctx.values.repo as string | undefined;
    if (repo !== undefined) {
      const got = await downloadRepoChart(ctx.client, repo, ref, {
        ...versions,
        ...(ctx.values.prov ? { provenance: true } : {}),
      });
      const chart = await remote(() => loadChartArchive(got.archive));
      const path = join(dest, `${chart.metadata.name}-${chart.metadata.version}.tgz`);
      await writeFileAtomic(path, got.archive, 0o644, { dirMode: 0o755 });
      if (got.provenance) await writeFileAtomic(`${path}.prov`, got.provenance, 0o644, { dirMode: 0o755 });
      if (!got.verified) {
        ctx.io.stderr(
          `Warning: the repository index lists no digest for ${ref}; the download was not verified\n`,
        );
      }
      if (ctx.flags.json) {
        ctx.io.stdout(
          `${JSON.stringify({ path, url: got.url, digest: got.digest, verified: got.verified }, null, 2)}\n`,
        );
      } else {
        const how = got.verified ? ' (verified against index.yaml)' : ' (NOT verified)';
        ctx.io.stdout(`Pulled: ${path}\nDigest: ${got.digest}${how}\n`);
      }
      return Exit.ok;
    }
    if (!ref.startsWith('oci://'))
      throw new UsageError('give an oci:// reference, or a chart name with --repo URL');
    const progress = createProgress(ctx.io, 'Pulling', ctx.flags.progress === true);
    const pulled = await pullChart(ctx.client, ref, {
      ...versions,
      ...(ctx.values.prov ? { provenance: true } : {}),
      onProgress: progress.onProgress,
    }).finally(() => progress.done());
    // The archive must be a valid chart whose Chart.yaml agrees with the OCI config.
    const chart = await remote(() => loadChartArchive(pulled.archive));
    if (chart.metadata.name !== pulled.config.name || chart.metadata.version !== pulled.config.version) {
      throw new ChartproofError(
        'CHART_INVALID',
        `chart ${chart.metadata.name}-${chart.metadata.version} does not match its OCI config (${String(pulled.config.name)}-${String(pulled.config.version)})`,
        { source: 'remote' },
      );
    }
    const path = join(dest, `${chart.metadata.name}-${chart.metadata.version}.tgz`);
    await writeFileAtomic(path, pulled.archive, 0o644, { dirMode: 0o755 });
    if (pulled.provenance)
      await writeFileAtomic(`${path}.prov`, pulled.provenance, 0o644, { dirMode: 0o755 });
    if (ctx.flags.json) {
      ctx.io.stdout(
        `${JSON.stringify({ path, reference: pulled.pinned, digest: pulled.manifestDigest }, null, 2)}\n`,
      );
    } else {
      ctx.io.stdout(`Pulled: ${path}\nReference: ${pulled.pinned}\n`);
    }
    return Exit.ok;
  },
};

/** Chart commands. */
export const CHART_COMMANDS: Record<string, Command> = {
  inspect: inspectCommand,
  push: pushCommand,
  pull: pullCommand,
};
