/**
 * Small helpers over the Go value model (docs/rendering.md): maps are null-prototype
 * objects read with `Object.hasOwn`, ints are bigint, floats number, nil null.
 */
import { setOwn } from '../../internal/guards.js';
import { ChartproofError, type ErrorCode } from '../../errors.js';
import type { GoMap, GoValue } from '../template/value.js';

/** A Go `map[string]interface{}` of values (Helm's `common.Values`). @public */
export type Values = GoMap;

/** New empty map whose `__proto__`/`constructor` keys are ordinary keys. */
export function newMap(): Values {
  return Object.create(null) as Values;
}

/** Sets `key` as an own enumerable data property. */
export function setKey(m: Values, key: string, value: GoValue): void {
  setOwn(m, key, value);
}

/** Own-property lookup; `undefined` when absent. */
export function getKey(m: Values, key: string): GoValue | undefined {
  return Object.hasOwn(m, key) ? m[key] : undefined;
}

/** Whether `m` has `key` as an own property. */
export function hasKey(m: Values, key: string): boolean {
  return Object.hasOwn(m, key);
}

/** Deletes an own key. */
export function deleteKey(m: Values, key: string): void {
  if (Object.hasOwn(m, key)) delete m[key];
}

/** Helm's `istable`: a Go map (plain object, not an array, bytes or struct). */
export function isTable(v: unknown): v is Values {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype;
}

/** Shallow copy of a map (Go `maps.Copy` into a new map). */
export function copyMap(src: Values): Values {
  const out = newMap();
  for (const k of Object.keys(src)) setKey(out, k, src[k] as GoValue);
  return out;
}

/** Deep copy of maps and slices (Helm's `copystructure.Copy`); scalars are shared. */
export function deepCopy<T extends GoValue>(v: T, depth = 0): T {
  if (depth > MAX_VALUE_DEPTH) throw depthError();
  if (Array.isArray(v)) return v.map((x) => deepCopy(x, depth + 1)) as T;
  if (v instanceof Uint8Array) return new Uint8Array(v) as T;
  if (isTable(v)) {
    const out = newMap();
    for (const k of Object.keys(v)) setKey(out, k, deepCopy(v[k] as GoValue, depth + 1));
    return out as T;
  }
  return v;
}

/** Converts untrusted plain JS data (e.g. `Chart.values` from the loader) into Go values. @public */
export function toGoValue(v: unknown, depth = 0): GoValue {
  if (depth > MAX_VALUE_DEPTH) throw depthError();
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint')
    return v;
  if (Array.isArray(v)) return v.map((x) => toGoValue(x, depth + 1));
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'object') {
    const out = newMap();
    for (const k of Object.keys(v)) setKey(out, k, toGoValue((v as Record<string, unknown>)[k], depth + 1));
    return out;
  }
  return null;
}

/** Nesting bound of values trees (maps and lists) handled by this module. */
export const MAX_VALUE_DEPTH = 1000;

function depthError(): ChartproofError {
  return new ChartproofError('DEPTH_LIMIT_EXCEEDED', `values nested deeper than ${MAX_VALUE_DEPTH} levels`);
}

/** Throws a ChartproofError with `code` and Helm's message. */
export function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new ChartproofError(code, message, cause === undefined ? {} : { cause });
}

/** Go's `%v` of a value (the subset warnings need: maps `map[k:v]`, slices `[a b]`, nil `<nil>`). */
export function goSprintV(v: GoValue | undefined, depth = 0): string {
  if (v === undefined || v === null) return '<nil>';
  if (depth > 32) return '...';
  switch (typeof v) {
    case 'string':
      return v;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      return formatGoFloatG(v);
  }
  if (Array.isArray(v)) return `[${v.map((x) => goSprintV(x, depth + 1)).join(' ')}]`;
  if (v instanceof Uint8Array) return `[${[...v].join(' ')}]`;
  if (isTable(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goSprintV(v[k] as GoValue, depth + 1)}`).join(' ')}]`;
  }
  return '?';
}

/** Go's `%T` of a value. */
export function goTypeName(v: GoValue | undefined): string {
  if (v === undefined || v === null) return '<nil>';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int64';
    case 'number':
      return 'float64';
  }
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Uint8Array) return '[]uint8';
  return 'map[string]interface {}';
}

/** Go's `%t` of a value: `true`/`false`, else `%!t(<type>=<%v>)`. */
export function goSprintT(v: GoValue | undefined, depth = 0): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === undefined || v === null) return '%!t(<nil>)';
  if (depth < 32 && Array.isArray(v)) return `[${v.map((x) => goSprintT(x, depth + 1)).join(' ')}]`;
  if (depth < 32 && isTable(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `%!t(string=${k}):${goSprintT(v[k] as GoValue, depth + 1)}`).join(' ')}]`;
  }
  return `%!t(${goTypeName(v)}=${goSprintV(v)})`;
}

/** `strconv.FormatFloat(f, 'g', -1, 64)` (Go's `%v` of a float64). */
export function formatGoFloatG(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Number.POSITIVE_INFINITY) return '+Inf';
  if (f === Number.NEGATIVE_INFINITY) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const shortest = f.toExponential(); // shortest round-trip digits
  const [mant, e] = shortest.split('e') as [string, string];
  const e10 = Number(e);
  if (e10 < -4 || e10 >= 6) {
    const ee = Math.abs(e10).toString().padStart(2, '0');
    return `${mant}e${e10 < 0 ? '-' : '+'}${ee}`;
  }
  return String(f);
}
