/**
 * `values.schema.json` validation as Helm v4.1.4 does it (`ValidateAgainstSchema`,
 * santhosh-tekuri/jsonschema v6): every chart of the tree against its scoped values,
 * messages in jsonschema v6's wording. Validation is done with ajv; chartproof never
 * loads remote `$ref`s (Helm fetches http(s) and file references).
 */
import type { Ajv, ErrorObject, Options as AjvOptions } from 'ajv';
import type { Ajv2019 } from 'ajv/dist/2019.js';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import { requireDependency } from '../../internal/lazy-require.js';
import type { Chart } from '../../chart/types.js';
import { ChartproofError } from '../../errors.js';
import type { GoValue } from '../template/value.js';
import { fail, formatGoFloatG, getKey, goTypeName, hasKey, isTable, type Values } from './go.js';
import { SCHEMA_FORMATS } from './schema-formats.js';
import { goQuote } from './strvals.js';

/** Bounds of {@link validateSchemas}. @public */
export interface SchemaLimits {
  /** Largest `values.schema.json` accepted, in bytes (default 4 MiB). */
  maxSchemaBytes?: number;
  /** Deepest JSON nesting accepted in a schema (default 256). */
  maxSchemaDepth?: number;
}

const DEFAULT_MAX_SCHEMA = 4 * 1024 * 1024;
const DEFAULT_MAX_SCHEMA_DEPTH = 256;

/** The chart shape {@link validateSchemas} walks (a processed tree). @public */
export interface SchemaChart {
  readonly metadata: { readonly name: string };
  readonly schema?: Uint8Array;
  readonly dependencies: readonly SchemaChart[];
}

/**
 * Helm's `ValidateAgainstSchema` + `ToRenderValues` wrapping: validates `values`
 * against the chart's schema and each subchart's values (`values[<name>]`) against
 * the subchart's schema, recursively.
 *
 * @throws ChartproofError `VALUES_INVALID` with Helm's text:
 *   `values don't meet the specifications of the schema(s) in the following chart(s):\n<chart>:\n- at '/x': got string, want integer\n`.
 * @public
 */
export function validateSchemas(chart: SchemaChart | Chart, values: Values, limits: SchemaLimits = {}): void {
  const text = validateAgainstSchema(chart as SchemaChart, values, limits);
  if (text !== '') {
    fail(
      'VALUES_INVALID',
      `values don't meet the specifications of the schema(s) in the following chart(s):\n${text}`,
    );
  }
}

/** Helm's `ValidateAgainstSchema`: the per-chart error text ('' when valid). @public */
export function validateAgainstSchema(chart: SchemaChart, values: Values, limits: SchemaLimits = {}): string {
  let sb = '';
  if (chart.schema !== undefined) {
    const err = validateAgainstSingleSchema(values, chart.schema, limits);
    if (err !== undefined) sb += `${chart.metadata.name}:\n${err}`;
  }
  for (const sub of chart.dependencies) {
    const name = sub.metadata.name;
    if (!hasKey(values, name)) continue;
    const raw = getKey(values, name);
    if (raw === null || raw === undefined) continue;
    if (!isTable(raw)) {
      sb += `${name}:\ninvalid type for values: expected object (map), got ${goTypeName(raw)}\n`;
      continue;
    }
    sb += validateAgainstSchema(sub, raw, limits);
  }
  return sb;
}

const decoder = new TextDecoder('utf-8');

/** Checks JSON nesting depth before parsing (brackets outside strings). */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

type Draft = 4 | 6 | 7 | 2019 | 2020;

function draftOf(schema: unknown): Draft {
  const s =
    typeof schema === 'object' && schema !== null ? (schema as Record<string, unknown>).$schema : undefined;
  if (typeof s !== 'string') return 2020;
  if (s.includes('draft-04')) return 4;
  if (s.includes('draft-06')) return 6;
  if (s.includes('draft-07')) return 7;
  if (s.includes('2019-09')) return 2019;
  return 2020;
}

/** Rewrites draft-04 idioms ajv's draft-07 validator reads differently (boolean exclusive bounds). */
function fromDraft4(node: unknown, depth = 0): unknown {
  if (depth > DEFAULT_MAX_SCHEMA_DEPTH * 2) return node;
  if (Array.isArray(node)) return node.map((n) => fromDraft4(n, depth + 1));
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  const src = node as Record<string, unknown>;
  for (const k of Object.keys(src)) {
    Object.defineProperty(out, k, {
      value: fromDraft4(src[k], depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof src[flag] === 'boolean') {
      if (src[flag] === true && typeof src[bound] === 'number') {
        out[flag] = src[bound];
        delete out[bound];
      } else delete out[flag];
    }
  }
  if (typeof src.id === 'string' && src.$id === undefined) {
    out.$id = src.id;
    delete out.id;
  }
  return out;
}

/** `$ref` targets using the `urn:` scheme (without fragment). */
function urnRefs(node: unknown, out = new Set<string>(), depth = 0): Set<string> {
  if (depth > DEFAULT_MAX_SCHEMA_DEPTH * 2 || typeof node !== 'object' || node === null) return out;
  if (Array.isArray(node)) {
    for (const n of node) urnRefs(n, out, depth + 1);
    return out;
  }
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('urn:')) out.add(v.split('#')[0] as string);
    else urnRefs(v, out, depth + 1);
  }
  return out;
}

/** Go values → JSON-shaped data for ajv (int64 → number). */
function toJsonData(v: GoValue, depth = 0): unknown {
  if (depth > 2000) return null;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map((x) => toJsonData(x, depth + 1));
  if (isTable(v)) {
    const out = Object.create(null) as Record<string, unknown>;
    for (const k of Object.keys(v)) {
      Object.defineProperty(out, k, {
        value: toJsonData(v[k] as GoValue, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return v;
}

/**
 * Helm's `ValidateAgainstSingleSchema`: undefined when valid, else the error text
 * (jsonschema v6 tree, prefix line removed, trailing newline) or the compile error.
 * @public
 */
export function validateAgainstSingleSchema(
  values: Values,
  schemaBytes: Uint8Array,
  limits: SchemaLimits = {},
): string | undefined {
  const maxBytes = limits.maxSchemaBytes ?? DEFAULT_MAX_SCHEMA;
  if (schemaBytes.length > maxBytes) {
    fail('SIZE_LIMIT_EXCEEDED', `values.schema.json larger than ${maxBytes} bytes`);
  }
  const text = decoder.decode(schemaBytes);
  if (jsonDepth(text) > (limits.maxSchemaDepth ?? DEFAULT_MAX_SCHEMA_DEPTH)) {
    fail('DEPTH_LIMIT_EXCEEDED', 'values.schema.json nested too deeply');
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  const draft = draftOf(schema);
  let root = draft === 4 ? fromDraft4(schema) : schema;
  if (typeof root === 'object' && root !== null && !Array.isArray(root)) {
    root = { ...(root as Record<string, unknown>) };
    delete (root as Record<string, unknown>).$schema;
  }
  const assertFormats = draft <= 7; // jsonschema v6 asserts `format` before draft 2019-09
  const opts: AjvOptions = {
    allErrors: true,
    strict: false,
    logger: false,
    validateSchema: false,
    validateFormats: assertFormats,
    loadSchema: undefined,
    addUsedSchema: false,
    unicodeRegExp: true,
  };
  // ajv is loaded when a chart has a schema (~40 ms), not with the renderer.
  const ajv =
    draft === 2019
      ? new (requireDependency<{ Ajv2019: typeof Ajv2019 }>('ajv/dist/2019.js').Ajv2019)(opts)
      : draft === 2020
        ? new (requireDependency<{ Ajv2020: typeof Ajv2020 }>('ajv/dist/2020.js').Ajv2020)(opts)
        : new (requireDependency<{ Ajv: typeof Ajv }>('ajv').Ajv)(opts);
  if (assertFormats) {
    for (const [name, check] of Object.entries(SCHEMA_FORMATS)) {
      ajv.addFormat(name, { type: 'string', validate: (x: string) => check(x) === undefined });
    }
  }
  // Helm resolves `urn:` references through an SDK hook and otherwise, with a warning,
  // to the permissive schema `true`; chartproof has no hook, so every URN is `true`.
  for (const urn of urnRefs(root)) ajv.addSchema({ $id: urn }, urn);
  let validate: ReturnType<Ajv['compile']>;
  try {
    validate = ajv.compile(root as object);
  } catch (e) {
    if (e instanceof ChartproofError) throw e;
    const msg = (e as Error).message;
    if (/can't resolve reference/.test(msg)) {
      return `jsonschema: remote or unresolvable reference not loaded (chartproof never fetches schema references): ${msg}`;
    }
    return `jsonschema: invalid schema: ${msg}`;
  }
  const data = toJsonData(values);
  if (validate(data)) return undefined;
  return `${formatErrors(validate.errors ?? [], data)}\n`;
}

// ---- error text in jsonschema v6's format ----

interface Node {
  instancePath: string;
  message: string;
  children: Node[];
}

function quote(s: string): string {
  const q = goQuote(s).replaceAll('\\"', '"').replaceAll("'", "\\'");
  return `'${q.slice(1, -1)}'`;
}

function display(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (v === null) return '<nil>';
  if (typeof v === 'number') return formatGoFloatG(v);
  if (typeof v === 'object') return 'value';
  return String(v);
}

function jsonTypeOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

function at(data: unknown, pointer: string): unknown {
  if (pointer === '') return data;
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const tok = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(cur)) cur = cur[Number(tok)];
    else if (typeof cur === 'object' && cur !== null && Object.hasOwn(cur, tok))
      cur = (cur as Record<string, unknown>)[tok];
    else return undefined;
  }
  return cur;
}

/** jsonschema v6 lists wanted types in this order. */
const TYPE_ORDER = ['null', 'boolean', 'number', 'integer', 'string', 'array', 'object'];

function parentSchema(schemaPath: string): string {
  return schemaPath.slice(0, schemaPath.lastIndexOf('/'));
}

/** Keywords whose subschema applies to a child of the instance. */
const DESCENDING = new Set([
  'properties',
  'patternProperties',
  'items',
  'prefixItems',
  'additionalProperties',
  'additionalItems',
  'unevaluatedProperties',
  'unevaluatedItems',
  'contains',
  'dependentSchemas',
]);
const NAMED = new Set(['properties', 'patternProperties', 'prefixItems', 'dependentSchemas']);

/** Instance path where the schema before `rest` (schema path segments) applies. */
function appliedAt(instancePath: string, rest: string[]): string {
  let up = 0;
  for (let i = 0; i < rest.length - 1; i++) {
    const seg = rest[i] as string;
    if (!DESCENDING.has(seg)) continue;
    if (seg === 'dependentSchemas') {
      i++;
      continue;
    }
    up++;
    if (NAMED.has(seg) || (seg === 'items' && /^[0-9]+$/.test(rest[i + 1] ?? ''))) i++;
  }
  const toks = instancePath === '' ? [] : instancePath.split('/').slice(1);
  return toks.length >= up
    ? toks
        .slice(0, toks.length - up)
        .map((t) => `/${t}`)
        .join('')
    : '';
}

function runeLength(s: unknown): number {
  return typeof s === 'string' ? [...s].length : 0;
}

/** One ajv error → v6 message ('' to drop). */
function messageOf(e: ErrorObject, data: unknown): string {
  const p = e.params as Record<string, unknown>;
  // Under propertyNames the instance is the property name (ajv sets `propertyName`).
  const value =
    e.keyword !== 'propertyNames' && typeof e.propertyName === 'string'
      ? e.propertyName
      : at(data, e.instancePath);
  switch (e.keyword) {
    case 'type': {
      const want = Array.isArray(p.type) ? (p.type as string[]) : String(p.type).split(',');
      want.sort((a, b) => TYPE_ORDER.indexOf(a) - TYPE_ORDER.indexOf(b));
      return `got ${jsonTypeOf(value)}, want ${want.join(' or ')}`;
    }
    case 'format': {
      const name = String(p.format);
      const why =
        Object.hasOwn(SCHEMA_FORMATS, name) && typeof value === 'string'
          ? SCHEMA_FORMATS[name]?.(value)
          : undefined;
      return `${display(value)} is not valid ${String(p.format)}: ${why ?? 'invalid'}`;
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]) ?? [];
      if (allowed.some((x) => typeof x === 'object' && x !== null)) return "'enum' failed";
      if (allowed.length === 1) return `value must be ${display(allowed[0])}`;
      return `value must be one of ${allowed.map(display).join(', ')}`;
    }
    case 'const': {
      const want = p.allowedValue;
      if (typeof want === 'object' && want !== null) return "'const' failed";
      return `value must be ${display(want)}`;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
    case 'multipleOf':
      return `${e.keyword}: got ${formatGoFloatG(Number(value))}, want ${formatGoFloatG(Number(p.limit ?? p.multipleOf))}`;
    case 'minLength':
    case 'maxLength':
      return `${e.keyword}: got ${runeLength(value)}, want ${p.limit}`;
    case 'minItems':
    case 'maxItems':
      return `${e.keyword}: got ${Array.isArray(value) ? value.length : 0}, want ${p.limit}`;
    case 'minProperties':
    case 'maxProperties':
      return `${e.keyword}: got ${typeof value === 'object' && value !== null ? Object.keys(value).length : 0}, want ${p.limit}`;
    case 'pattern':
      return `${quote(String(value))} does not match pattern ${quote(String(p.pattern))}`;
    case 'uniqueItems':
      return `items at ${p.j} and ${p.i} are equal`;
    case 'anyOf':
      return "'anyOf' failed";
    case 'oneOf': {
      const passing = p.passingSchemas;
      if (Array.isArray(passing) && passing.length >= 2) {
        return `'oneOf' failed, subschemas ${passing[0]}, ${passing[1]} matched`;
      }
      return "'oneOf' failed, none matched";
    }
    case 'not':
      return "'not' failed";
    case 'false schema':
      return 'false schema';
    case 'propertyNames':
      return `invalid propertyName ${quote(String(p.propertyName))}`;
    case 'contains':
      return 'no items match contains schema';
    case 'additionalItems':
      return `last ${Array.isArray(value) ? value.length - Number(p.limit) : 0} additionalItem(s) not allowed`;
    case 'if':
      return '';
    default:
      return e.message ?? e.keyword;
  }
}

/** Builds jsonschema v6's error tree from ajv's flat list and prints it. */
function formatErrors(errors: ErrorObject[], data: unknown): string {
  // v6 stops at the first failing of type, const, enum for one schema object.
  const stopAt = new Map<string, number>();
  const rank: Record<string, number> = { type: 0, const: 1, enum: 2 };
  for (const e of errors) {
    const r = rank[e.keyword];
    if (r === undefined) continue;
    const key = `${e.instancePath}\u0000${parentSchema(e.schemaPath)}`;
    stopAt.set(key, Math.min(stopAt.get(key) ?? 99, r));
  }
  const kept = errors.filter((e) => {
    const stop = stopAt.get(`${e.instancePath}\u0000${parentSchema(e.schemaPath)}`);
    if (stop === undefined) return true;
    const r = rank[e.keyword];
    return r !== undefined && r === stop;
  });
  // Group required / additionalProperties / dependentRequired per schema object.
  const grouped: { e: ErrorObject; msg: string }[] = [];
  const groups = new Map<string, { e: ErrorObject; names: string[]; kind: string }>();
  for (const e of kept) {
    const p = e.params as Record<string, unknown>;
    if (
      e.keyword === 'required' ||
      e.keyword === 'additionalProperties' ||
      e.keyword === 'unevaluatedProperties'
    ) {
      const kind = e.keyword === 'required' ? 'required' : 'additional';
      const key = `${kind}\u0000${e.instancePath}\u0000${e.schemaPath}`;
      const name = String(p.missingProperty ?? p.additionalProperty ?? p.unevaluatedProperty);
      const g = groups.get(key);
      if (g) g.names.push(name);
      else {
        const ng = { e, names: [name], kind };
        groups.set(key, ng);
        grouped.push({ e, msg: `\u0000${key}` });
      }
      continue;
    }
    if (e.keyword === 'dependencies' || e.keyword === 'dependentRequired') {
      const key = `dep\u0000${e.instancePath}\u0000${e.schemaPath}\u0000${p.property}`;
      const g = groups.get(key);
      if (g) g.names.push(String(p.missingProperty));
      else {
        groups.set(key, { e, names: [String(p.missingProperty)], kind: `dep:${p.property}` });
        grouped.push({ e, msg: `\u0000${key}` });
      }
      continue;
    }
    const msg = messageOf(e, data);
    if (msg !== '') grouped.push({ e, msg });
  }
  const nodes: { e: ErrorObject; node: Node }[] = grouped.map(({ e, msg }) => {
    let message = msg;
    if (msg.startsWith('\u0000')) {
      const g = groups.get(msg.slice(1));
      if (g) {
        const names = g.names.map(quote).join(', ');
        if (g.kind === 'required') {
          message = g.names.length === 1 ? `missing property ${names}` : `missing properties ${names}`;
        } else if (g.kind === 'additional') message = `additional properties ${names} not allowed`;
        else message = `properties ${names} required, if ${quote(g.kind.slice(4))} exists`;
      }
    }
    return { e, node: { instancePath: e.instancePath, message, children: [] } };
  });
  // Rebuild jsonschema v6's tree: anyOf/oneOf/propertyNames own their subschemas'
  // errors, allOf gets a parent node, a $ref'd schema with several errors a group.
  interface Item {
    node: Node;
    schemaPath: string;
    synthetic: boolean;
    members: number;
  }
  const items: Item[] = [];
  const synthetic = new Map<string, Item>();
  const order: Item[] = [];
  const addSynthetic = (schemaPath: string, instancePath: string, message: string): void => {
    const key = `${schemaPath}\u0000${instancePath}`;
    let it = synthetic.get(key);
    if (!it) {
      it = { node: { instancePath, message, children: [] }, schemaPath, synthetic: true, members: 0 };
      synthetic.set(key, it);
      order.push(it);
    }
    it.members++;
  };
  for (const { e, node } of nodes) {
    const segs = e.schemaPath.split('/');
    const ref = /^#\/(\$defs|definitions)\/[^/]+/.exec(e.schemaPath);
    if (ref) {
      const refSegs = ref[0].split('/').length;
      addSynthetic(ref[0], appliedAt(e.instancePath, segs.slice(refSegs)), 'validation failed');
    }
    segs.forEach((seg, i) => {
      if (seg === 'allOf' && i < segs.length - 2) {
        addSynthetic(
          segs.slice(0, i + 1).join('/'),
          appliedAt(e.instancePath, segs.slice(i + 1)),
          "'allOf' failed",
        );
      }
    });
    const it: Item = { node, schemaPath: e.schemaPath, synthetic: false, members: 0 };
    items.push(it);
    order.push(it);
  }
  const owners = [
    ...items.filter((_it, i) => ['anyOf', 'oneOf', 'propertyNames'].includes(nodes[i]?.e.keyword ?? '')),
    ...[...synthetic.values()].filter((it) => it.node.message !== 'validation failed' || it.members > 1),
  ];
  const roots: Node[] = [];
  for (const it of order) {
    if (it.synthetic && !owners.includes(it)) continue;
    let owner: Item | undefined;
    for (const c of owners) {
      if (c === it) continue;
      if (!it.schemaPath.startsWith(`${c.schemaPath}/`)) continue;
      if (!it.node.instancePath.startsWith(c.node.instancePath)) continue;
      if (!owner || c.schemaPath.length > owner.schemaPath.length) owner = c;
    }
    if (owner) owner.node.children.push(it.node);
    else roots.push(it.node);
  }
  const lines: string[] = [];
  const print = (n: Node, indent: number): void => {
    lines.push(`${'  '.repeat(indent)}- at ${quote(n.instancePath)}: ${n.message}`);
    for (const c of n.children) print(c, indent + 1);
  };
  for (const r of roots) print(r, 0);
  return lines.join('\n');
}
