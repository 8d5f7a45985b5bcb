/**
 * Lexer for Go text/template (text/template/parse/lex.go semantics): delimiters,
 * trim markers, comments, strings, raw strings, char constants, numbers, keywords,
 * fields, variables, `:=`, `=`, pipes and parentheses.
 */
import { quote as goQuote } from './fmt.js';

export enum T {
  Error,
  Bool,
  Char,
  CharConstant,
  Comment,
  Assign,
  Declare,
  Complex,
  EOF,
  Field,
  Identifier,
  LeftDelim,
  LeftParen,
  Number,
  Pipe,
  RawString,
  RightDelim,
  RightParen,
  Space,
  String,
  Text,
  Variable,
  // keywords
  Keyword,
  Block,
  Break,
  Continue,
  Dot,
  Define,
  Else,
  End,
  If,
  Range,
  Nil,
  Template,
  With,
}

export interface Item {
  typ: T;
  pos: number; // UTF-16 offset into the input
  val: string;
  line: number;
}

const KEYWORDS: Record<string, T> = {
  '.': T.Dot,
  block: T.Block,
  break: T.Break,
  continue: T.Continue,
  define: T.Define,
  else: T.Else,
  end: T.End,
  if: T.If,
  range: T.Range,
  nil: T.Nil,
  template: T.Template,
  with: T.With,
};

function keyword(word: string): T | undefined {
  return Object.hasOwn(KEYWORDS, word) ? KEYWORDS[word] : undefined;
}

const SPACE_CHARS = ' \t\r\n';
const LEFT_DELIM = '{{';
const RIGHT_DELIM = '}}';
const LEFT_COMMENT = '/*';
const RIGHT_COMMENT = '*/';

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

const ALNUM_RE = /^[_\p{L}\p{Nd}]$/u;
function isAlphaNumeric(c: string | undefined): boolean {
  if (c === undefined) return false;
  const code = c.charCodeAt(0);
  if (code < 0x80)
    return (
      c === '_' || (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122)
    );
  return ALNUM_RE.test(c);
}

function hasLeftTrimMarker(s: string, at: number): boolean {
  return s[at] === '-' && isSpace(s[at + 1]);
}
function hasRightTrimMarker(s: string, at: number): boolean {
  return isSpace(s[at]) && s[at + 1] === '-';
}

/** %#U formatting of a rune, e.g. U+0021 '!'. */
export function runeU(c: string): string {
  const cp = c.codePointAt(0)!;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  const printable = cp >= 0x20 && cp !== 0x7f && !/^[\p{C}\p{Z}]$/u.test(c);
  return printable || cp === 0x20 ? `U+${hex} '${c}'` : `U+${hex}`;
}

export interface LexOptions {
  breakOK: boolean;
  continueOK: boolean;
}

export class Lexer {
  private pos = 0;
  private start = 0;
  private width = 0;
  private parenDepth = 0;
  private line = 1;
  private startLine = 1;
  private state: ((this: Lexer) => Item | null) | null = this.lexText;
  private readonly input: string;

  constructor(
    input: string,
    private readonly options: LexOptions,
  ) {
    this.input = input;
  }

  private next(): string | undefined {
    if (this.pos >= this.input.length) {
      this.width = 0;
      return undefined;
    }
    const cp = this.input.codePointAt(this.pos)!;
    const ch = String.fromCodePoint(cp);
    this.width = ch.length;
    this.pos += this.width;
    if (ch === '\n') this.line++;
    return ch;
  }

  private peek(): string | undefined {
    const r = this.next();
    this.backup();
    return r;
  }

  private backup(): void {
    this.pos -= this.width;
    if (this.width === 1 && this.input[this.pos] === '\n') this.line--;
  }

  private emit(typ: T): Item {
    const item = { typ, pos: this.start, val: this.input.slice(this.start, this.pos), line: this.startLine };
    this.start = this.pos;
    this.startLine = this.line;
    return item;
  }

  private ignore(): void {
    this.line += count(this.input.slice(this.start, this.pos), '\n');
    this.start = this.pos;
    this.startLine = this.line;
  }

  private accept(valid: string): boolean {
    const r = this.next();
    if (r !== undefined && valid.includes(r)) return true;
    this.backup();
    return false;
  }

  private acceptRun(valid: string): void {
    for (;;) {
      const r = this.next();
      if (r === undefined || !valid.includes(r)) break;
    }
    this.backup();
  }

  private errorf(msg: string): Item {
    this.state = null;
    return { typ: T.Error, pos: this.start, val: msg, line: this.startLine };
  }

  nextItem(): Item {
    while (this.state !== null) {
      const st = this.state;
      const item = st.call(this);
      if (item !== null) return item;
    }
    return { typ: T.EOF, pos: this.pos, val: '', line: this.startLine };
  }

  private lexText(): Item | null {
    this.width = 0;
    const x = this.input.indexOf(LEFT_DELIM, this.pos);
    if (x >= 0) {
      this.pos = x;
      let trimLength = 0;
      if (hasLeftTrimMarker(this.input, this.pos + LEFT_DELIM.length)) {
        const text = this.input.slice(this.start, this.pos);
        trimLength = text.length - trimRight(text).length;
      }
      this.pos -= trimLength;
      let item: Item | null = null;
      if (this.pos > this.start) {
        this.line += count(this.input.slice(this.start, this.pos), '\n');
        item = this.emit(T.Text);
      }
      this.pos += trimLength;
      this.ignore();
      this.state = this.lexLeftDelim;
      return item;
    }
    this.pos = this.input.length;
    if (this.pos > this.start) {
      this.line += count(this.input.slice(this.start, this.pos), '\n');
      return this.emit(T.Text);
    }
    this.state = null;
    return this.emit(T.EOF);
  }

  private atRightDelim(): [boolean, boolean] {
    if (hasRightTrimMarker(this.input, this.pos) && this.input.startsWith(RIGHT_DELIM, this.pos + 2))
      return [true, true];
    if (this.input.startsWith(RIGHT_DELIM, this.pos)) return [true, false];
    return [false, false];
  }

  private lexLeftDelim(): Item | null {
    this.pos += LEFT_DELIM.length;
    const trimSpace = hasLeftTrimMarker(this.input, this.pos);
    const afterMarker = trimSpace ? 2 : 0;
    if (this.input.startsWith(LEFT_COMMENT, this.pos + afterMarker)) {
      this.pos += afterMarker;
      this.ignore();
      this.state = this.lexComment;
      return null;
    }
    const item = this.emit(T.LeftDelim);
    this.state = this.lexInsideAction;
    this.pos += afterMarker;
    this.ignore();
    this.parenDepth = 0;
    return item;
  }

  private lexComment(): Item | null {
    this.pos += LEFT_COMMENT.length;
    const i = this.input.indexOf(RIGHT_COMMENT, this.pos);
    if (i < 0) return this.errorf('unclosed comment');
    this.pos = i + RIGHT_COMMENT.length;
    const [delim, trimSpace] = this.atRightDelim();
    if (!delim) return this.errorf('comment ends before closing delimiter');
    if (trimSpace) this.pos += 2;
    this.pos += RIGHT_DELIM.length;
    if (trimSpace) this.pos += leftTrimLength(this.input, this.pos);
    this.ignore();
    this.state = this.lexText;
    return null;
  }

  private lexRightDelim(): Item | null {
    const trimSpace = hasRightTrimMarker(this.input, this.pos);
    if (trimSpace) {
      this.pos += 2;
      this.ignore();
    }
    this.pos += RIGHT_DELIM.length;
    const item = this.emit(T.RightDelim);
    if (trimSpace) {
      this.pos += leftTrimLength(this.input, this.pos);
      this.ignore();
    }
    this.state = this.lexText;
    return item;
  }

  private lexInsideAction(): Item | null {
    const [delim] = this.atRightDelim();
    if (delim) {
      if (this.parenDepth === 0) {
        this.state = this.lexRightDelim;
        return null;
      }
      return this.errorf('unclosed left paren');
    }
    const r = this.next();
    if (r === undefined) return this.errorf('unclosed action');
    if (isSpace(r)) {
      this.backup();
      this.state = this.lexSpace;
      return null;
    }
    switch (r) {
      case '=':
        return this.emit(T.Assign);
      case ':':
        if (this.next() !== '=') return this.errorf('expected :=');
        return this.emit(T.Declare);
      case '|':
        return this.emit(T.Pipe);
      case '"':
        this.state = this.lexQuote;
        return null;
      case '`':
        this.state = this.lexRawQuote;
        return null;
      case '$':
        this.state = this.lexVariable;
        return null;
      case "'":
        this.state = this.lexChar;
        return null;
      case '(':
        this.parenDepth++;
        return this.emit(T.LeftParen);
      case ')': {
        const item = this.emit(T.RightParen);
        this.parenDepth--;
        if (this.parenDepth < 0) return this.errorf(`unexpected right paren ${runeU(r)}`);
        return item;
      }
    }
    if (r === '.') {
      if (this.pos < this.input.length) {
        const c = this.input[this.pos]!;
        if (c < '0' || c > '9') {
          this.state = this.lexField;
          return null;
        }
      }
    }
    if (r === '.' || r === '+' || r === '-' || (r >= '0' && r <= '9')) {
      this.backup();
      this.state = this.lexNumber;
      return null;
    }
    if (isAlphaNumeric(r)) {
      this.backup();
      this.state = this.lexIdentifier;
      return null;
    }
    const cp = r.codePointAt(0)!;
    if (cp <= 0x7f && cp >= 0x20 && cp !== 0x7f) return this.emit(T.Char);
    return this.errorf(`unrecognized character in action: ${runeU(r)}`);
  }

  private lexSpace(): Item | null {
    let numSpaces = 0;
    for (;;) {
      const r = this.peek();
      if (!isSpace(r)) break;
      this.next();
      numSpaces++;
    }
    if (
      hasRightTrimMarker(this.input, this.pos - 1) &&
      this.input.startsWith(RIGHT_DELIM, this.pos - 1 + 2)
    ) {
      this.backup();
      if (numSpaces === 1) {
        this.state = this.lexRightDelim;
        return null;
      }
    }
    this.state = this.lexInsideAction;
    return this.emit(T.Space);
  }

  private lexIdentifier(): Item | null {
    for (;;) {
      const r = this.next();
      if (isAlphaNumeric(r)) continue;
      this.backup();
      const word = this.input.slice(this.start, this.pos);
      if (!this.atTerminator()) return this.errorf(`bad character ${runeU(r ?? '')}`);
      this.state = this.lexInsideAction;
      const kw = keyword(word);
      if (kw !== undefined && kw > T.Keyword) {
        if ((kw === T.Break && !this.options.breakOK) || (kw === T.Continue && !this.options.continueOK))
          return this.emit(T.Identifier);
        return this.emit(kw);
      }
      if (word[0] === '.') return this.emit(T.Field);
      if (word === 'true' || word === 'false') return this.emit(T.Bool);
      return this.emit(T.Identifier);
    }
  }

  private lexField(): Item | null {
    return this.lexFieldOrVariable(T.Field);
  }

  private lexVariable(): Item | null {
    if (this.atTerminator()) {
      this.state = this.lexInsideAction;
      return this.emit(T.Variable);
    }
    return this.lexFieldOrVariable(T.Variable);
  }

  private lexFieldOrVariable(typ: T): Item | null {
    if (this.atTerminator()) {
      this.state = this.lexInsideAction;
      return this.emit(typ === T.Variable ? T.Variable : T.Dot);
    }
    let r: string | undefined;
    for (;;) {
      r = this.next();
      if (!isAlphaNumeric(r)) {
        this.backup();
        break;
      }
    }
    if (!this.atTerminator()) return this.errorf(`bad character ${runeU(r ?? '')}`);
    this.state = this.lexInsideAction;
    return this.emit(typ);
  }

  private atTerminator(): boolean {
    const r = this.peek();
    if (r === undefined || isSpace(r)) return true;
    switch (r) {
      case '.':
      case ',':
      case '|':
      case ':':
      case ')':
      case '(':
        return true;
    }
    return r === RIGHT_DELIM[0];
  }

  private lexChar(): Item | null {
    for (;;) {
      const c = this.next();
      if (c === '\\') {
        const r = this.next();
        if (r !== undefined && r !== '\n') continue;
        return this.errorf('unterminated character constant');
      }
      if (c === undefined || c === '\n') return this.errorf('unterminated character constant');
      if (c === "'") break;
    }
    this.state = this.lexInsideAction;
    return this.emit(T.CharConstant);
  }

  private lexNumber(): Item | null {
    if (!this.scanNumber())
      return this.errorf(`bad number syntax: ${goQuote(this.input.slice(this.start, this.pos))}`);
    const sign = this.peek();
    if (sign === '+' || sign === '-') {
      if (!this.scanNumber() || this.input[this.pos - 1] !== 'i')
        return this.errorf(`bad number syntax: ${goQuote(this.input.slice(this.start, this.pos))}`);
      this.state = this.lexInsideAction;
      return this.emit(T.Complex);
    }
    this.state = this.lexInsideAction;
    return this.emit(T.Number);
  }

  private scanNumber(): boolean {
    this.accept('+-');
    let digits = '0123456789_';
    if (this.accept('0')) {
      if (this.accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (this.accept('oO')) digits = '01234567_';
      else if (this.accept('bB')) digits = '01_';
    }
    this.acceptRun(digits);
    if (this.accept('.')) this.acceptRun(digits);
    if (digits.length === 11 && this.accept('eE')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    if (digits.length === 23 && this.accept('pP')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    this.accept('i');
    if (isAlphaNumeric(this.peek())) {
      this.next();
      return false;
    }
    return true;
  }

  private lexQuote(): Item | null {
    for (;;) {
      const c = this.next();
      if (c === '\\') {
        const r = this.next();
        if (r !== undefined && r !== '\n') continue;
        return this.errorf('unterminated quoted string');
      }
      if (c === undefined || c === '\n') return this.errorf('unterminated quoted string');
      if (c === '"') break;
    }
    this.state = this.lexInsideAction;
    return this.emit(T.String);
  }

  private lexRawQuote(): Item | null {
    for (;;) {
      const c = this.next();
      if (c === undefined) return this.errorf('unterminated raw quoted string');
      if (c === '`') break;
    }
    this.state = this.lexInsideAction;
    return this.emit(T.RawString);
  }
}

function count(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i >= 0; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

function trimRight(s: string): string {
  let end = s.length;
  while (end > 0 && SPACE_CHARS.includes(s[end - 1]!)) end--;
  return s.slice(0, end);
}

function leftTrimLength(s: string, at: number): number {
  let i = at;
  while (i < s.length && SPACE_CHARS.includes(s[i]!)) i++;
  return i - at;
}
