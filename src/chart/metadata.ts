/**
 * `Chart.yaml` parsing and Helm's `Metadata.Validate()` rules, plus the bounded YAML
 * helpers the chart loader uses.
 */

import { type Document, isAlias, isMap, isScalar, isSeq, type Node, type Scalar } from 'yaml';
import {
  isDepthLimitError,
  parseAllYamlDocumentsBounded,
  parseYamlDocumentBounded,
} from '../internal/bounded-parse.js';
import { sanitizeHelmString } from './sanitize.js';
import { compareGoMapKeys as compareUtf8 } from '../internal/encoding/go-json.js';
import { goJsonFold, goMapKeyOfScalar, goStringOfScalar } from './go-scalar.js';
import { ChartproofError, type ErrorCode } from '../errors.js';
import { messageOf } from '../internal/guards.js';
import { isLenientSemver } from './version.js';
import type {
  ChartDependency,
  ChartLock,
  ChartLockDependency,
  ChartMaintainer,
  ChartMetadata,
} from './types.js';

/** Alias expansions allowed per YAML document; keeps "billion laughs" documents cheap. */
const MAX_ALIAS_COUNT = 100;

// YAML 1.1 like Go's yaml.v2 (yes/no/on/off booleans, `<<` merges), but timestamps
// stay strings as they do when yaml.v2 decodes into interface{}.
/**
 * `yaml` options that read like Go's yaml.v2 (YAML 1.1, merge keys, timestamps kept as
 * strings, bounded alias expansion). `strict` rejects duplicate keys like UnmarshalStrict.
 * @internal
 */
// biome-ignore lint/suspicious/noExplicitAny: the yaml option types are a union of several interfaces.
export function goYamlOptions(strict: boolean): any {
  return {
    version: '1.1',
    merge: true,
    uniqueKeys: strict, // yaml.v2: non-strict lets the last duplicate key win
    maxAliasCount: MAX_ALIAS_COUNT,
    prettyErrors: false,
    customTags: (tags: unknown[]) =>
      tags.filter((t) => {
        const tag = t as { tag?: string; format?: string };
        return tag.tag !== 'tag:yaml.org,2002:timestamp' && tag.format !== 'TIME';
      }),
  };
}

const YAML_OPTIONS = goYamlOptions(false);

const decoder = new TextDecoder('utf-8');

function text(input: Uint8Array | string): string {
  return typeof input === 'string' ? input : decoder.decode(input);
}

function fail(code: ErrorCode, message: string, cause?: unknown): never {
  // A depth-limit error keeps its code (and source) under the file's message.
  if (isDepthLimitError(cause))
    throw new ChartproofError(cause.code, message, { cause, source: cause.source });
  throw new ChartproofError(code, message, cause === undefined ? {} : { cause });
}

function firstError(doc: Document.Parsed): unknown {
  return doc.errors[0];
}

/** Parses one YAML document into plain JS values; throws the raw error. */
function parseOne(source: string): { doc: Document.Parsed; value: unknown } {
  const doc = parseYamlDocumentBounded(source, YAML_OPTIONS, { what: 'YAML document' });
  const err = firstError(doc);
  if (err) throw err;
  const value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  return { doc, value };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map);
}

/**
 * Parses `values.yaml` the way Helm 4 does: every document must be a mapping (or
 * empty); documents are deep-merged, later ones winning.
 * @internal
 */
export function parseValues(input: Uint8Array | string): Record<string, unknown> {
  let result: Record<string, unknown> = {};
  try {
    const docs = parseAllYamlDocumentsBounded(text(input), YAML_OPTIONS, { what: 'YAML document' });
    const list = Array.isArray(docs) ? docs : [docs];
    for (const [index, doc] of list.entries()) {
      // Helm splits values.yaml at `---` lines and reads only the first document of
      // each part: a document begun after `...` without its own `---` is ignored.
      if (index > 0 && doc.directives?.docStart !== true) continue;
      const err = firstError(doc as Document.Parsed);
      if (err) throw err;
      const value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      if (value === null || value === undefined) continue;
      if (!isPlainObject(value)) throw new Error('a values document must be a mapping');
      result = mergeMaps(result, value);
    }
  } catch (err) {
    fail('CHART_INVALID', `cannot load values.yaml: ${messageOf(err)}`, err);
  }
  return result;
}

function mergeMaps(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isPlainObject(v) && isPlainObject(prev) ? mergeMaps(prev, v) : v;
  }
  return out;
}

// ---- typed decoding (sigs.k8s.io/yaml semantics: go-yaml v2 types each plain scalar,
// numbers and booleans bound for a string field become Go's text for them, keys match
// fields case-insensitively, unknown keys are dropped) ----

class DecodeError extends Error {}

const MAX_MERGE_DEPTH = 32;

/** Reads typed values out of a parsed YAML document, resolving aliases and `<<` merges. */
class NodeReader {
  constructor(private readonly doc: Document.Parsed) {}

  deref(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  isNull(node: unknown): boolean {
    const n = this.deref(node);
    return n === null || n === undefined || (isScalar(n) && n.value === null);
  }

  /**
   * The Go string sigs.k8s.io/yaml stores for a scalar in a `string` field: quoted and
   * block scalars as written, plain scalars typed by go-yaml v2 and coerced
   * (`1.10` → "1.1", `012` → "10", `yes` → "true"); undefined for null.
   */
  string(node: unknown, field: string): string | undefined {
    const n = this.deref(node);
    if (this.isNull(n)) return undefined;
    if (!isScalar(n)) throw new DecodeError(`${field}: expected a string`);
    return goStringOfScalar(n, field);
  }

  /** A scalar's text as written (for fields Go decodes with their own unmarshaler). */
  text(node: unknown, field: string): string {
    const n = this.deref(node);
    if (!isScalar(n)) throw new DecodeError(`${field}: expected a string`);
    return typeof n.source === 'string' ? n.source : String(n.value);
  }

  bool(node: unknown, field: string): boolean | undefined {
    const n = this.deref(node);
    if (this.isNull(n)) return undefined;
    if (isScalar(n) && typeof n.value === 'boolean') return n.value;
    throw new DecodeError(`${field}: expected a boolean`);
  }

  list(node: unknown, field: string): unknown[] | undefined {
    const n = this.deref(node);
    if (this.isNull(n)) return undefined;
    if (!isSeq(n)) throw new DecodeError(`${field}: expected a list`);
    return n.items;
  }

  stringList(node: unknown, field: string): string[] | undefined {
    return this.list(node, field)?.map((item, i) => this.string(item, `${field}[${i}]`) ?? '');
  }

  /** A mapping's entries as [key, value node]: the last duplicate wins, `<<` merges fill in missing keys. */
  entries(node: unknown, field: string, depth = 0): Map<string, unknown> {
    const out = new Map<string, unknown>();
    const n = this.deref(node);
    if (this.isNull(n)) return out;
    if (!isMap(n)) throw new DecodeError(`${field}: expected a mapping`);
    if (depth > MAX_MERGE_DEPTH) throw new DecodeError(`${field}: merge keys nested too deeply`);
    const merged = new Map<string, unknown>();
    for (const pair of n.items) {
      const key = this.deref(pair.key);
      if (!isScalar(key)) continue;
      if (typeof key.value === 'symbol') {
        const value = this.deref(pair.value);
        for (const src of isSeq(value) ? value.items : [value]) {
          for (const [k, v] of this.entries(src, field, depth + 1)) if (!merged.has(k)) merged.set(k, v);
        }
        continue;
      }
      out.set(this.key(key, field), pair.value);
    }
    for (const [k, v] of merged) if (!out.has(k)) out.set(k, v);
    return out;
  }

  /** A map key as sigs.k8s.io/yaml turns it into a JSON object key. */
  private key(key: Scalar, field: string): string {
    const s = goMapKeyOfScalar(key);
    if (s === undefined) throw new DecodeError(`${field}: unsupported null map key`);
    return s;
  }

  /**
   * The value nodes Go's `encoding/json` assigns to the struct field `name`: every key
   * that matches it case-insensitively, in sorted (UTF-8) key order, so the last one
   * wins — as when sigs.k8s.io/yaml decodes its JSON.
   */
  field(m: Map<string, unknown>, name: string): unknown[] {
    const folded = goJsonFold(name);
    return [...m.keys()]
      .filter((k) => goJsonFold(k) === folded)
      .sort(compareUtf8)
      .map((k) => m.get(k));
  }

  /** A string field: the last non-null value among the matching keys. */
  stringField(m: Map<string, unknown>, name: string, where: string): string | undefined {
    let out: string | undefined;
    for (const node of this.field(m, name)) out = this.string(node, where) ?? out;
    return out;
  }

  /** A bool field: the last non-null value among the matching keys. */
  boolField(m: Map<string, unknown>, name: string, where: string): boolean | undefined {
    let out: boolean | undefined;
    for (const node of this.field(m, name)) out = this.bool(node, where) ?? out;
    return out;
  }

  /** A list/map/pointer field: the last matching key wins, null included; `present` false when none. */
  lastField(m: Map<string, unknown>, name: string): { present: boolean; node: unknown } {
    const nodes = this.field(m, name);
    return { present: nodes.length > 0, node: nodes[nodes.length - 1] };
  }

  maintainer(node: unknown, field: string): ChartMaintainer | null {
    if (this.isNull(node)) return null;
    const m = this.entries(node, field);
    const out: ChartMaintainer = {};
    for (const key of ['name', 'email', 'url'] as const) {
      const value = this.stringField(m, key, `${field}.${key}`);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }

  dependency(node: unknown, field: string): ChartDependency | null {
    if (this.isNull(node)) return null;
    const m = this.entries(node, field);
    const dep: ChartDependency = {
      name: this.stringField(m, 'name', `${field}.name`) ?? '',
      repository: this.stringField(m, 'repository', `${field}.repository`) ?? '',
    };
    const version = this.stringField(m, 'version', `${field}.version`);
    if (version !== undefined) dep.version = version;
    const condition = this.stringField(m, 'condition', `${field}.condition`);
    if (condition !== undefined) dep.condition = condition;
    const tags = this.stringList(this.lastField(m, 'tags').node, `${field}.tags`);
    if (tags !== undefined) dep.tags = tags;
    const enabled = this.boolField(m, 'enabled', `${field}.enabled`);
    if (enabled !== undefined) dep.enabled = enabled;
    const importValues = this.deref(this.lastField(m, 'import-values').node);
    if (!this.isNull(importValues)) {
      if (!isSeq(importValues)) throw new DecodeError(`${field}.import-values: expected a list`);
      dep['import-values'] = (importValues as Node).toJS(this.doc, {
        maxAliasCount: MAX_ALIAS_COUNT,
      }) as unknown[];
    }
    const alias = this.stringField(m, 'alias', `${field}.alias`);
    if (alias !== undefined) dep.alias = alias;
    return dep;
  }

  /** Null entries are kept (as null) so validation can report them like Helm does. */
  dependencies(node: unknown, field: string): ChartDependency[] | undefined {
    return this.list(node, field)?.map((item, i) => this.dependency(item, `${field}[${i}]`)) as
      | ChartDependency[]
      | undefined;
  }
}

/** Parses one document, forces bounded alias expansion, and returns a reader for it. */
function readerFor(source: string): { reader: NodeReader; root: unknown } {
  const { doc } = parseOne(source);
  const reader = new NodeReader(doc);
  const root = reader.deref(doc.contents);
  if (!reader.isNull(root) && !isMap(root)) throw new DecodeError('expected a mapping at the top level');
  return { reader, root };
}

const STRING_FIELDS = [
  'name',
  'home',
  'version',
  'description',
  'icon',
  'apiVersion',
  'condition',
  'tags',
  'appVersion',
  'kubeVersion',
  'type',
] as const;

/**
 * Decodes YAML into `target` like `sigs.k8s.io/yaml.Unmarshal` into Helm's Metadata
 * struct: keys present overwrite, unknown keys are ignored. Throws the raw error.
 */
function decodeMetadataInto(target: Partial<ChartMetadata>, source: string): void {
  const { reader: r, root } = readerFor(source);
  const m = r.entries(root, 'metadata');
  const t = target as Record<string, unknown>;
  for (const key of STRING_FIELDS) {
    const value = r.stringField(m, key, key);
    if (value !== undefined) t[key] = value;
  }
  for (const key of ['sources', 'keywords'] as const) {
    const { present, node } = r.lastField(m, key);
    if (present) t[key] = r.stringList(node, key);
  }
  const deprecated = r.boolField(m, 'deprecated', 'deprecated');
  if (deprecated !== undefined) t.deprecated = deprecated;
  const maintainers = r.lastField(m, 'maintainers');
  if (maintainers.present) {
    t.maintainers = r
      .list(maintainers.node, 'maintainers')
      ?.map((item, i) => r.maintainer(item, `maintainers[${i}]`));
  }
  // encoding/json decodes every matching key into the same map: entries merge, null resets.
  for (const node of r.field(m, 'annotations')) {
    if (r.isNull(node)) t.annotations = undefined;
    else {
      const annotations = { ...((t.annotations as Record<string, string> | undefined) ?? {}) };
      for (const [k, v] of r.entries(node, 'annotations'))
        annotations[k] = r.string(v, `annotations.${k}`) ?? '';
      t.annotations = annotations;
    }
  }
  const dependencies = r.lastField(m, 'dependencies');
  if (dependencies.present) t.dependencies = r.dependencies(dependencies.node, 'dependencies');
  for (const key of Object.keys(t)) if (t[key] === undefined) delete t[key];
}

/**
 * Decodes `Chart.yaml` (or merges `requirements.yaml`) into metadata without
 * validating it. Errors: `CHART_METADATA_INVALID` with Helm's `cannot load <file>: `
 * prefix.
 * @internal
 */
export function decodeMetadata(
  input: Uint8Array | string,
  target: Partial<ChartMetadata>,
  file: string,
): void {
  try {
    decodeMetadataInto(target, text(input));
  } catch (err) {
    fail('CHART_METADATA_INVALID', `cannot load ${file}: ${messageOf(err)}`, err);
  }
}

/**
 * Parses `Chart.lock` / `requirements.lock` (non-strict). Errors: `CHART_INVALID`.
 * @internal
 */
export function parseLock(input: Uint8Array | string, file: string): ChartLock {
  try {
    const { reader: r, root } = readerFor(text(input));
    const m = r.entries(root, 'lock');
    const lock: ChartLock = { digest: r.stringField(m, 'digest', 'digest') ?? '', dependencies: [] };
    // Lock.Generated is a time.Time (a JSON unmarshaler): its text is never coerced.
    const generated = r.lastField(m, 'generated').node;
    if (!r.isNull(generated)) lock.generated = r.text(generated, 'generated');
    const items = r.list(r.lastField(m, 'dependencies').node, 'dependencies') ?? [];
    lock.dependencies = [];
    items.forEach((item, i) => {
      const field = `dependencies[${i}]`;
      const dep: ChartLockDependency | null = r.dependency(item, field);
      if (dep === null) return;
      const entries = r.entries(item, field);
      const digest = r.stringField(entries, 'digest', `${field}.digest`);
      if (digest !== undefined) dep.digest = digest;
      const manifestDigest = r.stringField(entries, 'manifestDigest', `${field}.manifestDigest`);
      if (manifestDigest !== undefined) dep.manifestDigest = manifestDigest;
      lock.dependencies.push(dep);
    });
    return lock;
  } catch (err) {
    fail('CHART_INVALID', `cannot load ${file}: ${messageOf(err)}`, err);
  }
}

/**
 * Whether a lock's `dependencies` list has null entries: {@link parseLock} drops them,
 * but Helm's `HashReq` encodes each as `null` and `helm dependency build` cannot use
 * such a lock. Errors as {@link parseLock}.
 * @internal
 */
export function lockHasNullDependency(input: Uint8Array | string, file: string): boolean {
  try {
    const { reader: r, root } = readerFor(text(input));
    const m = r.entries(root, 'lock');
    const items = r.list(r.lastField(m, 'dependencies').node, 'dependencies') ?? [];
    return items.some((item) => r.isNull(item));
  } catch (err) {
    fail('CHART_INVALID', `cannot load ${file}: ${messageOf(err)}`, err);
  }
}

// ---- validation ----

const ALIAS = /^[a-zA-Z0-9_-]+$/;

function base(p: string): string {
  if (p === '') return '.';
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

function invalid(message: string): never {
  fail('CHART_METADATA_INVALID', `validation: ${message}`);
}

function sanitizeInPlace(m: ChartMetadata): void {
  const t = m as unknown as Record<string, unknown>;
  for (const key of [
    'name',
    'description',
    'home',
    'icon',
    'condition',
    'tags',
    'appVersion',
    'kubeVersion',
  ]) {
    if (typeof t[key] === 'string') t[key] = sanitizeHelmString(t[key] as string);
  }
  if (Array.isArray(m.sources))
    m.sources = m.sources.map((v) => (typeof v === 'string' ? sanitizeHelmString(v) : v));
  if (Array.isArray(m.keywords))
    m.keywords = m.keywords.map((v) => (typeof v === 'string' ? sanitizeHelmString(v) : v));
  for (const maintainer of m.maintainers ?? []) {
    if (!maintainer) continue;
    for (const key of ['name', 'email', 'url'] as const) {
      const v = maintainer[key];
      if (typeof v === 'string') maintainer[key] = sanitizeHelmString(v);
    }
  }
  for (const dep of m.dependencies ?? []) {
    if (!dep) continue;
    for (const key of ['name', 'version', 'repository', 'condition'] as const) {
      const v = dep[key];
      if (typeof v === 'string') dep[key] = sanitizeHelmString(v);
    }
    if (Array.isArray(dep.tags))
      dep.tags = dep.tags.map((v) => (typeof v === 'string' ? sanitizeHelmString(v) : v));
  }
}

/**
 * Runs Helm's `Metadata.Validate()`: first sanitises strings in place like Helm
 * (white space becomes a space, non-printable characters are dropped from name,
 * description, home, icon, condition, tags, appVersion, kubeVersion, sources,
 * keywords, maintainers and dependency name/version/repository/condition/tags), then
 * checks in Helm's order, throwing a `CHART_METADATA_INVALID` error with Helm's
 * message (prefixed `validation: `).
 * @public
 */
export function validateChartMetadata(m: ChartMetadata): void {
  sanitizeInPlace(m);
  if (!m.apiVersion) invalid('chart.metadata.apiVersion is required');
  if (!m.name) invalid('chart.metadata.name is required');
  if (m.name === '.' || m.name === '..')
    invalid(`chart.metadata.name ${JSON.stringify(m.name)} is not allowed`);
  if (m.name !== base(m.name)) invalid(`chart.metadata.name ${JSON.stringify(m.name)} is invalid`);
  if (!m.version) invalid('chart.metadata.version is required');
  if (!isLenientSemver(m.version)) invalid(`chart.metadata.version ${JSON.stringify(m.version)} is invalid`);
  if (m.type !== undefined && m.type !== '' && m.type !== 'application' && m.type !== 'library') {
    invalid('chart.metadata.type must be application or library');
  }
  for (const maintainer of m.maintainers ?? []) {
    if (maintainer === null || maintainer === undefined)
      invalid('maintainers must not contain empty or null nodes');
  }
  const deps = m.dependencies ?? [];
  for (const dep of deps) {
    if (dep === null || dep === undefined) invalid('dependencies must not contain empty or null nodes');
    if (dep.alias && !ALIAS.test(dep.alias)) {
      invalid(`dependency ${JSON.stringify(dep.name)} has disallowed characters in the alias`);
    }
  }
  const seen = new Set<string>();
  for (const dep of deps) {
    const key = dep.alias ? dep.alias : dep.name;
    if (seen.has(key)) invalid(`more than one dependency with name or alias ${JSON.stringify(key)}`);
    seen.add(key);
  }
}

/**
 * Parses `Chart.yaml` like Helm (non-strict: unknown keys are dropped; an empty
 * `apiVersion` becomes `v1`) and validates it with {@link validateChartMetadata}.
 * Errors: `CHART_METADATA_INVALID` (`cannot load Chart.yaml: …` or `validation: …`).
 * @public
 */
export function parseChartMetadata(yamlBytes: Uint8Array | string): ChartMetadata {
  const metadata = {} as ChartMetadata;
  let input = yamlBytes;
  if (typeof input === 'string' && input.startsWith('\uFEFF')) input = input.slice(1);
  else if (input instanceof Uint8Array && input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) {
    input = input.subarray(3);
  }
  decodeMetadata(input, metadata, 'Chart.yaml');
  if (!metadata.apiVersion) metadata.apiVersion = 'v1';
  validateChartMetadata(metadata);
  return metadata;
}
