import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder, MessageSignatureBundleBuilder, type Signer } from '@sigstore/sign';
import { describe, expect, it } from 'vitest';
import {
  CHECKS,
  loadTrustedRoot,
  parseTrustedRoot,
  type VerificationPolicy,
  verifySigstoreBundle,
} from '../../src/verify/index.js';
import {
  anchoredRegExp,
  assertCertificateIdentity,
  identityMismatch,
  meetsThreshold,
} from '../../src/verify/policy.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable, describeVectors } from '../helpers/vectors.js';

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const read = (...p: string[]) => readFileSync(join(SIGSTORE_VECTORS, ...p), 'utf8');
const json = (...p: string[]) => JSON.parse(read(...p)) as Record<string, unknown>;
/** Runs a synchronous verification as a promise, for expectChartproofError. */
const attempt = (f: () => unknown) => Promise.resolve().then(f);

const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;

describeVectors(sigstoreVectorsAvailable('cosign v3.0.4 bundle'))(
  'cosign v3.0.4 key-signed bundle (vector 1b)',
  () => {
    const dir = ['cosign-oci', 'cosign-v3.0.4-bundle-referrer'];
    const bundle = () => json(...dir, 'bundle-sigstore.json');
    const key = read(...dir, 'bundle-cosign.pub');
    const digest = read(...dir, 'subject-digest.txt').trim();
    const trustedRoot = json('conformance', 'production_trusted_root.json');

    it('verifies with the key, the production trusted root and the tlog required', () => {
      const r = verifySigstoreBundle(bundle(), { digest, policy: { keys: [key], trustedRoot } });
      expect(r.signer).toEqual({ kind: 'key', keyHint: '98n9we7FWgY2iBPaTrUAKorkXZduZLcsRIaF6c81jQc=' });
      expect(r.content).toBe('dsse-envelope');
      expect(r.tlogEntries).toBe(1);
      expect(r.checks).toEqual([CHECKS.claims, CHECKS.tlogOffline, CHECKS.publicKey]);
      expect(r.timestamps.map((t) => t.kind).sort()).toEqual(['timestamp-authority', 'transparency-log']);
      expect(r.statement?.predicateType).toBe('https://sigstore.dev/cosign/sign/v1');
      expect(r.statement?.subject[0]?.digest.sha256).toBe(digest.slice('sha256:'.length));
    });

    it('verifies with the tlog skipped and no trusted root (air-gapped key)', () => {
      const r = verifySigstoreBundle(bundle(), { digest, policy: { keys: [key], tlog: 'skip' } });
      expect(r.tlogEntries).toBe(0);
      expect(r.timestamps).toEqual([]);
      expect(r.checks).toEqual([CHECKS.claims, CHECKS.publicKey]);
    });

    it('ignores the key hint for selection but only accepts policy keys', () => {
      const b = bundle();
      (b.verificationMaterial as { publicKey: { hint: string } }).publicKey.hint = 'bm90IGEgaGludA==';
      const r = verifySigstoreBundle(b, { digest, policy: { keys: [otherKey, key], trustedRoot } });
      expect(r.signer.keyHint).toBe('98n9we7FWgY2iBPaTrUAKorkXZduZLcsRIaF6c81jQc=');
    });

    it('fails with another key', async () => {
      await expectChartproofError(
        attempt(() => verifySigstoreBundle(bundle(), { digest, policy: { keys: [otherKey], trustedRoot } })),
        'SIGNATURE_INVALID',
      );
      await expectChartproofError(
        attempt(() => verifySigstoreBundle(bundle(), { digest, policy: { keys: [otherKey], tlog: 'skip' } })),
        'SIGNATURE_INVALID',
        /signature verification failed/,
      );
    });

    it('fails for another subject digest', async () => {
      await expectChartproofError(
        attempt(() =>
          verifySigstoreBundle(bundle(), {
            digest: `sha256:${'0'.repeat(64)}`,
            policy: { keys: [key], trustedRoot },
          }),
        ),
        'SIGNATURE_INVALID',
        /no in-toto subject has the artifact's digest/,
      );
    });

    it('fails when a required annotation is absent, passes with none required', async () => {
      await expectChartproofError(
        attempt(() =>
          verifySigstoreBundle(bundle(), {
            digest,
            policy: { keys: [key], trustedRoot, annotations: { env: 'prod' } },
          }),
        ),
        'SIGNATURE_INVALID',
        /required annotation\(s\) env=prod/,
      );
      expect(
        verifySigstoreBundle(bundle(), { digest, policy: { keys: [key], trustedRoot, annotations: {} } })
          .verified,
      ).toBe(true);
    });

    it('fails when the tlog entry does not verify (wrong trusted root)', async () => {
      const staging = json(
        'conformance',
        'bundle-verify',
        'managed-key-and-trusted-root',
        'trusted_root.json',
      );
      // The production root verifies it (above); a staging-only root must not.
      await expectChartproofError(
        attempt(() =>
          verifySigstoreBundle(bundle(), { digest, policy: { keys: [key], trustedRoot: staging } }),
        ),
        'SIGNATURE_INVALID',
      );
    });

    it('rejects unusable options', async () => {
      await expectChartproofError(
        attempt(() => verifySigstoreBundle(bundle(), { digest, policy: { keys: [key] } })),
        'INVALID_ARGUMENT',
        /trusted root is required/,
      );
      await expectChartproofError(
        attempt(() => verifySigstoreBundle(bundle(), { policy: { keys: [key], tlog: 'skip' } })),
        'INVALID_ARGUMENT',
        /artifact or a digest/,
      );
      await expectChartproofError(
        attempt(() =>
          verifySigstoreBundle(bundle(), {
            artifact: new Uint8Array([1]),
            digest,
            policy: { keys: [key], tlog: 'skip' },
          }),
        ),
        'INVALID_ARGUMENT',
      );
      await expectChartproofError(
        attempt(() =>
          verifySigstoreBundle(bundle(), { digest, policy: { keys: [key], tlog: 'skip', threshold: 0 } }),
        ),
        'INVALID_ARGUMENT',
      );
      await expectChartproofError(
        attempt(() => verifySigstoreBundle(bundle(), { digest, policy: {} })),
        'INVALID_ARGUMENT',
        /no keys and no certificate identities/,
      );
      await expectChartproofError(
        attempt(() =>
          verifySigstoreBundle(bundle(), { digest, policy: { keys: ['not a pem'], tlog: 'skip' } }),
        ),
        'KEY_INVALID',
      );
    });

    it('a key-signed bundle is not accepted by an identity-only policy', async () => {
      await expectChartproofError(
        attempt(() =>
          verifySigstoreBundle(bundle(), {
            digest,
            policy: { identities: [{ subject: 'a', issuer: 'b' }], trustedRoot },
          }),
        ),
        'SIGNATURE_INVALID',
        /policy names no keys/,
      );
    });
  },
);

describeVectors(sigstoreVectorsAvailable('cosign keyless attestation'))(
  'cosign keyless DSSE bundle (oci-attestation)',
  () => {
    const bundle = () => json('cosign', 'bundles', 'oci-attestation.sigstore.json');
    const trustedRoot = json('cosign', 'bundles', 'trusted_root_pgi.json');
    // The subject digest, read from the vector's statement (not from our code).
    const payload = JSON.parse(
      Buffer.from((bundle().dsseEnvelope as { payload: string }).payload, 'base64').toString('utf8'),
    ) as { subject: Array<{ digest: { sha256: string } }> };
    const digest = `sha256:${payload.subject[0]!.digest.sha256}`;
    const verify = (policy: Omit<VerificationPolicy, 'trustedRoot'>) =>
      verifySigstoreBundle(bundle(), { digest, policy: { ...policy, trustedRoot } });

    it('has the subject digest MANIFEST.md names', () => {
      expect(digest).toMatch(/^sha256:732112270d7e[0-9a-f]{46}280aa4$/);
    });

    it('verifies the exact identity and issuer', () => {
      const r = verify({
        identities: [{ subject: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' }],
      });
      expect(r.signer).toEqual({
        kind: 'certificate',
        subject: 'cody@soyland.com',
        issuer: 'https://github.com/login/oauth',
      });
      expect(r.checks).toEqual([CHECKS.claims, CHECKS.tlogOffline, CHECKS.certificate]);
      expect(r.tlogEntries).toBe(1);
      expect(r.timestamps).toHaveLength(1);
      expect(r.statement?._type).toBe('https://in-toto.io/Statement/v0.1');
    });

    it('verifies regular expressions matching the whole values', () => {
      expect(
        verify({
          identities: [
            { subjectRegExp: '.*@soyland\\.com', issuerRegExp: /https:\/\/github\.com\/login\/.*/ },
          ],
        }).verified,
      ).toBe(true);
    });

    it('accepts when any one of several identities matches', () => {
      expect(
        verify({
          identities: [
            { subject: 'someone@else.com', issuer: 'https://github.com/login/oauth' },
            { subject: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' },
          ],
        }).signer.subject,
      ).toBe('cody@soyland.com');
    });

    it.each([
      [
        'wrong identity',
        { subject: 'someone@soyland.com', issuer: 'https://github.com/login/oauth' },
        /subject/,
      ],
      ['wrong issuer', { subject: 'cody@soyland.com', issuer: 'https://accounts.google.com' }, /issuer/],
      [
        'partial subject regexp',
        { subjectRegExp: 'cody@soyland', issuer: 'https://github.com/login/oauth' },
        /subject/,
      ],
      ['partial issuer regexp', { subject: 'cody@soyland.com', issuerRegExp: 'github\\.com' }, /issuer/],
      [
        'issuer given as subject',
        { subject: 'https://github.com/login/oauth', issuer: 'https://github.com/login/oauth' },
        /subject/,
      ],
    ])('fails for a %s', async (_, identity, message) => {
      await expectChartproofError(
        attempt(() => verify({ identities: [identity] })),
        'SIGNATURE_INVALID',
        message,
      );
    });

    it('fails for another subject digest and without a trusted root', async () => {
      const identities = [{ subject: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' }];
      await expectChartproofError(
        attempt(() =>
          verifySigstoreBundle(bundle(), {
            digest: `sha256:${'1'.repeat(64)}`,
            policy: { identities, trustedRoot },
          }),
        ),
        'SIGNATURE_INVALID',
      );
      await expectChartproofError(
        attempt(() => verifySigstoreBundle(bundle(), { digest, policy: { identities, tlog: 'skip' } })),
        'INVALID_ARGUMENT',
      );
    });

    it('needs a timestamp for the certificate when the tlog is skipped', async () => {
      await expectChartproofError(
        attempt(() =>
          verify({
            identities: [{ subject: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' }],
            tlog: 'skip',
          }),
        ),
        'SIGNATURE_INVALID',
        /no verifiable timestamp/,
      );
    });
  },
);

// ---------------------------------------------------------------------------------------------
// Bundles built here with @sigstore/sign and a local key (no tlog, no TSA).

function localSigner(privateKey: KeyObject, publicKey: KeyObject, hash = 'sha256'): Signer {
  const hint = createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
  return {
    sign: async (data) => ({
      signature: sign(hash, data, privateKey),
      key: {
        $case: 'publicKey',
        publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        hint,
      },
    }),
  };
}

/** The fields of a serialized bundle the tamper tests touch. */
type BundleJson = {
  dsseEnvelope: { payload: string; signatures: Array<{ sig: string }> };
  messageSignature: { signature: string };
};

const ecKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const artifact = new TextEncoder().encode('chart bytes\n');

function statementFor(hex: string, annotations?: Record<string, string>) {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ digest: { sha256: hex }, ...(annotations ? { annotations } : {}) }],
    predicateType: 'https://sigstore.dev/cosign/sign/v1',
    predicate: {},
  };
}

async function dsseBundle(statement: unknown, type = 'application/vnd.in-toto+json') {
  const b = await new DSSEBundleBuilder({
    signer: localSigner(ecKeys.privateKey, ecKeys.publicKey),
    witnesses: [],
  }).create({ data: Buffer.from(JSON.stringify(statement)), type });
  return bundleToJSON(b) as unknown as BundleJson;
}

const skip: VerificationPolicy = { keys: [ecKeys.publicKey], tlog: 'skip' };

describe('locally signed DSSE bundles', () => {
  it('verify with the key; the statement is returned', async () => {
    const b = await dsseBundle(statementFor(sha256(artifact)));
    const r = verifySigstoreBundle(JSON.stringify(b), { artifact, policy: skip });
    expect(r.statement?.subject[0]?.digest.sha256).toBe(sha256(artifact));
    expect(r.checks).toEqual([CHECKS.claims, CHECKS.publicKey]);
    expect(r.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
  });

  it.skipIf(!sigstoreVectorsAvailable('tlog modes (production trusted root)'))(
    'tlog modes: if-present passes without entries, require fails',
    async () => {
      const b = await dsseBundle(statementFor(sha256(artifact)));
      const trustedRoot = JSON.parse(
        readFileSync(join(SIGSTORE_VECTORS, 'conformance', 'production_trusted_root.json'), 'utf8'),
      );
      expect(
        verifySigstoreBundle(b, {
          artifact,
          policy: { keys: [ecKeys.publicKey], trustedRoot, tlog: 'if-present' },
        }).tlogEntries,
      ).toBe(0);
      await expectChartproofError(
        attempt(() =>
          verifySigstoreBundle(b, { artifact, policy: { keys: [ecKeys.publicKey], trustedRoot } }),
        ),
        'SIGNATURE_INVALID',
        /tlog entries/,
      );
    },
  );

  it('checks annotations against the matching subject', async () => {
    const b = await dsseBundle(statementFor(sha256(artifact), { env: 'prod', team: 'a' }));
    const r = verifySigstoreBundle(b, { artifact, policy: { ...skip, annotations: { env: 'prod' } } });
    expect(r.checks).toContain(CHECKS.annotations);
    await expectChartproofError(
      attempt(() => verifySigstoreBundle(b, { artifact, policy: { ...skip, annotations: { env: 'dev' } } })),
      'SIGNATURE_INVALID',
    );
  });

  it('fails when a payload byte is changed', async () => {
    const b = await dsseBundle(statementFor(sha256(artifact)));
    const payload = Buffer.from(b.dsseEnvelope.payload, 'base64');
    // Keep it a valid statement: change a letter of the predicate type.
    const i = payload.indexOf('cosign/sign');
    payload[i] = 'C'.charCodeAt(0);
    b.dsseEnvelope.payload = payload.toString('base64');
    await expectChartproofError(
      attempt(() => verifySigstoreBundle(b, { artifact, policy: skip })),
      'SIGNATURE_INVALID',
      /signature verification failed/,
    );
  });

  it('fails for a statement about another artifact', async () => {
    const b = await dsseBundle(statementFor(sha256('something else')));
    await expectChartproofError(
      attempt(() => verifySigstoreBundle(b, { artifact, policy: skip })),
      'SIGNATURE_INVALID',
      /no in-toto subject/,
    );
  });

  it('fails when the signature is changed', async () => {
    const b = await dsseBundle(statementFor(sha256(artifact)));
    const sig = Buffer.from(b.dsseEnvelope.signatures[0]!.sig, 'base64');
    sig[sig.length - 1]! ^= 1;
    b.dsseEnvelope.signatures[0]!.sig = sig.toString('base64');
    await expectChartproofError(
      attempt(() => verifySigstoreBundle(b, { artifact, policy: skip })),
      'SIGNATURE_INVALID',
    );
  });

  it('fails for a non-in-toto payload', async () => {
    const b = await dsseBundle(statementFor(sha256(artifact)), 'application/json');
    await expectChartproofError(
      attempt(() => verifySigstoreBundle(b, { artifact, policy: skip })),
      'SIGNATURE_INVALID',
      /payload type/,
    );
  });
});

describe('locally signed message-signature bundles', () => {
  const cases = [
    ['ECDSA P-256', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['ECDSA P-384', generateKeyPairSync('ec', { namedCurve: 'P-384' })],
    ['ECDSA P-521', generateKeyPairSync('ec', { namedCurve: 'P-521' })],
    ['RSA 2048', generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ] as const;

  async function messageBundle(keys: { privateKey: KeyObject; publicKey: KeyObject }) {
    const b = await new MessageSignatureBundleBuilder({
      signer: localSigner(keys.privateKey, keys.publicKey),
      witnesses: [],
    }).create({ data: Buffer.from(artifact) });
    return bundleToJSON(b) as unknown as BundleJson;
  }

  it.each(cases)('%s: verifies from the artifact and from its digest alone', async (_, keys) => {
    const b = await messageBundle(keys);
    const policy = { keys: [keys.publicKey], tlog: 'skip' as const };
    expect(verifySigstoreBundle(b, { artifact, policy }).content).toBe('message-signature');
    expect(verifySigstoreBundle(b, { digest: `sha256:${sha256(artifact)}`, policy }).verified).toBe(true);
  });

  it.each(cases)('%s: a changed signature fails, also from the digest alone', async (_, keys) => {
    const b = await messageBundle(keys);
    const sig = Buffer.from(b.messageSignature.signature, 'base64');
    sig[sig.length - 2]! ^= 0x40;
    b.messageSignature.signature = sig.toString('base64');
    const policy = { keys: [keys.publicKey], tlog: 'skip' as const };
    await expectChartproofError(
      attempt(() => verifySigstoreBundle(b, { artifact, policy })),
      'SIGNATURE_INVALID',
    );
    await expectChartproofError(
      attempt(() => verifySigstoreBundle(b, { digest: `sha256:${sha256(artifact)}`, policy })),
      'SIGNATURE_INVALID',
    );
  });

  it('fails for another artifact or digest, and with required annotations', async () => {
    const keys = cases[0][1];
    const b = await messageBundle(keys);
    const policy = { keys: [keys.publicKey], tlog: 'skip' as const };
    await expectChartproofError(
      attempt(() => verifySigstoreBundle(b, { artifact: new TextEncoder().encode('other'), policy })),
      'SIGNATURE_INVALID',
    );
    await expectChartproofError(
      attempt(() => verifySigstoreBundle(b, { digest: `sha256:${sha256('other')}`, policy })),
      'SIGNATURE_INVALID',
      /message digest/,
    );
    await expectChartproofError(
      attempt(() => verifySigstoreBundle(b, { artifact, policy: { ...policy, annotations: { a: 'b' } } })),
      'SIGNATURE_INVALID',
      /annotations/,
    );
  });
});

describe('malformed bundles', () => {
  it.each([
    ['truncated JSON text', '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verif'],
    ['JSON bytes that are not JSON', new Uint8Array([0xff, 0x00, 0x7b])],
    ['null', null],
    ['an array', []],
    ['an empty object', {}],
    ['an unknown media type', { mediaType: 'application/vnd.dev.sigstore.bundle+json;version=99.9' }],
  ])('%s fails cleanly', async (_, input) => {
    await expectChartproofError(
      attempt(() => verifySigstoreBundle(input, { artifact, policy: skip })),
      'SIGNATURE_INVALID',
      /malformed bundle/,
    );
  });
});

describe('policy helpers', () => {
  it('anchors regular expressions', () => {
    expect(anchoredRegExp('a|b').test('a')).toBe(true);
    expect(anchoredRegExp('a|b').test('ab')).toBe(false);
    expect(anchoredRegExp(/x.*/gi).test('XYZ')).toBe(true);
    expect(anchoredRegExp(/x/).test('yxy')).toBe(false);
    expect(() => anchoredRegExp('(')).toThrow(/invalid regular expression/);
  });

  it('refuses a policy key cosign would not verify with (RSA under 2048 bits), before reading the bundle', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    await expectChartproofError(
      attempt(() =>
        verifySigstoreBundle(
          {},
          { digest: `sha256:${'a'.repeat(64)}`, policy: { keys: [weak as string], tlog: 'skip' } },
        ),
      ),
      'KEY_UNSUPPORTED',
      /RSA key size 1024/,
    );
    const ok = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    await expect(
      attempt(() =>
        verifySigstoreBundle(
          {},
          { digest: `sha256:${'a'.repeat(64)}`, policy: { keys: [ok as string], tlog: 'skip' } },
        ),
      ),
    ).rejects.not.toMatchObject({ code: 'KEY_UNSUPPORTED' });
  });

  it('refuses a pattern that would break out of the anchoring group', () => {
    // `^(?:alice@example\.com)|(.*)$` would accept every identity.
    expect(() => anchoredRegExp('alice@example\\.com)|(.*')).toThrow(/invalid regular expression/);
    expect(() =>
      assertCertificateIdentity({ subjectRegExp: 'alice@example\\.com)|(.*', issuer: 'https://i' }),
    ).toThrow(/invalid regular expression/);
    expect(anchoredRegExp('[)]|x').test(')')).toBe(true);
  });

  it('anchors a multiline regular expression to the whole value, not to a line', () => {
    // With the `m` flag `^…$` would match one line of a SAN: a certificate naming
    // "attacker@evil.example\nrelease@acme.example" must not match release@acme.example.
    const id = { subjectRegExp: /release@acme\.example/m, issuer: 'https://i' };
    const san = 'attacker@evil.example\nrelease@acme.example';
    expect(anchoredRegExp(id.subjectRegExp).test(san)).toBe(false);
    expect(identityMismatch(id, { subject: san, issuer: 'https://i' })).toMatch(/subject/);
    expect(identityMismatch(id, { subject: 'release@acme.example', issuer: 'https://i' })).toBeUndefined();
  });

  it('matches exact and regexp fields together', () => {
    const id = { subject: 'a@b.c', subjectRegExp: '.*@b\\.c', issuer: 'https://i' };
    expect(identityMismatch(id, { subject: 'a@b.c', issuer: 'https://i' })).toBeUndefined();
    expect(identityMismatch(id, { subject: 'x@b.c', issuer: 'https://i' })).toMatch(/subject/);
    expect(identityMismatch(id, { subject: 'a@b.c', issuer: undefined })).toMatch(/issuer/);
    expect(identityMismatch({ subjectRegExp: 'a', issuerRegExp: '.*' }, { subject: 'a' })).toMatch(/issuer/);
  });

  it('requires a subject and an issuer constraint', () => {
    expect(() => assertCertificateIdentity({ subject: 'a' })).toThrow(/issuer/);
    expect(() => assertCertificateIdentity({ issuer: 'a' })).toThrow(/subject/);
    expect(() => assertCertificateIdentity({ subjectRegExp: '(', issuer: 'a' })).toThrow(
      /regular expression/,
    );
  });

  it('thresholds', () => {
    expect(meetsThreshold(1, {})).toBe(true);
    expect(meetsThreshold(1, { threshold: 2 })).toBe(false);
    expect(() => meetsThreshold(1, { threshold: 1.5 })).toThrow(/threshold/);
  });
});

describeVectors(sigstoreVectorsAvailable('trusted roots'))('trusted roots', () => {
  const prod = () => json('conformance', 'production_trusted_root.json');

  it('loads a trusted_root.json file', async () => {
    const root = await loadTrustedRoot(join(SIGSTORE_VECTORS, 'conformance', 'production_trusted_root.json'));
    expect(root.mediaType).toBe('application/vnd.dev.sigstore.trustedroot+json;version=0.1');
  });

  it('rejects missing, non-JSON and invalid files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chartproof-root-'));
    await expectChartproofError(loadTrustedRoot(join(dir, 'missing.json')), 'IO');
    writeFileSync(join(dir, 'bad.json'), '{"mediaType":');
    await expectChartproofError(loadTrustedRoot(join(dir, 'bad.json')), 'INVALID_ARGUMENT', /not valid JSON/);
    const noStart = prod();
    delete (noStart.tlogs as Array<{ publicKey: { validFor: Record<string, string> } }>)[0]!.publicKey
      .validFor.start;
    writeFileSync(join(dir, 'nostart.json'), JSON.stringify(noStart));
    await expectChartproofError(
      loadTrustedRoot(join(dir, 'nostart.json')),
      'INVALID_ARGUMENT',
      /tlogs\[0\]\.publicKey\.validFor\.start/,
    );
  });

  it('checks the media type and structure', () => {
    expect(() => parseTrustedRoot({ ...prod(), mediaType: 'application/json' })).toThrow(/mediaType/);
    expect(() =>
      parseTrustedRoot({ ...prod(), certificateAuthorities: [{ certChain: { certificates: [] } }] }),
    ).toThrow(/certificateAuthorities\[0\]/);
    expect(() => parseTrustedRoot('x')).toThrow(/not a JSON object/);
  });
});
