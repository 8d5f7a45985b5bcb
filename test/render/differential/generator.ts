/**
 * A seeded generator of random Helm charts for differential testing against the real
 * Helm: values.yaml, `--set`/`--set-string`/`--set-json` flags and templates (functions,
 * pipelines, variables, control structures, define/template/include, tpl, printing,
 * whitespace trimming). Everything is derived from one 32-bit seed, so a run is
 * reproducible; kinds are tracked loosely so most programs are valid, and a small share
 * are deliberately not (error cases).
 */

/** mulberry32: a tiny, well-distributed 32-bit PRNG. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

export type Kind = 'str' | 'int' | 'num' | 'bool' | 'list' | 'map' | 'any';

/** A value reachable from `$.Values`, with the kind the generator expects it to have. */
export interface ValueRef {
  expr: string;
  kind: Kind;
}

export interface GeneratedValues {
  /** values.yaml text. */
  yaml: string;
  /** Command-line flags (`--set`, `--set-string`, `--set-json`), in order. */
  flags: string[];
  refs: ValueRef[];
}

// YAML scalar spellings with the kind Helm's YAML reading gives them.
const YAML_SCALARS: ReadonlyArray<readonly [string, Kind]> = [
  ['0', 'num'],
  ['1', 'num'],
  ['42', 'num'],
  ['-7', 'num'],
  ['1.5', 'num'],
  ['0.1', 'num'],
  ['1e6', 'any'],
  ['1.0e+6', 'num'],
  ['-2.5e-3', 'num'],
  ['3.0', 'num'],
  ['12345678901234567890', 'num'],
  ['123456789', 'num'],
  ['0x1F', 'any'],
  ['017', 'any'],
  ['0o17', 'any'],
  ['1_000', 'any'],
  ['+3', 'any'],
  ['.5', 'num'],
  ['true', 'bool'],
  ['false', 'bool'],
  ['yes', 'any'],
  ['on', 'any'],
  ['~', 'any'],
  ['null', 'any'],
  ['hello', 'str'],
  ['hello world', 'str'],
  ['"quoted: yes"', 'str'],
  ["'single ''q'''", 'str'],
  ['"a\\tb"', 'str'],
  ['"ünïcødé"', 'str'],
  ['"<html>&amp;"', 'str'],
  ['"line1\\nline2"', 'str'],
  ['""', 'str'],
  ['"123"', 'str'],
  ['2001-12-14', 'any'],
  ['v1.2.3', 'str'],
  ['"  padded  "', 'str'],
  ['nginx:1.25-alpine', 'str'],
];

const KEYS = ['name', 'port', 'enabled', 'image', 'tag', 'a', 'b', 'c', 'labels', 'items', 'x'];

function indentLines(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l === '' ? l : pad + l))
    .join('\n');
}

/** Generates a YAML node at `path`, recording references; returns YAML text after "key:" (leading space or newline). */
function yamlNode(rng: Rng, path: string, depth: number, refs: ValueRef[]): string {
  const r = rng.next();
  if (depth < 3 && r < 0.2) {
    const n = 1 + rng.int(4);
    const keys = new Set<string>();
    for (let i = 0; i < n; i++) keys.add(rng.pick(KEYS));
    refs.push({ expr: path, kind: 'map' });
    let out = '';
    for (const k of keys) out += `\n${k}:${yamlNode(rng, `${path}.${k}`, depth + 1, refs)}`;
    return `\n${indentLines(out.slice(1), 2)}`;
  }
  if (depth < 3 && r < 0.35) {
    const n = rng.int(4);
    refs.push({ expr: path, kind: 'list' });
    if (n === 0) return ' []';
    let out = '';
    for (let i = 0; i < n; i++) {
      if (rng.chance(0.2) && depth < 2) {
        const k = rng.pick(KEYS);
        out += `\n- ${k}:${yamlNode(rng, `(index ${path} ${i}).${k}`, depth + 2, refs)}`.replace(
          /\n {2}/g,
          '\n    ',
        );
      } else {
        const [s, kind] = rng.pick(YAML_SCALARS);
        refs.push({ expr: `(index ${path} ${i})`, kind });
        out += `\n- ${s}`;
      }
    }
    return `\n${indentLines(out.slice(1), 2)}`;
  }
  if (r < 0.4) {
    const items = [rng.pick(YAML_SCALARS), rng.pick(YAML_SCALARS)];
    refs.push({ expr: path, kind: 'list' });
    return ` [${items.map((i) => i[0]).join(', ')}]`;
  }
  const [s, kind] = rng.pick(YAML_SCALARS);
  refs.push({ expr: path, kind });
  return ` ${s}`;
}

const SET_STRINGS = [
  'hello',
  'a\\,b',
  'x y',
  'é',
  'a=b',
  '',
  'quote"d',
  '1.5',
  '0x10',
  'v1',
  'null',
  'true',
  'False',
];
const SET_INTS = ['0', '42', '-3', '9223372036854775807', '007'];

/** values.yaml plus command-line value flags. */
export function generateValues(rng: Rng): GeneratedValues {
  const refs: ValueRef[] = [];
  let yaml = '';
  const top = 4 + rng.int(6);
  const used = new Set<string>();
  for (let i = 0; i < top; i++) {
    const k = rng.chance(0.5) ? rng.pick(KEYS) : `k${i}`;
    if (used.has(k)) continue;
    used.add(k);
    yaml += `${k}:${yamlNode(rng, `$.Values.${k}`, 0, refs)}\n`;
  }
  yaml += 'weird-key: dash\nnested:\n  deep:\n    deeper:\n      v: 1\n      s: str\n';
  refs.push({ expr: '(index $.Values "weird-key")', kind: 'str' });
  refs.push({ expr: '$.Values.nested', kind: 'map' });
  refs.push({ expr: '$.Values.nested.deep.deeper', kind: 'map' });
  refs.push({ expr: '$.Values.nested.deep.deeper.v', kind: 'num' });
  refs.push({ expr: '$.Values', kind: 'map' });
  refs.push({ expr: '$.Values.missing', kind: 'any' });

  const flags: string[] = [];
  const n = 2 + rng.int(5);
  for (let i = 0; i < n; i++) {
    const key = `s${i}`;
    switch (rng.int(9)) {
      case 0: {
        const v = rng.pick(SET_INTS);
        flags.push('--set', `${key}=${v}`);
        refs.push({ expr: `$.Values.${key}`, kind: v === '007' ? 'any' : 'int' });
        break;
      }
      case 1: {
        const v = rng.pick(SET_STRINGS);
        flags.push('--set', `${key}=${v}`);
        refs.push({ expr: `$.Values.${key}`, kind: 'any' });
        break;
      }
      case 2:
        flags.push('--set', `${key}={a,${rng.pick(SET_INTS)},c\\,d}`);
        refs.push({ expr: `$.Values.${key}`, kind: 'list' });
        break;
      case 3:
        flags.push('--set', `${key}[${rng.int(3)}]=${rng.pick(SET_STRINGS)},${key}[0]=first`);
        refs.push({ expr: `$.Values.${key}`, kind: 'list' });
        break;
      case 4:
        flags.push('--set', `${key}.a.b=${rng.pick(SET_INTS)},${key}.a.c=${rng.pick(SET_STRINGS)}`);
        refs.push({ expr: `$.Values.${key}`, kind: 'map' });
        refs.push({ expr: `$.Values.${key}.a`, kind: 'map' });
        break;
      case 5:
        flags.push('--set-string', `${key}=${rng.pick(SET_INTS)}`);
        refs.push({ expr: `$.Values.${key}`, kind: 'str' });
        break;
      case 6: {
        const json = rng.pick([
          '{"a":[1,2.5,{"b":null}],"c":1e6}',
          '[1,"x",true,-0.5,12345678901234567890]',
          '{"n":100000000,"f":0.1,"s":"a\\"b","e":{}}',
          '"just a string"',
          '3',
        ]);
        flags.push('--set-json', `${key}=${json}`);
        refs.push({
          expr: `$.Values.${key}`,
          kind: json.startsWith('{') ? 'map' : json.startsWith('[') ? 'list' : 'any',
        });
        break;
      }
      case 7:
        flags.push('--set', `${key}\\.dotted=v,${key}=${rng.pick(SET_STRINGS)}`);
        refs.push({ expr: `(index $.Values "${key}.dotted")`, kind: 'str' });
        break;
      default: {
        // Overrides of values.yaml keys (maps merge, lists are replaced).
        const existing = refs.filter((r) => /^\$\.Values\.[a-z0-9]+$/.test(r.expr) && r.kind !== 'list');
        if (existing.length > 0) {
          const target = rng.pick(existing).expr.slice('$.Values.'.length);
          flags.push('--set', `${target}.over=${rng.pick(SET_INTS)}`);
        } else flags.push('--set', `${key}=true`);
      }
    }
  }
  return { yaml, flags, refs };
}

// ---------------------------------------------------------------- templates

const STR_LITS = [
  '"abc"',
  '"a b"',
  '"x-y_z"',
  '"\\t tab"',
  '"q\\"uote"',
  '"ünï"',
  '`raw\\n`',
  '"multi\\nline"',
  '"  padded  "',
  '"1.2.3"',
  '"<&>"',
  '""',
  '"Hello World"',
  '"a,b,,c"',
  '"42"',
  '"-1.5"',
  '"true"',
  '"http_server"',
  '"FooBar"',
];
const INT_LITS = ['0', '1', '3', '-2', '42', '0x1F', '1_000', '9223372036854775807', "'a'", '0o17', '-0'];
const FLOAT_LITS = [
  '1.5',
  '0.1',
  '1e6',
  '-2.5',
  '1e21',
  '3.0',
  '1e-7',
  '100000000.0',
  '123456.789',
  '0.000001',
  '2.5e+3',
];
const TEXTS = ['x', ' ', '\n', 'key: ', '  ', '-', '\t', 'a\nb', 'é', '=', ', ', '\n  ', '[', ']'];
const PRINTF_FORMATS = [
  '"%v"',
  '"%s"',
  '"%d"',
  '"%q"',
  '"%.2f"',
  '"%g"',
  '"%T"',
  '"%5s|%-5s|"',
  '"%x"',
  '"%v-%v"',
  '"%03d"',
  '"%+v"',
  '"%e"',
  '"%t"',
  '"%%"',
  '"%v %s %d"',
];

interface Scope {
  vars: { name: string; kind: Kind }[];
}

interface GenCtx {
  rng: Rng;
  refs: ValueRef[];
  /** False inside helpers (where `$` is the argument, not the root context). */
  root: boolean;
  dot: Kind | 'root';
  scopes: Scope[];
  helpers: string[];
  inRange: boolean;
  varCounter: { n: number };
  budget: { n: number };
  errorRate: number;
  /** The case id (block names must not clash across cases). */
  id: string;
}

function allVars(c: GenCtx, kind?: Kind): string[] {
  const out: string[] = [];
  for (const s of c.scopes)
    for (const v of s.vars) if (!kind || kind === 'any' || v.kind === kind) out.push(v.name);
  return out;
}

function valueRef(c: GenCtx, kind: Kind): string | undefined {
  if (!c.root) return undefined;
  const m = c.refs.filter((r) => kind === 'any' || r.kind === kind);
  return m.length > 0 ? c.rng.pick(m).expr : undefined;
}

/** An operand of the wanted kind: literal, variable, field chain or parenthesised pipeline. */
function operand(c: GenCtx, kind: Kind, depth: number): string {
  const { rng } = c;
  c.budget.n--;
  // Occasionally anything at all (type errors are interesting too).
  if (rng.chance(c.errorRate)) kind = 'any';
  if (depth > 0 && c.budget.n > 0 && rng.chance(0.35)) return `(${pipeline(c, kind, depth - 1)})`;
  const r = rng.next();
  if (r < 0.25) {
    const vars = allVars(c, kind);
    if (vars.length > 0) return rng.pick(vars);
  }
  if (r < 0.5) {
    const ref = valueRef(c, kind);
    if (ref) return ref;
  }
  if (r < 0.55 && (c.dot === kind || (kind === 'any' && c.dot !== 'root'))) return '.';
  switch (kind) {
    case 'str':
      if (c.root && rng.chance(0.15))
        return rng.pick([
          '$.Release.Name',
          '$.Release.Namespace',
          '$.Chart.Name',
          '$.Chart.Version',
          '$.Template.Name',
        ]);
      return rng.pick(STR_LITS);
    case 'int':
      return rng.pick(INT_LITS);
    case 'num':
      return rng.pick(FLOAT_LITS);
    case 'bool':
      return rng.pick(['true', 'false']);
    case 'list':
      return depth > 0
        ? `(${pipeline(c, 'list', depth - 1)})`
        : `(list ${rng.pick(STR_LITS)} ${rng.pick(INT_LITS)})`;
    case 'map':
      return depth > 0 ? `(${pipeline(c, 'map', depth - 1)})` : `(dict "a" ${rng.pick(STR_LITS)} "b" 1)`;
    default: {
      const k = rng.pick<Kind>(['str', 'int', 'num', 'bool', 'list', 'map']);
      return operand(c, k, depth);
    }
  }
}

function call(c: GenCtx, kind: Kind, depth: number): string {
  const { rng } = c;
  const o = (k: Kind) => operand(c, k, depth);
  const d = depth;
  switch (kind) {
    case 'str':
      switch (rng.int(34)) {
        case 0:
          return `quote ${o('any')}`;
        case 1:
          return `squote ${o('any')}`;
        case 2:
          return `upper ${o('str')}`;
        case 3:
          return `lower ${o('str')}`;
        case 4:
          return `title ${o('str')}`;
        case 5:
          return `trim ${o('str')}`;
        case 6:
          return `trimSuffix ${rng.pick(['"-"', '"c"', '"\\n"'])} ${o('str')}`;
        case 7:
          return `trimPrefix ${rng.pick(['"a"', '"-"'])} ${o('str')}`;
        case 8:
          return `trunc ${rng.pick(['3', '0', '-2', '63', '100'])} ${o('str')}`;
        case 9: {
          const fmt = rng.pick(PRINTF_FORMATS);
          const n = rng.int(3) + (fmt.includes('%%') ? 0 : 1);
          let args = '';
          for (let i = 0; i < n; i++) args += ` ${o('any')}`;
          return `printf ${fmt}${args}`;
        }
        case 10:
          return `print ${o('any')} ${o('any')}`;
        case 11:
          return `toYaml ${o('any')}`;
        case 12:
          return `toJson ${o('any')}`;
        case 13:
          return `toString ${o('any')}`;
        case 14:
          return `replace ${rng.pick(['"a"', '" "', '"-"'])} ${rng.pick(['"_"', '""', '"XY"'])} ${o('str')}`;
        case 15:
          return `repeat ${rng.pick(['0', '2', '3'])} ${o('str')}`;
        case 16:
          return `nindent ${rng.pick(['0', '2', '4'])} ${o('str')}`;
        case 17:
          return `indent ${rng.pick(['0', '2', '4'])} ${o('str')}`;
        case 18:
          if (c.helpers.length > 0) return `include ${JSON.stringify(rng.pick(c.helpers))} ${o('any')}`;
          return `cat ${o('any')} ${o('any')}`;
        case 19:
          if (c.root) return `tpl ${tplBody(c)} $`;
          return `b64enc ${o('str')}`;
        case 20:
          return `b64enc ${o('str')}`;
        case 21:
          return `sha256sum ${o('str')}`;
        case 22:
          return `cat ${o('any')} ${o('any')}`;
        case 23:
          return `join ${rng.pick(['","', '" "', '""'])} ${o('list')}`;
        case 24:
          return `substr ${rng.pick(['0', '1'])} ${rng.pick(['3', '-1', '10'])} ${o('str')}`;
        case 25:
          return `${rng.pick(['kebabcase', 'snakecase', 'camelcase', 'swapcase', 'untitle', 'nospace', 'initials'])} ${o('str')}`;
        case 26:
          return `abbrev ${rng.pick(['5', '10'])} ${o('str')}`;
        case 27:
          return `regexReplaceAll ${rng.pick(['"a+"', '"[0-9]"', '"(\\\\w)(\\\\w)"'])} ${o('str')} ${rng.pick(['"X"', '"$' + '{2}$' + '{1}"', '""'])}`;
        case 28:
          return `${rng.pick(['typeOf', 'kindOf'])} ${o('any')}`;
        case 29:
          return `default ${o('str')} ${o('any')}`;
        case 30:
          return `${o('any')} | toString | ${rng.pick(['upper', 'quote', 'trim', 'len | toString'])}`;
        case 31:
          return `trimAll ${rng.pick(['"-"', '" "', '"ab"'])} ${o('str')}`;
        case 32:
          return `toPrettyJson ${o('any')}`;
        default:
          return `${o('str')} | ${rng.pick(['upper', 'quote', 'b64enc', 'trunc 2', 'nindent 2', 'indent 1', 'squote', 'title'])}`;
      }
    case 'int':
      switch (rng.int(12)) {
        case 0:
          return `add ${o('int')} ${o(rng.pick(['int', 'num']))}`;
        case 1:
          return `sub ${o('int')} ${o('int')}`;
        case 2:
          return `mul ${o('int')} ${o('num')}`;
        case 3:
          return `div ${o('int')} ${rng.pick(['2', '3', '-4', '7'])}`;
        case 4:
          return `mod ${o('int')} ${rng.pick(['2', '3', '-4'])}`;
        case 5:
          return `${rng.pick(['max', 'min'])} ${o('int')} ${o('num')} ${o('int')}`;
        case 6:
          return `add1 ${o('int')}`;
        case 7:
          return `${rng.pick(['int', 'int64'])} ${o(rng.pick(['str', 'num', 'int']))}`;
        case 8:
          return `len ${o(rng.pick(['str', 'list', 'map']))}`;
        case 9:
          return `atoi ${o('str')}`;
        case 10:
          return `${o('int')} | add 1`;
        default:
          return `${rng.pick(['int', 'len'])} ${o('any')}`;
      }
    case 'num':
      switch (rng.int(6)) {
        case 0:
          return `${rng.pick(['addf', 'subf', 'mulf'])} ${o('num')} ${o(rng.pick(['int', 'num']))}`;
        case 1:
          return `divf ${o('num')} ${rng.pick(['2', '3', '0.5'])}`;
        case 2:
          return `${rng.pick(['floor', 'ceil'])} ${o('num')}`;
        case 3:
          return `round ${o('num')} ${rng.pick(['0', '1', '2'])}`;
        case 4:
          return `float64 ${o(rng.pick(['str', 'int', 'num']))}`;
        default:
          return `${rng.pick(['maxf', 'minf'])} ${o('num')} ${o('int')}`;
      }
    case 'bool':
      switch (rng.int(14)) {
        case 0:
          return `eq ${o('str')} ${o('str')}`;
        case 1:
          return `eq ${o('int')} ${o('int')} ${o('int')}`;
        case 2:
          return `ne ${o('any')} ${o('any')}`;
        case 3:
          return `${rng.pick(['lt', 'le', 'gt', 'ge'])} ${o('int')} ${o('int')}`;
        case 4:
          return `not ${o('any')}`;
        case 5:
          return `and ${o('any')} ${o('any')}`;
        case 6:
          return `or ${o('any')} ${o('any')}`;
        case 7:
          return `hasKey ${o('map')} ${rng.pick(['"a"', '"name"', '"zz"', '"over"'])}`;
        case 8:
          return `${rng.pick(['contains', 'hasPrefix', 'hasSuffix'])} ${rng.pick(['"a"', '""', '"-"'])} ${o('str')}`;
        case 9:
          return `empty ${o('any')}`;
        case 10:
          return `semverCompare ${rng.pick(['">=1.2.0"', '"<1.10"', '"~1.2"', '"^1.0.0"', '">=1.20-0"', '"1.x"'])} ${rng.pick(['"1.10.0"', '"v1.2.3"', '"1.20.1-rc.1"', ...(c.root ? ['$.Capabilities.KubeVersion.Version'] : []), '"2.0"'])}`;
        case 11:
          return `regexMatch ${rng.pick(['"^a.*"', '"[0-9]+"', '"^$"', '"(a|b)+c"'])} ${o('str')}`;
        case 12:
          return `kindIs ${rng.pick(['"map"', '"string"', '"slice"', '"float64"', '"invalid"'])} ${o('any')}`;
        default:
          // A string needle: has/without/uniq use reflect.DeepEqual, which tells int64 from
          // int (a known difference of the value model).
          return `has ${o('str')} ${o('list')}`;
      }
    case 'list':
      switch (rng.int(16)) {
        case 0:
          return `list ${o('any')} ${o('any')} ${o('any')}`;
        case 1:
          return `splitList ${rng.pick(['","', '" "', '"-"'])} ${o('str')}`;
        case 2:
          return `until ${rng.pick(['0', '3', '5', '-1'])}`;
        case 3:
          return `untilStep ${rng.pick(['0', '1'])} ${rng.pick(['10', '4'])} ${rng.pick(['3', '2'])}`;
        case 4:
          return `keys ${o('map')} | sortAlpha`;
        case 5:
          return `append ${o('list')} ${o('any')}`;
        case 6:
          return `concat ${o('list')} ${o('list')}`;
        case 7:
          return `${rng.pick(['uniq', 'compact', 'rest', 'initial', 'reverse', 'sortAlpha'])} ${o('list')}`;
        case 8:
          return `without ${o('list')} ${o('str')}`;
        case 9:
          return `regexFindAll "[a-z]+" ${o('str')} ${rng.pick(['-1', '1', '2'])}`;
        case 10:
          return `list`;
        case 11:
          return `prepend ${o('list')} ${o('any')}`;
        case 12:
          return `slice ${o('list')} ${rng.pick(['0', '1'])}`;
        case 13:
          return `chunk 2 ${o('list')}`;
        case 14:
          return `regexSplit ${rng.pick(['"[,-]"', '" +"'])} ${o('str')} -1`;
        default:
          return `pluck "a" ${o('map')} ${o('map')}`;
      }
    case 'map':
      switch (rng.int(11)) {
        case 0:
          return `dict "a" ${o('any')} "b" ${o('any')}`;
        case 1:
          // dst holds no shared maps: a deep merge would mutate them (and .Values) for later cases.
          return `mergeOverwrite (dict "a" ${o('str')} "n" (dict "x" 1)) ${o('map')}`;
        case 2:
          return `merge (dict "a" ${o('str')}) ${o('map')}`;
        case 3:
          return `omit ${o('map')} "a" "name"`;
        case 4:
          return `pick ${o('map')} "a" "b" "name"`;
        case 5:
          return `deepCopy ${o('map')}`;
        case 6:
          return `set (dict "a" ${o('any')}) "b" ${o('any')}`;
        case 7:
          return `unset (dict "a" 1 "b" 2) "a"`;
        case 8:
          return `fromYaml ${rng.pick(['"a: 1\\nb: [x, 2.5]"', '"x: {y: null}"', '"- a"', '"a: 1e6\\nb: 0x10"'])}`;
        case 9:
          return `fromJson ${rng.pick(['"{\\"a\\":1}"', '"[1]"', '"{\\"n\\":1e21,\\"s\\":\\"x\\"}"'])}`;
        default:
          return `dict`;
      }
    default:
      switch (rng.int(17)) {
        case 0:
          return `default ${o('any')} ${o('any')}`;
        case 1:
          return `dig ${rng.pick(['"nested" "deep"', '"a"', '"s0" "a" "b"', '"x" "y"'])} ${o('any')} ${o('map')}`;
        case 2:
          return `index ${o('list')} ${rng.pick(['0', '1'])}`;
        case 3:
          return `index ${o('map')} ${rng.pick(['"a"', '"name"', '"zz"'])}`;
        case 4:
          return `${rng.pick(['first', 'last'])} ${o('list')}`;
        case 5:
          return `get ${o('map')} ${rng.pick(['"a"', '"b"', '"zz"'])}`;
        case 6:
          return `ternary ${o('any')} ${o('any')} ${o('bool')}`;
        case 7:
          return `coalesce ${o('any')} ${o('any')} ${o('any')}`;
        case 8:
          return `${rng.pick(['and', 'or'])} ${o('any')} ${o('any')}`;
        case 9:
          return call(c, rng.pick<Kind>(['str', 'int', 'num', 'bool', 'list', 'map']), d);
        case 10:
          return `${o('map')} | toYaml | fromYaml`;
        case 11:
          return rng.pick(
            c.root
              ? [
                  '$.Capabilities.APIVersions.Has "apps/v1"',
                  '$.Capabilities.KubeVersion.Minor',
                  '$.Capabilities.KubeVersion',
                  '$.Chart.AppVersion',
                  '$.Release.IsInstall',
                  '$.Release.Service',
                  '$.Release.Revision',
                  '$.Template.BasePath',
                  '$.Files.Get "nope"',
                  'lookup "v1" "Pod" "ns" "name"',
                  '(semver "1.2.3-rc.1+b").Prerelease',
                ]
              : ['(semver "v2.0.1").Major', 'lookup "v1" "ConfigMap" "" ""'],
          );
        case 12:
          return `${rng.pick(['fromJsonArray "[1, 2.5, \\"x\\"]"', 'fromYamlArray "- a\\n- 1e3"', 'toStrings (list 1 "a" nil)', 'splitn "," 2 "a,b,c"', 'seq 3', 'seq 5 -2 1'])}`;
        case 13:
          return `${rng.pick(['html', 'js', 'urlquery', 'print', 'println'])} ${o('any')}`;
        case 14:
          return `index ${o('map')} ${rng.pick(['"a"', '"nested"'])} ${rng.pick(['"deep"', '"x"'])}`;
        case 15:
          return `required ${rng.pick(['"need a value"', '"x is required"'])} ${o('any')}`;
        default:
          return `${o('any')} | default ${o('any')}`;
      }
  }
}

function pipeline(c: GenCtx, kind: Kind, depth: number): string {
  if (c.rng.chance(0.3)) return operand(c, kind, depth);
  return call(c, kind, depth);
}

/** A string literal holding a small template for `tpl`. */
function tplBody(c: GenCtx): string {
  const { rng } = c;
  const inner = rng.pick([
    '{{ .Values | keys | sortAlpha | join "," }}',
    '{{ .Release.Name }}-{{ .Template.Name }}',
    '{{ $x := 1 }}{{ add $x 2 }}',
    '{{ tpl "{{ .Chart.Name }}" . }}',
    '{{- if .Values.missing }}yes{{ else }}no{{ end -}}',
    '{{ printf "%v" .Values.nested.deep.deeper.v }}',
    '{{ include "nope" . }}',
    '{{ .Template.BasePath }}',
    '{{ toYaml .Values.nested | nindent 2 }}',
  ]);
  return JSON.stringify(inner);
}

function trims(c: GenCtx): [string, string] {
  return [c.rng.chance(0.25) ? '{{- ' : '{{ ', c.rng.chance(0.25) ? ' -}}' : ' }}'];
}

function block(c: GenCtx, depth: number, items: number): string {
  let out = '';
  for (let i = 0; i < items && c.budget.n > 0; i++) out += statement(c, depth);
  return out;
}

function withScope<T>(c: GenCtx, f: () => T): T {
  c.scopes.push({ vars: [] });
  try {
    return f();
  } finally {
    c.scopes.pop();
  }
}

function statement(c: GenCtx, depth: number): string {
  const { rng } = c;
  c.budget.n--;
  const [l, r] = trims(c);
  const kinds: Kind[] = ['str', 'int', 'num', 'bool', 'list', 'map', 'any'];
  const x = rng.next();
  if (x < 0.2) return rng.pick(TEXTS);
  if (x < 0.5 || depth <= 0) return `${l}${pipeline(c, rng.pick(kinds), 2)}${r}`;
  if (x < 0.58) {
    const kind = rng.pick(kinds);
    const vars = allVars(c);
    if (vars.length > 0 && rng.chance(0.3)) {
      return `${l}${rng.pick(vars)} = ${pipeline(c, kind, 2)}${r}`;
    }
    const name = `$v${c.varCounter.n++}`;
    const s = `${l}${name} := ${pipeline(c, kind, 2)}${r}`;
    c.scopes[c.scopes.length - 1]?.vars.push({ name, kind });
    return s;
  }
  if (x < 0.68) {
    let s = `${l}if ${pipeline(c, rng.pick(kinds), 1)}${r}${withScope(c, () => block(c, depth - 1, 2))}`;
    while (rng.chance(0.3)) {
      s += `{{ else if ${pipeline(c, rng.pick(kinds), 1)} }}${withScope(c, () => block(c, depth - 1, 2))}`;
    }
    if (rng.chance(0.5)) s += `{{ else }}${withScope(c, () => block(c, depth - 1, 2))}`;
    return `${s}{{ end }}`;
  }
  if (x < 0.76) {
    const kind = rng.pick(kinds);
    const saved = c.dot;
    let s: string;
    if (rng.chance(0.3)) {
      const name = `$w${c.varCounter.n++}`;
      s = withScope(c, () => {
        const head = `${l}with ${name} := ${pipeline(c, kind, 1)}${r}`;
        c.scopes[c.scopes.length - 1]?.vars.push({ name, kind });
        c.dot = kind;
        return head + block(c, depth - 1, 2);
      });
    } else {
      s = `${l}with ${pipeline(c, kind, 1)}${r}`;
      c.dot = kind;
      s += withScope(c, () => block(c, depth - 1, 2));
    }
    c.dot = saved;
    if (rng.chance(0.4)) s += `{{ else }}${withScope(c, () => block(c, depth - 1, 1))}`;
    return `${s}{{ end }}`;
  }
  if (x < 0.88) {
    const over = rng.pick<Kind>(['list', 'map', 'list', 'int']);
    const saved = c.dot;
    const savedRange = c.inRange;
    let s = withScope(c, () => {
      let head: string;
      if (over === 'int') {
        head = `${l}range ${rng.chance(0.5) ? `$i${c.varCounter.n} := ` : ''}${rng.pick(['3', '0', '2'])}${r}`;
        if (head.includes('$i'))
          c.scopes[c.scopes.length - 1]?.vars.push({ name: `$i${c.varCounter.n++}`, kind: 'int' });
        c.dot = 'int';
      } else if (rng.chance(0.6)) {
        const k = `$k${c.varCounter.n}`;
        const v = `$e${c.varCounter.n++}`;
        head = `${l}range ${k}, ${v} := ${operand(c, over, 1)}${r}`;
        c.scopes[c.scopes.length - 1]?.vars.push(
          { name: k, kind: over === 'list' ? 'int' : 'str' },
          { name: v, kind: 'any' },
        );
        c.dot = 'any';
      } else {
        head = `${l}range ${operand(c, over, 1)}${r}`;
        c.dot = 'any';
      }
      c.inRange = true;
      let body = block(c, depth - 1, 2);
      if (rng.chance(0.2))
        body += `{{ if ${pipeline(c, 'bool', 0)} }}{{ ${rng.pick(['break', 'continue'])} }}{{ end }}`;
      body += block(c, depth - 1, 1);
      return head + body;
    });
    c.dot = saved;
    c.inRange = savedRange;
    if (rng.chance(0.3)) s += `{{ else }}${withScope(c, () => block(c, depth - 1, 1))}`;
    return `${s}{{ end }}`;
  }
  if (x < 0.95 && c.helpers.length > 0) {
    const h = JSON.stringify(rng.pick(c.helpers));
    if (rng.chance(0.4)) return `${l}template ${h} ${operand(c, 'any', 1)}${r}`;
    return `${l}include ${h} ${operand(c, 'any', 1)} | ${rng.pick(['nindent 2', 'indent 4', 'trim', 'quote', 'toString'])}${r}`;
  }
  // Rarely, a parse error (Helm reports it before rendering anything).
  if (rng.chance(c.errorRate)) {
    return rng.pick([
      '{{ if }}',
      '{{ $undefinedVar }}',
      '{{ nofunc 1 }}',
      '{{ "unterminated }}',
      '{{ end }}',
      '{{ (1 }}',
      '{{ else }}',
      '{{ template "nope-missing" }}',
    ]);
  }
  if (c.root && rng.chance(0.2)) return `{{ block "${c.id}.blk${c.varCounter.n++}" . }}default{{ end }}`;
  return rng.pick(['{{/* comment */}}', '{{- /* trimmed */ -}}', '{{ "" }}', '{{- "" }}']);
}

export interface GeneratedCase {
  id: string;
  /** The whole template file. */
  source: string;
}

/** One case: its helpers and body, wrapped in a YAML document holding the output. */
export function generateCase(rng: Rng, id: string, refs: ValueRef[], errorRate = 0.02): GeneratedCase {
  const ctx: GenCtx = {
    rng,
    refs,
    root: false,
    dot: 'any',
    scopes: [{ vars: [] }],
    helpers: [],
    inRange: false,
    varCounter: { n: 0 },
    budget: { n: 0 },
    errorRate,
    id,
  };
  let defs = '';
  const nHelpers = rng.int(3);
  for (let i = 0; i < nHelpers; i++) {
    ctx.budget.n = 12;
    ctx.scopes = [{ vars: [] }];
    const body = block(ctx, 2, 1 + rng.int(3));
    const name = `${id}.h${i}`;
    defs += `{{- define ${JSON.stringify(name)} }}${body}{{ end }}\n`;
    ctx.helpers.push(name);
  }
  ctx.root = true;
  ctx.dot = 'root';
  ctx.scopes = [{ vars: [] }];
  ctx.budget.n = 30;
  const body = block(ctx, 3, 2 + rng.int(5));
  const source = `${defs}{{- define ${JSON.stringify(id)} }}${body}{{ end -}}\nc: |2\n  {{- include ${JSON.stringify(id)} . | nindent 2 }}\n`;
  return { id, source };
}
