/** The manifest annotations `helm push` writes for a chart. */
import { goTrimSpace, sanitizeHelmString, sanitizeOptional as san } from './sanitize.js';
import type { ChartMetadata } from './types.js';

/** OCI annotation keys Helm sets on chart manifests. @public */
export const OciAnnotation = {
  Description: 'org.opencontainers.image.description',
  Title: 'org.opencontainers.image.title',
  Version: 'org.opencontainers.image.version',
  Url: 'org.opencontainers.image.url',
  Created: 'org.opencontainers.image.created',
  Source: 'org.opencontainers.image.source',
  Authors: 'org.opencontainers.image.authors',
} as const;

const IMMUTABLE_ANNOTATIONS: readonly string[] = [OciAnnotation.Version, OciAnnotation.Title];

/**
 * The manifest annotations `helm push` writes for a chart. A computed annotation is
 * set only when its value is not blank; then every chart annotation is copied over
 * them, except `org.opencontainers.image.title` and `.version`.
 * @public
 */
export function helmAnnotations(meta: ChartMetadata, creationTime: string): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (key: string, value: string | undefined) => {
    if (value !== undefined && goTrimSpace(value) !== '') out[key] = value;
  };
  add(OciAnnotation.Description, san(meta.description));
  add(OciAnnotation.Title, san(meta.name));
  add(OciAnnotation.Version, meta.version);
  add(OciAnnotation.Url, san(meta.home));
  add(OciAnnotation.Created, creationTime);
  add(OciAnnotation.Source, meta.sources?.length ? sanitizeHelmString(meta.sources[0] ?? '') : undefined);
  if (meta.maintainers?.length) {
    const authors = meta.maintainers.map((m) => {
      const name = san(m?.name) ?? '';
      const email = san(m?.email) ?? '';
      return email !== '' ? `${name} (${email})` : name;
    });
    add(OciAnnotation.Authors, authors.join(', '));
  }
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    if (IMMUTABLE_ANNOTATIONS.includes(k)) continue;
    out[k] = v;
  }
  return out;
}
