import { generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Descriptor, digestOf, type Repository } from '../../src/oci/index.js';
import { attestChart } from '../../src/sign/attest.js';
import { keyObjectSigner } from '../../src/keys/keys.js';
import {
  attachLegacyAttestation,
  cosignAttestationTag,
  createDsseEnvelope,
  encodeDsseEnvelope,
  parseDsseEnvelope,
} from '../../src/sign/legacy-attest.js';
import { inTotoStatement } from '../../src/cosign/statement.js';
import { type AttestationVerificationError, verifyChartAttestations } from '../../src/verify/attestation.js';
import { findLegacyAttestations } from '../../src/verify/legacy-attestation.js';
import type { VerificationPolicy } from '../../src/verify/policy.js';
import { blob } from '../helpers/content.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { memoryFixture, pushTestChart, TEST_HOST } from '../helpers/registry.js';

const REPO = `${TEST_HOST}/charts/app`;
const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const SPDX = 'https://spdx.dev/Document';
const DSSE = 'application/vnd.dsse.envelope.v1+json';

const slsa = {
  buildDefinition: { buildType: 'https://example.com/helm/v1' },
  runDetails: { builder: { id: 'ci' } },
};
const spdx = { spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: 'app-1.0.0' };

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();
const keyPolicy = (
  k: { publicKey: KeyObject },
  over: Partial<VerificationPolicy> = {},
): VerificationPolicy => ({
  keys: [pem(k.publicKey)],
  tlog: 'skip',
  ...over,
});
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

/** The fixture with app 1.0.0 (`subject`) and 2.0.0 (`second`) pushed to `charts/app`. */
async function pushedCharts() {
  const { registry, client, app: repo, store } = memoryFixture();
  const subject = await pushTestChart(repo, 'app', '1.0.0');
  const second = await pushTestChart(repo, 'app', '2.0.0');
  return { registry, client, repo, subject, second, store: store() };
}

async function attManifest(repo: Repository, digest: string) {
  const fetched = await repo.fetchManifest(cosignAttestationTag(digest));
  return { ...fetched, layers: fetched.manifest.layers as Descriptor[] };
}

describe('legacy attestations (sha256-<hex>.att)', () => {
  it('round trip: attestChart format legacy, then verifyChartAttestations reads the .att layer', async () => {
    const { client, repo, subject } = await pushedCharts();
    const key = p256();
    const r = await attestChart(repo, '1.0.0', keyObjectSigner(key.privateKey), {
      predicateType: 'slsaprovenance1',
      predicate: slsa,
      format: 'legacy',
    });
    expect(r.format).toBe('legacy');
    expect(r.legacy).toMatchObject({
      tag: cosignAttestationTag(subject.digest),
      subjectDigest: subject.digest,
      appended: true,
    });
    // Nothing was written as a referrer.
    expect(await repo.referrers(subject)).toHaveLength(0);

    const got = await verifyChartAttestations(client, `oci://${REPO}:1.0.0`, {
      policy: keyPolicy(key),
      predicateType: 'slsaprovenance1',
    });
    expect(got).toMatchObject({
      format: 'legacy',
      digest: subject.digest,
      pinned: `${REPO}@${subject.digest}`,
    });
    expect(got.attestations).toHaveLength(1);
    expect(got.attestations[0]).toMatchObject({
      format: 'legacy',
      source: `${cosignAttestationTag(subject.digest)} layer 0`,
      manifestDigest: r.legacy.manifestDigest,
      predicateType: SLSA_V1,
      predicate: slsa,
      signer: { kind: 'key' },
      tlog: 'not-checked',
    });
    expect(got.checks).toEqual([
      'The cosign claims were validated',
      'The signatures were verified against the specified public key',
    ]);
  });

  it("writes cosign's exact shape: manifest, config, layer annotations and DSSE envelope", async () => {
    const { repo, subject, store } = await pushedCharts();
    const key = p256();
    const r = await attestChart(repo, subject, keyObjectSigner(key.privateKey), {
      predicateType: 'slsaprovenance1',
      predicate: slsa,
      format: 'legacy',
    });
    const envelope = store.get(r.legacy.layer.digest)!;
    const config = `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${digestOf(envelope)}"]},"config":{}}`;
    const configBytes = new TextEncoder().encode(config);
    const expected =
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
      `"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":${configBytes.byteLength},"digest":"${digestOf(configBytes)}"},` +
      `"layers":[{"mediaType":"${DSSE}","size":${envelope.byteLength},"digest":"${digestOf(envelope)}",` +
      `"annotations":{"dev.cosignproject.cosign/signature":"","predicateType":"${SLSA_V1}"}}]}`;
    const { bytes, descriptor } = await repo.fetchManifest(cosignAttestationTag(subject.digest));
    expect(text(bytes)).toBe(expected);
    expect(descriptor.digest).toBe(r.legacy.manifestDigest);
    expect(text(store.get(digestOf(configBytes))!)).toBe(config);

    // go-securesystemslib dsse.Envelope through json.Marshal: payloadType, payload,
    // signatures[{keyid:"", sig}].
    const env = JSON.parse(text(envelope));
    expect(Object.keys(env)).toEqual(['payloadType', 'payload', 'signatures']);
    expect(env.payloadType).toBe('application/vnd.in-toto+json');
    expect(env.signatures).toHaveLength(1);
    expect(Object.keys(env.signatures[0])).toEqual(['keyid', 'sig']);
    expect(env.signatures[0].keyid).toBe('');
    const payload = Buffer.from(env.payload, 'base64');
    expect(payload.equals(Buffer.from(r.statement))).toBe(true);
    const statement = JSON.parse(payload.toString('utf8'));
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: REPO, digest: { sha256: subject.digest.slice('sha256:'.length) } }],
      predicateType: SLSA_V1,
      predicate: slsa,
    });
    // The signature is over the DSSE PAE, built independently here.
    const type = 'application/vnd.in-toto+json';
    const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${payload.length} `), payload]);
    expect(verify('sha256', pae, key.publicKey, Buffer.from(env.signatures[0].sig, 'base64'))).toBe(true);
    expect(text(encodeDsseEnvelope(parseDsseEnvelope(envelope)))).toBe(text(envelope));
  });

  it('appending keeps the other layers byte for byte; an identical layer is not added twice', async () => {
    const { client, repo, subject, store } = await pushedCharts();
    const a = p256();
    const b = p256();
    const foreign = blob('not an attestation', 'text/plain');
    await repo.push(foreign.desc, foreign.data);
    // A layer of another kind first, then one attestation per key.
    const first = await attachLegacyAttestation(
      repo,
      subject,
      await createDsseEnvelope(
        inTotoStatement([{ digest: { sha256: subject.digest.slice(7) } }], SPDX, spdx),
        keyObjectSigner(a.privateKey),
      ),
      { predicateType: SPDX },
    );
    const seeded = await attManifest(repo, subject.digest);
    const withForeign = {
      ...JSON.parse(text(seeded.bytes)),
      layers: [{ ...foreign.desc, annotations: { x: 'y' } }, ...seeded.layers],
    };
    await repo.pushManifest(new TextEncoder().encode(JSON.stringify(withForeign)), { tags: [first.tag] });

    const second = await attestChart(repo, subject, keyObjectSigner(b.privateKey), {
      predicateType: 'slsaprovenance1',
      predicate: slsa,
      format: 'legacy',
    });
    const after = await attManifest(repo, subject.digest);
    expect(after.layers).toHaveLength(3);
    expect(after.layers[0]).toEqual({ ...foreign.desc, annotations: { x: 'y' } });
    expect(after.layers[1]).toEqual(seeded.layers[0]);
    expect(after.layers[2]).toEqual(second.legacy.layer);
    const config = JSON.parse(text(store.get((after.manifest.config as Descriptor).digest)!));
    expect(config.rootfs.diff_ids).toEqual(after.layers.map((l) => l.digest));

    // The same envelope again: nothing pushed.
    const again = await attachLegacyAttestation(repo, subject, store.get(second.legacy.layer.digest)!, {
      predicateType: SLSA_V1,
    });
    expect(again).toMatchObject({ appended: false, manifestDigest: after.descriptor.digest });

    // Both attestations verify, each with its key; the foreign layer is ignored.
    const both = await verifyChartAttestations(client, `${REPO}@${subject.digest}`, {
      policy: { keys: [pem(a.publicKey), pem(b.publicKey)], tlog: 'skip', threshold: 2 },
    });
    expect(both.format).toBe('legacy');
    expect(both.attestations.map((x) => x.predicateType).sort()).toEqual([SLSA_V1, SPDX].sort());
    expect(both.rejected).toEqual([]);
  });

  it('fails with the wrong key, naming the layer', async () => {
    const { client, repo } = await pushedCharts();
    await attestChart(repo, '1.0.0', keyObjectSigner(p256().privateKey), {
      predicateType: 'spdx',
      predicate: spdx,
      format: 'legacy',
    });
    const err = await expectChartproofError(
      verifyChartAttestations(client, `${REPO}:1.0.0`, { policy: keyPolicy(p256()), predicateType: 'spdx' }),
      'SIGNATURE_INVALID',
      /no attestations of type https:\/\/spdx\.dev\/Document verified.*legacy sha256-[0-9a-f]{64}\.att layer 0/,
    );
    expect((err as AttestationVerificationError).rejected[0]).toMatchObject({
      format: 'legacy',
      predicateType: SPDX,
    });
  });

  it('fails for a statement about another digest (an older push of the tag)', async () => {
    const { client, repo, subject, second } = await pushedCharts();
    const key = p256();
    const otherStatement = inTotoStatement([{ digest: { sha256: second.digest.slice(7) } }], SLSA_V1, slsa);
    await attachLegacyAttestation(
      repo,
      subject,
      await createDsseEnvelope(otherStatement, keyObjectSigner(key.privateKey)),
      {
        predicateType: SLSA_V1,
      },
    );
    const err = (await expectChartproofError(
      verifyChartAttestations(client, `${REPO}:1.0.0`, { policy: keyPolicy(key), predicateType: SLSA_V1 }),
      'SIGNATURE_INVALID',
    )) as AttestationVerificationError;
    expect(err.rejected[0]!.reason).toMatch(/no in-toto subject has the artifact's digest/);
  });

  it('fails for a tampered envelope: changed payload, or blob bytes that do not match the layer digest', async () => {
    const { client, repo, subject, store } = await pushedCharts();
    const key = p256();
    const r = await attestChart(repo, subject, keyObjectSigner(key.privateKey), {
      predicateType: 'spdx',
      predicate: spdx,
      format: 'legacy',
    });
    const env = parseDsseEnvelope(store.get(r.legacy.layer.digest)!);
    const forged = inTotoStatement([{ digest: { sha256: subject.digest.slice(7) } }], SPDX, {
      ...spdx,
      name: 'evil',
    });
    const tampered = encodeDsseEnvelope({ ...env, payload: Buffer.from(forged).toString('base64') });
    const other = await pushedCharts();
    await attachLegacyAttestation(other.repo, other.subject, tampered, { predicateType: SPDX });
    const e1 = (await expectChartproofError(
      verifyChartAttestations(other.client, `${REPO}:1.0.0`, {
        policy: keyPolicy(key),
        predicateType: 'spdx',
      }),
      'SIGNATURE_INVALID',
    )) as AttestationVerificationError;
    expect(e1.rejected[0]!.reason).toMatch(/signature/i);

    // Same length, different bytes, stored under the layer's digest.
    const original = store.get(r.legacy.layer.digest)!;
    const corrupt = new Uint8Array(original);
    corrupt[corrupt.length - 5] = corrupt[corrupt.length - 5] === 0x41 ? 0x42 : 0x41;
    store.putVerified({ ...r.legacy.layer }, corrupt);
    const e2 = (await expectChartproofError(
      verifyChartAttestations(client, `${REPO}:1.0.0`, { policy: keyPolicy(key), predicateType: 'spdx' }),
      'SIGNATURE_NOT_FOUND',
    )) as AttestationVerificationError;
    expect(e2.rejected[0]).toMatchObject({
      format: 'legacy',
      reason: expect.stringMatching(/envelope blob rejected/),
    });
  });

  it('filters on the signed predicate type, never on the layer annotation', async () => {
    const { client, repo, subject } = await pushedCharts();
    const key = p256();
    const signer = keyObjectSigner(key.privateKey);
    await attestChart(repo, subject, signer, {
      predicateType: 'slsaprovenance1',
      predicate: slsa,
      format: 'legacy',
    });
    // An SPDX statement whose (unsigned) layer annotation claims SLSA provenance.
    const sbom = inTotoStatement([{ digest: { sha256: subject.digest.slice(7) } }], SPDX, spdx);
    await attachLegacyAttestation(repo, subject, await createDsseEnvelope(sbom, signer), {
      predicateType: SLSA_V1,
    });
    const ref = `${REPO}:1.0.0`;
    const got = await verifyChartAttestations(client, ref, { policy: keyPolicy(key), predicateType: 'spdx' });
    expect(got.attestations.map((a) => a.predicateType)).toEqual([SPDX]);
    const prov = await verifyChartAttestations(client, ref, {
      policy: keyPolicy(key),
      predicateType: SLSA_V1,
    });
    expect(prov.attestations.map((a) => a.predicate)).toEqual([slsa]);
    const none = (await expectChartproofError(
      verifyChartAttestations(client, ref, { policy: keyPolicy(key), predicateType: 'cyclonedx' }),
      'SIGNATURE_NOT_FOUND',
    )) as AttestationVerificationError;
    expect(none.found.sort()).toEqual([SLSA_V1, SPDX].sort());
  });

  it('tries bundles first, then .att; the result names the format that verified', async () => {
    const { client, repo, subject } = await pushedCharts();
    const key = p256();
    const both = await attestChart(repo, subject, keyObjectSigner(key.privateKey), {
      predicateType: 'spdx',
      predicate: spdx,
      format: 'both',
    });
    expect(both.format).toBe('both');
    expect(both.legacy?.appended).toBe(true);
    expect(both.manifest.digest).toMatch(/^sha256:/);
    const ref = `${REPO}@${subject.digest}`;
    expect(
      (await verifyChartAttestations(client, ref, { policy: keyPolicy(key), predicateType: 'spdx' })).format,
    ).toBe('bundle');
    const legacyOnly = await verifyChartAttestations(client, ref, {
      policy: keyPolicy(key),
      predicateType: 'spdx',
      formats: ['legacy'],
    });
    expect(legacyOnly.format).toBe('legacy');

    // A bundle by an untrusted key does not stop the legacy layer from verifying.
    const mixed = await pushedCharts();
    const trusted = p256();
    await attestChart(mixed.repo, mixed.subject, keyObjectSigner(p256().privateKey), {
      predicateType: 'spdx',
      predicate: spdx,
    });
    await attestChart(mixed.repo, mixed.subject, keyObjectSigner(trusted.privateKey), {
      predicateType: 'spdx',
      predicate: spdx,
      format: 'legacy',
    });
    const got = await verifyChartAttestations(mixed.client, `${REPO}:1.0.0`, {
      policy: keyPolicy(trusted),
      predicateType: 'spdx',
    });
    expect(got.format).toBe('legacy');
    expect(got.rejected).toEqual([expect.objectContaining({ format: 'bundle', predicateType: SPDX })]);
    await expectChartproofError(
      verifyChartAttestations(mixed.client, `${REPO}:1.0.0`, {
        policy: keyPolicy(trusted),
        predicateType: 'spdx',
        formats: ['bundle'],
      }),
      'SIGNATURE_INVALID',
    );
  });

  it('applies the tlog policy: require needs a Rekor annotation, never passing silently', async () => {
    const { client, repo, subject } = await pushedCharts();
    const key = p256();
    await attestChart(repo, subject, keyObjectSigner(key.privateKey), {
      predicateType: 'spdx',
      predicate: spdx,
      format: 'legacy',
    });
    const root = {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    };
    const err = (await expectChartproofError(
      verifyChartAttestations(client, `${REPO}:1.0.0`, {
        policy: keyPolicy(key, { tlog: 'require', trustedRoot: root }),
        predicateType: 'spdx',
      }),
      'SIGNATURE_INVALID',
    )) as AttestationVerificationError;
    expect(err.rejected[0]!.reason).toMatch(/no Rekor bundle annotation/);
    // Without a trusted root the log cannot be checked at all: a usage error.
    await expectChartproofError(
      verifyChartAttestations(client, `${REPO}:1.0.0`, {
        policy: keyPolicy(key, { tlog: 'require' }),
        predicateType: 'spdx',
      }),
      'INVALID_ARGUMENT',
    );
    // if-present: no annotation, nothing to check.
    const ok = await verifyChartAttestations(client, `${REPO}:1.0.0`, {
      policy: keyPolicy(key, { tlog: 'if-present', trustedRoot: root }),
      predicateType: 'spdx',
    });
    expect(ok.attestations[0]!.tlog).toBe('not-checked');
  });

  it('rejects envelopes it cannot verify and bad arguments', async () => {
    const { client, repo, subject } = await pushedCharts();
    const key = p256();
    const signer = keyObjectSigner(key.privateKey);
    const st = inTotoStatement([{ digest: { sha256: subject.digest.slice(7) } }], SPDX, spdx);
    const env = parseDsseEnvelope(await createDsseEnvelope(st, signer));
    const twice = encodeDsseEnvelope({ ...env, signatures: [env.signatures[0]!, env.signatures[0]!] });
    await attachLegacyAttestation(repo, subject, twice, { predicateType: SPDX });
    const err = (await expectChartproofError(
      verifyChartAttestations(client, `${REPO}:1.0.0`, { policy: keyPolicy(key), predicateType: 'spdx' }),
      'SIGNATURE_INVALID',
    )) as AttestationVerificationError;
    expect(err.rejected[0]!.reason).toMatch(/2 signatures/);

    const envBytes = await createDsseEnvelope(st, signer);
    await expectChartproofError(
      attachLegacyAttestation(repo, subject, envBytes, {
        predicateType: SPDX,
        annotations: { predicateType: 'x' },
      }),
      'INVALID_ARGUMENT',
      /reserved/,
    );
    await expectChartproofError(
      attachLegacyAttestation(repo, subject, new TextEncoder().encode('{}'), { predicateType: SPDX }),
      'SIGNATURE_INVALID',
    );
    await expectChartproofError(
      attachLegacyAttestation(repo, subject, envBytes, { predicateType: '' }),
      'INVALID_ARGUMENT',
    );
    await expectChartproofError(
      attestChart(repo, subject, signer, {
        predicateType: 'spdx',
        predicate: spdx,
        format: 'legacy',
        witnesses: [{ testify: async () => ({}) } as never],
      }),
      'INVALID_ARGUMENT',
      /bundle format only/,
    );
    await expectChartproofError(
      attestChart(repo, subject, signer, { predicateType: 'spdx', predicate: spdx, format: 'zip' as never }),
      'INVALID_ARGUMENT',
      /unknown attestation format/,
    );
    await expectChartproofError(
      verifyChartAttestations(client, `${REPO}:1.0.0`, { policy: keyPolicy(key), formats: [] }),
      'INVALID_ARGUMENT',
    );
    // No .att tag: nothing found.
    expect(await findLegacyAttestations(repo, (await repo.resolve('2.0.0')).digest)).toMatchObject({
      layers: [],
    });
  });
});
