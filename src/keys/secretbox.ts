/**
 * NaCl `crypto_secretbox` (XSalsa20-Poly1305), the cipher of cosign's encrypted
 * private keys. node:crypto has ChaCha20-Poly1305 but not XSalsa20, so the three
 * primitives are written out here: HSalsa20 (subkey derivation), the Salsa20 stream
 * and the Poly1305 one-time authenticator.
 *
 * Layout (NaCl, tweetnacl, Go `x/crypto/nacl/secretbox`): `box = tag(16) || ciphertext`.
 * The first 32 bytes of the XSalsa20 keystream are the Poly1305 key; the message is
 * XORed with the keystream from byte 32 on.
 *
 * References: https://cr.yp.to/highspeed/naclcrypto-20090310.pdf,
 * https://cr.yp.to/snuffle/xsalsa-20110204.pdf, RFC 8439 section 2.5 (Poly1305).
 */
import { timingSafeEqual } from 'node:crypto';
import { ChartproofError } from '../errors.js';

/** Key length of {@link secretboxSeal}. @internal */
export const SECRETBOX_KEY_BYTES = 32;
/** Nonce length of {@link secretboxSeal}. @internal */
export const SECRETBOX_NONCE_BYTES = 24;
/** Bytes a box is longer than its message (the Poly1305 tag). @internal */
export const SECRETBOX_TAG_BYTES = 16;

// "expand 32-byte k", little-endian words.
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const;

/**
 * Encrypts and authenticates `message`; returns `tag || ciphertext`
 * (`message.length + 16` bytes).
 * @throws {@link ChartproofError} `INVALID_ARGUMENT` when key or nonce have the wrong length.
 * @internal
 */
export function secretboxSeal(message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  const { subkey, streamNonce } = xsalsaSetup(nonce, key);
  const out = new Uint8Array(SECRETBOX_TAG_BYTES + message.length);
  const polyKey = salsa20Xor(subkey, streamNonce, new Uint8Array(32), message, out, SECRETBOX_TAG_BYTES);
  out.set(poly1305(out.subarray(SECRETBOX_TAG_BYTES), polyKey), 0);
  subkey.fill(0);
  polyKey.fill(0);
  return out;
}

/**
 * Authenticates and decrypts a box made by {@link secretboxSeal}. Returns `undefined`
 * when the box is too short or the tag does not match (wrong key, tampered data);
 * the tag is compared in constant time and nothing is decrypted before it is checked.
 * @throws {@link ChartproofError} `INVALID_ARGUMENT` when key or nonce have the wrong length.
 * @internal
 */
export function secretboxOpen(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | undefined {
  const { subkey, streamNonce } = xsalsaSetup(nonce, key);
  try {
    if (box.length < SECRETBOX_TAG_BYTES) return undefined;
    const tag = box.subarray(0, SECRETBOX_TAG_BYTES);
    const ciphertext = box.subarray(SECRETBOX_TAG_BYTES);
    const polyKey = salsa20Block(subkey, streamNonce, 0).subarray(0, 32);
    const expected = poly1305(ciphertext, polyKey);
    polyKey.fill(0);
    if (!timingSafeEqual(expected, tag)) return undefined;
    const out = new Uint8Array(ciphertext.length);
    salsa20Xor(subkey, streamNonce, new Uint8Array(32), ciphertext, out, 0).fill(0);
    return out;
  } finally {
    subkey.fill(0);
  }
}

function xsalsaSetup(nonce: Uint8Array, key: Uint8Array): { subkey: Uint8Array; streamNonce: Uint8Array } {
  if (key.length !== SECRETBOX_KEY_BYTES) {
    throw new ChartproofError('INVALID_ARGUMENT', `secretbox key must be 32 bytes, got ${key.length}`);
  }
  if (nonce.length !== SECRETBOX_NONCE_BYTES) {
    throw new ChartproofError('INVALID_ARGUMENT', `secretbox nonce must be 24 bytes, got ${nonce.length}`);
  }
  return { subkey: hsalsa20(key, nonce.subarray(0, 16)), streamNonce: nonce.subarray(16, 24) };
}

// ---------------------------------------------------------------------------------
// Salsa20

function load32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

function store32(b: Uint8Array, i: number, v: number): void {
  b[i] = v & 0xff;
  b[i + 1] = (v >>> 8) & 0xff;
  b[i + 2] = (v >>> 16) & 0xff;
  b[i + 3] = (v >>> 24) & 0xff;
}

function rotl(v: number, n: number): number {
  return (v << n) | (v >>> (32 - n));
}

/** The Salsa20 quarter-round on words a, b, c, d of `x`. */
function quarter(x: Uint32Array, a: number, b: number, c: number, d: number): void {
  x[b] ^= rotl(x[a] + x[d], 7);
  x[c] ^= rotl(x[b] + x[a], 9);
  x[d] ^= rotl(x[c] + x[b], 13);
  x[a] ^= rotl(x[d] + x[c], 18);
}

/** 20 rounds (10 column rounds + 10 row rounds) on the state, in place. */
function salsaRounds(x: Uint32Array): void {
  for (let i = 0; i < 10; i++) {
    quarter(x, 0, 4, 8, 12);
    quarter(x, 5, 9, 13, 1);
    quarter(x, 10, 14, 2, 6);
    quarter(x, 15, 3, 7, 11);
    quarter(x, 0, 1, 2, 3);
    quarter(x, 5, 6, 7, 4);
    quarter(x, 10, 11, 8, 9);
    quarter(x, 15, 12, 13, 14);
  }
}

/** The initial state: constants, 32-byte key, 16 bytes of input (nonce and counter). */
function initialState(key: Uint8Array, input: Uint8Array): Uint32Array {
  const s = new Uint32Array(16);
  s[0] = SIGMA[0];
  s[5] = SIGMA[1];
  s[10] = SIGMA[2];
  s[15] = SIGMA[3];
  for (let i = 0; i < 4; i++) {
    s[1 + i] = load32(key, 4 * i);
    s[11 + i] = load32(key, 16 + 4 * i);
    s[6 + i] = load32(input, 4 * i);
  }
  return s;
}

/** HSalsa20: derives the XSalsa20 subkey from the key and the first 16 nonce bytes. */
function hsalsa20(key: Uint8Array, input: Uint8Array): Uint8Array {
  const x = initialState(key, input);
  salsaRounds(x);
  const out = new Uint8Array(32);
  const words = [0, 5, 10, 15, 6, 7, 8, 9];
  for (let i = 0; i < words.length; i++) store32(out, 4 * i, x[words[i]!]!);
  x.fill(0);
  return out;
}

/** One 64-byte Salsa20 keystream block for an 8-byte nonce and block counter. */
function salsa20Block(key: Uint8Array, nonce8: Uint8Array, counter: number): Uint8Array {
  const input = new Uint8Array(16);
  input.set(nonce8, 0);
  store32(input, 8, counter >>> 0);
  store32(input, 12, Math.floor(counter / 0x100000000) >>> 0);
  const s = initialState(key, input);
  const x = s.slice();
  salsaRounds(x);
  const out = new Uint8Array(64);
  for (let i = 0; i < 16; i++) store32(out, 4 * i, (x[i] + s[i]) >>> 0);
  x.fill(0);
  s.fill(0);
  return out;
}

/**
 * XORs the keystream into `prefix || data`, where the first 32 keystream bytes go to
 * `prefix` (all zeros: they become the Poly1305 key, returned) and the rest encrypt
 * `data` into `out` at `outOffset`.
 */
function salsa20Xor(
  key: Uint8Array,
  nonce8: Uint8Array,
  prefix: Uint8Array,
  data: Uint8Array,
  out: Uint8Array,
  outOffset: number,
): Uint8Array {
  const total = prefix.length + data.length;
  const polyKey = new Uint8Array(prefix.length);
  for (let pos = 0, counter = 0; pos < total; counter++) {
    const block = salsa20Block(key, nonce8, counter);
    for (let j = 0; j < 64 && pos < total; j++, pos++) {
      if (pos < prefix.length) polyKey[pos] = prefix[pos] ^ block[j];
      else out[outOffset + pos - prefix.length] = data[pos - prefix.length] ^ block[j];
    }
    block.fill(0);
  }
  return polyKey;
}

// ---------------------------------------------------------------------------------
// Poly1305, with ten 13-bit limbs so every product and sum stays exact in a double
// (limb < 2^14, r-limb * 5 < 2^16, ten terms < 2^34) and no BigInt (not constant time).

const LIMBS = 10;
const MASK13 = 0x1fff;

/** Bits [13k, 13k + 13) of a little-endian number in `bytes`, for k = 0..9. */
function toLimbs(bytes: Uint8Array): number[] {
  const limbs: number[] = [];
  for (let k = 0; k < LIMBS; k++) {
    const bit = 13 * k;
    const i = bit >>> 3;
    const v = (bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16);
    limbs.push((v >>> (bit & 7)) & MASK13);
  }
  return limbs;
}

/** Propagates carries so every limb is 13 bits; the carry out of 2^130 re-enters as *5. */
function carry(h: number[]): void {
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < LIMBS; i++) {
      const c = Math.floor(h[i] / 8192);
      h[i] = h[i] & MASK13;
      if (i + 1 < LIMBS) h[i + 1] += c;
      else h[0] += 5 * c;
    }
  }
}

/** h = h * r mod 2^130 - 5 (partially reduced). */
function mulmod(h: number[], r: number[]): void {
  const d: number[] = [];
  for (let i = 0; i < LIMBS; i++) {
    let sum = 0;
    for (let j = 0; j < LIMBS; j++) {
      sum += j <= i ? h[j] * r[i - j] : h[j] * 5 * r[i + LIMBS - j];
    }
    d.push(sum);
  }
  for (let i = 0; i < LIMBS; i++) h[i] = d[i];
  carry(h);
}

/** Fully reduces h modulo p = 2^130 - 5 without branching on its value. */
function finalize(h: number[]): void {
  carry(h);
  const g: number[] = [];
  let c = 5;
  for (let i = 0; i < LIMBS; i++) {
    const v = h[i] + c;
    g.push(v & MASK13);
    c = v >>> 13;
  }
  // g = h + 5 - 2^130; it is the reduced value exactly when h >= p (carry out of 2^130).
  const useG = -c | 0; // c is 0 or 1: mask all ones or all zeros
  for (let i = 0; i < LIMBS; i++) h[i] = (h[i] & ~useG) | (g[i] & useG);
}

/**
 * Poly1305 one-time authenticator of `message` under a 32-byte key (r || s).
 * @internal
 */
export function poly1305(message: Uint8Array, key: Uint8Array): Uint8Array {
  // A copy: `slice` of a Buffer would be a view, and clamping must not touch the caller's key.
  const rBytes = new Uint8Array(key.subarray(0, 16));
  // Clamp r as the spec requires.
  for (const i of [3, 7, 11, 15]) rBytes[i] &= 15;
  for (const i of [4, 8, 12]) rBytes[i] &= 252;
  const r = toLimbs(rBytes);
  const h = new Array<number>(LIMBS).fill(0);
  const block = new Uint8Array(17);
  for (let pos = 0; pos < message.length; pos += 16) {
    const chunk = message.subarray(pos, pos + 16);
    block.fill(0);
    block.set(chunk, 0);
    block[chunk.length] = 1; // 2^128 for full blocks, the 0x01 pad byte for the last one
    const m = toLimbs(block);
    for (let i = 0; i < LIMBS; i++) h[i] += m[i];
    mulmod(h, r);
  }
  finalize(h);
  const tag = limbsToBytes(h);
  // tag = (h + s) mod 2^128
  let c = 0;
  for (let i = 0; i < 16; i++) {
    const v = tag[i] + key[16 + i] + c;
    tag[i] = v & 0xff;
    c = v >>> 8;
  }
  rBytes.fill(0);
  block.fill(0);
  return tag;
}

/** The low 128 bits of a 13-bit-limb number, little-endian. */
function limbsToBytes(h: number[]): Uint8Array {
  const out = new Uint8Array(16);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < LIMBS && o < 16; i++) {
    acc += h[i] * 2 ** bits;
    bits += 13;
    while (bits >= 8 && o < 16) {
      out[o++] = acc & 0xff;
      acc = Math.floor(acc / 256);
      bits -= 8;
    }
  }
  return out;
}
