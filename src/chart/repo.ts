/**
 * Classic Helm chart repositories: `index.yaml` parsing, `--version` resolution the way
 * `helm pull NAME --repo URL` does it, and chart downloads checked against the
 * index's `digest`.
 */
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { ChartproofError, RegistryError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded, parseYamlDocumentBounded } from '../internal/bounded-parse.js';
import { isRecord as isObject, messageOf, setOwn } from '../internal/guards.js';
import { sha256Hex } from '../internal/hash.js';
import type { RegistryClient } from '../oci/client.js';
import { clientTransport } from '../oci/internal/transport.js';
import type { Digest } from '../oci/digest.js';
import { discard, toRegistryError } from '../oci/transport/errors.js';
import type { HttpResponse } from '../oci/transport/fetch.js';
import { readAll } from '../oci/verify.js';
import { goMapKeyOfScalar, goStringOfScalar } from './go-scalar.js';
import { goYamlOptions, validateChartMetadata } from './metadata.js';
import type { ChartMetadata } from './types.js';
import { compareVersions, matchingVersions, parseVersionConstraint } from './version.js';

/** Largest `index.yaml` read by default (20 MiB). @public */
export const MAX_REPO_INDEX_BYTES = 20 * 1024 * 1024;
/** Largest chart archive {@link downloadRepoChart} reads by default (100 MiB). @public */
export const MAX_REPO_CHART_BYTES = 100 * 1024 * 1024;

/** Alias expansions allowed in an index; keeps "billion laughs" documents cheap. */
const MAX_ALIAS_COUNT = 100;

/**
 * One chart version of a repository index (Helm's `ChartVersion`: the `Chart.yaml`
 * fields plus `urls`, `created`, `digest`, ...). Unknown fields are kept as parsed.
 * @public
 */
export interface RepoIndexEntry {
  name: string;
  version: string;
  /** Download URLs, absolute or relative to the repository URL. Helm uses the first. */
  urls: string[];
  /** Lowercase hex sha256 of the archive (some servers prefix `sha256:`). */
  digest?: string;
  created?: string;
  apiVersion?: string;
  appVersion?: string;
  description?: string;
  deprecated?: boolean;
  [k: string]: unknown;
}

/** A parsed repository `index.yaml`. Entries are sorted newest version first. @public */
export interface RepoIndex {
  apiVersion: string;
  generated?: string;
  entries: Record<string, RepoIndexEntry[]>;
  [k: string]: unknown;
}

/** Options of {@link parseRepoIndex}. @public */
export interface ParseRepoIndexOptions {
  /** Largest accepted index in bytes. Default {@link MAX_REPO_INDEX_BYTES}. */
  maxBytes?: number;
  /** Receives a message for each entry skipped as invalid (Helm logs these). */
  onWarning?: (message: string) => void;
}

// Fields Helm decodes into Go strings. sigs.k8s.io/yaml turns a number or boolean into
// Go's text for it only for ChartVersion's own fields (`digest: 1234`, `urls: [12]`);
// for the fields of the embedded Chart.yaml Metadata its conversion does not reach the
// field, and json.Unmarshal rejects the whole index (`version: 1.0` unquoted: "cannot
// unmarshal number into Go struct field ChartVersion.entries.Metadata.version"), as
// checked against Helm v4.1.4. chartproof rejects such an index too.
const STRING_FIELDS = new Set([
  'name',
  'version',
  'digest',
  'created',
  'apiVersion',
  'appVersion',
  'description',
  'home',
  'icon',
  'kubeVersion',
  'type',
  'condition',
  'tags',
  'checksum',
  'engine',
  'tillerVersion',
  'url',
]);
const TOP_STRING_FIELDS = new Set(['apiVersion', 'generated']);
/** ChartVersion's own string (and time) fields, which sigs.k8s.io/yaml converts. */
const ENTRY_OWN_STRING_FIELDS = new Set(['digest', 'created', 'checksum', 'engine', 'tillerVersion', 'url']);

// UnmarshalStrict rejects duplicate keys (checked in one pass by parseYamlDocumentBounded:
// yaml's own check is quadratic, and an index of 100 000 chart names took minutes).
const YAML_OPTIONS = goYamlOptions(true);

function invalid(message: string, cause?: unknown): never {
  if (isDepthLimitError(cause))
    throw new ChartproofError(cause.code, message, { cause, source: cause.source });
  throw new ChartproofError('CHART_INVALID', message, cause === undefined ? {} : { cause });
}

// Go time.Time fields: their own unmarshaler reads the text, which is never coerced.
const TIME_FIELDS = new Set(['created', 'generated']);

/** The Go string of a plain scalar whose parsed value is not a string (undefined: leave as is). */
function scalarSource(node: unknown, key: string): string | undefined {
  if (!isScalar(node)) return undefined;
  if (node.value === null || typeof node.value === 'string') return undefined;
  if (typeof node.source !== 'string') return undefined;
  // Unlike a Chart.yaml field (goStringOfScalar's rule), a tagged value is kept as written.
  if (TIME_FIELDS.has(key) || node.tag !== undefined) return node.source;
  return goStringOfScalar(node, key);
}

function pairValue(map: Node | null | undefined, key: string): unknown {
  if (!isMap(map)) return undefined;
  for (const pair of map.items) {
    if (isScalar(pair.key) && pair.key.value === key) return pair.value;
  }
  return undefined;
}

/** Restores string fields that YAML 1.1 resolved to numbers, booleans or timestamps. */
function restoreStrings(
  node: Node | null | undefined,
  value: Record<string, unknown>,
  fields: Set<string>,
): void {
  if (!isMap(node)) return;
  for (const pair of node.items) {
    if (!isScalar(pair.key) || typeof pair.key.value !== 'string' || !fields.has(pair.key.value)) continue;
    const src = scalarSource(pair.value, pair.key.value);
    if (src !== undefined) value[pair.key.value] = src;
  }
}

/** A list of Go strings: items YAML typed as numbers or booleans become Go's text for them. */
function restoreStringList(node: unknown, list: unknown): void {
  if (!isSeq(node) || !Array.isArray(list)) return;
  node.items.forEach((item, i) => {
    const src = scalarSource(item, '');
    if (src !== undefined) list[i] = src;
  });
}

/**
 * What sigs.k8s.io/yaml converts below an index entry: the `urls` items (a ChartVersion
 * field) and map keys (`annotations: {1.10: x}` has the key "1.1"); Metadata values are
 * left for the type checks, which reject numbers as Helm does.
 */
function restoreNestedStrings(node: Node, entry: Record<string, unknown>): void {
  restoreStringList(pairValue(node, 'urls'), entry.urls);
  const annotations = pairValue(node, 'annotations');
  if (!isMap(annotations) || !isObject(entry.annotations)) return;
  const out: Record<string, unknown> = {};
  for (const pair of annotations.items) {
    if (!isScalar(pair.key)) continue;
    const k = goMapKeyOfScalar(pair.key) ?? String(pair.key.value);
    setOwn(out, k, entry.annotations[String(pair.key.value)]);
  }
  entry.annotations = out;
}

// The JSON names of the Go structs Helm decodes an index into: IndexFile, ChartVersion
// (the embedded Chart.yaml Metadata plus its own fields), Maintainer and Dependency.
const INDEX_FIELDS = ['apiVersion', 'generated', 'entries', 'publicKeys', 'annotations', 'serverInfo'];
const ENTRY_FIELDS = [
  ...STRING_FIELDS,
  'sources',
  'keywords',
  'maintainers',
  'deprecated',
  'annotations',
  'dependencies',
  'urls',
  'removed',
];
const MAINTAINER_FIELDS = ['name', 'email', 'url'];
const DEPENDENCY_FIELDS = [
  'name',
  'version',
  'repository',
  'condition',
  'tags',
  'enabled',
  'import-values',
  'alias',
];

/** Go's encoding/json key folding for ASCII field names (`ſ` folds with s, the Kelvin sign with k). */
function foldKey(key: string): string {
  return key
    .replace(/[A-Z]/g, (c) => c.toLowerCase())
    .replace(/\u017f/g, 's')
    .replace(/\u212a/g, 'k');
}

const foldedFields = (fields: string[]) => new Map(fields.map((f) => [foldKey(f), f]));
const INDEX_FOLDED = foldedFields(INDEX_FIELDS);
const ENTRY_FOLDED = foldedFields(ENTRY_FIELDS);
const MAINTAINER_FOLDED = foldedFields(MAINTAINER_FIELDS);
const DEPENDENCY_FOLDED = foldedFields(DEPENDENCY_FIELDS);

/**
 * Rejects a key spelled like a field but not exactly (`Version`, `URLS`, `verſion`):
 * Helm's json.Unmarshal matches keys to fields case-insensitively, the last one
 * winning, so it would read another version, URL or digest than the exact key says.
 */
function checkFieldSpelling(
  where: string,
  value: Record<string, unknown>,
  fields: Map<string, string>,
): void {
  for (const key of Object.keys(value)) {
    const field = fields.get(foldKey(key));
    if (field !== undefined && field !== key)
      invalid(
        `index: ${where}: key ${JSON.stringify(key)} differs from the field ${JSON.stringify(field)} only in case (Helm would read it as that field)`,
      );
  }
}

/** Helm's json.Unmarshal type checks for the nested Chart.yaml fields of an index entry. */
function checkNestedTypes(where: string, item: Record<string, unknown>): void {
  const strings = (key: string, list: unknown) => {
    if (list === undefined || list === null) return;
    if (!Array.isArray(list) || list.some((v) => v !== null && typeof v !== 'string'))
      invalid(`index: ${where}: field ${JSON.stringify(key)} must be a list of strings`);
  };
  strings('keywords', item.keywords);
  strings('sources', item.sources);
  const structs = (key: string, fields: string[]) => {
    const list = item[key];
    if (list === undefined || list === null) return;
    if (!Array.isArray(list)) invalid(`index: ${where}: field ${JSON.stringify(key)} must be a list`);
    list.forEach((m, i) => {
      if (m === null) return;
      if (!isObject(m)) invalid(`index: ${where}.${key}[${i}] must be a mapping`);
      checkFieldSpelling(
        `${where}.${key}[${i}]`,
        m,
        key === 'dependencies' ? DEPENDENCY_FOLDED : MAINTAINER_FOLDED,
      );
      for (const f of fields) checkType(`${where}.${key}[${i}]`, f, m[f], 'string');
      if (key === 'dependencies') strings(`${key}[${i}].tags`, m.tags);
    });
  };
  structs('maintainers', ['name', 'email', 'url']);
  structs('dependencies', ['name', 'version', 'repository', 'condition', 'alias']);
  const annotations = item.annotations;
  if (annotations === undefined || annotations === null) return;
  if (!isObject(annotations)) invalid(`index: ${where}: field "annotations" must be a mapping`);
  for (const [k, v] of Object.entries(annotations))
    if (v !== null && typeof v !== 'string')
      invalid(`index: ${where}: annotation ${JSON.stringify(k)} must be a string`);
}

function decodeYaml(source: string): unknown {
  const doc = parseYamlDocumentBounded(source, YAML_OPTIONS, { what: 'the document', maxNodes: 5_000_000 });
  if (doc.errors.length > 0) throw doc.errors[0];
  const value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  if (!isObject(value)) return value;
  const root = doc.contents as Node | null;
  restoreStrings(root, value, TOP_STRING_FIELDS);
  const entriesNode = pairValue(root, 'entries') as Node | undefined;
  if (isMap(entriesNode) && isObject(value.entries)) {
    const entries = value.entries as Record<string, unknown>;
    for (const pair of entriesNode.items) {
      if (!isScalar(pair.key)) continue;
      const list = entries[String(pair.key.value)];
      if (!isSeq(pair.value) || !Array.isArray(list)) continue;
      pair.value.items.forEach((item, i) => {
        if (isObject(list[i])) {
          restoreStrings(item as Node, list[i] as Record<string, unknown>, ENTRY_OWN_STRING_FIELDS);
          restoreNestedStrings(item as Node, list[i] as Record<string, unknown>);
        }
      });
    }
  }
  return value;
}

function decode(source: string): unknown {
  // Helm: json.Unmarshal when the bytes are valid JSON, else yaml.UnmarshalStrict.
  try {
    return parseJsonBounded(source, { what: 'the document' });
  } catch (e) {
    if (isDepthLimitError(e)) throw e; // else not JSON
  }
  return decodeYaml(source);
}

function checkType(where: string, key: string, value: unknown, type: 'string' | 'boolean'): void {
  if (value !== undefined && value !== null && typeof value !== type) {
    invalid(`index: ${where}: field ${JSON.stringify(key)} must be a ${type}`);
  }
}

/** Validates an entry like Helm's `ChartVersion.Validate` (which also sanitizes it). */
function validateEntry(entry: RepoIndexEntry): { entry: RepoIndexEntry } | { problem: string } {
  // Helm validates each entry like Chart.yaml (after defaulting apiVersion to v1) and
  // drops invalid ones, except for duplicate dependency names (helm/helm#12748).
  const copy = structuredClone(entry);
  try {
    validateChartMetadata(copy as unknown as ChartMetadata);
    return { entry: copy };
  } catch (e) {
    const message = messageOf(e);
    if (message.includes('more than one dependency with name or alias')) return { entry: copy };
    return { problem: message };
  }
}

/** Newest first; versions that cannot be ordered last. */
function compareEntries(a: RepoIndexEntry, b: RepoIndexEntry): number {
  return compareVersions(b.version, a.version);
}

/**
 * Parses a repository `index.yaml` (or its JSON form) like Helm's `loadIndex`: JSON
 * when the bytes are valid JSON, else YAML with duplicate keys rejected and alias
 * expansion bounded; `apiVersion` is required; `null` entries and entries that fail
 * Chart.yaml validation are skipped (reported to `onWarning`); a missing entry
 * `apiVersion` defaults to `v1`; each chart's versions are sorted newest first
 * (stable for equal versions). Unknown fields are kept, not rejected.
 * @throws ChartproofError `SIZE_LIMIT_EXCEEDED` for an index over `maxBytes`;
 *   `CHART_INVALID` for an empty, malformed or mistyped index
 * @public
 */
export function parseRepoIndex(data: Uint8Array | string, options: ParseRepoIndexOptions = {}): RepoIndex {
  const maxBytes = options.maxBytes ?? MAX_REPO_INDEX_BYTES;
  const size = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength;
  if (size > maxBytes) {
    throw new ChartproofError(
      'SIZE_LIMIT_EXCEEDED',
      `index: ${size} bytes exceeds the limit of ${maxBytes} bytes`,
    );
  }
  const source = typeof data === 'string' ? data : new TextDecoder('utf-8').decode(data);
  if (source.trim() === '') invalid('index: empty index.yaml file');
  let raw: unknown;
  try {
    raw = decode(source);
  } catch (e) {
    invalid(`index: cannot parse: ${messageOf(e)}`, e);
  }
  if (!isObject(raw)) invalid('index: top level must be a mapping');
  checkFieldSpelling('index', raw, INDEX_FOLDED);
  checkType('index', 'apiVersion', raw.apiVersion, 'string');
  checkType('index', 'generated', raw.generated, 'string');
  const rawEntries = raw.entries ?? {};
  if (!isObject(rawEntries)) invalid('index: "entries" must be a mapping');
  const entries: Record<string, RepoIndexEntry[]> = {};
  for (const [chart, list] of Object.entries(rawEntries)) {
    if (list === null || list === undefined) {
      setOwn(entries, chart, []);
      continue;
    }
    if (!Array.isArray(list)) invalid(`index: entries.${chart} must be a list`);
    const kept: RepoIndexEntry[] = [];
    list.forEach((item: unknown, i: number) => {
      const where = `entries.${chart}[${i}]`;
      if (item === null || item === undefined) {
        options.onWarning?.(`skipping invalid entry for chart ${JSON.stringify(chart)}: empty entry`);
        return;
      }
      if (!isObject(item)) invalid(`index: ${where} must be a mapping`);
      checkFieldSpelling(where, item, ENTRY_FOLDED);
      for (const key of STRING_FIELDS) {
        if (key !== 'tags') checkType(where, key, item[key], 'string');
      }
      checkType(where, 'deprecated', item.deprecated, 'boolean');
      checkType(where, 'removed', item.removed, 'boolean');
      checkNestedTypes(where, item);
      const urls = item.urls ?? [];
      if (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string')) {
        invalid(`index: ${where}: field "urls" must be a list of strings`);
      }
      const entry = { ...item, urls } as RepoIndexEntry;
      for (const [k, v] of Object.entries(entry)) if (v === null) delete entry[k];
      if (entry.urls === undefined) entry.urls = [];
      if (!entry.apiVersion) entry.apiVersion = 'v1';
      const checked = validateEntry(entry);
      if ('problem' in checked) {
        options.onWarning?.(
          `skipping invalid entry for chart ${JSON.stringify(chart)} ${JSON.stringify(entry.version ?? '')}: ${checked.problem}`,
        );
        return;
      }
      kept.push(checked.entry);
    });
    kept.sort(compareEntries);
    setOwn(entries, chart, kept);
  }
  if (typeof raw.apiVersion !== 'string' || raw.apiVersion === '') invalid('index: no API version specified');
  const index: RepoIndex = { ...raw, apiVersion: raw.apiVersion, entries };
  if (raw.generated === null || raw.generated === undefined) delete index.generated;
  return index;
}

// ---------------------------------------------------------------------------------------
// URLs and fetching
// ---------------------------------------------------------------------------------------

function parseRepoUrl(repoUrl: string): URL {
  let url: URL;
  try {
    url = new URL(repoUrl);
  } catch (e) {
    // Not echoed when it may hold userinfo (a password with `/` makes it unparsable).
    const shown = repoUrl.includes('@') ? '' : ` ${JSON.stringify(repoUrl)}`;
    throw new ChartproofError('INVALID_ARGUMENT', `invalid chart repository URL${shown}`, {
      cause: e,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `chart repository URL must be http or https, got ${JSON.stringify(url.protocol)}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      'chart repository URL must not contain credentials; give them to the client credential provider',
    );
  }
  return url;
}

/**
 * Resolves `ref` against a repository URL like Helm's `ResolveReferenceURL`: absolute
 * URLs are returned as they are; relative ones resolve under the repository URL with
 * a trailing `/` added, and keep the repository URL's query string.
 * @public
 */
export function resolveRepoUrl(repoUrl: string, ref: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(ref)) return ref;
  const base = parseRepoUrl(repoUrl);
  base.pathname = base.pathname.replace(/\/$/, '') + '/';
  const out = new URL(ref, base);
  out.search = base.search;
  out.hash = '';
  return out.toString();
}

async function getCapped(
  client: RegistryClient,
  url: string,
  maxBytes: number,
  what: string,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const res = await clientTransport(client).send({ method: 'GET', url, scopes: [], signal });
  if (res.status !== 200) throw await toRegistryError(res, 'GET', url);
  return readCapped(res, maxBytes, what);
}

/**
 * Reads a response body of at most `maxBytes` (a larger declared length is refused
 * before reading), else `SIZE_LIMIT_EXCEEDED` naming `what`. @internal
 */
export async function readCapped(res: HttpResponse, maxBytes: number, what: string): Promise<Uint8Array> {
  const length = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(length) && length > maxBytes) {
    await discard(res);
    throw new ChartproofError(
      'SIZE_LIMIT_EXCEEDED',
      `${what}: ${length} bytes exceeds the limit of ${maxBytes} bytes`,
    );
  }
  if (!res.body) return new Uint8Array(0);
  try {
    return await readAll(res.body, maxBytes);
  } catch (e) {
    if (e instanceof ChartproofError && e.code === 'SIZE_LIMIT_EXCEEDED') {
      throw new ChartproofError('SIZE_LIMIT_EXCEEDED', `${what}: exceeds the limit of ${maxBytes} bytes`, {
        cause: e,
      });
    }
    throw e;
  }
}

/** Options of {@link fetchRepoIndex}. @public */
export interface FetchRepoIndexOptions extends ParseRepoIndexOptions {
  signal?: AbortSignal;
}

/**
 * Downloads and parses `<repoUrl>/index.yaml` through `client` (its retries,
 * redirects, TLS settings, and credentials for the repository host when it asks).
 * @throws ChartproofError `INVALID_ARGUMENT` for a non-http(s) URL; `SIZE_LIMIT_EXCEEDED`;
 *   `CHART_INVALID`; a `RegistryError` for an unexpected HTTP status
 * @public
 */
export async function fetchRepoIndex(
  client: RegistryClient,
  repoUrl: string,
  options: FetchRepoIndexOptions = {},
): Promise<RepoIndex> {
  const url = resolveRepoUrl(repoUrl, 'index.yaml');
  const maxBytes = options.maxBytes ?? MAX_REPO_INDEX_BYTES;
  const data = await getCapped(client, url, maxBytes, `index ${url}`, options.signal);
  return parseRepoIndex(data, options);
}

// ---------------------------------------------------------------------------------------
// Version resolution
// ---------------------------------------------------------------------------------------

/** Options of {@link resolveRepoChartVersion}. @public */
export interface ResolveRepoChartVersionOptions {
  /** Let prereleases satisfy the range (an empty range then means any version, like `--devel`). */
  includePrerelease?: boolean;
}

/**
 * Picks the chart version `helm pull NAME --repo URL --version RANGE` would: an entry
 * whose version equals `range` exactly wins; otherwise the newest entry satisfying
 * the semver range (`,` means AND). An empty range means the newest non-prerelease
 * version. Prereleases satisfy a range only with `includePrerelease` or when the
 * range names a prerelease itself.
 * @throws ChartproofError `NOT_FOUND` when the chart or a matching version is missing;
 *   `INVALID_ARGUMENT` for a bad range
 * @public
 */
export function resolveRepoChartVersion(
  index: RepoIndex,
  name: string,
  range?: string,
  options: ResolveRepoChartVersionOptions = {},
): RepoIndexEntry {
  const wanted = (range ?? '').trim();
  const versions = Object.hasOwn(index.entries, name) ? index.entries[name]! : undefined;
  if (!versions)
    throw new ChartproofError('NOT_FOUND', `chart ${JSON.stringify(name)} not found in repository`);
  const notFound = () =>
    new ChartproofError(
      'NOT_FOUND',
      `chart ${JSON.stringify(name)} version ${JSON.stringify(wanted === '' ? '*' : wanted)} not found in repository`,
    );
  if (versions.length === 0) throw notFound();
  if (wanted !== '') {
    const exact = versions.find((v) => v.version === wanted);
    if (exact) return exact;
  }
  const best = matchingVersions(
    versions,
    (e) => e.version,
    parseVersionConstraint(wanted),
    options.includePrerelease === true,
  )[0];
  if (!best) throw notFound();
  return best;
}

// ---------------------------------------------------------------------------------------
// Download
// ---------------------------------------------------------------------------------------

/** Result of {@link downloadRepoChart}. @public */
export interface DownloadedChart {
  /** The chart archive bytes. */
  archive: Uint8Array;
  /** The index entry that was resolved. */
  entry: RepoIndexEntry;
  /** The absolute URL the archive was downloaded from. */
  url: string;
  /** `sha256:<hex>` of `archive`, computed here. */
  digest: Digest;
  /**
   * True when the archive matched the entry's `digest`. False when the entry has no
   * digest: the archive is then unverified (Helm itself never checks it).
   */
  verified: boolean;
  /** The `.prov` file's bytes, when `provenance` was asked for. */
  provenance?: Uint8Array;
}

/** Options of {@link downloadRepoChart}. @public */
export interface DownloadRepoChartOptions {
  /** An exact version or a semver range (Helm's `--version`). Default: newest stable. */
  version?: string;
  /** Let prereleases satisfy `version` (or any version when it is empty). */
  includePrerelease?: boolean;
  signal?: AbortSignal;
  /** Largest archive accepted. Default {@link MAX_REPO_CHART_BYTES}. */
  maxBytes?: number;
  /** Largest index accepted. Default {@link MAX_REPO_INDEX_BYTES}. */
  maxIndexBytes?: number;
  /**
   * Also download the provenance file (`<archive URL>.prov`, Helm's `--prov`); its
   * absence is then an error. It is not verified here: see `verifyProvenance`.
   */
  provenance?: boolean;
}

/**
 * The file name Helm gives a chart downloaded from `url`, and looks up in its `.prov`:
 * the last segment of the URL's path, percent-decoded (Go's `url.Parse` decodes
 * `Path`; `filepath.Base`), without the query. `a-1.0.0%2Bb.tgz` is `a-1.0.0+b.tgz`.
 * @internal
 */
export function archiveFileName(url: string): string {
  const path = new URL(url).pathname;
  const last = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(last);
  } catch {
    return last; // an invalid escape: Helm cannot parse the URL either
  }
}

/**
 * The entry's declared sha256 as lowercase hex (a `sha256:` prefix in any case
 * accepted), or undefined when it declares none.
 * @throws ChartproofError `INVALID_DIGEST` for another algorithm or a malformed value
 * @internal
 */
export function declaredSha256(entry: RepoIndexEntry): string | undefined {
  const digest = entry.digest;
  if (digest === undefined || digest === '') return undefined;
  const colon = digest.indexOf(':');
  const algorithm = colon < 0 ? 'sha256' : digest.slice(0, colon).toLowerCase();
  const hex = colon < 0 ? digest : digest.slice(colon + 1);
  if (algorithm !== 'sha256' || !/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new ChartproofError(
      'INVALID_DIGEST',
      `chart ${entry.name} ${entry.version}: index digest ${JSON.stringify(digest.slice(0, 100))} is not a sha256 hex digest`,
    );
  }
  return hex.toLowerCase();
}

/**
 * Downloads a chart from a classic repository: fetches the index, resolves
 * `version` (see {@link resolveRepoChartVersion}), downloads the entry's first URL
 * (relative URLs resolve against `repoUrl`) and checks the bytes against the entry's
 * `digest`. Unlike Helm, a mismatch is an error. An entry without a digest is
 * returned with `verified: false`.
 * @throws ChartproofError `DIGEST_MISMATCH` when the archive does not match the index;
 *   `INVALID_DIGEST` for a malformed index digest; `NOT_FOUND`; `SIZE_LIMIT_EXCEEDED`;
 *   `INSECURE_REQUEST` for a plain-HTTP chart URL in an HTTPS repository
 * @public
 */
export async function downloadRepoChart(
  client: RegistryClient,
  repoUrl: string,
  name: string,
  options: DownloadRepoChartOptions = {},
): Promise<DownloadedChart> {
  const indexOptions: FetchRepoIndexOptions = {};
  if (options.signal) indexOptions.signal = options.signal;
  if (options.maxIndexBytes !== undefined) indexOptions.maxBytes = options.maxIndexBytes;
  const index = await fetchRepoIndex(client, repoUrl, indexOptions);
  const resolveOptions: ResolveRepoChartVersionOptions = {};
  if (options.includePrerelease !== undefined) resolveOptions.includePrerelease = options.includePrerelease;
  const entry = resolveRepoChartVersion(index, name, options.version, resolveOptions);
  return downloadRepoEntry(client, repoUrl, name, entry, options);
}

/**
 * Downloads the archive of an index entry already resolved (checked against the
 * entry's digest), without fetching the index again: the entry that chose the
 * version is the one the download is checked against. See {@link downloadRepoChart}.
 * @internal
 */
export async function downloadRepoEntry(
  client: RegistryClient,
  repoUrl: string,
  name: string,
  entry: RepoIndexEntry,
  options: Pick<DownloadRepoChartOptions, 'signal' | 'maxBytes' | 'provenance'> = {},
): Promise<DownloadedChart> {
  const expected = declaredSha256(entry);
  const first = entry.urls[0];
  if (first === undefined || first === '') {
    throw new ChartproofError('NOT_FOUND', `chart ${name} version ${entry.version} has no downloadable URLs`);
  }
  // The URL as WHATWG parsing normalises it (what is fetched): an index's raw text may
  // hold control characters (terminal escapes) that must not reach messages or results.
  const target = new URL(resolveRepoUrl(repoUrl, first));
  const url = target.href;
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new ChartproofError('UNSUPPORTED', `chart URL ${JSON.stringify(url)} is not http or https`);
  }
  if (target.protocol === 'http:' && new URL(repoUrl).protocol === 'https:') {
    throw new ChartproofError(
      'INSECURE_REQUEST',
      `refusing plain-HTTP chart URL ${url} from an HTTPS repository`,
    );
  }
  const archive = await getCapped(
    client,
    url,
    options.maxBytes ?? MAX_REPO_CHART_BYTES,
    `chart ${url}`,
    options.signal,
  );
  const hex = sha256Hex(archive);
  if (expected !== undefined && hex !== expected) {
    throw new ChartproofError(
      'DIGEST_MISMATCH',
      `chart ${name} ${entry.version} from ${url}: sha256 ${hex} does not match the index digest ${expected}`,
    );
  }
  const out: DownloadedChart = {
    archive,
    entry,
    url,
    digest: `sha256:${hex}`,
    verified: expected !== undefined,
  };
  if (options.provenance) {
    const provenance = await fetchRepoProvenance(client, url, options.signal);
    if (provenance === undefined)
      throw new ChartproofError('NOT_FOUND', `failed to fetch provenance "${url}.prov"`);
    out.provenance = provenance;
  }
  return out;
}

/**
 * The `.prov` beside a classic repository's chart archive (`<archive URL>.prov`, as
 * `helm pull --prov` fetches it), or undefined when the repository has none (404).
 * @internal
 */
export async function fetchRepoProvenance(
  client: RegistryClient,
  archiveUrl: string,
  signal?: AbortSignal,
): Promise<Uint8Array | undefined> {
  const provUrl = `${archiveUrl}.prov`;
  try {
    return await getCapped(client, provUrl, MAX_PROVENANCE_BYTES, `provenance ${provUrl}`, signal);
  } catch (e) {
    if (e instanceof RegistryError && e.status === 404) return undefined;
    throw e;
  }
}

/** Largest `.prov` file accepted (a signed Chart.yaml plus the archive's hash). @internal */
export const MAX_PROVENANCE_BYTES = 1024 * 1024;
