import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import {
  fulcioHandler,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
} from '@sigstore/mock';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { MediaType } from '../../src/oci/index.js';
import {
  createKeylessDsseBundle,
  DEFAULT_FULCIO_URL,
  DEFAULT_REKOR_URL,
  identityTokenFromEnv,
  signBundleKeyless,
} from '../../src/sign/keyless.js';
import { findBundles } from '../../src/sign/referrer.js';
import { COSIGN_SIGN_PREDICATE_TYPE, parseInTotoStatement } from '../../src/cosign/statement.js';
import type { MemoryRegistry } from '../../src/testing/index.js';
import { ChartVerificationError, verifyChart } from '../../src/verify/chart.js';
import type { TrustedRootJson, VerificationPolicy } from '../../src/verify/policy.js';
import { captureIo } from '../helpers/cli-io.js';
import {
  type CA,
  type CTLog,
  jwt,
  mockTrustedRoot,
  rekorDsseCanonicalizer,
  serve,
  type TLog,
  type TSA,
  threeDigitMillisTsa,
} from '../helpers/sigstore-mock.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { listeningFixture, memoryFixture, pushTestChart, TEST_HOST } from '../helpers/registry.js';

// @sigstore/mock's mockFulcio/mockRekor/mockTSA register on its own bundled nock 13 and keep
// the CA / log / TSA keys to themselves, so the trusted root cannot be built from them. The
// same mock services are built here from its initialize* functions and handlers, and
// served with nock 15, which intercepts @sigstore/sign's make-fetch-happen (node:http).
const FULCIO = 'https://fulcio.test';
const REKOR = 'https://rekor.test';
const TSA_URL = 'https://tsa.test';
const ISSUER = 'https://issuer.test';
const EMAIL = 'alice@example.com';

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

const TOKEN = jwt({ iss: ISSUER, sub: EMAIL, email: EMAIL, email_verified: true, aud: 'sigstore' });

interface Services {
  ca: CA;
  ctlog: CTLog;
  tlog: TLog;
  tsa: TSA;
}

const writes = (registry: MemoryRegistry) =>
  registry.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');

describe('keyless signing', () => {
  let s: Services;
  let root: TrustedRootJson;
  const policy = (over: Partial<VerificationPolicy> = {}): VerificationPolicy => ({
    identities: [{ subject: EMAIL, issuer: ISSUER }],
    trustedRoot: root,
    ...over,
  });

  beforeAll(async () => {
    const ctlog = await initializeCTLog(p256());
    s = {
      ctlog,
      ca: await initializeCA(p256(), ctlog),
      tlog: await initializeTLog(REKOR, p256()),
      tsa: await initializeTSA(p256()),
    };
    root = mockTrustedRoot(s);
  });
  beforeEach(() => {
    nock.disableNetConnect();
    nock.enableNetConnect(/^127\.0\.0\.1(:\d+)?$/);
    serve(FULCIO, fulcioHandler(s.ca));
    const rekor = rekorHandler(s.tlog);
    serve(REKOR, { path: rekor.path, fn: rekorDsseCanonicalizer(rekor.fn) });
    serve(TSA_URL, tsaHandler(threeDigitMillisTsa(s.tsa)));
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });
  afterAll(() => nock.restore());

  const services = { fulcioURL: FULCIO, rekorURL: REKOR, tsaURL: TSA_URL };

  it('signs a chart into a cosign-shaped v0.3 bundle with a Fulcio certificate, a Rekor dsse entry and a timestamp', async () => {
    const { registry, app: repo } = memoryFixture({ retries: 'fast' });
    const subject = await pushTestChart(repo);
    const result = await signBundleKeyless(repo, '1.0.0', { identityToken: TOKEN, ...services });

    expect(result.subject.digest).toBe(subject.digest);
    expect(result.identity).toEqual({ subject: EMAIL, issuer: ISSUER });
    const b = result.bundle;
    expect(b.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(b.verificationMaterial.certificate?.rawBytes).toMatch(/^MII/);
    expect(b.verificationMaterial.x509CertificateChain).toBeUndefined();
    expect(b.verificationMaterial.publicKey).toBeUndefined();
    expect(b.verificationMaterial.tlogEntries).toHaveLength(1);
    expect(b.verificationMaterial.tlogEntries![0]!.kindVersion).toEqual({ kind: 'dsse', version: '0.0.1' });
    expect(b.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);
    expect(b.dsseEnvelope?.signatures).toHaveLength(1);
    expect(Object.keys(b.dsseEnvelope!.signatures[0]!)).toEqual(['sig']);
    const statement = parseInTotoStatement(Buffer.from(b.dsseEnvelope!.payload, 'base64'));
    expect(statement.predicateType).toBe(COSIGN_SIGN_PREDICATE_TYPE);
    expect(statement.subject[0]!.digest.sha256).toBe(subject.digest.slice('sha256:'.length));
    expect(result.certificatePem).toContain('BEGIN CERTIFICATE');

    // Same referrer layout as key-signed bundles.
    const found = await findBundles(repo, subject);
    expect(found.bundles).toHaveLength(1);
    expect(found.bundles[0]!.manifestDigest).toBe(result.manifest.digest);
    expect(JSON.parse(Buffer.from(found.bundles[0]!.bundleBytes).toString('utf8'))).toEqual(b);
    const { manifest } = await repo.fetchManifest(result.manifest.digest);
    expect(manifest).toMatchObject({
      mediaType: MediaType.OciManifest,
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2 },
      subject: { digest: subject.digest, size: subject.size, mediaType: subject.mediaType },
      annotations: {
        'dev.sigstore.bundle.content': 'dsse-envelope',
        'dev.sigstore.bundle.predicateType': COSIGN_SIGN_PREDICATE_TYPE,
      },
    });
    expect(registry.repositories()).toEqual(['charts/app']);
  });

  it('produces a bundle @sigstore/verify accepts with a trusted root of the mock CA, CT log, Rekor and TSA', async () => {
    const statement = Buffer.from(
      JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'x' }),
    );
    const { bundle } = await createKeylessDsseBundle(statement, { identityToken: TOKEN, ...services });
    const trust = toTrustMaterial(TrustedRoot.fromJSON(root));
    const signer = new Verifier(trust).verify(toSignedEntity(bundleFromJSON(bundle)), {
      subjectAlternativeName: EMAIL,
      extensions: { issuer: ISSUER },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(EMAIL);
    expect(signer.identity?.extensions?.issuer).toBe(ISSUER);
    // The RFC 3161 timestamp is really checked: without the TSA in the root it fails.
    expect(() =>
      new Verifier(toTrustMaterial(TrustedRoot.fromJSON(mockTrustedRoot(s, { tsa: false })))).verify(
        toSignedEntity(bundleFromJSON(bundle)),
      ),
    ).toThrow(/timestamp/);
    // Without the CA, the certificate chain does not verify.
    expect(() =>
      new Verifier(toTrustMaterial(TrustedRoot.fromJSON(mockTrustedRoot(s, { ca: false })))).verify(
        toSignedEntity(bundleFromJSON(bundle)),
      ),
    ).toThrow();
  });

  it('uses an ephemeral key per signature', async () => {
    const statement = Buffer.from('{"_type":"https://in-toto.io/Statement/v1","subject":[]}');
    const a = await createKeylessDsseBundle(statement, {
      identityToken: TOKEN,
      fulcioURL: FULCIO,
      rekorURL: REKOR,
    });
    const b = await createKeylessDsseBundle(statement, {
      identityToken: TOKEN,
      fulcioURL: FULCIO,
      rekorURL: REKOR,
    });
    expect(a.certificatePem).not.toBe(b.certificatePem);
    expect(a.bundle.verificationMaterial.timestampVerificationData).toBeUndefined();
  });

  describe('verifyChart with a keyless policy', () => {
    it('verifies the signature for the token identity and issuer (with and without a TSA)', async () => {
      const { client, app: repo } = memoryFixture({ retries: 'fast' });
      const subject = await pushTestChart(repo);
      await signBundleKeyless(repo, subject, { identityToken: TOKEN, fulcioURL: FULCIO, rekorURL: REKOR });
      const ref = `${TEST_HOST}/charts/app:1.0.0`;
      const result = await verifyChart(client, ref, { policy: policy() });
      expect(result).toMatchObject({ format: 'bundle', verified: 1, digest: subject.digest });
      expect(result.signatures[0]).toMatchObject({
        verified: true,
        tlog: 'verified',
        signer: { kind: 'certificate', subject: EMAIL, issuer: ISSUER },
      });
      expect(result.checks).toContain(
        'The code-signing certificate was verified using trusted certificate authority certificates',
      );

      await signBundleKeyless(repo, subject, { identityToken: TOKEN, ...services });
      const both = await verifyChart(client, ref, { policy: policy({ threshold: 2 }) });
      expect(both.verified).toBe(2);
    });

    it.each([
      ['a wrong identity', { identities: [{ subject: 'mallory@example.com', issuer: ISSUER }] }, /subject/],
      ['a wrong issuer', { identities: [{ subject: EMAIL, issuer: 'https://other.test' }] }, /issuer/],
      [
        'a regexp matching only part of the identity',
        { identities: [{ subjectRegExp: 'alice', issuer: ISSUER }] },
        /subject/,
      ],
    ])('rejects %s', async (_name, over, reason) => {
      const { client, app: repo } = memoryFixture({ retries: 'fast' });
      await pushTestChart(repo);
      await signBundleKeyless(repo, '1.0.0', { identityToken: TOKEN, ...services });
      const err = await verifyChart(client, `${TEST_HOST}/charts/app:1.0.0`, {
        policy: policy(over),
      }).catch((e) => e);
      expect(err).toBeInstanceOf(ChartVerificationError);
      expect(err.code).toBe('SIGNATURE_INVALID');
      expect(err.signatures[0].reason).toMatch(reason);
    });

    it('rejects a trusted root without the mock CA', async () => {
      const { client, app: repo } = memoryFixture({ retries: 'fast' });
      await pushTestChart(repo);
      await signBundleKeyless(repo, '1.0.0', { identityToken: TOKEN, ...services });
      // Bundles only: the legacy reader rejects a CA-less root as an invalid policy.
      const err = await verifyChart(client, `${TEST_HOST}/charts/app:1.0.0`, {
        policy: policy({ trustedRoot: mockTrustedRoot(s, { ca: false }) }),
        formats: ['bundle'],
      }).catch((e) => e);
      expect(err).toBeInstanceOf(ChartVerificationError);
      expect(err.signatures[0].reason).toMatch(/CERTIFICATE|certificate/);
    });
  });

  describe('errors', () => {
    it('surfaces a Fulcio 500 as UNEXPECTED_STATUS and pushes nothing', async () => {
      const { registry, app: repo } = memoryFixture({ retries: 'fast' });
      await pushTestChart(repo);
      const before = writes(registry).length;
      const scope = nock('https://fulcio-broken.test')
        .post('/api/v2/signingCert')
        .reply(500, { message: 'boom' }, { 'Content-Type': 'application/json' });
      await expectChartproofError(
        signBundleKeyless(repo, '1.0.0', {
          identityToken: TOKEN,
          ...services,
          fulcioURL: 'https://fulcio-broken.test',
        }),
        'UNEXPECTED_STATUS',
        /Fulcio https:\/\/fulcio-broken\.test answered HTTP 500/,
      );
      expect(scope.isDone()).toBe(true);
      expect(writes(registry).length).toBe(before);
      expect((await findBundles(repo, (await repo.resolve('1.0.0')).digest)).bundles).toEqual([]);
    });

    it('surfaces a Fulcio 401 as AUTH_FAILED', async () => {
      const { registry, app: repo } = memoryFixture({ retries: 'fast' });
      await pushTestChart(repo);
      const before = writes(registry).length;
      nock('https://fulcio-401.test').post('/api/v2/signingCert').reply(401, 'unauthorized');
      await expectChartproofError(
        signBundleKeyless(repo, '1.0.0', {
          identityToken: TOKEN,
          fulcioURL: 'https://fulcio-401.test',
          rekorURL: REKOR,
        }),
        'AUTH_FAILED',
        /token was rejected/,
      );
      expect(writes(registry).length).toBe(before);
    });

    it('surfaces a Rekor failure as UNEXPECTED_STATUS and pushes nothing', async () => {
      const { registry, app: repo } = memoryFixture({ retries: 'fast' });
      await pushTestChart(repo);
      const before = writes(registry).length;
      nock('https://rekor-broken.test').post('/api/v1/log/entries').reply(503, 'down');
      await expectChartproofError(
        signBundleKeyless(repo, '1.0.0', {
          identityToken: TOKEN,
          fulcioURL: FULCIO,
          rekorURL: 'https://rekor-broken.test',
        }),
        'UNEXPECTED_STATUS',
        /Rekor .* HTTP 503/,
      );
      expect(writes(registry).length).toBe(before);
    });

    it('reports an unreachable service as NETWORK', async () => {
      await expectChartproofError(
        createKeylessDsseBundle(Buffer.from('{}'), {
          identityToken: TOKEN,
          fulcioURL: 'https://unmocked.test',
          rekorURL: REKOR,
        }),
        'NETWORK',
        /Fulcio https:\/\/unmocked\.test cannot be reached/,
      );
    });

    it('rejects a malformed token before contacting Fulcio, without quoting it', async () => {
      const scope = nock('https://fulcio-untouched.test').post('/api/v2/signingCert').reply(201, '{}');
      const secret = 'not-a-jwt-but-secret-value';
      const err = await expectChartproofError(
        createKeylessDsseBundle(Buffer.from('{}'), {
          identityToken: secret,
          fulcioURL: 'https://fulcio-untouched.test',
        }),
        'INVALID_ARGUMENT',
        /not a JWT/,
      );
      expect(err.message).not.toContain(secret);
      expect(scope.isDone()).toBe(false);
    });

    it('rejects a token whose e-mail is not verified (as Fulcio would) with AUTH_FAILED', async () => {
      await expectChartproofError(
        createKeylessDsseBundle(Buffer.from('{}'), {
          identityToken: jwt({ iss: ISSUER, sub: EMAIL, email: EMAIL, email_verified: false }),
          ...services,
        }),
        'AUTH_FAILED',
        /not verified/,
      );
    });

    it('calls a token provider, and maps its failure to AUTH_FAILED', async () => {
      let calls = 0;
      const signed = await createKeylessDsseBundle(Buffer.from('{"a":1}'), {
        identityToken: async () => {
          calls++;
          return jwt({ iss: 'https://ci.test', sub: 'repo:acme/app:ref:refs/heads/main' });
        },
        fulcioURL: FULCIO,
        rekorURL: REKOR,
      });
      expect(calls).toBe(1);
      expect(signed.identity).toEqual({
        subject: 'repo:acme/app:ref:refs/heads/main',
        issuer: 'https://ci.test',
      });
      await expectChartproofError(
        createKeylessDsseBundle(Buffer.from('{}'), {
          identityToken: () => {
            throw new Error('no CI token');
          },
          ...services,
        }),
        'AUTH_FAILED',
        /no CI token/,
      );
    });

    it('rejects invalid service URLs', async () => {
      await expectChartproofError(
        createKeylessDsseBundle(Buffer.from('{}'), {
          identityToken: TOKEN,
          rekorURL: 'https://u:p@rekor.test',
        }),
        'INVALID_ARGUMENT',
        /rekorURL/,
      );
    });
  });

  it('reads SIGSTORE_ID_TOKEN and defaults to the public-good services', () => {
    expect(identityTokenFromEnv({ SIGSTORE_ID_TOKEN: ` ${TOKEN}\n` })).toBe(TOKEN);
    expect(identityTokenFromEnv({ SIGSTORE_ID_TOKEN: '  ' })).toBeUndefined();
    expect(identityTokenFromEnv({})).toBeUndefined();
    expect(DEFAULT_FULCIO_URL).toBe('https://fulcio.sigstore.dev');
    expect(DEFAULT_REKOR_URL).toBe('https://rekor.sigstore.dev');
  });

  it("keeps the public-good defaults equal to @sigstore/sign's (written out so the module loads without it)", async () => {
    const sigstoreSign = await import('@sigstore/sign');
    expect(DEFAULT_FULCIO_URL).toBe(sigstoreSign.DEFAULT_FULCIO_URL);
    expect(DEFAULT_REKOR_URL).toBe(sigstoreSign.DEFAULT_REKOR_URL);
  });

  describe('CLI sign --identity-token', () => {
    let work: string;
    beforeAll(() => {
      work = mkdtempSync(join(tmpdir(), 'cp-keyless-'));
    });
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    async function cli(args: string[], env: Record<string, string> = {}) {
      const c = captureIo('', { HOME: join(work, 'home'), ...env });
      const code = await run(['--plain-http', ...args], c.io);
      return { code, out: c.out(), err: c.err() };
    }

    it('signs keylessly end to end and the result verifies with `verify --certificate-identity`', async () => {
      const { server, client, app, close } = await listeningFixture({ retries: 'default' });
      try {
        const subject = await pushTestChart(app);
        const ref = `${server.host}/charts/app:1.0.0`;
        const rootFile = join(work, 'trusted_root.json');
        writeFileSync(rootFile, JSON.stringify(root));

        const signed = await cli([
          '--json',
          'sign',
          '--identity-token',
          TOKEN,
          '--fulcio-url',
          FULCIO,
          '--rekor-url',
          REKOR,
          '--timestamp-server-url',
          TSA_URL,
          '-a',
          'team=payments',
          ref,
        ]);
        expect(signed.err).toBe('');
        expect(signed.code).toBe(0);
        const out = JSON.parse(signed.out);
        expect(out).toMatchObject({ digest: subject.digest, identity: { subject: EMAIL, issuer: ISSUER } });
        expect(out.bundle.referrer).toMatch(/^sha256:/);

        const ok = await cli([
          'verify',
          '--certificate-identity',
          EMAIL,
          '--certificate-oidc-issuer',
          ISSUER,
          '--trusted-root',
          rootFile,
          '-a',
          'team=payments',
          ref,
        ]);
        expect(ok.code).toBe(0);
        expect(JSON.parse(ok.out)).toMatchObject({ format: 'bundle', verified: 1 });

        const bad = await cli([
          'verify',
          '--certificate-identity',
          'mallory@example.com',
          '--certificate-oidc-issuer',
          ISSUER,
          '--trusted-root',
          rootFile,
          ref,
        ]);
        expect(bad.code).toBe(1);

        // SIGSTORE_ID_TOKEN, a token file, and plain-text output.
        const tokenFile = join(work, 'token');
        writeFileSync(tokenFile, `${TOKEN}\n`);
        const fromEnv = await cli(['sign', '--fulcio-url', FULCIO, '--rekor-url', REKOR, ref], {
          SIGSTORE_ID_TOKEN: TOKEN,
        });
        expect(fromEnv.code).toBe(0);
        expect(fromEnv.out).toContain(`identity: ${EMAIL} (issuer ${ISSUER})`);
        const fromFile = await cli([
          'sign',
          '--identity-token',
          tokenFile,
          '--fulcio-url',
          FULCIO,
          '--rekor-url',
          REKOR,
          ref,
        ]);
        expect(fromFile.code).toBe(0);
        const all = await verifyChart(client, ref, { policy: policy({ threshold: 3 }) });
        expect(all.verified).toBe(3);
      } finally {
        await close();
      }
    });

    it('rejects legacy formats, --key with a token, and service flags without a token', async () => {
      const legacy = await cli(['sign', '--identity-token', TOKEN, '--format', 'both', 'registry.test/a:1']);
      expect(legacy.code).toBe(2);
      expect(legacy.err).toMatch(/bundle format only/);
      const both = await cli(['sign', '--identity-token', TOKEN, '--key', 'cosign.key', 'registry.test/a:1']);
      expect(both.code).toBe(2);
      expect(both.err).toMatch(/either --key or --identity-token/);
      const stray = await cli(['sign', '--key', 'cosign.key', '--fulcio-url', FULCIO, 'registry.test/a:1']);
      expect(stray.code).toBe(2);
      expect(stray.err).toMatch(/keyless signing only/);
      const secret = 'malformed-secret-token';
      const malformed = await cli(['sign', '--identity-token', secret, 'registry.test/a:1']);
      expect(malformed.code).toBe(2);
      expect(malformed.err).toMatch(/neither a JWT nor a readable file/);
      expect(malformed.err).not.toContain(secret);
      const none = await cli(['sign', 'registry.test/a:1']);
      expect(none.code).toBe(2);
      expect(none.err).toMatch(/SIGSTORE_ID_TOKEN/);
    });

    it('exits with a registry/network code and pushes nothing when Fulcio fails', async () => {
      const { registry, server, app, close } = await listeningFixture({ retries: 'default' });
      try {
        await pushTestChart(app);
        const before = writes(registry).length;
        nock('https://fulcio-broken.test').post('/api/v2/signingCert').reply(500, 'boom');
        const r = await cli([
          '--json',
          'sign',
          '--identity-token',
          TOKEN,
          '--fulcio-url',
          'https://fulcio-broken.test',
          '--rekor-url',
          REKOR,
          `${server.host}/charts/app:1.0.0`,
        ]);
        expect(r.code).not.toBe(0);
        expect(JSON.parse(r.err).error.code).toBe('UNEXPECTED_STATUS');
        expect(writes(registry).length).toBe(before);
      } finally {
        await close();
      }
    });
  });
});
