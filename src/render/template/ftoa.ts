/**
 * Go's strconv float formatting (FormatFloat for b e E f F g G x X) and fmt's `#` flag
 * handling: shortest digits via the engine's round-trip conversion, fixed precisions
 * rounded half-to-even on the exact decimal expansion.
 */

const LOWER = '0123456789abcdef';
const UPPER = '0123456789ABCDEF';

interface Decimal {
  d: string; // significant digits, no leading zeros ('' = zero)
  dp: number; // decimal point position: value = 0.d × 10^dp
}

const f64 = new DataView(new ArrayBuffer(8));

/** Exact decimal expansion of a finite, non-negative double. */
function exactDecimal(x: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  f64.setFloat64(0, x);
  const hi = f64.getUint32(0);
  const lo = f64.getUint32(4);
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (bexp === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = bexp - 1075;
  }
  let digits: string;
  let dp: number;
  if (e >= 0) {
    digits = (mant << BigInt(e)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-e)).toString();
    dp = digits.length + e;
  }
  digits = digits.replace(/0+$/, '');
  return { d: digits, dp };
}

/** Shortest digits that round-trip (same as Go's shortest formatting). */
function shortestDecimal(x: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  const s = x.toExponential();
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s)!;
  const d = (m[1]! + (m[2] ?? '')).replace(/0+$/, '');
  return { d, dp: Number(m[3]) + 1 };
}

/** Rounds to nd significant digits, half to even on exact ties. */
function roundDecimal(a: Decimal, nd: number): Decimal {
  if (nd < 0) return { d: '', dp: a.dp };
  if (nd >= a.d.length) return a;
  const c = a.d.charCodeAt(nd) - 48;
  let up: boolean;
  if (c === 5 && nd + 1 === a.d.length) up = nd > 0 && (a.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  else up = c >= 5;
  if (!up) {
    const d = a.d.slice(0, nd).replace(/0+$/, '');
    return { d, dp: d === '' ? 0 : a.dp };
  }
  let i = nd - 1;
  while (i >= 0 && a.d[i] === '9') i--;
  if (i < 0) return { d: '1', dp: a.dp + 1 };
  return { d: a.d.slice(0, i) + String.fromCharCode(a.d.charCodeAt(i) + 1), dp: a.dp };
}

function digitAt(a: Decimal, i: number): string {
  return i >= 0 && i < a.d.length ? a.d[i]! : '0';
}

function fmtE(neg: boolean, a: Decimal, prec: number, ch: string): string {
  let s = neg ? '-' : '';
  s += a.d.length === 0 ? '0' : a.d[0];
  if (prec > 0) {
    s += '.';
    for (let i = 1; i <= prec; i++) s += digitAt(a, i);
  }
  s += ch;
  let exp = a.d.length === 0 ? 0 : a.dp - 1;
  if (exp < 0) {
    s += '-';
    exp = -exp;
  } else s += '+';
  s += exp < 10 ? '0' + exp : String(exp);
  return s;
}

function fmtF(neg: boolean, a: Decimal, prec: number): string {
  let s = neg ? '-' : '';
  if (a.dp > 0) {
    let m = Math.min(a.d.length, a.dp);
    s += a.d.slice(0, m);
    for (; m < a.dp; m++) s += '0';
  } else s += '0';
  if (prec > 0) {
    s += '.';
    for (let i = 1; i <= prec; i++) s += digitAt(a, a.dp + i - 1);
  }
  return s;
}

/** Binary formats %b, %x, %X (shortest mantissa; a precision is not applied). */
function formatBinary(neg: boolean, x: number, fmt: string): string {
  f64.setFloat64(0, x);
  const hi = f64.getUint32(0);
  const lo = f64.getUint32(4);
  let exp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (exp === 0) exp++;
  else mant |= 1n << 52n;
  exp -= 1023;
  const sign = neg ? '-' : '';
  if (fmt === 'b') {
    const e = exp - 52;
    return sign + mant.toString() + 'p' + (e >= 0 ? '+' : '') + e;
  }
  if (mant === 0n) exp = 0;
  mant <<= 8n;
  while (mant !== 0n && (mant & (1n << 60n)) === 0n) {
    mant <<= 1n;
    exp--;
  }
  const hex = fmt === 'X' ? UPPER : LOWER;
  let out = sign + (fmt === 'X' ? '0X' : '0x') + String((mant >> 60n) & 1n);
  mant = (mant << 4n) & ((1n << 64n) - 1n);
  if (mant !== 0n) {
    out += '.';
    while (mant !== 0n) {
      out += hex[Number((mant >> 60n) & 15n)];
      mant = (mant << 4n) & ((1n << 64n) - 1n);
    }
  }
  out += fmt === 'X' ? 'P' : 'p';
  out += exp < 0 ? '-' : '+';
  const e = Math.abs(exp);
  return out + (e < 10 ? '0' + e : String(e));
}

/** strconv.FormatFloat(v, fmt, prec, 64) for fmt in b e E f F g G x X. @public */
export function formatFloat(v: number, fmt: string, prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const neg = v < 0 || Object.is(v, -0);
  const x = Math.abs(v);
  if (fmt === 'b' || fmt === 'x' || fmt === 'X') return formatBinary(neg, x, fmt);
  const shortest = prec < 0;
  let digs: Decimal;
  if (shortest) {
    digs = shortestDecimal(x);
    switch (fmt) {
      case 'e':
      case 'E':
        prec = Math.max(digs.d.length - 1, 0);
        break;
      case 'f':
      case 'F':
        prec = Math.max(digs.d.length - digs.dp, 0);
        break;
      case 'g':
      case 'G':
        prec = digs.d.length;
        break;
    }
  } else {
    const exact = exactDecimal(x);
    switch (fmt) {
      case 'e':
      case 'E':
        digs = roundDecimal(exact, prec + 1);
        break;
      case 'f':
      case 'F':
        digs = roundDecimal(exact, exact.dp + prec);
        break;
      default:
        if (prec === 0) prec = 1;
        digs = roundDecimal(exact, prec);
    }
  }
  switch (fmt) {
    case 'e':
    case 'E':
      return fmtE(neg, digs, prec, fmt);
    case 'f':
    case 'F':
      return fmtF(neg, digs, prec);
    default: {
      let eprec = prec;
      const nd = digs.d.length;
      if (eprec > nd && nd >= digs.dp) eprec = nd;
      if (shortest) eprec = 6;
      const exp = digs.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (prec > nd) prec = nd;
        return fmtE(neg, digs, prec - 1, fmt === 'g' ? 'e' : 'E');
      }
      if (prec > digs.dp) prec = nd;
      return fmtF(neg, digs, Math.max(prec - digs.dp, 0));
    }
  }
}

/** The `#` flag for floats: keep the decimal point and trailing zeros (%#g). */
export function sharpFloat(num: string, verb: string, prec: number, v: number): string {
  if (!Number.isFinite(v)) return num;
  let digits = 0;
  let p = prec;
  if (verb === 'v' || verb === 'g' || verb === 'G') {
    if (p === -1) p = 6;
    digits = p;
  }
  let tail = '';
  const m = /[eEpP]/.exec(num);
  if (m) {
    tail = num.slice(m.index);
    num = num.slice(0, m.index);
  }
  let sawNonzero = false;
  let hasPoint = false;
  for (const c of num) {
    if (c === '.') hasPoint = true;
    else if (c >= '0' && c <= '9') {
      if (c !== '0') sawNonzero = true;
      if (sawNonzero) digits--;
    }
  }
  if (!hasPoint) {
    if (num.replace(/^[-+]/, '').length === 1 && !sawNonzero) digits--;
    num += '.';
  }
  while (digits > 0 && (verb === 'g' || verb === 'G' || verb === 'v')) {
    num += '0';
    digits--;
  }
  return num + tail;
}
