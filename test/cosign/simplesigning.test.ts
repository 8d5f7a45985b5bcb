import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChartproofError } from '../../src/errors.js';
import { digestOf, parseReference } from '../../src/oci/index.js';
import {
  COSIGN_SIGNATURE_TYPE,
  cosignDockerReference,
  cosignSignatureTag,
  decodeStdBase64,
  parseSimpleSigningPayload,
  simpleSigningPayload,
} from '../../src/cosign/simplesigning.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable, describeVectors } from '../helpers/vectors.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const D1 = `sha256:${'a'.repeat(64)}`;

function expectInvalid(fn: () => unknown, code: string, message?: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ChartproofError);
  expect((err as ChartproofError).code).toBe(code);
  if (message) expect((err as ChartproofError).message).toMatch(message);
}

describe('simpleSigningPayload', () => {
  it('writes cosign’s bytes: struct order, optional null without annotations', () => {
    expect(dec.decode(simpleSigningPayload('reg.example/a/b', D1))).toBe(
      `{"critical":{"identity":{"docker-reference":"reg.example/a/b"},"image":{"docker-manifest-digest":"${D1}"},"type":"cosign container image signature"},"optional":null}`,
    );
    // cosign without -a has a nil map: an empty object is written the same way.
    expect(simpleSigningPayload('reg.example/a/b', D1, {})).toEqual(
      simpleSigningPayload('reg.example/a/b', D1),
    );
  });

  it('sorts annotation keys bytewise and escapes like Go (HTML-safe)', () => {
    const bytes = simpleSigningPayload('r.example/x', D1, { b: '2', a: '<x>&"y"', Z: 'é' });
    expect(dec.decode(bytes)).toBe(
      `{"critical":{"identity":{"docker-reference":"r.example/x"},"image":{"docker-manifest-digest":"${D1}"},"type":"cosign container image signature"},"optional":{"Z":"é","a":"\\u003cx\\u003e\\u0026\\"y\\"","b":"2"}}`,
    );
    const parsed = parseSimpleSigningPayload(bytes);
    expect(parsed.optional).toEqual({ Z: 'é', a: '<x>&"y"', b: '2' });
  });

  it('rejects an empty reference, a bad digest and non-string annotations', () => {
    expectInvalid(() => simpleSigningPayload('', D1), 'INVALID_ARGUMENT');
    expectInvalid(() => simpleSigningPayload('r/x', 'sha256:abc'), 'INVALID_ARGUMENT', /digest/);
    expectInvalid(
      () => simpleSigningPayload('r/x', D1, { n: 1 as unknown as string }),
      'INVALID_ARGUMENT',
      /annotation/,
    );
  });
});

describeVectors(sigstoreVectorsAvailable('simple-signing cosign vector'))(
  'cosign v3.0.4 legacy vector',
  () => {
    const dir = join(SIGSTORE_VECTORS, 'cosign-oci', 'cosign-v3.0.4-legacy-sig');
    const payload = readFileSync(join(dir, 'payload.json'));
    const subject = readFileSync(join(dir, 'subject-digest.txt'), 'utf8').trim();

    it('reproduces the payload bytes from the reference and digest', () => {
      const ref = cosignDockerReference(`localhost:15381/tobby/fixture@${subject}`);
      expect(ref).toBe('localhost:15381/tobby/fixture');
      const bytes = simpleSigningPayload(ref, subject);
      expect(Buffer.from(bytes).equals(payload)).toBe(true);
      expect(digestOf(bytes)).toBe('sha256:3a29d26a2fc848d25ccf9c2288194ca90599e70ef69087644f186e5e7331f28b');
    });

    it('names the signature tag of the subject', () => {
      expect(cosignSignatureTag(subject)).toBe(`sha256-${subject.slice(7)}.sig`);
    });

    it('parses it in both modes', () => {
      for (const strict of [false, true]) {
        expect(parseSimpleSigningPayload(payload, { strict })).toEqual({
          dockerReference: 'localhost:15381/tobby/fixture',
          manifestDigest: subject,
          type: COSIGN_SIGNATURE_TYPE,
          optional: null,
        });
      }
    });
  },
);

describeVectors(sigstoreVectorsAvailable('simple-signing containers/image vector'))(
  'containers/image payload (skopeo-made)',
  () => {
    it('reads creator and integer timestamp strictly', () => {
      const file = readFileSync(
        join(SIGSTORE_VECTORS, 'containers-image', 'dir-img-cosign-valid-with-tag', 'signature-1'),
      );
      const json = JSON.parse(file.subarray(15).toString('utf8')) as { payload: string };
      const p = parseSimpleSigningPayload(Buffer.from(json.payload, 'base64'), { strict: true });
      expect(p.dockerReference).toBe('192.168.64.2:5000/skopeo-signed:tag');
      expect(p.creator).toBe('containers/image 5.21.2-dev');
      expect(p.timestamp).toBe(1657296609);
    });
  },
);

describe('parseSimpleSigningPayload', () => {
  const critical = `{"identity":{"docker-reference":"r/x"},"image":{"docker-manifest-digest":"${D1}"},"type":"${COSIGN_SIGNATURE_TYPE}"}`;
  const parse = (s: string, strict = false) => parseSimpleSigningPayload(enc.encode(s), { strict });

  describe('in cosign’s lenient mode', () => {
    it('ignores unknown members and reads missing strings as empty', () => {
      const p = parse(`{"critical":{"image":{"docker-manifest-digest":"${D1}"},"extra":1},"more":[1]}`);
      expect(p).toEqual({ dockerReference: '', manifestDigest: D1, type: '', optional: null });
      expect(parse('{}').manifestDigest).toBe('');
      expect(parse('null').manifestDigest).toBe('');
      expect(parse('{"critical":null,"optional":{"k":1}}').optional).toEqual({ k: 1 });
    });

    it('rejects wrong JSON types, non-JSON, a BOM and case-variant member names', () => {
      for (const bad of [
        '[]',
        '"x"',
        '{"critical":"x"}',
        '{"critical":{"image":[]}}',
        '{"critical":{"image":{"docker-manifest-digest":1}}}',
        '{"optional":"x"}',
        '{"optional":[]}',
        '{',
        '\ufeff{}',
        `{"critical":${critical},"Critical":{}}`,
        `{"critical":{"Image":{"docker-manifest-digest":"${D1}"}}}`,
        `{"critical":{"image":{"docker-manifeſt-digest":"${D1}"}}}`,
      ]) {
        expectInvalid(() => parse(bad), 'SIGNATURE_INVALID', /invalid simple-signing payload/);
      }
    });
  });

  describe('in strict (containers/image) mode', () => {
    it('accepts the exact layout, with optional null or an object', () => {
      expect(parse(`{"critical":${critical},"optional":null}`, true).manifestDigest).toBe(D1);
      expect(
        parse(`{"critical":${critical},"optional":{"creator":"me","timestamp":5,"x":[]}}`, true),
      ).toMatchObject({
        creator: 'me',
        timestamp: 5,
      });
    });

    it.each([
      ['a missing optional', `{"critical":${critical}}`],
      ['an extra top-level member', `{"critical":${critical},"optional":null,"x":1}`],
      [
        'an extra critical member',
        `{"critical":{"identity":{"docker-reference":"r/x"},"image":{"docker-manifest-digest":"${D1}"},"type":"${COSIGN_SIGNATURE_TYPE}","x":1},"optional":null}`,
      ],
      [
        'a missing identity',
        `{"critical":{"image":{"docker-manifest-digest":"${D1}"},"type":"${COSIGN_SIGNATURE_TYPE}"},"optional":null}`,
      ],
      [
        'an unknown type',
        `{"critical":{"identity":{"docker-reference":"r/x"},"image":{"docker-manifest-digest":"${D1}"},"type":"other"},"optional":null}`,
      ],
      [
        'an invalid digest',
        `{"critical":{"identity":{"docker-reference":"r/x"},"image":{"docker-manifest-digest":"sha256:1"},"type":"${COSIGN_SIGNATURE_TYPE}"},"optional":null}`,
      ],
      ['a null critical', '{"critical":null,"optional":null}'],
      ['a duplicate key', `{"critical":${critical},"optional":null,"optional":null}`],
      [
        'a nested duplicate key',
        `{"critical":{"identity":{"docker-reference":"r/x","docker-reference":"r/y"},"image":{"docker-manifest-digest":"${D1}"},"type":"${COSIGN_SIGNATURE_TYPE}"},"optional":null}`,
      ],
      ['a fractional timestamp', `{"critical":${critical},"optional":{"timestamp":1.5}}`],
      ['a string timestamp', `{"critical":${critical},"optional":{"timestamp":"1"}}`],
      ['a numeric creator', `{"critical":${critical},"optional":{"creator":1}}`],
    ])('rejects %s', (_, text) => {
      expectInvalid(() => parse(text, true), 'SIGNATURE_INVALID');
    });

    it('does not mistake duplicate values or keys in arrays for duplicate keys', () => {
      expect(
        parse(
          `{"critical":${critical},"optional":{"a":["a","a",{"a":1},{"a":2}],"b":"a","c":{"a":{},"b":"}"}}}`,
          true,
        ).optional,
      ).toMatchObject({ b: 'a' });
    });

    it('accepts in lenient mode what only strict mode refuses', () => {
      expect(parse(`{"critical":${critical},"optional":null,"optional":{"k":"v"}}`).optional).toEqual({
        k: 'v',
      });
    });
  });
});

describe('cosignSignatureTag', () => {
  it('replaces the colon and appends .sig', () => {
    expect(cosignSignatureTag(D1)).toBe(`sha256-${'a'.repeat(64)}.sig`);
  });
  it('refuses invalid digests and sha512 (its tag would exceed 128 characters)', () => {
    expectInvalid(() => cosignSignatureTag('sha256:xyz'), 'INVALID_ARGUMENT');
    expectInvalid(() => cosignSignatureTag(`sha512:${'b'.repeat(128)}`), 'INVALID_ARGUMENT', /sha512/);
  });
});

describe('cosignDockerReference', () => {
  it.each([
    ['nginx', 'index.docker.io/library/nginx'],
    ['docker.io/acme/app:1.0', 'index.docker.io/acme/app'],
    ['index.docker.io/acme/app', 'index.docker.io/acme/app'],
    [`ghcr.io/acme/charts/app:1.2.3@${D1}`, 'ghcr.io/acme/charts/app'],
    ['oci://localhost:5000/x', 'localhost:5000/x'],
  ])('%s → %s', (input, expected) => {
    expect(cosignDockerReference(input)).toBe(expected);
  });
  it('accepts a parsed reference', () => {
    expect(cosignDockerReference(parseReference('quay.io/a/b:t'))).toBe('quay.io/a/b');
  });
  it('rejects an invalid reference', () => {
    expectInvalid(() => cosignDockerReference('UPPER/Case'), 'INVALID_REFERENCE');
  });
});

describe('decodeStdBase64', () => {
  it('decodes padded standard base64, ignoring CR and LF like Go', () => {
    expect(Buffer.from(decodeStdBase64('aGVs\r\nbG8=')).toString()).toBe('hello');
    expect(decodeStdBase64('').byteLength).toBe(0);
  });
  it.each(['aGVsbG8', 'aGVs bG8=', 'aGVsbG8=!', 'aGVs_G8=', 'a===', '===='])('rejects %j', (s) => {
    expectInvalid(() => decodeStdBase64(s), 'SIGNATURE_INVALID');
  });
});
