/**
 * The trust config: which registries are internal, which keys or keyless identities
 * sign what comes from them, which namespaces are left alone, and whether violations
 * are denied or only audited. One typed document drives the generated Kyverno
 * policies and the admission webhook (docs/admission.md).
 *
 * The YAML is hostile input: its size and nesting are bounded before it is parsed,
 * then it is checked against a JSON schema (ajv) and by hand for what a schema cannot
 * say (PEM keys that parse, regular expressions that compile, a subject and an issuer
 * per identity).
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Ajv, ErrorObject } from 'ajv';
import { requireDependency } from '../internal/lazy-require.js';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseYamlBounded } from '../internal/bounded-parse.js';
import { loadPublicKey } from '../keys/keys.js';
import { readTextFileBounded } from '../internal/read-file.js';

/** Largest trust config accepted, in bytes. @public */
export const MAX_TRUST_CONFIG_BYTES = 1024 * 1024;
/** Deepest nesting accepted in a trust config. @public */
export const MAX_TRUST_CONFIG_DEPTH = 32;

/** A keyless (Fulcio certificate) identity: one subject field and one issuer field. @public */
export interface TrustIdentity {
  subject?: string;
  subjectRegExp?: string;
  issuer?: string;
  issuerRegExp?: string;
}

/**
 * How the artifacts are signed: cosign's legacy `sha256-<hex>.sig` tags, Sigstore
 * bundles attached as OCI referrers (cosign v3's default), or both. @public
 */
export type TrustSignatureFormat = 'legacy' | 'bundle' | 'both';

/** What a policy violation does: `Enforce` denies, `Audit` only reports. @public */
export type ValidationFailureAction = 'Audit' | 'Enforce';

/** A parsed, validated trust config. @public */
export interface TrustConfig {
  /** Prefix of the generated policy names. Default `chartproof`. */
  name: string;
  /**
   * Allowed registries and repository prefixes, as an image reference starts:
   * `registry.internal.example` (any repository on it) or
   * `registry.internal.example/team` (that path and below).
   */
  registries: string[];
  /** Signature material; at least one key or identity. */
  verify: {
    /** PEM `PUBLIC KEY`s (cosign.pub). In a file, a non-PEM entry names a key file. */
    keys: string[];
    identities: TrustIdentity[];
    /** How artifacts are signed. Default `legacy` (what every Kyverno version finds). */
    signatureFormat: TrustSignatureFormat;
    /** Transparency-log checks: `require` (default) or `skip` (offline keys, no Rekor). */
    tlog: 'require' | 'skip';
    /** Rekor URL for keyless checks. Default Kyverno's (public Rekor). */
    rekorUrl?: string;
  };
  /** Namespaces never checked (Kyverno excludes; the webhook allows). */
  excludeNamespaces: string[];
  /** Default `Audit` (start there; see docs/admission.md). */
  validationFailureAction: ValidationFailureAction;
  /** Where the signed copy of a chart lives, for the webhook. */
  charts?: {
    /** Template with `{name}` and `{version}`, e.g. `oci://registry.internal/charts/{name}:{version}`. */
    reference: string;
  };
}

/** The trust config breaks its schema: `path` names the offending field. @public */
export class TrustConfigError extends ChartproofError {
  /** JSON-pointer-like path of the field (`verify.identities[0]`), or `(root)`. */
  readonly path: string;
  constructor(path: string, why: string, options: { cause?: unknown; what?: string } = {}) {
    super('INVALID_CONFIG', `${options.what ?? 'trust config'}: ${path}: ${why}`, {
      cause: options.cause,
      source: 'local',
    });
    this.path = path;
  }
}

const IDENTITY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    subject: { type: 'string', minLength: 1 },
    subjectRegExp: { type: 'string', minLength: 1 },
    issuer: { type: 'string', minLength: 1 },
    issuerRegExp: { type: 'string', minLength: 1 },
  },
} as const;

/** The JSON schema of the trust config (draft-07), exported for editors and CI. @public */
export const TRUST_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'chartproof trust config',
  type: 'object',
  additionalProperties: false,
  required: ['registries', 'verify'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$' },
    registries: {
      type: 'array',
      minItems: 1,
      maxItems: 256,
      items: { type: 'string', minLength: 1, maxLength: 255 },
    },
    verify: {
      type: 'object',
      additionalProperties: false,
      properties: {
        keys: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 16384 } },
        identities: { type: 'array', maxItems: 64, items: IDENTITY_SCHEMA },
        signatureFormat: { enum: ['legacy', 'bundle', 'both'] },
        tlog: { enum: ['require', 'skip'] },
        rekorUrl: { type: 'string', pattern: '^https://' },
      },
    },
    excludeNamespaces: {
      type: 'array',
      maxItems: 256,
      items: { type: 'string', pattern: '^[a-z0-9*?]([-a-z0-9*?]{0,61}[a-z0-9*?])?$' },
    },
    validationFailureAction: { enum: ['Audit', 'Enforce'] },
    charts: {
      type: 'object',
      additionalProperties: false,
      required: ['reference'],
      properties: { reference: { type: 'string', minLength: 1, maxLength: 1024 } },
    },
  },
} as const;

function validator(): ReturnType<Ajv['compile']> {
  // Compiled per call (a config is parsed once per process; no module state).
  // ajv is loaded here, on first use (~40 ms), not with the module.
  const { Ajv: AjvClass } = requireDependency<{ Ajv: typeof Ajv }>('ajv');
  return new AjvClass({ allErrors: false, strict: true }).compile(TRUST_CONFIG_SCHEMA);
}

/** ajv's instancePath (`/verify/identities/0`) → `verify.identities[0]`. */
function fieldPath(e: ErrorObject): string {
  const parts = e.instancePath.split('/').slice(1);
  if (e.keyword === 'additionalProperties') parts.push(String(e.params.additionalProperty));
  if (e.keyword === 'required') parts.push(String(e.params.missingProperty));
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out || '(root)';
}

function schemaMessage(e: ErrorObject): string {
  switch (e.keyword) {
    case 'additionalProperties':
      return 'unknown field';
    case 'required':
      return 'is required';
    case 'enum':
      return `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
    case 'pattern':
      return `does not match ${String(e.params.pattern)}`;
    default:
      return e.message ?? 'is invalid';
  }
}

// A registry or repository prefix as an image reference starts (no scheme, tag or digest).
const REGISTRY_PREFIX =
  /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/i;

function isPem(text: string): boolean {
  return text.trimStart().startsWith('-----BEGIN ');
}

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

/**
 * Validates a trust config given as a plain object (parsed YAML or JSON) and fills
 * in the defaults. Keys are PEM text, or (when `allowKeyFiles`) file paths that
 * {@link loadTrustConfig} reads afterwards.
 * @throws {@link TrustConfigError} naming the offending field
 * @public
 */
export function parseTrustConfig(
  value: unknown,
  options: { what?: string; allowKeyFiles?: boolean } = {},
): TrustConfig {
  const what = options.what ?? 'trust config';
  const fail = (path: string, why: string): never => {
    throw new TrustConfigError(path, why, { what });
  };
  const validate = validator();
  if (!validate(value)) {
    const e = validate.errors?.[0];
    return fail(e ? fieldPath(e) : '(root)', e ? schemaMessage(e) : 'is invalid');
  }
  const v = value as {
    name?: string;
    registries: string[];
    verify: {
      keys?: string[];
      identities?: TrustIdentity[];
      signatureFormat?: TrustSignatureFormat;
      tlog?: 'require' | 'skip';
      rekorUrl?: string;
    };
    excludeNamespaces?: string[];
    validationFailureAction?: ValidationFailureAction;
    charts?: { reference: string };
  };
  const registries = v.registries.map((r, i) => {
    const clean = r.trim().replace(/\/+$/, '');
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(clean))
      fail(`registries[${i}]`, `${JSON.stringify(r)}: give a registry or repository prefix without a scheme`);
    if (!REGISTRY_PREFIX.test(clean))
      fail(`registries[${i}]`, `${JSON.stringify(r)} is not a registry or repository prefix`);
    // Docker's rule: a first component without `.` or `:` (not `localhost`, all lower case)
    // is a Docker Hub namespace, so `internal/app` is pulled from docker.io/internal/app.
    const host = clean.split('/')[0]!;
    if (!/[.:]/.test(host) && host !== 'localhost' && host === host.toLowerCase())
      fail(
        `registries[${i}]`,
        `${JSON.stringify(r)}: image references read ${host}/… as Docker Hub's docker.io/${host}/…; give the registry host (with a dot or port), or docker.io/${clean}`,
      );
    return clean;
  });
  const keys = v.verify.keys ?? [];
  keys.forEach((k, i) => {
    if (isPem(k)) {
      try {
        loadPublicKey(k);
      } catch (e) {
        fail(`verify.keys[${i}]`, `not a usable public key: ${e instanceof Error ? e.message : String(e)}`);
      }
    } else if (!options.allowKeyFiles) {
      fail(`verify.keys[${i}]`, 'must be a PEM public key (key files are read by loadTrustConfig)');
    }
  });
  const identities = v.verify.identities ?? [];
  identities.forEach((id, i) => {
    const path = `verify.identities[${i}]`;
    if ((id.subject === undefined) === (id.subjectRegExp === undefined))
      fail(path, 'needs exactly one of subject or subjectRegExp');
    if ((id.issuer === undefined) === (id.issuerRegExp === undefined))
      fail(path, 'needs exactly one of issuer or issuerRegExp');
    if (id.subjectRegExp !== undefined && !compiles(id.subjectRegExp))
      fail(`${path}.subjectRegExp`, 'is not a valid regular expression');
    if (id.issuerRegExp !== undefined && !compiles(id.issuerRegExp))
      fail(`${path}.issuerRegExp`, 'is not a valid regular expression');
  });
  if (keys.length === 0 && identities.length === 0)
    fail('verify', 'needs at least one key or keyless identity');
  if (v.charts && !(v.charts.reference.includes('{name}') && v.charts.reference.includes('{version}')))
    fail('charts.reference', 'must contain {name} and {version}');
  const config: TrustConfig = {
    name: v.name ?? 'chartproof',
    registries,
    verify: {
      keys,
      identities,
      signatureFormat: v.verify.signatureFormat ?? 'legacy',
      tlog: v.verify.tlog ?? 'require',
    },
    excludeNamespaces: (v.excludeNamespaces ?? []).map((pattern, i) => {
      // A pattern of wildcards alone matches every namespace: every policy off, silently.
      if (/^[*?]+$/.test(pattern) && pattern.includes('*'))
        fail(`excludeNamespaces[${i}]`, `${JSON.stringify(pattern)} excludes every namespace`);
      return pattern;
    }),
    validationFailureAction: v.validationFailureAction ?? 'Audit',
  };
  if (v.verify.rekorUrl !== undefined) config.verify.rekorUrl = v.verify.rekorUrl;
  if (v.charts) config.charts = { reference: v.charts.reference };
  return config;
}

/**
 * Parses trust-config YAML (or JSON) text: bounded in size and nesting before it is
 * parsed, then validated by {@link parseTrustConfig}.
 * @throws {@link TrustConfigError}, `SIZE_LIMIT_EXCEEDED`, `DEPTH_LIMIT_EXCEEDED`
 * @public
 */
export function parseTrustConfigYaml(
  text: string,
  options: { what?: string; allowKeyFiles?: boolean } = {},
): TrustConfig {
  const what = options.what ?? 'trust config';
  if (Buffer.byteLength(text) > MAX_TRUST_CONFIG_BYTES)
    throw new ChartproofError(
      'SIZE_LIMIT_EXCEEDED',
      `${what} is larger than ${MAX_TRUST_CONFIG_BYTES} bytes`,
      { source: 'local' },
    );
  let value: unknown;
  try {
    value = parseYamlBounded(
      text,
      { uniqueKeys: true, maxAliasCount: 100, prettyErrors: true },
      { what, source: 'local', maxDepth: MAX_TRUST_CONFIG_DEPTH },
    );
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    const line = (e as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line;
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new TrustConfigError(line ? `line ${line}` : '(root)', `error converting YAML to JSON: ${msg}`, {
      cause: e,
      what,
    });
  }
  return parseTrustConfig(value, options);
}

/**
 * Reads a trust config file; key entries that are not PEM text are file paths,
 * relative to the config's directory, read (bounded) and checked.
 * @public
 */
export async function loadTrustConfig(path: string): Promise<TrustConfig> {
  const text = await readTextFileBounded(path, { maxBytes: MAX_TRUST_CONFIG_BYTES, what: 'trust config' });
  const config = parseTrustConfigYaml(text, { what: path, allowKeyFiles: true });
  const base = dirname(path);
  const keys: string[] = [];
  for (const [i, k] of config.verify.keys.entries()) {
    if (isPem(k)) {
      keys.push(k);
      continue;
    }
    const file = isAbsolute(k) ? k : resolve(base, k);
    let pem: string;
    try {
      pem = await readTextFileBounded(file, { maxBytes: 16384, what: 'public key' });
    } catch (e) {
      if (!(e instanceof ChartproofError && e.code === 'SIZE_LIMIT_EXCEEDED')) throw e;
      throw new TrustConfigError(`verify.keys[${i}]`, `${k}: not a public key file (too large)`, {
        what: path,
      });
    }
    try {
      loadPublicKey(pem);
    } catch (e) {
      throw new TrustConfigError(`verify.keys[${i}]`, `${k}: not a usable public key`, {
        cause: e,
        what: path,
      });
    }
    keys.push(pem);
  }
  config.verify.keys = keys;
  return config;
}

/** The chart reference for `name`/`version` from the config's template (`+` → `_` like Helm's tags). @public */
export function chartReferenceFor(template: string, name: string, version: string): string {
  return template.replaceAll('{name}', name).replaceAll('{version}', version.replaceAll('+', '_'));
}
