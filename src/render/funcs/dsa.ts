/**
 * DSA keys for sprig's `genPrivateKey "dsa"`: L=2048, N=256 parameters and key from
 * node:crypto, written in sprig's "DSA PRIVATE KEY" form (the OpenSSL
 * `SEQUENCE { 0, p, q, g, y, x }` layout Go's asn1.Marshal(DSAKeyFormat) produces).
 * @internal
 */
import { generateKeyPairSync } from 'node:crypto';
import { encodePem } from '../../internal/encoding/pem.js';

function readLen(der: Uint8Array, i: number): [number, number] {
  let l = der[i]!;
  let h = 1;
  if (l & 0x80) {
    const n = l & 0x7f;
    l = 0;
    for (let k = 0; k < n; k++) l = l * 256 + der[i + 1 + k]!;
    h += n;
  }
  return [l, h];
}
function kids(der: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < der.length; ) {
    const [l, h] = readLen(der, i + 1);
    out.push(der.subarray(i, i + 1 + h + l));
    i += 1 + h + l;
  }
  return out;
}
const body = (tlv: Uint8Array): Uint8Array => {
  const [l, h] = readLen(tlv, 1);
  return tlv.subarray(1 + h, 1 + h + l);
};
const toBig = (intTlv: Uint8Array): bigint => BigInt(`0x${Buffer.from(body(intTlv)).toString('hex') || '0'}`);

function modPow(b0: bigint, e0: bigint, m: bigint): bigint {
  let r = 1n;
  let b = b0 % m;
  let e = e0;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

function derLen(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) out.unshift(x & 0xff);
  return [0x80 | out.length, ...out];
}
function derInt(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let b = Buffer.from(hex, 'hex');
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return Uint8Array.from([0x02, ...derLen(b.length), ...b]);
}

export function generateDsaPem(): string {
  const { privateKey } = generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 });
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  // PrivateKeyInfo { version, AlgorithmIdentifier { oid, Dss-Parms { p, q, g } }, OCTET STRING { INTEGER x } }
  const [, alg, octet] = kids(body(pkcs8));
  const [, params] = kids(body(alg!));
  const [p, q, g] = kids(body(params!)).map(toBig) as [bigint, bigint, bigint];
  const x = toBig(kids(body(octet!))[0]!);
  const y = modPow(g, x, p);
  const content = Buffer.concat([derInt(0n), derInt(p), derInt(q), derInt(g), derInt(y), derInt(x)]);
  const der = Buffer.concat([Buffer.from([0x30, ...derLen(content.length)]), content]);
  return encodePem('DSA PRIVATE KEY', der);
}
