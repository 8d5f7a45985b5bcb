import { createHash, createPublicKey, generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { type Descriptor, digestOf, MediaType } from '../../src/oci/index.js';
import { buildSignatureManifest } from '../../src/sign/legacy.js';
import { cosignSignatureTag } from '../../src/cosign/simplesigning.js';
import { verifyLegacySignatures } from '../../src/verify/legacy.js';
import {
  RekorEvidenceError,
  rekorKeysFromTrustedRoot,
  rekorLogId,
  verifyRekorBundleAnnotation,
} from '../../src/verify/rekor.js';
import { readContainersImageSignature } from '../../src/verify/legacy.js';
import { memoryFixture } from '../helpers/registry.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable, describeVectors } from '../helpers/vectors.js';

const SIG = 'dev.cosignproject.cosign/signature';
const BUNDLE = 'dev.sigstore.cosign/bundle';

describeVectors(sigstoreVectorsAvailable('Rekor SET vectors'))('Rekor bundle annotation (SET) checks', () => {
  const ci = join(SIGSTORE_VECTORS, 'containers-image');
  const rekorPub = createPublicKey(readFileSync(join(ci, 'rekor.pub'), 'utf8'));
  const rekorKeys = [{ logId: rekorLogId(rekorPub), key: rekorPub }];
  const td = join(ci, 'internal-testdata');
  const payload = new Uint8Array(readFileSync(join(td, 'rekor-payload')));
  const set = readFileSync(join(td, 'rekor-set'), 'utf8');
  const sigBytes = Buffer.from(readFileSync(join(td, 'rekor-sig'), 'utf8').trim(), 'base64');
  const certKey = new X509Certificate(readFileSync(join(td, 'rekor-cert'), 'utf8')).publicKey;

  const reason = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(RekorEvidenceError);
      return (e as Error).message;
    }
    throw new Error('expected a RekorEvidenceError');
  };

  it('verifies the internal-testdata SET (Fulcio certificate signer, hashedrekord 0.0.1)', () => {
    const ev = verifyRekorBundleAnnotation(
      set,
      { payload, signature: sigBytes, signerKey: certKey },
      rekorKeys,
    );
    const claimed = JSON.parse(set).Payload;
    expect(ev).toEqual({
      integratedTime: claimed.integratedTime,
      logIndex: claimed.logIndex,
      logId: claimed.logID,
    });
  });

  it('rejects another payload, signature, signer, log key, or a tampered timestamp', () => {
    const base = { payload, signature: sigBytes, signerKey: certKey };
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(
      reason(() => verifyRekorBundleAnnotation(set, { ...base, payload: new Uint8Array([1]) }, rekorKeys)),
    ).toMatch(/another payload hash/);
    const flipped = Buffer.from(sigBytes);
    flipped[10] = flipped[10]! ^ 1;
    expect(
      reason(() => verifyRekorBundleAnnotation(set, { ...base, signature: flipped }, rekorKeys)),
    ).toMatch(/another signature/);
    expect(reason(() => verifyRekorBundleAnnotation(set, { ...base, signerKey: other }, rekorKeys))).toMatch(
      /another signing key/,
    );
    expect(
      reason(() => verifyRekorBundleAnnotation(set, base, [{ logId: rekorKeys[0]!.logId, key: other }])),
    ).toMatch(/SignedEntryTimestamp does not verify/);
    expect(reason(() => verifyRekorBundleAnnotation(set, base, []))).toMatch(
      /no trusted Rekor key with log ID/,
    );
    const moved = JSON.parse(set);
    moved.Payload.integratedTime += 1;
    expect(reason(() => verifyRekorBundleAnnotation(JSON.stringify(moved), base, rekorKeys))).toMatch(
      /SignedEntryTimestamp does not verify/,
    );
    const expired = [{ ...rekorKeys[0]!, validFor: { end: new Date(0) } }];
    expect(reason(() => verifyRekorBundleAnnotation(set, base, expired))).toMatch(
      /was not valid at the integrated time/,
    );
    expect(reason(() => verifyRekorBundleAnnotation('{', base, rekorKeys))).toMatch(/not JSON/);
  });

  it('reads Rekor keys and log IDs from a trusted_root.json', () => {
    const root = JSON.parse(
      readFileSync(join(SIGSTORE_VECTORS, 'conformance', 'production_trusted_root.json'), 'utf8'),
    );
    const keys = rekorKeysFromTrustedRoot(root);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      // The log ID is the sha256 of the key's SPKI DER (how Rekor v1 names logs).
      if (k.key.asymmetricKeyType === 'ec') expect(k.logId).toBe(rekorLogId(k.key));
    }
    expect(keys.some((k) => k.validFor?.start instanceof Date)).toBe(true);
  });

  it('legacy verification with tlog required: the key-rekor vector passes, a stripped bundle fails', async () => {
    const dir = join(ci, 'dir-img-cosign-key-rekor-valid');
    const sig = readContainersImageSignature(new Uint8Array(readFileSync(join(dir, 'signature-1'))));
    const manifest = new Uint8Array(readFileSync(join(dir, 'manifest.json')));
    const key = createPublicKey(readFileSync(join(ci, 'cosign2.pub'), 'utf8'));
    const { app: repo, store: storeOf } = memoryFixture({ repository: 'signed' });
    const store = storeOf();
    const subject = digestOf(manifest);
    async function seed(annotations: Record<string, string>) {
      const desc: Descriptor = {
        mediaType: MediaType.CosignSimpleSigning,
        digest: digestOf(sig.payload),
        size: sig.payload.byteLength,
        annotations,
      };
      await store.push(desc, sig.payload);
      const built = buildSignatureManifest([desc]);
      await store.push(built.configDescriptor, built.config);
      await store.push(built.descriptor, built.bytes);
      await store.tag(built.descriptor, cosignSignatureTag(subject));
    }
    await seed(sig.annotations);
    const ok = await verifyLegacySignatures(repo, subject, { publicKey: key, tlog: 'require', rekorKeys });
    expect(ok.layers[0]).toMatchObject({ verified: true, tlog: 'verified' });
    expect(ok.layers[0]!.tlogEntry?.logIndex).toBe(JSON.parse(sig.annotations[BUNDLE]!).Payload.logIndex);
    // Without trusted Rekor keys the evidence cannot be checked: fail, never pass silently.
    await expect(verifyLegacySignatures(repo, subject, { publicKey: key, tlog: 'require' })).rejects.toThrow(
      /transparency log: no trusted Rekor key/,
    );
    // Skipping the log: the layer passes but says the log was not checked.
    const skipped = await verifyLegacySignatures(repo, subject, { publicKey: key, tlog: 'skip' });
    expect(skipped.layers[0]!.tlog).toBe('not-checked');
    // The same signature without its Rekor bundle: required → fails; if-present → passes unchecked.
    await seed({ [SIG]: sig.annotations[SIG]! });
    await expect(
      verifyLegacySignatures(repo, subject, { publicKey: key, tlog: 'require', rekorKeys }),
    ).rejects.toThrow(/no Rekor bundle annotation/);
    const ifPresent = await verifyLegacySignatures(repo, subject, {
      publicKey: key,
      tlog: 'if-present',
      rekorKeys,
    });
    expect(ifPresent.layers[0]!.tlog).toBe('not-checked');
  });

  it('a SET made by a test log key over a hashedrekord entry we build verifies (independent construction)', () => {
    const log = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const data = new TextEncoder().encode('{"critical":{}}');
    const signature = sign('sha256', data, signer.privateKey);
    const pem = signer.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const body = Buffer.from(
      JSON.stringify({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(data).digest('hex') } },
          signature: {
            content: signature.toString('base64'),
            publicKey: { content: Buffer.from(pem).toString('base64') },
          },
        },
      }),
    ).toString('base64');
    const logID = createHash('sha256')
      .update(log.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex');
    const canonical = `{"body":"${body}","integratedTime":1700000000,"logID":"${logID}","logIndex":7}`;
    const annotation = JSON.stringify({
      SignedEntryTimestamp: sign('sha256', Buffer.from(canonical), log.privateKey).toString('base64'),
      Payload: { body, integratedTime: 1700000000, logIndex: 7, logID },
    });
    expect(
      verifyRekorBundleAnnotation(annotation, { payload: data, signature, signerKey: signer.publicKey }, [
        { logId: logID, key: log.publicKey },
      ]),
    ).toEqual({ integratedTime: 1700000000, logIndex: 7, logId: logID });
  });
});
