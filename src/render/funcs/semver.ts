/**
 * `semver` and `semverCompare` with Masterminds/semver v3.4.0 semantics (the version
 * Helm v4.1.4's go.mod selects; sprig v3.3.0 asks for v3.3.0)
 * (NewVersion's coercing parse, NewConstraint's operators, wildcards, hyphen ranges
 * and its per-OR-group prerelease rule). The parsing regexps run on re2js so Go's
 * leftmost-first alternation matches exactly.
 * @internal
 */
import type { RE2JS } from 're2js';
import { re2 } from './regex.js';
import { type FuncMap, type GoFunc, GoStruct, type GoValue, goFunc } from '../template/value.js';

const CV = String.raw`v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?`;
const SEMVER = String.raw`v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?`;
const OPS = String.raw`=||!=|>|<|>=|=>|<=|=<|~|~>|\^`;

let regexes:
  | {
      version: RE2JS;
      constraint: RE2JS;
      range: RE2JS;
      find: RE2JS;
      valid: RE2JS;
    }
  | undefined;
function re() {
  regexes ??= {
    version: re2().compile(`^${SEMVER}$`),
    constraint: re2().compile(String.raw`^\s*(${OPS})\s*(${CV})\s*$`),
    range: re2().compile(String.raw`\s*(${CV})\s+-\s+(${CV})\s*`),
    find: re2().compile(String.raw`(${OPS})\s*(${CV})`),
    valid: re2().compile(String.raw`^(\s*(${OPS})\s*(${CV})\s*)((?:\s+|,\s*)(${OPS})\s*(${CV})\s*)*$`),
  };
  return regexes;
}

/** Submatches as strings ('' for non-participating groups), Go FindStringSubmatch. */
function submatch(r: RE2JS, s: string): string[] | undefined {
  const m = r.re2().findSubmatch(s) as (string | null)[] | null;
  return m ? m.map((x) => x ?? '') : undefined;
}
function findAllSubmatch(r: RE2JS, s: string): string[][] {
  const m = (r.re2().findAllSubmatch(s, s.length + 1) as (string | null)[][] | null) ?? [];
  return m.map((a) => a.map((x) => x ?? ''));
}

const MAX_U64 = 18446744073709551615n;
function parseUint(s: string): bigint {
  const v = BigInt(s);
  if (v > MAX_U64) {
    throw new Error(`error parsing version segment: strconv.ParseUint: parsing "${s}": value out of range`);
  }
  return v;
}

/** A parsed Masterminds version. */
export interface SemVersion {
  major: bigint;
  minor: bigint;
  patch: bigint;
  pre: string;
  metadata: string;
  original: string;
}

function containsOnly(s: string, set: RegExp): boolean {
  return set.test(s);
}

function validatePrerelease(p: string): void {
  for (const part of p.split('.')) {
    if (part === '') throw new Error('invalid prerelease string');
    if (/^[0-9]*$/.test(part)) {
      if (part.length > 1 && part[0] === '0') throw new Error('version segment starts with 0');
    } else if (!containsOnly(part, /^[a-zA-Z0-9-]*$/)) throw new Error('invalid prerelease string');
  }
}
function validateMetadata(m: string): void {
  for (const part of m.split('.')) {
    if (part === '' || !containsOnly(part, /^[a-zA-Z0-9-]*$/)) throw new Error('invalid metadata string');
  }
}

/** semver.NewVersion. Throws with Masterminds' error texts. */
export function newVersion(v: string): SemVersion {
  const m = submatch(re().version, v);
  if (!m) throw new Error('invalid semantic version');
  const sv: SemVersion = {
    major: parseUint(m[1]!),
    minor: m[2] ? parseUint(m[2].slice(1)) : 0n,
    patch: m[3] ? parseUint(m[3].slice(1)) : 0n,
    pre: m[5]!,
    metadata: m[8]!,
    original: v,
  };
  if (sv.pre !== '') validatePrerelease(sv.pre);
  if (sv.metadata !== '') validateMetadata(sv.metadata);
  return sv;
}

export function versionString(v: SemVersion): string {
  let s = `${v.major}.${v.minor}.${v.patch}`;
  if (v.pre !== '') s += `-${v.pre}`;
  if (v.metadata !== '') s += `+${v.metadata}`;
  return s;
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
function isU64(s: string): boolean {
  return /^[0-9]+$/.test(s) && BigInt(s) <= MAX_U64;
}
function comparePrePart(s: string, o: string): number {
  if (s === o) return 0;
  if (s === '') return o !== '' ? -1 : 1;
  if (o === '') return 1;
  const on = isU64(o);
  const sn = isU64(s);
  if (!on && !sn) return s > o ? 1 : -1; // byte order; ASCII only here
  if (!on) return -1;
  if (!sn) return 1;
  return BigInt(s) > BigInt(o) ? 1 : -1;
}
function comparePrerelease(v: string, o: string): number {
  const sp = v.split('.');
  const op = o.split('.');
  const l = Math.max(sp.length, op.length);
  for (let i = 0; i < l; i++) {
    const d = comparePrePart(sp[i] ?? '', op[i] ?? '');
    if (d !== 0) return d;
  }
  return 0;
}
export function compareVersions(v: SemVersion, o: SemVersion): number {
  const d = cmp(v.major, o.major) || cmp(v.minor, o.minor) || cmp(v.patch, o.patch);
  if (d !== 0) return d;
  if (v.pre === '' && o.pre === '') return 0;
  if (v.pre === '') return 1;
  if (o.pre === '') return -1;
  return comparePrerelease(v.pre, o.pre);
}

interface Constraint {
  con: SemVersion;
  orig: string;
  origfunc: string;
  minorDirty: boolean;
  dirty: boolean;
  patchDirty: boolean;
}

const isX = (x: string): boolean => x === 'x' || x === '*' || x === 'X';

function parseConstraint(c: string): Constraint {
  if (c.length > 0) {
    const m = submatch(re().constraint, c);
    if (!m) throw new Error(`improper constraint: ${c}`);
    let ver = m[2]!;
    let minorDirty = false;
    let patchDirty = false;
    let dirty = false;
    if (isX(m[3]!) || m[3] === '') {
      ver = `0.0.0${m[6]}`;
      dirty = true;
    } else if (isX(m[4]!.replace(/^\./, '')) || m[4] === '') {
      minorDirty = true;
      dirty = true;
      ver = `${m[3]}.0.0${m[6]}`;
    } else if (isX(m[5]!.replace(/^\./, '')) || m[5] === '') {
      dirty = true;
      patchDirty = true;
      ver = `${m[3]}${m[4]}.0${m[6]}`;
    }
    let con: SemVersion;
    try {
      con = newVersion(ver);
    } catch {
      throw new Error('constraint parser error');
    }
    return { con, orig: m[2]!, origfunc: m[1]!, minorDirty, dirty, patchDirty };
  }
  return {
    con: { major: 0n, minor: 0n, patch: 0n, pre: '', metadata: '', original: '0.0.0' },
    orig: c,
    origfunc: '',
    minorDirty: false,
    patchDirty: false,
    dirty: true,
  };
}

function rewriteRange(i: string): string {
  const ms = findAllSubmatch(re().range, i);
  let o = i;
  for (const v of ms) o = o.replace(v[0]!, `>= ${v[1]}, <= ${v[11]} `);
  return o;
}

/** Parsed constraints: OR-groups of AND-ed constraints. */
export interface Constraints {
  groups: Constraint[][];
  /** Per group: some constraint names a prerelease, so prereleases may match. */
  containsPre: boolean[];
}

/** semver.NewConstraint. */
export function newConstraint(c0: string): Constraints {
  const c = rewriteRange(c0);
  const groups = c.split('||').map((v) => {
    if (!re().valid.re2().match(v)) throw new Error(`improper constraint: ${v}`);
    const found = re()
      .find.re2()
      .findAll(v, v.length + 1) as string[] | null;
    const cs = found && found.length > 0 ? found : [v];
    return cs.map(parseConstraint);
  });
  return { groups, containsPre: groups.map((g) => g.some((x) => x.con.pre !== '')) };
}

function checkTilde(v: SemVersion, c: Constraint, includePre: boolean): boolean {
  if (v.pre !== '' && !includePre) return false;
  if (compareVersions(v, c.con) < 0) return false;
  if (c.con.major === 0n && c.con.minor === 0n && c.con.patch === 0n && !c.minorDirty && !c.patchDirty)
    return true;
  if (v.major !== c.con.major) return false;
  if (v.minor !== c.con.minor && !c.minorDirty) return false;
  return true;
}

function check(v: SemVersion, c: Constraint, includePre: boolean): boolean {
  // v3.4.0: a prerelease version only matches when its OR-group names a prerelease.
  if (v.pre !== '' && !includePre) return false;
  switch (c.origfunc) {
    case '':
    case '=':
      if (c.dirty) return checkTilde(v, c, includePre);
      return compareVersions(v, c.con) === 0;
    case '!=':
      if (c.dirty) {
        if (c.con.major !== v.major) return true;
        if (c.con.minor !== v.minor && !c.minorDirty) return true;
        if (c.minorDirty) return false;
        if (c.con.patch !== v.patch && !c.patchDirty) return true;
        if (c.patchDirty) {
          if (v.pre !== '' || c.con.pre !== '') return comparePrerelease(v.pre, c.con.pre) !== 0;
          return false;
        }
      }
      return compareVersions(v, c.con) !== 0;
    case '>':
      if (!c.dirty) return compareVersions(v, c.con) === 1;
      if (v.major > c.con.major) return true;
      if (v.major < c.con.major) return false;
      if (c.minorDirty) return false;
      if (c.patchDirty) return v.minor > c.con.minor;
      return compareVersions(v, c.con) === 1;
    case '<':
      return compareVersions(v, c.con) < 0;
    case '>=':
    case '=>':
      return compareVersions(v, c.con) >= 0;
    case '<=':
    case '=<':
      if (!c.dirty) return compareVersions(v, c.con) <= 0;
      if (v.major > c.con.major) return false;
      if (v.major === c.con.major && v.minor > c.con.minor && !c.minorDirty) return false;
      return true;
    case '~':
    case '~>':
      return checkTilde(v, c, includePre);
    case '^':
      if (compareVersions(v, c.con) < 0) return false;
      if (c.con.major > 0n || c.minorDirty) return v.major === c.con.major;
      if (c.con.major === 0n && v.major > 0n) return false;
      if (c.con.minor > 0n || c.patchDirty) return v.minor === c.con.minor;
      if (c.con.minor === 0n && v.minor > 0n) return false;
      return c.con.patch === v.patch;
  }
  return false;
}

/** Constraints.Check. */
export function constraintCheck(cs: Constraints, v: SemVersion): boolean {
  return cs.groups.some((group, i) => group.every((c) => check(v, c, cs.containsPre[i]!)));
}

/** semverCompare: errors from parsing propagate. */
export function semverCompare(constraint: string, version: string): boolean {
  const c = newConstraint(constraint);
  const v = newVersion(version);
  return constraintCheck(c, v);
}

/** The `*semver.Version` a template sees (methods and Stringer). */
export function versionStruct(v: SemVersion): GoStruct {
  const m = (f: (args: GoValue[]) => GoValue, params: GoFunc['params'] = []): GoFunc =>
    goFunc(params, (a) => f(a));
  const other = (x: GoValue): SemVersion => {
    if (x instanceof GoStruct && x.typeName === '*semver.Version') return (x as VersionStruct).version;
    throw new Error('wrong type for value; expected *semver.Version');
  };
  const methods: [string, GoFunc][] = [
    ['Major', m(() => v.major)],
    ['Minor', m(() => v.minor)],
    ['Patch', m(() => v.patch)],
    ['Prerelease', m(() => v.pre)],
    ['Metadata', m(() => v.metadata)],
    ['Original', m(() => v.original)],
    ['String', m(() => versionString(v))],
    ['Compare', m(([o]) => BigInt(compareVersions(v, other(o!))), ['any'])],
    ['LessThan', m(([o]) => compareVersions(v, other(o!)) < 0, ['any'])],
    ['LessThanEqual', m(([o]) => compareVersions(v, other(o!)) <= 0, ['any'])],
    ['GreaterThan', m(([o]) => compareVersions(v, other(o!)) > 0, ['any'])],
    ['GreaterThanEqual', m(([o]) => compareVersions(v, other(o!)) >= 0, ['any'])],
    ['Equal', m(([o]) => compareVersions(v, other(o!)) === 0, ['any'])],
    ['IncMajor', m(() => versionStruct(inc(v, 'major')))],
    ['IncMinor', m(() => versionStruct(inc(v, 'minor')))],
    ['IncPatch', m(() => versionStruct(inc(v, 'patch')))],
  ];
  return new VersionStruct(v, methods);
}

function inc(v: SemVersion, what: 'major' | 'minor' | 'patch'): SemVersion {
  const n = { ...v, metadata: '', pre: '' };
  if (what === 'patch') {
    if (v.pre === '') n.patch = v.patch + 1n;
  } else if (what === 'minor') {
    n.patch = 0n;
    n.minor = v.minor + 1n;
  } else {
    n.patch = 0n;
    n.minor = 0n;
    n.major = v.major + 1n;
  }
  n.original = (v.original.startsWith('v') ? 'v' : '') + versionString(n);
  return n;
}

class VersionStruct extends GoStruct {
  constructor(
    readonly version: SemVersion,
    methods: [string, GoFunc][],
  ) {
    super('*semver.Version', [], methods, () => versionString(version));
  }
  marshalJSON(): string {
    return JSON.stringify(versionString(this.version));
  }
}

export function semverFuncs(): FuncMap {
  return {
    semver: goFunc(['string'], ([v]) => versionStruct(newVersion(v as string))),
    semverCompare: goFunc(['string', 'string'], ([c, v]) => semverCompare(c as string, v as string)),
  };
}
