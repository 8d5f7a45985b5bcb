import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64, isBase64 } from '../../src/internal/encoding/base64.js';
import {
  compareGoMapKeys,
  GoRaw,
  goJsonString,
  goJsonStruct,
  goJsonValue,
  isGoEmpty,
  utf8Bytes,
} from '../../src/internal/encoding/go-json.js';
import { encodePem, findPemBlock, pemBlocksOf } from '../../src/internal/encoding/pem.js';
import { isRecord, messageOf } from '../../src/internal/guards.js';
import { sha256Hex } from '../../src/internal/hash.js';
import { ChartproofError } from '../../src/errors.js';

describe('Go encoding/json strings', () => {
  it('escapes HTML characters and line/paragraph separators', () => {
    expect(goJsonString('a<b>c&d')).toBe('"a\\u003cb\\u003ec\\u0026d"');
    expect(goJsonString('>=1.0.0')).toBe('"\\u003e=1.0.0"');
    expect(goJsonString('x\u2028y\u2029z')).toBe('"x\\u2028y\\u2029z"');
  });

  it('escapes control characters with Go ≥ 1.22 short forms', () => {
    expect(goJsonString('\u0001')).toBe('"\\u0001"');
    expect(goJsonString('\u001f\u0000')).toBe('"\\u001f\\u0000"');
    expect(goJsonString('a\nb\tc\rd')).toBe('"a\\nb\\tc\\rd"');
    expect(goJsonString('\b\f')).toBe('"\\b\\f"');
    expect(goJsonString('q"b\\')).toBe('"q\\"b\\\\"');
  });

  it('leaves DEL, non-ASCII and non-BMP characters alone, replaces lone surrogates', () => {
    expect(goJsonString('\u007fé😀')).toBe('"\u007fé😀"');
    expect(goJsonString('a\ud800b')).toBe('"a\\ufffdb"');
    expect(goJsonString('\udc00')).toBe('"\\ufffd"');
  });

  it('sorts map keys bytewise and encodes numbers like float64', () => {
    expect(goJsonValue({ b: 1, a: [true, null, 'x'], B: 0.5, '\uffff': 1, '😀': 2 })).toBe(
      '{"B":0.5,"a":[true,null,"x"],"b":1,"\uffff":1,"😀":2}',
    );
    expect(goJsonValue([1e21, 1e-7, 123456789, -0])).toBe('[1e+21,1e-7,123456789,-0]');
    expect(() => goJsonValue(Number.NaN)).toThrow(ChartproofError);
  });

  it('encodes structs in field order with omitempty', () => {
    expect(
      goJsonStruct([
        ['z', '', true],
        ['y', '', false],
        ['x', [], true],
        ['w', false, true],
        ['v', { k: 'v' }, true],
        ['u', {}, true],
      ]),
    ).toBe('{"y":"","v":{"k":"v"}}');
  });
});

describe('Go encoding/json values', () => {
  it('embeds raw JSON, encodes bytes as standard base64 and bigints as integers', () => {
    expect(goJsonStruct([['a', new GoRaw('[1, 2]'), false]])).toBe('{"a":[1, 2]}');
    expect(goJsonValue(new Uint8Array([0xfb, 0xff]))).toBe('"+/8="');
    expect(goJsonValue(12345678901234567890n)).toBe('12345678901234567890');
    expect(goJsonValue({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
    expect(() => goJsonValue(() => 1)).toThrow(ChartproofError);
  });

  it("applies Go's omitempty test", () => {
    for (const v of [undefined, null, false, 0, '', [], {}, { a: undefined }])
      expect(isGoEmpty(v)).toBe(true);
    for (const v of [true, 1, ' ', [0], { a: 1 }, new Uint8Array(), new GoRaw('')])
      expect(isGoEmpty(v)).toBe(false);
  });

  it('sorts map keys by UTF-8 bytes, not UTF-16 units', () => {
    // U+FFFF (EF BF BF) sorts before U+1F600 (F0 9F 98 80) in UTF-8, after it in UTF-16.
    expect(compareGoMapKeys('\uffff', '😀')).toBeLessThan(0);
    expect('\uffff' < '😀').toBe(false);
    expect(compareGoMapKeys('a', 'a')).toBe(0);
    expect(Buffer.from(utf8Bytes('é')).toString('hex')).toBe('c3a9');
  });
});

describe('base64 variants', () => {
  const bytes = new Uint8Array([0xfb, 0xff, 0xfe, 0x00, 0x41]);

  it('encodes std, url, rawStd and rawUrl like Go', () => {
    expect(encodeBase64(bytes, 'std')).toBe('+//+AEE=');
    expect(encodeBase64(bytes, 'url')).toBe('-__-AEE=');
    expect(encodeBase64(bytes, 'rawStd')).toBe('+//+AEE');
    expect(encodeBase64(bytes, 'rawUrl')).toBe('-__-AEE');
    expect(encodeBase64(new Uint8Array(), 'url')).toBe('');
    // a view into a larger buffer encodes only its own bytes
    expect(encodeBase64(new Uint8Array([9, 0x41, 9]).subarray(1, 2))).toBe('QQ==');
  });

  it('decodes each variant back', () => {
    for (const v of ['std', 'url', 'rawStd', 'rawUrl'] as const)
      expect([...decodeBase64(encodeBase64(bytes, v), v)!]).toEqual([...bytes]);
  });

  it('refuses what Node would silently accept: foreign alphabet, bad padding, bad length', () => {
    expect(decodeBase64('-__-AEE=', 'std')).toBeUndefined();
    expect(decodeBase64('+//+AEE=', 'url')).toBeUndefined();
    expect(decodeBase64('+//+AEE', 'std')).toBeUndefined();
    expect(decodeBase64('+//+AEE=', 'rawStd')).toBeUndefined();
    expect(decodeBase64('QQ=', 'std')).toBeUndefined();
    expect(decodeBase64('Q', 'rawStd')).toBeUndefined();
    expect(decodeBase64('QQ==QQ==', 'std')).toBeUndefined();
    expect(decodeBase64('QU JD', 'std')).toBeUndefined();
    expect(isBase64('QUJD')).toBe(true);
    expect(isBase64('QUJD\n')).toBe(false);
  });

  it('skips line breaks only when told to (as Go decoders do)', () => {
    expect(decodeBase64('QU\r\nJD', 'std')).toBeUndefined();
    expect(decodeBase64('QU\r\nJD', 'std', { ignoreNewlines: true })?.toString()).toBe('ABC');
  });
});

describe('PEM', () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = publicKey.export({ type: 'spki', format: 'der' });

  it('writes 64-character lines and a final newline, as Go and Node do', () => {
    const pem = encodePem('PUBLIC KEY', der);
    expect(pem).toBe(publicKey.export({ type: 'spki', format: 'pem' }));
    const long = encodePem('X', new Uint8Array(100));
    expect(long.split('\n').map((l) => l.length)).toEqual([17, 64, 64, 8, 15, 0]);
  });

  it('finds the first block, ignoring surrounding text, and reports headers', () => {
    const text = `junk\n${encodePem('PUBLIC KEY', der)}${encodePem('OTHER', new Uint8Array([1]))}`;
    const block = findPemBlock(text)!;
    expect(block.label).toBe('PUBLIC KEY');
    expect(block.headers).toBe(false);
    expect(
      createPublicKey({ key: Buffer.from(block.body, 'base64'), format: 'der', type: 'spki' }).equals(
        publicKey,
      ),
    ).toBe(true);
    const withHeaders = findPemBlock(
      '-----BEGIN K-----\r\nProc-Type: 4,ENCRYPTED\r\n\r\nQUJD\r\n-----END K-----\r\n',
    )!;
    expect(withHeaders).toEqual({ label: 'K', headers: true, body: 'QUJD' });
    expect(findPemBlock('-----BEGIN A-----\nQUJD\n-----END B-----\n')).toBeUndefined();
    expect(findPemBlock('no pem here')).toBeUndefined();
  });

  it('lists every block of a label', () => {
    const a = encodePem('CERTIFICATE', new Uint8Array([1]));
    const b = encodePem('CERTIFICATE', new Uint8Array([2]));
    const text = `${a}${encodePem('PUBLIC KEY', der)}${b}`;
    expect(pemBlocksOf(text, 'CERTIFICATE')).toEqual([a.trimEnd(), b.trimEnd()]);
    expect(pemBlocksOf(text, 'X.Y')).toEqual([]);
  });

  it('matches what a backtracking search finds: the first BEGIN with a matching END after it', () => {
    const k = encodePem('K', new Uint8Array([7]));
    // A BEGIN without its END first, one whose label has no newline after it, then a block.
    expect(findPemBlock(`-----BEGIN A-----\nx\n-----BEGIN B----- \n${k}`)?.label).toBe('K');
    expect(findPemBlock(`-----BEGIN K-----\nQUJD\n-----END K------\n`)).toEqual({
      label: 'K',
      headers: false,
      body: 'QUJD',
    });
    expect(findPemBlock('-----BEGIN K-----QUJD\n-----END K-----\n')).toBeUndefined();
    expect(findPemBlock('-----END K-----\n-----BEGIN K-----\nQUJD\n')).toBeUndefined();
    expect(pemBlocksOf('-----BEGIN C-----\n1\n-----BEGIN C-----\n2\n-----END C-----', 'C')).toEqual([
      '-----BEGIN C-----\n1\n-----BEGIN C-----\n2\n-----END C-----',
    ]);
  });

  it('scans hostile text with many BEGIN lines and no END in one pass', () => {
    // 4 MB: a certificate annotation can be that large. A lazy regular expression
    // retried from every BEGIN took minutes on it.
    const begins = '-----BEGIN CERTIFICATE-----\n'.repeat(150_000);
    const distinct = Array.from({ length: 100_000 }, (_, i) => `-----BEGIN L${i}-----\n`).join('');
    expect(pemBlocksOf(begins, 'CERTIFICATE')).toEqual([]);
    expect(findPemBlock(begins)).toBeUndefined();
    expect(findPemBlock(distinct)).toBeUndefined();
    const last = encodePem('CERTIFICATE', new Uint8Array([9]));
    expect(pemBlocksOf(`${begins}${last}`, 'CERTIFICATE')).toHaveLength(1);
  });
});

describe('small helpers', () => {
  it('hashes bytes and strings (as UTF-8) to sha256 hex', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('é')).toBe(sha256Hex(new Uint8Array([0xc3, 0xa9])));
  });

  it('tells plain objects and error messages', () => {
    expect(isRecord({})).toBe(true);
    expect(isRecord([])).toBe(false);
    expect(isRecord(null)).toBe(false);
    expect(isRecord('x')).toBe(false);
    expect(messageOf(new Error('boom'))).toBe('boom');
    expect(messageOf(42)).toBe('42');
  });
});
