/**
 * Helm's YAML/JSON template functions (pkg/engine/funcs.go): `toYaml` is
 * sigs.k8s.io/yaml.Marshal (json.Marshal, then yaml.v2 re-typing of the JSON and the
 * yaml.v2 emitter in src/chart/go-yaml.ts), `fromYaml` is sigs.k8s.io/yaml.Unmarshal
 * (YAML → JSON → json.Unmarshal, so every number becomes float64).
 * @internal
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type Node, Scalar } from 'yaml';
import { goKeyToString, resolveGoScalar } from '../../chart/go-scalar.js';
import { compareYamlKeys, marshalGoYaml } from '../../chart/go-yaml.js';
import { parseAllYamlDocumentsBounded } from '../../internal/bounded-parse.js';
import { MAX_VALUE_DEPTH } from '../values/go.js';
import { RenderLimitError } from '../template/errors.js';
import { formatFloat } from '../template/fmt.js';
import { type FuncMap, type GoMap, type GoValue, goFunc, mapSet, newGoMap } from '../template/value.js';
import { goJsonMarshal, goJsonParse, JsonSyntaxError, jsonKindName } from './json.js';

const A = 'any' as const;
const S = 'string' as const;

const MAX_NODES = 1_000_000;

/** A value for the yaml.v2 emitter; numbers that must be written verbatim become placeholders. */
type Emittable = null | boolean | number | string | Emittable[] | { [k: string]: Emittable };

class Verbatim {
  readonly values: string[] = [];
  readonly nonce = Math.random().toString(36).slice(2, 10);
  add(text: string): string {
    this.values.push(text);
    return `\u0000V${this.nonce}_${this.values.length - 1}\u0000`;
  }
  restore(out: string): string {
    if (this.values.length === 0) return out;
    const re = new RegExp(`"\\\\0V${this.nonce}_(\\d+)\\\\0"`, 'g');
    return out.replace(re, (_, i: string) => this.values[Number(i)]!);
  }
}

/** sigs.k8s.io/yaml JSONToYAML typing: a JSON number token re-read by yaml.v2. */
function yamlNumber(token: string, verbatim: Verbatim): Emittable {
  const r = resolveGoScalar(token);
  if (r.kind === 'int') {
    const v = r.value;
    if (v >= -(2n ** 53n) && v <= 2n ** 53n) return Number(v);
    return verbatim.add(String(v));
  }
  if (r.kind === 'float') {
    // yaml.v2 writes floats with FormatFloat(f, 'g', -1, 64).
    return verbatim.add(formatYamlFloat(r.value));
  }
  return token;
}

function formatYamlFloat(f: number): string {
  if (Number.isNaN(f)) return '.nan';
  if (f === Number.POSITIVE_INFINITY) return '.inf';
  if (f === Number.NEGATIVE_INFINITY) return '-.inf';
  return formatFloat(f, 'g', -1);
}

/** sigs.k8s.io/yaml.Marshal. Throws Go's error text. */
export function goYamlMarshal(v: GoValue): string {
  let json: string;
  try {
    json = goJsonMarshal(v);
  } catch (e) {
    throw new Error(`error marshaling into JSON: ${(e as Error).message}`);
  }
  const verbatim = new Verbatim();
  const obj = foldNel(
    goJsonParse(json, (tok) => yamlNumber(tok, verbatim) as GoValue),
  ) as unknown as Emittable;
  return verbatim.restore(marshalGoYaml(obj));
}

/**
 * yaml.v2 reads the JSON text as YAML: a raw NEL (U+0085, which Go's JSON leaves
 * unescaped) is a line break inside a double-quoted scalar and folds like one (one
 * break → a space, n breaks → n-1 newlines, surrounding blanks dropped).
 */
function foldNel(v: GoValue): GoValue {
  if (typeof v === 'string') {
    if (!v.includes('\u0085')) return v;
    return v.replace(/[ \t]*\u0085(?:[ \t]*\u0085)*[ \t]*/g, (m) => {
      const n = m.split('\u0085').length - 1;
      return n === 1 ? ' ' : '\n'.repeat(n - 1);
    });
  }
  if (Array.isArray(v)) return v.map(foldNel);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const m = newGoMap();
    for (const k of Object.keys(v)) mapSet(m, foldNel(k) as string, foldNel((v as GoMap)[k]!));
    return m;
  }
  return v;
}

// ---------------------------------------------------------------- toYamlPretty (yaml.v3, indent 2)

function v3Scalar(v: GoValue, verbatim: Verbatim): Emittable {
  if (typeof v === 'bigint') return verbatim.add(String(v));
  if (typeof v === 'number') return verbatim.add(formatYamlFloat(v));
  return v as Emittable;
}

/** goyaml.v3 Encoder with SetIndent(2), over Go values (not via JSON). */
export function goYamlPrettyMarshal(v: GoValue): string {
  const verbatim = new Verbatim();
  const lines: string[] = [];
  let count = 0;
  const scalarText = (x: GoValue, indent: number): string => {
    const t = marshalGoYaml(v3Scalar(x, verbatim)).replace(/\n$/, '');
    return verbatim.restore(t).replace(/\n/g, `\n${' '.repeat(indent)}`);
  };
  const isCollection = (x: GoValue): x is GoValue[] | GoMap =>
    x !== null &&
    typeof x === 'object' &&
    !(x instanceof Uint8Array) &&
    ('length' in x ? true : isPlainMap(x));
  const emit = (x: GoValue, indent: number, prefix: string): void => {
    if (++count > MAX_NODES) throw new RenderLimitError('maxFunctionOutput', 'toYamlPretty: value too large');
    const pad = ' '.repeat(indent);
    if (Array.isArray(x)) {
      if (x.length === 0) {
        lines.push(`${prefix}[]`);
        return;
      }
      x.forEach((item, i) => {
        const p = i === 0 ? prefix : pad;
        if (isCollection(item) && !isEmptyCollection(item)) emit(item, indent + 2, `${p}- `);
        else lines.push(`${p}- ${inline(item, indent + 2)}`);
      });
      return;
    }
    if (isPlainMap(x)) {
      const keys = Object.keys(x).sort(compareYamlKeys);
      if (keys.length === 0) {
        lines.push(`${prefix}{}`);
        return;
      }
      keys.forEach((k, i) => {
        const p = i === 0 ? prefix : pad;
        const key = scalarText(k, indent + 2);
        const val = (x as GoMap)[k]!;
        if (isCollection(val) && !isEmptyCollection(val)) {
          lines.push(`${p}${key}:`);
          emit(val, indent + 2, ' '.repeat(indent + 2));
        } else lines.push(`${p}${key}: ${inline(val, indent + 2)}`);
      });
      return;
    }
    lines.push(`${prefix}${inline(x, indent)}`);
  };
  const inline = (x: GoValue, indent: number): string => {
    if (Array.isArray(x)) return '[]';
    if (isPlainMap(x)) return '{}';
    return scalarText(x, indent);
  };
  emit(v, 0, '');
  return `${lines.join('\n')}\n`;
}

function isPlainMap(x: unknown): x is GoMap {
  if (x === null || typeof x !== 'object' || Array.isArray(x) || x instanceof Uint8Array) return false;
  const p = Object.getPrototypeOf(x);
  return p === null || p === Object.prototype;
}
function isEmptyCollection(x: GoValue[] | GoMap): boolean {
  return Array.isArray(x) ? x.length === 0 : Object.keys(x).length === 0;
}

// ---------------------------------------------------------------- fromYaml

/** The value yaml.v2 decodes a document into, already JSON-shaped (keys as strings). */
function yamlDocToGo(doc: Document): GoValue {
  // Size of the expanded value, computed once per node so alias bombs fail fast.
  const sizes = new Map<unknown, number>();
  const sizeOf = (n: unknown, depth: number): number => {
    if (depth > 10000)
      throw new RenderLimitError('maxFunctionOutput', 'fromYaml: document nested too deeply');
    const known = sizes.get(n);
    if (known !== undefined) return known;
    sizes.set(n, Number.POSITIVE_INFINITY); // cycles count as unbounded
    let size = 1;
    if (isAlias(n)) size = sizeOf(n.resolve(doc), depth + 1);
    else if (isSeq(n)) for (const i of n.items) size += sizeOf(i, depth + 1);
    else if (isMap(n)) for (const p of n.items) size += sizeOf(p.key, depth + 1) + sizeOf(p.value, depth + 1);
    sizes.set(n, size);
    return size;
  };
  if (sizeOf(doc.contents, 0) > MAX_NODES) {
    throw new RenderLimitError('maxFunctionOutput', 'fromYaml: document too large after alias expansion');
  }
  let nodes = 0;
  const seen = new Set<Node>();
  const conv = (n: unknown): GoValue => {
    if (++nodes > MAX_NODES)
      throw new RenderLimitError('maxFunctionOutput', 'fromYaml: document too large (aliases?)');
    if (n === null || n === undefined) return null;
    if (isAlias(n)) {
      const target = n.resolve(doc);
      if (!target) throw new Error(`unknown anchor '${n.source}' referenced`);
      if (seen.has(target)) throw new Error('anchor cycle');
      seen.add(target);
      try {
        return conv(target);
      } finally {
        seen.delete(target);
      }
    }
    if (isScalar(n)) return scalar(n);
    if (isSeq(n)) return n.items.map((i) => conv(i));
    if (isMap(n)) {
      const m = newGoMap();
      for (const pair of n.items) {
        const keyNode = pair.key as Node | null;
        if (isScalar(keyNode) && keyNode.type === Scalar.PLAIN && keyNode.source === '<<' && !keyNode.tag) {
          const v = conv(pair.value);
          const sources = Array.isArray(v) ? v : [v];
          for (const src of sources) {
            if (src === null || typeof src !== 'object' || Array.isArray(src)) {
              throw new Error('map merge requires map or sequence of maps as the value');
            }
            for (const k of Object.keys(src)) mapSet(m, k, (src as GoMap)[k]!);
          }
          continue;
        }
        const k = keyString(keyNode);
        mapSet(m, k, conv(pair.value));
      }
      return m;
    }
    return null;
  };
  const keyString = (k: Node | null): string => {
    if (k === null) return 'null';
    if (isScalar(k)) {
      if (k.type !== Scalar.PLAIN || k.tag === 'tag:yaml.org,2002:str') return String(k.source ?? k.value);
      const r = resolveGoScalar(String(k.source ?? k.value));
      const s = goKeyToString(r);
      return s ?? 'null';
    }
    if (isAlias(k)) return keyString(k.resolve(doc) ?? null);
    throw new Error('invalid map key');
  };
  const scalar = (s: Scalar): GoValue => {
    const text = String(s.source ?? s.value ?? '');
    if (s.type !== Scalar.PLAIN || s.tag === 'tag:yaml.org,2002:str') return text;
    const r = resolveGoScalar(text);
    switch (r.kind) {
      case 'null':
        return null;
      case 'bool':
        return r.value;
      case 'int':
        return Number(r.value);
      case 'float':
        if (!Number.isFinite(r.value))
          throw new Error(`json: unsupported value: ${formatFloat(r.value, 'g', -1)}`);
        return r.value;
      default:
        return r.value;
    }
  };
  return conv(doc.contents);
}

/** sigs.k8s.io/yaml.Unmarshal into interface{} (throws Go-style error text). */
export function goYamlUnmarshal(text: string): GoValue {
  let value: GoValue;
  try {
    // Nesting bounded before parsing (the scan may count up to twice the real depth).
    const docs = parseAllYamlDocumentsBounded(
      text,
      { schema: 'failsafe', uniqueKeys: false },
      { what: 'the document', maxDepth: 2 * MAX_VALUE_DEPTH + 2, maxNodes: 2_000_000 },
    );
    const list = Array.isArray(docs) ? docs : [docs];
    const doc = list[0];
    if (!doc) return null;
    const err = doc.errors[0];
    if (err) throw new Error(`yaml: ${err.message.split('\n')[0]}`);
    value = yamlDocToGo(doc as Document);
  } catch (e) {
    if (e instanceof RenderLimitError) throw e;
    throw new Error(`error converting YAML to JSON: ${(e as Error).message}`);
  }
  return value;
}

function typeError(v: GoValue, target: string): string {
  return `error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKindName(v)} into Go value of type ${target}`;
}

/** Helm fromYaml: a map, with "Error" set on failure. */
export function fromYaml(text: string): GoMap {
  const m = newGoMap();
  try {
    const v = goYamlUnmarshal(text);
    if (v === null) return m;
    if (typeof v !== 'object' || Array.isArray(v)) {
      mapSet(m, 'Error', typeError(v, 'map[string]interface {}'));
      return m;
    }
    return v as GoMap;
  } catch (e) {
    if (e instanceof RenderLimitError) throw e;
    mapSet(m, 'Error', (e as Error).message);
    return m;
  }
}

/** Helm fromYamlArray: a list, or [error] on failure. */
export function fromYamlArray(text: string): GoValue[] {
  try {
    const v = goYamlUnmarshal(text);
    if (v === null) return [];
    if (!Array.isArray(v)) return [typeError(v, '[]interface {}')];
    return v;
  } catch (e) {
    if (e instanceof RenderLimitError) throw e;
    return [(e as Error).message];
  }
}

/** json.Unmarshal into a map / slice as Helm's fromJson / fromJsonArray do. */
function jsonInto(text: string, kind: 'map' | 'slice'): GoValue {
  const target = kind === 'map' ? 'map[string]interface {}' : '[]interface {}';
  try {
    const v = goJsonParse(text);
    if (v === null) return kind === 'map' ? newGoMap() : [];
    const ok = kind === 'map' ? typeof v === 'object' && !Array.isArray(v) : Array.isArray(v);
    if (ok) return v;
    const msg = `json: cannot unmarshal ${jsonKindName(v)} into Go value of type ${target}`;
    return kind === 'map' ? errMap(msg) : [msg];
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    return kind === 'map' ? errMap(e.message) : [e.message];
  }
}
function errMap(msg: string): GoMap {
  const m = newGoMap();
  mapSet(m, 'Error', msg);
  return m;
}

export function yamlJsonFuncs(): FuncMap {
  const toYaml = goFunc([A], ([v]) => {
    try {
      return goYamlMarshal(v!).replace(/\n$/, '');
    } catch (e) {
      if (e instanceof RenderLimitError) throw e;
      return '';
    }
  });
  const safe = (f: () => string): string => {
    try {
      return f();
    } catch (e) {
      if (e instanceof RenderLimitError) throw e;
      return '';
    }
  };
  return {
    toYaml,
    mustToYaml: goFunc([A], ([v]) => goYamlMarshal(v!).replace(/\n$/, '')),
    toYamlPretty: goFunc([A], ([v]) => safe(() => goYamlPrettyMarshal(v!).replace(/\n$/, ''))),
    fromYaml: goFunc([S], ([s]) => fromYaml(s as string)),
    fromYamlArray: goFunc([S], ([s]) => fromYamlArray(s as string)),
    // Helm's toJson/mustToJson/fromJson/fromJsonArray override sprig's.
    toJson: goFunc([A], ([v]) => safe(() => goJsonMarshal(v!))),
    mustToJson: goFunc([A], ([v]) => goJsonMarshal(v!)),
    fromJson: goFunc([S], ([s]) => jsonInto(s as string, 'map')),
    fromJsonArray: goFunc([S], ([s]) => jsonInto(s as string, 'slice')),
  };
}

/** Sprig's JSON functions that Helm does not override. */
export function sprigJsonFuncs(): FuncMap {
  const safe = (f: () => GoValue): GoValue => {
    try {
      return f();
    } catch (e) {
      if (e instanceof RenderLimitError) throw e;
      return e instanceof JsonSyntaxError ? null : '';
    }
  };
  return {
    // sprig's own versions (Helm replaces toJson/fromJson/mustToJson; kept for sprigFuncs()).
    fromJson: goFunc([S], ([s]) => safe(() => goJsonParse(s as string))),
    toJson: goFunc([A], ([v]) => safe(() => goJsonMarshal(v!))),
    mustToJson: goFunc([A], ([v]) => goJsonMarshal(v!)),
    mustFromJson: goFunc([S], ([s]) => goJsonParse(s as string)),
    toPrettyJson: goFunc([A], ([v]) => safe(() => goJsonMarshal(v!, { indent: '  ' }))),
    mustToPrettyJson: goFunc([A], ([v]) => goJsonMarshal(v!, { indent: '  ' })),
    toRawJson: goFunc([A], ([v]) => goJsonMarshal(v!, { escapeHTML: false })),
    mustToRawJson: goFunc([A], ([v]) => goJsonMarshal(v!, { escapeHTML: false })),
  };
}
