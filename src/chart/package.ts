/**
 * Reproducible chart packaging like Helm v4's `helm package`: directory loading with
 * `.helmignore`, Helm's archive layout (`Save`), deterministic tar and gzip output.
 */

import { writeFileAtomic } from '../fs.js';
import { marshalGoYaml } from './go-yaml.js';
import { formatLock } from './lock-yaml.js';
import { lstat, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import { type Digest, digestOf } from '../oci/digest.js';
import { createBudget, readArchiveEntries } from './archive.js';
import { helmConfigJson } from './config.js';
import { type HelmIgnore, parseHelmIgnore, withExtraRules } from './helmignore.js';
import { loadFiles } from './load.js';
import { validateChartMetadata } from './metadata.js';
import type { Chart, ChartFile } from './types.js';

/** Options of {@link packageChart}. @public */
export interface PackageOptions {
  /** Directory the archive is written to (created if missing); default: the current directory. */
  destination?: string;
  /**
   * Seconds since the Unix epoch stamped on every entry (and on `Chart.lock`'s
   * `generated`). Default: the `SOURCE_DATE_EPOCH` environment variable if set,
   * else each file's own modification time, like Helm v4.
   */
  sourceDateEpoch?: number;
  /** Overrides `version` (must be a valid lenient semver, like `helm package --version`). */
  version?: string;
  /** Overrides `appVersion`. */
  appVersion?: string;
  /** Aborts loading and writing (`ABORTED`). */
  signal?: AbortSignal;
}

/** Result of {@link packageChart}. @public */
export interface PackageResult {
  /** Absolute path of the written `<name>-<version>.tgz`. */
  path: string;
  /** sha256 of the archive bytes. */
  digest: Digest;
  /** Archive size in bytes. */
  bytes: number;
  name: string;
  version: string;
}

/** Options of {@link loadChartDirectory}. @public */
export interface LoadDirectoryOptions {
  signal?: AbortSignal;
}

/** Options of {@link createChartArchive}. @public */
export interface ChartArchiveOptions {
  /** Seconds since the epoch used for every entry (and `Chart.lock` `generated`) instead of `mtimes`. */
  sourceDateEpoch?: number;
}

/** A chart loaded from a directory, with the modification times the archive writer needs. @public */
export interface LoadedChartDirectory {
  chart: Chart;
  /**
   * Modification time of every file, keyed by its path inside the archive below the
   * top-level chart directory (subcharts under `charts/<subchart name>/`).
   */
  mtimes: Map<string, Date>;
}

const MAX_FILE_BYTES = 5 * 1024 * 1024;

/** Raw `values.yaml` bytes of charts loaded by {@link loadChartDirectory} (Helm writes `Raw` values). */
const RAW_VALUES = new WeakMap<Chart, Uint8Array>();

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ChartproofError('ABORTED', 'chart packaging was aborted');
}

function ioError(path: string, err: unknown): ChartproofError {
  if (err instanceof ChartproofError) return err;
  return new ChartproofError('IO', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
}

function compareBytewise(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function stripBom(data: Uint8Array): Uint8Array {
  return data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf ? data.subarray(3) : data;
}

/**
 * Reads a chart directory's files the way Helm's directory loader does (see
 * {@link loadChartDirectory}) without loading them. Names are relative, `/`-separated.
 * @internal
 */
export async function readChartDirectory(
  dir: string,
  options: LoadDirectoryOptions = {},
): Promise<{ files: ChartFile[]; mtimeBySource: Map<string, Date> }> {
  const { signal } = options;
  const top = resolve(dir);
  let topStat: Awaited<ReturnType<typeof stat>>;
  try {
    topStat = await stat(top);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new ChartproofError('IO', `chart directory '${dir}' does not exist`, { cause: err });
    throw ioError(top, err);
  }
  if (!topStat.isDirectory()) throw new ChartproofError('IO', `'${dir}' is not a directory`);

  let rules: HelmIgnore = parseHelmIgnore('');
  const ignorePath = join(top, '.helmignore');
  try {
    const st = await lstat(ignorePath);
    if (st.isSymbolicLink()) {
      throw new ChartproofError(
        'CHART_INVALID',
        `cannot load symlink ${ignorePath}: symlinks are not supported`,
      );
    }
    rules = parseHelmIgnore(new TextDecoder().decode(await readFile(ignorePath)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(ignorePath, err);
  }
  rules = withExtraRules(rules, 'templates/.?*');

  const files: ChartFile[] = [];
  const mtimeBySource = new Map<string, Date>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    aborted(signal);
    let names: string[];
    try {
      names = await readdir(abs);
    } catch (err) {
      throw ioError(abs, err);
    }
    names.sort(compareBytewise);
    for (const name of names) {
      const childAbs = join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      let st: Awaited<ReturnType<typeof lstat>>;
      try {
        st = await lstat(childAbs, { bigint: false });
      } catch (err) {
        throw ioError(childAbs, err);
      }
      if (st.isSymbolicLink()) {
        let isDir = false;
        try {
          isDir = (await stat(childAbs)).isDirectory();
        } catch {
          // dangling link: treated as a file for the ignore check
        }
        if (rules.ignore(childRel, isDir)) continue;
        throw new ChartproofError(
          'CHART_INVALID',
          `cannot load symlink ${childAbs}: symlinks are not supported in chart directories`,
        );
      }
      if (st.isDirectory()) {
        if (rules.ignore(childRel, true)) continue;
        await walk(childAbs, childRel);
        continue;
      }
      if (rules.ignore(childRel, false)) continue;
      if (!st.isFile()) {
        throw new ChartproofError(
          'CHART_INVALID',
          `cannot load irregular file ${childAbs} as it has file mode type bits set`,
        );
      }
      if (st.size > MAX_FILE_BYTES) {
        throw new ChartproofError(
          'SIZE_LIMIT_EXCEEDED',
          `chart file "${name}" is larger than the maximum file size ${MAX_FILE_BYTES}`,
        );
      }
      let data: Uint8Array;
      try {
        data = new Uint8Array(await readFile(childAbs, signal ? { signal } : {}));
      } catch (err) {
        if ((err as Error).name === 'AbortError') aborted(signal);
        throw ioError(childAbs, err);
      }
      if (data.byteLength > MAX_FILE_BYTES) {
        throw new ChartproofError(
          'SIZE_LIMIT_EXCEEDED',
          `chart file "${name}" is larger than the maximum file size ${MAX_FILE_BYTES}`,
        );
      }
      files.push({ name: childRel, data: stripBom(data) });
      mtimeBySource.set(childRel, new Date(Math.trunc(st.mtimeMs)));
    }
  };
  await walk(top, '');
  return { files, mtimeBySource };
}

/**
 * Loads a chart from a directory like Helm's directory loader: `.helmignore` rules
 * (plus Helm's default `templates/.?*` after them), a lexical depth-first walk,
 * irregular files rejected (`cannot load irregular file … as it has file mode type
 * bits set`), files over 5 MiB rejected, BOMs stripped, then Helm's `LoadFiles`
 * sorting and `Metadata.Validate()`.
 *
 * Stricter than Helm: symbolic links are **rejected** (Helm follows them) unless a
 * `.helmignore` rule ignores them.
 *
 * Errors ({@link ChartproofError}): `IO`, `CHART_INVALID`, `CHART_METADATA_INVALID`,
 * `SIZE_LIMIT_EXCEEDED`, `ABORTED`.
 * @public
 */
export async function loadChartDirectory(
  dir: string,
  options: LoadDirectoryOptions = {},
): Promise<LoadedChartDirectory> {
  const { signal } = options;
  const { files, mtimeBySource } = await readChartDirectory(dir, options);

  const chart = await loadFiles(files, createBudget(signal ? { signal } : {}), 0);
  const mtimes = new Map<string, Date>();
  await attachSources(chart, files, (n) => mtimeBySource.get(n), '', mtimes);
  return { chart, mtimes };
}

/**
 * Walks a loaded chart alongside the files it was loaded from (mirroring `LoadFiles`'
 * subchart grouping) to remember raw `values.yaml` bytes and to key modification
 * times by archive path.
 */
async function attachSources(
  chart: Chart,
  files: ChartFile[],
  mtimeOf: (name: string) => Date | undefined,
  destPrefix: string,
  out: Map<string, Date>,
): Promise<void> {
  const groups = new Map<string, ChartFile[]>();
  for (const f of files) {
    if (f.name === 'values.yaml') RAW_VALUES.set(chart, f.data);
    if (f.name.startsWith('charts/') && !f.name.endsWith('.prov')) {
      const rest = f.name.slice('charts/'.length);
      const slash = rest.indexOf('/');
      const group = slash === -1 ? rest : rest.slice(0, slash);
      let list = groups.get(group);
      if (!list) {
        list = [];
        groups.set(group, list);
      }
      list.push({ name: rest, data: f.data });
      continue;
    }
    const t = mtimeOf(f.name);
    if (t) out.set(`${destPrefix}${f.name}`, t);
  }
  let index = 0;
  for (const [group, list] of groups) {
    if (group.startsWith('_') || group.startsWith('.')) continue;
    const sub = chart.dependencies[index++];
    if (!sub) break;
    const subPrefix = `${destPrefix}charts/${sub.metadata.name}/`;
    if (group.endsWith('.tgz')) {
      const inner = await readArchiveEntries(list[0]!.data);
      const t = mtimeOf(`charts/${group}`);
      await attachSources(sub, inner, () => t, subPrefix, out);
    } else {
      const stripped: ChartFile[] = [];
      for (const f of list) {
        const slash = f.name.indexOf('/');
        if (slash !== -1) stripped.push({ name: f.name.slice(slash + 1), data: f.data });
      }
      await attachSources(sub, stripped, (n) => mtimeOf(`charts/${group}/${n}`), subPrefix, out);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Archive writing
// ---------------------------------------------------------------------------------------

/** gzip header Helm ≥ 4.2.4 writes: FEXTRA|FCOMMENT, mtime 0, XFL 0, OS 0xff, subfield `rr`, comment `Helm`. */
const HELM_EXTRA_PAYLOAD = 'aHR0cHM6Ly95b3V0dS5iZS96OVV6MWljandyTQo=';

/** The exact gzip header bytes Helm (v4.2.4 and later) writes. @internal */
export function helmGzipHeader(): Uint8Array {
  const payload = Buffer.from(HELM_EXTRA_PAYLOAD, 'latin1');
  const sub = Buffer.concat([Buffer.from([0x72, 0x72, payload.length & 0xff, payload.length >> 8]), payload]);
  return Buffer.concat([
    Buffer.from([0x1f, 0x8b, 0x08, 0x14, 0, 0, 0, 0, 0x00, 0xff, sub.length & 0xff, sub.length >> 8]),
    sub,
    Buffer.from('Helm\0', 'latin1'),
  ]);
}

interface TarEntry {
  name: string;
  data: Uint8Array;
  mtime: number;
}

const NAME_SIZE = 100;
const PREFIX_SIZE = 155;
/** Largest value an 11-digit octal field holds (Go's `fitsInOctal` for size and mtime). */
const MAX_OCTAL_11 = 8 ** 11 - 1;

/** Go's `isASCII`: every character below 0x80 and no NUL. */
function isGoAscii(s: string): boolean {
  return /^[\x01-\x7f]*$/.test(s);
}

/** Go's `toASCII`: drops non-ASCII characters and NULs. */
function toGoAscii(s: string): string {
  return s.replace(/[^\x01-\x7f]/gu, '');
}

/** Go's `splitUSTARPath`: a long ASCII name as USTAR prefix and name, or undefined. */
function splitUstar(name: string): [prefix: string, name: string] | undefined {
  let length = name.length;
  if (length <= NAME_SIZE || !isGoAscii(name)) return undefined;
  if (length > PREFIX_SIZE + 1) length = PREFIX_SIZE + 1;
  else if (name[length - 1] === '/') length--;
  const i = name.lastIndexOf('/', length - 1);
  const suffix = name.length - i - 1;
  if (i <= 0 || suffix > NAME_SIZE || suffix === 0 || i > PREFIX_SIZE) return undefined;
  return [name.slice(0, i), name.slice(i + 1)];
}

/** Go's `formatter.formatOctal`: zero-padded, NUL-terminated; 0 when it does not fit. */
function octal(value: number, width: number): string {
  const fits = value >= 0 && value <= 8 ** (width - 1) - 1;
  return `${(fits ? value : 0).toString(8).padStart(width - 1, '0')}\0`;
}

/** Go's `formatter.formatString`: copies what fits (bytes), NUL-terminates when shorter. */
function writeField(block: Buffer, offset: number, size: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  bytes.copy(block, offset, 0, Math.min(bytes.length, size));
  if (bytes.length > size && block[offset + size - 1] === 0x2f) {
    // A truncated name must not end in '/' (readers would take it for a directory).
    const kept = bytes
      .subarray(0, size - 1)
      .toString('latin1')
      .replace(/\/+$/, '').length;
    block[offset + kept] = 0;
  }
}

/** Sets the USTAR magic and version (USTAR and PAX alike) and the checksum. */
function finishBlock(block: Buffer): Buffer {
  block.write('ustar\0', 257, 'latin1');
  block.write('00', 263, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** Go's `formatPAXRecord`: `<length> <key>=<value>\n`, the length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = Buffer.byteLength(key) + Buffer.byteLength(value) + 3;
  let size = body + String(body).length;
  if (String(size).length + body !== size) size = String(size).length + body;
  return `${size} ${key}=${value}\n`;
}

/** The header of a regular file as Go's `templateV7Plus` fills it (mode 0644, uid/gid 0). */
function fileHeader(name: string, prefix: string, size: number, mtime: number): Buffer {
  const block = Buffer.alloc(512);
  writeField(block, 0, NAME_SIZE, name);
  block.write('0000644\0', 100, 'latin1');
  block.write('0000000\0', 108, 'latin1');
  block.write('0000000\0', 116, 'latin1');
  block.write(octal(size, 12), 124, 'latin1');
  block.write(octal(mtime, 12), 136, 'latin1');
  block.write('0', 156, 'latin1');
  block.write('0000000\0', 329, 'latin1');
  block.write('0000000\0', 337, 'latin1');
  writeField(block, 345, PREFIX_SIZE, prefix);
  return finishBlock(block);
}

/**
 * The header blocks Go's `tar.Writer.WriteHeader` writes for Helm's entries: USTAR
 * (a long ASCII name split into prefix and name) when every field fits, else PAX — an
 * `x` entry named `<dir>/PaxHeaders.0/<file>` (ASCII only, 100 bytes at most) with mode,
 * uid, gid and mtime 0 holding the sorted records (`mtime`, `path`), then the file's
 * header with the name reduced to ASCII and cut at 100 bytes.
 * @internal
 */
export function tarHeaderBlocks(name: string, size: number, mtime: number): Buffer[] {
  const records: [string, string][] = [];
  const fitsName = isGoAscii(name) && name.length <= NAME_SIZE;
  const split = fitsName ? undefined : splitUstar(name);
  if (!fitsName && !split) records.push(['path', name]);
  if (mtime < 0 || mtime > MAX_OCTAL_11) records.push(['mtime', String(mtime)]);
  if (size > MAX_OCTAL_11) records.push(['size', String(size)]);
  if (name.includes('\0'))
    throw new ChartproofError('UNSUPPORTED', `cannot package ${JSON.stringify(name)}: NUL in a file name`);
  if (records.length === 0) {
    const [prefix, base] = split ?? ['', name];
    return [fileHeader(base, prefix, size, mtime)];
  }
  records.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const data = Buffer.from(records.map(([k, v]) => paxRecord(k, v)).join(''), 'utf8');
  const slash = name.lastIndexOf('/');
  const paxName = `${name.slice(0, slash + 1)}PaxHeaders.0/${name.slice(slash + 1)}`;
  const x = Buffer.alloc(512);
  const xName = Buffer.from(toGoAscii(paxName), 'latin1').subarray(0, NAME_SIZE).toString('latin1');
  writeField(x, 0, NAME_SIZE, xName.replace(/\/+$/, ''));
  x.write('0000000\0', 100, 'latin1');
  x.write('0000000\0', 108, 'latin1');
  x.write('0000000\0', 116, 'latin1');
  x.write(octal(data.length, 12), 124, 'latin1');
  x.write(octal(0, 12), 136, 'latin1');
  x.write('x', 156, 'latin1');
  const pad = (512 - (data.length % 512)) % 512;
  return [finishBlock(x), data, Buffer.alloc(pad), fileHeader(toGoAscii(name), '', size, mtime)];
}

function tarBytes(entries: TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    parts.push(...tarHeaderBlocks(e.name, e.data.byteLength, e.mtime), e.data);
    const pad = (512 - (e.data.byteLength % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function gzipHelm(data: Uint8Array): Uint8Array {
  const body = deflateRawSync(data, { level: 6 });
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data) >>> 0, 0);
  trailer.writeUInt32LE(data.byteLength % 2 ** 32, 4);
  return Buffer.concat([helmGzipHeader(), body, trailer]);
}

/** Go's `Time.Round(time.Second)` for a JS date, in Unix seconds. */
function roundSeconds(date: Date): number {
  const ms = date.getTime();
  return Math.sign(ms) * Math.round(Math.abs(ms) / 1000);
}

const RFC3339 = /^(\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;

/** Parses an RFC 3339 `generated` and prints it back like Go's `RFC3339Nano`. */
function normalizeGenerated(s: string | undefined): { text: string; date: Date } | undefined {
  if (s === undefined) return undefined;
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const date = new Date(s);
  if (Number.isNaN(date.getTime())) return undefined;
  const fraction = (m[2] ?? '').replace(/0+$/, '');
  const zone = /^[Zz]$|^[+-]00:00$/.test(m[3]!) ? 'Z' : m[3]!;
  return { text: `${m[1]!.toUpperCase()}${fraction === '.' ? '' : fraction}${zone}`, date };
}

function epochRfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

function chartYaml(chart: Chart): string {
  const meta = { ...chart.metadata };
  if (meta.apiVersion === 'v1') delete meta.dependencies;
  return marshalGoYaml(JSON.parse(Buffer.from(helmConfigJson(meta)).toString('utf8')));
}

function validEpoch(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ChartproofError('INVALID_ARGUMENT', `invalid ${what}: ${value}`);
  }
  return value;
}

/**
 * Writes a chart as a gzipped tar exactly laid out like Helm v4's `Save`: entries
 * under `<name>/` in Helm's order (`Chart.yaml` re-marshalled, `Chart.lock`
 * re-marshalled for apiVersion v2, raw `values.yaml`, `values.schema.json` (must be
 * valid JSON), templates, files, then every subchart expanded under
 * `charts/<subchart name>/`), headers as Go's `archive/tar` writes them for Helm (USTAR,
 * mode 0644, uid/gid 0, empty owner names, mtime rounded to seconds; PAX records for
 * non-ASCII or unsplittable long names and out-of-range times — see
 * `tarHeaderBlocks`), no directory entries, two zero blocks at the end, and
 * Helm's gzip header. The output is a pure function of the inputs.
 *
 * `mtimes` is keyed like {@link LoadedChartDirectory.mtimes}. With `sourceDateEpoch`
 * every entry uses the epoch and `Chart.lock`'s `generated` becomes the epoch in
 * RFC 3339; otherwise `Chart.lock` is stamped with its `generated` time, like Helm.
 *
 * `values.yaml` is written from the raw bytes remembered by
 * {@link loadChartDirectory}; for charts from elsewhere with non-empty values this
 * fails with `INVALID_ARGUMENT`.
 *
 * Errors: `INVALID_ARGUMENT`, `CHART_INVALID` (`invalid JSON in values.schema.json`),
 * `CHART_METADATA_INVALID`, `UNSUPPORTED` (a NUL in a file name).
 * @public
 */
export async function createChartArchive(
  chart: Chart,
  mtimes: Map<string, Date>,
  options: ChartArchiveOptions = {},
): Promise<Uint8Array> {
  const epoch =
    options.sourceDateEpoch === undefined
      ? undefined
      : validEpoch(options.sourceDateEpoch, 'sourceDateEpoch');
  const entries: TarEntry[] = [];
  const mtimeFor = (key: string): number => {
    if (epoch !== undefined) return epoch;
    const t = mtimes.get(key);
    if (!t || Number.isNaN(t.getTime())) {
      throw new ChartproofError('INVALID_ARGUMENT', `no modification time for ${key}; pass sourceDateEpoch`);
    }
    return roundSeconds(t);
  };
  const utf8 = new TextEncoder();
  const writeChart = (c: Chart, base: string, key: string): void => {
    validateChartMetadata(c.metadata);
    entries.push({
      name: `${base}Chart.yaml`,
      data: utf8.encode(chartYaml(c)),
      mtime: mtimeFor(`${key}Chart.yaml`),
    });
    if (c.metadata.apiVersion === 'v2' && c.lock) {
      const parsed = normalizeGenerated(c.lock.generated);
      let generated: string;
      let mtime: number;
      if (epoch !== undefined) {
        generated = epochRfc3339(epoch);
        mtime = epoch;
      } else {
        generated = parsed?.text ?? c.lock.generated ?? '0001-01-01T00:00:00Z';
        mtime = parsed ? roundSeconds(parsed.date) : mtimeFor(`${key}Chart.lock`);
      }
      entries.push({
        name: `${base}Chart.lock`,
        data: utf8.encode(formatLock({ ...c.lock, generated })),
        mtime,
      });
    }
    const values = RAW_VALUES.get(c);
    if (values) {
      entries.push({ name: `${base}values.yaml`, data: values, mtime: mtimeFor(`${key}values.yaml`) });
    } else if (Object.keys(c.values).length > 0) {
      throw new ChartproofError(
        'INVALID_ARGUMENT',
        `raw values.yaml of chart ${c.metadata.name} is unknown; load the chart with loadChartDirectory`,
      );
    }
    if (c.schema) {
      try {
        parseJsonBounded(new TextDecoder().decode(c.schema), { what: 'values.schema.json', source: 'local' });
      } catch (err) {
        if (isDepthLimitError(err)) throw err;
        throw new ChartproofError('CHART_INVALID', 'invalid JSON in values.schema.json', { cause: err });
      }
      entries.push({
        name: `${base}values.schema.json`,
        data: c.schema,
        mtime: mtimeFor(`${key}values.schema.json`),
      });
    }
    for (const f of [...c.templates, ...c.files]) {
      entries.push({ name: `${base}${f.name}`, data: f.data, mtime: mtimeFor(`${key}${f.name}`) });
    }
    for (const dep of c.dependencies) {
      writeChart(dep, `${base}charts/${dep.metadata.name}/`, `${key}charts/${dep.metadata.name}/`);
    }
  };
  writeChart(chart, `${chart.metadata.name}/`, '');
  return gzipHelm(tarBytes(entries));
}

/** Helm's `CheckDependencies`: every Chart.yaml dependency must be present in charts/. */
function checkDependencies(chart: Chart): void {
  const present = new Set(chart.dependencies.map((d) => d.metadata.name));
  const missing = (chart.metadata.dependencies ?? []).filter((d) => !present.has(d.name)).map((d) => d.name);
  if (missing.length > 0) {
    throw new ChartproofError(
      'CHART_INVALID',
      `found in Chart.yaml, but missing in charts/ directory: ${missing.join(', ')}`,
    );
  }
}

/** Resolves the epoch: the option, else `SOURCE_DATE_EPOCH`, else undefined. @internal */
export function resolveSourceDateEpoch(
  option: number | undefined,
  env: Record<string, string | undefined> = process.env,
): number | undefined {
  if (option !== undefined) return validEpoch(option, 'sourceDateEpoch');
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return undefined;
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new ChartproofError('INVALID_ARGUMENT', `invalid SOURCE_DATE_EPOCH: ${raw}`);
  }
  return Number(raw);
}

/**
 * Packages a chart directory like `helm package` (Helm v4): loads it with
 * {@link loadChartDirectory}, applies `version`/`appVersion` overrides, validates the
 * metadata, checks that every `Chart.yaml` dependency is present in `charts/`
 * (`found in Chart.yaml, but missing in charts/ directory: …`), and writes
 * `<destination>/<name>-<version>.tgz` atomically (temporary file, fsync, rename).
 *
 * For the same input files and epoch the output is byte-identical across runs and
 * machines. It is laid out exactly like Helm's archive, but it is not byte-identical
 * to Helm's: the deflate stream comes from zlib, not Go's `compress/flate`.
 *
 * Errors: those of {@link loadChartDirectory} and {@link createChartArchive}, plus
 * `IO` and `INVALID_ARGUMENT` (`invalid SOURCE_DATE_EPOCH: …`).
 * @public
 */
export async function packageChart(dir: string, options: PackageOptions = {}): Promise<PackageResult> {
  const { signal } = options;
  const epoch = resolveSourceDateEpoch(options.sourceDateEpoch);
  const { chart, mtimes } = await loadChartDirectory(dir, signal ? { signal } : {});
  if (options.version !== undefined) chart.metadata.version = options.version;
  if (options.appVersion !== undefined) chart.metadata.appVersion = options.appVersion;
  validateChartMetadata(chart.metadata);
  checkDependencies(chart);
  aborted(signal);
  const data = await createChartArchive(chart, mtimes, epoch === undefined ? {} : { sourceDateEpoch: epoch });
  const destination = resolve(options.destination ?? '.');
  try {
    await mkdir(destination, { recursive: true });
  } catch (err) {
    throw new ChartproofError('IO', `cannot create ${destination}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const st = await stat(destination);
  if (!st.isDirectory()) throw new ChartproofError('IO', `location ${destination} is not a directory`);
  const path = join(destination, `${chart.metadata.name}-${chart.metadata.version}.tgz`);
  aborted(signal);
  await writeFileAtomic(path, data, 0o644, { signal });
  return {
    path,
    digest: digestOf(data),
    bytes: data.byteLength,
    name: chart.metadata.name,
    version: chart.metadata.version,
  };
}
