/**
 * Shared helpers for the Sprig/Helm template functions: Go conversions (sprig's
 * `strval`, spf13/cast), Go runtime error texts, byte-oriented string helpers and
 * output bounds.
 * @internal
 */
import { setOwn } from '../../internal/guards.js';
import { RenderLimitError } from '../template/errors.js';
import { sprint } from '../template/fmt.js';
import { withMethods } from '../template/methods.js';
import {
  typeName,
  type GoMap,
  GoStruct,
  type GoValue,
  isGoFunc,
  isGoMap,
  MISSING,
  newGoMap,
  utf8,
} from '../template/value.js';

/** Largest string (UTF-16 units) a function may build. */
export const MAX_STRING = 64 * 1024 * 1024;
/** Largest list a function may build. */
export const MAX_LIST = 4 * 1024 * 1024;

export function checkStringSize(n: number, fn: string): void {
  if (n > MAX_STRING)
    throw new RenderLimitError('maxFunctionOutput', `${fn}: result larger than ${MAX_STRING} characters`);
}
export function checkListSize(n: number, fn: string): void {
  if (n > MAX_LIST)
    throw new RenderLimitError('maxFunctionOutput', `${fn}: result longer than ${MAX_LIST} elements`);
}

const decoder = new TextDecoder();
export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

/** Go nil interface (MISSING is treated as nil when passed as interface{}). */
export function isNil(v: GoValue | undefined): boolean {
  return v === null || v === MISSING || v === undefined;
}

/** sprig `strval`: string, []byte, Stringer, otherwise `%v`. */
export function strval(v: GoValue): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return fromUtf8(v);
  if (v instanceof GoStruct && v.stringer) return v.stringer();
  return sprint([v === MISSING ? null : v]);
}

/** Go's `int64(f)` conversion of a float64 (amd64: out of range → MinInt64). */
export function floatToInt64(f: number): bigint {
  const limit = 2 ** 63;
  if (!Number.isFinite(f) || f >= limit || f < -limit) return -9223372036854775808n;
  return BigInt(Math.trunc(f));
}

function lower(c: string): string {
  return c.toLowerCase();
}

/** strconv's `underscoreOK`. */
function underscoreOK(s0: string): boolean {
  let s = s0;
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes(lower(s[1]!))) {
    i = 2;
    saw = '0';
    hex = lower(s[1]!) === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/**
 * strconv.ParseInt(s, base, 64). Returns the value or an error kind.
 */
export function parseGoInt(s0: string, base0 = 0): bigint | 'syntax' | 'range' {
  if (s0 === '') return 'syntax';
  let s = s0;
  let neg = false;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  let base = base0;
  let allowUnderscore = false;
  if (base === 0) {
    allowUnderscore = true;
    base = 10;
    if (s[0] === '0') {
      if (s.length >= 3 && lower(s[1]!) === 'b') {
        base = 2;
        s = s.slice(2);
      } else if (s.length >= 3 && lower(s[1]!) === 'o') {
        base = 8;
        s = s.slice(2);
      } else if (s.length >= 3 && lower(s[1]!) === 'x') {
        base = 16;
        s = s.slice(2);
      } else {
        base = 8;
        s = s.slice(1);
      }
    }
  }
  if (s === '' && !(base0 === 0 && base === 8)) return 'syntax';
  let n = 0n;
  let underscores = false;
  const b = BigInt(base);
  for (const c of s) {
    if (c === '_' && allowUnderscore) {
      underscores = true;
      continue;
    }
    let d: number;
    if (c >= '0' && c <= '9') d = c.charCodeAt(0) - 48;
    else if (lower(c) >= 'a' && lower(c) <= 'z') d = lower(c).charCodeAt(0) - 87;
    else return 'syntax';
    if (d >= base) return 'syntax';
    n = n * b + BigInt(d);
  }
  if (underscores && !underscoreOK(s0)) return 'syntax';
  if (neg) n = -n;
  if (n > 9223372036854775807n || n < -9223372036854775808n) return 'range';
  return n;
}

const FLOAT_DEC = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const FLOAT_HEX = /^[+-]?0[xX](?:_?[0-9a-fA-F])*(?:\.[0-9a-fA-F]*)?[pP][+-]?\d+$/;

/** strconv.ParseFloat(s, 64); `undefined` on a syntax error (range errors give ±Inf). */
export function parseGoFloat(s: string): number | undefined {
  const l = s.toLowerCase();
  const body = l[0] === '+' || l[0] === '-' ? l.slice(1) : l;
  const sign = l[0] === '-' ? -1 : 1;
  if (body === 'inf' || body === 'infinity') return sign * Number.POSITIVE_INFINITY;
  if (body === 'nan') return Number.NaN;
  if (FLOAT_DEC.test(s)) {
    if (s.includes('_') && !underscoreOK(s)) return undefined;
    return Number(s.replace(/_/g, ''));
  }
  if (FLOAT_HEX.test(s)) {
    if (s.includes('_') && !underscoreOK(s)) return undefined;
    const t = s.replace(/_/g, '');
    const m = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(t);
    if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
    const mant = BigInt(`0x${m[2]}${m[3] ?? ''}`.replace(/^0x$/, '0x0'));
    const exp = Number(m[4]) - 4 * (m[3] ?? '').length;
    const v = Number(mant) * 2 ** exp;
    return m[1] === '-' ? -v : v;
  }
  return undefined;
}

/** spf13/cast `trimZeroDecimal`. */
function trimZeroDecimal(s: string): string {
  let foundZero = false;
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1];
    if (c === '.') {
      if (foundZero) return s.slice(0, i - 1);
    } else if (c === '0') foundZero = true;
    else return s;
  }
  return s;
}

/** spf13/cast.ToInt64 (errors → 0). `cast.ToInt` is the same on 64-bit platforms. */
export function castToInt64(v: GoValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return floatToInt64(v);
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') {
    const r = parseGoInt(trimZeroDecimal(v), 0);
    return typeof r === 'bigint' ? r : 0n;
  }
  return 0n;
}

/** spf13/cast.ToFloat64 (errors → 0). */
export function castToFloat64(v: GoValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return parseGoFloat(v) ?? 0;
  return 0;
}

/** Go's reflect Kind name of a value (`reflect.ValueOf(v).Kind().String()`). */
export function reflectKind(v: GoValue): string {
  if (v === null || v === MISSING) return 'invalid';
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
  if (Array.isArray(v) || v instanceof Uint8Array) return 'slice';
  if (v instanceof GoStruct) return v.typeName.startsWith('*') ? 'ptr' : 'struct';
  if (isGoFunc(v)) return 'func';
  return 'map';
}

/** Elements of a Go slice/array value, or undefined for other kinds. */
export function sliceElems(v: GoValue): GoValue[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof Uint8Array) return Array.from(v, (b) => BigInt(b));
  return undefined;
}

/**
 * The panic Go raises for `reflect.TypeOf(nil).Kind()` (sprig list functions
 * called with nil).
 */
export const NIL_DEREF = 'runtime error: invalid memory address or nil pointer dereference';

/** Throws Go's text for a failed type assertion `x.(map[string]interface{})`. */
export function assertMap(v: GoValue): GoMap {
  // A named map type (Helm's top-level `.Values` is `common.Values`) fails the
  // assertion in Go too.
  if (isGoMap(v) && typeName(v) === 'map[string]interface {}') return v;
  const t = v === null || v === MISSING ? 'nil' : typeName(v);
  throw new Error(`interface conversion: interface {} is ${t}, not map[string]interface {}`);
}

export function assertString(v: GoValue): string {
  if (typeof v === 'string') return v;
  const t = v === null || v === MISSING ? 'nil' : goTypeName(v);
  throw new Error(`interface conversion: interface {} is ${t}, not string`);
}

/** `%T` of a value (the engine's typeName, which honours Go type tags). */
export function goTypeName(v: GoValue): string {
  return typeName(v);
}

const NIL_SLICE: unique symbol = Symbol.for('chartproof.funcs.nilSlice');

/** Marks an empty result as a Go nil slice, which JSON (toJson, toYaml) writes as `null`. */
export function nilSlice<T extends GoValue[]>(v: T): T {
  Object.defineProperty(v, NIL_SLICE, { value: true, enumerable: false });
  return v;
}

/** True for an empty slice marked by {@link nilSlice}. */
export function isNilSlice(v: unknown): boolean {
  return Array.isArray(v) && v.length === 0 && (v as unknown as Record<symbol, unknown>)[NIL_SLICE] === true;
}

/**
 * Tags a result with its Go type (`[]string`, `[]int`, `map[string]string`, …) so
 * `typeOf`/`%T`/`deepEqual` see what Go would; the value stays a plain array/map.
 */
export function typed<T extends GoValue[] | GoMap>(v: T, goType: string): T {
  withMethods(v as unknown as GoMap, goType, {});
  return v;
}

/** Go string slicing `s[a:b]` on UTF-8 bytes, with Go's runtime panic texts. */
export function sliceBytes(s: string, start: number | undefined, end: number | undefined): string {
  const b = utf8(s);
  const len = b.length;
  const lo = start ?? 0;
  const hi = end ?? len;
  if (end !== undefined && (hi < 0 || hi > len)) {
    throw new Error(`runtime error: slice bounds out of range [:${hi}] with length ${len}`);
  }
  if (lo < 0 || lo > hi) {
    throw new Error(`runtime error: slice bounds out of range [${lo}:${hi}]`);
  }
  if (lo === 0 && hi === len) return s;
  return fromUtf8(b.subarray(lo, hi));
}

/** New Go map from entries (keys as own properties). */
export function goMapOf(entries: Iterable<readonly [string, GoValue]>): GoMap {
  const m = newGoMap();
  for (const [k, v] of entries) setOwn(m, k, v);
  return m;
}

/** Number → Go int (bigint) for JS numbers known to be integral. */
export function int(n: number): bigint {
  return BigInt(n);
}

/** Go int argument (already converted by the engine) as a JS number, clamped. */
export function num(v: GoValue): number {
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
    if (v < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
    return Number(v);
  }
  if (typeof v === 'number') return Math.trunc(v);
  return 0;
}

/** unicode.IsSpace. */
export function isSpace(cp: number): boolean {
  if (cp <= 0xff) return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d) || cp === 0x85 || cp === 0xa0;
  return (
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}
