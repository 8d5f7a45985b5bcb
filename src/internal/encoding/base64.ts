/**
 * Base64 the way Go's `encoding/base64` reads and writes it. Node's own decoder
 * accepts anything (it skips characters outside the alphabet and ignores missing or
 * extra padding), so text from outside is checked against the variant's grammar
 * first: `std`/`url` are padded (`StdEncoding`/`URLEncoding`), `rawStd`/`rawUrl` are
 * not (`RawStdEncoding`/`RawURLEncoding`). Like Go (and Node), bits left over in the
 * last character are not checked (Go's non-`Strict` decoders).
 *
 * Internal: never exported from the public entry points.
 */

/** `std` (`+/`, padded), `url` (`-_`, padded), `rawStd`, `rawUrl` (unpadded). */
export type Base64Variant = 'std' | 'url' | 'rawStd' | 'rawUrl';

const GRAMMAR: Record<Base64Variant, RegExp> = {
  std: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
  url: /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/,
  rawStd: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2,3})?$/,
  rawUrl: /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$/,
};

/** Options of {@link decodeBase64}. */
export interface DecodeBase64Options {
  /**
   * Skip `\r` and `\n` anywhere, as every Go decoder does (`DecodeString` of PEM-like
   * wrapped text). Default false: a line break is an error.
   */
  ignoreNewlines?: boolean;
}

/** True when `text` is well-formed base64 of the variant (no line breaks). */
export function isBase64(text: string, variant: Base64Variant = 'std'): boolean {
  return GRAMMAR[variant].test(text);
}

/**
 * Decodes base64 of the given variant, or returns undefined when the text is not
 * well-formed (a character outside the alphabet, missing or extra padding, a length
 * no encoder writes). The caller turns undefined into its own coded error.
 */
export function decodeBase64(
  text: string,
  variant: Base64Variant = 'std',
  options: DecodeBase64Options = {},
): Buffer | undefined {
  const s = options.ignoreNewlines ? text.replace(/[\r\n]/g, '') : text;
  if (!GRAMMAR[variant].test(s)) return undefined;
  return Buffer.from(s, variant === 'std' || variant === 'rawStd' ? 'base64' : 'base64url');
}

/** Encodes bytes as base64 of the given variant (Go's `EncodeToString`). */
export function encodeBase64(data: Uint8Array, variant: Base64Variant = 'std'): string {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  switch (variant) {
    case 'std':
      return buf.toString('base64');
    case 'rawStd':
      return buf.toString('base64').replace(/=+$/, '');
    case 'rawUrl':
      return buf.toString('base64url');
    case 'url': {
      const raw = buf.toString('base64url');
      return raw + '='.repeat((4 - (raw.length % 4)) % 4);
    }
  }
}
