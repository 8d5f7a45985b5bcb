/**
 * Offline validation of Kubernetes objects against CRD openAPIV3Schemas (the
 * Kyverno v1.19 CRDs in ../shared/vectors/kyverno), a TypeScript port of
 * ../shared/tools/validate_against_crd.py: ajv without strict mode (x-kubernetes-*
 * keywords ignored), and, like the script's STRICT=1, every object schema that lists
 * properties and neither preserves unknown fields nor sets additionalProperties is
 * closed (the apiserver's strict field validation); `metadata` stays open.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';

export const KYVERNO_VECTORS = join(process.cwd(), '..', 'shared', 'vectors', 'kyverno');

export function kyvernoVectorsAvailable(suite: string): boolean {
  const ok = existsSync(join(KYVERNO_VECTORS, 'kyverno-crds', 'README.md'));
  if (!ok) console.warn(`${suite} skipped: Kyverno vectors not found at ${KYVERNO_VECTORS}`);
  return ok;
}

type Schema = Record<string, unknown>;

function strictify(node: unknown, path: string[]): unknown {
  if (Array.isArray(node)) return node.map((x) => strictify(x, path));
  if (typeof node !== 'object' || node === null) return node;
  const n = node as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(n)) out[k] = strictify(v, [...path, k]);
  const isMetadata = path.length === 2 && path[0] === 'properties' && path[1] === 'metadata';
  if (
    n.type === 'object' &&
    n.properties !== undefined &&
    n.additionalProperties === undefined &&
    n['x-kubernetes-preserve-unknown-fields'] !== true &&
    !isMetadata
  )
    out.additionalProperties = false;
  return out;
}

/** Validators keyed by `apiVersion|kind`, from every CRD file in the directory. */
export function loadCrdValidators(dir = join(KYVERNO_VECTORS, 'kyverno-crds')) {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validators = new Map<string, ReturnType<Ajv['compile']>>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const crd = (Array.isArray(doc) ? doc[0] : doc).toJS() as {
        kind?: string;
        spec: {
          group: string;
          names: { kind: string };
          versions: { name: string; schema: { openAPIV3Schema: Schema } }[];
        };
      };
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const v of crd.spec.versions)
        validators.set(
          `${crd.spec.group}/${v.name}|${crd.spec.names.kind}`,
          ajv.compile(strictify(v.schema.openAPIV3Schema, []) as Schema),
        );
    }
  }
  return {
    /** Error strings (empty when valid); throws when no CRD knows the object. */
    validate(obj: Record<string, unknown>): string[] {
      const key = `${String(obj.apiVersion)}|${String(obj.kind)}`;
      const v = validators.get(key);
      if (!v) throw new Error(`no CRD for ${key}`);
      if (v(obj)) return [];
      return (v.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
    },
    keys: () => [...validators.keys()],
  };
}
