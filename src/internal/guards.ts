/**
 * Small helpers every layer needs when it reads values from outside.
 *
 * Internal: never exported from the public entry points.
 */

/** A plain JSON-like object: not null, not an array (parsed JSON or YAML mappings). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The message of an error, or the text of anything else that was thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Sets `key` as an own enumerable data property, also `__proto__` (which `o[k] = v` would make the prototype). */
export function setOwn(o: object, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}
