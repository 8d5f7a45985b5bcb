import { describe, expect, it } from 'vitest';
import { ChartproofError } from '../../src/errors.js';
import { parseManifests } from '../../src/render/parse.js';
import { formatImageList, listImages, normalizeImage } from '../../src/workloads/index.js';

const D = 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

describe('normalizeImage (Docker normalisation)', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest', false],
    ['nginx:1.25', 'docker.io/library/nginx:1.25', false],
    ['bitnami/nginx', 'docker.io/bitnami/nginx:latest', false],
    ['docker.io/redis:8.8.0', 'docker.io/library/redis:8.8.0', false],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest', false],
    ['registry-1.docker.io/x/y:1', 'docker.io/x/y:1', false],
    ['ghcr.io/x/y', 'ghcr.io/x/y:latest', false],
    ['GHCR.IO/x/y:v1', 'ghcr.io/x/y:v1', false],
    ['localhost/app', 'localhost/app:latest', false],
    ['localhost:5000/team/app:dev', 'localhost:5000/team/app:dev', false],
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9', false],
    [`nginx@${D}`, `docker.io/library/nginx@${D}`, true],
    [`nginx:1.25@${D}`, `docker.io/library/nginx:1.25@${D}`, true],
    [`quay.io/org/app:v1@${D}`, `quay.io/org/app:v1@${D}`, true],
  ])('%s -> %s', (input, normalized, pinned) => {
    const n = normalizeImage(input);
    expect(n.normalized).toBe(normalized);
    expect(n.pinned).toBe(pinned);
    expect(n.digest !== undefined).toBe(pinned);
  });

  it('splits registry, repository, tag and digest', () => {
    expect(normalizeImage(`quay.io/org/app:v1@${D}`)).toEqual({
      normalized: `quay.io/org/app:v1@${D}`,
      registry: 'quay.io',
      repository: 'org/app',
      tag: 'v1',
      digest: D,
      pinned: true,
    });
    // A digest without a tag gets no implicit :latest.
    expect(normalizeImage(`nginx@${D}`).tag).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    [' nginx', /whitespace/],
    ['nginx ', /whitespace/],
    ['docker://nginx', /scheme/],
    ['Nginx', /repository/],
    ['nginx:bad tag', /tag/],
    ['nginx@sha256:short', /digest/],
    ['user:pw@registry.example.com/app', /credentials/],
  ])('rejects %j', (input, message) => {
    let err: unknown;
    try {
      normalizeImage(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChartproofError);
    expect((err as ChartproofError).code).toBe('INVALID_REFERENCE');
    expect((err as ChartproofError).message).toMatch(message);
  });
});

function images(yaml: string) {
  return listImages(parseManifests(yaml));
}

describe('listImages', () => {
  it.each([
    [
      'Pod',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: a}]}',
      'spec.containers[0].image',
    ],
    [
      'Deployment',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c, image: a}]}}}',
      'spec.template.spec.containers[0].image',
    ],
    [
      'StatefulSet',
      'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c, image: a}]}}}',
      'spec.template.spec.containers[0].image',
    ],
    [
      'DaemonSet',
      'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c, image: a}]}}}',
      'spec.template.spec.containers[0].image',
    ],
    [
      'ReplicaSet',
      'apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c, image: a}]}}}',
      'spec.template.spec.containers[0].image',
    ],
    [
      'ReplicationController',
      'apiVersion: v1\nkind: ReplicationController\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c, image: a}]}}}',
      'spec.template.spec.containers[0].image',
    ],
    [
      'Job',
      'apiVersion: batch/v1\nkind: Job\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c, image: a}]}}}',
      'spec.template.spec.containers[0].image',
    ],
    [
      'CronJob',
      'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: d}\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: a}]}}}}}',
      'spec.jobTemplate.spec.template.spec.containers[0].image',
    ],
    [
      'PodTemplate',
      'apiVersion: v1\nkind: PodTemplate\nmetadata: {name: d}\ntemplate: {spec: {containers: [{name: c, image: a}]}}',
      'template.spec.containers[0].image',
    ],
    [
      'Argo Rollout',
      'apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c, image: a}]}}}',
      'spec.template.spec.containers[0].image',
    ],
    [
      'OpenKruise CloneSet',
      'apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c, image: a}]}}}',
      'spec.template.spec.containers[0].image',
    ],
    [
      'OpenKruise AdvancedCronJob',
      'apiVersion: apps.kruise.io/v1alpha1\nkind: AdvancedCronJob\nmetadata: {name: d}\nspec: {template: {jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: a}]}}}}}}',
      'spec.template.jobTemplate.spec.template.spec.containers[0].image',
    ],
    [
      'KEDA ScaledJob',
      'apiVersion: keda.sh/v1alpha1\nkind: ScaledJob\nmetadata: {name: d}\nspec: {jobTargetRef: {template: {spec: {containers: [{name: c, image: a}]}}}}',
      'spec.jobTargetRef.template.spec.containers[0].image',
    ],
    [
      'Knative Service',
      'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{image: a}]}}}',
      'spec.template.spec.containers[0].image',
    ],
    [
      'Prometheus',
      'apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: d}\nspec: {image: a}',
      'spec.image',
    ],
    [
      'Alertmanager',
      'apiVersion: monitoring.coreos.com/v1\nkind: Alertmanager\nmetadata: {name: d}\nspec: {image: a}',
      'spec.image',
    ],
    [
      'OpenTelemetryCollector',
      'apiVersion: opentelemetry.io/v1beta1\nkind: OpenTelemetryCollector\nmetadata: {name: d}\nspec: {image: a}',
      'spec.image',
    ],
    [
      'Instrumentation',
      'apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata: {name: d}\nspec: {exporter: {endpoint: x}, java: {image: a}}',
      'spec.java.image',
    ],
    [
      'Tekton Task',
      'apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: d}\nspec: {steps: [{name: s, image: a}]}',
      'spec.steps[0].image',
    ],
    [
      'Argo WorkflowTemplate',
      'apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: d}\nspec: {templates: [{name: t, container: {image: a}}]}',
      'spec.templates[0].container.image',
    ],
    [
      'CronWorkflow',
      'apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nmetadata: {name: d}\nspec: {workflowSpec: {templates: [{name: t, script: {image: a}}]}}',
      'spec.workflowSpec.templates[0].script.image',
    ],
    [
      'List item',
      'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec: {containers: [{name: c, image: a}]}',
      'items[0].spec.containers[0].image',
    ],
  ])('finds the image of a %s', (_, yaml, field) => {
    const inv = images(yaml);
    expect(inv.findings).toEqual([]);
    expect(inv.images.map((i) => [i.image, i.normalized, i.field])).toEqual([
      ['a', 'docker.io/library/a:latest', field],
    ]);
  });

  it.each([
    [
      'a core Service',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {template: {spec: {containers: [{image: a}]}}}',
    ],
    [
      'a ConfigMap with an image key',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {image: nginx}',
    ],
    [
      'Prometheus of another group',
      'apiVersion: example.com/v1\nkind: Prometheus\nmetadata: {name: d}\nspec: {image: a}',
    ],
    [
      'a Pod of another group',
      'apiVersion: example.com/v1\nkind: Pod\nmetadata: {name: d}\nspec: {containers: [{image: a}]}',
    ],
  ])('finds nothing in %s', (_, yaml) => {
    const inv = images(yaml);
    expect(inv.images).toEqual([]);
    expect(inv.findings).toEqual([]);
  });

  it('reports init, regular and ephemeral containers with where they are used', () => {
    const inv = images(
      [
        '# Source: app/templates/pod.yaml',
        'apiVersion: v1',
        'kind: Pod',
        'metadata: {name: p, namespace: ns}',
        'spec:',
        '  containers: [{name: main, image: "ghcr.io/o/app:1"}]',
        '  initContainers: [{name: init, image: busybox}]',
        `  ephemeralContainers: [{name: debug, image: "busybox@${D}"}]`,
      ].join('\n'),
    );
    expect(inv.images).toEqual([
      expect.objectContaining({
        image: 'busybox',
        normalized: 'docker.io/library/busybox:latest',
        containerKind: 'initContainer',
        container: 'init',
        kind: 'Pod',
        name: 'p',
        namespace: 'ns',
        source: 'app/templates/pod.yaml',
        pinned: false,
        index: 0,
      }),
      expect.objectContaining({
        image: 'ghcr.io/o/app:1',
        containerKind: 'container',
        container: 'main',
        tag: '1',
      }),
      expect.objectContaining({
        image: `busybox@${D}`,
        containerKind: 'ephemeralContainer',
        container: 'debug',
        pinned: true,
      }),
    ]);
  });

  it('turns invalid or missing references into image-invalid findings, not exceptions', () => {
    const inv = images(
      [
        '# Source: app/templates/d.yaml',
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: d}',
        'spec:',
        '  template:',
        '    spec:',
        '      containers:',
        '      - {name: upper, image: "Nginx:1"}',
        '      - {name: none}',
        '      - {name: number, image: 42}',
        '      - {name: empty, image: ""}',
        '      - {name: ok, image: nginx}',
      ].join('\n'),
    );
    expect(inv.images.map((i) => i.container)).toEqual(['ok']);
    expect(inv.findings.map((f) => [f.rule, f.severity, f.container, f.file])).toEqual([
      ['image-invalid', 'high', 'upper', 'templates/d.yaml'],
      ['image-invalid', 'high', 'none', 'templates/d.yaml'],
      ['image-invalid', 'high', 'number', 'templates/d.yaml'],
      ['image-invalid', 'high', 'empty', 'templates/d.yaml'],
    ]);
  });

  it('never echoes credentials or control characters from an invalid reference', () => {
    const inv = images(
      'apiVersion: v1\nkind: Pod\nmetadata: {name: "p\\e[31m"}\nspec: {containers: [{name: c, image: "user:hunter2@registry.example.com/app"}, {name: d, image: "x\\e]0;t\\a"}]}',
    );
    expect(inv.images).toEqual([]);
    expect(JSON.stringify(inv.findings)).not.toContain('hunter2');
    // Messages and the echoed reference are printable (structured fields such as
    // object.name stay data, escaped by whatever serialises them).
    for (const f of inv.findings) {
      expect(f.message).not.toMatch(/[\u0000-\u001f]/);
      expect(String(f.detail?.image)).not.toMatch(/[\u0000-\u001f]/);
    }
    expect(inv.findings.map((f) => f.container)).toEqual(['c', 'd']);
  });

  it('a Prometheus container override without image is a patch, not an error', () => {
    const inv = images(
      'apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: p}\nspec:\n  containers: [{name: prometheus, args: [x]}, {name: side, image: "quay.io/s/side:1"}]\n',
    );
    expect(inv.findings).toEqual([]);
    expect(inv.images.map((i) => i.normalized)).toEqual(['quay.io/s/side:1']);
  });
});

describe('formatImageList', () => {
  it('prints normalised references, sorted and deduplicated, one per line', () => {
    const inv = images(
      'kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec: {containers: [{name: a, image: "redis:7"}, {name: b, image: nginx}, {name: c, image: "docker.io/library/redis:7"}, {name: d, image: "ghcr.io/a/b"}]}',
    );
    expect(formatImageList(inv.images)).toBe(
      'docker.io/library/nginx:latest\ndocker.io/library/redis:7\nghcr.io/a/b:latest\n',
    );
    expect(formatImageList([])).toBe('');
  });
});
