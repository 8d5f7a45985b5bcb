/**
 * Helm's value coalescing (`pkg/chart/common/util/coalesce.go`, v4.1.4) and the
 * `Values` accessors (`Table`, `PathValue`). Independent implementation; the order of
 * operations and the in-place updates follow Helm so that aliasing effects match.
 */
import type { GoValue } from '../template/value.js';
import {
  copyMap,
  deepCopy,
  deleteKey,
  fail,
  getKey,
  goSprintT,
  goSprintV,
  hasKey,
  isTable,
  newMap,
  setKey,
  type Values,
} from './go.js';

/** Helm's `common.GlobalKey`. @public */
export const GLOBAL_KEY = 'global';

/**
 * The part of a chart coalescing needs: its (effective) name, default values and
 * subcharts. `Chart` from `chartproof/chart` after {@link processDependencies} fits.
 * @public
 */
export interface ValuesChart {
  readonly metadata: { readonly name: string };
  readonly values: Values;
  readonly dependencies: readonly ValuesChart[];
}

/** Receives Helm's coalescing warnings (Helm logs them; text as Helm's `printf`). @public */
export type WarnFn = (message: string) => void;

const ignore: WarnFn = () => {};

function concatPrefix(a: string, b: string): string {
  return a === '' ? b : `${a}.${b}`;
}

/**
 * Helm's `CoalesceValues`: user values over chart defaults, recursively into
 * subcharts (scoped by name), globals pushed down; a user `null` deletes the key.
 * `vals` is deep-copied first and not modified.
 * @throws ChartproofError `VALUES_INVALID` `type mismatch on <sub>: …` when the
 *   values for a subchart are not a map.
 * @public
 */
export function coalesceValues(chart: ValuesChart, vals: Values | null, warn: WarnFn = ignore): Values {
  const copy = vals === null ? newMap() : deepCopy(vals);
  return coalesce(warn, chart, copy, '', false);
}

/** Helm's `MergeValues`: as {@link coalesceValues} but `null`s are kept. @public */
export function mergeChartValues(chart: ValuesChart, vals: Values | null, warn: WarnFn = ignore): Values {
  const copy = vals === null ? newMap() : deepCopy(vals);
  return coalesce(warn, chart, copy, '', true);
}

function coalesce(warn: WarnFn, ch: ValuesChart, dest: Values, prefix: string, merge: boolean): Values {
  coalesceChartDefaults(warn, ch, dest, prefix, merge);
  return coalesceDeps(warn, ch, dest, prefix, merge);
}

function coalesceDeps(warn: WarnFn, ch: ValuesChart, dest: Values, prefix: string, merge: boolean): Values {
  for (const sub of ch.dependencies) {
    const name = sub.metadata.name;
    if (!hasKey(dest, name)) setKey(dest, name, newMap());
    else {
      const c = getKey(dest, name);
      if (!isTable(c)) fail('VALUES_INVALID', `type mismatch on ${name}: ${goSprintT(c)}`);
    }
    const dvmap = getKey(dest, name) as Values;
    const subPrefix = concatPrefix(prefix, ch.metadata.name);
    coalesceGlobals(warn, dvmap, dest, subPrefix);
    setKey(dest, name, coalesce(warn, sub, dvmap, subPrefix, merge));
  }
  return dest;
}

/** Copies the globals of `src` into `dest` (Helm's `coalesceGlobals`). */
function coalesceGlobals(warn: WarnFn, dest: Values, src: Values, prefix: string): void {
  let dg: Values;
  let sg: Values;
  if (!hasKey(dest, GLOBAL_KEY)) dg = newMap();
  else {
    const g = getKey(dest, GLOBAL_KEY);
    if (!isTable(g)) {
      warn(`warning: skipping globals because destination ${GLOBAL_KEY} is not a table.`);
      return;
    }
    dg = g;
  }
  if (!hasKey(src, GLOBAL_KEY)) sg = newMap();
  else {
    const g = getKey(src, GLOBAL_KEY);
    if (!isTable(g)) {
      warn(`warning: skipping globals because source ${GLOBAL_KEY} is not a table.`);
      return;
    }
    sg = g;
  }
  for (const key of Object.keys(sg)) {
    const val = sg[key] as GoValue;
    if (isTable(val)) {
      const vv = copyMap(val);
      if (!hasKey(dg, key)) setKey(dg, key, vv);
      else {
        const destv = getKey(dg, key);
        if (!isTable(destv)) {
          warn(`Conflict: cannot merge map onto non-map for "${key}". Skipping.`);
        } else {
          coalesceTablesFullKey(warn, vv, destv, concatPrefix(prefix, key), true);
          setKey(dg, key, vv);
        }
      }
    } else if (hasKey(dg, key) && isTable(getKey(dg, key))) {
      warn(`key ${key} is table. Skipping`);
    } else {
      setKey(dg, key, val);
    }
  }
  setKey(dest, GLOBAL_KEY, dg);
}

/** Chart defaults under the user values of one chart (Helm's `coalesceValues`). */
function coalesceChartDefaults(
  warn: WarnFn,
  ch: ValuesChart,
  v: Values,
  prefix: string,
  merge: boolean,
): void {
  const subPrefix = concatPrefix(prefix, ch.metadata.name);
  const vc = deepCopy(ch.values ?? newMap());
  for (const key of Object.keys(vc)) {
    const val = vc[key] as GoValue;
    if (hasKey(v, key)) {
      const value = getKey(v, key) as GoValue;
      if (value === null && !merge) {
        deleteKey(v, key);
      } else if (isTable(value)) {
        if (!isTable(val)) {
          if (val !== null) warn(`warning: skipped value for ${subPrefix}.${key}: Not a table.`);
        } else {
          const childMerge = ch.dependencies.some((d) => d.metadata.name === key) ? true : merge;
          coalesceTablesFullKey(warn, value, val, concatPrefix(subPrefix, key), childMerge);
        }
      }
    } else {
      setKey(v, key, val);
    }
  }
}

/**
 * Helm's `CoalesceTables`: `src` under `dst` (dst authoritative), recursively; a
 * `null` in dst removes a non-null src default. Modifies and returns `dst`.
 * @public
 */
export function coalesceTables(dst: Values | null, src: Values | null, warn: WarnFn = ignore): Values | null {
  return coalesceTablesFullKey(warn, dst, src, '', false);
}

/** Helm's `MergeTables`: as {@link coalesceTables} but `null`s are kept. @public */
export function mergeTables(dst: Values | null, src: Values | null, warn: WarnFn = ignore): Values | null {
  return coalesceTablesFullKey(warn, dst, src, '', true);
}

function coalesceTablesFullKey(
  warn: WarnFn,
  dst: Values | null,
  src: Values | null,
  prefix: string,
  merge: boolean,
): Values | null {
  if (src === null) return dst;
  if (dst === null) return src;
  const srcOriginalNonNil = new Set<string>();
  for (const key of Object.keys(src)) if (src[key] !== null) srcOriginalNonNil.add(key);
  for (const key of Object.keys(dst)) if (dst[key] === null) setKey(src, key, null);
  for (const key of Object.keys(src)) {
    const val = src[key] as GoValue;
    const fullkey = concatPrefix(prefix, key);
    const ok = hasKey(dst, key);
    const dv = getKey(dst, key);
    if (ok && !merge && dv === null && srcOriginalNonNil.has(key)) {
      deleteKey(dst, key);
    } else if (!ok) {
      setKey(dst, key, val);
    } else if (isTable(val)) {
      if (isTable(dv)) coalesceTablesFullKey(warn, dv, val, fullkey, merge);
      else warn(`warning: cannot overwrite table with non table for ${fullkey} (${goSprintV(val)})`);
    } else if (isTable(dv) && val !== null) {
      warn(`warning: destination for ${fullkey} is a table. Ignoring non-table value (${goSprintV(val)})`);
    }
  }
  return dst;
}

/** Helm's `ErrNoTable`: `no table named "<name>"`. @public */
export class NoTableError extends Error {
  constructor(readonly key: string) {
    super(`no table named "${key}"`);
    this.name = 'NoTableError';
  }
}

/** Helm's `ErrNoValue`: `"<key>" is not a value`. @public */
export class NoValueError extends Error {
  constructor(readonly key: string) {
    super(`"${key}" is not a value`);
    this.name = 'NoValueError';
  }
}

/**
 * Helm's `Values.Table`: the map at a dotted path (`a.b`).
 * @throws NoTableError when a step is missing or not a map.
 * @public
 */
export function valuesTable(v: Values, name: string): Values {
  let table = v;
  for (const n of name.split('.')) {
    if (!hasKey(table, n)) throw new NoTableError(n);
    const next = getKey(table, n);
    if (!isTable(next)) throw new NoTableError(n);
    table = next;
  }
  return table;
}

/**
 * Helm's `Values.PathValue`: the non-map value at a dotted path.
 * @throws NoValueError when absent or a map; `Error('YAML path cannot be empty')`.
 * @public
 */
export function pathValue(v: Values, path: string): GoValue {
  if (path === '') throw new Error('YAML path cannot be empty');
  const parts = path.split('.');
  if (parts.length === 1) {
    const key = parts[0] as string;
    if (hasKey(v, key) && !isTable(getKey(v, key))) return getKey(v, key) as GoValue;
    throw new NoValueError(key);
  }
  const key = parts.pop() as string;
  let t: Values;
  try {
    t = valuesTable(v, parts.join('.'));
  } catch {
    throw new NoValueError(key);
  }
  if (hasKey(t, key) && !isTable(getKey(t, key))) return getKey(t, key) as GoValue;
  throw new NoValueError(key);
}
