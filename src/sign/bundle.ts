/**
 * Sigstore bundles v0.3 with a DSSE envelope, signed with a key through the
 * {@link Signer} role: the signature format `cosign sign --key` writes by default
 * since cosign v3.
 *
 * The envelope is built by @sigstore/sign's `DSSEBundleBuilder` (which signs the DSSE
 * pre-authentication encoding) and serialised with @sigstore/bundle; the JSON is then
 * trimmed to what cosign (sigstore-go, protojson) writes: no DSSE `keyid`, no empty
 * `tlogEntries` / `timestampVerificationData`.
 *
 * References: DSSE `protocol.md` (PAE), sigstore protobuf-specs `sigstore_bundle.proto`,
 * cosign `cmd/cosign/cli/sign/sign.go`, sigstore-go `pkg/sign`.
 */
import {
  type Bundle,
  bundleToJSON,
  type RFC3161SignedTimestamp,
  type TransparencyLogEntry,
} from '@sigstore/bundle';
import type { Signer as SigstoreSigner } from '@sigstore/sign';
import { dssePae, type SigstoreBundleJson } from '../cosign/dsse.js';
import { ChartproofError } from '../errors.js';
import { keyHint, loadPublicKey, verifySignature } from '../keys/keys.js';
import type { Signer } from '../keys/signer.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../cosign/statement.js';

export { dssePae, type SigstoreBundleJson } from '../cosign/dsse.js';
export {
  bundleMediaTypeVersion,
  isBundleVersionAtLeast,
  MAX_BUNDLE_BYTES,
  parseSigstoreBundle,
  SIGSTORE_BUNDLE_V03_MEDIA_TYPE,
} from '../cosign/bundle.js';

/**
 * Something that adds transparency-log entries or RFC 3161 timestamps to a bundle, as
 * @sigstore/sign's `RekorWitness` and `TSAWitness` do (they satisfy this interface).
 *
 * Declared here, structurally, rather than re-exported from @sigstore/sign: that
 * package's own type declarations reference untyped modules, which would break a
 * strict consumer's type check (`skipLibCheck: false`).
 * @public
 */
export interface Witness {
  /** Returns the evidence for `signature` (the bundle's content) signed by `publicKey`. */
  testify: (
    signature: Bundle['content'],
    publicKey: string,
  ) => Promise<{ tlogEntries?: TransparencyLogEntry[]; rfc3161Timestamps?: RFC3161SignedTimestamp[] }>;
}

/** Options of {@link createDsseBundle}. @public */
export interface CreateDsseBundleOptions {
  /** DSSE `payloadType`. If unset, `application/vnd.in-toto+json` is used. */
  payloadType?: string;
  /**
   * Witnesses that add transparency-log entries or RFC 3161 timestamps to the bundle
   * (@sigstore/sign `RekorWitness`, `TSAWitness`). If unset, none: the bundle carries
   * only the signature and the key hint (`cosign sign --tlog-upload=false`).
   */
  witnesses?: Witness[];
  signal?: AbortSignal;
}

/**
 * Signs `statement` (usually an in-toto statement, see `cosignSignStatement`) into a
 * Sigstore bundle v0.3 with a DSSE envelope: `verificationMaterial.publicKey.hint` is
 * the signer's key hint, `dsseEnvelope.signatures[0].sig` the signature over the PAE.
 * Before returning, the signature is checked with the signer's own public key.
 * @throws ChartproofError `SIGNATURE_INVALID` when the signature does not verify
 *   with the signer's public key; `KEY_INVALID` / `KEY_UNSUPPORTED` for the key;
 *   `INVALID_ARGUMENT` for an empty statement
 * @public
 */
export async function createDsseBundle(
  statement: Uint8Array,
  signer: Signer,
  options: CreateDsseBundleOptions = {},
): Promise<SigstoreBundleJson> {
  const { signal } = options;
  if (!(statement instanceof Uint8Array) || statement.byteLength === 0)
    throw new ChartproofError('INVALID_ARGUMENT', 'the statement must be non-empty bytes');
  const payloadType = options.payloadType ?? IN_TOTO_PAYLOAD_TYPE;
  const pem = await signer.publicKeyPem({ signal });
  const publicKey = loadPublicKey(pem);
  const hint = keyHint(publicKey);
  const adapter: SigstoreSigner = {
    sign: async (data) => ({
      signature: Buffer.from(await signer.sign(data, { signal })),
      key: { $case: 'publicKey', publicKey: pem, hint },
    }),
  };
  // Loaded on first use: @sigstore/sign (with its HTTP stack) costs ~170 ms to load, which
  // every process importing this module (the CLI, for any command) would pay otherwise.
  const { DSSEBundleBuilder } = await import('@sigstore/sign');
  signal?.throwIfAborted();
  const builder = new DSSEBundleBuilder({ signer: adapter, witnesses: options.witnesses ?? [] });
  const bundle = await builder.create({ data: Buffer.from(statement), type: payloadType });
  const json = trim(bundleToJSON(bundle) as unknown as SigstoreBundleJson);

  // Self-check on the serialised form: the payload is the statement, and the
  // signature verifies over the PAE with the signer's public key.
  const env = json.dsseEnvelope;
  const sig = env?.signatures[0]?.sig;
  if (!env || !sig || env.signatures.length !== 1)
    throw new ChartproofError('SIGNATURE_INVALID', 'the bundle has no single DSSE signature');
  const payload = Buffer.from(env.payload, 'base64');
  if (!payload.equals(Buffer.from(statement)) || env.payloadType !== payloadType)
    throw new ChartproofError('SIGNATURE_INVALID', 'the DSSE envelope does not carry the statement');
  if (!verifySignature(publicKey, dssePae(payloadType, payload), Buffer.from(sig, 'base64'))) {
    throw new ChartproofError(
      'SIGNATURE_INVALID',
      'the signer produced a signature that does not verify with its own public key',
    );
  }
  return json;
}

// cosign (protojson) omits empty fields; sigstore-js writes the DSSE keyid (= hint)
// and empty timestamp data. Trim to cosign's shape.
function trim(json: SigstoreBundleJson): SigstoreBundleJson {
  const vm = json.verificationMaterial;
  if (vm.tlogEntries && vm.tlogEntries.length === 0) delete vm.tlogEntries;
  const ts = vm.timestampVerificationData;
  if (ts && (!ts.rfc3161Timestamps || ts.rfc3161Timestamps.length === 0)) delete vm.timestampVerificationData;
  for (const s of json.dsseEnvelope?.signatures ?? []) delete s.keyid;
  return json;
}
