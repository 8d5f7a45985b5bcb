/**
 * Keyless signing, as `cosign sign` does without `--key` (v3, bundle format): an
 * ephemeral P-256 key, certified by Fulcio for the identity of an OIDC token, signs a
 * DSSE envelope; Rekor logs it (entry kind `dsse`); optionally an RFC 3161 timestamp
 * authority countersigns the signature. The result is a Sigstore bundle v0.3 with the
 * leaf certificate (`verificationMaterial.certificate`), stored as an OCI referrer
 * exactly like key-signed bundles ({@link attachBundle}).
 *
 * The network clients are @sigstore/sign's (`FulcioSigner`, `RekorWitness`,
 * `TSAWitness`, which use make-fetch-happen over `node:http`); the private key lives
 * only in memory for one signature and is never written anywhere.
 *
 * References: cosign `cmd/cosign/cli/sign/sign.go` (`signDigestBundle`),
 * `pkg/cosign/env/env.go` (`SIGSTORE_ID_TOKEN`); Fulcio `POST /api/v2/signingCert`;
 * sigstore-js `packages/sign`; protobuf-specs `sigstore_bundle.proto`.
 */
import { generateKeyPairSync, type KeyObject, sign as nodeSign, X509Certificate } from 'node:crypto';
import { bundleToJSON } from '@sigstore/bundle';
import type { Signer as SigstoreSigner, Witness } from '@sigstore/sign';
import { utf8Bytes } from '../internal/encoding/go-json.js';
import { ChartproofError, type ErrorCode } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { dssePae, type SigstoreBundleJson } from './bundle.js';
import { verifySignature } from '../keys/keys.js';
import { type AttachBundleResult, attachBundle } from './referrer.js';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  cosignSignStatement,
  IN_TOTO_PAYLOAD_TYPE,
} from '../cosign/statement.js';
import { resolveSubject } from '../cosign/subject.js';
import type { BundleTarget } from './target.js';

/** The public-good Fulcio (`https://fulcio.sigstore.dev`, @sigstore/sign's default). @public */
export const DEFAULT_FULCIO_URL: string = 'https://fulcio.sigstore.dev';
/** The public-good Rekor (`https://rekor.sigstore.dev`, @sigstore/sign's default). @public */
export const DEFAULT_REKOR_URL: string = 'https://rekor.sigstore.dev';
/** The environment variable cosign and sigstore-js read an OIDC identity token from. @public */
export const SIGSTORE_ID_TOKEN_ENV = 'SIGSTORE_ID_TOKEN';

/**
 * An OIDC identity token: the JWT itself, or a function returning one (called once per
 * signature, e.g. to fetch a fresh CI token).
 * @public
 */
export type IdentityTokenSource = string | ((options: { signal?: AbortSignal }) => Promise<string> | string);

/** Options of {@link createKeylessDsseBundle}. @public */
export interface KeylessOptions {
  /** The OIDC identity token whose identity Fulcio certifies. */
  identityToken: IdentityTokenSource;
  /** Fulcio base URL. If unset, {@link DEFAULT_FULCIO_URL}. */
  fulcioURL?: string;
  /** Rekor (v1 API) base URL. If unset, {@link DEFAULT_REKOR_URL}. */
  rekorURL?: string;
  /** RFC 3161 timestamp authority base URL (`POST /api/v1/timestamp`). If unset, no timestamp. */
  tsaURL?: string;
  /** Timeout of each Fulcio / Rekor / TSA request in milliseconds. If unset, @sigstore/sign's default. */
  timeout?: number;
  /** Checked between steps: the Sigstore clients themselves cannot be aborted mid-request. */
  signal?: AbortSignal;
}

/** The identity a Fulcio certificate was issued for. @public */
export interface CertificateIdentityInfo {
  /** The Subject Alternative Name (e-mail or URI). */
  subject?: string;
  /** The OIDC issuer extension (`1.3.6.1.4.1.57264.1.8`, else `.1.1`). */
  issuer?: string;
}

/** What {@link createKeylessDsseBundle} produced. @public */
export interface KeylessBundle {
  /** The bundle JSON, trimmed to what cosign writes. */
  bundle: SigstoreBundleJson;
  /** The Fulcio leaf certificate (PEM). */
  certificatePem: string;
  /** Who the certificate names. */
  identity: CertificateIdentityInfo;
}

/**
 * The OIDC identity token in `env.SIGSTORE_ID_TOKEN` (surrounding white space
 * removed), or undefined when it is unset or blank.
 * @public
 */
export function identityTokenFromEnv(env: Record<string, string | undefined>): string | undefined {
  const value = env[SIGSTORE_ID_TOKEN_ENV]?.trim();
  return value ? value : undefined;
}

/**
 * Signs `statement` keylessly into a Sigstore bundle v0.3 with a DSSE envelope: a new
 * ephemeral P-256 key, a Fulcio certificate for it (the proof of possession signs the
 * token's `email`, else `sub`), the DSSE signature over the PAE, a Rekor `dsse` entry
 * and, with `tsaURL`, an RFC 3161 timestamp. Before returning it checks that the
 * certificate certifies the ephemeral key and that the signature verifies with it.
 * @throws ChartproofError `INVALID_ARGUMENT` for an empty statement, a token that is
 *   not a JWT or lacks a (verified) subject, or invalid URLs; `AUTH_FAILED` when the
 *   token provider fails, the token's e-mail is unverified, or Fulcio rejects the token
 *   (401/403); `UNEXPECTED_STATUS` for other HTTP errors of Fulcio, Rekor or the TSA; `NETWORK`
 *   when they cannot be reached; `SIGNATURE_INVALID` when the self-check fails
 * @public
 */
export async function createKeylessDsseBundle(
  statement: Uint8Array,
  options: KeylessOptions,
): Promise<KeylessBundle> {
  const { signal } = options;
  if (!(statement instanceof Uint8Array) || statement.byteLength === 0)
    throw new ChartproofError('INVALID_ARGUMENT', 'the statement must be non-empty bytes');
  const fulcioURL = serviceUrl(options.fulcioURL ?? DEFAULT_FULCIO_URL, 'fulcioURL');
  const rekorURL = serviceUrl(options.rekorURL ?? DEFAULT_REKOR_URL, 'rekorURL');
  const tsaURL = options.tsaURL === undefined ? undefined : serviceUrl(options.tsaURL, 'tsaURL');
  const fetchOptions = options.timeout === undefined ? {} : { timeout: options.timeout };
  signal?.throwIfAborted();
  const token = await readToken(options.identityToken, signal);
  checkToken(token);
  signal?.throwIfAborted();

  // One key per signature, held in memory only (cosign's ephemeral signer).
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const keyHolder: SigstoreSigner = {
    sign: async (data) => ({
      signature: nodeSign('sha256', data, privateKey),
      key: { $case: 'publicKey', publicKey: publicPem },
    }),
  };
  // Loaded on first use (~170 ms), not with this module.
  const { DSSEBundleBuilder, FulcioSigner, RekorWitness, TSAWitness } = await import('@sigstore/sign');
  signal?.throwIfAborted();
  const signer = new FulcioSigner({
    fulcioBaseURL: fulcioURL,
    identityProvider: { getToken: async () => token },
    keyHolder,
    ...fetchOptions,
  });
  const witnesses: Witness[] = [
    new RekorWitness({ rekorBaseURL: rekorURL, entryType: 'dsse', majorApiVersion: 1, ...fetchOptions }),
  ];
  if (tsaURL) witnesses.push(new TSAWitness({ tsaBaseURL: tsaURL, ...fetchOptions }));
  const builder = new DSSEBundleBuilder({ signer, witnesses });
  let json: SigstoreBundleJson;
  try {
    const bundle = await builder.create({ data: Buffer.from(statement), type: IN_TOTO_PAYLOAD_TYPE });
    json = trimKeyless(bundleToJSON(bundle) as unknown as SigstoreBundleJson);
  } catch (e) {
    throw sigstoreError(e, { fulcioURL, rekorURL, tsaURL });
  }
  signal?.throwIfAborted();
  return checkKeylessBundle(json, statement, publicKey);
}

/** Options of {@link signBundleKeyless}. @public */
export interface SignBundleKeylessOptions extends KeylessOptions {
  /** Annotations signed into the statement's subject (`cosign sign -a k=v`). */
  annotations?: Record<string, string>;
  /** Creation time of the referrer. If unset, now. */
  created?: Date | string;
}

/** What {@link signBundleKeyless} did. @public */
export interface SignBundleKeylessResult extends AttachBundleResult {
  /** The signed in-toto statement bytes. */
  statement: Uint8Array;
  /** The bundle JSON stored in the referrer. */
  bundle: SigstoreBundleJson;
  /** The Fulcio leaf certificate (PEM). */
  certificatePem: string;
  /** Who the certificate names: what verifiers pass as the certificate identity. */
  identity: CertificateIdentityInfo;
}

/**
 * Signs `subject` keylessly, the way `cosign sign` (v3, no `--key`) does: the statement
 * of `cosignSignStatement`, a bundle from {@link createKeylessDsseBundle}, stored as a
 * referrer with {@link attachBundle} (same layout as `signBundle`). The subject is
 * resolved before any Sigstore request, and nothing is pushed unless signing succeeded.
 * @throws as {@link createKeylessDsseBundle} and {@link attachBundle}
 * @example
 * ```ts
 * const token = identityTokenFromEnv(process.env);
 * const { identity } = await signBundleKeyless(repo, '1.2.3', { identityToken: token! });
 * ```
 * @public
 */
export async function signBundleKeyless(
  repo: BundleTarget,
  subject: Descriptor | Digest | string,
  options: SignBundleKeylessOptions,
): Promise<SignBundleKeylessResult> {
  const { signal } = options;
  const subjectDesc = await resolveSubject(repo, subject, signal);
  const statement = cosignSignStatement(subjectDesc.digest, options.annotations);
  const signed = await createKeylessDsseBundle(statement, options);
  const attached = await attachBundle(repo, subjectDesc, utf8Bytes(JSON.stringify(signed.bundle)), {
    predicateType: COSIGN_SIGN_PREDICATE_TYPE,
    ...(options.created !== undefined ? { created: options.created } : {}),
    signal,
  });
  return {
    ...attached,
    statement,
    bundle: signed.bundle,
    certificatePem: signed.certificatePem,
    identity: signed.identity,
  };
}

// ---------------------------------------------------------------------------------------

function serviceUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (e) {
    throw new ChartproofError('INVALID_ARGUMENT', `${name} is not a URL: ${JSON.stringify(value)}`, {
      cause: e,
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ChartproofError('INVALID_ARGUMENT', `${name} must be an http(s) URL`);
  if (url.username || url.password || url.search || url.hash)
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `${name} must not carry credentials, a query or a fragment`,
    );
  return url.href.replace(/\/+$/, '');
}

async function readToken(source: IdentityTokenSource, signal: AbortSignal | undefined): Promise<string> {
  if (typeof source === 'string') return source.trim();
  if (typeof source !== 'function')
    throw new ChartproofError('INVALID_ARGUMENT', 'identityToken must be a string or a function');
  let token: unknown;
  try {
    token = await source(signal ? { signal } : {});
  } catch (e) {
    if (signal?.aborted) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new ChartproofError('AUTH_FAILED', `cannot get an identity token: ${why}`, { cause: e });
  }
  if (typeof token !== 'string')
    throw new ChartproofError('AUTH_FAILED', 'the identity token provider returned no token');
  return token.trim();
}

// The checks @sigstore/sign makes before asking Fulcio (`extractJWTSubject`), done here so
// that a bad token fails with a message that does not quote it (sigstore-js's does).
function checkToken(token: string): void {
  const parts = token.split('.');
  if (token.length === 0 || parts.length !== 3)
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      'the identity token is not a JWT (header.payload.signature)',
    );
  let claims: Record<string, unknown>;
  try {
    const value: unknown = parseJsonBounded(Buffer.from(parts[1]!, 'base64url').toString('utf8'), {
      what: 'the identity token payload',
    });
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    claims = value as Record<string, unknown>;
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    throw new ChartproofError('INVALID_ARGUMENT', 'the identity token payload is not a JSON object', {
      cause: e,
    });
  }
  if (claims.email !== undefined) {
    if (typeof claims.email !== 'string' || claims.email === '')
      throw new ChartproofError('INVALID_ARGUMENT', 'the identity token has an invalid email claim');
    if (claims.email_verified !== true && claims.email_verified !== 'true')
      throw new ChartproofError('AUTH_FAILED', 'the identity token email is not verified by its issuer');
  } else if (typeof claims.sub !== 'string' || claims.sub === '') {
    throw new ChartproofError('INVALID_ARGUMENT', 'the identity token has no email or sub claim');
  }
}

interface Services {
  fulcioURL: string;
  rekorURL: string;
  tsaURL: string | undefined;
}

// @sigstore/sign throws InternalError{code, cause: HTTPError{statusCode} | network error}.
function sigstoreError(e: unknown, services: Services): ChartproofError {
  if (e instanceof ChartproofError) return e;
  const code = (e as { code?: unknown }).code;
  const cause = (e as { cause?: unknown }).cause;
  const status = (cause as { statusCode?: unknown } | undefined)?.statusCode;
  const detail = cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e);
  let service: string;
  switch (code) {
    case 'CA_CREATE_SIGNING_CERTIFICATE_ERROR':
      service = `Fulcio ${services.fulcioURL}`;
      break;
    case 'TLOG_CREATE_ENTRY_ERROR':
    case 'TLOG_FETCH_ENTRY_ERROR':
      service = `Rekor ${services.rekorURL}`;
      break;
    case 'TSA_CREATE_TIMESTAMP_ERROR':
      service = `timestamp authority ${services.tsaURL}`;
      break;
    case 'IDENTITY_TOKEN_READ_ERROR':
      return new ChartproofError('AUTH_FAILED', 'cannot get an identity token', { cause });
    case 'IDENTITY_TOKEN_PARSE_ERROR':
      // sigstore-js quotes the token in its message: keep neither.
      return new ChartproofError('INVALID_ARGUMENT', 'the identity token cannot be parsed');
    default:
      return new ChartproofError('SIGNATURE_INVALID', `keyless signing failed: ${detail}`, { cause: e });
  }
  if (typeof status === 'number') {
    // Fulcio answers 401 for tokens it does not accept (expired, unknown issuer, audience).
    const auth = status === 401 || status === 403;
    const errorCode: ErrorCode = auth ? 'AUTH_FAILED' : 'UNEXPECTED_STATUS';
    const hint =
      auth && code === 'CA_CREATE_SIGNING_CERTIFICATE_ERROR' ? ' (the identity token was rejected)' : '';
    return new ChartproofError(errorCode, `${service} answered HTTP ${status}${hint}: ${detail}`, {
      cause: e,
    });
  }
  return new ChartproofError('NETWORK', `${service} cannot be reached: ${detail}`, { cause: e });
}

// cosign (protojson) omits empty fields and the DSSE keyid; sigstore-js writes them.
function trimKeyless(json: SigstoreBundleJson): SigstoreBundleJson {
  const vm = json.verificationMaterial;
  if (vm.tlogEntries?.length === 0) delete vm.tlogEntries;
  const ts = vm.timestampVerificationData;
  if (ts && !ts.rfc3161Timestamps?.length) delete vm.timestampVerificationData;
  for (const s of json.dsseEnvelope?.signatures ?? []) delete s.keyid;
  return json;
}

function checkKeylessBundle(json: SigstoreBundleJson, statement: Uint8Array, key: KeyObject): KeylessBundle {
  const fail = (why: string): never => {
    throw new ChartproofError('SIGNATURE_INVALID', `keyless signing produced an unusable bundle: ${why}`);
  };
  const raw = json.verificationMaterial.certificate?.rawBytes;
  if (!raw) return fail('no certificate');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(raw, 'base64'));
  } catch {
    return fail('the certificate cannot be parsed');
  }
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!spki(cert.publicKey).equals(spki(key))) fail('the certificate does not certify the signing key');
  const env = json.dsseEnvelope;
  const sig = env?.signatures[0]?.sig;
  if (!env || !sig || env.signatures.length !== 1) return fail('no single DSSE signature');
  const payload = Buffer.from(env.payload, 'base64');
  if (!payload.equals(Buffer.from(statement)) || env.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    fail('the DSSE envelope does not carry the statement');
  if (!verifySignature(cert.publicKey, dssePae(env.payloadType, payload), Buffer.from(sig, 'base64')))
    fail('the signature does not verify with the certificate');
  if (!json.verificationMaterial.tlogEntries?.length) fail('no transparency-log entry');
  return { bundle: json, certificatePem: cert.toString(), identity: certificateIdentity(cert) };
}

const OID_ISSUER_V2 = Buffer.from('060a2b0601040183bf300108', 'hex'); // 1.3.6.1.4.1.57264.1.8
const OID_ISSUER_V1 = Buffer.from('060a2b0601040183bf300101', 'hex'); // 1.3.6.1.4.1.57264.1.1

/** SAN and Fulcio issuer of a certificate (for reporting; verifiers re-derive them). @internal */
export function certificateIdentity(cert: X509Certificate): CertificateIdentityInfo {
  const info: CertificateIdentityInfo = {};
  // Node formats the SAN as `URI:…` / `email:…`; Fulcio certificates carry exactly one.
  const san = /^(?:URI|email):(.*)$/.exec(cert.subjectAltName?.split(', ')[0] ?? '');
  if (san?.[1]) info.subject = san[1];
  const der = cert.raw;
  const v2 = extensionValue(der, OID_ISSUER_V2);
  const issuer = v2 ? derUtf8String(v2) : extensionValue(der, OID_ISSUER_V1)?.toString('utf8');
  if (issuer) info.issuer = issuer;
  return info;
}

// Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
function extensionValue(der: Buffer, oid: Buffer): Buffer | undefined {
  const at = der.indexOf(oid);
  if (at < 0) return undefined;
  let i = at + oid.length;
  if (der[i] === 0x01) i += 2 + (der[i + 1] ?? 0); // critical
  if (der[i] !== 0x04) return undefined;
  const tlv = readLength(der, i + 1);
  return tlv ? der.subarray(tlv.start, tlv.start + tlv.length) : undefined;
}

function derUtf8String(value: Buffer): string | undefined {
  if (value[0] !== 0x0c) return undefined;
  const tlv = readLength(value, 1);
  return tlv ? value.subarray(tlv.start, tlv.start + tlv.length).toString('utf8') : undefined;
}

function readLength(der: Buffer, i: number): { start: number; length: number } | undefined {
  const first = der[i];
  if (first === undefined) return undefined;
  if (first < 0x80) return { start: i + 1, length: first };
  const n = first & 0x7f;
  if (n === 0 || n > 3) return undefined;
  let length = 0;
  for (let k = 1; k <= n; k++) length = (length << 8) | (der[i + k] ?? 0);
  return i + 1 + n + length <= der.length ? { start: i + 1 + n, length } : undefined;
}
