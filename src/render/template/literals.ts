/**
 * Go literal syntax used by templates: strconv.Unquote for strings and character
 * constants, strconv.ParseInt/ParseUint/ParseFloat (base 0, underscores) for numbers.
 */
import { quote } from './fmt.js';

const SYNTAX = 'invalid syntax';
const decoder = new TextDecoder();

function utf8Push(out: number[], cp: number): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
}

interface CharResult {
  /** Code point, or a raw byte when `isByte`. */
  value: number;
  isByte: boolean;
  next: number;
}

/** strconv.UnquoteChar on s starting at i. Throws 'invalid syntax'. */
function unquoteChar(s: string, i: number, q: string): CharResult {
  const c = s.codePointAt(i)!;
  const ch = String.fromCodePoint(c);
  if (ch === q && (q === "'" || q === '"')) throw new Error(SYNTAX);
  if (ch !== '\\') return { value: c, isByte: false, next: i + ch.length };
  if (i + 1 >= s.length) throw new Error(SYNTAX);
  const e = s[i + 1]!;
  let j = i + 2;
  switch (e) {
    case 'a':
      return { value: 7, isByte: false, next: j };
    case 'b':
      return { value: 8, isByte: false, next: j };
    case 'f':
      return { value: 12, isByte: false, next: j };
    case 'n':
      return { value: 10, isByte: false, next: j };
    case 'r':
      return { value: 13, isByte: false, next: j };
    case 't':
      return { value: 9, isByte: false, next: j };
    case 'v':
      return { value: 11, isByte: false, next: j };
    case 'x':
    case 'u':
    case 'U': {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = s.slice(j, j + n);
      if (hex.length < n || !/^[0-9a-fA-F]+$/.test(hex)) throw new Error(SYNTAX);
      const v = Number.parseInt(hex, 16);
      j += n;
      if (e === 'x') return { value: v, isByte: true, next: j };
      if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) throw new Error(SYNTAX);
      return { value: v, isByte: false, next: j };
    }
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': {
      const oct = s.slice(i + 1, i + 4);
      if (oct.length < 3 || !/^[0-7]{3}$/.test(oct)) throw new Error(SYNTAX);
      const v = Number.parseInt(oct, 8);
      if (v > 255) throw new Error(SYNTAX);
      return { value: v, isByte: true, next: i + 4 };
    }
    case '\\':
      return { value: 0x5c, isByte: false, next: j };
    case "'":
    case '"':
      if (e !== q) throw new Error(SYNTAX);
      return { value: e.charCodeAt(0), isByte: false, next: j };
    default:
      throw new Error(SYNTAX);
  }
}

/** strconv.Unquote for "…", `…` and '…'. Throws Error('invalid syntax'). */
export function unquote(s: string): string {
  const n = s.length;
  if (n < 2) throw new Error(SYNTAX);
  const q = s[0]!;
  if (q !== s[n - 1]) throw new Error(SYNTAX);
  const body = s.slice(1, n - 1);
  if (q === '`') {
    if (body.includes('`')) throw new Error(SYNTAX);
    return body.includes('\r') ? body.replaceAll('\r', '') : body;
  }
  if (q !== '"' && q !== "'") throw new Error(SYNTAX);
  if (body.includes('\n')) throw new Error(SYNTAX);
  if (!body.includes('\\') && !body.includes(q)) {
    if (q === '"') return body;
    if (q === "'" && [...body].length === 1) return body;
  }
  const bytes: number[] = [];
  let i = 0;
  while (i < body.length) {
    const r = unquoteChar(body, i, q);
    if (r.isByte) bytes.push(r.value);
    else utf8Push(bytes, r.value);
    i = r.next;
    if (q === "'" && i < body.length) throw new Error(SYNTAX);
  }
  if (q === "'" && bytes.length === 0) throw new Error(SYNTAX);
  return decoder.decode(new Uint8Array(bytes));
}

/** Code point of a character constant like 'a' or '\n'. Throws on bad syntax. */
export function charConstant(text: string): number {
  const r = unquoteChar(text, 1, text[0]!);
  if (text.slice(r.next) !== "'") throw new Error(`malformed character constant: ${text}`);
  return r.value;
}

/** strconv's underscoreOK. */
function underscoreOK(s0: string): boolean {
  let saw = '^';
  let i = 0;
  let s = s0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1]!)) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
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

const MAX_U64 = (1n << 64n) - 1n;

/** strconv.ParseUint(s, 0, 64); null on any error. */
function parseUint0(s: string): bigint | null {
  if (s.length === 0 || s[0] === '+' || s[0] === '-') return null;
  let base = 10;
  let digits = s;
  if (s[0] === '0') {
    if (s.length >= 3 && (s[1] === 'x' || s[1] === 'X')) {
      base = 16;
      digits = s.slice(2);
    } else if (s.length >= 3 && (s[1] === 'o' || s[1] === 'O')) {
      base = 8;
      digits = s.slice(2);
    } else if (s.length >= 3 && (s[1] === 'b' || s[1] === 'B')) {
      base = 2;
      digits = s.slice(2);
    } else {
      base = 8;
      digits = s.slice(1);
      if (digits === '') return 0n;
    }
  }
  if (s.includes('_') && !underscoreOK(s)) return null;
  digits = digits.replaceAll('_', '');
  if (digits === '') return null;
  const valid =
    base === 16 ? /^[0-9a-fA-F]+$/ : base === 10 ? /^[0-9]+$/ : base === 8 ? /^[0-7]+$/ : /^[01]+$/;
  if (!valid.test(digits)) return null;
  const prefix = base === 16 ? '0x' : base === 8 ? '0o' : base === 2 ? '0b' : '';
  const v = BigInt(prefix + digits);
  return v > MAX_U64 ? null : v;
}

/** strconv.ParseInt(s, 0, 64); null on any error. */
function parseInt0(s: string): bigint | null {
  let neg = false;
  let t = s;
  if (t[0] === '+' || t[0] === '-') {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  const u = parseUint0(t);
  if (u === null) return null;
  const v = neg ? -u : u;
  if (v > (1n << 63n) - 1n || v < -(1n << 63n)) return null;
  return v;
}

function parseHexFloat(s: string): number | null {
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  const intPart = m[2]!;
  const frac = m[3] ?? '';
  const mant = BigInt('0x' + (intPart + frac || '0'));
  const exp = Number(m[4]) - 4 * frac.length;
  // mant * 2^exp, correctly rounded via Number of a scaled bigint where possible.
  let v: number;
  if (exp >= 0) v = Number(mant << BigInt(Math.min(exp, 2000)));
  else v = Number(mant) * 2 ** exp;
  if (!Number.isFinite(v)) return null;
  return m[1] === '-' ? -v : v;
}

/** strconv.ParseFloat(s, 64); null on error (syntax or range). */
function parseFloat64(s: string): number | null {
  if (s.includes('_') && !underscoreOK(s)) return null;
  const t = s.replaceAll('_', '');
  if (/^[+-]?0[xX]/.test(t)) return parseHexFloat(t);
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(t)) return null;
  const v = Number(t);
  if (!Number.isFinite(v)) return null;
  return v;
}

export interface NumberFields {
  isInt: boolean;
  isUint: boolean;
  isFloat: boolean;
  isComplex: boolean;
  int64: bigint;
  uint64: bigint;
  float64: number;
}

/** parse.newNumber: classify a number token. Throws Error with Go's message. */
export function parseNumber(text: string, kind: 'number' | 'char' | 'complex'): NumberFields {
  const n: NumberFields = {
    isInt: false,
    isUint: false,
    isFloat: false,
    isComplex: false,
    int64: 0n,
    uint64: 0n,
    float64: 0,
  };
  if (kind === 'char') {
    let r: number;
    try {
      r = charConstant(text);
    } catch (e) {
      throw e instanceof Error && e.message !== SYNTAX ? e : new Error(SYNTAX);
    }
    n.int64 = BigInt(r);
    n.uint64 = BigInt(r);
    n.float64 = r;
    n.isInt = n.isUint = n.isFloat = true;
    return n;
  }
  if (
    kind === 'complex' ||
    (text.length > 0 && text.endsWith('i') && parseFloat64(text.slice(0, -1)) !== null)
  ) {
    // Complex numbers are classified but not supported at execution time.
    n.isComplex = true;
    return n;
  }
  const u = parseUint0(text);
  if (u !== null) {
    n.isUint = true;
    n.uint64 = u;
  }
  const i = parseInt0(text);
  if (i !== null) {
    n.isInt = true;
    n.int64 = i;
    if (i === 0n) {
      n.isUint = true;
      n.uint64 = u ?? 0n;
    }
  }
  if (n.isInt) {
    n.isFloat = true;
    n.float64 = Number(n.int64);
  } else if (n.isUint) {
    n.isFloat = true;
    n.float64 = Number(n.uint64);
  } else {
    const f = parseFloat64(text);
    if (f !== null) {
      if (!/[.eEpP]/.test(text)) throw new Error(`integer overflow: ${quote(text)}`);
      n.isFloat = true;
      n.float64 = f;
      if (Number.isInteger(f) && f >= -(2 ** 63) && f < 2 ** 63) {
        n.isInt = true;
        n.int64 = BigInt(f);
      }
      if (Number.isInteger(f) && f >= 0 && f < 2 ** 64) {
        n.isUint = true;
        n.uint64 = BigInt(f);
      }
    }
  }
  if (!n.isInt && !n.isUint && !n.isFloat) throw new Error(`illegal number syntax: ${quote(text)}`);
  return n;
}
