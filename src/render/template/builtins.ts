/**
 * Go text/template builtin functions (funcs.go): and, or, not, len, index, slice,
 * print, printf, println, html, js, urlquery, call, eq, ne, lt, le, gt, ge.
 * `and`/`or` short-circuit in the executor; the entries here only carry signatures.
 */
import type { FuncContext } from './context.js';
import { sprint, sprintf, sprintln } from './fmt.js';
import {
  byteLength,
  compareGoStrings,
  type FuncMap,
  type GoFunc,
  type GoParam,
  type GoValue,
  isGoFunc,
  isGoMap,
  isTrue,
  kindOf,
  MISSING,
  mapGet,
  typeName,
  utf8,
} from './value.js';

/** The nil interface, after Go's indirectInterface, is the invalid value. */
function indirectInterface(v: GoValue): GoValue {
  return v === null ? MISSING : v;
}

function fail(msg: string): never {
  throw new Error(msg);
}

function indexArg(index: GoValue, cap: number): number {
  let x: bigint;
  if (typeof index === 'bigint') x = index;
  else if (index === MISSING) fail('cannot index slice/array with nil');
  else fail(`cannot index slice/array with type ${typeName(index)}`);
  if (x < 0n || x > BigInt(cap)) fail(`index out of range: ${x}`);
  return Number(x);
}

function index(args: GoValue[]): GoValue {
  let item = indirectInterface(args[0]!);
  if (item === MISSING) fail('index of untyped nil');
  for (const raw of args.slice(1)) {
    const idx = indirectInterface(raw);
    if (item === null) fail('index of nil pointer');
    if (typeof item === 'string') {
      const bytes = utf8(item);
      const x = indexArg(idx, bytes.length);
      if (x >= bytes.length) fail('reflect: string index out of range');
      item = BigInt(bytes[x]!);
    } else if (Array.isArray(item)) {
      const x = indexArg(idx, item.length);
      if (x >= item.length) fail('reflect: slice index out of range');
      item = item[x]!;
    } else if (item instanceof Uint8Array) {
      const x = indexArg(idx, item.length);
      if (x >= item.length) fail('reflect: slice index out of range');
      item = BigInt(item[x]!);
    } else if (isGoMap(item)) {
      if (idx === MISSING) fail('value is nil; should be of type string');
      if (typeof idx !== 'string') fail(`value has type ${typeName(idx)}; should be string`);
      const v = mapGet(item, idx);
      item = v === undefined ? null : v;
    } else {
      fail(`can't index item of type ${typeName(item as GoValue)}`);
    }
  }
  return item;
}

function slice(args: GoValue[]): GoValue {
  const item = indirectInterface(args[0]!);
  const indexes = args.slice(1);
  if (item === MISSING) fail('slice of untyped nil');
  if (indexes.length > 3) fail(`too many slice indexes: ${indexes.length}`);
  let len: number;
  if (typeof item === 'string') {
    if (indexes.length === 3) fail('cannot 3-index slice a string');
    len = utf8(item).length;
  } else if (Array.isArray(item) || item instanceof Uint8Array) len = item.length;
  else fail(`can't slice item of type ${typeName(item)}`);
  const idx = [0, len, 0];
  indexes.forEach((ix, i) => {
    idx[i] = indexArg(indirectInterface(ix), len);
  });
  if (idx[0]! > idx[1]!) fail(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1]! > idx[2]!) fail(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (typeof item === 'string') return new TextDecoder().decode(utf8(item).slice(idx[0], idx[1]));
  return item.slice(idx[0], idx[1]) as GoValue;
}

function length(args: GoValue[]): GoValue {
  const item = args[0]!;
  if (item === null) fail('len of nil pointer');
  if (item === MISSING) fail('reflect: call of reflect.Value.Type on zero Value');
  if (typeof item === 'string') return BigInt(byteLength(item));
  if (Array.isArray(item) || item instanceof Uint8Array) return BigInt(item.length);
  if (isGoMap(item)) return BigInt(Object.keys(item).length);
  return fail(`len of type ${typeName(item)}`);
}

// ---- comparison

type BasicKind = 'invalid' | 'bool' | 'int' | 'float' | 'string';

function basicKind(v: GoValue): BasicKind {
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float';
    case 'string':
      return 'string';
  }
  return 'invalid';
}

function isNilValue(v: GoValue): boolean {
  return v === MISSING || v === null;
}

function eq(args: GoValue[]): GoValue {
  const arg1 = indirectInterface(args[0]!);
  const rest = args.slice(1);
  if (rest.length === 0) fail('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (const raw of rest) {
    const arg = indirectInterface(raw);
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if (arg1 !== MISSING && arg !== MISSING)
        fail(`incompatible types for comparison: ${typeName(arg1)} and ${typeName(arg)}`);
    } else if (k1 !== 'invalid') {
      truth = arg1 === arg;
    } else {
      const kind1 = kindOf(arg1);
      const kind2 = kindOf(arg);
      if (kind1 !== kind2 && arg1 !== MISSING && arg !== MISSING)
        fail(sprintf('non-comparable types %s: %v, %s: %v', [arg1, typeName(arg1), typeName(arg), arg]));
      if (isNilValue(arg1) || isNilValue(arg)) truth = isNilValue(arg) === isNilValue(arg1);
      else {
        if (kind2 === 'map' || kind2 === 'slice' || kind2 === 'bytes' || kind2 === 'func')
          fail(sprintf('non-comparable type %s: %v', [arg, typeName(arg)]));
        truth = arg1 === arg;
      }
    }
    if (truth) return true;
  }
  return false;
}

function lt(a: GoValue, b: GoValue): boolean {
  const arg1 = indirectInterface(a);
  const k1 = basicKind(arg1);
  if (k1 === 'invalid') fail('invalid type for comparison');
  const arg2 = indirectInterface(b);
  const k2 = basicKind(arg2);
  if (k2 === 'invalid') fail('invalid type for comparison');
  if (k1 !== k2) fail(`incompatible types for comparison: ${typeName(arg1)} and ${typeName(arg2)}`);
  switch (k1) {
    case 'bool':
      return fail('invalid type for comparison');
    case 'string':
      return compareGoStrings(arg1 as string, arg2 as string) < 0;
    default:
      return (arg1 as number | bigint) < (arg2 as number | bigint);
  }
}

function le(a: GoValue, b: GoValue): boolean {
  return lt(a, b) || (eq([a, b]) as boolean);
}

// ---- escaping

function evalArgs(args: GoValue[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args.map((a) => (a === null || a === MISSING ? '<no value>' : a)));
}

function htmlEscape(s: string): string {
  return s.replace(/["'&<>\0]/g, (c) =>
    c === '"'
      ? '&#34;'
      : c === "'"
        ? '&#39;'
        : c === '&'
          ? '&amp;'
          : c === '<'
            ? '&lt;'
            : c === '>'
              ? '&gt;'
              : '\ufffd',
  );
}

const PRINT_RE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '\\':
        out += '\\\\';
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case '<':
        out += '\\u003C';
        continue;
      case '>':
        out += '\\u003E';
        continue;
      case '&':
        out += '\\u0026';
        continue;
      case '=':
        out += '\\u003D';
        continue;
    }
    if (c < 0x20) out += '\\u00' + c.toString(16).toUpperCase().padStart(2, '0');
    else if (c < 0x80) out += ch;
    else if (PRINT_RE.test(ch)) out += ch;
    else out += '\\u' + c.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

function queryEscape(s: string): string {
  let out = '';
  for (const b of utf8(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

// ---- call

function paramAccepts(v: GoValue, p: GoParam): boolean {
  const k = typeof p === 'string' ? p : p.kind;
  switch (k) {
    case 'any':
    case 'value':
      return true;
    case 'string':
      return typeof v === 'string';
    case 'int':
    case 'int64':
      return typeof v === 'bigint';
    case 'float64':
      return typeof v === 'number';
    case 'bool':
      return typeof v === 'boolean';
    case 'map':
      return isGoMap(v);
    case 'slice':
      return Array.isArray(v);
    case 'bytes':
      return v instanceof Uint8Array;
  }
  return false;
}

function paramTypeName(p: GoParam): string {
  if (typeof p !== 'string') return p.name;
  const names: Record<string, string> = {
    any: 'interface {}',
    value: 'reflect.Value',
    map: 'map[string]interface {}',
    slice: '[]interface {}',
    bytes: '[]uint8',
  };
  return names[p] ?? p;
}

/**
 * Go's `call` builtin: `name` is how the callee was written (`.X.F`), as Go's errors
 * name it. Arguments arrive as reflect.Values (MISSING = invalid).
 */
export function callFunc(name: string, args: GoValue[], ctx: FuncContext): GoValue {
  const fn = indirectInterface(args[0]!);
  const rest = args.slice(1);
  if (fn === MISSING) fail('call of nil');
  if (!isGoFunc(fn)) fail(`non-function ${name} of type ${typeName(fn)}`);
  const numIn = fn.params.length;
  if (fn.variadic !== undefined) {
    if (rest.length < numIn)
      fail(`wrong number of args for ${name}: got ${rest.length} want at least ${numIn}`);
  } else if (rest.length !== numIn)
    fail(`wrong number of args for ${name}: got ${rest.length} want ${numIn}`);
  const argv = rest.map((raw, i) => {
    const a = indirectInterface(raw);
    const p = i < numIn ? fn.params[i]! : fn.variadic!;
    const k = typeof p === 'string' ? p : p.kind;
    if (a === MISSING) {
      if (k === 'any' || k === 'map' || k === 'slice' || k === 'bytes') return null;
      if (k === 'value') return MISSING;
      fail(`arg ${i}: value is nil; should be of type ${paramTypeName(p)}`);
    }
    if (!paramAccepts(a, p)) fail(`arg ${i}: value has type ${typeName(a)}; should be ${paramTypeName(p)}`);
    return a;
  });
  return fn.call(argv, ctx);
}

const V = 'value' as const;

/** Builtins by name. `and`/`or` are evaluated specially by the executor. @internal */
export const BUILTINS: FuncMap = Object.freeze({
  and: { params: [V], variadic: V, call: () => fail('unreachable') },
  or: { params: [V], variadic: V, call: () => fail('unreachable') },
  not: { params: [V], call: (a) => !isTrue(a[0]!) },
  len: { params: [V], call: length },
  index: { params: [V], variadic: V, call: index },
  slice: { params: [V], variadic: V, call: slice },
  call: { params: [V], variadic: V, call: (a, ctx) => callFunc('call', a, ctx) },
  print: { params: [], variadic: 'any', call: (a) => sprint(a) },
  printf: { params: ['string'], variadic: 'any', call: (a) => sprintf(a[0] as string, a.slice(1)) },
  println: { params: [], variadic: 'any', call: (a) => sprintln(a) },
  html: { params: [], variadic: 'any', call: (a) => htmlEscape(evalArgs(a)) },
  js: { params: [], variadic: 'any', call: (a) => jsEscape(evalArgs(a)) },
  urlquery: { params: [], variadic: 'any', call: (a) => queryEscape(evalArgs(a)) },
  eq: { params: [V], variadic: V, call: eq },
  ne: { params: [V, V], call: (a) => !(eq(a) as boolean) },
  lt: { params: [V, V], call: (a) => lt(a[0]!, a[1]!) },
  le: { params: [V, V], call: (a) => le(a[0]!, a[1]!) },
  gt: { params: [V, V], call: (a) => !le(a[0]!, a[1]!) },
  ge: { params: [V, V], call: (a) => !lt(a[0]!, a[1]!) },
} satisfies Record<string, GoFunc>);
