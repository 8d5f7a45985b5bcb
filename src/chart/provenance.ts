/**
 * Helm's legacy provenance files (`<chart>.tgz.prov`): an OpenPGP clearsigned
 * message whose body is `yaml.Marshal(metadata)` + `"\n...\n"` + a `files:` map of
 * archive names to `sha256:<hex>` digests.
 */

import { marshalGoYaml } from './go-yaml.js';
import type * as OpenPgp from 'openpgp';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseYamlBounded } from '../internal/bounded-parse.js';
import { isRecord as isObject, messageOf } from '../internal/guards.js';
import { sha256Hex } from '../internal/hash.js';
import { helmConfigJson } from './config.js';
import type { ChartMetadata } from './types.js';

/** openpgp.js, loaded on first use (~80 ms), not with this module (which the CLI and chart entry load for every command). */
function loadOpenPgp(): Promise<typeof OpenPgp> {
  return import('openpgp');
}

/** The result of a successful {@link verifyProvenance}. @public */
export interface ProvenanceVerification {
  /** Primary user ID of the signing key (Helm's `Signed by:`). */
  signedBy: string;
  /** Fingerprint of the signer's primary key, uppercase hex (40 chars for v4 keys). */
  fingerprint: string;
  /** Digest of the verified archive, `sha256:<hex>`. */
  chartHash: string;
  /** Issuer key ID of the signature (may be a subkey), uppercase hex. */
  keyId: string;
}

/** Options of {@link verifyProvenance}. @public */
export interface VerifyProvenanceOptions {
  /**
   * The archive's base name as listed under `files:`. Default: the single `files:`
   * entry, accepted only if its digest matches the archive.
   */
  fileName?: string;
}

/** Options of {@link signProvenance}. @public */
export interface SignProvenanceOptions {
  /** Passphrase of an encrypted secret key. */
  passphrase?: string;
}

const SEPARATOR = '\n...\n';

function invalid(message: string, cause?: unknown): ChartproofError {
  return new ChartproofError('CHART_INVALID', message, cause === undefined ? {} : { cause });
}

function textOf(input: Uint8Array | string): string {
  return typeof input === 'string' ? input : new TextDecoder().decode(input);
}

function isArmored(input: Uint8Array | string): boolean {
  const head =
    typeof input === 'string' ? input.slice(0, 200) : new TextDecoder().decode(input.slice(0, 200));
  return head.trimStart().startsWith('-----BEGIN PGP');
}

// ---------------------------------------------------------------------------------------
// Message block
// ---------------------------------------------------------------------------------------

/**
 * Helm's provenance message block: `yaml.Marshal(metadata)`, `"\n...\n"`, then the
 * `files:` map with the archive's `sha256:` digest. Signing covers exactly this text.
 * @public
 */
export function provenanceMessageBlock(
  metadata: ChartMetadata,
  fileName: string,
  archiveDigestHex: string,
): string {
  const meta = JSON.parse(new TextDecoder().decode(helmConfigJson(metadata))) as Record<string, unknown>;
  const files = marshalGoYaml({ files: { [fileName]: `sha256:${archiveDigestHex}` } });
  return `${marshalGoYaml(meta)}${SEPARATOR}${files}`;
}

// ---------------------------------------------------------------------------------------
// Verify
// ---------------------------------------------------------------------------------------

async function readKeyring(keyring: Uint8Array | string): Promise<OpenPgp.Key[]> {
  const openpgp = await loadOpenPgp();
  try {
    if (isArmored(keyring)) return await openpgp.readKeys({ armoredKeys: textOf(keyring) });
    const bytes = typeof keyring === 'string' ? new TextEncoder().encode(keyring) : keyring;
    return await openpgp.readKeys({ binaryKeys: bytes });
  } catch (err) {
    throw invalid(`failed to load keyring: ${messageOf(err)}`, err);
  }
}

function parseFilesSection(signed: string): Record<string, string> {
  const idx = signed.indexOf(SEPARATOR);
  if (idx < 0) throw invalid('message block must have at least two parts');
  const section = signed.slice(idx + SEPARATOR.length);
  let doc: unknown;
  try {
    doc = parseYamlBounded(section, { maxAliasCount: 0 }, { what: 'the files section of the provenance' });
  } catch (err) {
    if (isDepthLimitError(err)) throw err;
    throw invalid(`invalid files section in provenance: ${messageOf(err)}`, err);
  }
  const files = isObject(doc) ? doc.files : undefined;
  if (files === undefined || files === null) return {};
  if (!isObject(files)) throw invalid('invalid files section in provenance: files is not a mapping');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(files)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Verifies a Helm provenance file against an archive and a public keyring, as
 * `helm verify` does: the clearsigned message must carry a valid signature by a key
 * of the keyring, and its `files:` entry for the archive must equal the archive's
 * sha256. Only the signed text is used; anything outside the signed part is ignored.
 *
 * Errors ({@link ChartproofError}): `DIGEST_MISMATCH` (the archive's digest differs
 * from the signed entry); `CHART_INVALID` for a malformed .prov, a missing entry, an
 * unreadable keyring, or a signature that does not verify (messages start with
 * `signature verification failed:`).
 * @public
 */
export async function verifyProvenance(
  archive: Uint8Array,
  provenance: Uint8Array | string,
  keyring: Uint8Array | string,
  options: VerifyProvenanceOptions = {},
): Promise<ProvenanceVerification> {
  const openpgp = await loadOpenPgp();
  const keys = await readKeyring(keyring);
  let message: OpenPgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: textOf(provenance) });
  } catch (err) {
    throw invalid(`signature block not found: ${messageOf(err)}`, err);
  }
  let signed: string;
  let signerKey: OpenPgp.Key | undefined;
  let keyId = '';
  try {
    const result = await openpgp.verify({ message, verificationKeys: keys, expectSigned: true });
    let ok = false;
    let problem = 'no valid signature by a key in the keyring';
    for (const sig of result.signatures) {
      try {
        if (!(await sig.verified)) continue;
      } catch {
        continue;
      }
      const key = keys.find((k) => k.getKeys(sig.keyID).length > 0);
      if (key === undefined) continue;
      // openpgp.js checks the key at the signature's creation time only; Helm (go-crypto
      // CheckDetachedSignature) also wants the key, and a signing subkey, unexpired and
      // unrevoked now ("openpgp: key expired").
      try {
        await key.getSigningKey(sig.keyID, new Date());
      } catch (e) {
        problem = `the signing key is not valid now: ${messageOf(e)}`;
        continue;
      }
      signerKey = key;
      keyId = sig.keyID.toHex().toUpperCase();
      ok = true;
      break;
    }
    if (!ok) throw new Error(problem);
    signed = result.data as string;
  } catch (err) {
    if (err instanceof ChartproofError) throw err;
    throw new ChartproofError('SIGNATURE_INVALID', `signature verification failed: ${messageOf(err)}`, {
      cause: err,
    });
  }

  const files = parseFilesSection(signed);
  const hex = sha256Hex(archive);
  const chartHash = `sha256:${hex}`;
  let fileName = options.fileName;
  if (fileName === undefined) {
    const names = Object.keys(files);
    if (names.length !== 1) {
      throw invalid(`provenance lists ${names.length} files; pass the archive's file name`);
    }
    fileName = names[0]!;
    if (files[fileName] !== chartHash) {
      throw new ChartproofError(
        'DIGEST_MISMATCH',
        `sha256 sum does not match for ${fileName}: "${files[fileName]}" != "${chartHash}"`,
      );
    }
  }
  const expected = Object.hasOwn(files, fileName) ? files[fileName] : undefined;
  if (expected === undefined) {
    throw invalid(`provenance does not contain a SHA for a file named "${fileName}"`);
  }
  if (expected !== chartHash) {
    throw new ChartproofError(
      'DIGEST_MISMATCH',
      `sha256 sum does not match for ${fileName}: "${expected}" != "${chartHash}"`,
    );
  }

  const key = signerKey!;
  let signedBy = '';
  try {
    const primary = await key.getPrimaryUser();
    signedBy = primary.user.userID?.userID ?? '';
  } catch {
    signedBy = key.getUserIDs()[0] ?? '';
  }
  return { signedBy, fingerprint: key.getFingerprint().toUpperCase(), chartHash, keyId };
}

// ---------------------------------------------------------------------------------------
// Sign
// ---------------------------------------------------------------------------------------

/**
 * Signs an archive the way `helm package --sign` does: clearsigns
 * {@link provenanceMessageBlock} (SHA-512 preferred) with the secret key, decrypting
 * it with `passphrase` if needed. Returns the `.prov` text.
 *
 * Errors: `CHART_INVALID` (unreadable key, missing or wrong passphrase).
 * @public
 */
export async function signProvenance(
  archive: Uint8Array,
  fileName: string,
  metadata: ChartMetadata,
  secretKey: Uint8Array | string,
  options: SignProvenanceOptions = {},
): Promise<string> {
  const openpgp = await loadOpenPgp();
  let key: OpenPgp.PrivateKey;
  try {
    key = isArmored(secretKey)
      ? await openpgp.readPrivateKey({ armoredKey: textOf(secretKey) })
      : await openpgp.readPrivateKey({
          binaryKey: typeof secretKey === 'string' ? new TextEncoder().encode(secretKey) : secretKey,
        });
  } catch (err) {
    throw invalid(`failed to read secret key: ${messageOf(err)}`, err);
  }
  if (!key.isDecrypted()) {
    if (options.passphrase === undefined)
      throw invalid('the secret key is encrypted: a passphrase is needed');
    try {
      key = await openpgp.decryptKey({ privateKey: key, passphrase: options.passphrase });
    } catch (err) {
      throw invalid(`failed to decrypt secret key: ${messageOf(err)}`, err);
    }
  }
  const text = provenanceMessageBlock(metadata, fileName, sha256Hex(archive));
  try {
    const message = await openpgp.createCleartextMessage({ text });
    const armored = await openpgp.sign({
      message,
      signingKeys: key,
      config: { preferredHashAlgorithm: openpgp.enums.hash.sha512 },
    });
    // openpgp.js writes the cleartext with CRLF line ends; Helm and GnuPG write LF (the
    // signature covers the canonical CRLF form either way). Only the text has CRs.
    return armored.replace(/\r\n/g, '\n');
  } catch (err) {
    throw invalid(`failed to sign provenance: ${messageOf(err)}`, err);
  }
}
