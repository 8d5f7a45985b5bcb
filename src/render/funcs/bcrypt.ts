/**
 * bcrypt as golang.org/x/crypto/bcrypt's GenerateFromPassword writes it (`$2a$`, cost
 * 10, random 16-byte salt), for sprig's `bcrypt` and `htpasswd`. The Blowfish tables
 * are the hexadecimal digits of π, computed once on first use.
 * @internal
 */
import { randomBytes } from 'node:crypto';

const BC_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const STD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function bcEncode(b: Uint8Array): string {
  const std = Buffer.from(b).toString('base64').replace(/=+$/, '');
  let out = '';
  for (const c of std) out += BC_ALPHABET[STD_ALPHABET.indexOf(c)];
  return out;
}
function bcDecode(s: string): Uint8Array {
  let std = '';
  for (const c of s) {
    const i = BC_ALPHABET.indexOf(c);
    if (i < 0) throw new Error('bcrypt: invalid salt');
    std += STD_ALPHABET[i];
  }
  return Buffer.from(std, 'base64');
}

interface Tables {
  p: Uint32Array;
  s: Uint32Array; // 4 × 256
}
let pi: Uint32Array | undefined;

/** The first 1042 32-bit words of π's fractional part (Blowfish's P-array and S-boxes). */
function piWords(): Uint32Array {
  if (pi) return pi;
  const words = 18 + 1024;
  const bits = BigInt(words * 32 + 64);
  const one = 1n << bits;
  const atanInv = (x: bigint): bigint => {
    let term = one / x;
    let sum = term;
    const x2 = x * x;
    for (let k = 1n; term !== 0n; k++) {
      term /= x2;
      const t = term / (2n * k + 1n);
      sum += k % 2n === 1n ? -t : t;
    }
    return sum;
  };
  const value = 16n * atanInv(5n) - 4n * atanInv(239n);
  const frac = (value - 3n * one) >> 64n;
  const hex = frac.toString(16).padStart(words * 8, '0');
  pi = new Uint32Array(words);
  for (let i = 0; i < words; i++) pi[i] = Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16);
  return pi;
}

function initTables(): Tables {
  const w = piWords();
  return { p: w.slice(0, 18), s: w.slice(18) };
}

function encryptBlock(t: Tables, l0: number, r0: number): [number, number] {
  const { p, s } = t;
  let xl = l0 >>> 0;
  let xr = r0 >>> 0;
  xl ^= p[0]!;
  for (let i = 1; i <= 16; i += 2) {
    xr ^=
      ((((s[xl >>> 24]! + s[256 + ((xl >>> 16) & 0xff)]!) >>> 0) ^ s[512 + ((xl >>> 8) & 0xff)]!) +
        s[768 + (xl & 0xff)]!) ^
      p[i]!;
    xr >>>= 0;
    xl ^=
      ((((s[xr >>> 24]! + s[256 + ((xr >>> 16) & 0xff)]!) >>> 0) ^ s[512 + ((xr >>> 8) & 0xff)]!) +
        s[768 + (xr & 0xff)]!) ^
      p[i + 1]!;
    xl >>>= 0;
  }
  xr ^= p[17]!;
  return [xr >>> 0, xl >>> 0];
}

function nextWord(b: Uint8Array, j: { v: number }): number {
  let w = 0;
  for (let k = 0; k < 4; k++) {
    w = ((w << 8) | b[j.v]!) >>> 0;
    j.v = (j.v + 1) % b.length;
  }
  return w;
}

function expandKey(t: Tables, key: Uint8Array, salt?: Uint8Array): void {
  const j = { v: 0 };
  for (let i = 0; i < 18; i++) t.p[i] = (t.p[i]! ^ nextWord(key, j)) >>> 0;
  const sj = { v: 0 };
  let l = 0;
  let r = 0;
  const fill = (arr: Uint32Array, start: number, n: number): void => {
    for (let i = 0; i < n; i += 2) {
      if (salt) {
        l ^= nextWord(salt, sj);
        r ^= nextWord(salt, sj);
      }
      [l, r] = encryptBlock(t, l, r);
      arr[start + i] = l;
      arr[start + i + 1] = r;
    }
  };
  fill(t.p, 0, 18);
  fill(t.s, 0, 1024);
}

/** bcrypt hash of `password` with a 16-byte salt (Go's bcrypt(), version 2a). */
export function bcryptHash(password: Uint8Array, cost: number, salt: Uint8Array): string {
  if (password.length > 72) throw new Error('bcrypt: password length exceeds 72 bytes');
  const key = new Uint8Array(password.length + 1);
  key.set(password);
  const t = initTables();
  expandKey(t, key, salt);
  const rounds = 2 ** cost;
  for (let i = 0; i < rounds; i++) {
    expandKey(t, key);
    expandKey(t, salt);
  }
  const data = Buffer.from('OrpheanBeholderScryDoubt');
  for (let i = 0; i < 24; i += 8) {
    let l = data.readUInt32BE(i);
    let r = data.readUInt32BE(i + 4);
    for (let k = 0; k < 64; k++) [l, r] = encryptBlock(t, l, r);
    data.writeUInt32BE(l, i);
    data.writeUInt32BE(r, i + 4);
  }
  return `$2a$${String(cost).padStart(2, '0')}$${bcEncode(salt)}${bcEncode(data.subarray(0, 23))}`;
}

/** Salt bytes of an encoded bcrypt hash (for verifying known hashes). */
export function bcryptSalt(hash: string): Uint8Array {
  return bcDecode(hash.slice(7, 29));
}

/** sprig `bcrypt`: GenerateFromPassword(input, DefaultCost = 10). */
export function sprigBcrypt(input: string): string {
  try {
    return bcryptHash(Buffer.from(input, 'utf8'), 10, randomBytes(16));
  } catch (e) {
    return `failed to encrypt string with bcrypt: ${(e as Error).message}`;
  }
}
