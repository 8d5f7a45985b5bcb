/**
 * Sprig list, dict, default/flow and reflection functions (list.go, dict.go,
 * defaults.go, reflect.go) with mergo v1.0.1 and copystructure semantics.
 * @internal
 */
import {
  type FuncMap,
  type GoMap,
  GoStruct,
  type GoValue,
  goFunc,
  isGoFunc,
  isGoMap,
  MISSING,
  mapSet,
  newGoMap,
  sortedKeys,
} from '../template/value.js';
import { RenderLimitError } from '../template/errors.js';
import { GO_METHODS } from '../template/methods.js';
import {
  assertMap,
  assertString,
  castToInt64,
  checkListSize,
  goTypeName,
  isNil,
  MAX_LIST,
  NIL_DEREF,
  num,
  reflectKind,
  sliceElems,
  strval,
  typed,
} from './util.js';

const A = 'any' as const;
const M = 'map' as const;
const S = 'string' as const;

/** Values one deepCopy or merge may visit (shared sub-values count each time they are reached). */
const MAX_WALK = MAX_LIST;

// ---------------------------------------------------------------- predicates

/** sprig `empty`. */
export function empty(v: GoValue): boolean {
  if (v === null || v === MISSING) return true;
  switch (typeof v) {
    case 'boolean':
      return !v;
    case 'number':
      return v === 0;
    case 'bigint':
      return v === 0n;
    case 'string':
      return v.length === 0;
  }
  if (Array.isArray(v) || v instanceof Uint8Array) return v.length === 0;
  if (v instanceof GoStruct) return false;
  if (isGoFunc(v)) return false;
  return Object.keys(v).length === 0;
}

/**
 * reflect.DeepEqual over the value model. Like Go, a pair of slices or maps already
 * compared (or being compared) counts as equal: values that share sub-values compare
 * in linear time instead of walking every path.
 */
export function deepEqual(a: GoValue, b: GoValue, seen?: Map<object, Set<object>>): boolean {
  if (a === MISSING) a = null;
  if (b === MISSING) b = null;
  if (a === b) return true;
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return a === b; // NaN != NaN like Go
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if ((Array.isArray(a) && Array.isArray(b)) || (isGoMap(a) && isGoMap(b))) {
    seen ??= new Map();
    if (seen.get(a)?.has(b) || seen.get(b)?.has(a)) return true;
    const s = seen.get(a);
    if (s === undefined) seen.set(a, new Set([b]));
    else s.add(b);
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length || goTypeName(a) !== goTypeName(b)) return false;
    return a.every((x, i) => deepEqual(x, b[i]!, seen));
  }
  if (a instanceof Uint8Array) {
    return b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]);
  }
  if (a instanceof GoStruct || b instanceof GoStruct) {
    if (!(a instanceof GoStruct && b instanceof GoStruct) || a.typeName !== b.typeName) return false;
    if (a.stringer && b.stringer) return a.stringer() === b.stringer();
    const names = a.fieldNames();
    return names.every((n) => deepEqual(a.field(n) ?? null, b.field(n) ?? null, seen));
  }
  if (isGoFunc(a) || isGoFunc(b)) return false;
  if (!isGoMap(b) || Array.isArray(b) || b instanceof Uint8Array) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length || goTypeName(a) !== goTypeName(b)) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as GoMap)[k]!, (b as GoMap)[k]!, seen));
}

// ---------------------------------------------------------------- lists

/** `reflect.TypeOf(v).Kind()` check shared by the list functions. */
function listOf(v: GoValue, errPrefix: string): GoValue[] {
  if (isNil(v)) throw new Error(NIL_DEREF);
  const l = sliceElems(v);
  if (l === undefined) throw new Error(`${errPrefix} ${reflectKind(v)}`);
  return l;
}

function inList(haystack: GoValue[], needle: GoValue): boolean {
  return haystack.some((h) => deepEqual(needle, h));
}

function chunk(size: number, list: GoValue): GoValue[] {
  const l = listOf(list, 'Cannot chunk type').slice();
  const len = l.length;
  const csF = Math.floor((len - 1) / size) + 1;
  const cs = Number.isFinite(csF) ? csF : -1;
  if (cs < 0) throw new Error('runtime error: makeslice: len out of range');
  checkListSize(cs, 'chunk');
  const out: GoValue[] = [];
  for (let i = 0; i < cs; i++) {
    let clen = size;
    if (i === cs - 1) {
      clen = Math.floor(len % size);
      if (clen === 0) clen = size;
    }
    if (clen < 0) throw new Error('runtime error: makeslice: len out of range');
    const c: GoValue[] = [];
    for (let j = 0; j < clen; j++) {
      const ix = i * size + j;
      if (ix >= len || ix < 0)
        throw new Error(`runtime error: index out of range [${ix}] with length ${len}`);
      c.push(l[ix]!);
    }
    out.push(c);
  }
  return typed(out, '[][]interface {}');
}

function slice(list: GoValue, indices: GoValue[]): GoValue {
  const l = listOf(list, 'list should be type of slice or array but');
  if (l.length === 0) return null;
  const start = indices.length > 0 ? num(castToInt64(indices[0]!)) : 0;
  const end = indices.length < 2 ? l.length : num(castToInt64(indices[1]!));
  if (start < 0 || end < start || end > l.length)
    throw new Error('reflect.Value.Slice: slice index out of bounds');
  if (list instanceof Uint8Array) return list.slice(start, end);
  const t = goTypeName(list);
  return t === '[]interface {}' ? l.slice(start, end) : typed(l.slice(start, end), t);
}

function listFuncs(): FuncMap {
  const f: Record<string, ReturnType<typeof goFunc>> = {};
  const both = (name: string, fn: ReturnType<typeof goFunc>): void => {
    f[name] = fn;
    f[`must${name[0]!.toUpperCase()}${name.slice(1)}`] = fn;
  };
  f.list = goFunc([], (args) => args.slice(), A);
  f.tuple = f.list;
  const push = goFunc([A, A], ([l, v]) => [...listOf(l!, 'Cannot push on type'), v!]);
  f.append = push;
  f.push = push;
  f.mustAppend = push;
  f.mustPush = push;
  both(
    'prepend',
    goFunc([A, A], ([l, v]) => [v!, ...listOf(l!, 'Cannot prepend on type')]),
  );
  both(
    'chunk',
    goFunc(['int', A], ([size, l]) => chunk(num(size!), l!)),
  );
  both(
    'last',
    goFunc([A], ([l]) => {
      const a = listOf(l!, 'Cannot find last on type');
      return a.length === 0 ? null : a[a.length - 1]!;
    }),
  );
  both(
    'first',
    goFunc([A], ([l]) => {
      const a = listOf(l!, 'Cannot find first on type');
      return a.length === 0 ? null : a[0]!;
    }),
  );
  both(
    'rest',
    goFunc([A], ([l]) => listOf(l!, 'Cannot find rest on type').slice(1)),
  );
  both(
    'initial',
    goFunc([A], ([l]) => listOf(l!, 'Cannot find initial on type').slice(0, -1)),
  );
  both(
    'reverse',
    goFunc([A], ([l]) => listOf(l!, 'Cannot find reverse on type').slice().reverse()),
  );
  both(
    'compact',
    goFunc([A], ([l]) => listOf(l!, 'Cannot compact on type').filter((x) => !empty(x))),
  );
  both(
    'uniq',
    goFunc([A], ([l], ctx) => {
      const dest: GoValue[] = [];
      let n = 0;
      for (const item of listOf(l!, 'Cannot find uniq on type')) {
        // Quadratic: let the render's deadline stop a long list.
        if ((++n & 255) === 0) ctx?.checkpoint?.();
        if (!inList(dest, item)) dest.push(item);
      }
      return dest;
    }),
  );
  both(
    'without',
    goFunc(
      [A],
      ([l, ...omit]) => listOf(l!, 'Cannot find without on type').filter((x) => !inList(omit, x)),
      A,
    ),
  );
  both(
    'has',
    goFunc([A, A], ([needle, hay]) => {
      if (isNil(hay)) return false;
      return inList(listOf(hay!, 'Cannot find has on type'), needle!);
    }),
  );
  both(
    'slice',
    goFunc([A], ([l, ...idx]) => slice(l!, idx), A),
  );
  f.concat = goFunc(
    [],
    (lists) => {
      const res: GoValue[] = [];
      for (const l of lists) {
        if (isNil(l)) throw new Error(NIL_DEREF);
        const e = sliceElems(l);
        if (e === undefined) throw new Error(`Cannot concat type ${reflectKind(l)} as list`);
        checkListSize(res.length + e.length, 'concat');
        // Not push(...e): spreading a long list exceeds the engine's argument limit.
        for (const x of e) res.push(x);
      }
      return res;
    },
    A,
  );
  return f;
}

// ---------------------------------------------------------------- dicts

/** mergo v1.0.1 deepMerge for map[string]interface{} (Merge / MergeWithOverwrite). */
export function mergeInto(
  dst: GoMap,
  src: GoMap,
  overwrite: boolean,
  depth = 0,
  budget: { visits: number } = { visits: 0 },
): void {
  if (depth > 10000) throw new Error('mergo: max recursion depth exceeded');
  // Maps that share sub-maps are walked as trees: bound the walk (2^n visits otherwise).
  budget.visits += 1 + Object.keys(src).length;
  if (budget.visits > MAX_WALK)
    throw new RenderLimitError('maxFunctionOutput', `merge: more than ${MAX_WALK} values to merge`);
  for (const key of Object.keys(src)) {
    const sv = src[key]!;
    const hasD = Object.hasOwn(dst, key);
    const dv = hasD ? dst[key]! : undefined;
    if (sv === null) {
      if (overwrite) mapSet(dst, key, null);
      continue;
    }
    const svIsSlice = Array.isArray(sv) || sv instanceof Uint8Array;
    if (isGoMap(sv)) {
      if (dv !== undefined && isGoMap(dv)) mergeInto(dv, sv, overwrite, depth + 1, budget);
    } else if (svIsSlice) {
      let dstSlice: GoValue = dv === undefined || dv === null ? [] : dv;
      if (overwrite || Object.keys(dst).length === 0) dstSlice = sv;
      mapSet(dst, key, dstSlice);
    }
    if (dv !== undefined && !empty(dv)) {
      if (svIsSlice) continue;
      if (isGoMap(sv) && isGoMap(dv)) continue;
    }
    if (overwrite || dv === undefined || empty(dv)) mapSet(dst, key, sv);
  }
}

/** Copies a Go type tag (`[]string`, `common.Values`, …): copystructure keeps types. */
function keepGoType<T extends object>(from: object, to: T): T {
  const t = Object.getOwnPropertyDescriptor(from, GO_METHODS);
  if (t) Object.defineProperty(to, GO_METHODS, t);
  return to;
}

/** copystructure.Copy over the value model. */
export function deepCopy(v: GoValue, depth = 0, budget: { visits: number } = { visits: 0 }): GoValue {
  if (depth > 10000) throw new Error('copystructure: max depth exceeded');
  // A value that shares sub-values copies into a tree: bound it (2^n copies otherwise).
  if (++budget.visits > MAX_WALK)
    throw new RenderLimitError('maxFunctionOutput', `deepCopy: more than ${MAX_WALK} values to copy`);
  if (Array.isArray(v))
    return keepGoType(
      v,
      v.map((x) => deepCopy(x, depth + 1, budget)),
    );
  if (v instanceof Uint8Array) return v.slice();
  if (isGoMap(v)) {
    const m = newGoMap();
    for (const k of Object.keys(v)) mapSet(m, k, deepCopy(v[k]!, depth + 1, budget));
    return keepGoType(v, m);
  }
  return v;
}

function dig(ps: GoValue[]): GoValue {
  if (ps.length < 3) throw new Error('dig needs at least three arguments');
  let dict = assertMap(ps[ps.length - 1]!);
  const def = ps[ps.length - 2]!;
  const ks = ps.slice(0, -2).map(assertString);
  for (let i = 0; ; i++) {
    const k = ks[i]!;
    if (!Object.hasOwn(dict, k)) return def;
    const step = dict[k]!;
    if (i === ks.length - 1) return step;
    dict = assertMap(step);
  }
}

/** A nil map argument (Go passes `nil` to a map parameter as a nil map): reads see no entries. */
function orEmpty(d: GoValue | undefined): GoMap {
  return d === null || d === undefined ? newGoMap() : (d as GoMap);
}

function dictFuncs(): FuncMap {
  const merge = (overwrite: boolean) =>
    goFunc(
      [M],
      ([dst, ...srcs]) => {
        // mergo replaces a nil dst with a new map; nil sources merge nothing.
        const d = orEmpty(dst);
        for (const s of srcs) if (s !== null) mergeInto(d, s as GoMap, overwrite);
        return d;
      },
      M,
    );
  const copy = goFunc([A], ([v]) => {
    // copystructure.Copy(nil) panics on reflect.ValueOf(nil).Type().
    if (v === null || v === undefined) throw new Error('reflect: call of reflect.Value.Type on zero Value');
    return deepCopy(v);
  });
  return {
    dict: goFunc(
      [],
      (v) => {
        const d = newGoMap();
        for (let i = 0; i < v.length; i += 2) mapSet(d, strval(v[i]!), i + 1 >= v.length ? '' : v[i + 1]!);
        return d;
      },
      A,
    ),
    get: goFunc([M, S], ([d, k]) =>
      Object.hasOwn(orEmpty(d), k as string) ? (d as GoMap)[k as string]! : '',
    ),
    set: goFunc([M, S, A], ([d, k, v]) => {
      if (d === null) throw new Error('assignment to entry in nil map');
      mapSet(d as GoMap, k as string, v!);
      return d!;
    }),
    unset: goFunc([M, S], ([d, k]) => {
      const m = orEmpty(d);
      delete m[k as string];
      return m;
    }),
    hasKey: goFunc([M, S], ([d, k]) => Object.hasOwn(orEmpty(d), k as string)),
    pluck: goFunc(
      [S],
      ([k, ...ds]) =>
        ds.filter((d) => Object.hasOwn(orEmpty(d), k as string)).map((d) => (d as GoMap)[k as string]!),
      M,
    ),
    // Go iterates maps in random order; chartproof returns each map's keys sorted.
    keys: goFunc(
      [],
      (ds) =>
        typed(
          ds.flatMap((d) => sortedKeys(orEmpty(d))),
          '[]string',
        ),
      M,
    ),
    pick: goFunc(
      [M],
      ([d, ...ks]) => {
        const res = newGoMap();
        for (const k of ks as string[]) if (Object.hasOwn(orEmpty(d), k)) mapSet(res, k, (d as GoMap)[k]!);
        return res;
      },
      S,
    ),
    omit: goFunc(
      [M],
      ([d, ...ks]) => {
        const omit = new Set(ks as string[]);
        const res = newGoMap();
        for (const k of Object.keys(orEmpty(d))) if (!omit.has(k)) mapSet(res, k, (d as GoMap)[k]!);
        return res;
      },
      S,
    ),
    merge: merge(false),
    mustMerge: merge(false),
    mergeOverwrite: merge(true),
    mustMergeOverwrite: merge(true),
    values: goFunc([M], ([d]) => sortedKeys(orEmpty(d)).map((k) => (d as GoMap)[k]!)),
    deepCopy: copy,
    mustDeepCopy: copy,
    dig: goFunc([], (ps) => dig(ps), A),
  };
}

// ---------------------------------------------------------------- defaults, reflection

function defaultFuncs(): FuncMap {
  return {
    default: goFunc([A], ([d, ...given]) => (given.length === 0 || empty(given[0]!) ? d! : given[0]!), A),
    empty: goFunc([A], ([v]) => empty(v!)),
    coalesce: goFunc([], (v) => v.find((x) => !empty(x)) ?? null, A),
    all: goFunc([], (v) => v.every((x) => !empty(x)), A),
    any: goFunc([], (v) => v.some((x) => !empty(x)), A),
    ternary: goFunc([A, A, 'bool'], ([vt, vf, v]) => (v ? vt! : vf!)),
    typeOf: goFunc([A], ([v]) => goTypeName(v!)),
    typeIs: goFunc([S, A], ([t, v]) => t === goTypeName(v!)),
    typeIsLike: goFunc([S, A], ([t, v]) => {
      const n = goTypeName(v!);
      return t === n || `*${String(t)}` === n;
    }),
    kindOf: goFunc([A], ([v]) => reflectKind(v!)),
    kindIs: goFunc([S, A], ([t, v]) => t === reflectKind(v!)),
    deepEqual: goFunc([A, A], ([a, b]) => deepEqual(a!, b!)),
  };
}

export function collectionFuncs(): FuncMap {
  return { ...listFuncs(), ...dictFuncs(), ...defaultFuncs() };
}
