/**
 * Helm release Secrets (`type: helm.sh/release.v1`, `sh.helm.release.v1.<name>.v<rev>`),
 * decoded the way Helm's storage driver reads them (helm pkg/storage/driver/util.go,
 * identical in v3 and v4): the Secret's `data.release` is base64 (Kubernetes) of
 * base64 (Helm) of gzip of the release JSON; bytes without the gzip magic `1f 8b 08`
 * are plain JSON (releases stored before compression).
 *
 * A Secret is hostile input (anyone who may create Secrets in a namespace can write
 * one): every layer is bounded — encoded size, decompressed size (the gunzip stops at
 * the cap, so a gzip bomb costs the cap, not its expansion), JSON nesting (checked
 * before parsing), number of chart files — and the release must agree with the
 * Secret's name and namespace.
 */
import { scanJsonKeys } from '../internal/json-keys.js';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { ChartproofError } from '../errors.js';
import { assertJsonDepth, DEFAULT_MAX_DEPTH } from '../internal/bounded-parse.js';
import { decodeBase64 } from '../internal/encoding/base64.js';
import { isRecord as isObj } from '../internal/guards.js';

const gunzipAsync = promisify(gunzip);

/** The Secret type Helm's storage driver writes. @public */
export const HELM_RELEASE_SECRET_TYPE = 'helm.sh/release.v1';

/** Default bound of `data.release` (base64 text): Kubernetes caps Secret data at 1 MiB. @public */
export const MAX_RELEASE_ENCODED_BYTES = 2 * 1024 * 1024;
/** Default bound of the decompressed release JSON. @public */
export const MAX_RELEASE_JSON_BYTES = 32 * 1024 * 1024;
/** Default bound of templates + files in a release's chart. @public */
export const MAX_RELEASE_CHART_FILES = 10_000;

/** Why a release Secret was refused: `RELEASE_INVALID`, or a size or depth bound. @public */
export class ReleaseSecretError extends ChartproofError {
  constructor(
    code: 'RELEASE_INVALID' | 'SIZE_LIMIT_EXCEEDED' | 'DEPTH_LIMIT_EXCEEDED',
    message: string,
    cause?: unknown,
  ) {
    super(code, message, { cause, source: 'remote' });
  }
}

/** A file of the release's chart (template or other file), decoded. @public */
export interface ReleaseChartFile {
  /** Path inside the chart, e.g. `templates/deployment.yaml`. */
  name: string;
  data: Uint8Array;
}

/** The chart as Helm stored it in the release (no subcharts, no digest, no source). @public */
export interface ReleaseChart {
  /** Chart.yaml fields as stored (JSON names: `name`, `version`, `apiVersion`, …). */
  metadata: Record<string, unknown>;
  name: string;
  version: string;
  /** The chart's default values (parsed values.yaml). */
  values: Record<string, unknown>;
  templates: ReleaseChartFile[];
  /** Everything else (README, .helmignore, …), not Chart.yaml / values / templates / charts. */
  files: ReleaseChartFile[];
  /** values.schema.json bytes, when the chart has one. */
  schema?: Uint8Array;
  /** Chart.lock as stored, when the chart has one. */
  lock?: Record<string, unknown>;
}

/** A decoded Helm release. @public */
export interface HelmRelease {
  name: string;
  namespace: string;
  revision: number;
  /** `info.status`: deployed, superseded, failed, pending-install, … */
  status: string;
  chart: ReleaseChart;
  /** The user-supplied values (`--set`, `-f`); `{}` when none. */
  config: Record<string, unknown>;
  /** The rendered manifest Helm applied. */
  manifest: string;
  hooks: unknown[];
  info: Record<string, unknown>;
  /** The Secret's labels (Helm's `name`, `owner`, `status`, `version`, …). */
  labels: Record<string, string>;
}

/** Bounds of {@link decodeReleaseSecret}. @public */
export interface DecodeReleaseOptions {
  /** Bound of `data.release` in characters. Default {@link MAX_RELEASE_ENCODED_BYTES}. */
  maxEncodedBytes?: number;
  /** Bound of the decompressed JSON. Default {@link MAX_RELEASE_JSON_BYTES}. */
  maxJsonBytes?: number;
  /** Nesting bound of the JSON. Default 128. */
  maxDepth?: number;
  /** Bound of templates + files. Default {@link MAX_RELEASE_CHART_FILES}. */
  maxFiles?: number;
}

const NAME = /^sh\.helm\.release\.v1\.(.+)\.v([1-9][0-9]{0,9})$/;

function invalid(message: string, cause?: unknown): ReleaseSecretError {
  return new ReleaseSecretError('RELEASE_INVALID', message, cause);
}

/** Strict base64 (Go's StdEncoding): the alphabet, padding, length a multiple of 4. */
function base64Bytes(text: string, what: string): Buffer {
  const bytes = decodeBase64(text, 'std');
  if (!bytes) throw invalid(`${what} is not valid base64`);
  return bytes;
}

/**
 * True for a Secret Helm would read as a release: `type: helm.sh/release.v1`, or labelled
 * `owner=helm` with a `data.release` (Helm's storage driver lists by that label and
 * decodes `data.release` without looking at the type). @internal
 */
export function isHelmReleaseSecret(secret: Record<string, unknown>): boolean {
  if (secret.type === HELM_RELEASE_SECRET_TYPE) return true;
  return ownedByHelm(secret) && isObj(secret.data) && 'release' in secret.data;
}

/** The `owner=helm` label Helm's storage driver selects its release Secrets by. @internal */
export function ownedByHelm(object: Record<string, unknown>): boolean {
  const meta = isObj(object.metadata) ? object.metadata : {};
  return isObj(meta.labels) && meta.labels.owner === 'helm';
}

/** Parses a Secret name: the release name and revision, or undefined. @public */
export function parseReleaseSecretName(name: string): { release: string; revision: number } | undefined {
  const m = NAME.exec(name);
  return m ? { release: m[1]!, revision: Number(m[2]) } : undefined;
}

async function gunzipCapped(bytes: Buffer, max: number, what: string): Promise<Buffer> {
  try {
    // maxOutputLength stops the inflater once the output passes the cap: a bomb costs
    // `max` bytes of memory and the time to produce them, not its full expansion.
    return await gunzipAsync(bytes, { maxOutputLength: max });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError)
      throw new ReleaseSecretError(
        'SIZE_LIMIT_EXCEEDED',
        `${what} decompresses to more than ${max} bytes`,
        e,
      );
    throw invalid(`${what} is not valid gzip: ${(e as Error).message}`, e);
  }
}

function files(v: unknown, what: string, budget: { left: number }): ReleaseChartFile[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(`${what} is not a list`);
  return v.map((f, i) => {
    if (--budget.left < 0)
      throw new ReleaseSecretError('SIZE_LIMIT_EXCEEDED', `the chart has too many files`);
    if (!isObj(f) || typeof f.name !== 'string') throw invalid(`${what}[${i}] has no name`);
    const data = f.data ?? '';
    if (typeof data !== 'string') throw invalid(`${what}[${i}] (${f.name}): data is not base64 text`);
    return { name: f.name, data: new Uint8Array(base64Bytes(data, `${what}[${i}] (${f.name})`)) };
  });
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/**
 * Decodes the release JSON bytes (after both base64 layers): gunzip when the gzip
 * magic is present (bounded), depth check, parse. Exposed for `helm get`-style tools
 * that already hold Helm's encoded string.
 * @public
 */
export async function decodeReleasePayload(
  helmBase64: string,
  options: DecodeReleaseOptions = {},
): Promise<unknown> {
  const maxJson = options.maxJsonBytes ?? MAX_RELEASE_JSON_BYTES;
  const bytes = base64Bytes(helmBase64.trim(), 'the release (Helm encoding)');
  const gzipped = bytes.length > 3 && bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 0x08;
  const json = gzipped ? await gunzipCapped(bytes, maxJson, 'the release') : bytes;
  if (json.length > maxJson)
    throw new ReleaseSecretError('SIZE_LIMIT_EXCEEDED', `the release JSON is larger than ${maxJson} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch (e) {
    throw invalid('the release is not UTF-8 JSON', e);
  }
  try {
    assertJsonDepth(text, {
      what: 'the release JSON',
      source: 'remote',
      maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    });
  } catch (e) {
    throw new ReleaseSecretError('DEPTH_LIMIT_EXCEEDED', (e as Error).message, e);
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    throw invalid(`the release is not JSON: ${(e as Error).message}`, e);
  }
  const ambiguous = ambiguousStructKey(text);
  if (ambiguous) throw invalid(`the release JSON is ambiguous: ${ambiguous}`);
  return value;
}

/**
 * The fields of the release's structs (Helm v3 and v4, pkg/release and pkg/chart), by
 * their path in the release JSON; maps (`config`, `values`, annotations) are not listed.
 */
const STRUCT_FIELDS: Record<string, readonly string[]> = {
  '': ['name', 'info', 'chart', 'config', 'manifest', 'hooks', 'version', 'namespace', 'apply_method'],
  info: ['first_deployed', 'last_deployed', 'deleted', 'description', 'status', 'notes', 'resources'],
  chart: ['metadata', 'lock', 'templates', 'values', 'schema', 'files', 'schemamodtime', 'modtime'],
  'chart.metadata': [
    'name',
    'home',
    'sources',
    'version',
    'description',
    'keywords',
    'maintainers',
    'icon',
    'apiVersion',
    'condition',
    'tags',
    'appVersion',
    'deprecated',
    'annotations',
    'kubeVersion',
    'dependencies',
    'type',
  ],
  'chart.lock': ['generated', 'digest', 'dependencies'],
  'chart.templates[]': ['name', 'data', 'modtime'],
  'chart.files[]': ['name', 'data', 'modtime'],
  'hooks[]': [
    'name',
    'kind',
    'path',
    'manifest',
    'events',
    'last_run',
    'weight',
    'delete_policies',
    'output_log_policies',
  ],
};

/** Go's case folding of a JSON key (encoding/json matches struct fields case-insensitively). */
const fold = (key: string) => key.toUpperCase().toLowerCase();

/**
 * Where Helm (Go's encoding/json) and `JSON.parse` would read the release differently: at
 * a struct level, a key that is not a field's exact name but folds to one (`Manifest`,
 * `manifeſt`: Go fills the field, `JSON.parse` a key nobody reads) or two keys that fold
 * alike (duplicates: Go merges or keeps the last, in its own way). A crafted release
 * could otherwise show a signed chart here and another one to Helm. Undefined when none.
 */
function ambiguousStructKey(text: string): string | undefined {
  const seen = new Map<number, Set<string>>();
  return scanJsonKeys(text, (key, frame) => {
    const fields = STRUCT_FIELDS[frame.path];
    if (!fields) return undefined;
    const where = frame.path === '' ? 'the release' : frame.path;
    const keys = seen.get(frame.id) ?? new Set<string>();
    seen.set(frame.id, keys);
    const f = fold(key);
    if (keys.has(f)) return `${where} has the key ${JSON.stringify(key)} twice (or in two cases)`;
    keys.add(f);
    const field = fields.find((x) => fold(x) === f);
    if (field !== undefined && field !== key)
      return `${where} has the key ${JSON.stringify(key)}, which Helm reads as ${JSON.stringify(field)}`;
    return undefined;
  });
}

/**
 * Decodes a Helm release Secret (the object as the Kubernetes API returns it, e.g.
 * an AdmissionReview's `request.object` or `kubectl get secret -o json`).
 * @throws {@link ReleaseSecretError} `RELEASE_INVALID`, `SIZE_LIMIT_EXCEEDED`, `DEPTH_LIMIT_EXCEEDED`
 * @public
 */
export async function decodeReleaseSecret(
  secret: unknown,
  options: DecodeReleaseOptions = {},
): Promise<HelmRelease> {
  if (!isObj(secret)) throw invalid('not a Secret object');
  if (secret.kind !== undefined && secret.kind !== 'Secret')
    throw invalid(`not a Secret: kind ${JSON.stringify(secret.kind)}`);
  if (secret.type !== HELM_RELEASE_SECRET_TYPE)
    throw invalid(`Secret type is ${JSON.stringify(secret.type)}, not ${HELM_RELEASE_SECRET_TYPE}`);
  const meta = isObj(secret.metadata) ? secret.metadata : {};
  const secretName = typeof meta.name === 'string' ? meta.name : '';
  const parsedName = parseReleaseSecretName(secretName);
  if (!parsedName)
    throw invalid(
      `Secret name ${JSON.stringify(secretName)} is not sh.helm.release.v1.<release>.v<revision>`,
    );
  const data = isObj(secret.data) ? secret.data : {};
  const encoded = data.release;
  if (typeof encoded !== 'string' || encoded === '') throw invalid(`${secretName}: data.release is missing`);
  const maxEncoded = options.maxEncodedBytes ?? MAX_RELEASE_ENCODED_BYTES;
  if (encoded.length > maxEncoded)
    throw new ReleaseSecretError(
      'SIZE_LIMIT_EXCEEDED',
      `${secretName}: data.release is larger than ${maxEncoded} bytes`,
    );
  const helmText = base64Bytes(encoded, `${secretName}: data.release`).toString('latin1');
  let value: unknown;
  try {
    value = await decodeReleasePayload(helmText, options);
  } catch (e) {
    if (e instanceof ReleaseSecretError)
      throw new ReleaseSecretError(e.code as never, `${secretName}: ${e.message}`, e.cause);
    throw e;
  }
  if (!isObj(value)) throw invalid(`${secretName}: the release is not a JSON object`);
  const r = value;
  if (typeof r.name !== 'string' || r.name !== parsedName.release)
    throw invalid(
      `${secretName}: the release is named ${JSON.stringify(r.name)}, the Secret ${JSON.stringify(parsedName.release)}`,
    );
  if (r.version !== parsedName.revision)
    throw invalid(
      `${secretName}: the release is revision ${JSON.stringify(r.version)}, the Secret ${parsedName.revision}`,
    );
  const namespace = typeof r.namespace === 'string' ? r.namespace : '';
  if (typeof meta.namespace === 'string' && meta.namespace !== '' && namespace !== meta.namespace)
    throw invalid(
      `${secretName}: the release is in namespace ${JSON.stringify(namespace)}, the Secret in ${JSON.stringify(meta.namespace)}`,
    );
  const chart = r.chart;
  if (!isObj(chart) || !isObj(chart.metadata))
    throw invalid(`${secretName}: the release has no chart metadata`);
  const cm = chart.metadata;
  if (typeof cm.name !== 'string' || cm.name === '' || typeof cm.version !== 'string' || cm.version === '')
    throw invalid(`${secretName}: the chart metadata has no name or version`);
  const budget = { left: options.maxFiles ?? MAX_RELEASE_CHART_FILES };
  const out: ReleaseChart = {
    metadata: cm,
    name: cm.name,
    version: cm.version,
    values: isObj(chart.values) ? chart.values : {},
    templates: files(chart.templates, `${secretName}: chart.templates`, budget),
    files: files(chart.files, `${secretName}: chart.files`, budget),
  };
  if (typeof chart.schema === 'string' && chart.schema !== '')
    out.schema = new Uint8Array(base64Bytes(chart.schema, `${secretName}: chart.schema`));
  if (isObj(chart.lock)) out.lock = chart.lock;
  const info = isObj(r.info) ? r.info : {};
  return {
    name: r.name,
    namespace,
    revision: parsedName.revision,
    status: typeof info.status === 'string' ? info.status : 'unknown',
    chart: out,
    config: isObj(r.config) ? r.config : {},
    manifest: typeof r.manifest === 'string' ? r.manifest : '',
    hooks: Array.isArray(r.hooks) ? r.hooks : [],
    info,
    labels: stringMap(meta.labels),
  };
}
