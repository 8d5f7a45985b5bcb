/**
 * X.509 helpers for certificate-based (keyless, Fulcio, or custom PKI) cosign
 * signatures: PEM parsing, chain building up to a trusted root, validity, the
 * identity a certificate carries (Subject Alternative Names, Fulcio OIDC issuer) and
 * the embedded Signed Certificate Timestamps (RFC 6962).
 *
 * node:crypto `X509Certificate` does the signature and name checks; the few fields it
 * does not expose (extensions, the TBS bytes an SCT signs) are read with a minimal DER
 * reader below.
 *
 * References: sigstore/cosign `pkg/cosign/verify.go` (`ValidateAndUnpackCert`,
 * `CheckCertificatePolicy`), `pkg/cosign/verify_sct.go`; sigstore/sigstore-go
 * `pkg/verify/certificate.go`; RFC 5280 §6; RFC 6962 §3.2; Fulcio `docs/oid-info.md`.
 */
import {
  createHash,
  createPublicKey,
  type KeyObject,
  verify as cryptoVerify,
  X509Certificate,
} from 'node:crypto';
import { ChartproofError, type ChartproofErrorOptions } from '../errors.js';
import { pemBlocksOf } from '../internal/encoding/pem.js';
import type { TrustedRootJson } from './policy.js';

/** A certificate authority trusted to issue signing certificates. @public */
export interface CertificateAuthority {
  /** The CA's certificates, issuing intermediate first and root (the trust anchor) last. */
  certificates: X509Certificate[];
  /** When the CA may be used (trusted root `validFor`); unbounded when absent. */
  validFor?: { start?: Date; end?: Date };
}

/** A Certificate Transparency log key, by log ID (sha256 of the key's SPKI DER). @public */
export interface CtLogKey {
  /** Lowercase hex log ID. */
  logId: string;
  key: KeyObject;
  /** When the key was valid (from the trusted root); unbounded when absent. */
  validFor?: { start?: Date; end?: Date };
}

/** The identity a signing certificate carries. @public */
export interface CertificateIdentityClaims {
  /** Every Subject Alternative Name: e-mail, URI, DNS name, or Fulcio's `otherName` username. */
  subjectAlternativeNames: string[];
  /** The first e-mail or URI SAN (else the first SAN): what cosign reports as the subject. */
  subject?: string;
  /** The Fulcio OIDC issuer (`1.3.6.1.4.1.57264.1.8`, else the deprecated `.1.1`). */
  issuer?: string;
}

/** A certificate check that does not hold (code `SIGNATURE_INVALID`); the message is the reason. @public */
export class CertificateError extends ChartproofError {
  constructor(message: string, options: ChartproofErrorOptions = {}) {
    super('SIGNATURE_INVALID', message, options);
  }
}

function fail(reason: string): never {
  throw new CertificateError(reason);
}

/** Fulcio OIDC issuer (V2, DER UTF8String). */
const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
/** Fulcio OIDC issuer (deprecated, raw string). */
const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_FULCIO_OTHERNAME = '1.3.6.1.4.1.57264.1.7';
const OID_SCT_LIST = '1.3.6.1.4.1.11129.2.4.2';
const OID_KEY_USAGE = '2.5.29.15';
const OID_SAN = '2.5.29.17';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_EKU = '2.5.29.37';
const EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const EKU_ANY = '2.5.29.37.0';
// Critical extensions chartproof understands (as Go's x509 does); any other critical one fails.
const HANDLED_CRITICAL = new Set([
  OID_KEY_USAGE,
  OID_SAN,
  OID_BASIC_CONSTRAINTS,
  OID_EKU,
  '2.5.29.14', // subject key identifier
  '2.5.29.35', // authority key identifier
  '2.5.29.32', // certificate policies
]);
/** Longest chain searched (leaf excluded). */
const MAX_CHAIN_DEPTH = 10;
/**
 * Most signature checks one path search makes (Go crypto/x509 `maxChainSignatureChecks`):
 * untrusted intermediates that issue each other would otherwise make the depth-first
 * search try every path of up to {@link MAX_CHAIN_DEPTH} certificates.
 */
const MAX_CHAIN_SIGNATURE_CHECKS = 100;

// ---------------------------------------------------------------------------------------
// Minimal DER reader.

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the content. */
  body: number;
  /** Offset just past the content. */
  end: number;
}

function readTlv(buf: Buffer, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) fail('malformed certificate: truncated DER');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) fail('malformed certificate: multi-byte DER tag');
  let len = buf[offset + 1]!;
  let body = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) fail('malformed certificate: bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[body + i]!;
    body += n;
  }
  const end = body + len;
  if (end > limit) fail('malformed certificate: DER value overruns its container');
  return { tag, start: offset, body, end };
}

function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end; ) {
    const t = readTlv(buf, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

function decodeOid(bytes: Buffer): string {
  if (bytes.length === 0) fail('malformed certificate: empty OID');
  const parts: number[] = [];
  let v = 0;
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  const first = parts.shift()!;
  const a = first < 40 ? 0 : first < 80 ? 1 : 2;
  return [a, first - a * 40, ...parts].join('.');
}

function encodeTlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let header: Buffer;
  if (n < 0x80) header = Buffer.from([tag, n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, content]);
}

interface Extension {
  oid: string;
  critical: boolean;
  /** The extension value (content of the OCTET STRING). */
  value: Buffer;
  /** The whole Extension SEQUENCE. */
  tlv: Tlv;
}

interface ParsedTbs {
  der: Buffer;
  tbs: Tlv;
  /** The TBS fields. */
  fields: Tlv[];
  /** Index in `fields` of the `[3]` extensions wrapper, or -1. */
  extIndex: number;
  extensions: Extension[];
}

function parseTbs(cert: X509Certificate): ParsedTbs {
  const der = cert.raw;
  const outer = readTlv(der, 0);
  const tbs = readTlv(der, outer.body, outer.end);
  if (outer.tag !== 0x30 || tbs.tag !== 0x30) fail('malformed certificate: not a SEQUENCE');
  const fields = children(der, tbs);
  const extIndex = fields.findIndex((f) => f.tag === 0xa3);
  const extensions: Extension[] = [];
  if (extIndex >= 0) {
    const seq = readTlv(der, fields[extIndex]!.body, fields[extIndex]!.end);
    for (const e of children(der, seq)) {
      const parts = children(der, e);
      if (parts.length < 2 || parts[0]!.tag !== 0x06) fail('malformed certificate: bad extension');
      const critical = parts.length === 3 && parts[1]!.tag === 0x01 && der[parts[1]!.body] !== 0;
      const octets = parts[parts.length - 1]!;
      if (octets.tag !== 0x04) fail('malformed certificate: extension value is not an OCTET STRING');
      extensions.push({
        oid: decodeOid(der.subarray(parts[0]!.body, parts[0]!.end)),
        critical,
        value: der.subarray(octets.body, octets.end),
        tlv: e,
      });
    }
  }
  return { der, tbs, fields, extIndex, extensions };
}

function extension(cert: X509Certificate, oid: string): Extension | undefined {
  return parseTbs(cert).extensions.find((e) => e.oid === oid);
}

// ---------------------------------------------------------------------------------------

/**
 * Parses PEM text holding zero or more `CERTIFICATE` blocks (leaf first, as cosign
 * writes the `dev.sigstore.cosign/chain` annotation).
 * @throws {@link CertificateError} when a block does not parse
 * @public
 */
export function parsePemCertificates(pem: string): X509Certificate[] {
  const blocks = pemBlocksOf(pem, 'CERTIFICATE');
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      return fail(`certificate ${i} does not parse: ${(e as Error).message}`);
    }
  });
}

function validity(v: unknown): { start?: Date; end?: Date } | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const { start, end } = v as { start?: unknown; end?: unknown };
  const out: { start?: Date; end?: Date } = {};
  if (typeof start === 'string') out.start = new Date(start);
  if (typeof end === 'string') out.end = new Date(end);
  return out;
}

/**
 * The certificate authorities of a `trusted_root.json`:
 * `certificateAuthorities[].certChain.certificates[].rawBytes` (base64 DER, issuing
 * certificate first, root last) with each CA's `validFor`. CAs whose certificates do not
 * parse are skipped.
 * @public
 */
export function certificateAuthoritiesFromTrustedRoot(root: TrustedRootJson): CertificateAuthority[] {
  const cas = Array.isArray(root.certificateAuthorities) ? (root.certificateAuthorities as unknown[]) : [];
  const out: CertificateAuthority[] = [];
  for (const ca of cas) {
    const c = ca as { certChain?: { certificates?: unknown }; validFor?: unknown };
    const raw = Array.isArray(c?.certChain?.certificates) ? (c.certChain.certificates as unknown[]) : [];
    try {
      const certificates = raw.map((r) => {
        const bytes = (r as { rawBytes?: unknown })?.rawBytes;
        if (typeof bytes !== 'string') throw new Error('rawBytes missing');
        return new X509Certificate(Buffer.from(bytes, 'base64'));
      });
      if (certificates.length === 0) continue;
      const item: CertificateAuthority = { certificates };
      const v = validity(c.validFor);
      if (v) item.validFor = v;
      out.push(item);
    } catch {
      // not a usable CA
    }
  }
  return out;
}

/**
 * The CT log keys of a `trusted_root.json` (`ctlogs[].publicKey`, base64 SPKI DER),
 * with their log IDs and validity. Entries that do not parse are skipped.
 * @public
 */
export function ctLogKeysFromTrustedRoot(root: TrustedRootJson): CtLogKey[] {
  const logs = Array.isArray(root.ctlogs) ? (root.ctlogs as unknown[]) : [];
  const out: CtLogKey[] = [];
  for (const l of logs) {
    const entry = l as {
      publicKey?: { rawBytes?: unknown; validFor?: unknown };
      logId?: { keyId?: unknown };
    };
    const raw = entry?.publicKey?.rawBytes;
    if (typeof raw !== 'string') continue;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: Buffer.from(raw, 'base64'), format: 'der', type: 'spki' });
    } catch {
      continue;
    }
    const keyId = entry.logId?.keyId;
    const logId =
      typeof keyId === 'string'
        ? Buffer.from(keyId, 'base64').toString('hex')
        : createHash('sha256')
            .update(key.export({ type: 'spki', format: 'der' }))
            .digest('hex');
    const item: CtLogKey = { logId, key };
    const v = validity(entry.publicKey?.validFor);
    if (v) item.validFor = v;
    out.push(item);
  }
  return out;
}

/** The certificate's notBefore. @internal */
export function notBefore(cert: X509Certificate): Date {
  return cert.validFromDate ?? new Date(cert.validFrom);
}

/** The certificate's notAfter. @internal */
export function notAfter(cert: X509Certificate): Date {
  return cert.validToDate ?? new Date(cert.validTo);
}

/** True when `time` lies within the certificate's validity period (bounds included). @public */
export function certificateValidAt(cert: X509Certificate, time: Date): boolean {
  return time >= notBefore(cert) && time <= notAfter(cert);
}

function within(v: { start?: Date; end?: Date } | undefined, time: Date): boolean {
  return !((v?.start && time < v.start) || (v?.end && time > v.end));
}

function checkCriticalExtensions(cert: X509Certificate, what: string): void {
  for (const e of parseTbs(cert).extensions) {
    if (e.critical && !HANDLED_CRITICAL.has(e.oid))
      fail(`${what} has an unhandled critical extension ${e.oid}`);
  }
}

/** Extended key usages, or undefined without the extension (= any usage, as in Go). */
function extKeyUsages(cert: X509Certificate): string[] | undefined {
  const ext = extension(cert, OID_EKU);
  if (!ext) return undefined;
  const seq = readTlv(ext.value, 0);
  return children(ext.value, seq)
    .filter((t) => t.tag === 0x06)
    .map((t) => decodeOid(ext.value.subarray(t.body, t.end)));
}

function allowsCodeSigning(cert: X509Certificate): boolean {
  const ekus = extKeyUsages(cert);
  return ekus === undefined || ekus.includes(EKU_CODE_SIGNING) || ekus.includes(EKU_ANY);
}

/** keyCertSign bit of KeyUsage (true without the extension). */
function mayCertSign(cert: X509Certificate): boolean {
  const ext = extension(cert, OID_KEY_USAGE);
  if (!ext) return true;
  const bits = readTlv(ext.value, 0);
  // BIT STRING: first content byte = unused bits; keyCertSign is bit 5 of the first byte.
  const first = ext.value[bits.body + 1];
  return bits.tag === 0x03 && first !== undefined && (first & 0x04) !== 0;
}

/** BasicConstraints pathLenConstraint, or undefined when unbounded. */
function pathLen(cert: X509Certificate): number | undefined {
  const ext = extension(cert, OID_BASIC_CONSTRAINTS);
  if (!ext) return undefined;
  const seq = readTlv(ext.value, 0);
  const int = children(ext.value, seq).find((t) => t.tag === 0x02);
  if (!int) return undefined;
  let n = 0;
  for (let i = int.body; i < int.end; i++) n = n * 256 + ext.value[i]!;
  return n;
}

/** Whether `issuer` issued `child`: name/AKI match, signature, CA constraints, validity at `at`. */
function issued(
  issuer: X509Certificate,
  child: X509Certificate,
  below: number,
  at: Date,
  budget: { checks: number },
): boolean {
  if (!child.checkIssued(issuer)) return false;
  if (!issuer.ca || !mayCertSign(issuer)) return false;
  if (!certificateValidAt(issuer, at)) return false;
  const max = pathLen(issuer);
  if (max !== undefined && below > max) return false;
  if (!allowsCodeSigning(issuer)) return false;
  if (++budget.checks > MAX_CHAIN_SIGNATURE_CHECKS)
    fail(`the certificate path search exceeded ${MAX_CHAIN_SIGNATURE_CHECKS} signature checks`);
  try {
    return child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** Options of {@link verifyCertificateChain}. @public */
export interface CertificateChainOptions {
  /** Trusted CAs; each one's last certificate is its trust anchor. */
  authorities: readonly CertificateAuthority[];
  /** Untrusted intermediates that may complete a path (e.g. the chain annotation's). */
  intermediates?: readonly X509Certificate[];
  /**
   * Time the chain must be valid at. If unset, the leaf's notBefore (what cosign and
   * sigstore-go use: the certificate was valid when issued).
   */
  at?: Date;
}

/**
 * Builds a path from `leaf` to the trust anchor (root) of one of the trusted CAs whose
 * `validFor` contains the verification time, through the CA's own intermediates and the
 * caller's untrusted ones, and verifies it: issuer names, signatures, CA basic
 * constraints and path lengths, keyCertSign, validity of every certificate at the
 * verification time, code-signing extended key usage (when present, as Go's x509 with
 * `ExtKeyUsageCodeSigning`), no unhandled critical extension. Self-signed certificates
 * among the untrusted intermediates are never used as anchors.
 * @returns the path, leaf first and the trust anchor last
 * @throws {@link CertificateError} when no such path exists
 * @public
 */
export function verifyCertificateChain(
  leaf: X509Certificate,
  options: CertificateChainOptions,
): X509Certificate[] {
  const at = options.at ?? notBefore(leaf);
  checkCriticalExtensions(leaf, 'the certificate');
  if (!allowsCodeSigning(leaf)) fail('the certificate is not valid for code signing (extended key usage)');
  if (!certificateValidAt(leaf, at)) fail(`the certificate is not valid at ${at.toISOString()}`);
  const cas = options.authorities.filter((ca) => within(ca.validFor, at));
  if (cas.length === 0) fail(`no trusted certificate authority is valid at ${at.toISOString()}`);
  const untrusted = (options.intermediates ?? []).filter((c) => c.issuer !== c.subject || !c.checkIssued(c));
  const budget = { checks: 0 };
  for (const ca of cas) {
    const anchor = ca.certificates[ca.certificates.length - 1]!;
    const pool = [...ca.certificates.slice(0, -1), ...untrusted];
    const search = (
      child: X509Certificate,
      below: number,
      path: X509Certificate[],
    ): X509Certificate[] | undefined => {
      if (issued(anchor, child, below, at, budget)) return [...path, anchor];
      if (path.length > MAX_CHAIN_DEPTH) return undefined;
      for (const next of pool) {
        if (path.some((p) => p.raw.equals(next.raw))) continue;
        if (!issued(next, child, below, at, budget)) continue;
        try {
          checkCriticalExtensions(next, 'an intermediate certificate');
        } catch {
          continue;
        }
        const found = search(next, below + 1, [...path, next]);
        if (found) return found;
      }
      return undefined;
    };
    const found = search(leaf, 0, [leaf]);
    if (found) return found;
  }
  return fail('the certificate does not chain to a trusted certificate authority');
}

function utf8(b: Buffer): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(b);
}

/**
 * The Fulcio OIDC issuer: extension `1.3.6.1.4.1.57264.1.8` (DER UTF8String), else the
 * deprecated `1.3.6.1.4.1.57264.1.1` (raw bytes); undefined when neither is present.
 * @public
 */
export function fulcioIssuer(cert: X509Certificate): string | undefined {
  const v2 = extension(cert, OID_FULCIO_ISSUER_V2);
  if (v2) {
    const t = readTlv(v2.value, 0);
    if (t.tag !== 0x0c) fail('the Fulcio issuer extension is not a UTF8String');
    return utf8(v2.value.subarray(t.body, t.end));
  }
  const v1 = extension(cert, OID_FULCIO_ISSUER_V1);
  return v1 ? utf8(v1.value) : undefined;
}

/**
 * The certificate's identity: its Subject Alternative Names (e-mail, URI, DNS, Fulcio
 * `otherName` username) and Fulcio OIDC issuer.
 * @public
 */
export function certificateIdentity(cert: X509Certificate): CertificateIdentityClaims {
  const names: string[] = [];
  const preferred: string[] = [];
  const ext = extension(cert, OID_SAN);
  if (ext) {
    const seq = readTlv(ext.value, 0);
    for (const g of children(ext.value, seq)) {
      const content = ext.value.subarray(g.body, g.end);
      if (g.tag === 0x81 || g.tag === 0x86) {
        names.push(content.toString('latin1'));
        preferred.push(content.toString('latin1'));
      } else if (g.tag === 0x82) names.push(content.toString('latin1'));
      else if (g.tag === 0xa0) {
        // otherName: OID, [0] EXPLICIT value (Fulcio: UTF8String username)
        const parts = children(ext.value, g);
        if (parts.length === 2 && parts[0]!.tag === 0x06) {
          const oid = decodeOid(ext.value.subarray(parts[0]!.body, parts[0]!.end));
          const inner = readTlv(ext.value, parts[1]!.body, parts[1]!.end);
          if (oid === OID_FULCIO_OTHERNAME && inner.tag === 0x0c)
            names.push(utf8(ext.value.subarray(inner.body, inner.end)));
        }
      }
    }
  }
  const out: CertificateIdentityClaims = { subjectAlternativeNames: names };
  const subject = preferred[0] ?? names[0];
  if (subject !== undefined) out.subject = subject;
  const issuer = fulcioIssuer(cert);
  if (issuer !== undefined) out.issuer = issuer;
  return out;
}

/**
 * Verifies the SCTs embedded in `leaf` (extension `1.3.6.1.4.1.11129.2.4.2`) as RFC
 * 6962 precertificate timestamps: each signs the issuer key hash and the leaf's TBS
 * without the SCT extension. Every embedded SCT must verify with a trusted CT log key
 * (by log ID) valid at the SCT's time.
 * @returns the log IDs (hex) of the verified SCTs; empty when the leaf has none
 * @throws {@link CertificateError} when an SCT does not verify or its log is not trusted
 * @public
 */
export function verifyEmbeddedScts(
  leaf: X509Certificate,
  issuer: X509Certificate,
  logs: readonly CtLogKey[],
): string[] {
  const tbs = parseTbs(leaf);
  const sctExt = tbs.extensions.find((e) => e.oid === OID_SCT_LIST);
  if (!sctExt) return [];
  const inner = readTlv(sctExt.value, 0);
  if (inner.tag !== 0x04) fail('malformed SCT extension');
  const list = sctExt.value.subarray(inner.body, inner.end);
  if (list.length < 2 || list.readUInt16BE(0) !== list.length - 2) fail('malformed SCT list');

  // The precertificate TBS: the leaf's TBS with the SCT extension removed, re-encoded.
  const der = tbs.der;
  const wrapper = tbs.fields[tbs.extIndex]!;
  const kept = tbs.extensions.filter((e) => e !== sctExt).map((e) => der.subarray(e.tlv.start, e.tlv.end));
  const fields = tbs.fields.map((f, i) => {
    if (i !== tbs.extIndex) return der.subarray(f.start, f.end);
    return kept.length > 0 ? encodeTlv(wrapper.tag, encodeTlv(0x30, Buffer.concat(kept))) : Buffer.alloc(0);
  });
  const preTbs = encodeTlv(0x30, Buffer.concat(fields));
  const issuerKeyHash = createHash('sha256')
    .update(issuer.publicKey.export({ type: 'spki', format: 'der' }))
    .digest();

  const verified: string[] = [];
  for (let at = 2; at < list.length; ) {
    if (at + 2 > list.length) fail('malformed SCT list');
    const len = list.readUInt16BE(at);
    const sct = list.subarray(at + 2, at + 2 + len);
    if (sct.length !== len) fail('malformed SCT list');
    at += 2 + len;
    if (sct.length < 47 || sct[0] !== 0) fail('unsupported SCT version');
    const logId = sct.subarray(1, 33).toString('hex');
    const timestamp = sct.subarray(33, 41);
    const extLen = sct.readUInt16BE(41);
    const exts = sct.subarray(43, 43 + extLen);
    let p = 43 + extLen;
    if (p + 4 > sct.length) fail('malformed SCT');
    const hashAlg = sct[p]!;
    const sigLen = sct.readUInt16BE(p + 2);
    const signature = sct.subarray(p + 4, p + 4 + sigLen);
    p += 4 + sigLen;
    if (signature.length !== sigLen || p !== sct.length) fail('malformed SCT');
    if (hashAlg !== 4) fail('unsupported SCT hash algorithm (sha256 expected)');
    const time = new Date(Number(timestamp.readBigUInt64BE(0)));
    const lenTbs = Buffer.alloc(3);
    lenTbs.writeUIntBE(preTbs.length, 0, 3);
    const lenExt = Buffer.alloc(2);
    lenExt.writeUInt16BE(exts.length, 0);
    const signed = Buffer.concat([
      Buffer.from([0, 0]), // sct_version v1, signature_type certificate_timestamp
      timestamp,
      Buffer.from([0, 1]), // entry_type precert_entry
      issuerKeyHash,
      lenTbs,
      preTbs,
      lenExt,
      exts,
    ]);
    const log = logs.find((l) => l.logId === logId && within(l.validFor, time));
    if (!log) fail(`no trusted CT log key with log ID ${logId} valid at ${time.toISOString()}`);
    let ok = false;
    try {
      ok = cryptoVerify('sha256', signed, log.key, signature);
    } catch {
      ok = false;
    }
    if (!ok) fail(`the SCT of CT log ${logId} does not verify`);
    verified.push(logId);
  }
  return verified;
}
