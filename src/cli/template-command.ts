import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { loadChartArchive, loadChartFile } from '../chart/load.js';
import { MAX_CHART_BYTES, pullChart } from '../chart/oci.js';
import { verifyProvenance } from '../chart/provenance.js';
import { loadChartDirectory } from '../chart/package.js';
import {
  archiveFileName,
  downloadRepoChart,
  fetchRepoProvenance,
  MAX_PROVENANCE_BYTES,
} from '../chart/repo.js';
import type { Chart } from '../chart/types.js';
import { ChartproofError, isChartproofError } from '../errors.js';
import { sprigFuncs } from '../render/funcs/index.js';
import { formatShowOnly, goTrimSpace } from '../render/manifests.js';
import {
  type RenderOptions,
  type RenderResult,
  renderChart,
  renderErrorPartialOutput,
  renderErrorPhase,
} from '../render/render.js';
import { TemplateSet } from '../render/template/index.js';
import { writeRenderOutputDir } from '../render/output-dir.js';
import type { Command, CommandContext } from './commands.js';
import {
  Exit,
  errorJson,
  exitCodeFor,
  local,
  MAX_VALUES_STDIN_BYTES,
  remote,
  type StdinLimit,
  UsageError,
  versionFlags,
} from './io.js';
import { readFileBounded, readTextFileBounded } from '../internal/read-file.js';

/** `-f -` and `--set-file K=-`: standard input bounded like a values file. */
const STDIN_VALUES: StdinLimit = { maxBytes: MAX_VALUES_STDIN_BYTES, what: 'values' };
const STDIN_SET_FILE: StdinLimit = { maxBytes: MAX_VALUES_STDIN_BYTES, what: '--set-file value' };

/** Helm's StringSlice flags split on commas. */
function slice(v: unknown): string[] {
  return ((v as string[] | undefined) ?? []).flatMap((s) => s.split(',')).filter((s) => s !== '');
}

function list(v: unknown): string[] {
  return (v as string[] | undefined) ?? [];
}

/** Whether CHART is fetched (`oci://…`, or a chart name with `--repo URL`) rather than read from disk. */
export function isRemoteChart(ctx: CommandContext, ref: string): boolean {
  return ref.startsWith('oci://') || ctx.values.repo !== undefined;
}

/**
 * `--verify --keyring FILE`, as Helm's: the chart's `.prov` must be signed by a key of the
 * keyring and name the archive's sha256, before anything is rendered. Every failure of
 * the check (no `.prov`, a bad signature, another archive's digest) is a verification
 * failure (exit 1), as with `prov verify`.
 */
async function checkProvenance(
  ctx: CommandContext,
  archive: Uint8Array,
  provenance: Uint8Array | undefined,
  fileName: string,
  missing: string,
): Promise<void> {
  if (provenance === undefined) throw new ChartproofError('SIGNATURE_INVALID', missing);
  const keyringPath = ctx.values.keyring as string;
  const keyring = await local(() =>
    readFileBounded(keyringPath, { maxBytes: MAX_KEYRING_BYTES, what: 'keyring' }),
  );
  try {
    await verifyProvenance(archive, provenance, keyring, { fileName });
  } catch (e) {
    if (isChartproofError(e) && e.code === 'CHART_INVALID')
      throw new ChartproofError('SIGNATURE_INVALID', e.message, { cause: e });
    throw e;
  }
}

/** Largest keyring `--verify --keyring` reads. */
const MAX_KEYRING_BYTES = 16 * 1024 * 1024;

async function loadChart(ctx: CommandContext, ref: string): Promise<Chart> {
  const versions = versionFlags(ctx.values);
  const repo = ctx.values.repo as string | undefined;
  const verify = ctx.values.verify === true;
  if (verify && ctx.values.keyring === undefined) throw new UsageError('--verify needs --keyring FILE');
  // Everything that goes wrong fetching a chart is the registry's or repository's
  // (`source: remote`): reportRenderFailure then exits 3, or 1 for a digest mismatch.
  if (repo !== undefined) {
    const got = await remote(() => downloadRepoChart(ctx.client, repo, ref, versions));
    if (!got.verified && !verify) {
      ctx.io.stderr(
        `Warning: the repository index lists no digest for ${ref}; the download was not verified\n`,
      );
    }
    if (verify) {
      const provenance = await remote(() => fetchRepoProvenance(ctx.client, got.url));
      const name = archiveFileName(got.url);
      await checkProvenance(
        ctx,
        got.archive,
        provenance,
        name,
        `failed to fetch provenance "${got.url}.prov"`,
      );
    }
    return remote(() => loadChartArchive(got.archive));
  }
  if (ref.startsWith('oci://')) {
    // pullChart returns the provenance layer whenever the chart has one.
    const pulled = await remote(() => pullChart(ctx.client, ref, versions));
    if (verify) {
      const name = `${String(pulled.config.name)}-${String(pulled.config.version)}.tgz`;
      await checkProvenance(ctx, pulled.archive, pulled.provenance, name, `${ref} has no provenance layer`);
    }
    return remote(() => loadChartArchive(pulled.archive));
  }
  const st = await stat(ref).catch(() => undefined);
  if (!st) throw new UsageError(`path "${ref}" not found`);
  if (verify) {
    // As Helm: only a packaged chart next to its `.prov` can be verified.
    if (st.isDirectory()) throw new UsageError('unpacked charts cannot be verified');
    if (!ref.toLowerCase().endsWith('.tgz')) throw new UsageError('chart must be a tgz file');
    const archive = await local(() => readFileBounded(ref, { maxBytes: MAX_CHART_BYTES, what: 'chart' }));
    const prov = await local(() =>
      readFileBounded(`${ref}.prov`, { maxBytes: MAX_PROVENANCE_BYTES, what: 'provenance file' }),
    ).catch((e) => {
      if (isChartproofError(e) && e.code === 'IO') return undefined;
      throw e;
    });
    await checkProvenance(ctx, archive, prov, basename(ref), `could not load provenance file ${ref}.prov`);
    return local(() => loadChartArchive(archive));
  }
  return st.isDirectory() ? (await loadChartDirectory(ref)).chart : loadChartFile(ref);
}

/** Helm's `--name-template`: the text executed with Sprig's functions and no data. */
function renderNameTemplate(text: string): string {
  const set = new TemplateSet({ name: 'name-template', funcs: sprigFuncs() });
  set.parse('name-template', text);
  return set.execute('name-template', null);
}

/** Loads CHART and renders it with `helm template`'s flags (shared by `template` and `images`). */
export async function renderForCommand(
  ctx: CommandContext,
  name0: string,
  chartRef: string,
  nameTemplate: string | undefined,
  showOnly: string[],
): Promise<{ result: RenderResult; name: string; chart: Chart; options: RenderOptions }> {
  const v = ctx.values;
  let name = name0;
  if (ctx.args.length === 1 && nameTemplate) name = renderNameTemplate(nameTemplate);
  const valueFiles = await Promise.all(
    slice(v.values).map(async (f) => ({
      name: f,
      text:
        f === '-'
          ? await ctx.io.readStdin(STDIN_VALUES)
          : await readTextFileBounded(f, { maxBytes: MAX_VALUES_STDIN_BYTES, what: 'values file' }),
    })),
  );
  const setFiles = new Map<string, string>();
  for (const line of list(v['set-file'])) {
    const eq = line.indexOf('=');
    const path = eq === -1 ? '' : line.slice(eq + 1);
    if (path !== '' && !setFiles.has(path)) {
      setFiles.set(
        path,
        path === '-'
          ? await ctx.io.readStdin(STDIN_SET_FILE)
          : await readTextFileBounded(path, { maxBytes: MAX_VALUES_STDIN_BYTES, what: '--set-file' }),
      );
    }
  }
  const chart = await loadChart(ctx, chartRef);
  const options: RenderOptions = {
    releaseName: name,
    namespace: (v.namespace as string | undefined) ?? 'default',
    ...(v['kube-version'] !== undefined ? { kubeVersion: v['kube-version'] as string } : {}),
    apiVersions: slice(v['api-versions']),
    values: {
      valueFiles,
      values: list(v.set),
      stringValues: list(v['set-string']),
      fileValues: list(v['set-file']),
      jsonValues: list(v['set-json']),
      literalValues: list(v['set-literal']),
      readFile: (path: string) => {
        const text = setFiles.get(path);
        if (text === undefined) throw new Error(`open ${path}: no such file or directory`);
        return text;
      },
    },
    includeCrds: v['include-crds'] === true,
    skipTests: v['skip-tests'] === true,
    noHooks: v['no-hooks'] === true,
    isUpgrade: v['is-upgrade'] === true,
    skipSchemaValidation: v['skip-schema-validation'] === true,
    subchartNotes: v['render-subchart-notes'] === true,
    showOnly,
  };
  const result = renderChart(chart, options);
  return { result, name, chart, options };
}

/**
 * Prints a failed render as `helm template` does (`Error: …`, Helm's `--debug` hint,
 * with `--debug` what was rendered) and returns the exit code: 3 for registry or
 * network failures, else 2. Shared by `template`, `images` and `verify-images`.
 */
export function reportRenderFailure(ctx: CommandContext, e: unknown, showOnly: string[]): number {
  const v = ctx.values;
  let err = e;
  let suffix = renderErrorPhase(e) === 'render' ? '\n\nUse --debug flag to render out invalid YAML' : '';
  if (v.debug === true && renderErrorPhase(e) === 'render') {
    // helm template --debug prints what it has (nothing after a template error), filtered by --show-only.
    suffix = '';
    try {
      const partial = `${goTrimSpace(renderErrorPartialOutput(e))}\n`;
      ctx.io.stdout(showOnly.length > 0 ? formatShowOnly(partial, showOnly) : partial);
    } catch (showErr) {
      err = showErr;
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  // A chart that could not be fetched (source `remote`: a registry or repository error,
  // a digest mismatch) or whose `.prov` does not verify exits as every other command
  // does: 3, or 1 for failed verification.
  const fetched =
    renderErrorPhase(err) === undefined &&
    isChartproofError(err) &&
    (err.source === 'remote' || exitCodeFor(err) === Exit.verification);
  // A render that runs out of time is a template failure (2), as one that hits a limit.
  const exitCode = fetched
    ? exitCodeFor(err)
    : isChartproofError(err) &&
        renderErrorPhase(err) === undefined &&
        ['NETWORK', 'TIMEOUT', 'TLS'].includes(err.code)
      ? Exit.registry
      : Exit.usage;
  if (ctx.flags.json) ctx.io.stderr(`${JSON.stringify({ error: errorJson(err, message, exitCode) })}\n`);
  else ctx.io.stderr(`Error: ${message}${suffix}\n`);
  return exitCode;
}

/** `helm template`'s flags, shared by `template` and `images`. */
export const RENDER_OPTIONS: NonNullable<Command['options']> = {
  namespace: { type: 'string', short: 'n' },
  values: { type: 'string', short: 'f', multiple: true },
  set: { type: 'string', multiple: true },
  'set-string': { type: 'string', multiple: true },
  'set-file': { type: 'string', multiple: true },
  'set-json': { type: 'string', multiple: true },
  'set-literal': { type: 'string', multiple: true },
  'kube-version': { type: 'string' },
  'api-versions': { type: 'string', short: 'a', multiple: true },
  'show-only': { type: 'string', short: 's', multiple: true },
  'include-crds': { type: 'boolean' },
  'skip-tests': { type: 'boolean' },
  'no-hooks': { type: 'boolean' },
  'is-upgrade': { type: 'boolean' },
  'output-dir': { type: 'string' },
  'release-name': { type: 'boolean' },
  'skip-schema-validation': { type: 'boolean' },
  'render-subchart-notes': { type: 'boolean' },
  version: { type: 'string' },
  devel: { type: 'boolean' },
  repo: { type: 'string' },
  verify: { type: 'boolean' },
  keyring: { type: 'string' },
  'name-template': { type: 'string' },
  debug: { type: 'boolean' },
};

/**
 * `chartproof template [NAME] CHART [flags]`: renders a chart exactly as `helm template`
 * (Helm v4.1.4) does; stdout is byte-identical, failures print Helm's `Error: …`.
 */
export const TEMPLATE_COMMAND: Command = {
  usage: 'template [NAME] CHART [-f FILE] [--set K=V] [--kube-version V] [...helm template flags]',
  summary: 'render a chart as `helm template` does (pure TypeScript, byte-identical output)',
  help:
    '\nCHART is a chart directory, a .tgz, oci://REGISTRY/REPO/NAME (with --version), or a chart name\n' +
    'with --repo URL (a classic index.yaml repository, the archive checked against its digest).\n' +
    'Flags as helm template: -n/--namespace, -f/--values, --set, --set-string, --set-file, --set-json,\n' +
    '--set-literal, --kube-version, -a/--api-versions, -s/--show-only, --include-crds, --skip-tests,\n' +
    '--no-hooks, --is-upgrade, --output-dir, --release-name, --skip-schema-validation,\n' +
    '--render-subchart-notes, --version, --devel, --repo, --verify with --keyring FILE (the .prov,\n' +
    'checked first). Errors exit 2 with Helm\u2019s message (docs/rendering.md); a chart that cannot be\n' +
    'fetched exits 3, one that does not verify (digest, .prov) 1.\n',
  options: RENDER_OPTIONS,
  async run(ctx) {
    if (ctx.args.length < 1 || ctx.args.length > 2) {
      throw new UsageError(`expected 1 or 2 arguments: chartproof ${this.usage}`);
    }
    const v = ctx.values;
    const nameTemplate = v['name-template'] as string | undefined;
    let name = ctx.args.length === 2 ? ctx.args[0]! : 'release-name';
    const chartRef = ctx.args.length === 2 ? ctx.args[1]! : ctx.args[0]!;
    const showOnly = list(v['show-only']);
    try {
      const { result, name: released } = await renderForCommand(ctx, name, chartRef, nameTemplate, showOnly);
      name = released;
      const outputDir = v['output-dir'] as string | undefined;
      if (outputDir !== undefined) {
        const written = await writeRenderOutputDir(result, outputDir, {
          releaseName: v['release-name'] === true ? name : undefined,
          includeCrds: v['include-crds'] === true,
          noHooks: v['no-hooks'] === true,
          skipTests: v['skip-tests'] === true,
        });
        for (const w of written) ctx.io.stdout(`wrote ${w}\n`);
        ctx.io.stdout('\n');
      } else {
        ctx.io.stdout(result.text);
      }
      return Exit.ok;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      return reportRenderFailure(ctx, e, showOnly);
    }
  },
};
