/**
 * Hostile inputs for classic chart repositories and Helm provenance files: a keyring
 * key that is no longer valid, index documents that try to bend the parser.
 */
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { provenanceMessageBlock, verifyProvenance } from '../../src/chart/provenance.js';
import {
  archiveFileName,
  downloadRepoEntry,
  parseRepoIndex,
  resolveRepoChartVersion,
} from '../../src/chart/repo.js';
import { RegistryClient } from '../../src/oci/client.js';
import type { ChartMetadata } from '../../src/chart/types.js';
import { sha256Hex } from '../../src/internal/hash.js';
import { expectChartproofError as rejects } from '../helpers/expect-error.js';

const DAY = 86_400_000;
const YEAR = 365 * DAY;
const ARCHIVE = new Uint8Array([1, 2, 3, 4]);
const FILE = 'a-1.0.0.tgz';
const META = { apiVersion: 'v2', name: 'a', version: '1.0.0' } as ChartMetadata;
const USER = { name: 'Test Signer', email: 'signer@example.com' };

async function clearsign(key: openpgp.PrivateKey, date: Date): Promise<string> {
  const text = provenanceMessageBlock(META, FILE, sha256Hex(ARCHIVE));
  return openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: key, date });
}

describe('verifyProvenance: keys no longer valid now (helm verify: "openpgp: key expired")', () => {
  it('rejects a signature made while the key was valid when the key has expired since', async () => {
    const now = Date.now();
    const { privateKey, publicKey } = await openpgp.generateKey({
      userIDs: [USER],
      date: new Date(now - 2 * YEAR),
      keyExpirationTime: YEAR / 1000,
      format: 'object',
    });
    const prov = await clearsign(privateKey, new Date(now - 1.5 * YEAR));
    await rejects(
      verifyProvenance(ARCHIVE, prov, publicKey.armor(), { fileName: FILE }),
      'SIGNATURE_INVALID',
      /signature verification failed: the signing key is not valid now/,
    );
  });

  it('rejects a signature by a signing subkey that has expired since', async () => {
    const now = Date.now();
    const { privateKey, publicKey } = await openpgp.generateKey({
      userIDs: [USER],
      date: new Date(now - 2 * YEAR),
      subkeys: [{ sign: true, keyExpirationTime: YEAR / 1000 }],
      format: 'object',
    });
    const prov = await clearsign(privateKey, new Date(now - 1.5 * YEAR));
    // openpgp.js signs with the signing subkey when there is one.
    const sig = await openpgp.readCleartextMessage({ cleartextMessage: prov });
    const issuer = sig.getSigningKeyIDs()[0]!.toHex();
    expect(issuer).toBe(privateKey.subkeys[0]!.getKeyID().toHex());
    await rejects(
      verifyProvenance(ARCHIVE, prov, publicKey.armor(), { fileName: FILE }),
      'SIGNATURE_INVALID',
      /signature verification failed: the signing key is not valid now/,
    );
  });

  it('rejects a key revoked after it signed', async () => {
    const now = Date.now();
    const { privateKey } = await openpgp.generateKey({
      userIDs: [USER],
      date: new Date(now - 2 * YEAR),
      format: 'object',
    });
    const prov = await clearsign(privateKey, new Date(now - YEAR));
    const { publicKey: revoked } = await openpgp.revokeKey({ key: privateKey, format: 'object' });
    await rejects(
      verifyProvenance(ARCHIVE, prov, revoked.armor(), { fileName: FILE }),
      'SIGNATURE_INVALID',
      /signature verification failed/,
    );
  });

  it('still accepts a key valid now that signed in the past', async () => {
    const now = Date.now();
    const { privateKey, publicKey } = await openpgp.generateKey({
      userIDs: [USER],
      date: new Date(now - 2 * YEAR),
      keyExpirationTime: (3 * YEAR) / 1000,
      format: 'object',
    });
    const prov = await clearsign(privateKey, new Date(now - YEAR));
    const got = await verifyProvenance(ARCHIVE, prov, publicKey.armor(), { fileName: FILE });
    expect(got.chartHash).toBe(`sha256:${sha256Hex(ARCHIVE)}`);
    expect(got.fingerprint).toBe(publicKey.getFingerprint().toUpperCase());
  });
});

describe('verifyProvenance: clearsign framing tricks (regression guards)', () => {
  const A = new Uint8Array([1]);
  const B = new Uint8Array([2]);
  const sign = async (key: openpgp.PrivateKey, archive: Uint8Array) =>
    openpgp.sign({
      message: await openpgp.createCleartextMessage({
        text: provenanceMessageBlock(META, FILE, sha256Hex(archive)),
      }),
      signingKeys: key,
    });

  it('uses only the signed text of the block the keyring verifies', async () => {
    const good = await openpgp.generateKey({ userIDs: [USER], format: 'object' });
    const evil = await openpgp.generateKey({ userIDs: [USER], format: 'object' });
    const ring = good.publicKey.armor();
    const goodA = await sign(good.privateKey, A);
    const evilB = await sign(evil.privateKey, B);
    const opts = { fileName: FILE };
    // A foreign block first, a trusted one after: the first block is the message.
    await rejects(verifyProvenance(B, `${evilB}\n${goodA}`, ring, opts), 'SIGNATURE_INVALID');
    // A trusted block first: the later block and trailing text are not read.
    await rejects(verifyProvenance(B, `${goodA}\n${evilB}`, ring, opts), 'DIGEST_MISMATCH');
    const trailing = `${goodA}\nfiles:\n  ${FILE}: sha256:${sha256Hex(B)}\n`;
    await rejects(verifyProvenance(B, trailing, ring, opts), 'DIGEST_MISMATCH');
    // The foreign text under the trusted signature.
    const sigPart = goodA.slice(goodA.indexOf('-----BEGIN PGP SIGNATURE-----'));
    const spliced = evilB.slice(0, evilB.indexOf('-----BEGIN PGP SIGNATURE-----')) + sigPart;
    await rejects(verifyProvenance(B, spliced, ring, opts), 'SIGNATURE_INVALID');
    // Armor headers: only a `Hash:` naming the signature's algorithm.
    await rejects(
      verifyProvenance(A, goodA.replace('Hash: SHA512', 'Hash: SHA256'), ring, opts),
      'CHART_INVALID',
    );
    const injected = goodA.replace('Hash: SHA512\n', `Hash: SHA512\nComment: files: {${FILE}: x}\n`);
    await rejects(verifyProvenance(A, injected, ring, opts), 'CHART_INVALID');
    // CRLF line ends are the same signed text.
    const crlf = await verifyProvenance(A, goodA.replace(/\n/g, '\r\n'), ring, opts);
    expect(crlf.chartHash).toBe(`sha256:${sha256Hex(A)}`);
  });
});

describe('parseRepoIndex: a chart or annotation named "__proto__"', () => {
  const yaml = [
    'apiVersion: v1',
    'entries:',
    '  __proto__:',
    '  - name: foo',
    '    version: 1.0.0',
    '    urls: [foo-1.0.0.tgz]',
    '    annotations:',
    '      __proto__: x',
    '  foo:',
    '  - name: foo',
    '    version: 2.0.0',
    '    urls: [foo-2.0.0.tgz]',
    '',
  ].join('\n');

  for (const [form, text] of [
    ['YAML', yaml],
    [
      'JSON',
      '{"apiVersion":"v1","entries":{"__proto__":[{"name":"foo","version":"1.0.0","urls":["foo-1.0.0.tgz"],"annotations":{"__proto__":"x"}}],"foo":[{"name":"foo","version":"2.0.0","urls":["foo-2.0.0.tgz"]}]}}',
    ],
  ] as const) {
    it(`keeps it as an own entry, not the prototype of entries (${form})`, () => {
      const index = parseRepoIndex(text);
      expect(Object.getPrototypeOf(index.entries)).toBe(Object.prototype);
      expect(Object.keys(index.entries).sort()).toEqual(['__proto__', 'foo']);
      const entry = resolveRepoChartVersion(index, '__proto__');
      expect(entry.urls).toEqual(['foo-1.0.0.tgz']);
      const annotations = entry.annotations as Record<string, unknown>;
      expect(Object.getPrototypeOf(annotations)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(annotations, '__proto__')?.value).toBe('x');
    });
  }
});

// Go's encoding/json (Helm's loadIndex, also under sigs.k8s.io/yaml) matches object keys
// to struct fields case-insensitively (`Version`, `URLS`, even `verſion` with U+017F)
// and the last match wins: checked with helm v4.1.4, `helm pull a --version 1.0.0`
// fetched evil.tgz from both indexes below while an exact-key reading picks good.tgz.
describe('parseRepoIndex: keys Helm matches to a field case-insensitively', () => {
  const good = { apiVersion: 'v2', name: 'a', version: '1.0.0', urls: ['good.tgz'] };
  const cases: Array<[string, string]> = [
    [
      'JSON "Version" after "version"',
      JSON.stringify({
        apiVersion: 'v1',
        entries: {
          a: [{ apiVersion: 'v2', name: 'a', version: '9.9.9', Version: '1.0.0', urls: ['evil.tgz'] }, good],
        },
      }),
    ],
    [
      'YAML "verſion" (sorts after "version" in the converted JSON)',
      'apiVersion: v1\nentries:\n  a:\n  - apiVersion: v2\n    name: a\n    version: 9.9.9\n    ver\u017fion: 1.0.0\n    urls: [evil.tgz]\n  - apiVersion: v2\n    name: a\n    version: 1.0.0\n    urls: [good.tgz]\n',
    ],
    [
      'JSON "URLS" after "urls"',
      JSON.stringify({
        apiVersion: 'v1',
        entries: {
          a: [{ apiVersion: 'v2', name: 'a', version: '1.0.0', urls: ['good.tgz'], URLS: ['evil.tgz'] }],
        },
      }),
    ],
    [
      'JSON "Entries" after "entries"',
      JSON.stringify({
        apiVersion: 'v1',
        entries: { a: [good] },
        Entries: { a: [{ ...good, urls: ['evil.tgz'] }] },
      }),
    ],
    [
      'YAML "dige\u017ft" beside "digest"',
      `apiVersion: v1\nentries:\n  a:\n  - apiVersion: v2\n    name: a\n    version: 1.0.0\n    digest: ${'a'.repeat(64)}\n    dige\u017ft: ${'b'.repeat(64)}\n    urls: [good.tgz]\n`,
    ],
  ];
  for (const [label, text] of cases) {
    it(`rejects the index rather than read it unlike Helm: ${label}`, () => {
      let err: unknown;
      try {
        parseRepoIndex(text);
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string } | undefined)?.code).toBe('CHART_INVALID');
      expect(String((err as Error).message)).toMatch(/only in case/);
    });
  }

  it('still accepts unknown fields that are no field spelled otherwise', () => {
    const index = parseRepoIndex(
      JSON.stringify({
        apiVersion: 'v1',
        serverInfo: {},
        entries: { a: [{ ...good, x_custom: 1, 'url-list': [] }] },
      }),
    );
    expect(index.entries.a![0]!.urls).toEqual(['good.tgz']);
  });
});

describe('downloadRepoEntry: hostile index URLs', () => {
  it('reports and returns the URL as fetched, never the raw text (terminal escapes)', async () => {
    const body = new Uint8Array([9, 9, 9]);
    const fetched: string[] = [];
    const fetch = async (input: string | URL) => {
      fetched.push(String(input));
      return new Response(body);
    };
    const client = new RegistryClient({ fetch: fetch as never, retry: { maxRetries: 0 } });
    const raw = 'https://repo.example/x\u001b]8;;https://evil.example\u0007\u001b[2K.tgz';
    const entry = { name: 'a', version: '1.0.0', urls: [raw] };
    try {
      const got = await downloadRepoEntry(client, 'https://repo.example/charts', 'a', entry);
      expect(got.url).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      expect(got.url).toBe(fetched[0]);
      const err = await downloadRepoEntry(client, 'https://repo.example/charts', 'a', {
        ...entry,
        digest: 'a'.repeat(64),
      }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/does not match the index digest/);
      expect(err?.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    } finally {
      await client.close();
    }
  });

  it('fetches nothing for file:, data: or javascript: URLs, nor plain HTTP from an HTTPS repository', async () => {
    const fetched: string[] = [];
    const fetch = async (input: string | URL) => {
      fetched.push(String(input));
      return new Response(new Uint8Array([1]));
    };
    const client = new RegistryClient({ fetch: fetch as never, retry: { maxRetries: 0 } });
    const repo = 'https://repo.example/charts';
    try {
      for (const u of [
        'file:///etc/passwd',
        ' FILE:///etc/passwd',
        'data:,x',
        'javascript:alert(1)',
        '\tfile:x',
      ]) {
        const err = await downloadRepoEntry(client, repo, 'a', {
          name: 'a',
          version: '1.0.0',
          urls: [u],
        }).then(
          () => undefined,
          (e: unknown) => e as { code?: string },
        );
        expect(err?.code, u).toBe('UNSUPPORTED');
      }
      const err = await downloadRepoEntry(client, repo, 'a', {
        name: 'a',
        version: '1.0.0',
        urls: ['http://repo.example/charts/a-1.0.0.tgz'],
      }).then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
      expect(err?.code).toBe('INSECURE_REQUEST');
      expect(fetched).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

describe('parseRepoIndex: duplicate keys (the one-pass check is tested in bounded-parse.test.ts)', () => {
  it('still rejects duplicate keys, at any level (yaml.UnmarshalStrict)', () => {
    for (const text of [
      'apiVersion: v1\nentries:\n  a: []\n  b: []\n  a: []\n',
      'apiVersion: v1\napiVersion: v1\nentries: {}\n',
      'apiVersion: v1\nentries:\n  a:\n  - name: a\n    version: 1.0.0\n    urls: [x]\n    urls: [y]\n',
      'apiVersion: v1\nentries: {a: [], a: []}\n',
    ]) {
      let err: unknown;
      try {
        parseRepoIndex(text);
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string } | undefined)?.code, text).toBe('CHART_INVALID');
      expect(String((err as Error).message), text).toMatch(/unique/);
    }
  });
});

describe('archiveFileName: the name a .prov names the archive by', () => {
  it('is the decoded last path segment, as Helm names the downloaded file', () => {
    expect(archiveFileName('https://charts.example/a/app-1.0.0%2Bbuild.7.tgz?token=x')).toBe(
      'app-1.0.0+build.7.tgz',
    );
    expect(archiveFileName('https://charts.example/app-1.0.0+build.7.tgz')).toBe('app-1.0.0+build.7.tgz');
    expect(archiveFileName('https://charts.example/app%20x.tgz#frag')).toBe('app x.tgz');
    expect(archiveFileName('https://charts.example/bad%E0%A4%A.tgz')).toBe('bad%E0%A4%A.tgz');
  });
});
