import { describe, expect, it } from 'vitest';
import {
  ChartproofError,
  CopyError,
  DigestMismatchError,
  type ErrorCode,
  isChartproofError,
  RegistryError,
  redact,
  redactUrl,
} from '../src/errors.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.payload.sig-nature_123';

describe('redact', () => {
  describe('when the text holds secrets', () => {
    it.each<[string, string, string, string]>([
      ['URL userinfo', 'GET https://user:pass@ghcr.io/v2/', 'pass', 'https://***@ghcr.io/v2/'],
      ['URL userinfo with a colon in the password', 'see http://u:p:w@h.io/x', 'p:w', 'http://***@h.io/x'],
      ['oci URL userinfo', 'oci://bob:s3cret@reg.io/a', 's3cret', 'oci://***@reg.io/a'],
      ['Bearer token', `Authorization: Bearer ${TOKEN}`, TOKEN, 'Authorization: Bearer ***'],
      ['Basic credentials', 'Authorization: Basic dXNlcjpwYXNzd29yZA==', 'dXNlcjpwYXNzd29yZA==', 'Basic ***'],
      ['token= query', 'https://a.io/token?service=x&token=abcdef123', 'abcdef123', '&token=***'],
      ['token= first query value', 'https://a.io/t?token=abcdef123&x=1', 'abcdef123', '?token=***&x=1'],
      ['password= form value', 'grant_type=password&username=u&password=hunter2', 'hunter2', '&password=***'],
      ['password= at the start', 'password=hunter2', 'hunter2', 'password=***'],
      ['access_token= value', 'body: access_token=zzz999&expires=1', 'zzz999', 'access_token=***'],
      ['refresh_token= value', 'x?refresh_token=rrr111', 'rrr111', 'refresh_token=***'],
      [
        'X-Amz-Signature= value',
        'https://s3.io/b?X-Amz-Credential=AKIA123&X-Amz-Signature=deadbeef',
        'deadbeef',
        'X-Amz-Signature=***',
      ],
      [
        'X-Amz-Credential= value',
        'https://s3.io/b?X-Amz-Credential=AKIA123',
        'AKIA123',
        'X-Amz-Credential=***',
      ],
      ['case-insensitive parameter names', 'x?TOKEN=abc123&Password=pw1', 'abc123', 'TOKEN=***'],
    ])('removes %s', (_name, input, secret, expected) => {
      const out = redact(input);
      expect(out).not.toContain(secret);
      expect(out).toContain(expected);
    });

    it.each([
      ['lower-case bearer', `authorization: bearer ${TOKEN}`],
      ['upper-case BASIC', 'AUTHORIZATION: BASIC dXNlcjpwYXNzd29yZA=='],
    ])(
      'removes credentials after a %s scheme (schemes are case-insensitive, RFC 9110 §11.1)',
      (_n, input) => {
        const out = redact(input);
        expect(out).not.toContain(TOKEN);
        expect(out).not.toContain('dXNlcjpwYXNzd29yZA==');
      },
    );
  });

  describe('when the text holds no secrets', () => {
    it.each([
      'GET https://ghcr.io/v2/org/chart/manifests/1.0: 404',
      'pulling oci://localhost:5000/a/b:1.0',
      'service=registry.docker.io&scope=repository:library/nginx:pull',
      'digest sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      '',
    ])('leaves %j unchanged', (input) => {
      expect(redact(input)).toBe(input);
    });
  });
});

describe('redactUrl', () => {
  describe('when the URL is parseable', () => {
    it.each([
      ['https://u:p@ghcr.io/v2/a', 'https://ghcr.io/v2/a'],
      [
        'https://s3.io/b?X-Amz-Signature=abc&partNumber=1',
        'https://s3.io/b?X-Amz-Signature=***&partNumber=1',
      ],
      ['https://a.io/token?access_token=t&scope=x', 'https://a.io/token?access_token=***&scope=x'],
      ['https://ghcr.io/v2/a/tags/list?n=10', 'https://ghcr.io/v2/a/tags/list?n=10'],
    ])('%s → %s', (input, expected) => {
      expect(redactUrl(input)).toBe(expected);
    });
  });

  describe('when the URL is not parseable', () => {
    it('falls back to redact', () => {
      expect(redactUrl('not a url token=abc')).toBe('not a url token=***');
    });
  });
});

describe('ChartproofError', () => {
  describe('when constructed', () => {
    it('redacts the message and keeps code, name and cause', () => {
      const cause = new Error('inner');
      const err = new ChartproofError('NETWORK', 'fetch https://u:secret@reg.io/v2/ failed', { cause });
      expect(err.message).toBe('fetch https://***@reg.io/v2/ failed');
      expect(err.code).toBe('NETWORK');
      expect(err.name).toBe('ChartproofError');
      expect(err.cause).toBe(cause);
      expect(err).toBeInstanceOf(Error);
      expect(err).toBeInstanceOf(ChartproofError);
    });

    it('does not define a cause when none is given', () => {
      expect('cause' in new ChartproofError('IO', 'x')).toBe(false);
    });

    it('names subclasses after themselves', () => {
      expect(new DigestMismatchError('SIZE_MISMATCH', 'sha256:x', undefined, 'm').name).toBe(
        'DigestMismatchError',
      );
      expect(new CopyError('source', undefined, new Error('boom')).name).toBe('CopyError');
      expect(new RegistryError({ status: 500, method: 'GET', url: 'https://r.io/' }).name).toBe(
        'RegistryError',
      );
    });
  });
});

describe('RegistryError', () => {
  it('redacts what a registry echoes in its diagnostics (they are kept whole: callers log errors)', () => {
    const err = new RegistryError({
      status: 401,
      method: 'GET',
      url: 'https://r.io/v2/',
      diagnostics: [
        {
          code: 'UNAUTHORIZED',
          message: 'bad header Authorization: Bearer eyJhbGciOi.secret.part',
          detail: {
            headers: ['Authorization: Basic dXNlcjpwYXNzd29yZA=='],
            url: 'https://u:pw@r.io/x?token=abc',
          },
        },
      ],
    });
    const seen = JSON.stringify(err.diagnostics);
    for (const secret of ['eyJhbGciOi.secret.part', 'dXNlcjpwYXNzd29yZA==', 'u:pw@', 'token=abc'])
      expect(seen).not.toContain(secret);
    expect(err.diagnostics[0]).toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'bad header Authorization: Bearer ***',
    });
  });

  describe('when deriving the code', () => {
    it.each<[number, Array<{ code: string; message?: string }>, ErrorCode]>([
      [401, [], 'UNAUTHORIZED'],
      [403, [], 'DENIED'],
      [404, [], 'NOT_FOUND'],
      [404, [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }], 'MANIFEST_UNKNOWN'],
      [404, [{ code: 'SOMETHING_ELSE' }, { code: 'NAME_UNKNOWN' }], 'NAME_UNKNOWN'],
      [404, [{ code: 'NOT_A_SPEC_CODE' }], 'NOT_FOUND'],
      [400, [{ code: 'DIGEST_INVALID' }], 'DIGEST_INVALID'],
      [429, [], 'TOOMANYREQUESTS'],
      [500, [], 'UNEXPECTED_STATUS'],
      [502, [], 'UNEXPECTED_STATUS'],
      [418, [], 'UNEXPECTED_STATUS'],
    ])('status %i with %j gives %s', (status, diagnostics, code) => {
      const err = new RegistryError({
        status,
        method: 'GET',
        url: 'https://r.io/v2/a/manifests/1',
        diagnostics,
      });
      expect(err.code).toBe(code);
      expect(err.status).toBe(status);
      expect(err.diagnostics).toEqual(diagnostics);
      expect(err).toBeInstanceOf(ChartproofError);
      expect(err).toBeInstanceOf(RegistryError);
    });

    it('prefers an explicit code', () => {
      const err = new RegistryError({
        status: 404,
        method: 'HEAD',
        url: 'https://r.io/',
        code: 'BLOB_UNKNOWN',
      });
      expect(err.code).toBe('BLOB_UNKNOWN');
    });
  });

  describe('when reporting temporariness', () => {
    const temporary = new Set([408, 429, 500, 502, 503, 504]);
    it.each(
      [400, 401, 403, 404, 409, 408, 429, 500, 502, 503, 504].map((s) => [s, temporary.has(s)] as const),
    )('status %i is temporary: %s', (status, temporary) => {
      expect(new RegistryError({ status, method: 'GET', url: 'https://r.io/' }).temporary).toBe(temporary);
    });
  });

  describe('when the URL carries secrets', () => {
    it('redacts url and message', () => {
      const err = new RegistryError({
        status: 403,
        method: 'PUT',
        url: 'https://user:pw@r.io/v2/a/blobs/uploads/1?digest=sha256:x&X-Amz-Signature=s3cr3t',
        diagnostics: [{ code: 'DENIED', message: 'requested access to the resource is denied' }],
      });
      expect(err.url).not.toContain('pw');
      expect(err.url).not.toContain('s3cr3t');
      expect(err.url).toContain('X-Amz-Signature=***');
      expect(err.message).not.toContain('s3cr3t');
      expect(err.message).toContain('PUT https://r.io/v2/a/blobs/uploads/1');
      expect(err.message).toContain('403 (DENIED: requested access to the resource is denied)');
      expect(err.method).toBe('PUT');
    });

    it('uses and redacts a custom message', () => {
      const err = new RegistryError(
        { status: 500, method: 'GET', url: 'https://r.io/' },
        'bad password=hunter2',
      );
      expect(err.message).toBe('bad password=***');
    });
  });
});

describe('isChartproofError', () => {
  describe('when checking values', () => {
    const regErr = new RegistryError({ status: 404, method: 'GET', url: 'https://r.io/' });
    it.each<[string, unknown, ErrorCode | undefined, boolean]>([
      ['a ChartproofError', new ChartproofError('IO', 'x'), undefined, true],
      ['a ChartproofError with its code', new ChartproofError('IO', 'x'), 'IO', true],
      ['a ChartproofError with another code', new ChartproofError('IO', 'x'), 'NETWORK', false],
      ['a RegistryError with its code', regErr, 'NOT_FOUND', true],
      ['a plain Error', new Error('x'), undefined, false],
      ['an object with a code', { code: 'IO', message: 'x' }, 'IO', false],
      ['null', null, undefined, false],
      ['a string', 'IO', undefined, false],
    ])('%s → %s', (_name, value, code, expected) => {
      expect(isChartproofError(value, code)).toBe(expected);
    });
  });
});

describe('instanceof branding', () => {
  describe('when an error comes from another copy of the package', () => {
    class OtherCopyError extends Error {
      readonly code = 'NETWORK';
      get [Symbol.for('chartproof.error')](): true {
        return true;
      }
    }

    it('is an instance of ChartproofError and passes isChartproofError', () => {
      const foreign = new OtherCopyError('from the CJS build');
      expect(foreign instanceof ChartproofError).toBe(true);
      expect(isChartproofError(foreign, 'NETWORK')).toBe(true);
      expect(isChartproofError(foreign, 'IO')).toBe(false);
    });

    it('is not an instance of the subclasses of this copy', () => {
      const foreign = new OtherCopyError('x');
      expect(foreign instanceof RegistryError).toBe(false);
      expect(foreign instanceof CopyError).toBe(false);
    });

    it('requires the brand to be exactly true', () => {
      const fake = { [Symbol.for('chartproof.error')]: 'yes' };
      expect(fake instanceof ChartproofError).toBe(false);
      expect(Object.create(null) instanceof ChartproofError).toBe(false);
    });
  });

  describe('when checking subclasses of this copy', () => {
    const cases: Array<
      [
        string,
        Error,
        Array<abstract new (...a: never[]) => unknown>,
        Array<abstract new (...a: never[]) => unknown>,
      ]
    > = [
      [
        'RegistryError',
        new RegistryError({ status: 500, method: 'GET', url: 'https://r.io/' }),
        [ChartproofError, RegistryError, Error],
        [CopyError, DigestMismatchError],
      ],
      [
        'CopyError',
        new CopyError('destination', 'sha256:x', new Error('y')),
        [ChartproofError, CopyError],
        [RegistryError],
      ],
      [
        'DigestMismatchError',
        new DigestMismatchError('DIGEST_MISMATCH', 'a', 'b', 'm'),
        [ChartproofError, DigestMismatchError],
        [RegistryError, CopyError],
      ],
      ['ChartproofError', new ChartproofError('IO', 'x'), [ChartproofError], [RegistryError, CopyError]],
    ];
    it.each(cases)('a %s matches exactly its own class chain', (_name, err, yes, no) => {
      for (const cls of yes) expect(err instanceof cls).toBe(true);
      for (const cls of no) expect(err instanceof cls).toBe(false);
    });
  });
});

describe('CopyError', () => {
  describe('when wrapping a cause', () => {
    it.each<[unknown, string]>([
      [
        new Error('upstream https://u:pw@r.io/ failed'),
        'copy failed at source (sha256:abc): upstream https://***@r.io/ failed',
      ],
      ['plain string', 'copy failed at source (sha256:abc): plain string'],
    ])('keeps the cause and a redacted message (%#)', (cause, message) => {
      const err = new CopyError('source', 'sha256:abc', cause);
      expect(err.code).toBe('COPY_FAILED');
      expect(err.origin).toBe('source');
      expect(err.digest).toBe('sha256:abc');
      expect(err.cause).toBe(cause);
      expect(err.message).toBe(message);
    });
  });
});
