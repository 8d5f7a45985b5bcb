/**
 * Helm's `pkg/strvals` (v4.1.4): the `--set name=value,a.b[0]=x` grammar behind
 * `--set`, `--set-string`, `--set-file`, `--set-json` and `--set-literal`, with Helm's
 * typing, limits and error messages. Independent implementation.
 */
import type { GoValue } from '../template/value.js';
import { getKey, goTypeName, hasKey, isTable, newMap, setKey, type Values } from './go.js';

/** Largest list index `a[i]` accepts (Helm's `strvals.MaxIndex`). @public */
export const STRVALS_MAX_INDEX = 65536;
/** Deepest `a.b.c` nesting accepted (Helm's `strvals.MaxNestedNameLevel`). @public */
export const STRVALS_MAX_NESTED_NAME_LEVEL = 30;

/**
 * Reads the value of a `--set-file` entry: receives the path text and returns the
 * value (Helm: the file's content as a string). Throw an `Error` whose message is
 * Go's (e.g. `open x: no such file or directory`) to fail the parse.
 * @public
 */
export type SetFileReader = (path: string) => GoValue;

/** Parse failure of a strvals line; `message` is Helm's text. @public */
export class StrvalsError extends Error {
  /** True when the error "is" io.EOF (Helm then ends the line silently). */
  readonly eof: boolean;
  constructor(message: string, eof = false) {
    super(message);
    this.name = 'StrvalsError';
    this.eof = eof;
  }
}

const EOF = new StrvalsError('EOF', true);

function wrap(prefix: string, e: StrvalsError): StrvalsError {
  return new StrvalsError(`${prefix}${e.message}`, e.eof);
}

/** Go's `strconv.Quote` for the texts strvals quotes (keys, data). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else if ((c >= 0x80 && c < 0xa0) || c === 0xad || c === 0xfeff || (c >= 0x2028 && c <= 0x2029)) {
      out += c > 0xffff ? `\\U${c.toString(16).padStart(8, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

/** Go's `%q` of a `[]rune`: each rune single-quoted, in brackets (`['a' 'b']`). */
function goRunesQuote(s: string): string {
  return `[${[...s]
    .map((r) => {
      if (r === "'") return "'\\''";
      const q = goQuote(r);
      return `'${q.slice(1, -1).replace('\\"', '"')}'`;
    })
    .join(' ')}]`;
}

/** A rune buffer with Go's `bytes.Buffer` ReadRune/UnreadRune semantics. */
class Scanner {
  private pos = 0;
  constructor(private readonly runes: string[]) {}
  read(): string | undefined {
    if (this.pos >= this.runes.length) return undefined;
    return this.runes[this.pos++];
  }
  unread(): void {
    if (this.pos > 0) this.pos--;
  }
  rest(): string {
    return this.runes.slice(this.pos).join('');
  }
  skip(n: number): void {
    this.pos = Math.min(this.runes.length, this.pos + n);
  }
}

type ValueReader = (runes: string) => GoValue;

/** Helm's `typedVal`: true/false/null (any case), int64 (bigint), else the string. @public */
export function typedVal(val: string, forceString: boolean): GoValue {
  if (forceString) return val;
  const lower = val.toLowerCase();
  if (lower === 'true' && val.length === 4) return true;
  if (lower === 'false' && val.length === 5) return false;
  if (lower === 'null' && val.length === 4) return null;
  if (val === '0') return 0n;
  if (val.length !== 0 && val[0] !== '0') {
    const i = parseGoInt(val);
    if (i !== undefined) return i;
  }
  return val;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** `strconv.ParseInt(s, 10, 64)`; undefined on any error. */
function parseGoInt(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

/** `strconv.Atoi` with Go's error text. */
function atoi(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new StrvalsError(`strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`);
  const v = BigInt(s);
  if (v < INT64_MIN || v > INT64_MAX)
    throw new StrvalsError(`strconv.Atoi: parsing ${goQuote(s)}: value out of range`);
  // Indexes beyond MaxIndex are rejected later; clamp so JS numbers stay exact enough.
  if (v > 1n << 40n) return 2 ** 40;
  if (v < -(1n << 40n)) return -(2 ** 40);
  return Number(v);
}

/** Go's type-assertion panic text, as Helm's recover reports it. */
function conversionPanic(v: GoValue | undefined, want: string): StrvalsError {
  const got = v === undefined || v === null ? 'nil' : goTypeName(v);
  return new StrvalsError(`interface conversion: interface {} is ${got}, not ${want}`);
}

const LIST = '[]interface {}';
const MAP = 'map[string]interface {}';

function asList(v: GoValue | undefined): GoValue[] {
  if (!Array.isArray(v)) throw conversionPanic(v, LIST);
  return v;
}

function asMap(v: GoValue | undefined): Values {
  if (!isTable(v)) throw conversionPanic(v, MAP);
  return v;
}

function set(data: Values, key: string, val: GoValue): void {
  if (key.length === 0) return;
  setKey(data, key, val);
}

function setIndex(list: GoValue[], index: number, val: GoValue): GoValue[] {
  if (index < 0) throw new StrvalsError(`negative ${index} index not allowed`);
  if (index > STRVALS_MAX_INDEX) {
    throw new StrvalsError(
      `index of ${index} is greater than maximum supported index of ${STRVALS_MAX_INDEX}`,
    );
  }
  let out = list;
  if (out.length <= index) {
    out = list.slice();
    while (out.length <= index) out.push(null);
  }
  out[index] = val;
  return out;
}

/** `runesUntil`: reads up to a stop rune; `\` escapes the next rune unless `literal`. */
function runesUntil(
  sc: Scanner,
  stop: string,
  literal: boolean,
): { v: string; last: string | undefined; eof: boolean } {
  let v = '';
  for (;;) {
    const r = sc.read();
    if (r === undefined) return { v, last: undefined, eof: true };
    if (stop.includes(r)) return { v, last: r, eof: false };
    if (r === '\\' && !literal) {
      const next = sc.read();
      if (next === undefined) return { v, last: undefined, eof: true };
      v += next;
      continue;
    }
    v += r;
  }
}

type Mode = { kind: 'typed'; reader: ValueReader } | { kind: 'json' } | { kind: 'literal' };

/** One strvals line parser (Helm's `parser` and `literalParser`). */
class StrvalsParser {
  private readonly sc: Scanner;
  constructor(
    text: string,
    private readonly data: Values,
    private readonly mode: Mode,
  ) {
    this.sc = new Scanner([...text]);
  }

  private get literal(): boolean {
    return this.mode.kind === 'literal';
  }

  parse(): void {
    for (;;) {
      try {
        this.keyRecovering(this.data, 0);
      } catch (e) {
        if (e instanceof StrvalsError && e.eof) return;
        throw e;
      }
    }
  }

  /** `key()` with its deferred recover: a panic becomes `unable to parse key: …`. */
  private keyRecovering(data: Values, level: number): void {
    try {
      this.key(data, level);
    } catch (e) {
      if (e instanceof StrvalsError && e.message.startsWith('interface conversion:') && !e.eof) {
        throw new StrvalsError(`unable to parse key: ${e.message}`);
      }
      throw e;
    }
  }

  private key(data: Values, nestedNameLevel: number): void {
    const stop = this.literal ? '=[.' : '=[,.';
    const { v: k, last, eof } = runesUntil(this.sc, stop, this.literal);
    if (eof) {
      if (k.length === 0) throw EOF;
      throw new StrvalsError(`key ${goQuote(k)} has no value`);
    }
    switch (last) {
      case '[': {
        let i: number;
        try {
          i = this.keyIndex();
        } catch (e) {
          throw wrap('error parsing index: ', e as StrvalsError);
        }
        let list: GoValue[] = [];
        if (hasKey(data, k)) list = asList(getKey(data, k));
        const r = this.listItem(list, i, nestedNameLevel);
        set(data, k, r.list);
        if (r.err) throw r.err;
        return;
      }
      case '=':
        this.keyValue(data, k);
        return;
      case ',':
        set(data, k, '');
        throw new StrvalsError(`key ${goQuote(k)} has no value (cannot end with ,)`);
      case '.': {
        const level = nestedNameLevel + 1;
        if (level > STRVALS_MAX_NESTED_NAME_LEVEL) {
          throw new StrvalsError(
            `value name nested level is greater than maximum supported nested level of ${STRVALS_MAX_NESTED_NAME_LEVEL}`,
          );
        }
        let inner = newMap();
        if (hasKey(data, k)) inner = asMap(getKey(data, k));
        let err: unknown;
        try {
          this.keyRecovering(inner, level);
        } catch (e) {
          err = e;
        }
        if (err === undefined && Object.keys(inner).length === 0) {
          throw new StrvalsError(`key map ${goQuote(k)} has no value`);
        }
        if (Object.keys(inner).length !== 0) set(data, k, inner);
        if (err !== undefined) throw err;
        return;
      }
    }
  }

  /** The `case last == '='` branch of `key()`. */
  private keyValue(data: Values, k: string): void {
    if (this.mode.kind === 'literal') {
      const { v } = runesUntil(this.sc, '', true);
      set(data, k, v);
      return;
    }
    if (this.mode.kind === 'json') {
      if (this.emptyVal()) {
        set(data, k, null);
        return;
      }
      set(data, k, this.decodeJson());
      this.emptyVal();
      return;
    }
    const reader = this.mode.reader;
    const vl = this.valList(reader);
    if (vl.kind === 'list') {
      if (vl.err) throw vl.err;
      set(data, k, vl.list);
      return;
    }
    if (vl.kind === 'eof') {
      set(data, k, '');
      throw EOF;
    }
    const { v } = runesUntil(this.sc, ',', false);
    let value: GoValue;
    try {
      value = reader(v);
    } catch (e) {
      set(data, k, null);
      throw e;
    }
    set(data, k, value);
  }

  private keyIndex(): number {
    const { v, eof } = runesUntil(this.sc, ']', this.literal);
    if (eof) throw EOF;
    return atoi(v);
  }

  private listItem(list: GoValue[], i: number, nestedNameLevel: number): { list: GoValue[]; err?: unknown } {
    if (i < 0) return { list, err: new StrvalsError(`negative ${i} index not allowed`) };
    const { v: k, last, eof } = runesUntil(this.sc, '[.=', this.literal);
    if (k.length > 0)
      return { list, err: new StrvalsError(`unexpected data at end of array index: ${goRunesQuote(k)}`) };
    if (eof) return { list, err: EOF };
    try {
      switch (last) {
        case '=': {
          if (this.mode.kind === 'literal') {
            const { v } = runesUntil(this.sc, '', true);
            return { list: setIndex(list, i, v) };
          }
          if (this.mode.kind === 'json') {
            if (this.emptyVal()) return { list: setIndex(list, i, null) };
            const value = this.decodeJson();
            const out = setIndex(list, i, value);
            this.emptyVal();
            return { list: out };
          }
          const reader = this.mode.reader;
          const vl = this.valList(reader);
          if (vl.kind === 'list') {
            if (vl.err) return { list, err: vl.err };
            return { list: setIndex(list, i, vl.list) };
          }
          if (vl.kind === 'eof') return { list: setIndex(list, i, '') };
          const { v } = runesUntil(this.sc, ',', false);
          return { list: setIndex(list, i, reader(v)) };
        }
        case '[': {
          let nextI: number;
          try {
            nextI = this.keyIndex();
          } catch (e) {
            return { list, err: wrap('error parsing index: ', e as StrvalsError) };
          }
          let crt: GoValue[] = [];
          if (list.length > i && list[i] !== null) crt = asList(list[i]);
          const r = this.listItem(crt, nextI, nestedNameLevel);
          if (r.err) return { list, err: r.err };
          return { list: setIndex(list, i, r.list) };
        }
        case '.': {
          let inner = newMap();
          let target = list;
          if (list.length > i) {
            if (isTable(list[i])) inner = list[i] as Values;
            else {
              target = list.slice();
              target[i] = inner;
            }
          }
          this.keyRecovering(inner, nestedNameLevel);
          return { list: setIndex(target, i, inner) };
        }
      }
    } catch (e) {
      return { list, err: e };
    }
    /* v8 ignore next */
    return { list, err: new StrvalsError(`parse error: unexpected token ${last}`) };
  }

  /** `emptyVal`: skips spaces; true at EOF or after a comma. */
  private emptyVal(): boolean {
    for (;;) {
      const r = this.sc.read();
      if (r === undefined) return true;
      if (r === ',') return true;
      if (!/^\s$/u.test(r)) {
        this.sc.unread();
        return false;
      }
    }
  }

  /** `valList`: a `{a,b}` list, or not a list. */
  private valList(
    reader: ValueReader,
  ): { kind: 'list'; list: GoValue[]; err?: unknown } | { kind: 'eof' } | { kind: 'notList' } {
    const r = this.sc.read();
    if (r === undefined) return { kind: 'eof' };
    if (r !== '{') {
      this.sc.unread();
      return { kind: 'notList' };
    }
    const list: GoValue[] = [];
    for (;;) {
      const { v, last, eof } = runesUntil(this.sc, ',}', false);
      if (eof) return { kind: 'list', list, err: new StrvalsError("list must terminate with '}'") };
      if (last === '}') {
        const n = this.sc.read();
        if (n !== undefined && n !== ',') this.sc.unread();
        try {
          list.push(reader(v));
        } catch (e) {
          list.push(null);
          return { kind: 'list', list, err: e };
        }
        return { kind: 'list', list };
      }
      try {
        list.push(reader(v));
      } catch (e) {
        return { kind: 'list', list, err: e };
      }
    }
  }

  private decodeJson(): GoValue {
    const text = this.sc.rest();
    const { value, consumed } = decodeJsonPrefix(text);
    this.sc.skip([...text.slice(0, consumed)].length);
    return value;
  }
}

/**
 * Decodes the first JSON value of `text` like Go's `json.Decoder.Decode` into
 * `interface{}` (numbers float64, objects Go maps); returns it and the number of
 * UTF-16 units consumed (Go's `InputOffset`).
 */
export function decodeJsonPrefix(text: string, maxDepth = 1000): { value: GoValue; consumed: number } {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i] as string)) i++;
  };
  const eof = () => new StrvalsError('unexpected EOF');
  const bad = (ctx: string) => new StrvalsError(`invalid character ${goCharQuote(text[i] as string)} ${ctx}`);
  const value = (depth: number): GoValue => {
    if (depth > maxDepth) throw new StrvalsError('exceeded max depth');
    ws();
    if (i >= text.length) throw eof();
    const c = text[i] as string;
    if (c === '{') {
      i++;
      const m = newMap();
      ws();
      if (text[i] === '}') {
        i++;
        return m;
      }
      for (;;) {
        ws();
        if (i >= text.length) throw eof();
        if (text[i] !== '"') throw bad('looking for beginning of object key string');
        const k = str();
        ws();
        if (i >= text.length) throw eof();
        if (text[i] !== ':') throw bad('after object key');
        i++;
        setKey(m, k, value(depth + 1));
        ws();
        if (i >= text.length) throw eof();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return m;
        }
        throw bad('after object key:value pair');
      }
    }
    if (c === '[') {
      i++;
      const a: GoValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value(depth + 1));
        ws();
        if (i >= text.length) throw eof();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return a;
        }
        throw bad('after array element');
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (c === word[0]) {
        for (let j = 1; j < word.length; j++) {
          i++;
          if (i >= text.length) throw eof();
          if (text[i] !== word[j])
            throw bad(`in literal ${word} (expecting ${goCharQuote(word[j] as string)})`);
        }
        i++;
        return v;
      }
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (m && m[0] !== '-' && m[0].length > 0) {
      i += m[0].length;
      const f = Number(m[0]);
      if (!Number.isFinite(f)) {
        throw new StrvalsError(`json: cannot unmarshal number ${m[0]} into Go value of type float64`);
      }
      return f;
    }
    throw bad('looking for beginning of value');
  };
  const str = (): string => {
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) throw eof();
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return out;
      }
      if (c < ' ') throw bad('in string literal');
      if (c === '\\') {
        i++;
        if (i >= text.length) throw eof();
        const e = text[i] as string;
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
        if (e in simple) {
          out += simple[e];
          i++;
          continue;
        }
        if (e === 'u') {
          const hex = text.slice(i + 1, i + 5);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            i += 1 + (/^[0-9a-fA-F]*/.exec(hex)?.[0].length ?? 0);
            if (i >= text.length) throw eof();
            throw bad('in \\u hexadecimal character escape');
          }
          out += String.fromCharCode(Number.parseInt(hex, 16));
          i += 5;
          continue;
        }
        throw bad('in string escape code');
      }
      out += c;
      i++;
    }
  };
  const v = value(0);
  return { value: v, consumed: i };
}

function goCharQuote(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '\n') return "'\\n'";
  if (c === '\t') return "'\\t'";
  if (c === '\r') return "'\\r'";
  return `'${c}'`;
}

/** Which strvals flavour to parse with. @public */
export type SetKind = 'set' | 'set-string' | 'set-file' | 'set-json' | 'set-literal';

/**
 * Parses one strvals line into `dest` (Helm's `ParseInto`, `ParseIntoString`,
 * `ParseIntoFile`, `ParseJSON`, `ParseLiteralInto`). Existing keys are overwritten.
 *
 * - `set`: values typed (`true`/`false`/`null`, int64 → bigint, else string); `{a,b}` lists.
 * - `set-string`: every value a string.
 * - `set-file`: each value is a path handed to `readFile`.
 * - `set-json`: each value is JSON (empty = null).
 * - `set-literal`: one key, the rest of the line is the string value (no escapes).
 *
 * @throws StrvalsError with Helm's message (without the `failed parsing --set data:` prefix).
 * @public
 */
export function parseSetInto(kind: SetKind, line: string, dest: Values, readFile?: SetFileReader): void {
  let mode: Mode;
  switch (kind) {
    case 'set':
      mode = { kind: 'typed', reader: (v) => typedVal(v, false) };
      break;
    case 'set-string':
      mode = { kind: 'typed', reader: (v) => typedVal(v, true) };
      break;
    case 'set-file': {
      if (readFile === undefined) throw new StrvalsError('--set-file needs a file reader');
      const reader = readFile;
      mode = {
        kind: 'typed',
        reader: (v) => {
          try {
            return reader(v);
          } catch (e) {
            throw new StrvalsError(e instanceof Error ? e.message : String(e));
          }
        },
      };
      break;
    }
    case 'set-json':
      mode = { kind: 'json' };
      break;
    case 'set-literal':
      mode = { kind: 'literal' };
      break;
  }
  new StrvalsParser(line, dest, mode).parse();
}

/**
 * Parses one strvals line into a new map (Helm's `Parse`, `ParseString`, `ParseFile`,
 * `ParseLiteral`; for `set-json` the `ParseJSON` semantics into an empty map).
 * @public
 */
export function parseSet(kind: SetKind, line: string, readFile?: SetFileReader): Values {
  const dest = newMap();
  parseSetInto(kind, line, dest, readFile);
  return dest;
}
