/** JSON of Go values as Go's encoding/json prints them (sorted keys, bigint as a number, -0). */
export function goJson(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : JSON.stringify(v);
  if (typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${goJson(o[k])}`).join(',')}}`;
}

/** Go `typeOf` of a value in the Go value model. */
export function goType(v: unknown): string {
  if (v === null) return '<nil>';
  if (typeof v === 'bigint') return 'int64';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** `k=<typeOf>;` for each top-level key in Go's order (what the oracle chart prints). */
export function typesLine(v: Record<string, unknown>): string {
  return Object.keys(v)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((k) => `${k}=${goType(v[k])};`)
    .join('');
}
