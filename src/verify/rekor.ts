/**
 * Offline transparency-log evidence of cosign legacy signatures: the
 * `dev.sigstore.cosign/bundle` annotation (Rekor's SignedEntryTimestamp and entry), as
 * `cosign verify` checks it (`pkg/cosign/verify.go` `VerifyBundle` / `VerifySET`).
 */
import {
  createHash,
  createPublicKey,
  type KeyObject,
  verify as cryptoVerify,
  X509Certificate,
} from 'node:crypto';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import { ChartproofError, type ChartproofErrorOptions } from '../errors.js';
import { sha256Hex } from '../internal/hash.js';
import type { TrustedRootJson } from './policy.js';

/** A Rekor log's public key, by log ID (hex sha256 of the key's SPKI DER). @public */
export interface RekorLogKey {
  /** Lowercase hex log ID. */
  logId: string;
  key: KeyObject;
  /** When the key was valid (from the trusted root); unbounded when absent. */
  validFor?: { start?: Date; end?: Date };
}

/** What a verified Rekor bundle annotation says. @public */
export interface RekorEntryEvidence {
  integratedTime: number;
  logIndex: number;
  logId: string;
}

/**
 * Rekor evidence that does not hold (code `SIGNATURE_INVALID`); verifiers report it as
 * a layer's reason.
 * @public
 */
export class RekorEvidenceError extends ChartproofError {
  constructor(message: string, options: ChartproofErrorOptions = {}) {
    super('SIGNATURE_INVALID', message, options);
  }
}

function fail(reason: string): never {
  throw new RekorEvidenceError(reason);
}

function bytesOf(b64: string): Buffer {
  return Buffer.from(b64, 'base64');
}

/**
 * The Rekor (transparency log) keys of a `trusted_root.json`: `tlogs[].publicKey`
 * (`rawBytes` = base64 SPKI DER) with their `logId.keyId` (base64) and validity.
 * Entries that do not parse are skipped.
 * @public
 */
export function rekorKeysFromTrustedRoot(root: TrustedRootJson): RekorLogKey[] {
  const tlogs = Array.isArray(root.tlogs) ? (root.tlogs as unknown[]) : [];
  const out: RekorLogKey[] = [];
  for (const t of tlogs) {
    const entry = t as {
      publicKey?: { rawBytes?: unknown; validFor?: { start?: unknown; end?: unknown } };
      logId?: { keyId?: unknown };
    };
    const raw = entry.publicKey?.rawBytes;
    if (typeof raw !== 'string') continue;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: bytesOf(raw), format: 'der', type: 'spki' });
    } catch {
      continue;
    }
    const keyId = entry.logId?.keyId;
    const logId = typeof keyId === 'string' ? bytesOf(keyId).toString('hex') : rekorLogId(key);
    const item: RekorLogKey = { logId, key };
    const v = entry.publicKey?.validFor;
    if (v) {
      const validFor: { start?: Date; end?: Date } = {};
      if (typeof v.start === 'string') validFor.start = new Date(v.start);
      if (typeof v.end === 'string') validFor.end = new Date(v.end);
      item.validFor = validFor;
    }
    out.push(item);
  }
  return out;
}

/** A Rekor log ID: hex sha256 of the log key's SPKI DER. @public */
export function rekorLogId(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function spki(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** The key inside a `hashedrekord` `publicKey.content` (base64 of a PEM public key or certificate). */
function entryKey(contentB64: string): KeyObject {
  const pem = bytesOf(contentB64).toString('utf8');
  if (pem.includes('BEGIN CERTIFICATE')) return new X509Certificate(pem).publicKey;
  return createPublicKey(pem);
}

/**
 * Verifies a `dev.sigstore.cosign/bundle` annotation against the signature it
 * accompanies, as cosign does: the SignedEntryTimestamp is an ECDSA-SHA256 signature
 * by the Rekor key whose log ID the payload names, over the canonical JSON of
 * `{body, integratedTime, logID, logIndex}`; the entry (`hashedrekord` 0.0.1) must
 * record this signature, this signer's key (or certificate) and the sha256 of this
 * payload; the log key must have been valid at `integratedTime`.
 * @throws RekorEvidenceError with the reason when any of this does not hold
 * @public
 */
export function verifyRekorBundleAnnotation(
  annotation: string,
  signed: { payload: Uint8Array; signature: Uint8Array; signerKey: KeyObject },
  logKeys: readonly RekorLogKey[],
): RekorEntryEvidence {
  let parsed: unknown;
  try {
    parsed = parseJsonBounded(annotation, { what: 'the Rekor bundle annotation', source: 'remote' });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    fail('the Rekor bundle annotation is not JSON');
  }
  const b = parsed as {
    SignedEntryTimestamp?: unknown;
    Payload?: { body?: unknown; integratedTime?: unknown; logIndex?: unknown; logID?: unknown };
  };
  const p = b?.Payload;
  if (typeof b?.SignedEntryTimestamp !== 'string' || !p)
    fail('the Rekor bundle lacks SignedEntryTimestamp or Payload');
  const { body, integratedTime, logIndex, logID } = p;
  if (typeof body !== 'string' || typeof logID !== 'string')
    fail('the Rekor bundle payload lacks body or logID');
  if (!Number.isSafeInteger(integratedTime) || !Number.isSafeInteger(logIndex) || (logIndex as number) < 0)
    fail('the Rekor bundle has an invalid integratedTime or logIndex');
  const logKey = logKeys.find((k) => k.logId === logID.toLowerCase());
  if (!logKey) fail(`no trusted Rekor key with log ID ${logID}`);
  // RFC 8785 canonical JSON of four members: sorted keys, no spaces.
  const canonical = JSON.stringify({ body, integratedTime, logID, logIndex });
  const set = bytesOf(b.SignedEntryTimestamp);
  if (!cryptoVerify('sha256', Buffer.from(canonical, 'utf8'), logKey.key, set))
    fail('the SignedEntryTimestamp does not verify with the Rekor key');
  const time = new Date((integratedTime as number) * 1000);
  const v = logKey.validFor;
  if ((v?.start && time < v.start) || (v?.end && time > v.end))
    fail(`the Rekor key was not valid at the integrated time ${time.toISOString()}`);

  let entry: {
    apiVersion?: unknown;
    kind?: unknown;
    spec?: {
      data?: { hash?: { algorithm?: unknown; value?: unknown } };
      signature?: { content?: unknown; publicKey?: { content?: unknown } };
    };
  };
  try {
    entry = parseJsonBounded(bytesOf(body).toString('utf8'), {
      what: 'the Rekor entry body',
      source: 'remote',
    }) as typeof entry;
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    fail('the Rekor entry body is not JSON');
  }
  if (entry.kind !== 'hashedrekord' || entry.apiVersion !== '0.0.1')
    fail(
      `unsupported Rekor entry ${String(entry.kind)}/${String(entry.apiVersion)} (hashedrekord 0.0.1 expected)`,
    );
  const hash = entry.spec?.data?.hash;
  const payloadHash = sha256Hex(signed.payload);
  if (hash?.algorithm !== 'sha256' || hash.value !== payloadHash)
    fail('the Rekor entry records another payload hash');
  const content = entry.spec?.signature?.content;
  if (typeof content !== 'string' || !bytesOf(content).equals(Buffer.from(signed.signature)))
    fail('the Rekor entry records another signature');
  const keyContent = entry.spec?.signature?.publicKey?.content;
  let recorded: KeyObject;
  try {
    if (typeof keyContent !== 'string') throw new Error('missing');
    recorded = entryKey(keyContent);
  } catch {
    fail('the Rekor entry has no readable public key');
  }
  if (!spki(recorded).equals(spki(signed.signerKey))) fail('the Rekor entry records another signing key');
  return { integratedTime: integratedTime as number, logIndex: logIndex as number, logId: logKey.logId };
}
