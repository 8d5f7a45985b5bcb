import { ChartproofError } from '../errors.js';
import { type Digest, parseDigest } from './digest.js';

/** Docker Hub's canonical registry name. @public */
export const DOCKER_HUB = 'docker.io';

// distribution-spec v1.1.1 name and tag grammars.
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
// host: DNS labels or IPv4, or a bracketed IPv6 literal; optional port.
const HOST_RE =
  /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;
const MAX_NAME_LENGTH = 255;

/**
 * A parsed, validated artifact reference:
 * `registry/repository[:tag][@digest]`.
 * @public
 */
export interface Reference {
  /** Registry host with optional port, e.g. `ghcr.io`, `localhost:5000`, `docker.io`. */
  readonly registry: string;
  /** Repository path within the registry, e.g. `charts/podinfo`. */
  readonly repository: string;
  /** Tag, if the reference names one. */
  readonly tag?: string;
  /** Digest, if the reference names one. A digest wins over a tag when resolving. */
  readonly digest?: Digest;
}

/** Options of {@link parseReference}. @public */
export interface ParseReferenceOptions {
  /**
   * Registry to assume when the first path component is not a host. Default:
   * `docker.io`, with Docker Hub's `library/` prefix for single-component names.
   */
  defaultRegistry?: string;
}

/**
 * Parses `[oci://]registry/namespace/name[:tag][@digest]`.
 *
 * The first component is a registry when it contains a `.` or `:` or is
 * `localhost`; otherwise Docker Hub is assumed. `index.docker.io` and
 * `registry-1.docker.io` normalise to `docker.io`.
 * @throws ChartproofError `INVALID_REFERENCE`, `INVALID_DIGEST`
 * @public
 */
export function parseReference(input: string, options: ParseReferenceOptions = {}): Reference {
  const fail = (why: string): never => {
    throw new ChartproofError(
      'INVALID_REFERENCE',
      `invalid reference ${JSON.stringify(input.slice(0, 300))}: ${why}`,
    );
  };
  let rest = input.trim();
  if (rest.length === 0) fail('empty');
  assertNoCredentials(rest);
  if (/^oci:\/\//i.test(rest)) rest = rest.slice(6);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) fail('only the oci:// scheme is accepted');

  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    try {
      parseDigest(d);
    } catch (e) {
      // Only the text after `@` is shown: whatever precedes it is not echoed.
      throw new ChartproofError(
        'INVALID_REFERENCE',
        `invalid reference: bad digest ${JSON.stringify(d.slice(0, 200))} after "@"`,
        { cause: e },
      );
    }
    digest = d as Digest;
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) fail(`invalid tag ${JSON.stringify(tag.slice(0, 200))}`);
  }

  let registry: string;
  let repository: string;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (
    slash >= 0 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))
  ) {
    registry = first;
    repository = rest.slice(slash + 1);
    if (!HOST_RE.test(registry)) fail(`invalid registry host ${JSON.stringify(registry)}`);
    const port = /:(\d+)$/.exec(registry);
    if (port && (Number(port[1]) < 1 || Number(port[1]) > 65535))
      fail(`invalid port in ${JSON.stringify(registry)}`);
  } else {
    registry = options.defaultRegistry ?? DOCKER_HUB;
    repository = rest;
  }
  registry = normalizeRegistry(registry);
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (repository.length === 0) fail('missing repository');
  if (!NAME_RE.test(repository)) fail(`invalid repository name ${JSON.stringify(repository.slice(0, 200))}`);
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH)
    fail(`name longer than ${MAX_NAME_LENGTH} characters`);

  const ref: { registry: string; repository: string; tag?: string; digest?: Digest } = {
    registry,
    repository,
  };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return Object.freeze(ref);
}

/**
 * Refuses a reference or registry URL that carries userinfo (`user:password@host/…`,
 * with or without a scheme). The message never repeats the input, so a password typed
 * into a reference cannot reach an error, a log line or `--json` output.
 * @throws ChartproofError `INVALID_REFERENCE`
 * @public
 */
export function assertNoCredentials(input: string): void {
  const rest = input.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const at = rest.indexOf('@');
  if (at < 0) return;
  const after = rest.slice(at + 1);
  // A reference has at most one `@`, followed by a digest (no `/`); anything else
  // puts the `@` in the authority, i.e. userinfo.
  if (after.includes('@') || after.includes('/') || !rest.slice(0, at).includes('/')) {
    if (!after.includes('/') && !after.includes('@') && /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:/.test(after)) {
      // `name@sha256:…` on Docker Hub: a digest, not userinfo.
      return;
    }
    throw new ChartproofError(
      'INVALID_REFERENCE',
      'references must not contain credentials (user:password@); use chartproof login or --registry-config',
    );
  }
}

/**
 * Parses a repository reference (no tag or digest allowed), e.g.
 * `oci://localhost:5000/charts/app`.
 * @public
 */
export function parseRepository(input: string, options: ParseReferenceOptions = {}): Reference {
  const ref = parseReference(input, options);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new ChartproofError(
      'INVALID_REFERENCE',
      `expected a repository without tag or digest: ${JSON.stringify(input)}`,
    );
  }
  return ref;
}

/** Canonical registry name: lower case, Docker Hub aliases folded. @public */
export function normalizeRegistry(host: string): string {
  const h = host.toLowerCase();
  if (h === 'index.docker.io' || h === 'registry-1.docker.io') return DOCKER_HUB;
  return h;
}

/** The host that serves the registry API (`registry-1.docker.io` for Docker Hub). @public */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}

/** True when `tag` is a valid OCI tag. @public */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** True when `name` is a valid OCI repository name. @public */
export function isValidRepositoryName(name: string): boolean {
  return NAME_RE.test(name) && name.length <= MAX_NAME_LENGTH;
}

/** `registry/repository[:tag][@digest]`. @public */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The tag or digest a reference resolves with (digest first). @public */
export function referenceSelector(ref: Reference): string | undefined {
  return ref.digest ?? ref.tag;
}

/** A copy of `ref` pinned to `digest` (tag kept for readability). @public */
export function pinReference(ref: Reference, digest: Digest): Reference {
  const out: { registry: string; repository: string; tag?: string; digest: Digest } = {
    registry: ref.registry,
    repository: ref.repository,
    digest,
  };
  if (ref.tag !== undefined) out.tag = ref.tag;
  return Object.freeze(out);
}
