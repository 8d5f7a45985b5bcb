/**
 * Go's strconv quoting (Quote, QuoteToASCII, QuoteRune) and unicode.IsPrint, as fmt's
 * %q and %c use them.
 */

export function runeString(v: bigint): string {
  const n = Number(v);
  if (v < 0n || v > 0x10ffffn || (n >= 0xd800 && n < 0xe000)) return '\ufffd';
  return String.fromCodePoint(n);
}

/** unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space. */
export function isPrint(cp: number): boolean {
  if (cp === 0x20) return true;
  if (cp < 0x20 || cp === 0x7f) return false;
  if (cp < 0x7f) return true;
  return PRINT_RE.test(String.fromCodePoint(cp));
}
const PRINT_RE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function escapeRune(cp: number, q: string, asciiOnly: boolean): string {
  if (cp === q.charCodeAt(0) || cp === 0x5c) return '\\' + String.fromCodePoint(cp);
  if (asciiOnly ? cp < 0x80 && isPrint(cp) : isPrint(cp)) return String.fromCodePoint(cp);
  switch (cp) {
    case 7:
      return '\\a';
    case 8:
      return '\\b';
    case 12:
      return '\\f';
    case 10:
      return '\\n';
    case 13:
      return '\\r';
    case 9:
      return '\\t';
    case 11:
      return '\\v';
  }
  if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}

/** strconv.Quote (or QuoteToASCII when `asciiOnly`). @public */
export function quote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) {
    let cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd;
    out += escapeRune(cp, '"', asciiOnly);
  }
  return out + '"';
}

export function quoteRune(v: bigint, asciiOnly: boolean): string {
  let cp = v < 0n || v > 0x10ffffn ? 0xfffd : Number(v);
  if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd;
  return "'" + escapeRune(cp, "'", asciiOnly) + "'";
}

export function canBackquote(s: string): boolean {
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '`' || cp === 0xfeff) return false;
    if (cp < 0x20 && ch !== '\t') return false;
    if (cp === 0x7f) return false;
  }
  return true;
}
