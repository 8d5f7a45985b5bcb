import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  verify as nodeVerify,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { describe, expect, it } from 'vitest';
import {
  bundleMediaTypeVersion,
  createDsseBundle,
  isBundleVersionAtLeast,
  parseSigstoreBundle,
} from '../../src/sign/bundle.js';
import { keyObjectSigner } from '../../src/keys/keys.js';
import type { Signer } from '../../src/keys/signer.js';
import { cosignSignStatement, parseInTotoStatement } from '../../src/cosign/statement.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable, describeVectors } from '../helpers/vectors.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const EMPTY_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
} as unknown as Parameters<typeof toTrustMaterial>[0];

/** The DSSE PAE, written here from the DSSE spec (not taken from src/). */
function pae(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);
}

function hintOf(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('base64');
}

/** Verifies a key-signed bundle with @sigstore/verify alone, offline. Throws on failure. */
function sigstoreVerify(json: unknown, publicKey: KeyObject): void {
  const hints: string[] = [];
  const trust = toTrustMaterial(EMPTY_ROOT, (hint) => {
    hints.push(hint);
    return { publicKey, validFor: () => true };
  });
  new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(
    toSignedEntity(bundleFromJSON(json)),
  );
  expect(hints).toEqual([hintOf(publicKey)]);
}

function p256() {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

describe('createDsseBundle', () => {
  it('produces a v0.3 DSSE bundle that @sigstore/verify accepts', async () => {
    const { privateKey, publicKey } = p256();
    const statement = cosignSignStatement(DIGEST);
    const json = await createDsseBundle(statement, keyObjectSigner(privateKey));
    expect(json.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(json.verificationMaterial.publicKey).toEqual({ hint: hintOf(publicKey) });
    // cosign's shape: no log entries without witnesses, no DSSE keyid.
    expect(json.verificationMaterial.tlogEntries).toBeUndefined();
    expect(json.verificationMaterial.timestampVerificationData).toBeUndefined();
    expect(Object.keys(json.dsseEnvelope!.signatures[0]!)).toEqual(['sig']);
    expect(json.dsseEnvelope!.payloadType).toBe('application/vnd.in-toto+json');
    expect(Buffer.from(json.dsseEnvelope!.payload, 'base64').equals(Buffer.from(statement))).toBe(true);
    // Key order as cosign (protojson) writes it.
    expect(Object.keys(json)).toEqual(['mediaType', 'verificationMaterial', 'dsseEnvelope']);
    sigstoreVerify(JSON.parse(JSON.stringify(json)), publicKey);
  });

  it('signs the PAE (checked with node:crypto directly)', async () => {
    const { privateKey, publicKey } = p256();
    const json = await createDsseBundle(cosignSignStatement(DIGEST), keyObjectSigner(privateKey), {
      payloadType: 'application/vnd.example+json',
    });
    const env = json.dsseEnvelope!;
    const body = Buffer.from(env.payload, 'base64');
    const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
    expect(env.payloadType).toBe('application/vnd.example+json');
    expect(nodeVerify('sha256', pae(env.payloadType, body), publicKey, sig)).toBe(true);
    expect(nodeVerify('sha256', body, publicKey, sig)).toBe(false);
  });

  it('produces bundles whose tampering @sigstore/verify detects', async () => {
    const { privateKey, publicKey } = p256();
    const json = await createDsseBundle(cosignSignStatement(DIGEST), keyObjectSigner(privateKey));
    const other = cosignSignStatement(`sha256:${'cd'.repeat(32)}`);

    const payload = structuredClone(json);
    payload.dsseEnvelope!.payload = Buffer.from(other).toString('base64');
    expect(() => sigstoreVerify(payload, publicKey)).toThrow();

    const type = structuredClone(json);
    type.dsseEnvelope!.payloadType = 'text/plain';
    expect(() => sigstoreVerify(type, publicKey)).toThrow();

    const sig = structuredClone(json);
    const raw = Buffer.from(sig.dsseEnvelope!.signatures[0]!.sig, 'base64');
    raw[raw.length - 1]! ^= 1;
    sig.dsseEnvelope!.signatures[0]!.sig = raw.toString('base64');
    expect(() => sigstoreVerify(sig, publicKey)).toThrow();

    expect(() => sigstoreVerify(json, p256().publicKey)).toThrow();
  });

  it('refuses a signer whose signature does not verify with its own key', async () => {
    const { privateKey } = p256();
    const good = keyObjectSigner(privateKey);
    const liar: Signer = {
      sign: async (payload) => good.sign(Buffer.concat([Buffer.from(payload), Buffer.from('x')])),
      publicKeyPem: () => good.publicKeyPem(),
    };
    await expectChartproofError(createDsseBundle(cosignSignStatement(DIGEST), liar), 'SIGNATURE_INVALID');
    const otherKey: Signer = {
      sign: good.sign,
      publicKeyPem: () => keyObjectSigner(p256().privateKey).publicKeyPem(),
    };
    await expectChartproofError(createDsseBundle(cosignSignStatement(DIGEST), otherKey), 'SIGNATURE_INVALID');
  });

  it('rejects an empty statement and honours an aborted signal', async () => {
    const signer = keyObjectSigner(p256().privateKey);
    await expectChartproofError(createDsseBundle(new Uint8Array(), signer), 'INVALID_ARGUMENT');
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(
      createDsseBundle(cosignSignStatement(DIGEST), signer, { signal: ac.signal }),
    ).rejects.toThrow('stop');
  });
});

describe('bundle media types', () => {
  it.each([
    ['application/vnd.dev.sigstore.bundle.v0.3+json', '0.3'],
    ['application/vnd.dev.sigstore.bundle+json;version=0.3', '0.3'],
    ['application/vnd.dev.sigstore.bundle+json;version=0.1', '0.1'],
    ['application/vnd.dev.sigstore.bundle.v0.3.1+json', '0.3.1'],
    ['application/vnd.dev.sigstore.bundle.v0.4+json', '0.4'],
    ['application/json', undefined],
    ['application/vnd.dev.sigstore.bundlex.v0.3+json', undefined],
  ])('%s → %s', (mediaType, version) => {
    expect(bundleMediaTypeVersion(mediaType)).toBe(version);
  });

  it('compares versions numerically', () => {
    expect(isBundleVersionAtLeast('0.3', '0.3')).toBe(true);
    expect(isBundleVersionAtLeast('0.3.1', '0.3')).toBe(true);
    expect(isBundleVersionAtLeast('0.10', '0.3')).toBe(true);
    expect(isBundleVersionAtLeast('0.2', '0.3')).toBe(false);
  });

  it('parseSigstoreBundle rejects non-bundles and oversized input', async () => {
    const bad = (s: string, max?: number) =>
      Promise.resolve().then(() => parseSigstoreBundle(Buffer.from(s), max ? { maxBytes: max } : {}));
    await expectChartproofError(bad('nope'), 'SIGNATURE_INVALID');
    await expectChartproofError(bad('{"mediaType":"application/json"}'), 'SIGNATURE_INVALID');
    await expectChartproofError(
      bad('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}'),
      'SIGNATURE_INVALID',
      /invalid bundle/,
    );
    await expectChartproofError(bad('{}', 1), 'SIZE_LIMIT_EXCEEDED');
  });
});

describeVectors(sigstoreVectorsAvailable('bundle (cosign v3.0.4 vector)'))('the cosign v3.0.4 bundle', () => {
  const dir = join(SIGSTORE_VECTORS, 'cosign-oci', 'cosign-v3.0.4-bundle-referrer');
  const bytes = readFileSync(join(dir, 'bundle-sigstore.json'));
  const publicKey = createPublicKey(readFileSync(join(dir, 'bundle-cosign.pub'), 'utf8'));
  const subject = readFileSync(join(dir, 'subject-digest.txt'), 'utf8').trim();

  it('has a DSSE signature that verifies with bundle-cosign.pub over the PAE', () => {
    const json = JSON.parse(bytes.toString('utf8'));
    const env = json.dsseEnvelope;
    const body = Buffer.from(env.payload, 'base64');
    const sig = Buffer.from(env.signatures[0].sig, 'base64');
    expect(nodeVerify('sha256', pae(env.payloadType, body), publicKey, sig)).toBe(true);
    const flipped = Buffer.from(body);
    flipped[10]! ^= 1;
    expect(nodeVerify('sha256', pae(env.payloadType, flipped), publicKey, sig)).toBe(false);
    expect(json.verificationMaterial.publicKey.hint).toBe(hintOf(publicKey));
    expect(parseInTotoStatement(body).subject[0]!.digest).toEqual({
      sha256: subject.slice('sha256:'.length),
    });
  });

  it('parses as a v0.3 bundle and verifies with @sigstore/verify once log data is stripped', () => {
    const { bundle, version } = parseSigstoreBundle(bytes);
    expect(version).toBe('0.3');
    const stripped = structuredClone(bundle);
    delete stripped.verificationMaterial.tlogEntries;
    delete stripped.verificationMaterial.timestampVerificationData;
    sigstoreVerify(stripped, publicKey);
    expect(() => sigstoreVerify(stripped, p256().publicKey)).toThrow();
  });
});
