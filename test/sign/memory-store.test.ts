import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cosignAttestationTag } from '../../src/cosign/dsse.js';
import { cosignSignatureTag } from '../../src/cosign/simplesigning.js';
import type { Signer } from '../../src/keys/signer.js';
import { type Descriptor, MemoryStore, MediaType } from '../../src/oci/index.js';
import { attestChart } from '../../src/sign/attest.js';
import { signLegacy } from '../../src/sign/legacy.js';
import { signBundle } from '../../src/sign/referrer.js';
import { verifyChart } from '../../src/verify/chart.js';
import { verifyLegacySignatures } from '../../src/verify/legacy.js';
import { seedTestChart } from '../helpers/registry.js';

/** A Signer over a node:crypto EC key. */
function keySigner(privateKey: KeyObject): Signer & { publicKeyPemText: string } {
  const publicKeyPemText = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return {
    publicKeyPemText,
    async sign(payload: Uint8Array): Promise<Uint8Array> {
      return new Uint8Array(sign('sha256', payload, privateKey));
    },
    async publicKeyPem(): Promise<string> {
      return publicKeyPemText;
    },
  };
}

const ecKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const NAME = 'registry.example/charts/app';

/** A store (refusing malformed manifests, as a registry does) holding chart app 1.0.0. */
async function chartStore(): Promise<{ store: MemoryStore; subject: Descriptor }> {
  const store = new MemoryStore({ name: NAME, checkManifests: true });
  const subject = await seedTestChart(store, 'app', '1.0.0');
  return { store, subject };
}

describe('signing into a MemoryStore (any Target, not only a registry Repository)', () => {
  it('signLegacy appends a .sig manifest that verifyLegacySignatures and verifyChart accept', async () => {
    const { store, subject } = await chartStore();
    const signer = keySigner(ecKey());
    const first = await signLegacy(store, '1.0.0', signer, { annotations: { team: 'payments' } });
    expect(first).toMatchObject({
      tag: cosignSignatureTag(subject.digest),
      subjectDigest: subject.digest,
      appended: true,
    });
    expect((await store.resolve(first.tag)).digest).toBe(first.manifestDigest);
    // The store's name is the docker-reference (a MemoryStore has no registry reference).
    const payload = JSON.parse(Buffer.from(first.payload).toString('utf8'));
    expect(payload.critical.identity['docker-reference']).toBe(NAME);
    expect(payload.optional).toEqual({ team: 'payments' });

    // cosign's duplicate detection reads the existing manifest back from the store.
    const again = await signLegacy(store, subject, signer, { annotations: { team: 'payments' } });
    expect(again).toMatchObject({ appended: false, manifestDigest: first.manifestDigest });
    // A second key appends a second layer, under the same tag.
    const other = keySigner(ecKey());
    const second = await signLegacy(store, subject.digest, other);
    expect(second.appended).toBe(true);
    expect((await store.fetchManifest(second.tag)).manifest.layers).toHaveLength(2);

    const legacy = await verifyLegacySignatures(store, subject.digest, {
      publicKey: createPublicKey(signer.publicKeyPemText),
      tlog: 'skip',
    });
    expect(legacy.layers.filter((l) => l.verified)).toHaveLength(1);

    const verified = await verifyChart(store, `${NAME}:1.0.0`, {
      policy: { keys: [signer.publicKeyPemText], tlog: 'skip' },
      formats: ['legacy'],
    });
    expect(verified).toMatchObject({ format: 'legacy', digest: subject.digest, verified: 1 });
    expect(verified.pinned).toBe(`${NAME}@${subject.digest}`);
  });

  it('signBundle stores a referrer the store lists, and verifyChart verifies it', async () => {
    const { store, subject } = await chartStore();
    const signer = keySigner(ecKey());
    const result = await signBundle(store, '1.0.0', signer);
    expect(result.subject).toEqual(subject);
    expect(result.referrersApi).toBeUndefined(); // not a registry: nothing probed
    const referrers = await store.referrers(subject);
    expect(referrers.map((d) => d.digest)).toEqual([result.manifest.digest]);
    expect(referrers[0]!.artifactType).toBe(MediaType.SigstoreBundleV03);
    expect(store.get(result.bundleDescriptor.digest)).toBeDefined();

    const verified = await verifyChart(store, `${NAME}:1.0.0`, {
      policy: { keys: [signer.publicKeyPemText], tlog: 'skip' },
    });
    expect(verified).toMatchObject({ format: 'bundle', digest: subject.digest, verified: 1 });

    // Another key's policy finds the bundle and refuses it.
    await expect(
      verifyChart(store, `${NAME}:1.0.0`, {
        policy: { keys: [keySigner(ecKey()).publicKeyPemText], tlog: 'skip' },
        formats: ['bundle'],
      }),
    ).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
  });

  it('attestChart writes both formats into the store', async () => {
    const { store, subject } = await chartStore();
    const signer = keySigner(ecKey());
    const result = await attestChart(store, subject, signer, {
      predicateType: 'https://example.com/predicate/v1',
      predicate: { ok: true },
      format: 'both',
    });
    expect(result.legacy?.tag).toBe(cosignAttestationTag(subject.digest));
    expect((await store.resolve(result.legacy!.tag)).digest).toBe(result.legacy!.manifestDigest);
    expect((await store.referrers(subject)).map((d) => d.digest)).toEqual([result.manifest.digest]);
    // The statement names the store (its `name`) as the subject.
    const statement = JSON.parse(Buffer.from(result.statement).toString('utf8'));
    expect(statement.subject[0].name).toBe(NAME);
  });
});
