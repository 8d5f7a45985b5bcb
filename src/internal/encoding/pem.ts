/**
 * PEM (RFC 7468) blocks as Go's `encoding/pem` writes them and as chartproof reads
 * them from key files, certificate chains and CA bundles.
 *
 * Internal: never exported from the public entry points.
 */

/** One PEM block as found in text: its label, whether it had headers, its base64 body. */
export interface PemText {
  label: string;
  /** The block had `Key: value` header lines (e.g. `Proc-Type`), which were dropped. */
  headers: boolean;
  /** The base64 body, lines joined, whitespace and header lines removed. */
  body: string;
}

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';

/** The label of a `-----BEGIN <label>-----` / `-----END <label>-----` at `at` (after the prefix): no `-`, CR or LF. */
function labelAt(text: string, at: number): { label: string; next: number } | undefined {
  let i = at;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x2d || c === 0x0a || c === 0x0d) break;
    i++;
  }
  if (i === at || !text.startsWith(DASHES, i)) return undefined;
  return { label: text.slice(at, i), next: i + DASHES.length };
}

/**
 * The first PEM block of `text` (like Go's `pem.Decode`, text around it is ignored),
 * or undefined when there is none. The body is not decoded: see `decodeBase64`.
 *
 * Found by scanning, not by a backtracking regular expression: text with many BEGIN
 * lines and no END (a hostile certificate annotation) made that quadratic.
 */
export function findPemBlock(text: string): PemText | undefined {
  // Every END line by label, in order, in one pass.
  const ends = new Map<string, number[]>();
  for (let at = text.indexOf(END); at >= 0; at = text.indexOf(END, at + 1)) {
    const l = labelAt(text, at + END.length);
    if (!l) continue;
    const list = ends.get(l.label);
    if (list) list.push(at);
    else ends.set(l.label, [at]);
  }
  for (let at = text.indexOf(BEGIN); at >= 0; at = text.indexOf(BEGIN, at + 1)) {
    const l = labelAt(text, at + BEGIN.length);
    if (!l) continue;
    let bodyStart = l.next;
    if (text[bodyStart] === '\r') bodyStart++;
    if (text[bodyStart] !== '\n') continue;
    bodyStart++;
    const end = firstAtOrAfter(ends.get(l.label), bodyStart);
    if (end === undefined) continue;
    const lines = text
      .slice(bodyStart, end)
      .split(/\r?\n/)
      .map((line) => line.trim());
    return {
      label: l.label,
      headers: lines.some((line) => line.includes(':')),
      body: lines.filter((line) => line !== '' && !line.includes(':')).join(''),
    };
  }
  return undefined;
}

/** The first value of the ascending `list` that is at least `min`. */
function firstAtOrAfter(list: readonly number[] | undefined, min: number): number | undefined {
  if (!list) return undefined;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < min) lo = mid + 1;
    else hi = mid;
  }
  return lo < list.length ? list[lo] : undefined;
}

/**
 * Every complete `-----BEGIN <label>----- … -----END <label>-----` block of `text`, in
 * order, as text (for parsers that take PEM, such as `X509Certificate`). Linear: once no
 * END follows a BEGIN, none follows a later one.
 */
export function pemBlocksOf(text: string, label: string): string[] {
  const begin = `${BEGIN}${label}${DASHES}`;
  const end = `${END}${label}${DASHES}`;
  const out: string[] = [];
  for (let from = 0; ; ) {
    const b = text.indexOf(begin, from);
    if (b < 0) break;
    const e = text.indexOf(end, b + begin.length);
    if (e < 0) break;
    out.push(text.slice(b, e + end.length));
    from = e + end.length;
  }
  return out;
}

/** PEM text with 64-character lines and a final newline, as Go's `pem.EncodeToMemory`. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.map((l) => `${l}\n`).join('')}-----END ${label}-----\n`;
}
