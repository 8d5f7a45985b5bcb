/**
 * Where rendered objects keep pod specs and container images: the built-in workload
 * kinds and the pod templates of common CRDs (docs/images.md lists them). Everything
 * here reads plain data from a parsed manifest and never throws on odd shapes.
 */
import { isRecord as isMap } from '../internal/guards.js';
import type { ParsedManifest } from '../render/parse.js';

/** A plain object (not null, not an array). @internal */
export { isMap };

/** `o[k]` for an own key of a map, else undefined. @internal */
export function get(o: unknown, ...path: string[]): unknown {
  let cur: unknown = o;
  for (const k of path) {
    if (!isMap(cur) || !Object.hasOwn(cur, k)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** The API group of an apiVersion (`apps/v1` → `apps`, `v1` → ``). @internal */
export function groupOf(apiVersion: string | undefined): string {
  if (apiVersion === undefined) return '';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** An object of the stream (a document, or an item of a `List` document). @public */
export interface WorkloadObject {
  /** The document it comes from. */
  manifest: ParsedManifest;
  apiVersion?: string;
  kind: string;
  name?: string;
  namespace?: string;
  object: Record<string, unknown>;
  /** Field path of the object in its document: `` for the document, `items[2]` for a List item. */
  at: string;
}

/**
 * Objects of the stream: each document, and the items of documents that hold an `items`
 * list, recursively. kubectl and Helm decode any document with `items` as a list
 * (`unstructuredJSONScheme`) and apply its items, flattening nested lists
 * (`FlattenListVisitor`); an item without kind and apiVersion takes the list's
 * apiVersion and its kind minus `List`. A `…List` document is only its items; any
 * other document with `items` is checked too. @internal
 */
export function objectsOf(manifests: readonly ParsedManifest[]): WorkloadObject[] {
  const out: WorkloadObject[] = [];
  const push = (manifest: ParsedManifest, object: Record<string, unknown>, at: string) => {
    const kind = typeof object.kind === 'string' ? object.kind : '';
    const items = object.items;
    if (Array.isArray(items)) {
      const apiVersion = object.apiVersion;
      items.forEach((item, i) => {
        if (!isMap(item)) return;
        const unset = (v: unknown) => typeof v !== 'string' || v === '';
        const typed =
          unset(item.kind) && unset(item.apiVersion)
            ? { ...item, kind: kind.endsWith('List') ? kind.slice(0, -4) : kind, apiVersion }
            : item;
        push(manifest, typed, at ? `${at}.items[${i}]` : `items[${i}]`);
      });
      if (kind.endsWith('List')) return;
    }
    const o: WorkloadObject = { manifest, kind, object, at };
    if (typeof object.apiVersion === 'string') o.apiVersion = object.apiVersion;
    const name = get(object, 'metadata', 'name');
    const namespace = get(object, 'metadata', 'namespace');
    if (typeof name === 'string') o.name = name;
    if (typeof namespace === 'string') o.namespace = namespace;
    out.push(o);
  };
  for (const m of manifests) push(m, m.object, '');
  return out;
}

/** A pod spec inside an object, with its field path (`spec.template.spec`). @public */
export interface PodSpecAt {
  spec: Record<string, unknown>;
  path: string;
}

// Kinds whose pod template sits at spec.template.spec, whatever their group: the
// built-in controllers, Argo Rollouts `Rollout`, OpenKruise `CloneSet`, Advanced
// `StatefulSet`/`DaemonSet`, `BroadcastJob`.
const TEMPLATE_KINDS = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
  'DeploymentConfig',
  'Rollout',
  'CloneSet',
  'BroadcastJob',
]);

/** The pod specs of an object (built-in workload kinds and known CRDs). @internal */
export function podSpecsOf(o: WorkloadObject): PodSpecAt[] {
  const group = groupOf(o.apiVersion);
  const at = (path: string[]): PodSpecAt[] => {
    const spec = get(o.object, ...path);
    return isMap(spec) ? [{ spec, path: path.join('.') }] : [];
  };
  switch (o.kind) {
    case 'Pod':
      return group === '' ? at(['spec']) : [];
    case 'PodTemplate':
      return group === '' ? at(['template', 'spec']) : [];
    case 'CronJob':
      return at(['spec', 'jobTemplate', 'spec', 'template', 'spec']);
    case 'AdvancedCronJob':
      // apps.kruise.io: a Job or a BroadcastJob template.
      return [
        ...at(['spec', 'template', 'jobTemplate', 'spec', 'template', 'spec']),
        ...at(['spec', 'template', 'broadcastJobTemplate', 'spec', 'template', 'spec']),
      ];
    case 'ScaledJob':
      return group === 'keda.sh' ? at(['spec', 'jobTargetRef', 'template', 'spec']) : [];
    case 'Service':
    case 'Configuration':
      // Knative Serving; a core Service has no pod template.
      return group === 'serving.knative.dev' ? at(['spec', 'template', 'spec']) : [];
    default:
      return TEMPLATE_KINDS.has(o.kind) ? at(['spec', 'template', 'spec']) : [];
  }
}

/** Kinds of container lists in a pod spec. @public */
export type ContainerKind =
  | 'container'
  | 'initContainer'
  | 'ephemeralContainer'
  | 'step'
  | 'sidecar'
  | 'template'
  | 'image';

/** One container of a pod spec. @internal */
export interface ContainerAt {
  container: Record<string, unknown>;
  containerKind: ContainerKind;
  /** Field path of the container (`spec.template.spec.initContainers[0]`). */
  path: string;
}

const POD_LISTS: [string, ContainerKind][] = [
  ['initContainers', 'initContainer'],
  ['containers', 'container'],
  ['ephemeralContainers', 'ephemeralContainer'],
];

/** The containers, init containers and ephemeral containers of a pod spec. @internal */
export function containersOf(pod: PodSpecAt): ContainerAt[] {
  const out: ContainerAt[] = [];
  for (const [field, containerKind] of POD_LISTS) {
    const list = pod.spec[field];
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => {
      if (isMap(c)) out.push({ container: c, containerKind, path: `${pod.path}.${field}[${i}]` });
    });
  }
  return out;
}

/** A field that holds an image outside pod specs (CRD fields; docs/images.md). @internal */
export interface ImageFieldAt {
  image: unknown;
  containerKind: ContainerKind;
  path: string;
  /** Name of the step / template / container, when it has one. */
  container?: string;
}

function listField(
  o: Record<string, unknown>,
  base: string[],
  field: string,
  kind: ContainerKind,
  out: ImageFieldAt[],
): void {
  const list = get(o, ...base, field);
  if (!Array.isArray(list)) return;
  list.forEach((c, i) => {
    if (!isMap(c) || !Object.hasOwn(c, 'image')) return;
    const f: ImageFieldAt = {
      image: c.image,
      containerKind: kind,
      path: [...base, `${field}[${i}]`, 'image'].join('.'),
    };
    if (typeof c.name === 'string') f.container = c.name;
    out.push(f);
  });
}

function argoTemplates(o: Record<string, unknown>, base: string[], out: ImageFieldAt[]): void {
  const templates = get(o, ...base, 'templates');
  if (!Array.isArray(templates)) return;
  templates.forEach((t, i) => {
    if (!isMap(t)) return;
    const tb = [...base, `templates[${i}]`];
    const name = typeof t.name === 'string' ? t.name : undefined;
    for (const field of ['container', 'script'] as const) {
      const c = t[field];
      if (isMap(c) && Object.hasOwn(c, 'image')) {
        const f: ImageFieldAt = {
          image: c.image,
          containerKind: 'template',
          path: [...tb, field, 'image'].join('.'),
        };
        if (name !== undefined) f.container = name;
        out.push(f);
      }
    }
    listField(o, tb, 'initContainers', 'initContainer', out);
    listField(o, tb, 'sidecars', 'sidecar', out);
  });
}

/**
 * Image fields of CRDs that are not pod templates: Prometheus Operator
 * (`Prometheus`, `Alertmanager`, `ThanosRuler`, `PrometheusAgent`: `spec.image` and the
 * `spec.containers` / `spec.initContainers` entries that set `image`),
 * OpenTelemetry Operator (`OpenTelemetryCollector`: `spec.image`; `Instrumentation`:
 * `spec.<language>.image`), Tekton (`Task`,
 * `ClusterTask`: `spec.steps`, `spec.sidecars`, `spec.stepTemplate`) and Argo Workflows
 * (`Workflow`, `WorkflowTemplate`, `ClusterWorkflowTemplate`, `CronWorkflow`:
 * `templates[].container|script|initContainers|sidecars`).
 * @internal
 */
export function crdImageFieldsOf(o: WorkloadObject): ImageFieldAt[] {
  const group = groupOf(o.apiVersion);
  const out: ImageFieldAt[] = [];
  const specImage = () => {
    const image = get(o.object, 'spec', 'image');
    if (image !== undefined && image !== null)
      out.push({ image, containerKind: 'image', path: 'spec.image' });
  };
  if (group === 'monitoring.coreos.com') {
    if (['Prometheus', 'Alertmanager', 'ThanosRuler', 'PrometheusAgent'].includes(o.kind)) {
      specImage();
      // Containers merged into the generated StatefulSet; entries without `image` patch the defaults.
      listField(o.object, ['spec'], 'initContainers', 'initContainer', out);
      listField(o.object, ['spec'], 'containers', 'container', out);
    }
  } else if (group === 'opentelemetry.io') {
    if (o.kind === 'OpenTelemetryCollector') specImage();
    if (o.kind === 'Instrumentation') {
      // Auto-instrumentation images the operator injects as init containers.
      for (const lang of ['java', 'nodejs', 'python', 'dotnet', 'go', 'apacheHttpd', 'nginx']) {
        const image = get(o.object, 'spec', lang, 'image');
        if (image !== undefined && image !== null) {
          out.push({ image, containerKind: 'image', path: `spec.${lang}.image`, container: lang });
        }
      }
    }
  } else if (group === 'tekton.dev') {
    if (o.kind === 'Task' || o.kind === 'ClusterTask') {
      listField(o.object, ['spec'], 'steps', 'step', out);
      listField(o.object, ['spec'], 'sidecars', 'sidecar', out);
      const tpl = get(o.object, 'spec', 'stepTemplate');
      if (isMap(tpl) && Object.hasOwn(tpl, 'image')) {
        out.push({ image: tpl.image, containerKind: 'step', path: 'spec.stepTemplate.image' });
      }
    }
  } else if (group === 'argoproj.io') {
    if (o.kind === 'Workflow' || o.kind === 'WorkflowTemplate' || o.kind === 'ClusterWorkflowTemplate') {
      argoTemplates(o.object, ['spec'], out);
    } else if (o.kind === 'CronWorkflow') {
      argoTemplates(o.object, ['spec', 'workflowSpec'], out);
    }
  }
  return out;
}
