/**
 * Sprig date functions (date.go) over a Go `time.Time` model: Go reference-layout
 * formatting ("2006-01-02T15:04:05Z07:00"), parsing for `toDate`, durations and
 * `time.Duration.String()`. Zones: UTC, "Local" (the process zone) and IANA names
 * resolved through Intl.
 * @internal
 */
import { type FuncMap, type GoFunc, GoStruct, type GoValue, goFunc } from '../template/value.js';
import { parseGoInt } from './util.js';

const NS_PER_S = 1_000_000_000n;

export interface Zone {
  /** IANA name, 'UTC' or 'Local' (or the name of a fixed zone). */
  name: string;
  /** A fixed zone (time.FixedZone): seconds east of UTC; `name` may be "". */
  fixed?: number;
}

/** Offset (seconds east of UTC) and abbreviation of a zone at an instant. */
function zoneAt(zone: Zone, epochMs: number): { offset: number; abbr: string } {
  if (zone.fixed !== undefined) return { offset: zone.fixed, abbr: zone.name };
  if (zone.name === 'UTC') return { offset: 0, abbr: 'UTC' };
  const tz = zone.name === 'Local' ? undefined : zone.name;
  const d = new Date(epochMs);
  if (tz === undefined) {
    const offset = -d.getTimezoneOffset() * 60;
    const resolved = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (offset === 0 && (resolved === 'UTC' || resolved === 'Etc/UTC')) return { offset: 0, abbr: 'UTC' };
    return { offset, abbr: abbreviation(resolved, d, offset) };
  }
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(d);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  const offset = Math.round((asUtc - Math.floor(epochMs / 1000) * 1000) / 1000);
  return { offset, abbr: abbreviation(tz, d, offset) };
}

// Go prints tzdata abbreviations; Intl only has CLDR names, which match tzdata for the
// regions below when asked in that region's English locale. Zones whose tzdata
// abbreviation no English locale knows are listed explicitly (no DST at present).
const FIXED_ABBR: Record<string, string> = {
  'Asia/Tokyo': 'JST',
  'Asia/Seoul': 'KST',
  'Asia/Shanghai': 'CST',
  'Asia/Jakarta': 'WIB',
  'Asia/Karachi': 'PKT',
  'Asia/Kolkata': 'IST',
  'Asia/Calcutta': 'IST',
  'Asia/Hong_Kong': 'HKT',
  'Asia/Manila': 'PST',
  'Europe/Moscow': 'MSK',
};
function localesFor(tz: string): string[] {
  if (tz === 'Europe/Dublin') return ['en-IE'];
  if (tz.startsWith('America/') || tz.startsWith('US/') || tz === 'Pacific/Honolulu') return ['en-US'];
  if (tz.startsWith('Europe/')) return ['en-GB'];
  if (tz.startsWith('Australia/')) return ['en-AU'];
  if (tz === 'Pacific/Auckland' || tz.startsWith('NZ')) return ['en-NZ'];
  if (tz.startsWith('Africa/')) return ['en-ZA', 'en-GB'];
  return [];
}

function abbreviation(tz: string, d: Date, offset: number): string {
  const fixed = FIXED_ABBR[tz];
  if (fixed) return fixed;
  if (tz === 'Asia/Jerusalem' || tz === 'Asia/Tel_Aviv') return offset === 10800 ? 'IDT' : 'IST';
  if (offset === 0 && (tz === 'UTC' || tz === 'Etc/UTC')) return 'UTC';
  for (const locale of localesFor(tz)) {
    const name = new Intl.DateTimeFormat(locale, { timeZone: tz, timeZoneName: 'short' })
      .formatToParts(d)
      .find((p) => p.type === 'timeZoneName')?.value;
    if (name && /^[A-Z]{2,5}$/.test(name)) return name;
  }
  // Go's tzdata uses numeric abbreviations such as "+03" where no letters exist.
  const sign = offset < 0 ? '-' : '+';
  const a = Math.abs(offset);
  const h = String(Math.floor(a / 3600)).padStart(2, '0');
  const m = Math.floor((a % 3600) / 60);
  return m === 0 ? `${sign}${h}` : `${sign}${h}${String(m).padStart(2, '0')}`;
}

/** time.LoadLocation: undefined for unknown names. */
export function loadLocation(name: string): Zone | undefined {
  if (name === '' || name === 'UTC') return { name: 'UTC' };
  if (name === 'Local') return { name: 'Local' };
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return { name };
  } catch {
    return undefined;
  }
}

/** A Go time.Time: nanoseconds since the Unix epoch plus a location. */
export class GoTime extends GoStruct {
  constructor(
    readonly ns: bigint,
    readonly zone: Zone,
    readonly monotonic?: bigint,
  ) {
    super(
      'time.Time',
      [],
      timeMethods(() => this),
      () => formatTime(this, '2006-01-02 15:04:05.999999999 -0700 MST') + monoSuffix(monotonic),
    );
  }
  marshalJSON(): string {
    return `"${formatTime(this, '2006-01-02T15:04:05.999999999Z07:00')}"`;
  }
  in(zone: Zone): GoTime {
    return new GoTime(this.ns, zone);
  }
  unix(): bigint {
    return floorDiv(this.ns, NS_PER_S);
  }
}

function monoSuffix(m: bigint | undefined): string {
  if (m === undefined) return '';
  const sign = m < 0n ? '-' : '+';
  const a = m < 0n ? -m : m;
  return ` m=${sign}${a / NS_PER_S}.${String(a % NS_PER_S).padStart(9, '0')}`;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

const processStart = process.hrtime.bigint();
export function timeNow(): GoTime {
  const ms = BigInt(Date.now());
  const sub = process.hrtime.bigint() % 1_000_000n;
  return new GoTime(ms * 1_000_000n + sub, { name: 'Local' }, process.hrtime.bigint() - processStart);
}

function timeMethods(self: () => GoTime): [string, GoFunc][] {
  return [
    ['Unix', goFunc([], () => self().unix())],
    ['UnixNano', goFunc([], () => self().ns)],
    ['UnixMilli', goFunc([], () => floorDiv(self().ns, 1_000_000n))],
    ['Format', goFunc(['string'], ([l]) => formatTime(self(), l as string))],
    ['UTC', goFunc([], () => self().in({ name: 'UTC' }))],
    ['Local', goFunc([], () => self().in({ name: 'Local' }))],
    ['String', goFunc([], () => self().stringer!())],
    ['Year', goFunc([], () => BigInt(civil(self()).year))],
    ['YearDay', goFunc([], () => BigInt(civil(self()).yday))],
    ['Day', goFunc([], () => BigInt(civil(self()).day))],
    ['Hour', goFunc([], () => BigInt(civil(self()).hour))],
    ['Minute', goFunc([], () => BigInt(civil(self()).min))],
    ['Second', goFunc([], () => BigInt(civil(self()).sec))],
    ['Nanosecond', goFunc([], () => BigInt(civil(self()).nsec))],
    ['IsZero', goFunc([], () => self().ns === ZERO_TIME_NS)],
  ];
}

/** Unix nanoseconds of Go's zero Time (January 1, year 1, 00:00:00 UTC). */
const ZERO_TIME_NS = -62135596800n * NS_PER_S;

interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  nsec: number;
  wday: number;
  yday: number;
  offset: number;
  abbr: string;
}

function civil(t: GoTime): Civil {
  const sec = floorDiv(t.ns, NS_PER_S);
  const nsec = Number(t.ns - sec * NS_PER_S);
  const { offset, abbr } = zoneAt(t.zone, Number(sec) * 1000);
  const local = Number(sec) + offset;
  const days = Math.floor(local / 86400);
  let rem = local - days * 86400;
  const hour = Math.floor(rem / 3600);
  rem -= hour * 3600;
  const min = Math.floor(rem / 60);
  const s = rem - min * 60;
  // civil from days (Howard Hinnant's algorithm)
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  let year = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  if (month <= 2) year++;
  const wday = (((days + 4) % 7) + 7) % 7;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const cum = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
  const yday = cum[month - 1]! + day + (leap && month > 2 ? 1 : 0);
  return { year, month, day, hour, min, sec: s, nsec, wday, yday, offset, abbr };
}

const LONG_DAY = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const LONG_MONTH = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

type Chunk = { lit: string } | { std: string; digits?: number };

/** Splits a layout into literals and std elements (time.nextStdChunk). */
export function layoutChunks(layout: string): Chunk[] {
  const out: Chunk[] = [];
  let lit = '';
  const push = (std: string, len: number, digits?: number): number => {
    if (lit) out.push({ lit });
    lit = '';
    out.push(digits === undefined ? { std } : { std, digits });
    return len;
  };
  for (let i = 0; i < layout.length; ) {
    const r = layout.slice(i);
    const c = layout[i]!;
    let n = 0;
    switch (c) {
      case 'J':
        if (r.startsWith('January')) n = push('January', 7);
        else if (r.startsWith('Jan')) n = push('Jan', 3);
        break;
      case 'M':
        if (r.startsWith('Monday')) n = push('Monday', 6);
        else if (r.startsWith('Mon')) n = push('Mon', 3);
        else if (r.startsWith('MST')) n = push('MST', 3);
        break;
      case '0':
        if (/^0[1-6]/.test(r)) n = push(`0${r[1]}`, 2);
        else if (r.startsWith('002')) n = push('002', 3);
        break;
      case '1':
        if (r.startsWith('15')) n = push('15', 2);
        else n = push('1', 1);
        break;
      case '2':
        if (r.startsWith('2006')) n = push('2006', 4);
        else if (r.startsWith('02')) n = push('02', 2);
        else n = push('2', 1);
        break;
      case '_':
        if (r.startsWith('_2')) {
          if (r.startsWith('_2006')) {
            lit += '_';
            n = 1;
            // "_2006" is a literal underscore followed by the year.
          } else n = push('_2', 2);
        }
        break;
      case '3':
      case '4':
      case '5':
        n = push(c, 1);
        break;
      case 'P':
        if (r.startsWith('PM')) n = push('PM', 2);
        break;
      case 'p':
        if (r.startsWith('pm')) n = push('pm', 2);
        break;
      case '-':
        for (const s of ['-070000', '-07:00:00', '-0700', '-07:00', '-07']) {
          if (r.startsWith(s)) {
            n = push(s, s.length);
            break;
          }
        }
        break;
      case 'Z':
        for (const s of ['Z070000', 'Z07:00:00', 'Z0700', 'Z07:00', 'Z07']) {
          if (r.startsWith(s)) {
            n = push(s, s.length);
            break;
          }
        }
        break;
      case '.':
      case ',': {
        const m = /^[.,](0+|9+)/.exec(r);
        if (m && !/^[0-9]/.test(r.slice(m[0].length))) {
          n = push(m[1]![0] === '0' ? `${c}0` : `${c}9`, m[0].length, m[1]!.length);
        }
        break;
      }
    }
    if (n === 0) {
      lit += c;
      n = 1;
    }
    i += n;
  }
  if (lit) out.push({ lit });
  return out;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** time.Time.Format. */
export function formatTime(t: GoTime, layout: string): string {
  const c = civil(t);
  let out = '';
  for (const ch of layoutChunks(layout)) {
    if ('lit' in ch) {
      out += ch.lit;
      continue;
    }
    switch (ch.std) {
      case 'January':
        out += LONG_MONTH[c.month - 1];
        break;
      case 'Jan':
        out += LONG_MONTH[c.month - 1]!.slice(0, 3);
        break;
      case 'Monday':
        out += LONG_DAY[c.wday];
        break;
      case 'Mon':
        out += LONG_DAY[c.wday]!.slice(0, 3);
        break;
      case 'MST':
        // A zone without a name prints its offset (-0700 form), as Go does.
        out += c.abbr !== '' ? c.abbr : formatZone('-0700', c.offset);
        break;
      case '01':
        out += pad(c.month, 2);
        break;
      case '1':
        out += c.month;
        break;
      case '02':
        out += pad(c.day, 2);
        break;
      case '_2':
        out += String(c.day).padStart(2, ' ');
        break;
      case '2':
        out += c.day;
        break;
      case '002':
        out += pad(c.yday, 3);
        break;
      case '2006':
        out += c.year < 0 ? `-${pad(-c.year, 4)}` : pad(c.year, 4);
        break;
      case '06':
        out += pad(((c.year % 100) + 100) % 100, 2);
        break;
      case '15':
        out += pad(c.hour, 2);
        break;
      case '03':
        out += pad(c.hour % 12 === 0 ? 12 : c.hour % 12, 2);
        break;
      case '3':
        out += c.hour % 12 === 0 ? 12 : c.hour % 12;
        break;
      case '04':
        out += pad(c.min, 2);
        break;
      case '4':
        out += c.min;
        break;
      case '05':
        out += pad(c.sec, 2);
        break;
      case '5':
        out += c.sec;
        break;
      case 'PM':
        out += c.hour >= 12 ? 'PM' : 'AM';
        break;
      case 'pm':
        out += c.hour >= 12 ? 'pm' : 'am';
        break;
      default:
        if (ch.std.startsWith('-') || ch.std.startsWith('Z')) out += formatZone(ch.std, c.offset);
        else if (ch.std.length === 2 && (ch.std[0] === '.' || ch.std[0] === ',')) {
          const digits = ch.digits ?? 9;
          const frac = pad(c.nsec, 9).slice(0, digits);
          if (ch.std[1] === '0') out += ch.std[0] + frac;
          else {
            const trimmed = pad(c.nsec, 9).replace(/0+$/, '').slice(0, digits);
            if (trimmed !== '') out += ch.std[0] + trimmed;
          }
        }
    }
  }
  return out;
}

function formatZone(std: string, offset: number): string {
  if (std.startsWith('Z') && offset === 0) return 'Z';
  const sign = offset < 0 ? '-' : '+';
  const a = Math.abs(offset);
  const h = pad(Math.floor(a / 3600), 2);
  const m = pad(Math.floor((a % 3600) / 60), 2);
  const s = pad(a % 60, 2);
  const body = std.slice(1);
  switch (body) {
    case '07':
      return sign + h;
    case '0700':
      return sign + h + m;
    case '07:00':
      return `${sign}${h}:${m}`;
    case '070000':
      return sign + h + m + s;
    case '07:00:00':
      return `${sign}${h}:${m}:${s}`;
  }
  return '';
}

/** time.ParseInLocation for numeric layouts (enough for toDate); throws Go-like errors. */
export function parseTime(layout: string, value: string, zone: Zone): GoTime {
  const fields: Record<string, number> = {};
  let v = value;
  let offset: number | undefined;
  const bad = (elem: string): never => {
    throw new Error(
      `parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse ${JSON.stringify(v)} as ${JSON.stringify(elem)}`,
    );
  };
  const num = (std: string, width: number, fixed: boolean): number => {
    const m = fixed ? new RegExp(`^[0-9]{${width}}`).exec(v) : /^[0-9]{1,2}/.exec(v);
    if (!m) return bad(std);
    v = v.slice(m[0].length);
    return Number(m[0]);
  };
  for (const ch of layoutChunks(layout)) {
    if ('lit' in ch) {
      if (!v.startsWith(ch.lit)) bad(ch.lit);
      v = v.slice(ch.lit.length);
      continue;
    }
    switch (ch.std) {
      case '2006':
        fields.year = num('2006', 4, true);
        break;
      case '06': {
        const y = num('06', 2, true);
        fields.year = y >= 69 ? 1900 + y : 2000 + y;
        break;
      }
      case '01':
        fields.month = num('01', 2, true);
        break;
      case '1':
        fields.month = num('1', 2, false);
        break;
      case 'January':
      case 'Jan': {
        const idx = LONG_MONTH.findIndex((mn) => v.startsWith(ch.std === 'Jan' ? mn.slice(0, 3) : mn));
        if (idx < 0) bad(ch.std);
        v = v.slice(ch.std === 'Jan' ? 3 : LONG_MONTH[idx]!.length);
        fields.month = idx + 1;
        break;
      }
      case 'Monday':
      case 'Mon': {
        const idx = LONG_DAY.findIndex((d) => v.startsWith(ch.std === 'Mon' ? d.slice(0, 3) : d));
        if (idx < 0) bad(ch.std);
        v = v.slice(ch.std === 'Mon' ? 3 : LONG_DAY[idx]!.length);
        break;
      }
      case '02':
        fields.day = num('02', 2, true);
        break;
      case '_2':
        if (v.startsWith(' ')) v = v.slice(1);
        fields.day = num('_2', 2, false);
        break;
      case '2':
        fields.day = num('2', 2, false);
        break;
      case '15':
        fields.hour = num('15', 2, false);
        break;
      case '03':
      case '3':
        fields.hour12 = num(ch.std, 2, ch.std === '03');
        break;
      case '04':
      case '4':
        fields.min = num(ch.std, 2, ch.std === '04');
        break;
      case '05':
      case '5':
        fields.sec = num(ch.std, 2, ch.std === '05');
        if (/^[.,][0-9]/.test(v)) {
          const m = /^[.,]([0-9]+)/.exec(v)!;
          fields.nsec = Number(m[1]!.slice(0, 9).padEnd(9, '0'));
          v = v.slice(m[0].length);
        }
        break;
      case 'PM':
      case 'pm': {
        const m = /^(AM|PM|am|pm)/.exec(v);
        if (!m) bad(ch.std);
        fields.pm = m![1]!.toUpperCase() === 'PM' ? 1 : 0;
        v = v.slice(2);
        break;
      }
      case 'MST': {
        const m = /^[A-Z]{3,5}|^[+-][0-9]{2,4}/.exec(v);
        if (!m) bad('MST');
        v = v.slice(m![0].length);
        if (m![0] === 'UTC' || m![0] === 'GMT') offset = 0;
        break;
      }
      default:
        if (ch.std.startsWith('Z') && v.startsWith('Z')) {
          v = v.slice(1);
          offset = 0;
        } else if (ch.std.startsWith('-') || ch.std.startsWith('Z')) {
          const m = /^([+-])([0-9]{2})(?::?([0-9]{2}))?(?::?([0-9]{2}))?/.exec(v);
          if (!m) bad(ch.std);
          const o = Number(m![2]) * 3600 + Number(m![3] ?? 0) * 60 + Number(m![4] ?? 0);
          offset = m![1] === '-' ? -o : o;
          v = v.slice(m![0].length);
        } else if (ch.std[0] === '.' || ch.std[0] === ',') {
          const m = /^[.,]([0-9]+)/.exec(v);
          if (!m && ch.std[1] === '0') bad(ch.std);
          if (m) {
            fields.nsec = Number(m[1]!.slice(0, 9).padEnd(9, '0'));
            v = v.slice(m[0].length);
          }
        }
    }
  }
  if (v !== '') throw new Error(`parsing time ${JSON.stringify(value)}: extra text: ${JSON.stringify(v)}`);
  let hour = fields.hour ?? 0;
  if (fields.hour12 !== undefined) hour = (fields.hour12 % 12) + (fields.pm ? 12 : 0);
  const year = fields.year ?? 0;
  const month = fields.month ?? 1;
  const day = fields.day ?? 1;
  if (month < 1 || month > 12) throw new Error(`parsing time ${JSON.stringify(value)}: month out of range`);
  const dim = new Date(Date.UTC(2000, month, 0)).getUTCDate();
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day < 1 || day > (month === 2 ? (leap ? 29 : 28) : dim)) {
    throw new Error(`parsing time ${JSON.stringify(value)}: day out of range`);
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, fields.min ?? 0, fields.sec ?? 0, 0);
  let secs = BigInt(Math.floor(d.getTime() / 1000));
  if (offset !== undefined) secs -= BigInt(offset);
  else secs -= BigInt(zoneAt(zone, Number(secs) * 1000).offset);
  return new GoTime(secs * NS_PER_S + BigInt(fields.nsec ?? 0), zone);
}

// ---------------------------------------------------------------- durations

/** time.Duration.String(). */
export function durationString(d: bigint): string {
  if (d === 0n) return '0s';
  const neg = d < 0n;
  let u = neg ? -d : d;
  let out: string;
  if (u < NS_PER_S) {
    const units: [bigint, string][] = [
      [1_000_000n, 'ms'],
      [1_000n, 'µs'],
      [1n, 'ns'],
    ];
    const [div, name] = units.find(([x]) => u >= x)!;
    out = fracString(u, div) + name;
  } else {
    const h = u / 3_600_000_000_000n;
    u -= h * 3_600_000_000_000n;
    const m = u / 60_000_000_000n;
    u -= m * 60_000_000_000n;
    out = `${fracString(u, NS_PER_S)}s`;
    if (h > 0n) out = `${h}h${m}m${out}`;
    else if (m > 0n) out = `${m}m${out}`;
  }
  return neg ? `-${out}` : out;
}
function fracString(v: bigint, div: bigint): string {
  const i = v / div;
  const f = v % div;
  if (f === 0n) return String(i);
  const digits = String(div).length - 1;
  return `${i}.${String(f).padStart(digits, '0').replace(/0+$/, '')}`;
}

const UNIT: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: NS_PER_S,
  m: 60n * NS_PER_S,
  h: 3600n * NS_PER_S,
};

/** time.ParseDuration. */
export function parseDuration(s0: string): bigint {
  const orig = s0;
  const err = (msg: string): Error => new Error(`time: ${msg} ${quoteDur(orig)}`);
  let s = s0;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw err('invalid duration');
  let total = 0n;
  while (s !== '') {
    const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
    if (m[0] === '' || m[0] === '.') throw err('invalid duration');
    s = s.slice(m[0].length);
    const u = /^[^0-9.]+/.exec(s);
    if (!u) throw err('missing unit in duration');
    const unit = UNIT[u[0]];
    if (unit === undefined)
      throw new Error(`time: unknown unit ${quoteDur(u[0])} in duration ${quoteDur(orig)}`);
    s = s.slice(u[0].length);
    const whole = BigInt(m[1] || '0');
    let v = whole * unit;
    const frac = m[2] ?? '';
    if (frac !== '') {
      const scale = 10n ** BigInt(frac.length);
      v += (BigInt(frac) * unit) / scale;
    }
    total += v;
    if (total > 9223372036854775807n) throw err('invalid duration');
  }
  return neg ? -total : total;
}
function quoteDur(s: string): string {
  return `"${s}"`;
}

// ---------------------------------------------------------------- sprig functions

function toTime(date: GoValue): GoTime {
  if (date instanceof GoTime) return date;
  if (typeof date === 'bigint') return new GoTime(date * NS_PER_S, { name: 'Local' });
  return timeNow();
}

function dateInZone(fmt: string, date: GoValue, zoneName: string): string {
  const t = toTime(date);
  const zone = loadLocation(zoneName) ?? { name: 'UTC' };
  return formatTime(t.in(zone), fmt);
}

function asTime(v: GoValue): GoTime {
  if (v instanceof GoTime) return v;
  throw new Error('wrong type for value; expected time.Time');
}

export function dateFuncs(): FuncMap {
  const timeParam = { kind: 'any', name: 'time.Time' } as const;
  const dateModify = (must: boolean) =>
    goFunc(['string', timeParam], ([f, d]) => {
      const t = asTime(d!);
      try {
        return new GoTime(t.ns + parseDuration(f as string), t.zone);
      } catch (e) {
        if (must) throw e;
        return t;
      }
    });
  const toDate = (must: boolean) =>
    goFunc(['string', 'string'], ([f, s]) => {
      try {
        return parseTime(f as string, s as string, { name: 'Local' });
      } catch (e) {
        if (must) throw e;
        return new GoTime(ZERO_TIME_NS, { name: 'UTC' });
      }
    });
  return {
    ago: goFunc(['any'], ([d]) => {
      const t = d instanceof GoTime ? d : typeof d === 'bigint' ? toTime(d) : timeNow();
      const since = timeNow().ns - t.ns;
      const rounded = roundDuration(since, NS_PER_S);
      return durationString(rounded);
    }),
    date: goFunc(['string', 'any'], ([f, d]) => dateInZone(f as string, d!, 'Local')),
    date_in_zone: goFunc(['string', 'any', 'string'], ([f, d, z]) =>
      dateInZone(f as string, d!, z as string),
    ),
    dateInZone: goFunc(['string', 'any', 'string'], ([f, d, z]) => dateInZone(f as string, d!, z as string)),
    date_modify: dateModify(false),
    dateModify: dateModify(false),
    must_date_modify: dateModify(true),
    mustDateModify: dateModify(true),
    duration: goFunc(['any'], ([sec]) => {
      let n = 0n;
      if (typeof sec === 'string') {
        const r = parseGoInt(sec, 10);
        n =
          typeof r === 'bigint'
            ? r
            : r === 'range'
              ? sec.startsWith('-')
                ? -(2n ** 63n)
                : 2n ** 63n - 1n
              : 0n;
      } else if (typeof sec === 'bigint') n = sec;
      return durationString(BigInt.asIntN(64, n * NS_PER_S));
    }),
    durationRound: goFunc(['any'], ([v]) => {
      let d = 0n;
      if (typeof v === 'string') {
        try {
          d = parseDuration(v);
        } catch {
          d = 0n;
        }
      } else if (typeof v === 'bigint') d = v;
      else if (v instanceof GoTime) d = timeNow().ns - v.ns;
      const u = d < 0n ? -d : d;
      const hour = 3600n * NS_PER_S;
      const units: [bigint, string][] = [
        [hour * 24n * 365n, 'y'],
        [hour * 24n * 30n, 'mo'],
        [hour * 24n, 'd'],
        [hour, 'h'],
        [60n * NS_PER_S, 'm'],
        [NS_PER_S, 's'],
      ];
      for (const [size, name] of units) if (u > size) return `${u / size}${name}`;
      return '0s';
    }),
    htmlDate: goFunc(['any'], ([d]) => dateInZone('2006-01-02', d!, 'Local')),
    htmlDateInZone: goFunc(['any', 'string'], ([d, z]) => dateInZone('2006-01-02', d!, z as string)),
    mustToDate: toDate(true),
    toDate: toDate(false),
    now: goFunc([], () => timeNow()),
    unixEpoch: goFunc([timeParam], ([d]) => String(asTime(d!).unix())),
  };
}

/** time.Duration.Round. */
function roundDuration(d: bigint, m: bigint): bigint {
  let r = d % m;
  if (d < 0n) {
    r = -r;
    if (r + r < m) return d + r;
    return d - m + r;
  }
  if (r + r < m) return d - r;
  return d + m - r;
}
