/**
 * Helm's legacy provenance files (`<chart>.tgz.prov`): an OpenPGP clearsigned
 * message whose body is `yaml.Marshal(metadata)` + `"\n...\n"` + a `files:` map of
 * archive names to `sha256:<hex>` digests.
 */

import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import { parse as parseYaml } from 'yaml';
import { ChartproofError } from '../errors.js';
import { helmConfigJson } from './config.js';
import type { ChartMetadata } from './types.js';

/** The result of a successful {@link verifyProvenance}. @public */
export interface ProvenanceVerification {
  /** Primary user ID of the signing key (Helm's `Signed by:`). */
  signedBy: string;
  /** Fingerprint of the signer's primary key, uppercase hex (40 chars for v4 keys). */
  fingerprint: string;
  /** Digest of the verified archive, `sha256:<hex>`. */
  chartHash: string;
  /** Issuer key ID of the signature (may be a subkey), uppercase hex. */
  keyId: string;
}

/** Options of {@link verifyProvenance}. @public */
export interface VerifyProvenanceOptions {
  /**
   * The archive's base name as listed under `files:`. Default: the single `files:`
   * entry, accepted only if its digest matches the archive.
   */
  fileName?: string;
}

/** Options of {@link signProvenance}. @public */
export interface SignProvenanceOptions {
  /** Passphrase of an encrypted secret key. */
  passphrase?: string;
}

const SEPARATOR = '\n...\n';

function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function invalid(message: string, cause?: unknown): ChartproofError {
  return new ChartproofError('CHART_INVALID', message, cause === undefined ? {} : { cause });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function textOf(input: Uint8Array | string): string {
  return typeof input === 'string' ? input : new TextDecoder().decode(input);
}

function isArmored(input: Uint8Array | string): boolean {
  const head =
    typeof input === 'string' ? input.slice(0, 200) : new TextDecoder().decode(input.slice(0, 200));
  return head.trimStart().startsWith('-----BEGIN PGP');
}

// ---------------------------------------------------------------------------------------
// YAML marshalling in the style of sigs.k8s.io/yaml (JSON -> yaml.v2)
// ---------------------------------------------------------------------------------------

const BEST_WIDTH = 80;

// Key order of yaml.v2 (`keyList.Less`): letters compare by code point and sort
// before non-letters; runs of digits compare numerically.
function isLetter(c: string): boolean {
  return /\p{L}/u.test(c);
}
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** @internal */
export function yamlV2KeyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ac = ar[i]!;
    const bc = br[i]!;
    if (ac === bc) continue;
    const al = isLetter(ac);
    const bl = isLetter(bc);
    if (al && bl) return ac.codePointAt(0)! < bc.codePointAt(0)!;
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ac === '0' || bc === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10n + BigInt(ar[ai]!.charCodeAt(0) - 48);
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10n + BigInt(br[bi]!.charCodeAt(0) - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ac.codePointAt(0)! < bc.codePointAt(0)!;
  }
  return ar.length < br.length;
}

const BOOL_NULL = new Set(
  'y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off OFF null Null NULL ~ <<'.split(
    ' ',
  ),
);
const SPECIAL_FLOATS = new Set(
  '.inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF .nan .NaN .NAN'.split(' '),
);
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const GO_INT = /^[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$/;
const TIMESTAMP =
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)?$/;
const BASE60 = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/** Whether yaml.v2 would resolve this plain scalar to something other than a string. */
function resolvesToNonString(s: string): boolean {
  if (s === '' || BOOL_NULL.has(s) || SPECIAL_FLOATS.has(s)) return true;
  const c = s[0]!;
  if (c === '.') return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(s);
  if (!(isDigit(c) || c === '+' || c === '-')) return false;
  if (TIMESTAMP.test(s)) return true;
  const plain = s.replaceAll('_', '');
  return GO_INT.test(plain) || YAML_FLOAT.test(plain) || BASE60.test(s);
}

// libyaml's printable set (unicode output enabled, as in yaml.v2).
function isPrintable(cp: number): boolean {
  return (
    cp === 0x0a ||
    (cp >= 0x20 && cp <= 0x7e) ||
    cp === 0x85 ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}
const isBreak = (c: string | undefined): boolean =>
  c === '\n' || c === '\r' || c === '\u0085' || c === '\u2028' || c === '\u2029';
const isBlankOrEnd = (c: string | undefined): boolean =>
  c === undefined || c === ' ' || c === '\t' || isBreak(c);

interface ScalarAnalysis {
  blockPlain: boolean;
  singleQuoted: boolean;
  block: boolean;
  multiline: boolean;
}

// A condensed form of libyaml's `yaml_emitter_analyze_scalar` for block context.
function analyzeScalar(s: string): ScalarAnalysis {
  const chars = [...s];
  let blockIndicators = false;
  let specialCharacters = false;
  let lineBreaks = false;
  let spaceBreak = false;
  let breakSpace = false;
  let previousSpace = false;
  let previousBreak = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  if (s.startsWith('---') || s.startsWith('...')) blockIndicators = true;
  let precededByWhitespace = true;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const next = chars[i + 1];
    const followedByWhitespace = isBlankOrEnd(next);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) blockIndicators = true;
      if ((c === '?' || c === ':' || c === '-') && followedByWhitespace) blockIndicators = true;
    } else {
      if (c === ':' && followedByWhitespace) blockIndicators = true;
      if (c === '#' && precededByWhitespace) blockIndicators = true;
    }
    const cp = c.codePointAt(0)!;
    if (!isPrintable(cp)) specialCharacters = true;
    if (isBreak(c)) lineBreaks = true;
    if (c === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousBreak = true;
      previousSpace = false;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlankOrEnd(c);
  }
  let blockPlain = true;
  let singleQuoted = true;
  let block = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) blockPlain = false;
  if (trailingSpace) block = false;
  if (breakSpace) {
    blockPlain = false;
    singleQuoted = false;
  }
  if (spaceBreak || specialCharacters) {
    blockPlain = false;
    singleQuoted = false;
    block = false;
  }
  if (lineBreaks) blockPlain = false;
  if (blockIndicators) blockPlain = false;
  return { blockPlain, singleQuoted, block, multiline: lineBreaks };
}

class Emitter {
  out = '';
  column = 0;

  write(s: string): void {
    this.out += s;
    const nl = s.lastIndexOf('\n');
    this.column = nl < 0 ? this.column + [...s].length : [...s.slice(nl + 1)].length;
  }

  newline(indent: number): void {
    this.write(`\n${' '.repeat(indent)}`);
  }

  plain(s: string, indent: number): void {
    const chars = [...s];
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (c === ' ') {
        if (!spaces && indent >= 0 && this.column > BEST_WIDTH && chars[i + 1] !== ' ') this.newline(indent);
        else this.write(c);
        spaces = true;
      } else {
        this.write(c);
        spaces = false;
      }
    }
  }

  singleQuoted(s: string, indent: number): void {
    const chars = [...s];
    this.write("'");
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (c === ' ') {
        if (
          !spaces &&
          indent >= 0 &&
          this.column > BEST_WIDTH &&
          i !== 0 &&
          i !== chars.length - 1 &&
          chars[i + 1] !== ' '
        ) {
          this.newline(indent);
        } else this.write(c);
        spaces = true;
      } else {
        this.write(c === "'" ? "''" : c);
        spaces = false;
      }
    }
    this.write("'");
  }

  doubleQuoted(s: string, indent: number): void {
    const chars = [...s];
    this.write('"');
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      const cp = c.codePointAt(0)!;
      if (!isPrintable(cp) || cp === 0xfeff || isBreak(c) || c === '"' || c === '\\') {
        this.write(escapeDouble(c, cp));
        spaces = false;
      } else if (c === ' ') {
        if (!spaces && indent >= 0 && this.column > BEST_WIDTH && i !== 0 && i !== chars.length - 1) {
          this.newline(indent);
          if (chars[i + 1] === ' ') this.write('\\');
        } else this.write(c);
        spaces = true;
      } else {
        this.write(c);
        spaces = false;
      }
    }
    this.write('"');
  }

  literal(s: string, indent: number): void {
    let hints = '';
    if (s.startsWith(' ') || isBreak(s[0])) hints += '2';
    if (!s.endsWith('\n')) hints += '-';
    else if (s.length === 1 || s.endsWith('\n\n')) hints += '+';
    this.write(`|${hints}`);
    let breaks = true;
    this.write('\n');
    for (const c of s) {
      if (c === '\n') {
        this.write('\n');
        breaks = true;
      } else {
        if (breaks) this.write(' '.repeat(indent));
        this.write(c);
        breaks = false;
      }
    }
    // A trailing `\n` of the content is already written; the caller adds line ends.
    if (s.endsWith('\n')) this.out = this.out.slice(0, -1);
    this.column = 0;
  }

  /**
   * Writes a string scalar; `indent` is the indentation for continuation lines
   * (negative: no folding).
   */
  string(s: string, indent: number, simpleKey: boolean): void {
    const a = analyzeScalar(s);
    const at = simpleKey ? -1 : indent; // simple keys are never folded
    if (a.multiline) {
      if (a.block && !simpleKey) this.literal(s, at);
      else this.doubleQuoted(s, at);
    } else if (s === '' || resolvesToNonString(s)) this.doubleQuoted(s, at);
    else if (a.blockPlain) this.plain(s, at);
    else if (a.singleQuoted) this.singleQuoted(s, at);
    else this.doubleQuoted(s, at);
  }

  scalar(v: unknown, indent: number): void {
    if (v === null || v === undefined) this.write('null');
    else if (typeof v === 'boolean') this.write(v ? 'true' : 'false');
    else if (typeof v === 'number') this.write(goFloatText(v));
    else this.string(String(v), indent, false);
  }

  /** A value after `key:` or `- `, at block indentation `indent` of its parent. */
  value(v: unknown, indent: number, inSequence: boolean): void {
    if (Array.isArray(v)) {
      if (v.length === 0) this.write(' []');
      else {
        if (inSequence) {
          this.write(' ');
          this.sequence(v, indent + 2, true);
        } else {
          this.sequence(v, indent, false);
        }
      }
    } else if (isObject(v)) {
      if (Object.keys(v).length === 0) this.write(' {}');
      else if (inSequence) {
        this.write(' ');
        this.mapping(v, indent + 2, true);
      } else this.mapping(v, indent + 2, false);
    } else {
      this.write(' ');
      this.scalar(v, indent + 2);
    }
  }

  sequence(items: unknown[], indent: number, inline: boolean): void {
    items.forEach((item, i) => {
      if (!(inline && i === 0)) this.newline(indent);
      this.write('-');
      this.value(item, indent, true);
    });
  }

  mapping(obj: Record<string, unknown>, indent: number, inline: boolean): void {
    const keys = Object.keys(obj).sort((a, b) => (yamlV2KeyLess(a, b) ? -1 : yamlV2KeyLess(b, a) ? 1 : 0));
    keys.forEach((key, i) => {
      if (!(inline && i === 0)) {
        if (this.out !== '') this.newline(indent);
      }
      this.string(key, indent + 2, true);
      this.write(':');
      this.value(obj[key], indent, false);
    });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function escapeDouble(c: string, cp: number): string {
  const simple: Record<string, string> = {
    '\0': '0',
    '\x07': 'a',
    '\b': 'b',
    '\t': 't',
    '\n': 'n',
    '\x0b': 'v',
    '\f': 'f',
    '\r': 'r',
    '\x1b': 'e',
    '"': '"',
    '\\': '\\',
    '\u0085': 'N',
    '\u00a0': '_',
    '\u2028': 'L',
    '\u2029': 'P',
  };
  const e = simple[c];
  if (e !== undefined) return `\\${e}`;
  if (cp <= 0xff) return `\\x${cp.toString(16).toUpperCase().padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return `\\U${cp.toString(16).toUpperCase().padStart(8, '0')}`;
}

function goFloatText(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (n === Number.POSITIVE_INFINITY) return '.inf';
  if (n === Number.NEGATIVE_INFINITY) return '-.inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  // strconv.FormatFloat(f, 'g', -1, 64): exponent form for large/small magnitudes.
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 21) {
    const [m, e] = n.toExponential().split('e');
    const ev = Number(e);
    return `${m}e${ev < 0 ? '-' : '+'}${String(Math.abs(ev)).padStart(2, '0')}`;
  }
  return String(n);
}

/**
 * Marshals a JSON-compatible value the way `sigs.k8s.io/yaml.Marshal` does (sorted
 * keys, unindented sequences, yaml.v2 quoting, plain scalars folded at 80 columns).
 * The result ends with a newline.
 * @internal
 */
export function marshalYamlV2(value: Record<string, unknown>): string {
  if (Object.keys(value).length === 0) return '{}\n';
  const e = new Emitter();
  e.mapping(value, 0, false);
  return `${e.out}\n`;
}

// ---------------------------------------------------------------------------------------
// Message block
// ---------------------------------------------------------------------------------------

/**
 * Helm's provenance message block: `yaml.Marshal(metadata)`, `"\n...\n"`, then the
 * `files:` map with the archive's `sha256:` digest. Signing covers exactly this text.
 * @public
 */
export function provenanceMessageBlock(
  metadata: ChartMetadata,
  fileName: string,
  archiveDigestHex: string,
): string {
  const meta = JSON.parse(new TextDecoder().decode(helmConfigJson(metadata))) as Record<string, unknown>;
  const files = marshalYamlV2({ files: { [fileName]: `sha256:${archiveDigestHex}` } });
  return `${marshalYamlV2(meta)}${SEPARATOR}${files}`;
}

// ---------------------------------------------------------------------------------------
// Verify
// ---------------------------------------------------------------------------------------

async function readKeyring(keyring: Uint8Array | string): Promise<openpgp.Key[]> {
  try {
    if (isArmored(keyring)) return await openpgp.readKeys({ armoredKeys: textOf(keyring) });
    const bytes = typeof keyring === 'string' ? new TextEncoder().encode(keyring) : keyring;
    return await openpgp.readKeys({ binaryKeys: bytes });
  } catch (err) {
    throw invalid(`failed to load keyring: ${messageOf(err)}`, err);
  }
}

function parseFilesSection(signed: string): Record<string, string> {
  const idx = signed.indexOf(SEPARATOR);
  if (idx < 0) throw invalid('message block must have at least two parts');
  const section = signed.slice(idx + SEPARATOR.length);
  let doc: unknown;
  try {
    doc = parseYaml(section, { maxAliasCount: 0 });
  } catch (err) {
    throw invalid(`invalid files section in provenance: ${messageOf(err)}`, err);
  }
  const files = isObject(doc) ? doc.files : undefined;
  if (files === undefined || files === null) return {};
  if (!isObject(files)) throw invalid('invalid files section in provenance: files is not a mapping');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(files)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Verifies a Helm provenance file against an archive and a public keyring, as
 * `helm verify` does: the clearsigned message must carry a valid signature by a key
 * of the keyring, and its `files:` entry for the archive must equal the archive's
 * sha256. Only the signed text is used; anything outside the signed part is ignored.
 *
 * Errors ({@link ChartproofError}): `DIGEST_MISMATCH` (the archive's digest differs
 * from the signed entry); `CHART_INVALID` for a malformed .prov, a missing entry, an
 * unreadable keyring, or a signature that does not verify (messages start with
 * `signature verification failed:`).
 * @public
 */
export async function verifyProvenance(
  archive: Uint8Array,
  provenance: Uint8Array | string,
  keyring: Uint8Array | string,
  options: VerifyProvenanceOptions = {},
): Promise<ProvenanceVerification> {
  const keys = await readKeyring(keyring);
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: textOf(provenance) });
  } catch (err) {
    throw invalid(`signature block not found: ${messageOf(err)}`, err);
  }
  let signed: string;
  let signerKey: openpgp.Key | undefined;
  let keyId = '';
  try {
    const result = await openpgp.verify({ message, verificationKeys: keys, expectSigned: true });
    let ok = false;
    for (const sig of result.signatures) {
      try {
        if (!(await sig.verified)) continue;
      } catch {
        continue;
      }
      const key = keys.find((k) => k.getKeys(sig.keyID).length > 0);
      if (key === undefined) continue;
      signerKey = key;
      keyId = sig.keyID.toHex().toUpperCase();
      ok = true;
      break;
    }
    if (!ok) throw new Error('no valid signature by a key in the keyring');
    signed = result.data as string;
  } catch (err) {
    if (err instanceof ChartproofError) throw err;
    throw new ChartproofError('SIGNATURE_INVALID', `signature verification failed: ${messageOf(err)}`, {
      cause: err,
    });
  }

  const files = parseFilesSection(signed);
  const hex = sha256Hex(archive);
  const chartHash = `sha256:${hex}`;
  let fileName = options.fileName;
  if (fileName === undefined) {
    const names = Object.keys(files);
    if (names.length !== 1) {
      throw invalid(`provenance lists ${names.length} files; pass the archive's file name`);
    }
    fileName = names[0]!;
    if (files[fileName] !== chartHash) {
      throw new ChartproofError(
        'DIGEST_MISMATCH',
        `sha256 sum does not match for ${fileName}: "${files[fileName]}" != "${chartHash}"`,
      );
    }
  }
  const expected = Object.hasOwn(files, fileName) ? files[fileName] : undefined;
  if (expected === undefined) {
    throw invalid(`provenance does not contain a SHA for a file named "${fileName}"`);
  }
  if (expected !== chartHash) {
    throw new ChartproofError(
      'DIGEST_MISMATCH',
      `sha256 sum does not match for ${fileName}: "${expected}" != "${chartHash}"`,
    );
  }

  const key = signerKey!;
  let signedBy = '';
  try {
    const primary = await key.getPrimaryUser();
    signedBy = primary.user.userID?.userID ?? '';
  } catch {
    signedBy = key.getUserIDs()[0] ?? '';
  }
  return { signedBy, fingerprint: key.getFingerprint().toUpperCase(), chartHash, keyId };
}

// ---------------------------------------------------------------------------------------
// Sign
// ---------------------------------------------------------------------------------------

/**
 * Signs an archive the way `helm package --sign` does: clearsigns
 * {@link provenanceMessageBlock} (SHA-512 preferred) with the secret key, decrypting
 * it with `passphrase` if needed. Returns the `.prov` text.
 *
 * Errors: `CHART_INVALID` (unreadable key, missing or wrong passphrase).
 * @public
 */
export async function signProvenance(
  archive: Uint8Array,
  fileName: string,
  metadata: ChartMetadata,
  secretKey: Uint8Array | string,
  options: SignProvenanceOptions = {},
): Promise<string> {
  let key: openpgp.PrivateKey;
  try {
    key = isArmored(secretKey)
      ? await openpgp.readPrivateKey({ armoredKey: textOf(secretKey) })
      : await openpgp.readPrivateKey({
          binaryKey: typeof secretKey === 'string' ? new TextEncoder().encode(secretKey) : secretKey,
        });
  } catch (err) {
    throw invalid(`failed to read secret key: ${messageOf(err)}`, err);
  }
  if (!key.isDecrypted()) {
    if (options.passphrase === undefined)
      throw invalid('the secret key is encrypted: a passphrase is needed');
    try {
      key = await openpgp.decryptKey({ privateKey: key, passphrase: options.passphrase });
    } catch (err) {
      throw invalid(`failed to decrypt secret key: ${messageOf(err)}`, err);
    }
  }
  const text = provenanceMessageBlock(metadata, fileName, sha256Hex(archive));
  try {
    const message = await openpgp.createCleartextMessage({ text });
    const armored = await openpgp.sign({
      message,
      signingKeys: key,
      config: { preferredHashAlgorithm: openpgp.enums.hash.sha512 },
    });
    // openpgp.js writes the cleartext with CRLF line ends; Helm and GnuPG write LF (the
    // signature covers the canonical CRLF form either way). Only the text has CRs.
    return armored.replace(/\r\n/g, '\n');
  } catch (err) {
    throw invalid(`failed to sign provenance: ${messageOf(err)}`, err);
  }
}
