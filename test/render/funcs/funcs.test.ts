/**
 * Direct tests of the function tables: value kinds, random/crypto output shapes,
 * Go-produced crypto vectors, bounds and map-key safety. Exact template output is
 * covered by golden.test.ts / helm-diff.test.ts.
 */
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE_BOUND_FUNCS, helmFuncs, sprigFuncs } from '../../../src/render/funcs/index.js';
import { withMethods } from '../../../src/render/template/methods.js';
import { type GoMap, newGoMap } from '../../../src/render/template/value.js';
import { isChartproofError } from '../../../src/errors.js';
import { call, render, renderError } from './helpers.js';

describe('function tables', () => {
  it('leaves env/expandenv out and include/tpl to the engine', () => {
    const sprig = sprigFuncs();
    const helm = helmFuncs();
    expect(Object.hasOwn(sprig, 'env')).toBe(false);
    expect(Object.hasOwn(helm, 'expandenv')).toBe(false);
    for (const n of ENGINE_BOUND_FUNCS) expect(Object.hasOwn(helm, n)).toBe(false);
    expect(Object.hasOwn(helm, 'toYaml')).toBe(true);
    expect(Object.hasOwn(sprig, 'toYaml')).toBe(false);
  });

  const reference = join(process.cwd(), '..', 'shared', 'docs', 'reference', 'helm-template-functions.md');
  if (!existsSync(reference)) console.warn(`function-name reference check skipped: ${reference} not found`);
  it.skipIf(!existsSync(reference))(
    'defines every Sprig and Helm v4.1 function name of the reference list',
    () => {
      const text = readFileSync(reference, 'utf8');
      const sections = text.split(/^## /m).filter((s) => /^(Sprig|Helm v3|Helm v4 extras)/.test(s));
      const names = sections.flatMap((s) => [...s.matchAll(/^\| (\w+) \|/gm)].map((m) => m[1]!));
      expect(names.length).toBeGreaterThan(200);
      const helm = helmFuncs();
      const missing = names.filter(
        (n) =>
          !Object.hasOwn(helm, n) &&
          !['env', 'expandenv', 'include', 'tpl', 'mustToToml', 'name'].includes(n),
      );
      expect(missing).toEqual([]);
    },
  );
});

describe('Go value kinds', () => {
  it('returns int64 as bigint and float64 as number', () => {
    expect(call('add', 1n, 2.5, '3')).toBe(6n);
    expect(call('addf', 1n, 2.5)).toBe(3.5);
    expect(call('until', 3n)).toEqual([0n, 1n, 2n]);
    expect(call('atoi', '7')).toBe(7n);
    expect(call('int', 2 ** 70)).toBe(-9223372036854775808n); // Go's int64(float) overflow on amd64
    expect(call('add', 9223372036854775807n, 1n)).toBe(-9223372036854775808n); // wraps like Go
  });

  it('keeps __proto__ and constructor as ordinary dict keys', () => {
    const d = call('dict', '__proto__', 1n, 'constructor', 2n);
    expect(Object.getPrototypeOf(d)).toBe(null);
    expect(call('hasKey', d, '__proto__')).toBe(true);
    expect(call('get', d, 'constructor')).toBe(2n);
    expect(call('hasKey', newGoMap(), 'toString')).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    call('merge', newGoMap(), call('dict', '__proto__', call('dict', 'polluted', true)));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('sorts keys (Go map order is random; chartproof documents sorted)', () => {
    expect(call('keys', call('dict', 'b', 1n, 'a', 2n, 'c', 3n))).toEqual(['a', 'b', 'c']);
    expect(call('values', call('dict', 'b', 1n, 'a', 2n))).toEqual([2n, 1n]);
  });

  it('merges like mergo: nested maps are shared with the source (aliasing)', () => {
    const src = call('dict', 'n', call('dict', 'x', 1n));
    const dst = call('merge', newGoMap(), src) as Record<string, unknown>;
    expect(dst.n).toBe((src as Record<string, unknown>).n);
  });
});

describe('random and crypto shapes', () => {
  it('random strings use the goutils alphabets', () => {
    expect(call('randAlphaNum', 64n)).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(call('randAlpha', 64n)).toMatch(/^[A-Za-z]{64}$/);
    expect(call('randNumeric', 64n)).toMatch(/^[0-9]{64}$/);
    expect(call('randAscii', 64n)).toMatch(/^[\x20-\x7e]{64}$/);
    expect(call('randAlphaNum', -1n)).toBe('');
    expect(call('randAlphaNum', 8n)).not.toBe((call('randAlphaNum', 8n) as string) + 'x');
  });

  it('uuidv4, randBytes, randInt and shuffle have Go shapes', () => {
    expect(call('uuidv4')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Buffer.from(call('randBytes', 12n) as string, 'base64').length).toBe(12);
    for (let i = 0; i < 50; i++) {
      const r = call('randInt', -3n, 4n) as bigint;
      expect(r >= -3n && r < 4n).toBe(true);
    }
    expect([...(call('shuffle', 'hello') as string)].sort().join('')).toBe('ehllo');
    expect(renderError('{{ randInt 3 3 }}')).toContain('invalid argument to Intn');
  });

  it('decrypts ciphertexts produced by Helm (Go) and round-trips its own', () => {
    // Produced by `helm template` v4.1.4 with encryptAES.
    expect(
      call('decryptAES', 'secret', 'vZK4QwweN80msYimPeTA7g4guVXI50Cgvdusq2mr8HFq8DJnRFXDlwn5JQuWdkrQ'),
    ).toBe('hello world, this is sprig');
    expect(
      call(
        'decryptAES',
        'a-very-long-password-that-exceeds-32-bytes!!',
        '/gmgqSECgWdR4FGiMEU8w5aLciJMk+QQlBCE0E6j/vk=',
      ),
    ).toBe('x');
    const c = call('encryptAES', 'pw', 'data') as string;
    expect(Buffer.from(c, 'base64').length).toBe(32);
    expect(call('decryptAES', 'pw', c)).toBe('data');
  });

  it('genPrivateKey writes the PEM block types sprig writes', () => {
    const ec = call('genPrivateKey', 'ecdsa') as string;
    expect(ec).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    expect(createPrivateKey(ec).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const ed = call('genPrivateKey', 'ed25519') as string;
    expect(ed).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(createPrivateKey(ed).asymmetricKeyType).toBe('ed25519');
    expect(call('genPrivateKey', 'nope')).toBe('Unknown type nope');
  });

  it("genPrivateKey dsa writes sprig's DSA PRIVATE KEY layout (0, p, q, g, y, x)", () => {
    const pem = call('genPrivateKey', 'dsa') as string;
    expect(pem).toMatch(/^-----BEGIN DSA PRIVATE KEY-----\n/);
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\n/g, ''), 'base64');
    const ints: bigint[] = [];
    let i = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
    while (i < der.length) {
      let l = der[i + 1]!;
      let h = 2;
      if (l & 0x80) {
        const n = l & 0x7f;
        l = 0;
        for (let k = 0; k < n; k++) l = l * 256 + der[i + 2 + k]!;
        h += n;
      }
      ints.push(BigInt(`0x${der.subarray(i + h, i + h + l).toString('hex') || '0'}`));
      i += h + l;
    }
    const [version, p, q, g, y, x] = ints as [bigint, bigint, bigint, bigint, bigint, bigint];
    expect(ints.length).toBe(6);
    expect(version).toBe(0n);
    expect(p.toString(2).length).toBe(2048);
    expect(q.toString(2).length).toBe(256);
    let r = 1n;
    let b = g;
    for (let e = x; e > 0n; e >>= 1n) {
      if (e & 1n) r = (r * b) % p;
      b = (b * b) % p;
    }
    expect(r).toBe(y);
  }, 60_000);

  it('genPrivateKey rsa is a 4096-bit PKCS#1 key', () => {
    const rsa = call('genPrivateKey', 'rsa') as string;
    expect(rsa).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(createPrivateKey(rsa).asymmetricKeyDetails?.modulusLength).toBe(4096);
  }, 60_000);
});

describe('bounds', () => {
  const isLimit = (f: () => unknown): boolean => {
    try {
      f();
    } catch (e) {
      return isChartproofError(e, 'RENDER_LIMIT');
    }
    return false;
  };
  it('refuses huge results instead of exhausting memory', () => {
    expect(isLimit(() => call('repeat', 1n << 40n, 'ab'))).toBe(true);
    expect(isLimit(() => call('until', 1n << 40n))).toBe(true);
    expect(isLimit(() => call('indent', 1n << 40n, 'x'))).toBe(true);
    expect(isLimit(() => call('randAlpha', 1n << 40n))).toBe(true);
  });
  it('bounds YAML alias expansion in fromYaml', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${prev}`).join(', ')}]`,
      );
    }
    expect(isLimit(() => call('fromYaml', levels.join('\n')))).toBe(true);
  });
});

describe('Helm specifics', () => {
  it('wraps required and fail messages in Helm error markers', () => {
    expect(renderError('{{ required "need x" nil }}')).toContain(
      'error calling required: HELM_ERR_STARTneed xHELM_ERR_END',
    );
    expect(renderError('{{ required "need y" "" }}')).toContain('HELM_ERR_STARTneed yHELM_ERR_END');
    expect(render('{{ required "ok" 0 }}')).toBe('0');
    expect(renderError('{{ fail "stop" }}')).toContain('error calling fail: HELM_ERR_STARTstopHELM_ERR_END');
  });
  it('rejects named map types in dig like Go (Helm v4 .Values is common.Values)', () => {
    const values = withMethods(call('dict', 'a', call('dict', 'b', 1n)) as GoMap, 'common.Values', {});
    expect(renderError('{{ dig "a" "b" "d" . }}', values)).toContain(
      'error calling dig: interface conversion: interface {} is common.Values, not map[string]interface {}',
    );
    expect(render('{{ dig "a" "b" "d" (merge (dict) .) }}', values)).toBe('1');
  });
  it('answers lookup with an empty map and getHostByName with ""', () => {
    expect(render('{{ lookup "v1" "Secret" "ns" "n" | len }}')).toBe('0');
    expect(render('{{ getHostByName "example.com" | quote }}')).toBe('""');
  });
  it('uses missing values like nil', () => {
    expect(render('{{ .missing | default "d" }}', newGoMap())).toBe('d');
    expect(render('{{ toYaml .missing }}', newGoMap())).toBe('null');
  });
});
