/**
 * The certificate path search over untrusted intermediates (the legacy
 * `dev.sigstore.cosign/chain` annotation, read from the registry) is bounded. Without a
 * bound, a handful of attacker-made CA certificates that issue each other (subject X /
 * issuer Y and subject Y / issuer X, all with one key) make the depth-first search try
 * every path of up to 10 certificates: n^10 signature checks, a hang.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyCertificateChain } from '../../src/verify/certificate.js';
import { verifyLegacyKeylessLayer } from '../../src/verify/legacy-keyless.js';

function enc(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  if (n < 0x80) return Buffer.concat([Buffer.from([tag, n]), body]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.concat([Buffer.from([tag, 0x80 | bytes.length, ...bytes]), body]);
}
const seq = (...c: Buffer[]) => enc(0x30, ...c);
const oid = (hex: string) => enc(0x06, Buffer.from(hex, 'hex'));
const ECDSA_SHA256 = seq(oid('2a8648ce3d040302'));
const name = (cn: string) => seq(enc(0x31, seq(oid('550403'), enc(0x0c, Buffer.from(cn)))));
const utcTime = (d: Date) => enc(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-:T]/g, '')}Z`));

let serial = 1;
function certificate(opts: {
  subject: string;
  issuer: string;
  key: KeyObject;
  signer: KeyObject;
  ca: boolean;
}): X509Certificate {
  const now = Date.now();
  const exts = opts.ca
    ? [
        // basicConstraints cA TRUE (critical), keyUsage keyCertSign (critical)
        seq(oid('551d13'), enc(0x01, Buffer.from([0xff])), enc(0x04, seq(enc(0x01, Buffer.from([0xff]))))),
        seq(oid('551d0f'), enc(0x01, Buffer.from([0xff])), enc(0x04, enc(0x03, Buffer.from([0x02, 0x04])))),
      ]
    : [seq(oid('551d11'), enc(0x04, seq(enc(0x81, Buffer.from('alice@example.com')))))];
  const tbs = seq(
    enc(0xa0, enc(0x02, Buffer.from([2]))),
    enc(0x02, Buffer.from([0x01, (serial++ >> 8) & 0xff, serial & 0xff])),
    ECDSA_SHA256,
    name(opts.issuer),
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 3_600_000))),
    name(opts.subject),
    opts.key.export({ type: 'spki', format: 'der' }),
    enc(0xa3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, opts.signer);
  return new X509Certificate(seq(tbs, ECDSA_SHA256, enc(0x03, Buffer.from([0]), signature)));
}

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

/** A trusted root, and a leaf plus a web of untrusted CA certificates that never reach it. */
function hostileWeb(n: number) {
  const rootKey = p256();
  const root = certificate({
    subject: 'root',
    issuer: 'root',
    key: rootKey.publicKey,
    signer: rootKey.privateKey,
    ca: true,
  });
  const k = p256();
  const web: X509Certificate[] = [];
  for (let i = 0; i < n; i++) {
    web.push(certificate({ subject: 'X', issuer: 'Y', key: k.publicKey, signer: k.privateKey, ca: true }));
    web.push(certificate({ subject: 'Y', issuer: 'X', key: k.publicKey, signer: k.privateKey, ca: true }));
  }
  const leafKey = p256();
  const leaf = certificate({
    subject: 'leaf',
    issuer: 'X',
    key: leafKey.publicKey,
    signer: k.privateKey,
    ca: false,
  });
  return { root, web, leaf };
}

describe('review: bounded certificate path search', () => {
  it('gives up quickly on a web of untrusted intermediates that issue each other', () => {
    const { root, web, leaf } = hostileWeb(6);
    const started = Date.now();
    expect(() =>
      verifyCertificateChain(leaf, { authorities: [{ certificates: [root] }], intermediates: web }),
    ).toThrow(/certificate/);
    expect(Date.now() - started).toBeLessThan(3_000);
  }, 20_000);

  it('fails the legacy layer (chain annotation from the registry) instead of hanging', () => {
    const { root, web, leaf } = hostileWeb(6);
    const pem = (c: X509Certificate) => c.toString();
    const payload = Buffer.from('{}');
    const started = Date.now();
    const out = verifyLegacyKeylessLayer(
      {
        payload,
        subjectDigest: `sha256:${createHash('sha256').update('x').digest('hex')}`,
        annotations: {
          'dev.cosignproject.cosign/signature': 'AAAA',
          'dev.sigstore.cosign/certificate': pem(leaf),
          'dev.sigstore.cosign/chain': web.map(pem).join(''),
        },
      } as Parameters<typeof verifyLegacyKeylessLayer>[0],
      {
        identities: [{ subject: 'alice@example.com', issuer: 'https://issuer.test' }],
        roots: [root],
        tlog: 'skip',
        ctlog: 'skip',
      },
    );
    expect(out.verified).toBe(false);
    expect(out.reason).toMatch(/^certificate: /);
    expect(Date.now() - started).toBeLessThan(3_000);
  }, 20_000);

  it('still finds a legitimate path through an intermediate', () => {
    const rootKey = p256();
    const interKey = p256();
    const root = certificate({
      subject: 'root',
      issuer: 'root',
      key: rootKey.publicKey,
      signer: rootKey.privateKey,
      ca: true,
    });
    const inter = certificate({
      subject: 'inter',
      issuer: 'root',
      key: interKey.publicKey,
      signer: rootKey.privateKey,
      ca: true,
    });
    const leaf = certificate({
      subject: 'leaf',
      issuer: 'inter',
      key: p256().publicKey,
      signer: interKey.privateKey,
      ca: false,
    });
    const path = verifyCertificateChain(leaf, {
      authorities: [{ certificates: [root] }],
      intermediates: [...hostileWeb(2).web, inter],
    });
    expect(path.map((c) => c.subject)).toEqual([leaf.subject, inter.subject, root.subject]);
  });
});
