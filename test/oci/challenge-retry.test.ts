import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AuthChallenge,
  mergeScopes,
  parseWwwAuthenticate,
  repositoryScope,
} from '../../src/oci/auth/challenge.js';
import {
  backoffDelay,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  sleep,
} from '../../src/oci/transport/retry.js';

const bearer = (params: Record<string, string>): AuthChallenge => ({ scheme: 'bearer', params });
const basic = (params: Record<string, string>): AuthChallenge => ({ scheme: 'basic', params });

describe('parseWwwAuthenticate', () => {
  describe('when the header is well formed', () => {
    const scope = 'repository:org/chart:pull';
    const cases: Array<[string, string, AuthChallenge[]]> = [
      [
        'a single Bearer challenge',
        `Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="${scope}"`,
        [bearer({ realm: 'https://ghcr.io/token', service: 'ghcr.io', scope })],
      ],
      [
        'quoted commas inside values',
        'Bearer realm="https://r.io/t",scope="repository:a/b:pull,push"',
        [bearer({ realm: 'https://r.io/t', scope: 'repository:a/b:pull,push' })],
      ],
      [
        'several challenges in one header (Codeberg/Forgejo)',
        'Bearer realm="https://a/token",service="reg",scope="*", Basic realm="x"',
        [bearer({ realm: 'https://a/token', service: 'reg', scope: '*' }), basic({ realm: 'x' })],
      ],
      [
        'Basic first, then Bearer',
        'Basic realm="Registry Realm", Bearer realm="https://auth.io/token"',
        [basic({ realm: 'Registry Realm' }), bearer({ realm: 'https://auth.io/token' })],
      ],
      [
        'unquoted values',
        `Bearer realm=https://r.io/token?x=1,service=reg,scope=${scope}`,
        [bearer({ realm: 'https://r.io/token?x=1', service: 'reg', scope })],
      ],
      ['escaped quotes', 'Basic realm="say \\"hi\\" \\\\ bye"', [basic({ realm: 'say "hi" \\ bye' })]],
      [
        'upper-case scheme and parameter names',
        'BEARER REALM="https://r.io/Token",Service="Reg"',
        [bearer({ realm: 'https://r.io/Token', service: 'Reg' })],
      ],
      [
        'whitespace around separators',
        '  Bearer   realm = "https://r.io/t" ,\tservice\t=\t"reg"  ',
        [bearer({ realm: 'https://r.io/t', service: 'reg' })],
      ],
      [
        'a scheme without parameters',
        'Negotiate, Basic realm="x"',
        [{ scheme: 'negotiate', params: {} }, basic({ realm: 'x' })],
      ],
      [
        'an error parameter',
        `Bearer realm="https://r.io/t",error="insufficient_scope",scope="${scope}"`,
        [bearer({ realm: 'https://r.io/t', error: 'insufficient_scope', scope })],
      ],
    ];
    it.each(cases)('parses %s', (_name, header, expected) => {
      expect(parseWwwAuthenticate(header)).toEqual(expected);
    });
  });

  describe('when the header is empty or missing', () => {
    it.each([null, undefined, ''])('returns [] for %j', (header) => {
      expect(parseWwwAuthenticate(header)).toEqual([]);
    });
  });

  describe('when the header is garbage', () => {
    it.each([
      '=',
      ',,,',
      '"',
      '"unterminated',
      'Bearer realm="unterminated',
      'Bearer realm=',
      'Bearer realm=,',
      '===',
      '\u0000\u0001\u00ff',
      'ü, ö="x"',
      '\\',
      'Bearer realm="a\\',
      'realm="orphan param"',
      '<>;;;@@@',
    ])('does not throw for %j and returns well-formed challenges', (header) => {
      const out = parseWwwAuthenticate(header);
      expect(Array.isArray(out)).toBe(true);
      for (const c of out) {
        expect(c.scheme).toMatch(/^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
        for (const v of Object.values(c.params)) expect(typeof v).toBe('string');
      }
    });

    it('drops parameters that appear before any scheme', () => {
      expect(parseWwwAuthenticate('realm="x", Basic realm="y"')).toEqual([
        { scheme: 'basic', params: { realm: 'y' } },
      ]);
    });
  });
});

describe('mergeScopes', () => {
  describe('when merging', () => {
    const cases: Array<[string, string[], string[]]> = [
      ['nothing', [], []],
      ['a single scope', ['repository:a/b:pull'], ['repository:a/b:pull']],
      ['actions per resource', ['repository:a/b:pull', 'repository:a/b:push'], ['repository:a/b:pull,push']],
      ['unsorted actions', ['repository:a:push,pull'], ['repository:a:pull,push']],
      ['duplicates', ['repository:a:pull', 'repository:a:pull,pull'], ['repository:a:pull']],
      [
        'resources with a registry port',
        ['repository:localhost:5000/a:pull', 'repository:localhost:5000/a:push'],
        ['repository:localhost:5000/a:pull,push'],
      ],
      ['* wins', ['repository:a:pull', 'repository:a:*', 'repository:a:push'], ['repository:a:*']],
      [
        'several resources, sorted',
        ['repository:z:pull', 'registry:catalog:*', 'repository:a:push'],
        ['registry:catalog:*', 'repository:a:push', 'repository:z:pull'],
      ],
      [
        'space-separated scopes in one string',
        ['repository:b:pull repository:a:pull', 'repository:b:push'],
        ['repository:a:pull', 'repository:b:pull,push'],
      ],
      ['malformed scopes without a colon', ['garbage', '', 'repository:a:pull'], ['repository:a:pull']],
      ['empty actions are ignored', ['repository:a:pull,,push,'], ['repository:a:pull,push']],
    ];
    it.each(cases)('handles %s', (_name, input, expected) => {
      expect(mergeScopes(input)).toEqual(expected);
    });

    it('accepts any iterable', () => {
      expect(mergeScopes(new Set(['repository:a:push', 'repository:a:pull']))).toEqual([
        'repository:a:pull,push',
      ]);
    });
  });
});

describe('repositoryScope', () => {
  describe('when building scopes', () => {
    it.each<[string, string[], string]>([
      ['a/b', ['pull'], 'repository:a/b:pull'],
      ['a/b', ['pull', 'push'], 'repository:a/b:pull,push'],
      ['library/nginx', ['*'], 'repository:library/nginx:*'],
    ])('%s with %j → %s', (repo, actions, expected) => {
      expect(repositoryScope(repo, ...actions)).toBe(expected);
      expect(mergeScopes([repositoryScope(repo, ...actions)])).toEqual([expected]);
    });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);

  describe('when the value is valid', () => {
    it.each<[string, number]>([
      ['0', 0],
      ['1', 1000],
      ['120', 120_000],
      ['  7  ', 7000],
      ['Wed, 01 Jan 2025 12:00:30 GMT', 30_000],
      ['Wed, 01 Jan 2025 12:05:00 GMT', 300_000],
      ['Wed, 01 Jan 2025 12:00:00 GMT', 0],
      ['Tue, 31 Dec 2024 23:59:59 GMT', 0],
      ['Sun, 06 Nov 1994 08:49:37 GMT', 0],
    ])('%j → %i ms', (value, ms) => {
      expect(parseRetryAfter(value, now)).toBe(ms);
    });
  });

  describe('when the value is absent or garbage', () => {
    it.each([null, undefined, '', '   ', '-5', '1.5', '1e3', 'soon', 'later', '0x10', '10 20'])(
      '%j → undefined',
      (value) => {
        expect(parseRetryAfter(value, now)).toBeUndefined();
      },
    );

    it.each(['abc 2020', 'retry 12'])('%j (not an HTTP-date) → undefined', (value) => {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    });
  });
});

describe('backoffDelay', () => {
  describe('when random is fixed at the midpoint (no jitter effect)', () => {
    const policy: RetryPolicy = { baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.2 };
    it.each<[number, number]>([
      [1, 100],
      [2, 200],
      [3, 400],
      [4, 800],
      [5, 1000],
      [30, 1000],
      [5000, 1000],
    ])('attempt %i waits %i ms', (attempt, ms) => {
      expect(backoffDelay(attempt, policy, () => 0.5)).toBe(ms);
    });

    it('uses the defaults 250 ms base and 30 s cap', () => {
      expect(backoffDelay(1, {}, () => 0.5)).toBe(250);
      expect(backoffDelay(3, {}, () => 0.5)).toBe(1000);
      expect(backoffDelay(20, {}, () => 0.5)).toBe(30_000);
    });
  });

  describe('when jitter applies', () => {
    it.each<[number, number, number]>([
      [0, 0.2, 80],
      [0.999_999, 0.2, 120],
      [0.25, 0.2, 90],
      [0, 0, 100],
      [0.9, 0, 100],
      [0, 1, 0],
    ])('random %f with jitter %f gives %i ms', (r, jitter, ms) => {
      expect(backoffDelay(1, { baseDelayMs: 100, jitter }, () => r)).toBe(ms);
    });

    it('stays within ±jitter of the exponential value', () => {
      for (let attempt = 1; attempt <= 6; attempt++) {
        for (const r of [0, 0.1, 0.5, 0.9, 0.999]) {
          const d = backoffDelay(attempt, { baseDelayMs: 50, maxDelayMs: 60_000, jitter: 0.3 }, () => r);
          const raw = 50 * 2 ** (attempt - 1);
          expect(d).toBeGreaterThanOrEqual(Math.floor(raw * 0.7));
          expect(d).toBeLessThanOrEqual(Math.ceil(raw * 1.3));
        }
      }
    });

    it.each([0, 0.5, 0.999])('never exceeds maxDelayMs ("longest backoff") with random %f', (r) => {
      expect(
        backoffDelay(12, { baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.2 }, () => r),
      ).toBeLessThanOrEqual(1000);
    });
  });
});

describe('sleep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('when not aborted', () => {
    it('resolves after the delay', async () => {
      vi.useFakeTimers();
      let done = false;
      const p = sleep(1000).then(() => {
        done = true;
      });
      await vi.advanceTimersByTimeAsync(999);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await p;
      expect(done).toBe(true);
    });

    it('removes its abort listener once resolved', async () => {
      const controller = new AbortController();
      const add = vi.spyOn(controller.signal, 'addEventListener');
      const remove = vi.spyOn(controller.signal, 'removeEventListener');
      await expect(sleep(1, controller.signal)).resolves.toBeUndefined();
      expect(add).toHaveBeenCalledWith('abort', expect.any(Function), { once: true });
      expect(remove).toHaveBeenCalledWith('abort', add.mock.calls[0]![1]);
      controller.abort(new Error('late'));
    });
  });

  describe('when aborted', () => {
    it('rejects with the reason of an already aborted signal', async () => {
      const reason = new Error('stop');
      await expect(sleep(60_000, AbortSignal.abort(reason))).rejects.toBe(reason);
    });

    it('rejects with the reason when aborted while waiting', async () => {
      vi.useFakeTimers();
      const controller = new AbortController();
      const reason = { custom: 'reason' };
      const p = sleep(60_000, controller.signal);
      await vi.advanceTimersByTimeAsync(10);
      controller.abort(reason);
      await expect(p).rejects.toBe(reason);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('rejects with the default AbortError when no reason is given', async () => {
      const controller = new AbortController();
      const p = sleep(60_000, controller.signal);
      controller.abort();
      await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    });
  });
});

describe('isRetryableStatus', () => {
  describe('when classifying statuses', () => {
    const retryable = [408, 429, 500, 502, 503, 504, 599];
    const permanent = [200, 204, 301, 400, 401, 403, 404, 409, 499, 501, 505, 600];
    it.each<[number, boolean]>([
      ...retryable.map((s): [number, boolean] => [s, true]),
      ...permanent.map((s): [number, boolean] => [s, false]),
    ])('%i → %s', (status, retryable) => {
      expect(isRetryableStatus(status)).toBe(retryable);
    });
  });
});
