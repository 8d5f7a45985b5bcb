/**
 * The `format` checks jsonschema v6 asserts for drafts 4–7 (Helm v4.1.4 validates with
 * it), with its error texts (`'x' is not valid ipv4: expected four decimals`). Each
 * returns undefined when valid, else the reason. Formats not listed here are not
 * asserted (documented in docs/rendering.md).
 */

type Check = (s: string) => string | undefined;

function runeQuote(ch: string): string {
  if (ch === "'") return "'\\''";
  if (ch === '\\') return "'\\\\'";
  if (ch === '\n') return "'\\n'";
  if (ch === '\t') return "'\\t'";
  return `'${ch}'`;
}

const ipv4: Check = (s) => {
  const groups = s.split('.');
  if (groups.length !== 4) return 'expected four decimals';
  for (const g of groups) {
    if (g.length > 1 && g[0] === '0') return 'leading zeros';
    if (!/^[+-]?[0-9]+$/.test(g)) return `strconv.Atoi: parsing "${g}": invalid syntax`;
    const n = Number(g);
    if (n < 0 || n > 255) return 'decimal must be between 0 and 255';
  }
  return undefined;
};

const hostname: Check = (input) => {
  const s = input.endsWith('.') ? input.slice(0, -1) : input;
  if (Buffer.byteLength(s) > 253) return 'more than 253 characters long';
  for (const label of s.split('.')) {
    const n = Buffer.byteLength(label);
    if (n < 1 || n > 63) return 'label must be 1 to 63 characters long';
    if (label.startsWith('-')) return 'label starts with hyphen';
    if (label.endsWith('-')) return 'label ends with hyphen';
    for (const ch of label) if (!/[a-zA-Z0-9-]/.test(ch)) return `invalid character ${runeQuote(ch)}`;
  }
  return undefined;
};

const email: Check = (s) => {
  if (Buffer.byteLength(s) > 254) return 'more than 255 characters long';
  const at = s.lastIndexOf('@');
  if (at === -1) return 'missing @';
  const local = s.slice(0, at);
  let domain = s.slice(at + 1);
  if (Buffer.byteLength(local) > 64) return 'local part more than 64 characters long';
  if (local.length > 1 && local.startsWith('"')) {
    const inner = local.slice(1, -1);
    if (inner.includes('\\') || inner.includes('"'))
      return 'backslash and quote are not allowed within quoted local part';
  } else {
    if (local.startsWith('.')) return 'starts with dot';
    if (local.endsWith('.')) return 'ends with dot';
    if (local.includes('..')) return 'consecutive dots';
    for (const ch of local)
      if (!/[a-zA-Z0-9.!#$%&'*+\-/=?^_`{|}~]/.test(ch)) return `invalid character ${runeQuote(ch)}`;
  }
  if (domain.startsWith('[') && domain.endsWith(']')) {
    domain = domain.slice(1, -1);
    if (domain.startsWith('IPv6:')) return undefined;
    const e = ipv4(domain);
    return e === undefined ? undefined : `invalid ipv4 address: ${e}`;
  }
  const e = hostname(domain);
  return e === undefined ? undefined : `invalid domain: ${e}`;
};

const uuid: Check = (s) => {
  const lens = [8, 4, 4, 4, 12];
  const groups = s.split('-');
  if (groups.length !== lens.length) return `must have ${lens.length} elements`;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as string;
    if (g.length !== lens[i]) return `element ${i + 1} must be ${lens[i]} characters long`;
    for (const ch of g) if (!/[0-9a-fA-F]/.test(ch)) return `non-hex character ${runeQuote(ch)}`;
  }
  return undefined;
};

/** Go `time.Parse("2006-01-02", s)`, reduced to valid / invalid with Go's common message. */
const date: Check = (s) => {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(s);
  if (!m) {
    if (!/^[0-9]{4}/.test(s)) return `parsing time "${s}" as "2006-01-02": cannot parse "${s}" as "2006"`;
    return `parsing time "${s}" as "2006-01-02": cannot parse "${s.slice(4)}" as "-"`;
  }
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12) return `parsing time "${s}": month out of range`;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1] as number;
  if (d < 1 || d > days) return `parsing time "${s}": day out of range`;
  return undefined;
};

const time: Check = (input) => {
  let str = input;
  if (str.length < 9) return 'less than 9 characters long';
  if (str[2] !== ':' || str[5] !== ':') return 'missing colon in correct place';
  const hms = str
    .slice(0, 8)
    .split(':')
    .map((t) => (/^[+-]?[0-9]+$/.test(t) ? Number(t) : Number.NaN));
  if (hms.some(Number.isNaN)) return 'invalid hour/min/sec';
  if (hms.some((x) => x < 0)) return 'non-positive hour/min/sec';
  let [h, m] = hms as [number, number, number];
  const s = hms[2] as number;
  if (h > 23 || m > 59 || s > 60) return 'hour/min/sec out of range';
  str = str.slice(8);
  if (str.startsWith('.')) {
    const digits = /^[0-9]*/.exec(str.slice(1))?.[0] ?? '';
    if (digits.length === 0) return 'no digits in second fraction';
    str = str.slice(1 + digits.length);
  }
  if (str !== 'z' && str !== 'Z') {
    if (str.length !== 6) return 'offset must be 6 characters long';
    const sign = str[0] === '+' ? -1 : str[0] === '-' ? 1 : 0;
    if (sign === 0) return 'offset must begin with plus/minus';
    str = str.slice(1);
    if (str[2] !== ':') return 'missing colon in offset in correct place';
    const z = str.split(':').map((t) => (/^[+-]?[0-9]+$/.test(t) ? Number(t) : Number.NaN));
    if (z.some(Number.isNaN)) return 'invalid hour/min in offset';
    if (z.some((x) => x < 0)) return 'non-positive hour/min in offset';
    const [zh, zm] = z as [number, number];
    if (zh > 23 || zm > 59) return 'hour/min in offset out of range';
    let hm = h * 60 + m + sign * (zh * 60 + zm);
    if (hm < 0) hm += 24 * 60;
    h = Math.floor(hm / 60);
    m = hm % 60;
  }
  if (s >= 60 && (h !== 23 || m !== 59)) return 'invalid leap second';
  return undefined;
};

const dateTime: Check = (s) => {
  if (s.length < 20) return 'less than 20 characters long';
  if (s[10] !== 't' && s[10] !== 'T') return '11th character must be t or T';
  const d = date(s.slice(0, 10));
  if (d !== undefined) return `invalid date element: ${d}`;
  const t = time(s.slice(11));
  if (t !== undefined) return `invalid time element: ${t}`;
  return undefined;
};

const uri: Check = (s) => {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s)) return undefined;
  return 'relative url';
};

/** Format name → check, for the formats chartproof asserts. @internal */
export const SCHEMA_FORMATS: Readonly<Record<string, Check>> = {
  ipv4,
  hostname,
  email,
  uuid,
  date,
  time,
  'date-time': dateTime,
  uri,
};
