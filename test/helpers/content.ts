import { type Descriptor, digestOf, MediaType } from '../../src/oci/index.js';

const enc = new TextEncoder();

/** A blob with its descriptor. */
export function blob(
  content: string | Uint8Array,
  mediaType = 'application/octet-stream',
): { desc: Descriptor; data: Uint8Array } {
  const data = typeof content === 'string' ? enc.encode(content) : content;
  return { desc: { mediaType, digest: digestOf(data), size: data.byteLength }, data };
}

/** An OCI image manifest over the given config and layers (and optional subject). */
export function manifest(
  config: Descriptor,
  layers: Descriptor[],
  extra: { subject?: Descriptor; artifactType?: string; annotations?: Record<string, string> } = {},
): { desc: Descriptor; data: Uint8Array } {
  const m: Record<string, unknown> = { schemaVersion: 2, mediaType: MediaType.OciManifest };
  if (extra.artifactType) m.artifactType = extra.artifactType;
  m.config = config;
  m.layers = layers;
  if (extra.subject) m.subject = extra.subject;
  if (extra.annotations) m.annotations = extra.annotations;
  return blob(JSON.stringify(m), MediaType.OciManifest);
}

/** A Helm-chart-like artifact: config, one layer, manifest. */
export function chartArtifact(name: string, version: string, layerBytes = 2048) {
  const config = blob(JSON.stringify({ name, version, apiVersion: 'v2' }), MediaType.HelmConfig);
  const layerData = new Uint8Array(layerBytes);
  for (let i = 0; i < layerData.length; i++) layerData[i] = (i * 31 + name.length + version.length) % 256;
  const layer = blob(layerData, MediaType.HelmChartContent);
  const man = manifest(config.desc, [layer.desc]);
  return { config, layer, manifest: man };
}

/** A signature-like referrer of `subject`. */
export function referrerOf(subject: Descriptor, artifactType: string, payload = 'sig') {
  const empty = blob('{}', MediaType.OciEmpty);
  const layer = blob(payload, 'application/vnd.example.payload');
  const man = manifest(empty.desc, [layer.desc], {
    subject,
    artifactType,
    annotations: { 'org.example.kind': artifactType },
  });
  return { empty, layer, manifest: man };
}

/** Pushes all parts of an artifact into a target-like repository. */
export async function pushAll(
  target: { push(desc: Descriptor, data: Uint8Array): Promise<void> },
  parts: Array<{ desc: Descriptor; data: Uint8Array }>,
): Promise<void> {
  for (const p of parts) await target.push(p.desc, p.data);
}

/**
 * A multi-platform image: one manifest per platform (config + one layer each, plus an
 * optional `shared` base layer first), under an OCI index. `parts` in push order
 * (blobs, then manifests, then the index last).
 */
export function imageIndex(
  name: string,
  options: { platforms?: string[]; layerBytes?: number; shared?: Uint8Array } = {},
): { parts: Array<{ desc: Descriptor; data: Uint8Array }>; index: { desc: Descriptor; data: Uint8Array } } {
  const parts: Array<{ desc: Descriptor; data: Uint8Array }> = [];
  const manifests: Descriptor[] = [];
  const base = options.shared ? blob(options.shared, 'application/vnd.oci.image.layer.v1.tar') : undefined;
  if (base) parts.push(base);
  for (const platform of options.platforms ?? ['linux/amd64', 'linux/arm64']) {
    const [os, architecture] = platform.split('/') as [string, string];
    const data = new Uint8Array(options.layerBytes ?? 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + name.length * 13 + architecture.length) % 251;
    const layer = blob(data, 'application/vnd.oci.image.layer.v1.tar');
    const config = blob(
      JSON.stringify({
        architecture,
        os,
        rootfs: { type: 'layers', diff_ids: [] },
        config: { Labels: { name } },
      }),
      'application/vnd.oci.image.config.v1+json',
    );
    const man = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: config.desc,
        layers: [...(base ? [base.desc] : []), layer.desc],
      }),
      MediaType.OciManifest,
    );
    parts.push(layer, config, man);
    manifests.push({ ...man.desc, platform: { os, architecture } } as Descriptor);
  }
  const index = blob(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }),
    MediaType.OciIndex,
  );
  return { parts, index };
}
