/**
 * Helm's `toToml`: BurntSushi/toml v1.6.0's Encoder (two-space indentation of nested
 * tables, direct keys before sub-tables, keys sorted, floats always with a decimal
 * point). Errors are returned as the function's text, as Helm does.
 * @internal
 */
import { formatFloat } from '../template/fmt.js';
import { compareGoStrings, type GoMap, GoStruct, type GoValue, isGoMap, MISSING } from '../template/value.js';
import { checkStringSize } from './util.js';

class TomlError extends Error {}

const QUOTE: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
};
function quoted(s: string): string {
  let out = '"';
  for (const c of s) {
    const q = QUOTE[c];
    if (q !== undefined) out += q;
    else {
      const cp = c.codePointAt(0)!;
      out += cp < 0x20 || cp === 0x7f ? `\\u${cp.toString(16).padStart(4, '0')}` : c;
    }
  }
  return `${out}"`;
}
const BARE = /^[A-Za-z0-9_-]+$/;
const keyPart = (k: string): string => (k === '' ? '""' : BARE.test(k) ? k : quoted(k));

type TomlType = 'hash' | 'arrayHash' | 'array' | 'scalar' | undefined;

const isNil = (v: GoValue | undefined): boolean => v === null || v === MISSING || v === undefined;
const isTime = (v: GoValue): boolean => v instanceof GoStruct && v.typeName === 'time.Time';

function tomlType(v: GoValue): TomlType {
  if (isNil(v)) return undefined;
  if (isTime(v)) return 'scalar';
  if (v instanceof GoStruct) return 'hash';
  if (Array.isArray(v)) {
    if (v.length === 0) return 'array';
    let allHash = true;
    for (const e of v) {
      const t = tomlType(e);
      if (t === undefined) throw new TomlError('toml: cannot encode array with nil element');
      if (t !== 'hash') allHash = false;
    }
    return allHash ? 'arrayHash' : 'array';
  }
  if (v instanceof Uint8Array) return 'array';
  if (isGoMap(v)) return 'hash';
  return 'scalar';
}

function entries(v: GoMap | GoStruct): [string, GoValue][] {
  if (v instanceof GoStruct) return v.fieldNames().map((n) => [n, v.field(n) ?? null]);
  return Object.keys(v).map((k) => [k, v[k]!]);
}

/** toml.NewEncoder(w).Encode(v). */
export function encodeToml(v: GoValue): string {
  let out = '';
  let written = false;
  const write = (s: string): undefined => {
    out += s;
    written = true;
    if (out.length > 1 << 20) checkStringSize(out.length, 'toToml');
    return undefined;
  };
  const newline = (): void => {
    if (written) write('\n');
  };
  const indent = (key: string[]): string => '  '.repeat(Math.max(0, key.length - 1));
  const keyString = (key: string[]): string => key.map(keyPart).join('.');

  const element = (x: GoValue): undefined => {
    if (isTime(x)) {
      const f = (x as GoStruct).method('Format')!;
      write(f.call(['2006-01-02T15:04:05.999999999Z07:00'], undefined as never) as string);
      return;
    }
    switch (typeof x) {
      case 'string':
        return write(quoted(x));
      case 'boolean':
        return write(x ? 'true' : 'false');
      case 'bigint':
        return write(String(x));
      case 'number': {
        if (Number.isNaN(x)) return write('nan');
        if (!Number.isFinite(x)) return write(x < 0 ? '-inf' : 'inf');
        const s = formatFloat(x, 'g', -1);
        return write(s.includes('e') || s.includes('.') ? s : `${s}.0`);
      }
    }
    if (x instanceof Uint8Array) return write(`[${Array.from(x).join(', ')}]`);
    if (Array.isArray(x)) {
      write('[');
      x.forEach((e, i) => {
        element(e);
        if (i !== x.length - 1) write(', ');
      });
      return write(']');
    }
    if (x instanceof GoStruct || isGoMap(x)) return map([], x, true);
    throw new TomlError(`toml: unexpected type: ${typeof x}`);
  };

  const keyValue = (key: string[], val: GoValue, inline: boolean): undefined => {
    if (key.length === 0) return element(val);
    write(`${indent(key)}${keyPart(key[key.length - 1]!)} = `);
    element(val);
    if (!inline) newline();
  };

  const map = (key: string[], m: GoMap | GoStruct, inline: boolean): undefined => {
    const direct: [string, GoValue][] = [];
    const sub: [string, GoValue][] = [];
    for (const [k, val] of entries(m)) {
      const t = tomlType(val);
      (t === 'hash' || t === 'arrayHash' ? sub : direct).push([k, val]);
    }
    const writeKeys = (list: [string, GoValue][], trailComma: boolean): void => {
      list.sort((a, b) => compareGoStrings(a[0], b[0]));
      list.forEach(([k, val], i) => {
        if (isNil(val)) return;
        if (inline) {
          keyValue([k], val, true);
          if (trailComma || i !== list.length - 1) write(', ');
        } else encode([...key, k], val);
      });
    };
    if (inline) write('{');
    writeKeys(direct, sub.length > 0);
    writeKeys(sub, false);
    if (inline) write('}');
  };

  const encode = (key: string[], val: GoValue): undefined => {
    if (key.length > 10000) throw new TomlError('toml: nesting too deep');
    const t = tomlType(val);
    if (t === undefined) return;
    if (t === 'scalar' || t === 'array') return keyValue(key, val, false);
    if (t === 'arrayHash') {
      if (key.length === 0) throw new TomlError('toml: top-level values must be Go maps or structs');
      for (const e of val as GoValue[]) {
        if (isNil(e)) continue;
        newline();
        write(`${indent(key)}[[${keyString(key)}]]`);
        newline();
        map(key, e as GoMap, false);
      }
      return;
    }
    // table
    if (key.length === 1) newline();
    if (key.length > 0) {
      write(`${indent(key)}[${keyString(key)}]`);
      newline();
    }
    map(key, val as GoMap, false);
  };

  encode([], v);
  return out;
}

/** Helm toToml: the encoding, or the encoder's error text. */
export function toToml(v: GoValue): string {
  try {
    return encodeToml(v);
  } catch (e) {
    if (e instanceof TomlError) return e.message;
    throw e;
  }
}
