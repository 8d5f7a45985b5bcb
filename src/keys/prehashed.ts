/**
 * Signature verification over a known digest (message-signature bundles without the
 * artifact): node:crypto cannot verify a pre-hashed ECDSA signature, so this does the
 * ECDSA arithmetic with bigint (public data only, so constant time does not matter).
 * RSA PKCS#1 v1.5 uses publicDecrypt and compares the DigestInfo.
 */
import { createECDH, constants as cryptoConstants, type KeyObject, publicDecrypt } from 'node:crypto';

const CURVES: Record<string, { p: bigint; n: bigint }> = {
  prime256v1: {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  secp384r1: {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  secp521r1: {
    p: (1n << 521n) - 1n,
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
};

const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** Whether `signature` by `key` (ECDSA P-256/384/521 or RSA PKCS#1 v1.5) is over the sha256 `digest`. */
export function verifyPrehashed(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  try {
    if (key.asymmetricKeyType === 'ec') return verifyEcdsaPrehashed(key, digest, signature);
    if (key.asymmetricKeyType === 'rsa') {
      const info = publicDecrypt({ key, padding: cryptoConstants.RSA_PKCS1_PADDING }, signature);
      return info.equals(Buffer.concat([SHA256_DIGEST_INFO, digest]));
    }
  } catch {
    return false;
  }
  return false;
}

type Point = { x: bigint; y: bigint } | null;

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

function add(P: Point, Q: Point, p: bigint): Point {
  if (!P) return Q;
  if (!Q) return P;
  let l: bigint;
  if (P.x === Q.x) {
    if (mod(P.y + Q.y, p) === 0n) return null;
    l = mod((3n * P.x * P.x - 3n) * inverse(2n * P.y, p), p); // a = -3 on the NIST curves
  } else {
    l = mod((Q.y - P.y) * inverse(Q.x - P.x, p), p);
  }
  const x = mod(l * l - P.x - Q.x, p);
  return { x, y: mod(l * (P.x - x) - P.y, p) };
}

function multiply(k: bigint, P: Point, p: bigint): Point {
  let result: Point = null;
  let addend = P;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(result, addend, p);
    addend = add(addend, addend, p);
  }
  return result;
}

function toBigInt(b: Buffer): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${b.toString('hex')}`);
}

function verifyEcdsaPrehashed(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const curveName = key.asymmetricKeyDetails?.namedCurve ?? '';
  const curve = CURVES[curveName];
  if (!curve) return false;
  const { p, n } = curve;
  const rs = parseDerSignature(signature);
  if (!rs) return false;
  const [r, s] = rs;
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  const jwk = key.export({ format: 'jwk' });
  const Q: Point = {
    x: toBigInt(Buffer.from(jwk.x ?? '', 'base64url')),
    y: toBigInt(Buffer.from(jwk.y ?? '', 'base64url')),
  };
  // The generator is the public key of the private scalar 1.
  const bytes = (p.toString(16).length + 1) >> 1;
  const ecdh = createECDH(curveName);
  ecdh.setPrivateKey(Buffer.from(`${'0'.repeat(bytes * 2 - 1)}1`, 'hex'));
  const g = ecdh.getPublicKey();
  const G: Point = { x: toBigInt(g.subarray(1, 1 + bytes)), y: toBigInt(g.subarray(1 + bytes)) };
  let z = toBigInt(digest);
  const excess = digest.length * 8 - n.toString(2).length;
  if (excess > 0) z >>= BigInt(excess);
  const w = inverse(s, n);
  const X = add(multiply(mod(z * w, n), G, p), multiply(mod(r * w, n), Q, p), p);
  return X !== null && mod(X.x, n) === r;
}

/** ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (short DER lengths only beyond 127 for P-521). */
function parseDerSignature(sig: Buffer): [bigint, bigint] | undefined {
  let i = 0;
  const readLen = (): number | undefined => {
    const first = sig[i++];
    if (first === undefined) return undefined;
    if (first < 0x80) return first;
    if (first === 0x81) return sig[i++];
    return undefined;
  };
  if (sig[i++] !== 0x30) return undefined;
  const seqLen = readLen();
  if (seqLen === undefined || i + seqLen !== sig.length) return undefined;
  const ints: bigint[] = [];
  for (let k = 0; k < 2; k++) {
    if (sig[i++] !== 0x02) return undefined;
    const len = readLen();
    if (len === undefined || len === 0 || i + len > sig.length) return undefined;
    ints.push(toBigInt(sig.subarray(i, i + len)));
    i += len;
  }
  return i === sig.length ? [ints[0]!, ints[1]!] : undefined;
}
