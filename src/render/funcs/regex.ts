/**
 * Sprig regex functions (regex.go) with Go `regexp` (RE2) semantics via re2js,
 * working on UTF-8 bytes so offsets, `FindAll` empty-match rules and `Expand`
 * (`$1`, `${name}`) behave like Go.
 * @internal
 */
import type { RE2JS } from 're2js';
import { requireDependency } from '../../internal/lazy-require.js';

/** re2js, loaded when a template first uses a regular expression (not with the renderer). @internal */
export function re2(): typeof RE2JS {
  return requireDependency<{ RE2JS: typeof RE2JS }>('re2js').RE2JS;
}
import { quote as goQuote } from '../template/fmt.js';
import { type FuncMap, goFunc, utf8 } from '../template/value.js';
import { checkListSize, checkStringSize, fromUtf8, nilSlice, num, typed } from './util.js';

const S = 'string' as const;

interface Compiled {
  re: ReturnType<RE2JS['re2']>;
  names: Map<string, number>;
  ngroups: number;
  expr: string;
}

/** regexp.Compile: throws Go's error text on a bad pattern. */
export function compileUncached(pattern: string): Compiled {
  if (pattern.length > 1 << 20) throw new Error('error parsing regexp: expression too large');
  try {
    const r = re2().compile(pattern);
    const re = r.re2();
    const names = new Map(Object.entries(r.namedGroups()));
    return { re, names, ngroups: r.groupCount(), expr: pattern };
  } catch (e) {
    throw new Error((e as Error).message);
  }
}

/** regexp's quote(): backquoted when strconv.CanBackquote, else strconv.Quote. */
function goQuoteForPanic(s: string): string {
  const canBackquote = !/[`\u0000-\u0008\u000a-\u001f\u007f\ufeff\ud800-\udfff]/u.test(s);
  return canBackquote ? `\`${s}\`` : goQuote(s);
}

/** All match index arrays (Go's allMatches semantics, byte offsets). */
function findAll(c: Compiled, b: Uint8Array, n: number): number[][] {
  const res = (c.re.findAllUTF8SubmatchIndex(b, n < 0 ? b.length + 1 : n) as number[][] | null) ?? [];
  checkListSize(res.length, 'regexFindAll');
  return res;
}

function findAllString(c: Compiled, s: string, n: number): string[] {
  // No match (or n == 0) is a nil []string in Go: toJson writes `null`.
  if (n === 0) return nilSlice(typed([], '[]string'));
  const b = utf8(s);
  const all = findAll(c, b, n);
  if (all.length === 0) return nilSlice(typed([], '[]string'));
  return typed(
    all.map((m) => fromUtf8(b.subarray(m[0]!, m[1]!))),
    '[]string',
  );
}

function findString(c: Compiled, s: string): string {
  const b = utf8(s);
  const m = c.re.findUTF8Index(b) as number[] | null;
  return m ? fromUtf8(b.subarray(m[0]!, m[1]!)) : '';
}

/** regexp.Expand (Go rules: `$name`/`${name}`, `$$`, unknown groups expand to nothing). */
function expand(template: string, src: Uint8Array, match: number[], c: Compiled, out: number[]): void {
  let t = template;
  const pushStr = (x: string): void => {
    for (const byte of utf8(x)) out.push(byte);
  };
  const pushGroup = (i: number): void => {
    if (2 * i + 1 < match.length && match[2 * i]! >= 0) {
      for (let k = match[2 * i]!; k < match[2 * i + 1]!; k++) out.push(src[k]!);
    }
  };
  while (t.length > 0) {
    const d = t.indexOf('$');
    if (d < 0) break;
    pushStr(t.slice(0, d));
    t = t.slice(d + 1);
    if (t.startsWith('$')) {
      out.push(0x24);
      t = t.slice(1);
      continue;
    }
    const ex = extractName(t);
    if (ex === undefined) {
      out.push(0x24);
      continue;
    }
    t = ex.rest;
    if (ex.num >= 0) pushGroup(ex.num);
    else {
      const i = c.names.get(ex.name);
      if (i !== undefined) pushGroup(i);
    }
    checkStringSize(out.length, 'regexReplaceAll');
  }
  pushStr(t);
}

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;
function extractName(str0: string): { name: string; num: number; rest: string } | undefined {
  let str = str0;
  if (str === '') return undefined;
  let brace = false;
  if (str[0] === '{') {
    brace = true;
    str = str.slice(1);
  }
  let i = 0;
  for (const ch of str) {
    if (!NAME_CHAR.test(ch)) break;
    i += ch.length;
  }
  if (i === 0) return undefined;
  const name = str.slice(0, i);
  if (brace) {
    if (i >= str.length || str[i] !== '}') return undefined;
    i++;
  }
  let num = 0;
  for (let k = 0; k < name.length; k++) {
    const ch = name.charCodeAt(k);
    if (ch < 0x30 || ch > 0x39 || num >= 1e8) {
      num = -1;
      break;
    }
    num = num * 10 + ch - 0x30;
  }
  if (name[0] === '0' && name.length > 1) num = -1;
  return { name, num, rest: str.slice(i) };
}

function replaceAll(c: Compiled, s: string, repl: string, literal: boolean): string {
  const b = utf8(s);
  const r = literal ? utf8(repl) : new Uint8Array();
  const out: number[] = [];
  let last = 0;
  // Go's replaceAll: iterate matches; an empty match right after the previous match is skipped.
  const matches = findAll(c, b, -1);
  for (const m of matches) {
    for (let k = last; k < m[0]!; k++) out.push(b[k]!);
    if (literal) for (const x of r) out.push(x);
    else expand(repl, b, m, c, out);
    last = m[1]!;
    checkStringSize(out.length, 'regexReplaceAll');
  }
  for (let k = last; k < b.length; k++) out.push(b[k]!);
  return fromUtf8(Uint8Array.from(out));
}

function split(c: Compiled, s: string, n: number): string[] {
  if (n === 0) return nilSlice(typed([], '[]string')); // regexp.Split returns nil
  return typed(split0(c, s, n), '[]string');
}
function split0(c: Compiled, s: string, n: number): string[] {
  if (n === 0) return [];
  const b = utf8(s);
  if (c.expr.length > 0 && b.length === 0) return [''];
  const matches = findAll(c, b, n);
  const strings: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of matches) {
    if (n > 0 && strings.length === n - 1) break;
    end = m[0]!;
    if (m[1] !== 0) strings.push(fromUtf8(b.subarray(beg, end)));
    beg = m[1]!;
  }
  if (end !== b.length) strings.push(fromUtf8(b.subarray(beg)));
  return strings;
}

/** regexp.QuoteMeta. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, (c) => `\\${c}`);
}

export function regexFuncs(): FuncMap {
  // Compiled patterns, per function table (bounded; templates often reuse a few).
  const cache = new Map<string, Compiled>();
  const compileRegexp = (pattern: string): Compiled => {
    const hit = cache.get(pattern);
    if (hit) return hit;
    const c = compileUncached(pattern);
    if (cache.size >= 256) cache.delete(cache.keys().next().value as string);
    cache.set(pattern, c);
    return c;
  };
  const mustCompile = (pattern: string): Compiled => {
    try {
      return compileRegexp(pattern);
    } catch (e) {
      throw new Error(`regexp: Compile(${goQuoteForPanic(pattern)}): ${(e as Error).message}`);
    }
  };
  const matchString = (pattern: string, s: string): boolean => compileRegexp(pattern).re.matchUTF8(utf8(s));
  const guard = <T>(f: () => T, fallback: T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('error parsing regexp')) return fallback;
      throw e;
    }
  };
  return {
    regexMatch: goFunc([S, S], ([re, s]) => guard(() => matchString(re as string, s as string), false)),
    mustRegexMatch: goFunc([S, S], ([re, s]) => matchString(re as string, s as string)),
    regexFindAll: goFunc(['string', 'string', 'int'], ([re, s, n]) =>
      findAllString(mustCompile(re as string), s as string, num(n!)),
    ),
    mustRegexFindAll: goFunc(['string', 'string', 'int'], ([re, s, n]) =>
      findAllString(compileRegexp(re as string), s as string, num(n!)),
    ),
    regexFind: goFunc([S, S], ([re, s]) => findString(mustCompile(re as string), s as string)),
    mustRegexFind: goFunc([S, S], ([re, s]) => findString(compileRegexp(re as string), s as string)),
    regexReplaceAll: goFunc([S, S, S], ([re, s, r]) =>
      replaceAll(mustCompile(re as string), s as string, r as string, false),
    ),
    mustRegexReplaceAll: goFunc([S, S, S], ([re, s, r]) =>
      replaceAll(compileRegexp(re as string), s as string, r as string, false),
    ),
    regexReplaceAllLiteral: goFunc([S, S, S], ([re, s, r]) =>
      replaceAll(mustCompile(re as string), s as string, r as string, true),
    ),
    mustRegexReplaceAllLiteral: goFunc([S, S, S], ([re, s, r]) =>
      replaceAll(compileRegexp(re as string), s as string, r as string, true),
    ),
    regexSplit: goFunc(['string', 'string', 'int'], ([re, s, n]) =>
      split(mustCompile(re as string), s as string, num(n!)),
    ),
    mustRegexSplit: goFunc(['string', 'string', 'int'], ([re, s, n]) =>
      split(compileRegexp(re as string), s as string, num(n!)),
    ),
    regexQuoteMeta: goFunc([S], ([s]) => quoteMeta(s as string)),
  };
}
