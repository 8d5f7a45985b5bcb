/**
 * Parsing a rendered manifest stream (the output of `helm template`, or of
 * chartproof's renderer) into Kubernetes objects, safely: the stream is split as Helm
 * splits it ({@link splitManifests}), each document keeps its `# Source:` path, and each
 * is parsed with the nesting depth, alias expansion and sizes bounded.
 */
import { type Alias, isAlias, isMap, isSeq, Scalar, type ScalarTag } from 'yaml';
import { ChartproofError, type ErrorSource } from '../errors.js';
import { DEFAULT_MAX_DEPTH, isDepthLimitError, parseYamlDocumentBounded } from '../internal/bounded-parse.js';
import { splitManifests } from './manifests.js';

/** One parsed document of a rendered manifest stream. @public */
export interface ParsedManifest {
  /** Template path from the document's `# Source: <path>` comment (e.g. `podinfo/templates/deployment.yaml`). */
  source?: string;
  /** 0-based position among the non-empty documents of the stream. */
  index: number;
  apiVersion?: string;
  kind?: string;
  /** `metadata.name`. */
  name?: string;
  /** `metadata.namespace` as written (the release namespace applies when absent). */
  namespace?: string;
  /** The document as plain data. */
  object: Record<string, unknown>;
  /** The document text, as split (comments included). */
  text: string;
}

/** Limits of {@link parseManifests}. @public */
export interface ParseManifestsOptions {
  /** Largest stream accepted, in UTF-16 code units (default 64 MiB). */
  maxBytes?: number;
  /** Most documents accepted (default 10 000). */
  maxDocuments?: number;
  /** Nesting-depth bound of each document (default 128). */
  maxDepth?: number;
  /** Most alias expansions per document (default 100; `yaml`'s `maxAliasCount`). */
  maxAliasCount?: number;
  /**
   * Where the manifests came from, recorded as the errors' `source` (the CLI's exit
   * code depends on it): `local` (default) or `remote` (a chart pulled from a registry).
   */
  origin?: ErrorSource;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_DOCUMENTS = 10_000;
const SOURCE_LINE = /^#\s*Source:\s*(.+?)\s*$/;

type ToJSContext = Parameters<Alias['resolve']>[1];

/**
 * `<<` merge keys as Kubernetes' decoder (go-yaml v2, through sigs.k8s.io/yaml) applies
 * them: the merged pairs are set where the key stands, so they override the keys before
 * it and the keys after it override them; in a sequence of maps the first map wins.
 * (`yaml`'s own merge never overrides a key already set, which would let
 * `privileged: false` before `<<: {privileged: true}` read as false.)
 */
function goYamlMerge(ctx: ToJSContext, map: unknown, value: unknown): unknown {
  const resolve = (v: unknown) => (ctx && isAlias(v) ? v.resolve(ctx.doc, ctx) : v);
  const source = resolve(value);
  const sources = isSeq(source) ? [...source.items].reverse() : [source];
  for (const s of sources) {
    const m = resolve(s);
    if (!isMap(m)) throw new Error('map merge requires map or sequence of maps as the value');
    for (const [k, v] of m.toJSON(null, ctx, Map) as Map<unknown, unknown>) {
      if (map instanceof Map) map.set(k, v);
      else if (map instanceof Set) map.add(k);
      else if (typeof map === 'object' && map !== null)
        Object.defineProperty(map, k as PropertyKey, {
          value: v,
          writable: true,
          enumerable: true,
          configurable: true,
        });
    }
  }
  return map;
}

const GO_YAML_MERGE: ScalarTag = {
  tag: 'tag:yaml.org,2002:merge',
  default: 'key',
  test: /^<<$/,
  identify: (v) => typeof v === 'symbol' && v.description === '<<',
  resolve: () => Object.assign(new Scalar(Symbol('<<')), { addToJSMap: goYamlMerge }),
  stringify: () => '<<',
};

/** The `# Source:` path among the leading comment lines of a document. */
function sourceOf(doc: string): string | undefined {
  for (const line of doc.split('\n', 20)) {
    const t = line.trim();
    if (t === '' || /^---(\s|$)/.test(t)) continue;
    if (!t.startsWith('#')) return undefined;
    const m = SOURCE_LINE.exec(t);
    if (m) return m[1];
  }
  return undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/**
 * Splits a `helm template`-style stream into documents (Helm v4.1.4's splitting) and
 * parses each one. Empty documents (only comments or whitespace, or `null`) are
 * skipped. Documents must be mappings; `apiVersion`, `kind`, `metadata.name` and
 * `metadata.namespace` are copied out when they are strings.
 *
 * Parsing uses the YAML 1.2 core schema with duplicate keys allowed (the last wins, as
 * Kubernetes' decoder), `<<` merge keys applied as that decoder applies them, and only
 * the first document of a piece read (what follows a `...` line is ignored, as there);
 * rules that read booleans accept YAML 1.1 spellings too (see docs/images.md).
 *
 * Errors ({@link ChartproofError}): `TEMPLATE_OUTPUT_INVALID` for a document that is not
 * YAML or not a mapping (the message names its `# Source:` path); `DEPTH_LIMIT_EXCEEDED`
 * for a document nested deeper than `maxDepth` (also through aliases);
 * `SIZE_LIMIT_EXCEEDED` for a stream over `maxBytes` or `maxDocuments`, or a document
 * whose aliases expand more than `maxAliasCount` times.
 * @public
 */
export function parseManifests(text: string, options: ParseManifestsOptions = {}): ParsedManifest[] {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxDocuments = options.maxDocuments ?? DEFAULT_MAX_DOCUMENTS;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxAliasCount = options.maxAliasCount ?? 100;
  const origin: ErrorSource = options.origin ?? 'local';
  if (typeof text !== 'string') throw new ChartproofError('INVALID_ARGUMENT', 'manifests must be a string');
  if (text.length > maxBytes) {
    throw new ChartproofError(
      'SIZE_LIMIT_EXCEEDED',
      `rendered manifests are larger than ${maxBytes} characters`,
      { source: origin },
    );
  }
  const out: ParsedManifest[] = [];
  let position = 0;
  for (const doc of splitManifests(text)) {
    const source = sourceOf(doc);
    const where = source ?? `document ${position + 1}`;
    position++;
    let parsed: ReturnType<typeof parseYamlDocumentBounded>;
    let value: unknown;
    try {
      parsed = parseYamlDocumentBounded(
        doc,
        {
          uniqueKeys: false,
          prettyErrors: false,
          customTags: (tags: ScalarTag[]) => [GO_YAML_MERGE, ...tags],
        },
        { what: `rendered manifest ${where}`, source: origin, maxDepth, maxNodes: 2_000_000 },
      );
      // Kubernetes' decoder reads the first document of a piece and ignores what
      // follows a `...` line (Helm only splits at `---`).
      const [error, multiple] = [
        parsed.errors.find((e) => e.code !== 'MULTIPLE_DOCS'),
        parsed.errors.find((e) => e.code === 'MULTIPLE_DOCS'),
      ];
      if (error) throw error;
      value = parsed.toJS({ maxAliasCount });
      if (multiple && (value === null || value === undefined)) throw multiple;
    } catch (err) {
      if (isDepthLimitError(err)) throw err;
      const message = err instanceof Error ? err.message : String(err);
      if (/excessive alias count/i.test(message)) {
        throw new ChartproofError(
          'SIZE_LIMIT_EXCEEDED',
          `rendered manifest ${where}: aliases expand more than ${maxAliasCount} times`,
          { cause: err, source: origin },
        );
      }
      throw new ChartproofError('TEMPLATE_OUTPUT_INVALID', `YAML parse error on ${where}: ${message}`, {
        cause: err,
        source: origin,
      });
    }
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ChartproofError(
        'TEMPLATE_OUTPUT_INVALID',
        `rendered manifest ${where} is ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}, not a mapping`,
        { source: origin },
      );
    }
    if (out.length >= maxDocuments) {
      throw new ChartproofError(
        'SIZE_LIMIT_EXCEEDED',
        `rendered manifests hold more than ${maxDocuments} documents`,
        { source: origin },
      );
    }
    const object = value as Record<string, unknown>;
    const meta = object.metadata;
    const m =
      typeof meta === 'object' && meta !== null && !Array.isArray(meta)
        ? (meta as Record<string, unknown>)
        : {};
    const entry: ParsedManifest = { index: out.length, object, text: doc };
    if (source !== undefined) entry.source = source;
    const apiVersion = str(object.apiVersion);
    const kind = str(object.kind);
    const name = str(m.name);
    const namespace = str(m.namespace);
    if (apiVersion !== undefined) entry.apiVersion = apiVersion;
    if (kind !== undefined) entry.kind = kind;
    if (name !== undefined) entry.name = name;
    if (namespace !== undefined) entry.namespace = namespace;
    out.push(entry);
  }
  return out;
}
