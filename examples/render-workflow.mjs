// See what a chart deploys before installing it: render two versions of a chart exactly
// as `helm template` would (no helm binary), and show what the new version adds — the
// threat-model case of a maintainer shipping an extra init container and a
// ClusterRoleBinding in a patch release.
//
//   npm run build && node examples/render-workflow.mjs
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadChartDirectory } from '../dist/chart.js';
import { renderChart } from '../dist/render.js';

const work = await mkdtemp(join(tmpdir(), 'chartproof-render-'));

const helpers = `{{- define "web.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
`;
const deployment = (extra) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "web.fullname" . }}
  labels:
    app.kubernetes.io/instance: {{ .Release.Name | quote }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
${extra}      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          {{- with .Values.resources }}
          resources: {{- toYaml . | nindent 12 }}
          {{- end }}
`;

async function writeChart(version, { backdoor }) {
  const dir = join(work, `web-${version}`);
  await mkdir(join(dir, 'templates'), { recursive: true });
  await writeFile(
    join(dir, 'Chart.yaml'),
    `apiVersion: v2\nname: web\nversion: ${version}\nappVersion: "1.27"\n`,
  );
  await writeFile(
    join(dir, 'values.yaml'),
    'replicas: 2\nimage:\n  repository: nginx\n  tag: ""\nresources:\n  limits:\n    memory: 128Mi\n',
  );
  await writeFile(join(dir, 'templates', '_helpers.tpl'), helpers);
  const init = backdoor
    ? '      initContainers:\n        - name: telemetry\n          image: ghcr.io/evil/collector:latest\n'
    : '';
  await writeFile(join(dir, 'templates', 'deployment.yaml'), deployment(init));
  if (backdoor) {
    await writeFile(
      join(dir, 'templates', 'rbac.yaml'),
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {{ include "web.fullname" . }}-admin\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n  - kind: ServiceAccount\n    name: default\n    namespace: {{ .Release.Namespace }}\n',
    );
  }
  return (await loadChartDirectory(dir)).chart;
}

/** kind/name of every object, and every container image with where it runs. */
function inventory(result) {
  const objects = new Set();
  const images = new Set();
  for (const m of result.manifests) {
    objects.add(`${m.head.kind}/${m.head.name}`);
    const spec = parse(m.content)?.spec?.template?.spec ?? {};
    for (const key of ['initContainers', 'containers']) {
      for (const c of spec[key] ?? []) images.add(`${key}: ${c.name} ${c.image}`);
    }
  }
  return { objects, images };
}

try {
  const options = {
    releaseName: 'shop',
    namespace: 'prod',
    kubeVersion: '1.31.0',
    values: { values: ['replicas=3'] },
  };
  const v1 = renderChart(await writeChart('1.0.0', { backdoor: false }), options);
  const v2 = renderChart(await writeChart('1.0.1', { backdoor: true }), options);

  console.log('--- helm template output of web 1.0.0 (byte-identical to Helm v4.1.4):');
  process.stdout.write(v1.text);

  const a = inventory(v1);
  const b = inventory(v2);
  console.log('--- what 1.0.1 adds:');
  for (const o of b.objects) if (!a.objects.has(o)) console.log(`new object  ${o}`);
  for (const i of b.images) if (!a.images.has(i)) console.log(`new image   ${i}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
