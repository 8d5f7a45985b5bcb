/**
 * The finding type of the rendered-manifest rules: the mirror scanner's
 * {@link Finding} plus where in the rendered objects it was found and which Trivy
 * check and Pod Security Standards level it corresponds to.
 */
import type { Finding } from './severity.js';
import type { ContainerKind, WorkloadObject } from './pods.js';

/** Pod Security Standards levels (https://kubernetes.io/docs/concepts/security/pod-security-standards/). @public */
export type PodSecurityLevel = 'baseline' | 'restricted';

/** The object a finding is about. @public */
export interface ObjectRef {
  apiVersion?: string;
  kind: string;
  name?: string;
  namespace?: string;
}

/**
 * A finding on rendered manifests. It is a mirror-scanner `Finding` (`chartproof/mirror`) (so
 * `evaluateFindings` and `runScanners` accept it); `file` is the template path inside
 * the chart (`templates/deployment.yaml`, `charts/sub/templates/x.yaml`) and `source`
 * the path as Helm prints it (`app/templates/deployment.yaml`).
 * @public
 */
export interface WorkloadFinding extends Finding {
  /** The matching Trivy misconfiguration check (`KSV-0017`; legacy alias `KSV017`), when one exists. */
  trivyId?: string;
  /** The Pod Security Standards level the finding violates, when the rule is part of one. */
  pss?: PodSecurityLevel;
  /** The object, when the finding is about one. */
  object?: ObjectRef;
  /** The `# Source:` path of the document. */
  source?: string;
  /** Container name, for container-level findings. */
  container?: string;
  containerKind?: ContainerKind;
  /** Field path inside the object (`spec.template.spec.containers[0].securityContext.privileged`). */
  field?: string;
}

/** `ObjectRef` of an object. @internal */
export function refOf(o: WorkloadObject): ObjectRef {
  const ref: ObjectRef = { kind: o.kind };
  if (o.apiVersion !== undefined) ref.apiVersion = o.apiVersion;
  if (o.name !== undefined) ref.name = o.name;
  if (o.namespace !== undefined) ref.namespace = o.namespace;
  return ref;
}

/** The template path inside the chart: Helm's source path without its first segment. @internal */
export function fileOf(source: string | undefined): string | undefined {
  if (source === undefined) return undefined;
  const slash = source.indexOf('/');
  return slash < 0 ? source : source.slice(slash + 1);
}

/** Text from a chart with control characters (terminal escapes, line breaks) replaced by `?`. @internal */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
}

/** `Kind/name` (with `namespace/` when known), for messages. @internal */
export function describe(o: ObjectRef): string {
  return `${o.kind || 'object'} ${o.namespace ? `${o.namespace}/` : ''}${o.name ?? '(unnamed)'}`;
}

/** A finding with the location fields of an object filled in. @internal */
export function findingAt(
  o: WorkloadObject,
  base: Pick<WorkloadFinding, 'rule' | 'severity' | 'message'> & Partial<WorkloadFinding>,
  chart: string,
): WorkloadFinding {
  const f: WorkloadFinding = { chart, ...base, object: refOf(o) };
  const source = o.manifest.source;
  if (source !== undefined) {
    f.source = source;
    const file = fileOf(source);
    if (file !== undefined) f.file = file;
  }
  return f;
}
