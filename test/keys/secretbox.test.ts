import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { poly1305, secretboxOpen, secretboxSeal } from '../../src/keys/secretbox.js';
import { expectChartproofError } from '../helpers/expect-error.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// The NaCl secretbox test (NaCl tests/secretbox.c + secretbox.out; libsodium
// test/default/secretbox.c): key "firstkey", nonce, the 131-byte message, and the
// published box (16-byte tag, then the ciphertext), copied from the published text.
const NACL_KEY = hex('1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389');
const NACL_NONCE = hex('69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37');
const NACL_MESSAGE = hex(`
  be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffc
  e5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb31
  0e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde
  048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f93776384864
  5e0705`);
const NACL_BOX = hex(`
  f3ffc7703f9400e52a7dfb4b3d3305d9
  8e993b9f48681273c29650ba32fc76ce48332ea7164d96a4476fb8c531a1186a
  c0dfc17c98dce87b4da7f011ec48c97271d2c20f9b928fe2270d6fb863d51738
  b48eeee314a7cc8ab932164548e526ae90224368517acfeabd6bb3732bc0e9da
  99832b61ca01b6de56244a9e88d5f9b37973f622a43d14a6599b1f654cb45a74
  e355a5`);

describe('secretbox', () => {
  describe('NaCl test vector', () => {
    it('seals to the published box', () => {
      expect(NACL_MESSAGE.length).toBe(131);
      expect(toHex(secretboxSeal(NACL_MESSAGE, NACL_NONCE, NACL_KEY))).toBe(toHex(NACL_BOX));
    });

    it('opens the published box', () => {
      const opened = secretboxOpen(NACL_BOX, NACL_NONCE, NACL_KEY);
      expect(opened && toHex(opened)).toBe(toHex(NACL_MESSAGE));
    });
  });

  describe('when the box, nonce or key is wrong', () => {
    it.each([0, 5, 15, 16, 40, 146])('rejects a box with byte %i flipped', (i) => {
      const box = NACL_BOX.slice();
      box[i]! ^= 0x01;
      expect(secretboxOpen(box, NACL_NONCE, NACL_KEY)).toBeUndefined();
    });

    it('rejects a truncated or extended box', () => {
      expect(secretboxOpen(NACL_BOX.subarray(0, NACL_BOX.length - 1), NACL_NONCE, NACL_KEY)).toBeUndefined();
      const longer = new Uint8Array(NACL_BOX.length + 1);
      longer.set(NACL_BOX);
      expect(secretboxOpen(longer, NACL_NONCE, NACL_KEY)).toBeUndefined();
    });

    it('rejects boxes shorter than the tag', () => {
      expect(secretboxOpen(new Uint8Array(15), NACL_NONCE, NACL_KEY)).toBeUndefined();
      expect(secretboxOpen(new Uint8Array(0), NACL_NONCE, NACL_KEY)).toBeUndefined();
    });

    it.each([0, 15, 16, 23])('rejects a nonce with byte %i changed', (i) => {
      const nonce = NACL_NONCE.slice();
      nonce[i]! ^= 0x80;
      expect(secretboxOpen(NACL_BOX, nonce, NACL_KEY)).toBeUndefined();
    });

    it('rejects another key', () => {
      const key = NACL_KEY.slice();
      key[31]! ^= 0x01;
      expect(secretboxOpen(NACL_BOX, NACL_NONCE, key)).toBeUndefined();
    });

    it('throws INVALID_ARGUMENT for wrong key or nonce lengths', async () => {
      await expectChartproofError(
        (async () => secretboxSeal(NACL_MESSAGE, NACL_NONCE, new Uint8Array(31)))(),
        'INVALID_ARGUMENT',
        /key must be 32 bytes/,
      );
      await expectChartproofError(
        (async () => secretboxOpen(NACL_BOX, new Uint8Array(12), NACL_KEY))(),
        'INVALID_ARGUMENT',
        /nonce must be 24 bytes/,
      );
    });
  });

  describe('round trips', () => {
    it.each([0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000])(
      'seals and opens %i bytes',
      (n) => {
        const key = randomBytes(32);
        const nonce = randomBytes(24);
        const message = randomBytes(n);
        const box = secretboxSeal(message, nonce, key);
        expect(box.length).toBe(n + 16);
        if (n >= 16) expect(toHex(box.subarray(16))).not.toBe(toHex(message));
        expect(toHex(secretboxOpen(box, nonce, key)!)).toBe(toHex(message));
      },
    );
  });
});

describe('poly1305', () => {
  it('matches RFC 8439 section 2.5.2', () => {
    const key = hex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b');
    const tag = poly1305(new Uint8Array(Buffer.from('Cryptographic Forum Research Group')), key);
    expect(toHex(tag)).toBe('a8061dc1305136c6c22b8baf0c0127a9');
  });

  it('matches the NaCl onetimeauth vector (the tag of the secretbox vector)', () => {
    // NaCl tests/onetimeauth.c: the Poly1305 key is the first 32 bytes of the XSalsa20
    // keystream, published as "rs"; the message is the secretbox ciphertext.
    const rs = hex('eea6a7251c1e72916d11c2cb214d3c252539121d8e234e652d651fa4c8cff880');
    expect(toHex(poly1305(NACL_BOX.subarray(16), rs))).toBe(toHex(NACL_BOX.subarray(0, 16)));
  });

  it('leaves the key of the caller untouched (Buffer slices are views)', () => {
    const key = Buffer.from(new Uint8Array(32).fill(0xff));
    poly1305(new Uint8Array(20), key);
    secretboxOpen(secretboxSeal(new Uint8Array(20), NACL_NONCE, key), NACL_NONCE, key);
    expect(key.every((b) => b === 0xff)).toBe(true);
  });

  const opensslOk = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
  if (!opensslOk) console.warn('poly1305 openssl cross-check skipped: openssl binary not found');

  describe.skipIf(!opensslOk)('cross-checked with openssl mac POLY1305', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chartproof-poly-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const opensslTag = (key: Uint8Array, message: Uint8Array): string => {
      const file = join(dir, 'm');
      writeFileSync(file, message);
      const r = spawnSync('openssl', ['mac', '-macopt', `hexkey:${toHex(key)}`, '-in', file, 'POLY1305'], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim().toLowerCase();
    };

    const cases: [string, Uint8Array, Uint8Array][] = [
      [
        'all-ones key and message (carry and final reduction)',
        new Uint8Array(32).fill(0xff),
        new Uint8Array(64).fill(0xff),
      ],
      ['all-ones key, 17-byte message', new Uint8Array(32).fill(0xff), new Uint8Array(17).fill(0xff)],
      ['zero r', new Uint8Array(32).fill(0, 0, 16).fill(0x5a, 16), randomBytes(48)],
      ['empty message', randomBytes(32), new Uint8Array(0)],
      ...[1, 15, 16, 17, 31, 32, 33, 100, 1024].map((n): [string, Uint8Array, Uint8Array] => [
        `random ${n} bytes`,
        randomBytes(32),
        randomBytes(n),
      ]),
    ];
    it.each(cases)('%s', (_name, key, message) => {
      expect(toHex(poly1305(message, key))).toBe(opensslTag(key, message));
    });
  });
});
