/**
 * How Helm reads a YAML scalar into a Go string field: go-yaml v2's `resolve` (YAML 1.1
 * plain-scalar typing) followed by sigs.k8s.io/yaml's number-to-string coercion
 * (`appVersion: 1.10` becomes "1.1", `012` becomes "10", `0x1F` "31", `yes` "true").
 * @internal
 */
import type { Scalar } from 'yaml';

/** A plain scalar as go-yaml v2 types it. */
export type GoScalar =
  | { kind: 'null' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'int'; value: bigint }
  | { kind: 'float'; value: number }
  | { kind: 'timestamp' | 'str' | 'merge'; value: string };

// yaml.v2 `resolveMap`.
const RESOLVE_MAP = new Map<string, GoScalar>();
for (const [words, value] of [
  ['y Y yes Yes YES true True TRUE on On ON', { kind: 'bool', value: true }],
  ['n N no No NO false False FALSE off Off OFF', { kind: 'bool', value: false }],
  ['~ null Null NULL', { kind: 'null' }],
  ['.nan .NaN .NAN', { kind: 'float', value: Number.NaN }],
  ['.inf .Inf .INF +.inf +.Inf +.INF', { kind: 'float', value: Number.POSITIVE_INFINITY }],
  ['-.inf -.Inf -.INF', { kind: 'float', value: Number.NEGATIVE_INFINITY }],
  ['<<', { kind: 'merge', value: '<<' }],
] as const) {
  for (const w of words.split(' ')) RESOLVE_MAP.set(w, value as GoScalar);
}
RESOLVE_MAP.set('', { kind: 'null' });

/** yaml.v2 `yamlStyleFloat`, tried on the underscore-stripped text. */
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** `strconv.ParseFloat` on a `.`-led scalar (digits with `_` separators, optional exponent). */
const DOT_FLOAT = /^\.[0-9]+(_[0-9]+)*([eE][-+]?[0-9]+(_[0-9]+)*)?$/;

/**
 * yaml.v2 `allowedTimestampFormats`: `2006-1-2T15:4:5.999999999Z07:00` (also `t`),
 * `2006-1-2 15:4:5.999999999` and `2006-1-2`, as Go's `time.Parse` reads them.
 */
const TIMESTAMP =
  /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2}))|(?: ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?))?$/;

/** Whether Go's `time.Parse` accepts the text under one of yaml.v2's timestamp layouts. @internal */
export function isGoTimestamp(s: string): boolean {
  const m = TIMESTAMP.exec(s);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  if (day > days) return false;
  const hour = m[4] ?? m[7];
  const min = m[5] ?? m[8];
  const sec = m[6] ?? m[9];
  return hour === undefined || (Number(hour) < 24 && Number(min) < 60 && Number(sec) < 60);
}

const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** `strconv.ParseUint(s, base, 64)` without underscores; undefined on any error. */
function parseUint(text: string, base: number): bigint | undefined {
  let s = text;
  let b = base;
  if (s === '') return undefined;
  if (b === 0) {
    b = 10;
    if (s[0] === '0') {
      const p = s[1]?.toLowerCase();
      if (s.length >= 3 && p === 'b') [b, s] = [2, s.slice(2)];
      else if (s.length >= 3 && p === 'o') [b, s] = [8, s.slice(2)];
      else if (s.length >= 3 && p === 'x') [b, s] = [16, s.slice(2)];
      else [b, s] = [8, s.slice(1)];
    }
  }
  let n = 0n;
  for (const c of s) {
    const d = Number.parseInt(c, 36);
    if (Number.isNaN(d) || d >= b) return undefined;
    n = n * BigInt(b) + BigInt(d);
    if (n > UINT64_MAX) return undefined;
  }
  return n;
}

/** `strconv.ParseInt(s, base, 64)` without underscores; undefined on any error. */
function parseInt64(text: string, base: number): bigint | undefined {
  if (text === '') return undefined;
  let s = text;
  let negative = false;
  if (s[0] === '+' || s[0] === '-') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  const u = parseUint(s, base);
  if (u === undefined) return undefined;
  if (negative) return u > INT64_MAX + 1n ? undefined : -u;
  return u > INT64_MAX ? undefined : u;
}

/** `strconv.ParseFloat(s, 64)` for text already matched by a float pattern; undefined when out of range. */
function parseFloat64(s: string): number | undefined {
  const v = Number(s.replaceAll('_', ''));
  return Number.isFinite(v) ? v : undefined;
}

// yaml.v2 `resolveTable`: the first byte says what a plain scalar may be.
function hint(s: string): 'S' | 'D' | 'M' | '.' | undefined {
  if (s === '') return 'M';
  const c = s[0]!;
  if (c === '+' || c === '-') return 'S';
  if (c >= '0' && c <= '9') return 'D';
  if ('yYnNtTfFoO~'.includes(c)) return 'M';
  if (c === '.') return '.';
  return undefined;
}

/**
 * Types a plain, untagged YAML scalar exactly as go-yaml v2's `resolve` does: the
 * YAML 1.1 booleans and nulls, `strconv.ParseInt(s, 0, 64)` (octal `012`, `0x`, `0o`,
 * `0b`, underscores ignored), then uint64, then `yamlStyleFloat`; timestamps are
 * recognised (go-yaml v2 gives them back as their text when decoding into interfaces).
 * @internal
 */
export function resolveGoScalar(s: string): GoScalar {
  const h = hint(s);
  if (h === undefined) return { kind: 'str', value: s };
  const mapped = RESOLVE_MAP.get(s);
  if (mapped) return mapped;
  if (h === '.') {
    if (DOT_FLOAT.test(s)) {
      const f = parseFloat64(s);
      if (f !== undefined) return { kind: 'float', value: f };
    }
    return { kind: 'str', value: s };
  }
  if (h === 'M') return { kind: 'str', value: s };
  if (isGoTimestamp(s)) return { kind: 'timestamp', value: s };
  const plain = s.replaceAll('_', '');
  const i = parseInt64(plain, 0);
  if (i !== undefined) return { kind: 'int', value: i };
  const u = parseUint(plain, 0);
  if (u !== undefined) return { kind: 'int', value: u };
  if (YAML_FLOAT.test(plain)) {
    const f = parseFloat64(plain);
    if (f !== undefined) return { kind: 'float', value: f };
  }
  if (plain.startsWith('0b')) {
    const b = parseInt64(plain.slice(2), 2) ?? parseUint(plain.slice(2), 2);
    if (b !== undefined) return { kind: 'int', value: b };
  } else if (plain.startsWith('-0b')) {
    const b = parseInt64(`-${plain.slice(3)}`, 2);
    if (b !== undefined) return { kind: 'int', value: b };
  }
  return { kind: 'str', value: s };
}

/** Shortest decimal digits and point position (value = 0.DIGITS × 10^point) that round-trip `f` as a float32. */
function shortestFloat32(f: number): { digits: string; point: number } {
  for (let p = 1; p <= 9; p++) {
    const [mant, exp] = f.toExponential(p - 1).split('e') as [string, string];
    const base = BigInt(mant.replace('.', '').replace('-', ''));
    const e = Number(exp) - (p - 1);
    // The nearest p-digit decimal, then its neighbours (the float32 rounding interval is
    // asymmetric at powers of two), nearest first.
    const candidates = [base, base - 1n, base + 1n].filter((c) => c > 0n);
    let best: { digits: bigint; error: number } | undefined;
    for (const c of candidates) {
      const v = Number(`${c}e${e}`);
      if (Math.fround(v) !== f) continue;
      const error = Math.abs(v - f);
      if (!best || error < best.error) best = { digits: c, error };
    }
    if (best) {
      const digits = best.digits.toString();
      return { digits: digits.replace(/0+$/, ''), point: e + digits.length };
    }
  }
  /* v8 ignore next 2 -- nine significant digits always round-trip a float32 */
  throw new Error(`cannot format ${f}`);
}

/**
 * `strconv.FormatFloat(f, 'g', -1, 32)`: the shortest decimal that reads back as the
 * same float32, in exponent form below 1e-4 and from 1e+06 up (two-digit exponent at
 * least); `+Inf`, `-Inf`, `NaN` for the specials.
 * @internal
 */
export function formatGoFloat32(value: number): string {
  const f = Math.fround(value);
  if (Number.isNaN(f)) return 'NaN';
  if (f === Number.POSITIVE_INFINITY) return '+Inf';
  if (f === Number.NEGATIVE_INFINITY) return '-Inf';
  const sign = f < 0 || Object.is(f, -0) ? '-' : '';
  if (f === 0) return `${sign}0`;
  const { digits, point } = shortestFloat32(Math.abs(f));
  const exp = point - 1;
  if (exp < -4 || exp >= 6) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * The string sigs.k8s.io/yaml hands to a Go `string` field for a typed scalar: ints
 * in decimal, floats via `FormatFloat(f, 'g', -1, 32)`, booleans as `true`/`false`;
 * undefined for null (the field is left alone).
 * @internal
 */
export function goScalarToString(v: GoScalar): string | undefined {
  switch (v.kind) {
    case 'null':
      return undefined;
    case 'bool':
      return v.value ? 'true' : 'false';
    case 'int':
      return v.value.toString();
    case 'float':
      return formatGoFloat32(v.value);
    default:
      return v.value;
  }
}

/**
 * The JSON object key sigs.k8s.io/yaml makes of a typed YAML map key (floats as
 * `FormatFloat(f, 'g', -1, 32)` with `.inf`/`-.inf`/`.nan`); undefined for a null key,
 * which it rejects.
 * @internal
 */
export function goKeyToString(v: GoScalar): string | undefined {
  if (v.kind === 'float') {
    if (Number.isNaN(v.value)) return '.nan';
    if (v.value === Number.POSITIVE_INFINITY) return '.inf';
    if (v.value === Number.NEGATIVE_INFINITY) return '-.inf';
  }
  return goScalarToString(v);
}

/**
 * Go `encoding/json`'s case folding of object keys (Go 1.21+ `foldName`): ASCII
 * letters upper-cased, other characters mapped with a simple upper-case mapping. Two
 * keys match a struct field when their folded forms are equal.
 * @internal
 */
export function goJsonFold(s: string): string {
  let out = '';
  for (const c of s) {
    if (c < '\u0080') out += c >= 'a' && c <= 'z' ? c.toUpperCase() : c;
    else {
      const u = c.toUpperCase();
      out += [...u].length === 1 ? u : c;
    }
  }
  return out;
}

// Standard tags go-yaml v2 checks a plain scalar against.
const GO_TAGS = new Map([
  ['tag:yaml.org,2002:int', 'int'],
  ['tag:yaml.org,2002:float', 'float'],
  ['tag:yaml.org,2002:bool', 'bool'],
  ['tag:yaml.org,2002:null', 'null'],
]);

/**
 * The Go string sigs.k8s.io/yaml stores for a (non-null) scalar decoded into a Go
 * `string` field: quoted and block scalars as written, plain scalars typed by go-yaml
 * v2 and coerced (`1.10` → "1.1", `012` → "10", `yes` → "true"), `!!str` and custom
 * tags as written; undefined for a plain null.
 * @throws Error `<field>: cannot decode … as a !!<tag>` when a standard tag does not fit
 * @internal
 */
export function goStringOfScalar(n: Scalar, field: string): string | undefined {
  const source = typeof n.source === 'string' ? n.source : String(n.value);
  if (n.type !== undefined && n.type !== 'PLAIN') return source;
  const tag = n.tag === undefined ? undefined : GO_TAGS.get(n.tag);
  if (n.tag !== undefined && tag === undefined) return source; // !!str and custom tags
  const resolved = resolveGoScalar(source);
  if (tag === undefined || tag === resolved.kind) return goScalarToString(resolved);
  if (tag === 'float' && resolved.kind === 'int')
    return goScalarToString({ kind: 'float', value: Number(resolved.value) });
  throw new Error(`${field}: cannot decode \`${source}\` as a !!${tag}`);
}

/**
 * The JSON object key sigs.k8s.io/yaml makes of a YAML map key: quoted, block and
 * tagged keys as written, plain keys typed and formatted by {@link goKeyToString};
 * undefined for a null key (which it rejects).
 * @internal
 */
export function goMapKeyOfScalar(key: Scalar): string | undefined {
  const source = typeof key.source === 'string' ? key.source : String(key.value);
  if ((key.type !== undefined && key.type !== 'PLAIN') || key.tag !== undefined) return source;
  return goKeyToString(resolveGoScalar(source));
}
