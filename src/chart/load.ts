/**
 * Chart loading from archives and from file lists, following Helm's v2 loader
 * (`LoadFiles`) with bounded, crash-free error handling.
 */

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { ChartproofError } from '../errors.js';
import { createBudget, type LoadBudget, type LoadOptions, readArchive } from './archive.js';
import { decodeMetadata, parseLock, parseValues, validateChartMetadata } from './metadata.js';
import type { Chart, ChartFile, ChartMetadata } from './types.js';

/**
 * Loads a gzipped chart archive (`.tgz`) from bytes or a stream. `chart.digest` is
 * the sha256 of the archive bytes. Subcharts in `charts/` (archives or expanded
 * directories) are loaded recursively, up to `maxDepth`; size and entry limits are
 * shared by the whole tree.
 *
 * Errors ({@link ChartproofError}): `CHART_INVALID`, `CHART_METADATA_INVALID`,
 * `SIZE_LIMIT_EXCEEDED`, `ABORTED`.
 * @public
 */
export async function loadChartArchive(
  data: Uint8Array | ReadableStream<Uint8Array>,
  options?: LoadOptions,
): Promise<Chart> {
  const budget = createBudget(options);
  const { files, digest } = await readArchive(data, budget);
  const chart = await loadFiles(files, budget, 0);
  chart.digest = digest;
  return chart;
}

/**
 * Loads a chart archive from a file, streaming it. Like Helm, the file must start
 * with the gzip magic: otherwise the error says it `does not appear to be a gzipped
 * archive` (or `seems to be a YAML file` for `.yaml`/`.yml` names).
 *
 * Errors: `IO` (missing or unreadable file) and those of {@link loadChartArchive}.
 * @public
 */
export async function loadChartFile(path: string, options?: LoadOptions): Promise<Chart> {
  const budget = createBudget(options);
  const head = new Uint8Array(512);
  let headLength = 0;
  try {
    const handle = await open(path, 'r');
    try {
      const stat = await handle.stat();
      if (stat.isDirectory()) {
        throw new ChartproofError('IO', `chart file '${path}' is a directory, expected a gzipped archive`);
      }
      headLength = (await handle.read(head, 0, head.byteLength, 0)).bytesRead;
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof ChartproofError) throw err;
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'ENOENT')
      throw new ChartproofError('IO', `chart file '${path}' does not exist`, { cause: err });
    throw new ChartproofError('IO', `cannot read chart file '${path}': ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!(headLength >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08)) {
    const ext = extname(path).toLowerCase();
    if (ext === '.yaml' || ext === '.yml') {
      throw new ChartproofError(
        'CHART_INVALID',
        `file '${path}' seems to be a YAML file, but expected a gzipped archive`,
      );
    }
    // Like Helm, sniff a zero-padded 512-byte buffer.
    throw new ChartproofError(
      'CHART_INVALID',
      `file '${path}' does not appear to be a gzipped archive; got '${sniffContentType(head)}'`,
    );
  }
  const stream = createReadStream(path, budget.signal ? { signal: budget.signal } : {});
  const { files, digest } = await readArchive(stream, budget);
  const chart = await loadFiles(files, budget, 0);
  chart.digest = digest;
  return chart;
}

/** A small subset of `http.DetectContentType`, enough for error messages. */
function sniffContentType(head: Uint8Array): string {
  const starts = (s: string) => [...s].every((c, i) => head[i] === c.charCodeAt(0));
  if (starts('PK\x03\x04')) return 'application/zip';
  if (starts('%PDF-')) return 'application/pdf';
  if (starts('\x89PNG\r\n\x1a\n')) return 'image/png';
  if (starts('BZh')) return 'application/x-bzip2';
  for (const b of head) {
    if (b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f)) {
      return 'application/octet-stream';
    }
  }
  return 'text/plain; charset=utf-8';
}

function chartName(metadata: Partial<ChartMetadata> | undefined): string {
  return metadata?.name ?? '';
}

/** Helm's `LoadFiles`: sorts files into a chart and loads subcharts. @internal */
export async function loadFiles(files: ChartFile[], budget: LoadBudget, depth: number): Promise<Chart> {
  if (depth > budget.maxDepth) {
    throw new ChartproofError(
      'SIZE_LIMIT_EXCEEDED',
      `subcharts are nested deeper than the maximum depth ${budget.maxDepth}`,
    );
  }
  let metadata: Partial<ChartMetadata> | undefined;
  let chartYaml: Uint8Array | undefined;
  for (const f of files) {
    if (f.name === 'Chart.yaml') {
      metadata = {};
      decodeMetadata(f.data, metadata, 'Chart.yaml');
      if (!metadata.apiVersion) metadata.apiVersion = 'v1';
      chartYaml = f.data;
    }
  }

  const chart: Omit<Chart, 'metadata' | 'chartYaml'> = {
    values: {},
    templates: [],
    files: [],
    dependencies: [],
  };
  const subcharts = new Map<string, ChartFile[]>();
  for (const f of files) {
    const name = f.name;
    if (name === 'Chart.yaml') continue;
    if (name === 'Chart.lock') {
      chart.lock = parseLock(f.data, name);
    } else if (name === 'values.yaml') {
      chart.values = parseValues(f.data);
      chart.valuesYaml = f.data;
    } else if (name === 'values.schema.json') {
      chart.schema = f.data;
    } else if (name === 'requirements.yaml') {
      metadata ??= {};
      decodeMetadata(f.data, metadata, name);
      if (metadata.apiVersion === 'v1') chart.files.push(f);
    } else if (name === 'requirements.lock') {
      chart.lock = parseLock(f.data, name);
      metadata ??= {};
      if (metadata.apiVersion === 'v1') chart.files.push(f);
    } else if (name.startsWith('templates/')) {
      chart.templates.push(f);
    } else if (name.startsWith('charts/')) {
      if (extname(name) === '.prov') {
        chart.files.push(f);
        continue;
      }
      const rest = name.slice('charts/'.length);
      const slash = rest.indexOf('/');
      const group = slash === -1 ? rest : rest.slice(0, slash);
      let list = subcharts.get(group);
      if (!list) {
        list = [];
        subcharts.set(group, list);
      }
      list.push({ name: rest, data: f.data });
    } else {
      chart.files.push(f);
    }
  }

  if (metadata === undefined) throw new ChartproofError('CHART_INVALID', 'Chart.yaml file is missing');
  validateChartMetadata(metadata as ChartMetadata);
  const result: Chart = {
    metadata: metadata as ChartMetadata,
    chartYaml: chartYaml ?? new Uint8Array(0),
    ...chart,
  };

  for (const [group, groupFiles] of subcharts) {
    if (group.startsWith('_') || group.startsWith('.')) continue;
    let sub: Chart;
    try {
      if (budget.signal?.aborted) throw new ChartproofError('ABORTED', 'chart loading was aborted');
      if (depth + 1 > budget.maxDepth) {
        throw new ChartproofError(
          'SIZE_LIMIT_EXCEEDED',
          `subcharts are nested deeper than the maximum depth ${budget.maxDepth}`,
        );
      }
      if (extname(group) === '.tgz') {
        const first = groupFiles[0]!;
        if (first.name !== group) {
          throw new ChartproofError(
            'CHART_INVALID',
            `error unpacking subchart tar in ${chartName(metadata)}: expected ${group}, got ${first.name}`,
          );
        }
        const { files: subFiles, digest } = await readArchive(first.data, budget);
        sub = await loadFiles(subFiles, budget, depth + 1);
        sub.digest = digest;
      } else {
        const stripped: ChartFile[] = [];
        for (const f of groupFiles) {
          const slash = f.name.indexOf('/');
          if (slash === -1) continue;
          stripped.push({ name: f.name.slice(slash + 1), data: f.data });
        }
        sub = await loadFiles(stripped, budget, depth + 1);
      }
    } catch (err) {
      if (err instanceof ChartproofError) {
        if (err.message.startsWith('error unpacking subchart tar in')) throw err;
        throw new ChartproofError(
          err.code,
          `error unpacking subchart ${group} in ${chartName(metadata)}: ${err.message}`,
          { cause: err },
        );
      }
      throw new ChartproofError(
        'CHART_INVALID',
        `error unpacking subchart ${group} in ${chartName(metadata)}`,
        {
          cause: err,
        },
      );
    }
    result.dependencies.push(sub);
  }
  return result;
}
