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

const BLOCK = /-----BEGIN ([^\r\n-]+)-----\r?\n([\s\S]*?)-----END \1-----/;

/**
 * The first PEM block of `text` (like Go's `pem.Decode`, text around it is ignored),
 * or undefined when there is none. The body is not decoded: see `decodeBase64`.
 */
export function findPemBlock(text: string): PemText | undefined {
  const m = BLOCK.exec(text);
  if (!m) return undefined;
  const lines = m[2]!.split(/\r?\n/).map((l) => l.trim());
  return {
    label: m[1]!,
    headers: lines.some((l) => l.includes(':')),
    body: lines.filter((l) => l !== '' && !l.includes(':')).join(''),
  };
}

/**
 * Every complete `-----BEGIN <label>----- … -----END <label>-----` block of `text`, in
 * order, as text (for parsers that take PEM, such as `X509Certificate`).
 */
export function pemBlocksOf(text: string, label: string): string[] {
  const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.match(new RegExp(`-----BEGIN ${escaped}-----[\\s\\S]*?-----END ${escaped}-----`, 'g')) ?? [];
}

/** PEM text with 64-character lines and a final newline, as Go's `pem.EncodeToMemory`. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.map((l) => `${l}\n`).join('')}-----END ${label}-----\n`;
}
