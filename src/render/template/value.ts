/**
 * The Go value model of the template engine (see docs/rendering.md).
 *
 * float64 → number, int → bigint (64-bit), string → string, bool → boolean,
 * nil → null, map[string]interface{} → plain object (read with Object.hasOwn),
 * []interface{} → array, []byte → Uint8Array, structs → {@link GoStruct}.
 * {@link MISSING} stands for Go's invalid `reflect.Value` (what a missing map key
 * yields with `missingkey=default`, and what a nil interface becomes after a pipeline).
 */
import { mapTypeName } from './methods.js';

/** Go's invalid reflect.Value: "no value". Never stored inside maps or slices. @public */
export const MISSING: unique symbol = Symbol.for('chartproof.template.missing');
/** Type of {@link MISSING}. @public */
export type Missing = typeof MISSING;

/** A Go map[string]interface{}. Keys are own properties; never rely on the prototype. @public */
export interface GoMap {
  [key: string]: GoValue;
}

/** A value flowing through templates. @public */
export type GoValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | GoValue[]
  | GoMap
  | Uint8Array
  | GoStruct
  | GoFunc
  | Missing;

/**
 * Parameter type of a template function, following Go's assignability rules:
 * `any` = interface{}, `value` = reflect.Value (receives {@link MISSING} unchanged),
 * `map` = map[string]interface{}, `slice` = []interface{}, `bytes` = []byte.
 * An object form lets a function report a Go type name in errors
 * (e.g. `{ kind: 'map', name: 'chartutil.Values' }`).
 * @public
 */
export type GoParamKind =
  | 'any'
  | 'value'
  | 'string'
  | 'int'
  | 'int64'
  | 'float64'
  | 'bool'
  | 'map'
  | 'slice'
  | 'bytes';
/** @public */
export type GoParam = GoParamKind | { readonly kind: GoParamKind; readonly name: string };

/**
 * A function callable from templates. `call` receives the converted arguments and
 * the execution context; it returns a Go value or throws (an `Error` whose message
 * Go would have returned, e.g. `required` → "error calling required: <msg>").
 * @public
 */
export interface GoFunc {
  /** Fixed parameters. */
  readonly params: readonly GoParam[];
  /** Element type of a trailing variadic parameter (`...T`), if any. */
  readonly variadic?: GoParam;
  readonly call: (args: GoValue[], ctx: import('./context.js').FuncContext) => GoValue;
}

/** Function table: name → function. Names must be Go identifiers. @public */
export type FuncMap = Readonly<Record<string, GoFunc>>;

/** Convenience constructor for {@link GoFunc}. @public */
export function goFunc(params: readonly GoParam[], call: GoFunc['call'], variadic?: GoParam): GoFunc {
  return variadic === undefined ? { params, call } : { params, variadic, call };
}

/**
 * A Go struct (or pointer to struct) exposed to templates: `.Release`, `.Chart`,
 * `.Capabilities`, `.Files`… Fields are read-only values; methods are {@link GoFunc}s
 * (called with the method's arguments, e.g. `.Files.Get "x"`).
 * @public
 */
export class GoStruct {
  readonly #fields: Map<string, GoValue>;
  readonly #methods: Map<string, GoFunc>;
  /**
   * @param typeName - Go type as printed by `%T` and in errors, e.g. `*chart.Metadata`.
   * @param fields - exported fields in declaration order (the order `%v` prints them).
   * @param methods - exported methods.
   * @param stringer - when set, the type implements fmt.Stringer (used by print).
   */
  constructor(
    readonly typeName: string,
    fields: Iterable<readonly [string, GoValue]> = [],
    methods: Iterable<readonly [string, GoFunc]> = [],
    readonly stringer?: () => string,
  ) {
    this.#fields = new Map(fields);
    this.#methods = new Map(methods);
  }
  /** Field value, or `undefined` when the struct has no such field. */
  field(name: string): GoValue | undefined {
    return this.#fields.get(name);
  }
  method(name: string): GoFunc | undefined {
    return this.#methods.get(name);
  }
  fieldNames(): string[] {
    return [...this.#fields.keys()];
  }
}

/** A GoFunc is a plain object with a `call` function and a `params` array (data never holds functions). */
function hasFuncShape(v: object): boolean {
  return (
    typeof (v as { call?: unknown }).call === 'function' && Array.isArray((v as { params?: unknown }).params)
  );
}

export function isGoFunc(v: unknown): v is GoFunc {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto !== null && proto !== Array.prototype && !(v instanceof GoStruct) && hasFuncShape(v);
}

/** True for a Go map (a plain JS object that is not a struct/function/bytes). @public */
export function isGoMap(v: unknown): v is GoMap {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  if (proto === null) return true;
  return proto === Object.prototype && !hasFuncShape(v);
}

/** New empty Go map whose `__proto__` etc. are ordinary keys. @public */
export function newGoMap(): GoMap {
  return Object.create(null) as GoMap;
}

/** Own-property lookup; `undefined` when absent. @public */
export function mapGet(m: GoMap, key: string): GoValue | undefined {
  return Object.hasOwn(m, key) ? m[key] : undefined;
}

/** Sets a key as an own data property (safe for `__proto__`). @public */
export function mapSet(m: GoMap, key: string, value: GoValue): void {
  Object.defineProperty(m, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Keys in Go's (fmtsort) order: byte-wise string order. */
export function sortedKeys(m: GoMap): string[] {
  return Object.keys(m).sort(compareGoStrings);
}

/** Compares strings by UTF-8 bytes (Go's string order = code point order). */
export function compareGoStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates encode code points above every other UTF-16 unit.
    x = x >= 0xd800 && x < 0xe000 ? x + 0x2000 : x >= 0xe000 ? x - 0x800 : x;
    y = y >= 0xd800 && y < 0xe000 ? y + 0x2000 : y >= 0xe000 ? y - 0x800 : y;
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}

/** Go type name (as `%T` prints it) of a value. @public */
export function typeName(v: GoValue): string {
  if (v === MISSING || v === null) return '<nil>';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return 'float64';
    case 'bigint':
      return 'int';
    case 'string':
      return 'string';
  }
  if (Array.isArray(v)) return mapTypeName(v as unknown as GoMap) ?? '[]interface {}';
  if (v instanceof Uint8Array) return '[]uint8';
  if (v instanceof GoStruct) return v.typeName;
  if (isGoFunc(v)) return 'func(...)';
  return mapTypeName(v) ?? 'map[string]interface {}';
}

/** reflect.Kind-like classification. */
export type GoKind =
  | 'invalid'
  | 'nil'
  | 'bool'
  | 'int'
  | 'float'
  | 'string'
  | 'slice'
  | 'map'
  | 'struct'
  | 'func'
  | 'bytes';

export function kindOf(v: GoValue): GoKind {
  if (v === MISSING) return 'invalid';
  if (v === null) return 'nil';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'string';
  }
  if (Array.isArray(v)) return 'slice';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof GoStruct) return 'struct';
  if (isGoFunc(v)) return 'func';
  return 'map';
}

const encoder = new TextEncoder();

/** Length in bytes of the UTF-8 encoding (Go's len of a string). */
export function byteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * Go's truth (text/template isTrue). Structs are always true; empty
 * strings/slices/maps, zero numbers, nil and missing are false.
 * @public
 */
export function isTrue(v: GoValue): boolean {
  if (v === MISSING || v === null) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return v !== 0;
    case 'bigint':
      return v !== 0n;
    case 'string':
      return v.length > 0;
  }
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Uint8Array) return v.length > 0;
  if (v instanceof GoStruct) return true;
  if (isGoFunc(v)) return true;
  return Object.keys(v).length > 0;
}

/** Wraps to a Go int64. */
export function toInt64(x: bigint): bigint {
  return BigInt.asIntN(64, x);
}
