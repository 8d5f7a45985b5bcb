/**
 * Go's `encoding/json` output, byte for byte: compact, struct fields in declaration
 * order, map keys sorted bytewise, `omitempty` fields dropped when empty, HTML-safe
 * string escaping. Helm writes its OCI config blob and `Chart.lock` digests this way,
 * cosign its simple-signing payloads, DSSE envelopes and bundles.
 *
 * Internal: never exported from the public entry points.
 */
import { ChartproofError } from '../../errors.js';
import { encodeBase64 } from './base64.js';

const HEX = '0123456789abcdef';

/**
 * Encodes a string the way Go's `json.Marshal` does (HTML escaping on): `"` and `\`
 * backslash-escaped; `\b \f \n \r \t` short forms (Go ≥ 1.22); other controls as
 * `\u00XX`; `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX`; lone surrogates (invalid
 * UTF-8 in Go terms) as `\ufffd`. Everything else, including non-BMP characters, is
 * written as is.
 * @internal
 */
export function goJsonString(value: string): string {
  let out = '"';
  let start = 0;
  const flush = (i: number) => {
    if (i > start) out += value.slice(start, i);
  };
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x20) {
      switch (c) {
        case 0x08:
          esc = '\\b';
          break;
        case 0x0c:
          esc = '\\f';
          break;
        case 0x0a:
          esc = '\\n';
          break;
        case 0x0d:
          esc = '\\r';
          break;
        case 0x09:
          esc = '\\t';
          break;
        default:
          esc = `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
      }
    } else if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = '\\\\';
    else if (c === 0x3c) esc = '\\u003c';
    else if (c === 0x3e) esc = '\\u003e';
    else if (c === 0x26) esc = '\\u0026';
    else if (c === 0x2028) esc = '\\u2028';
    else if (c === 0x2029) esc = '\\u2029';
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++; // valid pair: copied as is
        continue;
      }
      esc = '\\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) esc = '\\ufffd';
    if (esc !== undefined) {
      flush(i);
      out += esc;
      start = i + 1;
    }
  }
  flush(value.length);
  return `${out}"`;
}

const utf8 = new TextEncoder();

/** Go sorts map keys by their UTF-8 bytes. @internal */
export function compareGoMapKeys(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(utf8.encode(a), utf8.encode(b));
}

/**
 * Encodes a JSON-like value as Go's `json.Marshal` would encode the same value held in
 * an `interface{}`: objects are maps (keys sorted bytewise), numbers are float64.
 * `undefined` object members are skipped; `undefined` elsewhere encodes as `null`.
 * @throws ChartproofError `INVALID_ARGUMENT` for non-finite numbers and unsupported types
 * @internal
 */
export function goJsonValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return goJsonString(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value))
        throw new ChartproofError('INVALID_ARGUMENT', `json: unsupported value: ${String(value)}`);
      // For finite float64, JS's shortest round-trip form matches Go's ('f' inside
      // [1e-6, 1e21), else 'e' with a trimmed exponent), and both write -0 as "-0".
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return value.toString();
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => goJsonValue(v)).join(',')}]`;
      if (value instanceof Uint8Array) return goJsonString(encodeBase64(value, 'std'));
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      entries.sort(([a], [b]) => compareGoMapKeys(a, b));
      return `{${entries.map(([k, v]) => `${goJsonString(k)}:${goJsonValue(v)}`).join(',')}}`;
    }
    default:
      throw new ChartproofError('INVALID_ARGUMENT', `json: unsupported type: ${typeof value}`);
  }
}

/**
 * One field of a Go struct: JSON key, value, and whether the field is `omitempty`.
 * A value that is already encoded JSON can be passed as a {@link GoRaw}.
 * @internal
 */
export type GoJsonField = readonly [key: string, value: unknown, omitEmpty: boolean];

/** Go's `omitempty` test: false, 0, "", nil, and empty slices and maps. @internal */
export function isGoEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object' && !(value instanceof Uint8Array) && !(value instanceof GoRaw))
    return Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).length === 0;
  return false;
}

/** Pre-encoded JSON, embedded verbatim by {@link goJsonStruct}. @internal */
export class GoRaw {
  constructor(readonly json: string) {}
}

/**
 * Encodes a Go struct: fields in the given order, `omitempty` fields dropped when
 * empty. Values are encoded with {@link goJsonValue} unless they are {@link GoRaw}.
 * An `undefined` field without `omitempty` encodes as `null` (a nil pointer).
 * @internal
 */
export function goJsonStruct(fields: readonly GoJsonField[]): string {
  const parts: string[] = [];
  for (const [key, value, omitEmpty] of fields) {
    if (omitEmpty && isGoEmpty(value)) continue;
    const json = value instanceof GoRaw ? value.json : goJsonValue(value);
    parts.push(`${goJsonString(key)}:${json}`);
  }
  return `{${parts.join(',')}}`;
}

/** UTF-8 bytes of a string. @internal */
export function utf8Bytes(s: string): Uint8Array {
  return utf8.encode(s);
}
