/**
 * Sprig's certificate functions (genCA, genSelfSignedCert, genSignedCert, their
 * `WithKey` forms, buildCustomCert) producing real X.509 v3 certificates with the
 * fields and extensions Go's x509.CreateCertificate writes for sprig's templates.
 * Output is random (keys, serials, times) like Helm's, so only its shape can match.
 * @internal
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { isIP } from 'node:net';
import { encodePem } from '../../internal/encoding/pem.js';
import { sprint } from '../template/fmt.js';
import { type FuncMap, GoStruct, type GoValue, goFunc } from '../template/value.js';
import { goBase64Decode } from './strings.js';
import { fromUtf8, goTypeName, num } from './util.js';

// ---------------------------------------------------------------- DER

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) out.unshift(x & 0xff);
  return [0x80 | out.length, ...out];
}
function tlv(tag: number, body: Uint8Array | number[]): Uint8Array {
  const b = body instanceof Uint8Array ? body : Uint8Array.from(body);
  return Uint8Array.from([tag, ...len(b.length), ...b]);
}
const cat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);
const seq = (...parts: Uint8Array[]): Uint8Array => tlv(0x30, cat(...parts));
const set = (...parts: Uint8Array[]): Uint8Array => tlv(0x31, cat(...parts));
function int(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}
function oid(s: string): Uint8Array {
  const p = s.split('.').map(Number);
  const out = [40 * p[0]! + p[1]!];
  for (const x of p.slice(2)) {
    const b: number[] = [];
    let v = x;
    do {
      b.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < b.length - 1; i++) b[i]! |= 0x80;
    out.push(...b);
  }
  return tlv(0x06, out);
}
const bool = (b: boolean): Uint8Array => tlv(0x01, [b ? 0xff : 0]);
const octets = (b: Uint8Array): Uint8Array => tlv(0x04, b);
const bits = (b: Uint8Array, unused = 0): Uint8Array => tlv(0x03, [unused, ...b]);
const NULL = Uint8Array.from([0x05, 0x00]);

function isPrintable(s: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?*&]*$/.test(s);
}
/** pkix.Name{CommonName: cn}.ToRDNSequence(). */
function nameCN(cn: string): Uint8Array {
  if (cn === '') return seq();
  const value = isPrintable(cn) ? tlv(0x13, Buffer.from(cn)) : tlv(0x0c, Buffer.from(cn, 'utf8'));
  return seq(set(seq(oid('2.5.4.3'), value)));
}
function time(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  const p = (n: number): string => String(n).padStart(2, '0');
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(0x17, Buffer.from(`${p(y % 100)}${rest}`));
  return tlv(0x18, Buffer.from(`${String(y).padStart(4, '0')}${rest}`));
}

/** Minimal DER reader: children of a constructed value. */
function children(der: Uint8Array): { tag: number; start: number; end: number; body: Uint8Array }[] {
  const out: { tag: number; start: number; end: number; body: Uint8Array }[] = [];
  let i = 0;
  while (i < der.length) {
    const tag = der[i]!;
    let l = der[i + 1]!;
    let h = 2;
    if (l & 0x80) {
      const n = l & 0x7f;
      l = 0;
      for (let k = 0; k < n; k++) l = l * 256 + der[i + 2 + k]!;
      h = 2 + n;
    }
    out.push({ tag, start: i, end: i + h + l, body: der.subarray(i + h, i + h + l) });
    i += h + l;
  }
  return out;
}

// ---------------------------------------------------------------- certificates

interface Signer {
  key: AnyKey;
  subject: Uint8Array;
  subjectKeyId?: Uint8Array;
}

function sigAlg(key: KeyObject): { alg: Uint8Array; hash: string | null } {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { alg: seq(oid('1.2.840.113549.1.1.11'), NULL), hash: 'sha256' };
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'secp384r1') return { alg: seq(oid('1.2.840.10045.4.3.3')), hash: 'sha384' };
      if (curve === 'secp521r1') return { alg: seq(oid('1.2.840.10045.4.3.4')), hash: 'sha512' };
      return { alg: seq(oid('1.2.840.10045.4.3.2')), hash: 'sha256' };
    }
    case 'ed25519':
      return { alg: seq(oid('1.3.101.112')), hash: null };
  }
  throw new Error(`error creating certificate: x509: unsupported key type ${key.asymmetricKeyType}`);
}

function ipBytes(ip: string): Uint8Array | undefined {
  const v = isIP(ip);
  if (v === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (v !== 6) return undefined;
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const parse = (s: string | undefined): number[] => {
    if (!s) return [];
    return s.split(':').flatMap((g) => {
      if (g.includes('.')) {
        const v4 = ipBytes(g) ?? new Uint8Array(4);
        return [v4[0]! * 256 + v4[1]!, v4[2]! * 256 + v4[3]!];
      }
      return [Number.parseInt(g, 16)];
    });
  };
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  // Go writes IPv4-mapped addresses as 4 bytes (ip.To4()).
  if (out.subarray(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff)
    return out.subarray(12);
  return out;
}

function strings(list: GoValue, what: 'ip' | 'dns'): string[] {
  if (list === null) return [];
  const arr = Array.isArray(list) ? list : [];
  return arr.map((x) => {
    if (typeof x !== 'string') {
      throw new Error(
        what === 'ip'
          ? `error parsing ip: ${sprint([x])} is not a string`
          : `error processing alternate dns name: ${sprint([x])} is not a string`,
      );
    }
    return x;
  });
}

interface Template {
  cn: string;
  ips: Uint8Array[];
  dns: string[];
  days: number;
  isCA: boolean;
}

function baseTemplate(cn: string, ipsV: GoValue, dnsV: GoValue, days: number): Template {
  const ips = strings(ipsV, 'ip').map((s) => {
    const b = ipBytes(s);
    if (!b) throw new Error(`error parsing ip: ${s}`);
    return b;
  });
  return { cn, ips, dns: strings(dnsV, 'dns'), days, isCA: false };
}

function createCertificate(
  t: Template,
  subjectKey0: AnyKey,
  signer: Signer | 'self',
): { cert: string; skid?: Uint8Array } {
  const signingKey0 = signer === 'self' ? subjectKey0 : signer.key;
  if (signingKey0 instanceof DsaKey) {
    throw new Error(
      'error creating certificate: x509: certificate private key does not implement crypto.Signer',
    );
  }
  if (subjectKey0 instanceof DsaKey) {
    throw new Error('error creating certificate: x509: unsupported public key type: *dsa.PublicKey');
  }
  const subjectKey = subjectKey0;
  const pub = createPublicKeyDer(subjectKey);
  const spkiBits = children(children(pub)[0]!.body)[1]!.body.subarray(1);
  const subject = nameCN(t.cn);
  const issuer = signer === 'self' ? subject : signer.subject;
  const signingKey = signingKey0;
  const { alg, hash } = sigAlg(signingKey);
  const serial = BigInt(`0x${randomBytes(16).toString('hex')}`);
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const notAfter = new Date(now.getTime() + t.days * 86400_000);
  const ext: Uint8Array[] = [];
  const extension = (id: string, critical: boolean, value: Uint8Array): void => {
    ext.push(seq(oid(id), ...(critical ? [bool(true)] : []), octets(value)));
  };
  // KeyUsage: digitalSignature | keyEncipherment (| keyCertSign for CAs).
  extension('2.5.29.15', true, t.isCA ? bits(Uint8Array.from([0xa4]), 2) : bits(Uint8Array.from([0xa0]), 5));
  extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2')));
  extension('2.5.29.19', true, t.isCA ? seq(bool(true)) : seq());
  let skid: Uint8Array | undefined;
  if (t.isCA) {
    // Go 1.25+: the first 160 bits of SHA-256 over the public key bits (RFC 7093).
    skid = createHash('sha256').update(spkiBits).digest().subarray(0, 20);
    extension('2.5.29.14', false, octets(skid));
  }
  const sameName = Buffer.compare(Buffer.from(issuer), Buffer.from(subject)) === 0;
  if (signer !== 'self' && !sameName && signer.subjectKeyId) {
    extension('2.5.29.35', false, seq(tlv(0x80, signer.subjectKeyId)));
  }
  if (t.dns.length > 0 || t.ips.length > 0) {
    extension(
      '2.5.29.17',
      false,
      seq(...t.dns.map((d) => tlv(0x82, Buffer.from(d))), ...t.ips.map((ip) => tlv(0x87, ip))),
    );
  }
  const tbs = seq(
    tlv(0xa0, int(2n)),
    int(serial),
    alg,
    issuer,
    seq(time(now), time(notAfter)),
    subject,
    pub,
    tlv(0xa3, seq(...ext)),
  );
  const signature = sign(hash, tbs, signingKey);
  const der = seq(tbs, alg, bits(signature));
  return { cert: pem('CERTIFICATE', der), skid };
}

function createPublicKeyDer(key: KeyObject): Uint8Array {
  return createPublicKey(key).export({ type: 'spki', format: 'der' });
}

function pem(type: string, der: Uint8Array): string {
  return encodePem(type, der);
}

/** sprig pemBlockForKey. */
function keyPem(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return key.export({ type: 'pkcs1', format: 'pem' }) as string;
    case 'ec':
      return key.export({ type: 'sec1', format: 'pem' }) as string;
    default:
      return key.export({ type: 'pkcs8', format: 'pem' }) as string;
  }
}

/** A parsed "DSA PRIVATE KEY": Go can parse it but x509 cannot use it. */
class DsaKey {}
type AnyKey = KeyObject | DsaKey;

/** sprig parsePrivateKeyPEM (error texts approximate Go's for the common cases). */
function parsePrivateKeyPEM(text: string): AnyKey {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text);
  if (!m) throw new Error('no PEM data in input');
  const type = m[1]!;
  if (type !== 'PRIVATE KEY' && !type.endsWith(' PRIVATE KEY')) {
    throw new Error(`no private key data in PEM block of type ${type}`);
  }
  if (type === 'DSA PRIVATE KEY') return new DsaKey();
  if (!['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'].includes(type)) {
    throw new Error(`invalid private key type ${type}`);
  }
  try {
    return createPrivateKey(text);
  } catch (e) {
    const what =
      type === 'PRIVATE KEY'
        ? 'decoding PEM as PKCS#8'
        : `parsing ${type.split(' ')[0]} private key from PEM`;
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}

/** sprig's `certificate` struct. */
export class Certificate extends GoStruct {
  constructor(
    readonly cert: string,
    readonly key: string,
  ) {
    super('sprig.certificate', [
      ['Cert', cert],
      ['Key', key],
    ]);
  }
}

function rsaKey(): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

function asCertificate(v: GoValue): Certificate {
  if (v instanceof Certificate) return v;
  throw new Error(`wrong type for value; expected sprig.certificate; got ${goTypeName(v)}`);
}

function signerFrom(ca: Certificate): Signer {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(ca.cert);
  if (!m) throw new Error('unable to decode certificate');
  let x: X509Certificate;
  try {
    x = new X509Certificate(m[0]);
  } catch (e) {
    throw new Error(`error parsing certificate: decodedSignerCert.Bytes: ${(e as Error).message}`);
  }
  let key: AnyKey;
  try {
    key = parsePrivateKeyPEM(ca.key);
  } catch (e) {
    throw new Error(`error parsing private key: ${(e as Error).message}`);
  }
  const tbs = children(children(x.raw)[0]!.body)[0]!.body;
  const fields = children(tbs);
  const off = fields[0]!.tag === 0xa0 ? 1 : 0;
  const subjectField = fields[off + 4]!;
  const subject = tbs.subarray(subjectField.start, subjectField.end);
  let subjectKeyId: Uint8Array | undefined;
  const extField = fields.find((f) => f.tag === 0xa3);
  if (extField) {
    for (const e of children(children(extField.body)[0]!.body)) {
      const parts = children(e.body);
      const id = Buffer.from(parts[0]!.body).toString('hex');
      if (id === '551d0e') subjectKeyId = children(parts[parts.length - 1]!.body)[0]!.body;
    }
  }
  return { key, subject, subjectKeyId };
}

function makeCert(t: Template, key: AnyKey, signer: Signer | 'self'): Certificate {
  const { cert } = createCertificate(t, key, signer);
  return new Certificate(cert, keyPem(key as KeyObject));
}

function withKey(pemText: string): AnyKey {
  try {
    return parsePrivateKeyPEM(pemText);
  } catch (e) {
    throw new Error(`parsing private key: ${(e as Error).message}`);
  }
}

export function certFuncs(): FuncMap {
  const S = 'string' as const;
  const L = 'slice' as const;
  const CERT = { kind: 'any', name: 'sprig.certificate' } as const;
  const ca = (cn: string, days: number, key: AnyKey): Certificate => {
    const t = baseTemplate(cn, null, null, days);
    t.isCA = true;
    return makeCert(t, key, 'self');
  };
  return {
    genCA: goFunc([S, 'int'], ([cn, d]) => ca(cn as string, num(d!), rsaKey())),
    genCAWithKey: goFunc([S, 'int', S], ([cn, d, k]) => ca(cn as string, num(d!), withKey(k as string))),
    genSelfSignedCert: goFunc([S, L, L, 'int'], ([cn, ips, dns, d]) =>
      makeCert(baseTemplate(cn as string, ips!, dns!, num(d!)), rsaKey(), 'self'),
    ),
    genSelfSignedCertWithKey: goFunc([S, L, L, 'int', S], ([cn, ips, dns, d, k]) =>
      makeCert(baseTemplate(cn as string, ips!, dns!, num(d!)), withKey(k as string), 'self'),
    ),
    genSignedCert: goFunc([S, L, L, 'int', CERT], ([cn, ips, dns, d, c]) => {
      const signer = signerFrom(asCertificate(c!));
      return makeCert(baseTemplate(cn as string, ips!, dns!, num(d!)), rsaKey(), signer);
    }),
    genSignedCertWithKey: goFunc([S, L, L, 'int', CERT, S], ([cn, ips, dns, d, c, k]) => {
      const signer = signerFrom(asCertificate(c!));
      return makeCert(baseTemplate(cn as string, ips!, dns!, num(d!)), withKey(k as string), signer);
    }),
    buildCustomCert: goFunc([S, S], ([b64cert, b64key]) => {
      const cert = goBase64Decode(b64cert as string);
      if (typeof cert === 'string') throw new Error('unable to decode base64 certificate');
      const key = goBase64Decode(b64key as string);
      if (typeof key === 'string') throw new Error('unable to decode base64 private key');
      const certText = fromUtf8(cert);
      const m = /-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/.exec(certText);
      if (!m) throw new Error('unable to decode certificate');
      try {
        new X509Certificate(m[0]);
      } catch (e) {
        throw new Error(`error parsing certificate: decodedCert.Bytes: ${(e as Error).message}`);
      }
      try {
        parsePrivateKeyPEM(fromUtf8(key));
      } catch (e) {
        throw new Error(`error parsing private key: ${(e as Error).message}`);
      }
      return new Certificate(certText, fromUtf8(key));
    }),
  };
}
