/**
 * Every container image a rendered chart deploys ({@link listImages}): containers,
 * init containers and ephemeral containers of the built-in workload kinds, pod
 * templates and image fields of common CRDs (docs/images.md), normalised the way
 * Docker and the kubelet read them.
 */
import { ChartproofError, redact } from '../errors.js';
import { formatReference, parseReference } from '../oci/reference.js';
import type { ParsedManifest } from '../render/parse.js';
import { findingAt, printable, type WorkloadFinding } from './finding.js';
import {
  type ContainerKind,
  containersOf,
  crdImageFieldsOf,
  objectsOf,
  podSpecsOf,
  type WorkloadObject,
} from './pods.js';

/** An image reference, fully qualified. @public */
export interface NormalizedImage {
  /** `registry/repository[:tag][@digest]`, with Docker Hub's `docker.io/library/` and `:latest` filled in. */
  normalized: string;
  registry: string;
  repository: string;
  /** The tag (`latest` when neither tag nor digest is written). */
  tag?: string;
  digest?: string;
  /** True when the reference has a digest (the image cannot change under it). */
  pinned: boolean;
}

/**
 * Normalises an image reference as Docker (`reference.ParseNormalizedNamed` +
 * `TagNameOnly`) and the kubelet do: `nginx` → `docker.io/library/nginx:latest`,
 * `ghcr.io/x/y` → `ghcr.io/x/y:latest`, `name@sha256:…` keeps only the digest,
 * `name:tag@sha256:…` keeps both. The registry is lower-cased and
 * `index.docker.io`/`registry-1.docker.io` become `docker.io`.
 *
 * Errors ({@link ChartproofError}): `INVALID_REFERENCE` for an empty reference, one with
 * surrounding whitespace (Kubernetes rejects those), a URL scheme, upper-case
 * repository, bad tag, or a digest other than a well-formed sha256/sha512.
 * @public
 */
export function normalizeImage(image: string): NormalizedImage {
  const fail = (why: string): never => {
    throw new ChartproofError(
      'INVALID_REFERENCE',
      `invalid image reference ${JSON.stringify(image.slice(0, 300))}: ${why}`,
    );
  };
  if (image === '') fail('empty');
  if (image.trim() !== image) fail('leading or trailing whitespace');
  if (image.length > 4096) fail('too long');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(image)) fail('image references have no URL scheme');
  const ref = parseReference(image);
  const tag = ref.tag ?? (ref.digest === undefined ? 'latest' : undefined);
  const full = { registry: ref.registry, repository: ref.repository, ...(tag !== undefined ? { tag } : {}) };
  const out: NormalizedImage = {
    normalized: formatReference(ref.digest !== undefined ? { ...full, digest: ref.digest } : full),
    registry: ref.registry,
    repository: ref.repository,
    pinned: ref.digest !== undefined,
  };
  if (tag !== undefined) out.tag = tag;
  if (ref.digest !== undefined) out.digest = ref.digest;
  return out;
}

/** Where an image is used. @public */
export interface ImageUse {
  /** `# Source:` path of the document. */
  source?: string;
  /** Index of the document in the parsed stream. */
  index: number;
  apiVersion?: string;
  kind: string;
  name?: string;
  namespace?: string;
  /** Container (or step / template) name, when it has one. */
  container?: string;
  containerKind: ContainerKind;
  /** Field path of the image in the object (`spec.template.spec.initContainers[0].image`). */
  field: string;
}

/** One use of a container image, with its reference as written and normalised. @public */
export interface ContainerImage extends ImageUse, NormalizedImage {
  /** The reference as written in the manifest. */
  image: string;
}

/** The result of {@link listImages}. @public */
export interface ImageInventory {
  /** Every valid image use, in document order. */
  images: ContainerImage[];
  /** `image-invalid` findings: missing, empty, non-string or unparsable references. */
  findings: WorkloadFinding[];
}

/** Options of {@link listImages}. @public */
export interface ListImagesOptions {
  /** Chart label for findings (`app-1.0.0`); default ``. */
  chart?: string;
}

interface RawUse {
  o: WorkloadObject;
  image: unknown;
  containerKind: ContainerKind;
  field: string;
  container?: string;
  /** A missing image is an error (pod containers) or a patch (CRD container overrides). */
  required: boolean;
}

function prefixed(o: WorkloadObject, path: string): string {
  return o.at ? `${o.at}.${path}` : path;
}

function rawUses(o: WorkloadObject): RawUse[] {
  const out: RawUse[] = [];
  for (const pod of podSpecsOf(o)) {
    for (const c of containersOf(pod)) {
      const use: RawUse = {
        o,
        image: c.container.image,
        containerKind: c.containerKind,
        field: prefixed(o, `${c.path}.image`),
        required: true,
      };
      if (typeof c.container.name === 'string') use.container = c.container.name;
      out.push(use);
    }
  }
  for (const f of crdImageFieldsOf(o)) {
    const use: RawUse = {
      o,
      image: f.image,
      containerKind: f.containerKind,
      field: prefixed(o, f.path),
      required: false,
    };
    if (f.container !== undefined) use.container = f.container;
    out.push(use);
  }
  return out;
}

/**
 * Lists every container image of rendered manifests (see docs/images.md for the kinds
 * and CRD fields covered). Invalid references (missing or empty `image` of a pod
 * container, a non-string, an unparsable reference) become `image-invalid` findings at
 * `high` severity — an image that cannot be parsed cannot be checked — never
 * exceptions.
 * @public
 */
export function listImages(
  manifests: readonly ParsedManifest[],
  options: ListImagesOptions = {},
): ImageInventory {
  const chart = options.chart ?? '';
  const images: ContainerImage[] = [];
  const findings: WorkloadFinding[] = [];
  for (const o of objectsOf(manifests)) {
    for (const u of rawUses(o)) {
      const where: ImageUse = {
        index: o.manifest.index,
        kind: o.kind,
        containerKind: u.containerKind,
        field: u.field,
      };
      if (o.manifest.source !== undefined) where.source = o.manifest.source;
      if (o.apiVersion !== undefined) where.apiVersion = o.apiVersion;
      if (o.name !== undefined) where.name = o.name;
      if (o.namespace !== undefined) where.namespace = o.namespace;
      if (u.container !== undefined) where.container = u.container;
      const invalid = (why: string) => {
        const f = findingAt(
          o,
          {
            rule: 'image-invalid',
            severity: 'high',
            message: printable(`${u.containerKind} ${u.container ?? ''} of ${o.kind} ${o.name ?? ''}: ${why}`)
              .replace(/\s+/g, ' ')
              .trim(),
            field: u.field,
            containerKind: u.containerKind,
            // Redacted: a reference typed with `user:password@` must not reach reports.
            detail: { image: typeof u.image === 'string' ? redact(printable(u.image.slice(0, 300))) : null },
          },
          chart,
        );
        if (u.container !== undefined) f.container = u.container;
        findings.push(f);
      };
      if (u.image === undefined || u.image === null) {
        if (u.required) invalid('no image');
        continue;
      }
      if (typeof u.image !== 'string') {
        invalid(`image is a ${Array.isArray(u.image) ? 'list' : typeof u.image}, not a string`);
        continue;
      }
      try {
        images.push({ ...where, image: u.image, ...normalizeImage(u.image) });
      } catch (err) {
        if (!(err instanceof ChartproofError)) throw err;
        invalid(err.message);
      }
    }
  }
  return { images, findings };
}

/**
 * The text output of `chartproof images`: one normalised reference per line, sorted
 * (code-unit order) and deduplicated, with a final newline (empty string when there are
 * no images).
 * @public
 */
export function formatImageList(images: readonly Pick<ContainerImage, 'normalized'>[]): string {
  const unique = [...new Set(images.map((i) => i.normalized))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return unique.length === 0 ? '' : `${unique.join('\n')}\n`;
}
