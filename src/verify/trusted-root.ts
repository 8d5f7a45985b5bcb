/**
 * Sigstore trust roots (`trusted_root.json`): read from a file for air-gapped use, or
 * fetched through TUF (`@sigstore/tuf`) only when the caller asks for it.
 *
 * References: sigstore/protobuf-specs `protos/sigstore_trustroot.proto`,
 * sigstore/sigstore-js `packages/tuf`.
 */
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { protobufSpecs } from './sigstore-verify.js';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import type { TrustedRootJson } from './policy.js';
import { isRecord as isObject } from '../internal/guards.js';
import { readTextFileBounded } from '../internal/read-file.js';

const MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.trustedroot';

function fail(message: string, cause?: unknown): never {
  throw new ChartproofError('INVALID_ARGUMENT', `invalid trusted root: ${message}`, { cause });
}

function list(root: Record<string, unknown>, name: string): Record<string, unknown>[] {
  const v = root[name];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every(isObject)) fail(`${name} must be an array of objects`);
  return v;
}

function requireStart(validFor: unknown, where: string): void {
  // protobuf-specs TimeRange: `start` is required; a missing start must not read as "forever".
  if (!isObject(validFor) || typeof validFor.start !== 'string' || Number.isNaN(Date.parse(validFor.start))) {
    fail(`${where}.validFor.start is missing or not a timestamp`);
  }
}

/**
 * Validates a parsed `trusted_root.json`: media type, and for every transparency log,
 * CT log, certificate authority and timestamp authority its key or certificates and a
 * validity start (a missing start is rejected rather than treated as unbounded).
 * @throws {@link ChartproofError} `INVALID_ARGUMENT` with the offending field.
 * @public
 */
export function parseTrustedRoot(json: unknown): TrustedRootJson {
  if (!isObject(json)) fail('not a JSON object');
  const mediaType = json.mediaType;
  if (typeof mediaType !== 'string' || !mediaType.startsWith(MEDIA_TYPE_PREFIX)) {
    fail(`unexpected mediaType ${JSON.stringify(mediaType ?? null)}`);
  }
  for (const name of ['tlogs', 'ctlogs']) {
    list(json, name).forEach((log, i) => {
      const key = log.publicKey;
      if (!isObject(key) || typeof key.rawBytes !== 'string')
        fail(`${name}[${i}].publicKey.rawBytes is missing`);
      if (!isObject(log.logId) || typeof log.logId.keyId !== 'string')
        fail(`${name}[${i}].logId.keyId is missing`);
      requireStart(key.validFor, `${name}[${i}].publicKey`);
    });
  }
  for (const name of ['certificateAuthorities', 'timestampAuthorities']) {
    list(json, name).forEach((ca, i) => {
      const certs = isObject(ca.certChain) ? ca.certChain.certificates : undefined;
      if (!Array.isArray(certs) || certs.length === 0) fail(`${name}[${i}].certChain.certificates is empty`);
      requireStart(ca.validFor, `${name}[${i}]`);
    });
  }
  try {
    protobufSpecs().TrustedRoot.fromJSON(json);
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e), e);
  }
  return json;
}

/**
 * Reads and validates a `trusted_root.json` file (no network).
 * @throws {@link ChartproofError} `IO` when unreadable, `INVALID_ARGUMENT` when invalid.
 * @public
 */
export async function loadTrustedRoot(path: string): Promise<TrustedRootJson> {
  // The public-good trusted root is ~10 KiB; 16 MiB leaves room for any private one.
  const text = await readTextFileBounded(path, { maxBytes: 16 * 1024 * 1024, what: 'trusted root' });
  let json: unknown;
  try {
    json = parseJsonBounded(text, { what: path, source: 'local' });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    fail(`${path} is not valid JSON`, e);
  }
  return parseTrustedRoot(json);
}

/** Options of {@link fetchTrustedRoot} (passed to `@sigstore/tuf`). @public */
export interface FetchTrustedRootOptions {
  /** TUF repository. If unset, `https://tuf-repo-cdn.sigstore.dev` (public good) is used. */
  mirrorURL?: string;
  /** Directory caching TUF metadata. If unset, `@sigstore/tuf`'s default cache is used. */
  cachePath?: string;
  /** Initial `root.json` for a mirror other than the default one. */
  rootPath?: string;
  /** Use cached metadata without contacting the mirror while it is unexpired. */
  forceCache?: boolean;
}

/**
 * Fetches the current trusted root through TUF (network; use only when the caller
 * opted in). The result is the same JSON form {@link loadTrustedRoot} returns.
 * @throws {@link ChartproofError} `NETWORK` when TUF fails.
 * @public
 */
export async function fetchTrustedRoot(options: FetchTrustedRootOptions = {}): Promise<TrustedRootJson> {
  const { getTrustedRoot } = await import('@sigstore/tuf');
  try {
    const root = await getTrustedRoot(options);
    return parseTrustedRoot(protobufSpecs().TrustedRoot.toJSON(root));
  } catch (e) {
    if (e instanceof ChartproofError) throw e;
    throw new ChartproofError('NETWORK', `TUF: cannot fetch the trusted root: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** The protobuf form `@sigstore/verify` consumes. @internal */
export function toTrustedRootMessage(json: TrustedRootJson): TrustedRoot {
  return protobufSpecs().TrustedRoot.fromJSON(parseTrustedRoot(json));
}
