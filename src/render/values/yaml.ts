/**
 * Values files read as Helm v4.1.4 reads them (`loader.LoadValues`): the text is split
 * into documents by k8s' YAMLReader (`---` lines), each document goes through
 * sigs.k8s.io/yaml (go-yaml v2 typing → JSON → `map[string]interface{}`), and the
 * documents are deep-merged, later ones winning.
 */
import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  type Scalar,
} from 'yaml';
import { goKeyToString, resolveGoScalar } from '../../chart/go-scalar.js';
import { ChartproofError } from '../../errors.js';
import { parseAllYamlDocumentsBounded } from '../../internal/bounded-parse.js';
import type { GoValue } from '../template/value.js';
import { fail, getKey, isTable, MAX_VALUE_DEPTH, newMap, setKey, type Values } from './go.js';

/** Limits of `parseValuesYaml`. @public */
export interface ValuesYamlLimits {
  /** Maximum input size in characters (default 16 MiB). */
  maxBytes?: number;
  /** Maximum nesting of maps/lists (default 1000; the value model's bound). */
  maxDepth?: number;
  /** Maximum nodes produced after alias expansion, per file (default 1,000,000). */
  maxNodes?: number;
}

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_NODES = 1_000_000;

/** A YAML syntax or conversion error, with go-yaml/sigs.k8s.io's wording where known. */
class ConvertError extends Error {}

/**
 * Parses a values file like Helm v4.1.4 (`loader.LoadValues`), returning Go values:
 * numbers are float64 (JS numbers) as sigs.k8s.io/yaml makes them, YAML 1.1 booleans
 * (`yes`/`on`/…) are booleans, timestamps stay strings, `!!binary` becomes a string,
 * duplicate keys keep the last value, `<<` merges work, non-string keys become their
 * text, empty documents add nothing, and every document must be a mapping.
 *
 * @param text - the file's text.
 * @param name - when given, errors read `failed to parse <name>: …` (Helm's
 *   `MergeValues` message for `-f <name>`); otherwise just the inner message.
 * @throws ChartproofError `VALUES_INVALID` with Helm's message (e.g.
 *   `cannot unmarshal yaml document: error converting YAML to JSON: json: unsupported value: +Inf`),
 *   `SIZE_LIMIT_EXCEEDED`/`DEPTH_LIMIT_EXCEEDED` when a bound is hit.
 * @public
 */
export function parseValuesYaml(text: string, name?: string, limits: ValuesYamlLimits = {}): Values {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  if (text.length > maxBytes) {
    fail('SIZE_LIMIT_EXCEEDED', `${name ?? 'values'}: values file larger than ${maxBytes} bytes`);
  }
  const prefix = name === undefined ? '' : `failed to parse ${name}: `;
  let values = newMap();
  let chunks: string[];
  try {
    chunks = splitYamlDocuments(text);
  } catch (e) {
    return fail('VALUES_INVALID', `${prefix}error reading yaml document: ${(e as Error).message}`, e);
  }
  for (const chunk of chunks) {
    let doc: Values;
    try {
      doc = unmarshalDocument(chunk, limits);
    } catch (e) {
      if (e instanceof ChartproofError) throw e;
      return fail('VALUES_INVALID', `${prefix}cannot unmarshal yaml document: ${(e as Error).message}`, e);
    }
    values = mergeMaps(values, doc);
  }
  return values;
}

/**
 * k8s.io/apimachinery `YAMLReader.Read`: splits on lines starting with `---` (only
 * spaces or a comment may follow); empty documents are dropped.
 * @public
 */
export function splitYamlDocuments(text: string): string[] {
  const out: string[] = [];
  let buf = '';
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl + 1;
    const line = text.slice(start, end);
    start = end;
    if (line.startsWith('---')) {
      const trimmed = line.slice(3).trim();
      if (trimmed.length > 0 && trimmed[0] !== '#') {
        throw new Error(`invalid Yaml document separator: ${trimmed}`);
      }
      if (buf.length > 0) out.push(buf);
      buf = '';
      continue;
    }
    buf += line;
  }
  if (buf.length > 0) out.push(buf);
  return out;
}

/** `loader.MergeMaps`: b over a, maps merged recursively (new maps, inputs untouched). @public */
export function mergeMaps(a: Values, b: Values): Values {
  const out = newMap();
  for (const k of Object.keys(a)) setKey(out, k, a[k] as GoValue);
  for (const k of Object.keys(b)) {
    const v = b[k] as GoValue;
    const prev = getKey(out, k);
    setKey(out, k, isTable(v) && isTable(prev) ? mergeMaps(prev, v) : v);
  }
  return out;
}

const YAML_OPTIONS = {
  version: '1.1',
  schema: 'failsafe', // every scalar a string: typing is done here, the go-yaml v2 way
  merge: false,
  uniqueKeys: false,
  prettyErrors: false,
  strict: false,
  // biome-ignore lint/suspicious/noExplicitAny: the yaml option types are a union of several interfaces.
} as any;

/** One document through go-yaml v2 + sigs.k8s.io/yaml into `map[string]interface{}`. */
function unmarshalDocument(chunk: string, limits: ValuesYamlLimits): Values {
  // Nesting is bounded before parsing (the scan may count up to twice the real depth).
  const depth = limits.maxDepth ?? MAX_VALUE_DEPTH;
  const docs = parseAllYamlDocumentsBounded(chunk, YAML_OPTIONS, {
    what: 'values document',
    maxDepth: 2 * depth + 2,
  });
  const list = (Array.isArray(docs) ? docs : [docs]) as Document.Parsed[];
  const doc = list[0];
  if (doc === undefined) return newMap();
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line;
    const msg = err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? 'syntax error';
    throw new ConvertError(
      `error converting YAML to JSON: yaml: ${line === undefined ? '' : `line ${line}: `}${msg}`,
    );
  }
  const conv = new Converter(doc, limits.maxDepth ?? MAX_VALUE_DEPTH, limits.maxNodes ?? DEFAULT_MAX_NODES);
  const value = doc.contents === null ? null : conv.value(doc.contents as Node, 0);
  if (value === null) return newMap();
  if (!isTable(value)) {
    const kind = Array.isArray(value)
      ? 'array'
      : typeof value === 'string'
        ? 'string'
        : typeof value === 'boolean'
          ? 'bool'
          : 'number';
    throw new ConvertError(
      `error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`,
    );
  }
  return value;
}

const BINARY_TAG = 'tag:yaml.org,2002:binary';
const STR_TAG = 'tag:yaml.org,2002:str';
const TYPED_TAGS: Record<string, 'int' | 'float' | 'bool' | 'null'> = {
  'tag:yaml.org,2002:int': 'int',
  'tag:yaml.org,2002:float': 'float',
  'tag:yaml.org,2002:bool': 'bool',
  'tag:yaml.org,2002:null': 'null',
};

const utf8 = new TextDecoder('utf-8');

/** A key as go-yaml v2 types it, before sigs.k8s.io/yaml turns it into a JSON key. */
type GoKey = { kind: 'str'; value: string } | { kind: 'other'; text: string | undefined };

class Converter {
  private nodes = 0;
  constructor(
    private readonly doc: Document.Parsed,
    private readonly maxDepth: number,
    private readonly maxNodes: number,
  ) {}

  private count(depth: number): void {
    if (++this.nodes > this.maxNodes) {
      fail('SIZE_LIMIT_EXCEEDED', `values document expands to more than ${this.maxNodes} nodes (aliases)`);
    }
    if (depth > this.maxDepth)
      fail('DEPTH_LIMIT_EXCEEDED', `values nested deeper than ${this.maxDepth} levels`);
  }

  private deref(node: unknown, seen = 0): unknown {
    let n = node;
    while (isAlias(n)) {
      const target = (n as Alias).resolve(this.doc);
      if (target === undefined)
        throw new ConvertError(
          `error converting YAML to JSON: yaml: unknown anchor '${(n as Alias).source}' referenced`,
        );
      n = target;
      if (++seen > 64) throw new ConvertError('yaml: anchor cycle');
    }
    return n;
  }

  value(node: unknown, depth: number): GoValue {
    this.count(depth);
    const n = this.deref(node);
    if (n === null || n === undefined) return null;
    if (isScalar(n)) return this.scalar(n);
    if (isSeq(n)) return n.items.map((item) => this.value(item, depth + 1));
    if (isMap(n)) {
      const out = newMap();
      this.fillMap(out, n.items as Pair[], depth);
      return out;
    }
    return null;
  }

  /** go-yaml v2 `d.mapping` into a map: entries in order, `<<` merges in place. */
  private fillMap(out: Values, items: Pair[], depth: number): void {
    for (const pair of items) {
      const keyNode = this.deref(pair.key);
      if (isScalar(keyNode) && keyNode.type === 'PLAIN' && keyNode.source === '<<' && !keyNode.tag) {
        this.merge(out, pair.value, depth);
        continue;
      }
      const key = this.key(keyNode, depth);
      const value = this.value(pair.value, depth + 1);
      if (key.kind === 'str') {
        setKey(out, key.value, value);
        continue;
      }
      if (key.text === undefined) {
        throw new ConvertError(
          `error converting YAML to JSON: unsupported map key of type: %!s(<nil>), key: <nil>, value: ${goSyntax(value)}`,
        );
      }
      setKey(out, key.text, value);
    }
  }

  /** go-yaml v2 `d.merge`: a mapping, or a sequence of mappings (earlier ones win). */
  private merge(out: Values, node: unknown, depth: number): void {
    const n = this.deref(node);
    const bad = () =>
      new ConvertError(
        'error converting YAML to JSON: yaml: map merge requires map or sequence of maps as the value',
      );
    if (isMap(n)) {
      this.fillMap(out, n.items as Pair[], depth + 1);
      return;
    }
    if (isSeq(n)) {
      for (let i = n.items.length - 1; i >= 0; i--) {
        const item = this.deref(n.items[i]);
        if (!isMap(item)) throw bad();
        this.fillMap(out, item.items as Pair[], depth + 1);
      }
      return;
    }
    throw bad();
  }

  private key(node: unknown, depth: number): GoKey {
    if (node === null || node === undefined) return { kind: 'other', text: undefined };
    if (isScalar(node)) {
      const v = this.scalar(node as Scalar);
      if (typeof v === 'string') return { kind: 'str', value: v };
      if (v === null) return { kind: 'other', text: undefined };
      if (typeof v === 'boolean') return { kind: 'other', text: v ? 'true' : 'false' };
      // numbers: go-yaml kept the int/float distinction; re-resolve to format like sigs.k8s.io
      const source = String((node as Scalar).source ?? '');
      const resolved = resolveGoScalar(source);
      if (resolved.kind === 'int' || resolved.kind === 'float') {
        return { kind: 'other', text: goKeyToString(resolved) };
      }
      return { kind: 'other', text: typeof v === 'number' ? String(v) : String(v) };
    }
    const v = this.value(node, depth + 1);
    throw new ConvertError(`error converting YAML to JSON: yaml: invalid map key: ${goSyntax(v)}`);
  }

  private scalar(node: Scalar): GoValue {
    const source = typeof node.source === 'string' ? node.source : String(node.value ?? '');
    const tag = node.tag;
    if (tag === BINARY_TAG) {
      const bytes = Buffer.from(source.replace(/\s+/g, ''), 'base64');
      return utf8.decode(bytes);
    }
    if (tag === STR_TAG) return source;
    const typed = tag === undefined ? undefined : TYPED_TAGS[tag];
    if (typed !== undefined) {
      const r = resolveGoScalar(source);
      const want = typed;
      const ok = r.kind === want || (want === 'float' && r.kind === 'int');
      if (!ok) {
        throw new ConvertError(
          `error converting YAML to JSON: yaml: cannot decode !!${r.kind === 'timestamp' ? 'timestamp' : r.kind} \`${source}\` as a !!${want}`,
        );
      }
      return this.typed(r);
    }
    if (node.type !== 'PLAIN' || (tag !== undefined && tag !== '!')) return source;
    if (tag === '!') return source;
    return this.typed(resolveGoScalar(source));
  }

  private typed(r: ReturnType<typeof resolveGoScalar>): GoValue {
    switch (r.kind) {
      case 'null':
        return null;
      case 'bool':
        return r.value;
      case 'int':
        return Number(r.value);
      case 'float':
        if (Number.isNaN(r.value))
          throw new ConvertError('error converting YAML to JSON: json: unsupported value: NaN');
        if (r.value === Number.POSITIVE_INFINITY) {
          throw new ConvertError('error converting YAML to JSON: json: unsupported value: +Inf');
        }
        if (r.value === Number.NEGATIVE_INFINITY) {
          throw new ConvertError('error converting YAML to JSON: json: unsupported value: -Inf');
        }
        return r.value;
      default:
        return r.value;
    }
  }
}

/** Go's `%#v` of a decoded value (approximation used in conversion errors). */
function goSyntax(v: GoValue): string {
  if (v === null) return '<nil>';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[]interface {}{${v.map(goSyntax).join(', ')}}`;
  if (isTable(v)) {
    return `map[interface {}]interface {}{${Object.keys(v)
      .map((k) => `${JSON.stringify(k)}:${goSyntax(v[k] as GoValue)}`)
      .join(', ')}}`;
  }
  return '?';
}
