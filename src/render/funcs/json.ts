/**
 * Go encoding/json over the template value model: `json.Marshal` (sorted map keys,
 * HTML escaping, float formatting), `MarshalIndent`, `Encoder` without HTML escaping,
 * and `json.Unmarshal` into interface{} (numbers → float64) with Go's error texts.
 * @internal
 */
import { formatFloat } from '../template/fmt.js';
import {
  compareGoStrings,
  type GoMap,
  GoStruct,
  type GoValue,
  isGoFunc,
  MISSING,
  mapSet,
  newGoMap,
} from '../template/value.js';
import { checkStringSize, goTypeName, isNilSlice } from './util.js';

export interface MarshalOptions {
  escapeHTML?: boolean;
  /** MarshalIndent(prefix "", indent). */
  indent?: string;
}

/** A value with its own JSON form (time.Time, semver). */
export interface JsonMarshaler {
  marshalJSON(): string;
}
function isJsonMarshaler(v: unknown): v is JsonMarshaler {
  return typeof (v as Partial<JsonMarshaler>).marshalJSON === 'function';
}

/** Go's JSON string encoding (encoding/json appendString). */
export function jsonString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c < 0x7f) {
      if (escapeHTML && (c === 0x3c || c === 0x3e || c === 0x26)) out += `\\u00${c.toString(16)}`;
      else out += s[i];
      continue;
    }
    if (c < 0x80) {
      switch (c) {
        case 0x22:
          out += '\\"';
          break;
        case 0x5c:
          out += '\\\\';
          break;
        case 0x08:
          out += '\\b';
          break;
        case 0x0c:
          out += '\\f';
          break;
        case 0x0a:
          out += '\\n';
          break;
        case 0x0d:
          out += '\\r';
          break;
        case 0x09:
          out += '\\t';
          break;
        case 0x7f:
          out += '\x7f';
          break;
        default:
          out += `\\u00${c.toString(16).padStart(2, '0')}`;
      }
      continue;
    }
    if (c === 0x2028 || c === 0x2029) {
      out += `\\u${c.toString(16)}`;
      continue;
    }
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        out += s[i]! + s[i + 1]!;
        i++;
        continue;
      }
    }
    if (c >= 0xd800 && c < 0xe000) {
      out += '\\ufffd';
      continue;
    }
    out += s[i];
  }
  return `${out}"`;
}

/** encoding/json float64 encoding. */
export function jsonFloat(f: number): string {
  if (!Number.isFinite(f)) throw new Error(`json: unsupported value: ${formatFloat(f, 'g', -1)}`);
  const abs = Math.abs(f);
  let fmt = 'f';
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) fmt = 'e';
  let s = formatFloat(f, fmt, -1);
  if (fmt === 'e') {
    const n = s.length;
    if (n >= 4 && s[n - 4] === 'e' && s[n - 3] === '-' && s[n - 2] === '0') s = s.slice(0, n - 2) + s[n - 1];
  }
  return s;
}

const MAX_DEPTH = 10000;

/** json.Marshal / MarshalIndent / Encoder.Encode (without the trailing newline). */
export function goJsonMarshal(v: GoValue, opts: MarshalOptions = {}): string {
  const escapeHTML = opts.escapeHTML ?? true;
  const indent = opts.indent;
  const parts: string[] = [];
  let size = 0;
  const emit = (s: string): undefined => {
    parts.push(s);
    size += s.length;
    if (size > 1 << 26) checkStringSize(size, 'toJson');
    return undefined;
  };
  const nl = (depth: number): void => {
    if (indent !== undefined) emit(`\n${indent.repeat(depth)}`);
  };
  const visit = (x: GoValue, depth: number): undefined => {
    if (depth > MAX_DEPTH)
      throw new Error('json: unsupported value: encountered a cycle or excessive nesting');
    if (x === null || x === MISSING) return emit('null');
    switch (typeof x) {
      case 'boolean':
        return emit(x ? 'true' : 'false');
      case 'number':
        return emit(jsonFloat(x));
      case 'bigint':
        return emit(String(x));
      case 'string':
        return emit(jsonString(x, escapeHTML));
    }
    if (x instanceof Uint8Array) return emit(`"${Buffer.from(x).toString('base64')}"`);
    if (Array.isArray(x)) {
      if (x.length === 0) return emit(isNilSlice(x) ? 'null' : '[]');
      emit('[');
      x.forEach((e, i) => {
        if (i > 0) emit(',');
        nl(depth + 1);
        visit(e, depth + 1);
      });
      nl(depth);
      return emit(']');
    }
    if (x instanceof GoStruct) {
      if (isJsonMarshaler(x)) return emit(compactJson(x.marshalJSON(), escapeHTML));
      const m = newGoMap();
      for (const n of x.fieldNames()) mapSet(m, n, x.field(n) ?? null);
      return visitMap(m, depth, false);
    }
    if (isGoFunc(x)) throw new Error(`json: unsupported type: ${goTypeName(x)}`);
    return visitMap(x, depth, true);
  };
  const visitMap = (m: GoMap, depth: number, sort: boolean): undefined => {
    const keys = sort ? Object.keys(m).sort(compareGoStrings) : Object.keys(m);
    if (keys.length === 0) return emit('{}');
    emit('{');
    keys.forEach((k, i) => {
      if (i > 0) emit(',');
      nl(depth + 1);
      emit(jsonString(k, escapeHTML));
      emit(indent !== undefined ? ': ' : ':');
      visit(m[k]!, depth + 1);
    });
    nl(depth);
    return emit('}');
  };
  visit(v, 0);
  return parts.join('');
}

function compactJson(s: string, escapeHTML: boolean): string {
  return escapeHTML
    ? s.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : s;
}

// ---------------------------------------------------------------- decoding

/** Go's quoteChar for scanner errors. */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const q = JSON.stringify(c);
  // strconv.Quote differs from JSON.stringify for control characters and non-printables.
  const cp = c.codePointAt(0)!;
  let body = q.slice(1, -1);
  if (cp < 0x20 || cp === 0x7f) {
    const simple: Record<number, string> = {
      7: '\\a',
      8: '\\b',
      12: '\\f',
      10: '\\n',
      13: '\\r',
      9: '\\t',
      11: '\\v',
    };
    body = simple[cp] ?? `\\x${cp.toString(16).padStart(2, '0')}`;
  }
  return `'${body}'`;
}

export class JsonSyntaxError extends Error {}

/**
 * json.Unmarshal into interface{}: objects → maps, numbers → float64. Throws
 * {@link JsonSyntaxError} with Go's message on invalid input.
 */
export function goJsonParse(text: string, numberHook?: (token: string) => GoValue): GoValue {
  let i = 0;
  const n = text.length;
  const fail = (msg: string): never => {
    throw new JsonSyntaxError(msg);
  };
  const eof = (): never => fail('unexpected end of JSON input');
  // At the end of input Go's scanner is fed a space: mid-token states report it.
  const eofSpace = (ctx: string): never => fail(`invalid character ' ' ${ctx}`);
  const isWs = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  const ws = (): void => {
    while (i < n && isWs(text[i])) i++;
  };
  const charAt = (): string => {
    const cp = text.codePointAt(i)!;
    return String.fromCodePoint(cp);
  };
  const bad = (ctx: string): never => fail(`invalid character ${quoteChar(charAt())} ${ctx}`);
  const value = (depth: number): GoValue => {
    if (depth > MAX_DEPTH) fail('exceeded max depth');
    ws();
    if (i >= n) eof();
    const c = text[i]!;
    if (c === '{') {
      i++;
      const m = newGoMap();
      ws();
      if (i >= n) eof();
      if (text[i] === '}') {
        i++;
        return m;
      }
      for (;;) {
        ws();
        if (i >= n) eof();
        if (text[i] !== '"') bad('looking for beginning of object key string');
        const k = string();
        ws();
        if (i >= n) eof();
        if (text[i] !== ':') bad('after object key');
        i++;
        const v = value(depth + 1);
        mapSet(m, k, v);
        ws();
        if (i >= n) eof();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return m;
        }
        bad('after object key:value pair');
      }
    }
    if (c === '[') {
      i++;
      const a: GoValue[] = [];
      ws();
      if (i >= n) eof();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value(depth + 1));
        ws();
        if (i >= n) eof();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return a;
        }
        bad('after array element');
      }
    }
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) return number();
    for (const [lit, val] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (c === lit[0]) {
        for (let k = 1; k < lit.length; k++) {
          i++;
          if (i >= n) eofSpace(`in literal ${lit} (expecting ${quoteChar(lit[k]!)})`);
          if (text[i] !== lit[k]) bad(`in literal ${lit} (expecting ${quoteChar(lit[k]!)})`);
        }
        i++;
        return val;
      }
    }
    return bad('looking for beginning of value');
  };
  const string = (): string => {
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= n) eof();
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        i++;
        if (i >= n) eofSpace('in string escape code');
        const e = text[i]!;
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (simple[e] !== undefined) {
          out += simple[e];
          i++;
          continue;
        }
        if (e === 'u') {
          i++;
          let hex = '';
          for (let k = 0; k < 4; k++) {
            if (i >= n) eofSpace('in \\u hexadecimal character escape');
            if (!/[0-9a-fA-F]/.test(text[i]!)) bad('in \\u hexadecimal character escape');
            hex += text[i++];
          }
          out += String.fromCharCode(Number.parseInt(hex, 16));
          continue;
        }
        bad('in string escape code');
      }
      if (c < ' ') bad('in string literal');
      out += c;
      i++;
    }
  };
  const number = (): GoValue => {
    const start = i;
    if (text[i] === '-') {
      i++;
      if (i >= n) eofSpace('in numeric literal');
      if (!(text[i]! >= '0' && text[i]! <= '9')) bad('in numeric literal');
    }
    if (text[i] === '0') i++;
    else while (i < n && text[i]! >= '0' && text[i]! <= '9') i++;
    if (text[i] === '.') {
      i++;
      if (i >= n) eofSpace('after decimal point in numeric literal');
      if (!(text[i]! >= '0' && text[i]! <= '9')) bad('after decimal point in numeric literal');
      while (i < n && text[i]! >= '0' && text[i]! <= '9') i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (i >= n) eofSpace('in exponent of numeric literal');
      if (!(text[i]! >= '0' && text[i]! <= '9')) bad('in exponent of numeric literal');
      while (i < n && text[i]! >= '0' && text[i]! <= '9') i++;
    }
    const tok = text.slice(start, i);
    return numberHook ? numberHook(tok) : Number(tok);
  };
  const v = value(0);
  ws();
  if (i < n) bad('after top-level value');
  // Lone surrogates from \u escapes become U+FFFD in Go.
  return fixSurrogates(v);
}

const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Lone surrogates → U+FFFD (what Go's UTF-8 handling produces). */
export function wellFormed(s: string): string {
  return s.replace(LONE, '\ufffd');
}

function fixSurrogates(v: GoValue): GoValue {
  if (typeof v === 'string') return wellFormed(v);
  if (Array.isArray(v)) return v.map(fixSurrogates);
  if (
    v !== null &&
    typeof v === 'object' &&
    !(v instanceof Uint8Array) &&
    !(v instanceof GoStruct) &&
    !isGoFunc(v)
  ) {
    const m = newGoMap();
    for (const k of Object.keys(v)) mapSet(m, wellFormed(k), fixSurrogates((v as GoMap)[k]!));
    return m;
  }
  return v;
}

/** Name of a JSON value's kind in UnmarshalTypeError ("object", "array", "number", …). */
export function jsonKindName(v: GoValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
  }
  return 'object';
}
