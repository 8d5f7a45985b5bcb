/**
 * Go's fmt printing (Sprint, Sprintln, Sprintf) over the template value model.
 * Follows fmt/print.go + fmt/format.go + strconv/ftoa.go: verbs, flags, width,
 * precision, argument indexes and the `%!verb(type=value)` error forms.
 */
import { RenderLimitError } from './errors.js';
import { formatFloat, sharpFloat } from './ftoa.js';
import { canBackquote, isPrint, quote, quoteRune, runeString } from './quote.js';
import { GoStruct, type GoValue, isGoFunc, kindOf, MISSING, sortedKeys, typeName, utf8 } from './value.js';

export { formatFloat } from './ftoa.js';
export { isPrint, quote } from './quote.js';

interface Flags {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  plusV: boolean;
  sharpV: boolean;
  wid: number;
  widPresent: boolean;
  prec: number;
  precPresent: boolean;
}

function newFlags(): Flags {
  return {
    plus: false,
    minus: false,
    sharp: false,
    space: false,
    zero: false,
    plusV: false,
    sharpV: false,
    wid: 0,
    widPresent: false,
    prec: 0,
    precPresent: false,
  };
}

const NIL_ANGLE = '<nil>';

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Longest text one formatting call may build. A value that shares sub-values
 * (`dict "a" $d "b" $d`, doubled) prints exponentially long: stop before memory runs out.
 */
const MAX_FORMATTED = 64 * 1024 * 1024;

class Printer {
  buf = '';
  f: Flags = newFlags();

  pad(s: string): void {
    const f = this.f;
    if (!f.widPresent || f.wid === 0) {
      this.buf += s;
      return;
    }
    const width = f.wid - runeCount(s);
    if (width <= 0) {
      this.buf += s;
      return;
    }
    if (!f.minus) this.buf += (f.zero ? '0' : ' ').repeat(width) + s;
    else this.buf += s + ' '.repeat(width);
  }

  writePadding(n: number): void {
    if (n > 0) this.buf += (this.f.zero ? '0' : ' ').repeat(n);
  }

  // ---- strings

  truncate(s: string): string {
    if (this.f.precPresent) {
      let n = this.f.prec;
      let out = '';
      for (const ch of s) {
        if (n-- <= 0) break;
        out += ch;
      }
      return out;
    }
    return s;
  }

  fmtS(s: string): void {
    this.pad(this.truncate(s));
  }

  fmtSbx(bytes: Uint8Array, digits: string): void {
    const f = this.f;
    let length = bytes.length;
    if (f.precPresent && f.prec < length) length = f.prec;
    let out = '';
    for (let i = 0; i < length; i++) {
      if (f.space && i > 0) out += ' ';
      if (f.sharp && (f.space || i === 0)) out += digits === LOWER ? '0x' : '0X';
      const b = bytes[i]!;
      out += digits[b >> 4]! + digits[b & 15]!;
    }
    // Like Go: zero padding is not used for hex strings when width is wider.
    const zero = f.zero;
    f.zero = false;
    this.pad(out);
    f.zero = zero;
  }

  fmtQ(s: string): void {
    const f = this.f;
    s = this.truncate(s);
    if (f.sharp && canBackquote(s)) {
      this.pad('`' + s + '`');
      return;
    }
    this.pad(quote(s, f.plus));
  }

  fmtString(s: string, verb: string): void {
    switch (verb) {
      case 'v':
        if (this.f.sharpV) this.fmtQ(s);
        else this.fmtS(s);
        return;
      case 's':
        this.fmtS(s);
        return;
      case 'x':
        this.fmtSbx(utf8(s), LOWER);
        return;
      case 'X':
        this.fmtSbx(utf8(s), UPPER);
        return;
      case 'q':
        this.fmtQ(s);
        return;
      default:
        this.badVerb(verb, s);
    }
  }

  fmtBytes(b: Uint8Array, verb: string, depth: number): void {
    switch (verb) {
      case 'v':
      case 'd': {
        if (this.f.sharpV) {
          this.buf += '[]byte{';
          b.forEach((x, i) => {
            if (i > 0) this.buf += ', ';
            this.buf += '0x' + x.toString(16);
          });
          this.buf += '}';
          return;
        }
        this.buf += '[';
        b.forEach((x, i) => {
          if (i > 0) this.buf += ' ';
          this.fmtInteger(BigInt(x), 10, false, verb, LOWER);
        });
        this.buf += ']';
        return;
      }
      case 's':
        this.fmtS(new TextDecoder().decode(b));
        return;
      case 'x':
        this.fmtSbx(b, LOWER);
        return;
      case 'X':
        this.fmtSbx(b, UPPER);
        return;
      case 'q':
        this.fmtQ(new TextDecoder().decode(b));
        return;
      default: {
        this.buf += '[';
        b.forEach((x, i) => {
          if (i > 0) this.buf += ' ';
          this.printIntVerb(BigInt(x), verb, 'uint8', depth);
        });
        this.buf += ']';
      }
    }
  }

  // ---- booleans

  fmtBool(v: boolean, verb: string): void {
    if (verb === 't' || verb === 'v') this.pad(v ? 'true' : 'false');
    else this.badVerb(verb, v);
  }

  // ---- integers

  fmtInteger(value: bigint, base: number, signed: boolean, verb: string, digits: string): void {
    const f = this.f;
    const negative = signed && value < 0n;
    let u = negative ? -value : value;
    let prec = 0;
    if (f.precPresent) {
      prec = f.prec;
      if (prec === 0 && u === 0n) {
        const zero = f.zero;
        f.zero = false;
        this.writePadding(f.wid);
        f.zero = zero;
        return;
      }
    } else if (f.zero && !f.minus && f.widPresent) {
      prec = f.wid;
      if (negative || f.plus || f.space) prec--;
    }
    let s = '';
    if (u === 0n) s = '0';
    else {
      const b = BigInt(base);
      while (u > 0n) {
        s = digits[Number(u % b)]! + s;
        u /= b;
      }
    }
    while (s.length < prec) s = '0' + s;
    if (f.sharp) {
      if (base === 2) s = '0b' + s;
      else if (base === 8 && s[0] !== '0') s = '0' + s;
      else if (base === 16) s = (digits === UPPER ? '0X' : '0x') + s;
    }
    if (verb === 'O') s = '0o' + s;
    if (negative) s = '-' + s;
    else if (f.plus) s = '+' + s;
    else if (f.space) s = ' ' + s;
    const zero = f.zero;
    f.zero = false;
    this.pad(s);
    f.zero = zero;
  }

  printIntVerb(v: bigint, verb: string, type: string, _depth: number): void {
    const unsigned = type.startsWith('uint');
    switch (verb) {
      case 'v':
        if (this.f.sharpV && unsigned) this.fmtInteger(v, 16, false, verb, LOWER);
        else this.fmtInteger(v, 10, !unsigned, verb, LOWER);
        return;
      case 'd':
        this.fmtInteger(v, 10, !unsigned, verb, LOWER);
        return;
      case 'b':
        this.fmtInteger(v, 2, !unsigned, verb, LOWER);
        return;
      case 'o':
      case 'O':
        this.fmtInteger(v, 8, !unsigned, verb, LOWER);
        return;
      case 'x':
        this.fmtInteger(v, 16, !unsigned, verb, LOWER);
        return;
      case 'X':
        this.fmtInteger(v, 16, !unsigned, verb, UPPER);
        return;
      case 'c':
        this.pad(runeString(v));
        return;
      case 'q':
        this.pad(quoteRune(v, this.f.plus));
        return;
      case 'U': {
        const prec = this.f.precPresent && this.f.prec > 4 ? this.f.prec : 4;
        let s = 'U+' + BigInt.asUintN(64, v).toString(16).toUpperCase().padStart(prec, '0');
        if (this.f.sharp && v <= 0x10ffffn && isPrint(Number(v))) s += " '" + runeString(v) + "'";
        const zero = this.f.zero;
        this.f.zero = false;
        this.pad(s);
        this.f.zero = zero;
        return;
      }
      default:
        this.badVerb(verb, v, type);
    }
  }

  // ---- floats

  fmtFloat(v: number, verb: string, prec: number): void {
    const f = this.f;
    if (f.precPresent) prec = f.prec;
    let num = formatFloat(v, verb, prec);
    if (f.sharp && verb !== 'b') num = sharpFloat(num, verb, prec, v);
    if (num[0] !== '-' && num[0] !== '+') num = '+' + num;
    if (f.space && num[0] === '+' && !f.plus) num = ' ' + num.slice(1);
    if (num[1] === 'I' || num[1] === 'N') {
      const zero = f.zero;
      f.zero = false;
      if (num[1] === 'N' && !f.space && !f.plus) num = num.slice(1);
      this.pad(num);
      f.zero = zero;
      return;
    }
    if (f.plus || num[0] !== '+') {
      if (f.zero && !f.minus && f.widPresent && f.wid > num.length) {
        this.buf += num[0];
        this.writePadding(f.wid - num.length);
        this.buf += num.slice(1);
        return;
      }
      this.pad(num);
      return;
    }
    this.pad(num.slice(1));
  }

  printFloatVerb(v: number, verb: string): void {
    switch (verb) {
      case 'v':
        this.fmtFloat(v, 'g', -1);
        return;
      case 'b':
      case 'g':
      case 'G':
      case 'x':
      case 'X':
        this.fmtFloat(v, verb, -1);
        return;
      case 'f':
      case 'F':
      case 'e':
      case 'E':
        this.fmtFloat(v, verb, 6);
        return;
      default:
        this.badVerb(verb, v);
    }
  }

  // ---- errors

  badVerb(verb: string, arg: GoValue, type?: string): void {
    const saved = { ...this.f };
    this.buf += '%!' + verb + '(';
    if (arg === null || arg === MISSING) this.buf += NIL_ANGLE;
    else {
      this.buf += type ?? typeName(arg);
      this.buf += '=';
      this.f.sharpV = false;
      this.f.plusV = false;
      this.printArg(arg, 'v', 0);
    }
    this.buf += ')';
    this.f = saved;
  }

  // ---- generic

  printArg(arg: GoValue, verb: string, depth: number): void {
    if (arg === null || arg === MISSING) {
      if (verb === 'T' || verb === 'v') this.pad(NIL_ANGLE);
      else this.badVerb(verb, arg);
      return;
    }
    if (verb === 'T') {
      this.fmtS(typeName(arg));
      return;
    }
    if (verb === 'p') {
      this.badVerb(verb, arg);
      return;
    }
    switch (typeof arg) {
      case 'boolean':
        this.fmtBool(arg, verb);
        return;
      case 'number':
        this.printFloatVerb(arg, verb);
        return;
      case 'bigint':
        this.printIntVerb(arg, verb, 'int', depth);
        return;
      case 'string':
        this.fmtString(arg, verb);
        return;
    }
    if (arg instanceof Uint8Array) {
      this.fmtBytes(arg, verb, depth);
      return;
    }
    if (arg instanceof GoStruct && arg.stringer && 'vsxXq'.includes(verb) && !this.f.sharpV) {
      this.fmtString(arg.stringer(), verb);
      return;
    }
    this.printValue(arg, verb, depth);
  }

  printValue(v: GoValue, verb: string, depth: number): void {
    if (depth > 0 && v !== null && v !== MISSING && typeof v !== 'object') {
      this.printArg(v, verb, depth);
      return;
    }
    if (depth > 0 && (v === null || v === MISSING)) {
      this.pad(NIL_ANGLE);
      return;
    }
    if (depth > 0 && (v instanceof Uint8Array || v instanceof GoStruct)) {
      if (v instanceof Uint8Array && 'sqxX'.includes(verb)) {
        this.fmtBytes(v, verb, depth);
        return;
      }
      if (v instanceof GoStruct && v.stringer && 'vsxXq'.includes(verb) && !this.f.sharpV) {
        this.fmtString(v.stringer(), verb);
        return;
      }
    }
    const kind = kindOf(v);
    if (this.buf.length > MAX_FORMATTED)
      throw new RenderLimitError('maxFunctionOutput', `fmt: result larger than ${MAX_FORMATTED} characters`);
    switch (kind) {
      case 'map': {
        const m = v as Record<string, GoValue>;
        if (this.f.sharpV) this.buf += 'map[string]interface {}{';
        else this.buf += 'map[';
        const keys = sortedKeys(m);
        keys.forEach((k, i) => {
          if (i > 0) this.buf += this.f.sharpV ? ', ' : ' ';
          this.printValue(k, verb, depth + 1);
          this.buf += ':';
          this.printValue(m[k]!, verb, depth + 1);
        });
        this.buf += this.f.sharpV ? '}' : ']';
        return;
      }
      case 'slice':
      case 'bytes': {
        const arr = v as ArrayLike<GoValue | number>;
        const bytes = v instanceof Uint8Array;
        if (this.f.sharpV) this.buf += bytes ? '[]byte{' : '[]interface {}{';
        else this.buf += '[';
        for (let i = 0; i < arr.length; i++) {
          if (i > 0) this.buf += this.f.sharpV ? ', ' : ' ';
          const el = arr[i]!;
          if (bytes) this.printIntVerb(BigInt(el as number), verb, 'uint8', depth + 1);
          else this.printValue(el as GoValue, verb, depth + 1);
        }
        this.buf += this.f.sharpV ? '}' : ']';
        return;
      }
      case 'struct': {
        const s = v as GoStruct;
        if (depth === 0 && s.typeName.startsWith('*')) this.buf += '&';
        if (this.f.sharpV) this.buf += s.typeName.replace(/^\*/, '');
        this.buf += '{';
        s.fieldNames().forEach((name, i) => {
          if (i > 0) this.buf += this.f.sharpV ? ', ' : ' ';
          if (this.f.plusV || this.f.sharpV) this.buf += name + ':';
          this.printValue(s.field(name)!, verb, depth + 1);
        });
        this.buf += '}';
        return;
      }
      case 'func':
        this.pad(isGoFunc(v) ? '0x0' : '?');
        return;
      default:
        this.printArg(v, verb, depth);
    }
  }
}

const LOWER = '0123456789abcdef';
const UPPER = '0123456789ABCDEF';

// ---------------------------------------------------------------- public

/** fmt.Sprint: spaces between operands when neither side is a string. @public */
export function sprint(args: readonly GoValue[]): string {
  const p = new Printer();
  let prevString = false;
  args.forEach((arg, i) => {
    const isString = typeof arg === 'string';
    if (i > 0 && !isString && !prevString) p.buf += ' ';
    p.f = newFlags();
    p.printArg(arg, 'v', 0);
    prevString = isString;
  });
  return p.buf;
}

/** fmt.Sprintln: always spaces, trailing newline. @public */
export function sprintln(args: readonly GoValue[]): string {
  const p = new Printer();
  args.forEach((arg, i) => {
    if (i > 0) p.buf += ' ';
    p.f = newFlags();
    p.printArg(arg, 'v', 0);
  });
  return p.buf + '\n';
}

function parsenum(s: string, start: number, end: number): [number, boolean, number] {
  if (start >= end) return [0, false, end];
  let num = 0;
  let isnum = false;
  let i = start;
  for (; i < end && s[i]! >= '0' && s[i]! <= '9'; i++) {
    if (num > 1e6) return [0, false, end];
    num = num * 10 + (s.charCodeAt(i) - 48);
    isnum = true;
  }
  return [num, isnum, i];
}

/** fmt.Sprintf. @public */
export function sprintf(format: string, args: readonly GoValue[]): string {
  const p = new Printer();
  const end = format.length;
  let argNum = 0;
  let afterIndex = false;
  let reordered = false;
  let goodArgNum = true;

  const argNumber = (i: number): [number, number, boolean] => {
    if (format.length <= i || format[i] !== '[') return [argNum, i, false];
    reordered = true;
    // parseArgNumber
    const sub = format.slice(i);
    if (sub.length >= 3) {
      for (let j = 1; j < sub.length; j++) {
        if (sub[j] === ']') {
          const [width, ok, newi] = parsenum(sub, 1, j);
          if (!ok || newi !== j) {
            goodArgNum = false;
            return [argNum, i + j + 1, false];
          }
          const index = width - 1;
          if (index >= 0 && index < args.length) return [index, i + j + 1, true];
          goodArgNum = false;
          return [argNum, i + j + 1, true];
        }
      }
    }
    goodArgNum = false;
    return [argNum, i + 1, false];
  };

  const intFromArg = (): [number, boolean] => {
    let num = 0;
    let isInt = false;
    if (argNum < args.length) {
      const a = args[argNum];
      if (typeof a === 'bigint') {
        isInt = true;
        if (a > 1000000n || a < -1000000n) {
          num = 0;
          isInt = false;
        } else num = Number(a);
      }
      argNum++;
    }
    return [num, isInt];
  };

  let i = 0;
  while (i < end) {
    goodArgNum = true;
    const lasti = i;
    while (i < end && format[i] !== '%') i++;
    if (i > lasti) p.buf += format.slice(lasti, i);
    if (i >= end) break;
    i++;
    p.f = newFlags();
    const f = p.f;
    flags: for (; i < end; i++) {
      switch (format[i]) {
        case '#':
          f.sharp = true;
          break;
        case '0':
          f.zero = !f.minus;
          break;
        case '+':
          f.plus = true;
          break;
        case '-':
          f.minus = true;
          f.zero = false;
          break;
        case ' ':
          f.space = true;
          break;
        default:
          break flags;
      }
    }
    [argNum, i, afterIndex] = argNumber(i);
    if (i < end && format[i] === '*') {
      i++;
      [f.wid, f.widPresent] = intFromArg();
      if (!f.widPresent) p.buf += '%!(BADWIDTH)';
      if (f.wid < 0) {
        f.wid = -f.wid;
        f.minus = true;
        f.zero = false;
      }
      afterIndex = false;
    } else {
      [f.wid, f.widPresent, i] = parsenum(format, i, end);
      if (afterIndex && f.widPresent) goodArgNum = false;
    }
    if (i + 1 <= end && format[i] === '.') {
      i++;
      if (afterIndex) goodArgNum = false;
      [argNum, i, afterIndex] = argNumber(i);
      if (i < end && format[i] === '*') {
        i++;
        [f.prec, f.precPresent] = intFromArg();
        if (f.prec < 0) {
          f.prec = 0;
          f.precPresent = false;
        }
        if (!f.precPresent) p.buf += '%!(BADPREC)';
        afterIndex = false;
      } else {
        [f.prec, f.precPresent, i] = parsenum(format, i, end);
        if (!f.precPresent) {
          f.prec = 0;
          f.precPresent = true;
        }
      }
    }
    if (!afterIndex) [argNum, i, afterIndex] = argNumber(i);
    if (i >= end) {
      p.buf += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      p.buf += '%';
      continue;
    }
    if (!goodArgNum) {
      p.buf += '%!' + verb + '(BADINDEX)';
      continue;
    }
    if (argNum >= args.length) {
      p.buf += '%!' + verb + '(MISSING)';
      continue;
    }
    if (verb === 'v') {
      f.sharpV = f.sharp;
      f.sharp = false;
      f.plusV = f.plus;
      f.plus = false;
    }
    if (verb === 'w') {
      p.badVerb(verb, args[argNum]!);
      argNum++;
      continue;
    }
    p.printArg(args[argNum]!, verb, 0);
    argNum++;
  }
  if (!reordered && argNum < args.length) {
    p.f = newFlags();
    p.buf += '%!(EXTRA ';
    for (let k = argNum; k < args.length; k++) {
      const arg = args[k]!;
      if (k > argNum) p.buf += ', ';
      if (arg === null || arg === MISSING) p.buf += NIL_ANGLE;
      else {
        p.buf += typeName(arg) + '=';
        p.printArg(arg, 'v', 0);
      }
    }
    p.buf += ')';
  }
  return p.buf;
}
