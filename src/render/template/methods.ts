/**
 * Go map types with methods (Helm's `.Files` is `engine.files`, a
 * `map[string][]byte` with `Get`, `Glob`, …): a plain Go map whose methods live under a
 * non-enumerable symbol, so ranging, indexing and printing see only the entries while
 * `.Files.Get "x"` finds the method first, as Go's field lookup does.
 */
import type { GoFunc, GoMap } from './value.js';

/** Symbol under which a map's methods are stored. @public */
export const GO_METHODS: unique symbol = Symbol.for('chartproof.template.methods');

interface MethodTable {
  readonly typeName: string;
  readonly methods: Readonly<Record<string, GoFunc>>;
}

/** Attaches methods (and a Go type name) to a map; returns the same map. @public */
export function withMethods(m: GoMap, typeName: string, methods: Readonly<Record<string, GoFunc>>): GoMap {
  Object.defineProperty(m, GO_METHODS, {
    value: { typeName, methods } satisfies MethodTable,
    enumerable: false,
  });
  return m;
}

/** The method `name` of a map or slice with methods, if any. */
export function mapMethod(m: GoMap | readonly unknown[], name: string): GoFunc | undefined {
  const t = (m as unknown as Record<symbol, MethodTable | undefined>)[GO_METHODS];
  return t !== undefined && Object.hasOwn(t.methods, name) ? t.methods[name] : undefined;
}

/** The Go type name of a map with methods, if any. */
export function mapTypeName(m: GoMap): string | undefined {
  return (m as unknown as Record<symbol, MethodTable | undefined>)[GO_METHODS]?.typeName;
}
