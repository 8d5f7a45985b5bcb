/**
 * A YAML emitter that writes what Go's `sigs.k8s.io/yaml.Marshal` (go-yaml v2) writes:
 * sorted keys in yaml.v2 order, unindented sequences, yaml.v2 quoting, plain scalars
 * folded at 80 columns. Used for Helm's re-marshalled `Chart.yaml`/`Chart.lock` in
 * packages and for the `.prov` message block.
 * @internal
 */
// ---------------------------------------------------------------------------------------
// YAML marshalling in the style of sigs.k8s.io/yaml (JSON -> yaml.v2)
// ---------------------------------------------------------------------------------------

import { isRecord as isObject } from '../internal/guards.js';
import { resolveGoScalar } from './go-scalar.js';

const BEST_WIDTH = 80;

// Key order of yaml.v2 (`keyList.Less`): letters compare by code point and sort
// after non-letters; runs of digits compare numerically.
function isLetter(c: string): boolean {
  return /\p{L}/u.test(c);
}
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * Comparator for yaml.v2's "natural" key order (`keyList.Less` on string keys):
 * letters sort after other characters, runs of digits compare numerically.
 * @internal
 */
export function compareYamlKeys(a: string, b: string): number {
  if (a === b) return 0;
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ac = ar[i]!;
    const bc = br[i]!;
    if (ac === bc) continue;
    const al = isLetter(ac);
    const bl = isLetter(bc);
    if (al && bl) return ac.codePointAt(0)! < bc.codePointAt(0)! ? -1 : 1;
    if (al || bl) return bl ? -1 : 1;
    let an = 0n;
    let bn = 0n;
    if (ac === '0' || bc === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10n + BigInt(ar[ai]!.charCodeAt(0) - 48);
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10n + BigInt(br[bi]!.charCodeAt(0) - 48);
    if (an !== bn) return an < bn ? -1 : 1;
    if (ai !== bi) return ai < bi ? -1 : 1;
    return ac.codePointAt(0)! < bc.codePointAt(0)! ? -1 : 1;
  }
  return ar.length < br.length ? -1 : 1;
}

/** yaml.v2 `isBase60Float`: quoted even though it resolves to a string. */
const BASE60 = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
/**
 * True when yaml.v2 would not write this string plain because, unquoted, it would
 * resolve to null, a bool, a number, a timestamp or the merge key (or is a base-60
 * float), following yaml.v2's `resolve` and `encoder.stringv`.
 * @internal
 */
export function isAmbiguousYamlString(s: string): boolean {
  return resolveGoScalar(s).kind !== 'str' || BASE60.test(s);
}

// yaml.v2's `is_printable` (unicode output enabled): only the Basic Multilingual Plane
// minus controls, surrogates, the BOM and U+FFFE/U+FFFF. NEL and every character above
// U+FFFF are "special", so such strings are double-quoted with `\N` / `\UXXXXXXXX`.
function isPrintable(cp: number): boolean {
  return (
    cp === 0x0a ||
    (cp >= 0x20 && cp <= 0x7e) ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff)
  );
}
const isBreak = (c: string | undefined): boolean =>
  c === '\n' || c === '\r' || c === '\u0085' || c === '\u2028' || c === '\u2029';
const isBlankOrEnd = (c: string | undefined): boolean =>
  c === undefined || c === ' ' || c === '\t' || isBreak(c);

interface ScalarAnalysis {
  blockPlain: boolean;
  singleQuoted: boolean;
  block: boolean;
  multiline: boolean;
}

// A condensed form of libyaml's `yaml_emitter_analyze_scalar` for block context.
function analyzeScalar(s: string): ScalarAnalysis {
  const chars = [...s];
  let blockIndicators = false;
  let specialCharacters = false;
  let lineBreaks = false;
  let spaceBreak = false;
  let breakSpace = false;
  let previousSpace = false;
  let previousBreak = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  if (s.startsWith('---') || s.startsWith('...')) blockIndicators = true;
  let precededByWhitespace = true;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const next = chars[i + 1];
    const followedByWhitespace = isBlankOrEnd(next);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) blockIndicators = true;
      if ((c === '?' || c === ':' || c === '-') && followedByWhitespace) blockIndicators = true;
    } else {
      if (c === ':' && followedByWhitespace) blockIndicators = true;
      if (c === '#' && precededByWhitespace) blockIndicators = true;
    }
    const cp = c.codePointAt(0)!;
    if (!isPrintable(cp)) specialCharacters = true;
    if (isBreak(c)) lineBreaks = true;
    if (c === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousBreak = true;
      previousSpace = false;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlankOrEnd(c);
  }
  let blockPlain = true;
  let singleQuoted = true;
  let block = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) blockPlain = false;
  if (trailingSpace) block = false;
  if (breakSpace) {
    blockPlain = false;
    singleQuoted = false;
  }
  if (spaceBreak || specialCharacters) {
    blockPlain = false;
    singleQuoted = false;
    block = false;
  }
  if (lineBreaks) blockPlain = false;
  if (blockIndicators) blockPlain = false;
  return { blockPlain, singleQuoted, block, multiline: lineBreaks };
}

class Emitter {
  out = '';
  column = 0;

  write(s: string): void {
    this.out += s;
    const nl = s.lastIndexOf('\n');
    this.column = nl < 0 ? this.column + [...s].length : [...s.slice(nl + 1)].length;
  }

  newline(indent: number): void {
    this.write(`\n${' '.repeat(indent)}`);
  }

  plain(s: string, indent: number): void {
    const chars = [...s];
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (c === ' ') {
        if (!spaces && indent >= 0 && this.column > BEST_WIDTH && chars[i + 1] !== ' ') this.newline(indent);
        else this.write(c);
        spaces = true;
      } else {
        this.write(c);
        spaces = false;
      }
    }
  }

  singleQuoted(s: string, indent: number): void {
    const chars = [...s];
    this.write("'");
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (c === ' ') {
        if (
          !spaces &&
          indent >= 0 &&
          this.column > BEST_WIDTH &&
          i !== 0 &&
          i !== chars.length - 1 &&
          chars[i + 1] !== ' '
        ) {
          this.newline(indent);
        } else this.write(c);
        spaces = true;
      } else {
        this.write(c === "'" ? "''" : c);
        spaces = false;
      }
    }
    this.write("'");
  }

  doubleQuoted(s: string, indent: number): void {
    const chars = [...s];
    this.write('"');
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      const cp = c.codePointAt(0)!;
      if (!isPrintable(cp) || cp === 0xfeff || isBreak(c) || c === '"' || c === '\\') {
        this.write(escapeDouble(c, cp));
        spaces = false;
      } else if (c === ' ') {
        if (!spaces && indent >= 0 && this.column > BEST_WIDTH && i !== 0 && i !== chars.length - 1) {
          this.newline(indent);
          if (chars[i + 1] === ' ') this.write('\\');
        } else this.write(c);
        spaces = true;
      } else {
        this.write(c);
        spaces = false;
      }
    }
    this.write('"');
  }

  literal(s: string, indent: number): void {
    let hints = '';
    if (s.startsWith(' ') || isBreak(s[0])) hints += '2';
    if (!s.endsWith('\n')) hints += '-';
    else if (s.length === 1 || s.endsWith('\n\n')) hints += '+';
    this.write(`|${hints}`);
    let breaks = true;
    this.write('\n');
    for (const c of s) {
      if (c === '\n') {
        this.write('\n');
        breaks = true;
      } else {
        if (breaks) this.write(' '.repeat(indent));
        this.write(c);
        breaks = false;
      }
    }
    // A trailing `\n` of the content is already written; the caller adds line ends.
    if (s.endsWith('\n')) this.out = this.out.slice(0, -1);
    this.column = 0;
  }

  /**
   * Writes a string scalar; `indent` is the indentation for continuation lines
   * (negative: no folding).
   */
  string(s: string, indent: number, simpleKey: boolean): void {
    const a = analyzeScalar(s);
    const at = simpleKey ? -1 : indent; // simple keys are never folded
    if (a.multiline) {
      if (a.block && !simpleKey) this.literal(s, at);
      else this.doubleQuoted(s, at);
    } else if (isAmbiguousYamlString(s)) this.doubleQuoted(s, at);
    else if (a.blockPlain) this.plain(s, at);
    else if (a.singleQuoted) this.singleQuoted(s, at);
    else this.doubleQuoted(s, at);
  }

  scalar(v: unknown, indent: number): void {
    if (v === null || v === undefined) this.write('null');
    else if (typeof v === 'boolean') this.write(v ? 'true' : 'false');
    else if (typeof v === 'number') this.write(goNumberText(v));
    else this.string(String(v), indent, false);
  }

  /** A value after `key:` or `- `, at block indentation `indent` of its parent. */
  value(v: unknown, indent: number, inSequence: boolean): void {
    if (Array.isArray(v)) {
      if (v.length === 0) this.write(' []');
      else {
        if (inSequence) {
          this.write(' ');
          this.sequence(v, indent + 2, true);
        } else {
          this.sequence(v, indent, false);
        }
      }
    } else if (isObject(v)) {
      if (definedKeys(v).length === 0) this.write(' {}');
      else if (inSequence) {
        this.write(' ');
        this.mapping(v, indent + 2, true);
      } else this.mapping(v, indent + 2, false);
    } else {
      this.write(' ');
      this.scalar(v, indent + 2);
    }
  }

  sequence(items: unknown[], indent: number, inline: boolean): void {
    items.forEach((item, i) => {
      if (!(inline && i === 0)) this.newline(indent);
      this.write('-');
      this.value(item, indent, true);
    });
  }

  mapping(obj: Record<string, unknown>, indent: number, inline: boolean): void {
    const keys = definedKeys(obj).sort(compareYamlKeys);
    keys.forEach((key, i) => {
      if (!(inline && i === 0)) {
        if (this.out !== '') this.newline(indent);
      }
      this.string(key, indent + 2, true);
      this.write(':');
      this.value(obj[key], indent, false);
    });
  }
}

/** Keys whose values survive JSON encoding (`undefined` members are dropped). */
function definedKeys(obj: Record<string, unknown>): string[] {
  return Object.keys(obj).filter((k) => obj[k] !== undefined);
}

function escapeDouble(c: string, cp: number): string {
  const simple: Record<string, string> = {
    '\0': '0',
    '\x07': 'a',
    '\b': 'b',
    '\t': 't',
    '\n': 'n',
    '\x0b': 'v',
    '\f': 'f',
    '\r': 'r',
    '\x1b': 'e',
    '"': '"',
    '\\': '\\',
    '\u0085': 'N',
    '\u00a0': '_',
    '\u2028': 'L',
    '\u2029': 'P',
  };
  const e = simple[c];
  if (e !== undefined) return `\\${e}`;
  if (cp <= 0xff) return `\\x${cp.toString(16).toUpperCase().padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return `\\U${cp.toString(16).toUpperCase().padStart(8, '0')}`;
}

/**
 * A JSON number as yaml.v2 writes it after sigs.k8s.io/yaml's round trip: integral
 * values as ints, others via `strconv.FormatFloat(f, 'g', -1, 64)` (exponent form
 * below 1e-4 and from 1e6 up, two-digit exponent minimum).
 */
function goNumberText(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (n === Number.POSITIVE_INFINITY) return '.inf';
  if (n === Number.NEGATIVE_INFINITY) return '-.inf';
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) return String(n);
  const [m, e] = n.toExponential().split('e');
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/**
 * Marshals a JSON-compatible value the way `sigs.k8s.io/yaml.Marshal` does (sorted
 * keys, unindented sequences, yaml.v2 quoting, plain scalars folded at 80 columns).
 * The result ends with a newline.
 * @internal
 */
export function marshalGoYaml(value: unknown): string {
  const e = new Emitter();
  if (isObject(value)) {
    if (definedKeys(value).length === 0) return '{}\n';
    e.mapping(value, 0, false);
  } else if (Array.isArray(value)) {
    if (value.length === 0) return '[]\n';
    e.sequence(value, 0, true);
  } else e.scalar(value, 2); // libyaml indents a root scalar's continuation lines by 2
  return `${e.out}\n`;
}
