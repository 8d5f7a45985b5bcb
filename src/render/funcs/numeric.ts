/**
 * Sprig numeric functions (numeric.go, functions.go): int64 arithmetic through
 * spf13/cast, float helpers, shopspring/decimal for the `*f` functions.
 * @internal
 */
import { randomInt } from 'node:crypto';
import { sprint } from '../template/fmt.js';
import { type FuncMap, type GoValue, goFunc, toInt64 } from '../template/value.js';
import { castToFloat64, castToInt64, checkListSize, MAX_LIST, parseGoInt, typed } from './util.js';

const A = 'any' as const;
const I = 'int' as const;

const DIV_ZERO = 'runtime error: integer divide by zero';

/** sprig untilStep (Go ints). */
export function untilStep(start: bigint, stop: bigint, step: bigint): bigint[] {
  const v: bigint[] = [];
  if (step !== 0n) {
    const count = (stop - start) / step;
    if (count > BigInt(MAX_LIST)) checkListSize(MAX_LIST + 1, 'untilStep');
  }
  const check = (): void => checkListSize(v.length, 'untilStep');
  if (stop < start) {
    if (step >= 0n) return v;
    for (let i = start; i > stop; i = toInt64(i + step)) {
      v.push(i);
      if ((v.length & 0xffff) === 0) check();
      if (i + step < -9223372036854775808n) break;
    }
    return v;
  }
  if (step <= 0n) return v;
  for (let i = start; i < stop; i = i + step) {
    v.push(i);
    if ((v.length & 0xffff) === 0) check();
    if (i + step > 9223372036854775807n) break;
  }
  return v;
}

function seq(params: bigint[]): string {
  let increment = 1n;
  let out: bigint[];
  switch (params.length) {
    case 0:
      return '';
    case 1: {
      const start = 1n;
      const end = params[0]!;
      if (end < start) increment = -1n;
      out = untilStep(start, end + increment, increment);
      break;
    }
    case 3: {
      const [start, step, end] = [params[0]!, params[1]!, params[2]!];
      if (end < start) {
        increment = -1n;
        if (step > 0n) return '';
      }
      out = untilStep(start, end + increment, step);
      break;
    }
    case 2: {
      const [start, end] = [params[0]!, params[1]!];
      const step = end < start ? -1n : 1n;
      out = untilStep(start, end + step, step);
      break;
    }
    default:
      return '';
  }
  return out.join(' ');
}

function round(a: GoValue, p: bigint, rOpt: GoValue[]): number {
  const roundOn = rOpt.length > 0 ? (rOpt[0] as number) : 0.5;
  const val = castToFloat64(a);
  const places = Number(p);
  const pow = 10 ** places;
  const digit = pow * val;
  const frac = Number.isFinite(digit) ? digit - Math.trunc(digit) : Number.isNaN(digit) ? Number.NaN : 0;
  const r = frac >= roundOn ? Math.ceil(digit) : Math.floor(digit);
  return r / pow;
}

// ---------------------------------------------------------------- shopspring/decimal

interface Dec {
  /** value = coef × 10^exp */
  coef: bigint;
  exp: number;
}

function decFromFloat(f: number): Dec {
  if (!Number.isFinite(f)) {
    throw new Error(`Cannot create a Decimal from ${Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf'}`);
  }
  if (f === 0) return { coef: 0n, exp: 0 };
  const [m, e] = f.toExponential().split('e') as [string, string];
  const digits = m.replace('.', '').replace('-', '');
  const frac = m.includes('.') ? m.split('.')[1]!.length : 0;
  const coef = BigInt(digits) * (f < 0 ? -1n : 1n);
  return { coef, exp: Number(e) - frac };
}

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  const exp = Math.min(a.exp, b.exp);
  return [a.coef * 10n ** BigInt(a.exp - exp), b.coef * 10n ** BigInt(b.exp - exp), exp];
}

const decAdd = (a: Dec, b: Dec): Dec => {
  const [x, y, exp] = align(a, b);
  return { coef: x + y, exp };
};
const decSub = (a: Dec, b: Dec): Dec => {
  const [x, y, exp] = align(a, b);
  return { coef: x - y, exp };
};
const decMul = (a: Dec, b: Dec): Dec => ({ coef: a.coef * b.coef, exp: a.exp + b.exp });

/** decimal.Div: DivRound(d2, 16), half away from zero. */
function decDiv(a: Dec, b: Dec): Dec {
  if (b.coef === 0n) throw new Error('decimal division by 0');
  const precision = 16;
  // q = a/b scaled to 10^-precision, rounded half away from zero.
  // a/b = (ac/bc) × 10^(ae-be); want coef × 10^-precision.
  const shift = a.exp - b.exp + precision;
  let num = a.coef;
  let den = b.coef;
  if (shift >= 0) num *= 10n ** BigInt(shift);
  else den *= 10n ** BigInt(-shift);
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const neg = num < 0n;
  const an = neg ? -num : num;
  let q = an / den;
  const r = an % den;
  if (r * 2n >= den) q += 1n;
  return { coef: neg ? -q : q, exp: -precision };
}

function decToFloat(d: Dec): number {
  return Number(`${d.coef}e${d.exp}`);
}

function execDecimalOp(a: GoValue, b: GoValue[], f: (x: Dec, y: Dec) => Dec): number {
  let prt = decFromFloat(castToFloat64(a));
  for (const x of b) prt = f(prt, decFromFloat(castToFloat64(x)));
  return decToFloat(prt);
}

/** strconv.Atoi as sprig uses it (errors ignored; range errors clamp). */
function atoi(s: string): bigint {
  if (s === '' || s.includes('_')) return 0n;
  const r = parseGoInt(s, 10);
  if (r === 'syntax') return 0n;
  if (r === 'range') return s.startsWith('-') ? -9223372036854775808n : 9223372036854775807n;
  return r;
}

function toDecimal(v: GoValue): bigint {
  const s = sprint([v]);
  if (s.includes('_') || /^[+-]?0[box]/i.test(s)) return 0n;
  const r = parseGoInt(s, 8);
  return typeof r === 'bigint' ? r : 0n;
}

function bigMax(a: bigint, b: bigint): bigint {
  return b > a ? b : a;
}
function bigMin(a: bigint, b: bigint): bigint {
  return b < a ? b : a;
}

function i64(v: GoValue): bigint {
  return castToInt64(v);
}

export function numericFuncs(): FuncMap {
  return {
    atoi: goFunc(['string'], ([a]) => atoi(a as string)),
    int64: goFunc([A], ([v]) => castToInt64(v!)),
    int: goFunc([A], ([v]) => castToInt64(v!)),
    float64: goFunc([A], ([v]) => castToFloat64(v!)),
    seq: goFunc([], (args) => seq(args as bigint[]), I),
    toDecimal: goFunc([A], ([v]) => toDecimal(v!)),
    until: goFunc([I], ([c]) => {
      const count = c as bigint;
      return typed(untilStep(0n, count, count < 0n ? -1n : 1n), '[]int');
    }),
    untilStep: goFunc([I, I, I], ([a, b, c]) =>
      typed(untilStep(a as bigint, b as bigint, c as bigint), '[]int'),
    ),
    add1: goFunc([A], ([v]) => toInt64(i64(v!) + 1n)),
    add: goFunc([], (args) => toInt64(args.reduce<bigint>((acc, b) => toInt64(acc + i64(b)), 0n)), A),
    sub: goFunc([A, A], ([a, b]) => toInt64(i64(a!) - i64(b!))),
    div: goFunc([A, A], ([a, b]) => {
      const d = i64(b!);
      if (d === 0n) throw new Error(DIV_ZERO);
      return toInt64(i64(a!) / d);
    }),
    mod: goFunc([A, A], ([a, b]) => {
      const d = i64(b!);
      if (d === 0n) throw new Error(DIV_ZERO);
      return toInt64(i64(a!) % d);
    }),
    mul: goFunc([A], ([a, ...rest]) => rest.reduce<bigint>((acc, b) => toInt64(acc * i64(b)), i64(a!)), A),
    randInt: goFunc([I, I], ([lo, hi]) => {
      const n = (hi as bigint) - (lo as bigint);
      if (n <= 0n) throw new Error('invalid argument to Intn');
      const r = n <= 281474976710655n ? BigInt(randomInt(Number(n))) : BigInt(randomInt(2 ** 48 - 1)) % n;
      return toInt64(r + (lo as bigint));
    }),
    add1f: goFunc([A], ([i]) => execDecimalOp(i!, [1n], decAdd)),
    addf: goFunc([], (args) => execDecimalOp(0, args, decAdd), A),
    subf: goFunc([A], ([a, ...v]) => execDecimalOp(a!, v, decSub), A),
    divf: goFunc([A], ([a, ...v]) => execDecimalOp(a!, v, decDiv), A),
    mulf: goFunc([A], ([a, ...v]) => execDecimalOp(a!, v, decMul), A),
    biggest: goFunc([A], ([a, ...r]) => r.map(i64).reduce(bigMax, i64(a!)), A),
    max: goFunc([A], ([a, ...r]) => r.map(i64).reduce(bigMax, i64(a!)), A),
    min: goFunc([A], ([a, ...r]) => r.map(i64).reduce(bigMin, i64(a!)), A),
    maxf: goFunc(
      [A],
      ([a, ...r]) => r.reduce<number>((acc, b) => Math.max(acc, castToFloat64(b)), castToFloat64(a!)),
      A,
    ),
    minf: goFunc(
      [A],
      ([a, ...r]) => r.reduce<number>((acc, b) => Math.min(acc, castToFloat64(b)), castToFloat64(a!)),
      A,
    ),
    ceil: goFunc([A], ([a]) => Math.ceil(castToFloat64(a!))),
    floor: goFunc([A], ([a]) => Math.floor(castToFloat64(a!))),
    round: goFunc([A, I], ([a, p, ...r]) => round(a!, p as bigint, r), 'float64'),
  };
}
