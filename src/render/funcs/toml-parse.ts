/**
 * TOML decoding for Helm's `fromToml` (BurntSushi/toml v1.6.0 into
 * map[string]interface{}): integers → int64, floats → float64, datetimes → time.Time
 * (local forms in BurntSushi's `datetime-local`/`date-local`/`time-local` zones),
 * arrays → []interface{}, tables → maps. Accepts TOML 1.0 plus BurntSushi's 1.1
 * additions (`\e`, `\xHH`, optional seconds, newlines in inline tables).
 * Error texts are chartproof's own (`toml: line N: …`).
 * @internal
 */
import { type GoMap, type GoValue, isGoMap, mapSet, newGoMap } from '../template/value.js';
import { GoTime, type Zone } from './date.js';
import { parseGoInt } from './util.js';

const NS = 1_000_000_000n;
const MAX_DEPTH = 1000;

export class TomlParseError extends Error {}

interface TableInfo {
  /** Defined by a [header] (or as an array-of-tables element). */
  explicit: boolean;
  /** Created by a dotted key / inline table: cannot be reopened by a header. */
  closed: boolean;
}

export function parseToml(text: string): GoMap {
  let i = 0;
  let line = 1;
  const n = text.length;
  const root = newGoMap();
  const info = new WeakMap<object, TableInfo>();
  const arrays = new WeakSet<object>(); // arrays of tables created by [[...]]
  const fail = (msg: string): never => {
    throw new TomlParseError(`toml: line ${line}: ${msg}`);
  };
  const peek = (k = 0): string => text[i + k] ?? '';
  const ws = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  const comment = (): void => {
    if (peek() === '#') {
      while (i < n && text[i] !== '\n') {
        const c = text.charCodeAt(i);
        if ((c < 0x20 && c !== 0x09) || c === 0x7f) fail('control characters are not allowed in comments');
        i++;
      }
    }
  };
  const newlineOrEof = (): void => {
    ws();
    comment();
    if (i >= n) return;
    if (peek() === '\r' && peek(1) === '\n') i++;
    if (peek() !== '\n') fail(`expected a newline after a value, found ${JSON.stringify(peek())}`);
    i++;
    line++;
  };
  const wsNl = (): void => {
    for (;;) {
      ws();
      comment();
      if (peek() === '\r' && peek(1) === '\n') i++;
      if (peek() === '\n') {
        i++;
        line++;
        continue;
      }
      return;
    }
  };

  // ---------------------------------------------------------------- keys
  const bareKey = /[A-Za-z0-9_-]/;
  const simpleKey = (): string => {
    const c = peek();
    if (c === '"') {
      if (text.startsWith('"""', i)) fail('multi-line strings are not allowed as keys');
      return basicString();
    }
    if (c === "'") {
      if (text.startsWith("'''", i)) fail('multi-line strings are not allowed as keys');
      return literalString();
    }
    const start = i;
    while (i < n && bareKey.test(text[i]!)) i++;
    if (i === start) fail(`expected a key, found ${JSON.stringify(c)}`);
    return text.slice(start, i);
  };
  const dottedKey = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      ws();
      parts.push(simpleKey());
      ws();
      if (peek() !== '.') return parts;
      i++;
    }
  };

  // ---------------------------------------------------------------- strings
  const unescapeSeq = (multi: boolean): string => {
    i++; // backslash
    const c = peek();
    const simple: Record<string, string> = {
      b: '\b',
      t: '\t',
      n: '\n',
      f: '\f',
      r: '\r',
      '"': '"',
      '\\': '\\',
      e: '\x1b',
    };
    if (simple[c] !== undefined) {
      i++;
      return simple[c]!;
    }
    if (c === 'u' || c === 'U' || c === 'x') {
      const len = c === 'u' ? 4 : c === 'U' ? 8 : 2;
      const hex = text.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) fail(`invalid escape \\${c}${hex}`);
      const cp = Number.parseInt(hex, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) fail(`invalid unicode escape \\${c}${hex}`);
      i += 1 + len;
      return String.fromCodePoint(cp);
    }
    if (multi && (c === ' ' || c === '\t' || c === '\n' || c === '\r')) {
      // line-ending backslash: trim whitespace and newlines up to the next content
      let j = i;
      while (text[j] === ' ' || text[j] === '\t') j++;
      if (text[j] === '\r') j++;
      if (text[j] !== '\n') fail('invalid escape: backslash followed by whitespace must end the line');
      i = j;
      while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) {
        if (text[i] === '\n') line++;
        i++;
      }
      return '';
    }
    return fail(`invalid escape in string '\\${c}'`);
  };
  const checkChar = (c: string, multi: boolean): void => {
    const code = c.charCodeAt(0);
    if ((code < 0x20 && c !== '\t' && !(multi && (c === '\n' || c === '\r'))) || code === 0x7f) {
      fail(`control characters are not allowed in strings: ${JSON.stringify(c)}`);
    }
  };
  const basicString = (): string => {
    if (text.startsWith('"""', i)) {
      i += 3;
      if (peek() === '\r' && peek(1) === '\n') i += 2;
      else if (peek() === '\n') {
        i++;
        line++;
      }
      let out = '';
      for (;;) {
        if (i >= n) fail('unexpected EOF in multi-line string');
        if (text.startsWith('"""', i)) {
          let q = 3;
          while (text[i + q] === '"' && q < 5) q++;
          out += '"'.repeat(q - 3);
          i += q;
          return out;
        }
        const c = text[i]!;
        if (c === '\\') {
          out += unescapeSeq(true);
          continue;
        }
        checkChar(c, true);
        if (c === '\n') line++;
        out += c;
        i++;
      }
    }
    i++;
    let out = '';
    for (;;) {
      if (i >= n || text[i] === '\n') fail('unexpected end of string');
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        out += unescapeSeq(false);
        continue;
      }
      checkChar(c, false);
      out += c;
      i++;
    }
  };
  const literalString = (): string => {
    if (text.startsWith("'''", i)) {
      i += 3;
      if (peek() === '\r' && peek(1) === '\n') i += 2;
      else if (peek() === '\n') {
        i++;
        line++;
      }
      const start = i;
      for (;;) {
        if (i >= n) fail('unexpected EOF in multi-line literal string');
        if (text.startsWith("'''", i)) {
          let q = 3;
          while (text[i + q] === "'" && q < 5) q++;
          const out = text.slice(start, i) + "'".repeat(q - 3);
          i += q;
          return out;
        }
        checkChar(text[i]!, true);
        if (text[i] === '\n') line++;
        i++;
      }
    }
    i++;
    const start = i;
    for (;;) {
      if (i >= n || text[i] === '\n') fail('unexpected end of literal string');
      if (text[i] === "'") {
        const out = text.slice(start, i);
        i++;
        return out;
      }
      checkChar(text[i]!, false);
      i++;
    }
  };

  // ---------------------------------------------------------------- scalars
  const DATE = /^(\d{4})-(\d{2})-(\d{2})/;
  const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?/;
  const localZone = (name: string): Zone => ({ name, fixed: 0 });
  const datetime = (tok: string): GoValue | undefined => {
    let rest = tok;
    let date: number[] | undefined;
    const dm = DATE.exec(rest);
    if (dm) {
      date = [Number(dm[1]), Number(dm[2]), Number(dm[3])];
      rest = rest.slice(dm[0].length);
      if (rest === '') return mk(date, undefined, localZone('date-local'));
      if (!/^[Tt ]/.test(rest)) return undefined;
      rest = rest.slice(1);
    }
    const tm = TIME.exec(rest);
    if (!tm) return undefined;
    const time = [
      Number(tm[1]),
      Number(tm[2]),
      Number(tm[3] ?? 0),
      Number((tm[4] ?? '').slice(0, 9).padEnd(9, '0')),
    ];
    rest = rest.slice(tm[0].length);
    if (!date) {
      if (rest !== '') return undefined;
      return mk([0, 1, 1], time, localZone('time-local'));
    }
    if (rest === '') return mk(date, time, localZone('datetime-local'));
    if (rest === 'Z' || rest === 'z') return mk(date, time, { name: 'UTC' });
    const om = /^([+-])(\d{2}):(\d{2})$/.exec(rest);
    if (!om) return undefined;
    const off = (om[1] === '-' ? -1 : 1) * (Number(om[2]) * 3600 + Number(om[3]) * 60);
    return mk(date, time, { name: '', fixed: off }, true);
  };
  const mk = (date: number[], time: number[] | undefined, zone: Zone, offsetZone = false): GoTime => {
    const [y, mo, d] = date as [number, number, number];
    const [h, mi, s, ns] = (time ?? [0, 0, 0, 0]) as [number, number, number, number];
    const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
    const dim = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
    if (dim === undefined || d < 1 || d > dim || h > 23 || mi > 59 || s > 60) fail('invalid datetime');
    const dt = new Date(0);
    dt.setUTCFullYear(y, mo - 1, d);
    dt.setUTCHours(h, mi, s, 0);
    let secs = BigInt(Math.floor(dt.getTime() / 1000));
    if (zone.fixed !== undefined) secs -= BigInt(zone.fixed);
    let z = zone;
    if (offsetZone) {
      // Go's ParseInLocation(…, time.Local) uses Local when the offset matches it.
      const local = -new Date(Number(secs) * 1000).getTimezoneOffset() * 60;
      if (local === zone.fixed) z = { name: 'Local' };
    }
    return new GoTime(secs * NS + BigInt(ns), z);
  };
  const number = (tok: string): GoValue => {
    const t = tok;
    if (/^[+-]?(inf|nan)$/.test(t))
      return t.endsWith('nan') ? Number.NaN : t.startsWith('-') ? -Infinity : Infinity;
    if (/^0[xob]/.test(t)) {
      if (!/^0(x[0-9A-Fa-f](_?[0-9A-Fa-f])*|o[0-7](_?[0-7])*|b[01](_?[01])*)$/.test(t))
        fail(`invalid integer ${JSON.stringify(t)}`);
      const r = parseGoInt(t, 0);
      if (typeof r !== 'bigint') fail(`integer ${JSON.stringify(t)} is out of range`);
      return r as bigint;
    }
    if (/^[+-]?(0|[1-9](_?\d)*)$/.test(t)) {
      const r = parseGoInt(t.replace(/_/g, ''), 10);
      if (typeof r !== 'bigint') fail(`integer ${JSON.stringify(t)} is out of range`);
      return r as bigint;
    }
    if (/^[+-]?(0|[1-9](_?\d)*)(\.\d(_?\d)*)?([eE][+-]?\d(_?\d)*)?$/.test(t) && /[.eE]/.test(t)) {
      const f = Number(t.replace(/_/g, ''));
      if (!Number.isFinite(f)) fail(`float ${JSON.stringify(t)} is out of range`);
      return f;
    }
    return fail(`invalid value ${JSON.stringify(t)}`);
  };

  const value = (depth: number): GoValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    const c = peek();
    if (c === '"') return basicString();
    if (c === "'") return literalString();
    if (c === '[') {
      i++;
      const arr: GoValue[] = [];
      for (;;) {
        wsNl();
        if (peek() === ']') {
          i++;
          return arr;
        }
        arr.push(value(depth + 1));
        wsNl();
        if (peek() === ',') {
          i++;
          continue;
        }
        if (peek() === ']') {
          i++;
          return arr;
        }
        fail(`expected a comma or array terminator ']', found ${JSON.stringify(peek())}`);
      }
    }
    if (c === '{') {
      i++;
      const t = newGoMap();
      info.set(t, { explicit: true, closed: true });
      wsNl();
      if (peek() === '}') {
        i++;
        return t;
      }
      for (;;) {
        wsNl();
        const key = dottedKey();
        ws();
        if (peek() !== '=') fail(`expected '=' after key, found ${JSON.stringify(peek())}`);
        i++;
        ws();
        assign(t, key, value(depth + 1), true);
        wsNl();
        if (peek() === ',') {
          i++;
          wsNl();
          if (peek() === '}') {
            i++;
            return t;
          }
          continue;
        }
        if (peek() === '}') {
          i++;
          return t;
        }
        fail(`expected a comma or an inline table terminator '}', found ${JSON.stringify(peek())}`);
      }
    }
    // bare token: bool, number, datetime
    const m = /^[0-9A-Za-z_+\-.:]+/.exec(text.slice(i, i + 128));
    if (!m) return fail(`expected a value, found ${JSON.stringify(c)}`);
    let tok = m[0];
    // "1979-05-27 07:32:00" — a space may separate date and time
    if (
      /^\d{4}-\d{2}-\d{2}$/.test(tok) &&
      text[i + tok.length] === ' ' &&
      /\d/.test(text[i + tok.length + 1] ?? '')
    ) {
      const m2 = /^[0-9A-Za-z_+\-.:]+/.exec(text.slice(i + tok.length + 1, i + tok.length + 64));
      if (m2) tok = `${tok} ${m2[0]}`;
    }
    i += tok.length;
    if (tok === 'true') return true;
    if (tok === 'false') return false;
    if (/^\d{4}-|^\d{2}:/.test(tok)) {
      const d = datetime(tok);
      if (d === undefined) fail(`invalid datetime ${JSON.stringify(tok)}`);
      return d!;
    }
    return number(tok);
  };

  // ---------------------------------------------------------------- tables
  const child = (t: GoMap, k: string, how: 'header' | 'dotted' | 'arrayHeader'): GoMap => {
    if (Object.hasOwn(t, k)) {
      const v = t[k]!;
      if (Array.isArray(v) && how !== 'dotted' && arrays.has(v)) return v[v.length - 1] as GoMap;
      if (!isGoMap(v)) fail(`key ${JSON.stringify(k)} is already defined as a value`);
      const inf = info.get(v as object);
      if (how === 'dotted' && inf?.explicit && inf.closed) fail(`cannot extend table ${JSON.stringify(k)}`);
      if (inf?.closed && how !== 'dotted') fail(`cannot redefine table ${JSON.stringify(k)}`);
      return v as GoMap;
    }
    const m = newGoMap();
    info.set(m, { explicit: false, closed: how === 'dotted' });
    mapSet(t, k, m);
    return m;
  };
  const assign = (t: GoMap, key: string[], v: GoValue, inInline = false): void => {
    let cur = t;
    for (const k of key.slice(0, -1)) cur = child(cur, k, 'dotted');
    const last = key[key.length - 1]!;
    if (Object.hasOwn(cur, last)) fail(`key ${JSON.stringify(key.join('.'))} has already been defined`);
    void inInline;
    mapSet(cur, last, v);
  };

  let current = root;
  for (;;) {
    wsNl();
    if (i >= n) break;
    if (peek() === '[') {
      const isArray = peek(1) === '[';
      i += isArray ? 2 : 1;
      const key = dottedKey();
      if (isArray ? !text.startsWith(']]', i) : peek() !== ']')
        fail(`expected ${isArray ? "']]'" : "']'"} after table name`);
      i += isArray ? 2 : 1;
      let t = root;
      for (const k of key.slice(0, -1)) t = child(t, k, 'header');
      const last = key[key.length - 1]!;
      if (isArray) {
        let arr = Object.hasOwn(t, last) ? t[last]! : undefined;
        if (arr === undefined) {
          arr = [];
          arrays.add(arr);
          mapSet(t, last, arr);
        } else if (!Array.isArray(arr) || !arrays.has(arr))
          fail(`key ${JSON.stringify(key.join('.'))} is already defined`);
        const m = newGoMap();
        info.set(m, { explicit: true, closed: false });
        (arr as GoValue[]).push(m);
        current = m;
      } else {
        if (Object.hasOwn(t, last)) {
          const v = t[last]!;
          const inf = isGoMap(v) ? info.get(v as object) : undefined;
          if (!isGoMap(v) || inf?.explicit || inf?.closed)
            fail(`table ${JSON.stringify(key.join('.'))} has already been defined`);
          info.set(v as object, { explicit: true, closed: false });
          current = v as GoMap;
        } else {
          const m = newGoMap();
          info.set(m, { explicit: true, closed: false });
          mapSet(t, last, m);
          current = m;
        }
      }
      newlineOrEof();
      continue;
    }
    const key = dottedKey();
    ws();
    if (peek() !== '=')
      fail(`expected '=' after key ${JSON.stringify(key.join('.'))}, found ${JSON.stringify(peek())}`);
    i++;
    ws();
    assign(current, key, value(0));
    newlineOrEof();
  }
  return root;
}

/** Helm fromToml: the decoded map, or a map with "Error" set. */
export function fromToml(text: string): GoMap {
  try {
    return parseToml(text);
  } catch (e) {
    if (!(e instanceof TomlParseError)) throw e;
    const m = newGoMap();
    mapSet(m, 'Error', e.message);
    return m;
  }
}
