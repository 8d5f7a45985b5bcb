/**
 * Shared pieces for tests that build Sigstore services with `@sigstore/mock`'s
 * initialize* functions (CA, CT log, Rekor, TSA): the trusted root that trusts them,
 * cosign's Rekor bundle annotation for a logged entry, and a TSA wrapper that avoids
 * the mock's timestamp fraction quirk.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  fulcioHandler,
  type HandlerFn,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  type initializeTSA,
  rekorHandler,
} from '@sigstore/mock';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { TrustedRootJson } from '../../src/verify/policy.js';

// @sigstore/mock does not export these types.
export type CA = Awaited<ReturnType<typeof initializeCA>>;
export type CTLog = Awaited<ReturnType<typeof initializeCTLog>>;
export type TLog = Awaited<ReturnType<typeof initializeTLog>>;
export type TSA = Awaited<ReturnType<typeof initializeTSA>>;

export const b64 = (v: ArrayBufferView) =>
  Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');

/**
 * A trusted root for the mock services: the Rekor log key, the CA (unless absent or
 * `parts.ca` is false), the CT log, and the TSA (when given, unless `parts.tsa` is false).
 */
export function mockTrustedRoot(
  s: {
    tlog: { publicKey: ArrayBufferView };
    ca?: Pick<CA, 'rootCertificate'>;
    ctlog: { publicKey: ArrayBufferView; logID: ArrayBufferView };
    tsa?: Pick<TSA, 'rootCertificate' | 'intCertificate'>;
  },
  parts: { ca?: boolean; tsa?: boolean } = {},
): TrustedRootJson {
  const validFor = { start: new Date(Date.now() - 3_600_000).toISOString() };
  const key = (raw: ArrayBufferView) => ({
    rawBytes: b64(raw),
    keyDetails: 'PKIX_ECDSA_P256_SHA_256',
    validFor,
  });
  const tlogKey = Buffer.from(
    s.tlog.publicKey.buffer,
    s.tlog.publicKey.byteOffset,
    s.tlog.publicKey.byteLength,
  );
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: 'https://rekor.test',
        hashAlgorithm: 'SHA2_256',
        publicKey: key(tlogKey),
        logId: { keyId: createHash('sha256').update(tlogKey).digest('base64') },
      },
    ],
    certificateAuthorities:
      s.ca && parts.ca !== false
        ? [
            {
              subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
              uri: 'https://fulcio.test',
              certChain: { certificates: [{ rawBytes: b64(s.ca.rootCertificate) }] },
              validFor,
            },
          ]
        : [],
    ctlogs: [
      {
        baseUrl: 'https://ctfe.test',
        hashAlgorithm: 'SHA2_256',
        publicKey: key(s.ctlog.publicKey),
        logId: { keyId: b64(s.ctlog.logID) },
      },
    ],
    timestampAuthorities:
      s.tsa && parts.tsa !== false
        ? [
            {
              subject: { organization: 'sigstore.mock', commonName: 'tsa' },
              certChain: {
                certificates: [
                  { rawBytes: b64(s.tsa.intCertificate) },
                  { rawBytes: b64(s.tsa.rootCertificate) },
                ],
              },
              validFor,
            },
          ]
        : [],
  };
}

/** cosign's `dev.sigstore.cosign/bundle` annotation for an entry logged in the mock Rekor. */
export async function rekorAnnotation(tlog: TLog, body: object): Promise<string> {
  const entry = Object.values(await tlog.log(body))[0] as {
    body: string;
    integratedTime: number;
    logIndex: number;
    logID: string;
    verification: { signedEntryTimestamp: string };
  };
  return JSON.stringify({
    SignedEntryTimestamp: entry.verification.signedEntryTimestamp,
    Payload: {
      body: entry.body,
      integratedTime: entry.integratedTime,
      logIndex: entry.logIndex,
      logID: entry.logID,
    },
  });
}

/** The fraction of the first GeneralizedTime in a DER TimeStampResp (`.123`), or '' without one. */
function genTimeFraction(der: ArrayBufferView): string | undefined {
  const text = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('latin1');
  const m = /\x18[\x0f-\x13](\d{14})(\.\d+)?Z/.exec(text);
  return m ? (m[2] ?? '') : undefined;
}

/**
 * A timestamp from the mock TSA whose time has a three-digit fraction. The mock (pkijs)
 * writes the GeneralizedTime fraction without trailing zeros (`.48Z` at 480 ms), which
 * @sigstore/core's parser rejects ("invalid time"): such a response is asked for again.
 * (Waiting for a "safe" millisecond first is not enough: the mock reads its clock after
 * some asynchronous work.) A TSA with a fixed clock needs a fixed time with a
 * three-digit fraction (see {@link safeClock}).
 */
export async function mockTimestamp(
  tsa: TSA,
  req: Parameters<TSA['timestamp']>[0],
): Promise<ArrayBufferView<ArrayBuffer>> {
  for (let attempt = 0; ; attempt++) {
    const resp = await tsa.timestamp(req);
    if (genTimeFraction(resp)?.length === 4 || attempt >= 50) return resp;
    await new Promise((r) => setTimeout(r, 1 + (attempt % 3)));
  }
}

/** A fixed TSA clock `offsetMs` from now, at 123 ms into its second (a three-digit fraction). */
export function safeClock(offsetMs = 0): Date {
  const t = new Date(Date.now() + offsetMs);
  t.setUTCMilliseconds(123);
  return t;
}

/** The TSA, answering only with timestamps that @sigstore/core can parse (see {@link mockTimestamp}). */
export function threeDigitMillisTsa(tsa: TSA): TSA {
  return {
    rootCertificate: tsa.rootCertificate,
    intCertificate: tsa.intCertificate,
    timestamp: (req: Parameters<TSA['timestamp']>[0]) => mockTimestamp(tsa, req),
  };
}

/** An unsigned JWT with these claims (the mock Fulcio reads claims, not signatures). */
export function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

/** Serves a @sigstore/mock handler with nock 15 (reply functions get the fetch `Request`). */
export function serve(base: string, handler: { path: string; fn: HandlerFn }) {
  return nock(base)
    .persist()
    .post(handler.path)
    .reply(async (req: Request) => {
      const r = await handler.fn(await req.text());
      return [r.statusCode, r.response, { 'Content-Type': r.contentType ?? 'text/plain' }];
    });
}

/**
 * The mock Rekor logs the proposed entry verbatim; real Rekor logs the canonical dsse
 * body (payload hash and signatures, no envelope), which is what verifiers compare.
 * Canonicalize the request as Rekor does before the mock signs and logs it.
 */
export function rekorDsseCanonicalizer(fn: HandlerFn): HandlerFn {
  return async (request) => {
    const proposed = JSON.parse(request);
    if (proposed.kind !== 'dsse') return fn(request);
    const { envelope, verifiers } = proposed.spec.proposedContent;
    const env = JSON.parse(envelope);
    const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    const canonical = {
      apiVersion: proposed.apiVersion,
      kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: sha256(envelope) },
        payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(env.payload, 'base64')) },
        signatures: env.signatures.map((sig: { sig: string }, i: number) => ({
          signature: sig.sig,
          verifier: verifiers[i],
        })),
      },
    };
    return fn(JSON.stringify(canonical));
  };
}

/**
 * A mock Fulcio (P-256 CA with a CT log) and Rekor served through nock around every test
 * of the calling suite (network otherwise disabled); Rekor canonicalizes dsse entries as
 * the real one does. Returns a getter for the services and the trusted root trusting them.
 */
export function mockSigstoreServices(
  fulcioUrl: string,
  rekorUrl: string,
): () => { ca: CA; tlog: TLog; root: TrustedRootJson } {
  const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  let services: { ca: CA; tlog: TLog; root: TrustedRootJson } | undefined;
  beforeAll(async () => {
    const ctlog = await initializeCTLog(p256());
    const ca = await initializeCA(p256(), ctlog);
    const tlog = await initializeTLog(rekorUrl, p256());
    services = { ca, tlog, root: mockTrustedRoot({ tlog, ca, ctlog }) };
  });
  beforeEach(() => {
    nock.disableNetConnect();
    serve(fulcioUrl, fulcioHandler(services!.ca));
    const rekor = rekorHandler(services!.tlog);
    serve(rekorUrl, { path: rekor.path, fn: rekorDsseCanonicalizer(rekor.fn) });
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });
  afterAll(() => nock.restore());
  return () => services!;
}
