/**
 * Sprig string functions (strings.go, functions.go) plus the goutils/xstrings
 * helpers they call. Strings are Go byte strings: lengths and offsets are UTF-8 bytes.
 * @internal
 */
import { randomInt } from 'node:crypto';
import { quote as goQuote, sprint } from '../template/fmt.js';
import { compareGoStrings, type FuncMap, type GoValue, goFunc, newGoMap, utf8 } from '../template/value.js';
import {
  checkListSize,
  checkStringSize,
  fromUtf8,
  goMapOf,
  isNil,
  isSpace,
  isNilSlice,
  num,
  sliceBytes,
  strval,
  typed,
} from './util.js';

const S = 'string' as const;
const I = 'int' as const;

// ---------------------------------------------------------------- unicode helpers

const RE_UPPER = /^\p{Lu}$/u;
const RE_LOWER = /^\p{Ll}$/u;
const RE_TITLE = /^\p{Lt}$/u;
const RE_LETTER = /^\p{L}$/u;
const RE_NUMBER = /^\p{N}$/u;
const RE_PUNCT = /^\p{P}$/u;
const RE_DIGIT = /^\p{Nd}$/u;

export const isUpper = (c: string): boolean => RE_UPPER.test(c);
export const isLower = (c: string): boolean => RE_LOWER.test(c);
export const isTitleCase = (c: string): boolean => RE_TITLE.test(c);
export const isLetter = (c: string): boolean => RE_LETTER.test(c);
export const isNumber = (c: string): boolean => RE_NUMBER.test(c);
export const isPunct = (c: string): boolean => RE_PUNCT.test(c);
export const isDigit = (c: string): boolean => RE_DIGIT.test(c);
const isSpaceChar = (c: string): boolean => isSpace(c.codePointAt(0)!);

/** unicode.ToUpper (simple case mapping). */
export function toUpperRune(c: string): string {
  const u = c.toUpperCase();
  return [...u].length === 1 ? u : c;
}
/** unicode.ToLower (simple case mapping). */
export function toLowerRune(c: string): string {
  if (c === '\u0130') return 'i';
  const l = c.toLowerCase();
  return [...l].length === 1 ? l : c;
}
/** unicode.ToTitle: upper case, except for the digraphs that have a title form. */
export function toTitleRune(c: string): string {
  const cp = c.codePointAt(0)!;
  // DŽ Dž dž, LJ Lj lj, NJ Nj nj, DZ Dz dz → the middle (title) form.
  for (const base of [0x01c4, 0x01c7, 0x01ca, 0x01f1]) {
    if (cp >= base && cp <= base + 2) return String.fromCodePoint(base + 1);
  }
  return toUpperRune(c);
}

/** Maps every code point (invalid UTF-16 becomes U+FFFD like Go's range loop). */
function mapRunes(s: string, f: (c: string) => string): string {
  let out = '';
  for (const c of s) {
    const cp = c.codePointAt(0)!;
    out += f(cp >= 0xd800 && cp < 0xe000 ? '\ufffd' : c);
  }
  return out;
}

export const goToUpper = (s: string): string => mapRunes(s, toUpperRune);
export const goToLower = (s: string): string => mapRunes(s, toLowerRune);

/** strings.TrimSpace. */
export function trimSpace(s: string): string {
  const cs = [...s];
  let a = 0;
  let b = cs.length;
  while (a < b && isSpaceChar(cs[a]!)) a++;
  while (b > a && isSpaceChar(cs[b - 1]!)) b--;
  return cs.slice(a, b).join('');
}

/** strings.Trim(s, cutset). */
function trimCutset(s: string, cutset: string): string {
  if (s === '' || cutset === '') return s;
  const set = new Set([...cutset]);
  const cs = [...s];
  let a = 0;
  let b = cs.length;
  while (a < b && set.has(cs[a]!)) a++;
  while (b > a && set.has(cs[b - 1]!)) b--;
  return cs.slice(a, b).join('');
}

/** strings.Title (deprecated but used by sprig's `title`). */
function goTitle(s: string): string {
  let prev = ' ';
  let out = '';
  for (const c of s) {
    out += isSeparator(prev) ? toTitleRune(c) : c;
    prev = c;
  }
  return out;
}
function isSeparator(c: string): boolean {
  const cp = c.codePointAt(0)!;
  if (cp <= 0x7f) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_') return false;
    return true;
  }
  if (isLetter(c) || isDigit(c)) return false;
  return isSpaceChar(c);
}

/** strings.Split / SplitN (n < 0: all). */
export function goSplit(s: string, sep: string, n = -1): string[] {
  if (n === 0) return [];
  if (sep === '') {
    const runes = [...s];
    if (n < 0 || n > runes.length) n = runes.length;
    const out = runes.slice(0, n - 1);
    if (n > 0) out.push(runes.slice(n - 1).join(''));
    return runes.length === 0 ? [] : out;
  }
  const out: string[] = [];
  let rest = s;
  while (n < 0 || out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + sep.length);
    checkListSize(out.length, 'split');
  }
  out.push(rest);
  return out;
}

/** strings.Replace(s, old, new, -1). */
export function goReplaceAll(s: string, old: string, nw: string): string {
  if (old === nw) return s;
  if (old === '') {
    const runes = [...s];
    checkStringSize(s.length + (runes.length + 1) * nw.length, 'replace');
    return nw + runes.map((r) => r + nw).join('');
  }
  const parts = s.split(old);
  checkStringSize(s.length + (parts.length - 1) * Math.max(0, nw.length - old.length), 'replace');
  return parts.join(nw);
}

function repeat(s: string, count: number, fn: string): string {
  if (count < 0) throw new Error('strings: negative Repeat count');
  checkStringSize(s.length * count, fn);
  return s.repeat(count);
}

// ---------------------------------------------------------------- goutils

/** goutils.AbbreviateFull (errors → ""). */
function abbreviateFull(str: string, offset0: number, maxWidth: number): string {
  if (str === '') return '';
  if (maxWidth < 4) return '';
  const b = utf8(str);
  const len = b.length;
  if (len <= maxWidth) return str;
  let offset = offset0;
  if (offset > len) offset = len;
  if (len - offset < maxWidth - 3) offset = len - (maxWidth - 3);
  const marker = '...';
  if (offset <= 4) return sliceBytes(str, 0, maxWidth - 3) + marker;
  if (maxWidth < 7) return '';
  if (offset + maxWidth - 3 < len)
    return marker + abbreviateFull(sliceBytes(str, offset, len), 0, maxWidth - 3);
  return marker + sliceBytes(str, len - (maxWidth - 3), len);
}

/** goutils.WrapCustom. Works on bytes like Go. */
export function wrapCustom(
  str: string,
  wrapLength0: number,
  newLineStr0: string,
  wrapLongWords: boolean,
): string {
  if (str === '') return '';
  const newLine = newLineStr0 === '' ? '\n' : newLineStr0;
  const wrapLength = Math.max(wrapLength0, 1);
  const b = utf8(str);
  const nl = utf8(newLine);
  const inputLineLength = b.length;
  let offset = 0;
  const out: number[] = [];
  const push = (x: Uint8Array): void => {
    for (const c of x) out.push(c);
    checkStringSize(out.length, 'wrap');
  };
  const lastSpace = (from: number, to: number): number => {
    for (let i = Math.min(to, inputLineLength) - 1; i >= from; i--) if (b[i] === 0x20) return i - from;
    return -1;
  };
  while (inputLineLength - offset > wrapLength) {
    if (b[offset] === 0x20) {
      offset++;
      continue;
    }
    const end = wrapLength + offset + 1;
    if (end > inputLineLength)
      throw new Error(`runtime error: slice bounds out of range [:${end}] with length ${inputLineLength}`);
    let spaceToWrapAt = lastSpace(offset, end) + offset;
    if (spaceToWrapAt >= offset) {
      push(b.subarray(offset, spaceToWrapAt));
      push(nl);
      offset = spaceToWrapAt + 1;
    } else if (wrapLongWords) {
      push(b.subarray(offset, wrapLength + offset));
      push(nl);
      offset += wrapLength;
    } else {
      const e2 = wrapLength + offset;
      let index = -1;
      for (let i = e2; i < inputLineLength; i++) {
        if (b[i] === 0x20) {
          index = i - e2;
          break;
        }
      }
      if (index === -1) {
        push(b.subarray(offset));
        offset = inputLineLength;
      } else {
        spaceToWrapAt = index + e2;
        push(b.subarray(offset, spaceToWrapAt));
        push(nl);
        offset = spaceToWrapAt + 1;
      }
    }
  }
  push(b.subarray(offset));
  return fromUtf8(Uint8Array.from(out));
}

/** Go's byte-wise `rune(str[i])` loops (goutils Initials / DeleteWhiteSpace) re-encode bytes as Latin-1 runes. */
function latin1Runes(str: string): number[] {
  return Array.from(utf8(str));
}

function initials(str: string): string {
  if (str === '') return str;
  let out = '';
  let lastWasGap = true;
  for (const ch of latin1Runes(str)) {
    if (isSpace(ch)) lastWasGap = true;
    else if (lastWasGap) {
      out += String.fromCodePoint(ch);
      lastWasGap = false;
    }
  }
  return out;
}

function deleteWhiteSpace(str: string): string {
  if (str === '') return str;
  const bytes = latin1Runes(str);
  let out = '';
  let count = 0;
  for (const ch of bytes) {
    if (!isSpace(ch)) {
      out += String.fromCodePoint(ch);
      count++;
    }
  }
  return count === bytes.length ? str : out;
}

function uncapitalize(str: string): string {
  if (str === '') return str;
  let next = true;
  return mapRunes(str, (c) => {
    if (isSpaceChar(c)) {
      next = true;
      return c;
    }
    if (next) {
      next = false;
      return toLowerRune(c);
    }
    return c;
  });
}

function swapCase(str: string): string {
  if (str === '') return str;
  let whitespace = true;
  return mapRunes(str, (c) => {
    if (isUpper(c) || isTitleCase(c)) {
      whitespace = false;
      return toLowerRune(c);
    }
    if (isLower(c)) {
      if (whitespace) {
        whitespace = false;
        return toTitleRune(c);
      }
      return toUpperRune(c);
    }
    whitespace = isSpaceChar(c);
    return c;
  });
}

// ---------------------------------------------------------------- xstrings v1.5.0

function isConnector(c: string): boolean {
  return c === '-' || c === '_' || isSpaceChar(c);
}
function isAlphabet(c: string): boolean {
  if (!isLetter(c)) return false;
  const cp = c.codePointAt(0)!;
  if (cp < 0x3400) return true;
  if (cp >= 0x4e00 && cp <= 0x9fcc) return false;
  if (cp >= 0x3400 && cp <= 0x4d85) return false;
  if (cp >= 0x20000 && cp <= 0x2b81d) return false;
  return true;
}

/** xstrings.ToPascalCase (sprig's `camelcase`). */
export function toPascalCase(str: string): string {
  const runes = [...str];
  if (runes.length === 0) return '';
  let out = '';
  let i = 0;
  let r0 = '';
  let isFirstRuneUpper = false;
  for (; i < runes.length; ) {
    r0 = runes[i++]!;
    if (!isConnector(r0)) {
      isFirstRuneUpper = isUpper(r0);
      r0 = toUpperRune(r0);
      break;
    }
    out += r0;
  }
  // Go writes the last rune again when the string ends here (even a connector).
  if (i >= runes.length) return out + r0;
  for (; i < runes.length; ) {
    const r1 = r0;
    r0 = runes[i++]!;
    if (isConnector(r0) && isConnector(r1)) {
      out += r1;
      continue;
    }
    if (isConnector(r1)) {
      isFirstRuneUpper = isUpper(r0);
      r0 = toUpperRune(r0);
    } else {
      if (isFirstRuneUpper) {
        if (isUpper(r0)) r0 = toLowerRune(r0);
        else isFirstRuneUpper = false;
      }
      out += r1;
    }
  }
  return out + r0;
}

type WordType = 'invalid' | 'number' | 'upper' | 'alphabet' | 'connector' | 'punct' | 'other';

function nextWord(runes: string[], start: number): [WordType, number] {
  // returns [type, end index]
  let i = start;
  const r = runes[i++]!;
  if (isConnector(r)) {
    while (i < runes.length && isConnector(runes[i]!)) i++;
    return ['connector', i];
  }
  if (isPunct(r)) {
    while (i < runes.length && isPunct(runes[i]!)) i++;
    return ['punct', i];
  }
  if (isUpper(r)) {
    if (i >= runes.length) return ['upper', i];
    const c = runes[i]!;
    if (isUpper(c)) {
      i++;
      while (i < runes.length && isUpper(runes[i]!)) i++;
      // "HTTPStatus" → "HTTP" + "Status"
      if (i < runes.length && isAlphabet(runes[i]!)) i--;
    } else if (isAlphabet(c)) {
      i++;
      while (i < runes.length && isAlphabet(runes[i]!) && !isUpper(runes[i]!)) i++;
    }
    return ['upper', i];
  }
  if (isAlphabet(r)) {
    while (i < runes.length && isAlphabet(runes[i]!) && !isUpper(runes[i]!)) i++;
    return ['alphabet', i];
  }
  if (isNumber(r)) {
    while (i < runes.length && isNumber(runes[i]!)) i++;
    return ['number', i];
  }
  while (i < runes.length) {
    const c = runes[i]!;
    if (isConnector(c) || isAlphabet(c) || isNumber(c) || isPunct(c)) break;
    i++;
  }
  return ['other', i];
}

/** xstrings camelCaseToLowerCase (snakecase/kebabcase). */
export function camelCaseToLowerCase(str: string, connector: string): string {
  const runes = [...str].map((c) => {
    const cp = c.codePointAt(0)!;
    return cp >= 0xd800 && cp < 0xe000 ? '\ufffd' : c;
  });
  if (runes.length === 0) return '';
  let out = '';
  const toLower = (wt: WordType, w: string[]): void => {
    if (wt !== 'upper' && wt !== 'connector') {
      out += w.join('');
      return;
    }
    for (const r of w) {
      if (isConnector(r)) out += connector;
      else if (isUpper(r)) out += toLowerRune(r);
      else out += r;
    }
  };
  let pos = 0;
  const next = (): [WordType, string[]] => {
    if (pos >= runes.length) return ['invalid', []];
    const [t, e] = nextWord(runes, pos);
    const w = runes.slice(pos, e);
    pos = e;
    return [t, w];
  };
  let [wt, word] = next();
  while (pos < runes.length) {
    if (wt !== 'connector') toLower(wt, word);
    const prev = wt;
    const last = word;
    [wt, word] = next();
    switch (prev) {
      case 'number':
        while (wt === 'alphabet' || wt === 'number') {
          toLower(wt, word);
          [wt, word] = next();
        }
        if (wt !== 'invalid' && wt !== 'punct' && wt !== 'connector') out += connector;
        break;
      case 'connector':
        toLower(prev, last);
        break;
      case 'punct':
        break;
      default: {
        if (wt !== 'number') {
          if (wt !== 'connector' && wt !== 'punct') out += connector;
          break;
        }
        if (pos >= runes.length) break;
        const last2 = word;
        [wt, word] = next();
        if (wt !== 'alphabet') {
          toLower('number', last2);
          if (wt !== 'connector' && wt !== 'punct') out += connector;
          break;
        }
        out += connector;
        toLower('number', last2);
        while (wt === 'alphabet' || wt === 'number') {
          toLower(wt, word);
          [wt, word] = next();
        }
        if (wt !== 'invalid' && wt !== 'connector' && wt !== 'punct') out += connector;
      }
    }
  }
  toLower(wt, word);
  return out;
}

/** xstrings.Shuffle (math/rand; here node:crypto). */
function shuffle(str: string): string {
  if (str === '') return str;
  const runes = [...str];
  for (let i = runes.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    if (i !== j) [runes[i], runes[j]] = [runes[j]!, runes[i]!];
  }
  return runes.join('');
}

// ---------------------------------------------------------------- random strings

const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';

/** goutils.CryptoRandom* shapes: alphabet chosen uniformly, negative counts → "". */
export function randomString(count: number, alphabet: string): string {
  if (count <= 0) return '';
  checkStringSize(count, 'rand');
  let out = '';
  for (let i = 0; i < count; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}
const ASCII = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

// ---------------------------------------------------------------- sprig helpers

/** sprig `strslice`. */
export function strslice(v: GoValue): string[] {
  if (Array.isArray(v)) return v.filter((x) => !isNil(x)).map(strval);
  if (v instanceof Uint8Array) return Array.from(v, (b) => String(b));
  if (isNil(v)) return [];
  return [strval(v)];
}

function trunc(c: number, s: string): string {
  const len = utf8(s).length;
  if (c < 0 && len + c > 0) return sliceBytes(s, len + c, undefined);
  if (c >= 0 && len > c) return sliceBytes(s, 0, c);
  return s;
}

function substring(start: number, end: number, s: string): string {
  if (start < 0) return sliceBytes(s, 0, end);
  const len = utf8(s).length;
  if (end < 0 || end > len) return sliceBytes(s, start, undefined);
  return sliceBytes(s, start, end);
}

function indent(spaces: number, v: string): string {
  const pad = repeat(' ', spaces, 'indent');
  const lines = v.split('\n');
  checkStringSize(v.length + lines.length * pad.length, 'indent');
  return pad + lines.join(`\n${pad}`);
}

function splitMap(parts: string[]): GoValue {
  return typed(goMapOf(parts.map((p, i) => [`_${i}`, p] as const)), 'map[string]string');
}

function b64dec(v: string): string {
  const r = goBase64Decode(v);
  return typeof r === 'string' ? r : fromUtf8(r);
}

/** base64.StdEncoding.DecodeString: bytes, or Go's error text (encoding/base64 decodeQuantum). */
export function goBase64Decode(str: string): Uint8Array | string {
  const src = utf8(str);
  const out: number[] = [];
  const err = (i: number): string => `illegal base64 data at input byte ${i}`;
  let si = 0;
  const isNl = (c: number | undefined): boolean => c === 0x0a || c === 0x0d;
  while (si < src.length) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let trailing: string | undefined;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return Uint8Array.from(out);
        return err(si - j);
      }
      const c = src[si++]!;
      const d = c < 0x80 ? B64.indexOf(String.fromCharCode(c)) : -1;
      if (d >= 0) {
        dbuf[j] = d;
        continue;
      }
      if (isNl(c)) {
        j--;
        continue;
      }
      if (c !== 0x3d) return err(si - 1);
      if (j < 2) return err(si - 1);
      if (j === 2) {
        while (si < src.length && isNl(src[si])) si++;
        if (si === src.length) return err(src.length);
        if (src[si] !== 0x3d) return err(si - 1);
        si++;
      }
      while (si < src.length && isNl(src[si])) si++;
      if (si < src.length) trailing = err(si);
      dlen = j;
      break;
    }
    const val = (dbuf[0]! << 18) | (dbuf[1]! << 12) | (dbuf[2]! << 6) | dbuf[3]!;
    const bytes = [(val >> 16) & 255, (val >> 8) & 255, val & 255];
    out.push(...bytes.slice(0, dlen - 1));
    if (trailing !== undefined) return trailing;
    if (dlen < 4) break;
  }
  return Uint8Array.from(out);
}
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function b32enc(s: string): string {
  const b = utf8(s);
  let out = '';
  for (let i = 0; i < b.length; i += 5) {
    const chunk = b.subarray(i, i + 5);
    let bits = 0n;
    for (let k = 0; k < 5; k++) bits = (bits << 8n) | BigInt(chunk[k] ?? 0);
    const nChars = [0, 2, 4, 5, 7, 8][chunk.length]!;
    for (let k = 0; k < 8; k++) {
      out += k < nChars ? B32[Number((bits >> BigInt(35 - 5 * k)) & 31n)] : '=';
    }
  }
  return out;
}

/** base32.StdEncoding.DecodeString (newlines stripped first; error offsets refer to the stripped input). */
function b32dec(str: string): string {
  const src = Array.from(utf8(str)).filter((c) => c !== 0x0a && c !== 0x0d);
  const olen = src.length;
  const err = (i: number): string => `illegal base32 data at input byte ${i}`;
  const out: number[] = [];
  let p = 0;
  let end = false;
  while (p < olen && !end) {
    const dbuf = [0, 0, 0, 0, 0, 0, 0, 0];
    let dlen = 8;
    for (let j = 0; j < 8; ) {
      if (p === olen) return err(olen - (olen - p) - j);
      const c = src[p++]!;
      const rem = olen - p;
      if (c === 0x3d && j >= 2 && rem < 8) {
        if (rem + j < 7) return err(olen);
        for (let k = 0; k < 7 - j; k++) {
          if (rem > k && src[p + k] !== 0x3d) return err(olen - rem + k - 1);
        }
        dlen = j;
        end = true;
        if (dlen === 1 || dlen === 3 || dlen === 6) return err(olen - rem - 1);
        break;
      }
      const d = c < 0x80 ? B32.indexOf(String.fromCharCode(c)) : -1;
      if (d < 0) return err(olen - rem - 1);
      dbuf[j] = d;
      j++;
    }
    let bits = 0n;
    for (let k = 0; k < 8; k++) bits = (bits << 5n) | BigInt(dbuf[k]!);
    const n = { 8: 5, 7: 4, 5: 3, 4: 2, 2: 1 }[dlen as 8 | 7 | 5 | 4 | 2] ?? 0;
    for (let k = 0; k < n; k++) out.push(Number((bits >> BigInt(32 - 8 * k)) & 255n));
  }
  return fromUtf8(Uint8Array.from(out));
}

export function stringFuncs(): FuncMap {
  return {
    hello: goFunc([], () => 'Hello!'),
    abbrev: goFunc([I, S], ([w, s]) => {
      const width = num(w!);
      return width < 4 ? (s as string) : abbreviateFull(s as string, 0, width);
    }),
    abbrevboth: goFunc([I, I, S], ([l, r, s]) => {
      const left = num(l!);
      const right = num(r!);
      if (right < 4 || (left > 0 && right < 7)) return s as string;
      return abbreviateFull(s as string, left, right);
    }),
    trunc: goFunc([I, S], ([c, s]) => trunc(num(c!), s as string)),
    trim: goFunc([S], ([s]) => trimSpace(s as string)),
    upper: goFunc([S], ([s]) => goToUpper(s as string)),
    lower: goFunc([S], ([s]) => goToLower(s as string)),
    title: goFunc([S], ([s]) => goTitle(s as string)),
    untitle: goFunc([S], ([s]) => uncapitalize(s as string)),
    substr: goFunc([I, I, S], ([a, b, s]) => substring(num(a!), num(b!), s as string)),
    repeat: goFunc([I, S], ([c, s]) => repeat(s as string, num(c!), 'repeat')),
    trimall: goFunc([S, S], ([a, b]) => trimCutset(b as string, a as string)),
    trimAll: goFunc([S, S], ([a, b]) => trimCutset(b as string, a as string)),
    trimSuffix: goFunc([S, S], ([a, b]) => {
      const s = b as string;
      const x = a as string;
      return x !== '' && s.endsWith(x) ? s.slice(0, s.length - x.length) : s;
    }),
    trimPrefix: goFunc([S, S], ([a, b]) => {
      const s = b as string;
      const x = a as string;
      return x !== '' && s.startsWith(x) ? s.slice(x.length) : s;
    }),
    nospace: goFunc([S], ([s]) => deleteWhiteSpace(s as string)),
    initials: goFunc([S], ([s]) => initials(s as string)),
    randAlphaNum: goFunc([I], ([c]) => randomString(num(c!), ALPHA + DIGITS)),
    randAlpha: goFunc([I], ([c]) => randomString(num(c!), ALPHA)),
    randAscii: goFunc([I], ([c]) => randomString(num(c!), ASCII)),
    randNumeric: goFunc([I], ([c]) => randomString(num(c!), DIGITS)),
    swapcase: goFunc([S], ([s]) => swapCase(s as string)),
    shuffle: goFunc([S], ([s]) => shuffle(s as string)),
    snakecase: goFunc([S], ([s]) => camelCaseToLowerCase(s as string, '_')),
    camelcase: goFunc([S], ([s]) => toPascalCase(s as string)),
    kebabcase: goFunc([S], ([s]) => camelCaseToLowerCase(s as string, '-')),
    wrap: goFunc([I, S], ([l, s]) => wrapCustom(s as string, num(l!), '', false)),
    wrapWith: goFunc([I, S, S], ([l, sep, s]) => wrapCustom(s as string, num(l!), sep as string, true)),
    contains: goFunc([S, S], ([sub, s]) => (s as string).includes(sub as string)),
    hasPrefix: goFunc([S, S], ([p, s]) => (s as string).startsWith(p as string)),
    hasSuffix: goFunc([S, S], ([p, s]) => (s as string).endsWith(p as string)),
    quote: goFunc(
      [],
      (args) =>
        args
          .filter((a) => !isNil(a))
          .map((a) => goQuote(strval(a)))
          .join(' '),
      'any',
    ),
    squote: goFunc(
      [],
      (args) =>
        args
          .filter((a) => !isNil(a))
          .map((a) => `'${sprint([a])}'`)
          .join(' '),
      'any',
    ),
    cat: goFunc(
      [],
      (args) =>
        args
          .filter((a) => !isNil(a))
          .map((a) => sprint([a]))
          .join(' '),
      'any',
    ),
    indent: goFunc([I, S], ([n, s]) => indent(num(n!), s as string)),
    nindent: goFunc([I, S], ([n, s]) => `\n${indent(num(n!), s as string)}`),
    replace: goFunc([S, S, S], ([o, n, s]) => goReplaceAll(s as string, o as string, n as string)),
    plural: goFunc([S, S, I], ([one, many, c]) => (c === 1n ? (one as string) : (many as string))),
    toString: goFunc(['any'], ([v]) => strval(v!)),
    split: goFunc([S, S], ([sep, s]) => splitMap(goSplit(s as string, sep as string))),
    splitList: goFunc([S, S], ([sep, s]) => typed(goSplit(s as string, sep as string), '[]string')),
    splitn: goFunc([S, I, S], ([sep, n, s]) => {
      const parts = goSplit(s as string, sep as string, num(n!));
      return parts.length === 0 ? typed(newGoMap(), 'map[string]string') : splitMap(parts);
    }),
    toStrings: goFunc(['any'], ([v]) => typed(strslice(v!), '[]string')),
    join: goFunc([S, 'any'], ([sep, v]) => strslice(v!).join(sep as string)),
    sortAlpha: goFunc(['any'], ([v]) => {
      if (isNilSlice(v)) return v!; // strslice passes a []string (nil too) through
      if (Array.isArray(v) || v instanceof Uint8Array)
        return typed(strslice(v).sort(compareGoStrings), '[]string');
      return typed([strval(v!)], '[]string');
    }),
    b64enc: goFunc([S], ([s]) => Buffer.from(utf8(s as string)).toString('base64')),
    b64dec: goFunc([S], ([s]) => b64dec(s as string)),
    b32enc: goFunc([S], ([s]) => b32enc(s as string)),
    b32dec: goFunc([S], ([s]) => b32dec(s as string)),
  };
}
