/**
 * What Helm's `Metadata.Validate` does to metadata strings in place (whitespace to
 * spaces, non-printable characters dropped), and Go's `strings.TrimSpace`.
 */

const GO_SPACE = /\p{White_Space}/u;
const GO_PRINT = /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u;

/**
 * Helm's metadata string sanitiser: whitespace becomes a space, non-printable
 * characters are dropped (Go `unicode.IsSpace` / `unicode.IsPrint`). Idempotent.
 * @internal
 */
export function sanitizeHelmString(s: string): string {
  let out = '';
  for (const ch of s) {
    if (GO_SPACE.test(ch)) out += ' ';
    else if (ch === ' ' || GO_PRINT.test(ch)) out += ch;
  }
  return out;
}

/** {@link sanitizeHelmString} of an optional string. @internal */
export const sanitizeOptional = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : sanitizeHelmString(s);
/** {@link sanitizeHelmString} of each item of an optional list. @internal */
export const sanitizeList = (l: string[] | undefined): string[] | undefined => l?.map(sanitizeHelmString);

/** Go's `strings.TrimSpace` (Unicode White_Space only; a BOM is not trimmed). @internal */
export function goTrimSpace(s: string): string {
  return s.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');
}
