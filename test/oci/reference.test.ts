import { describe, expect, it } from 'vitest';
import { ChartproofError } from '../../src/errors.js';
import { type Digest, digestOf } from '../../src/oci/digest.js';
import {
  apiHost,
  DOCKER_HUB,
  formatReference,
  isValidRepositoryName,
  isValidTag,
  normalizeRegistry,
  parseReference,
  parseRepository,
  pinReference,
  type Reference,
  referenceSelector,
} from '../../src/oci/reference.js';

const D = digestOf('hello');
const D512 = digestOf('hello', 'sha512');

function expectInvalid(input: string): ChartproofError {
  let caught: unknown;
  try {
    parseReference(input);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ChartproofError);
  expect(caught).toMatchObject({ code: 'INVALID_REFERENCE' });
  return caught as ChartproofError;
}

describe('parseReference', () => {
  describe('when the input is valid', () => {
    const good: Array<[string, { registry: string; repository: string; tag?: string; digest?: string }]> = [
      ['oci://ghcr.io/org/chart:1.2.3', { registry: 'ghcr.io', repository: 'org/chart', tag: '1.2.3' }],
      ['OCI://ghcr.io/org/chart', { registry: 'ghcr.io', repository: 'org/chart' }],
      ['localhost:5000/a/b:1.0', { registry: 'localhost:5000', repository: 'a/b', tag: '1.0' }],
      ['localhost/a', { registry: 'localhost', repository: 'a' }],
      ['127.0.0.1:5000/x', { registry: '127.0.0.1:5000', repository: 'x' }],
      ['[::1]:5000/x:y', { registry: '[::1]:5000', repository: 'x', tag: 'y' }],
      ['[::1]/x', { registry: '[::1]', repository: 'x' }],
      ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
      ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
      ['bitnami/redis', { registry: 'docker.io', repository: 'bitnami/redis' }],
      ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
      ['index.docker.io/x/y', { registry: 'docker.io', repository: 'x/y' }],
      ['registry-1.docker.io/x', { registry: 'docker.io', repository: 'library/x' }],
      ['GHCR.IO/org/chart', { registry: 'ghcr.io', repository: 'org/chart' }],
      ['  ghcr.io/org/chart:v1  ', { registry: 'ghcr.io', repository: 'org/chart', tag: 'v1' }],
      ['ghcr.io/a/b/c/d', { registry: 'ghcr.io', repository: 'a/b/c/d' }],
      ['ghcr.io/a__b/c-d/e.f/g---h', { registry: 'ghcr.io', repository: 'a__b/c-d/e.f/g---h' }],
      [
        'ghcr.io/a/b:Tag_With.Mixed-Case',
        { registry: 'ghcr.io', repository: 'a/b', tag: 'Tag_With.Mixed-Case' },
      ],
      ['ghcr.io/a/b:_x', { registry: 'ghcr.io', repository: 'a/b', tag: '_x' }],
      ['ghcr.io/a/b:1.0.0_build.5', { registry: 'ghcr.io', repository: 'a/b', tag: '1.0.0_build.5' }],
      [`ghcr.io/a/b@${D}`, { registry: 'ghcr.io', repository: 'a/b', digest: D }],
      [`ghcr.io/a/b@${D512}`, { registry: 'ghcr.io', repository: 'a/b', digest: D512 }],
      [`ghcr.io/a/b:1.0@${D}`, { registry: 'ghcr.io', repository: 'a/b', tag: '1.0', digest: D }],
      [`localhost:5000/a:1@${D}`, { registry: 'localhost:5000', repository: 'a', tag: '1', digest: D }],
      [`nginx@${D}`, { registry: 'docker.io', repository: 'library/nginx', digest: D }],
      [`ghcr.io/a/b:${'t'.repeat(128)}`, { registry: 'ghcr.io', repository: 'a/b', tag: 't'.repeat(128) }],
      [`ghcr.io/${'a'.repeat(247)}`, { registry: 'ghcr.io', repository: 'a'.repeat(247) }],
    ];
    it.each(good)('parses %s', (input, expected) => {
      const ref = parseReference(input);
      expect({ ...ref }).toEqual(expected);
      expect(Object.isFrozen(ref)).toBe(true);
    });

    it('omits tag and digest keys entirely when absent', () => {
      const ref = parseReference('ghcr.io/a/b');
      expect(Object.keys(ref).sort()).toEqual(['registry', 'repository']);
    });
  });

  describe('when a default registry is given', () => {
    const cases: Array<[string, string, string, string]> = [
      ['charts/app', 'registry.test', 'registry.test', 'charts/app'],
      ['app', 'registry.test', 'registry.test', 'app'],
      ['app', 'index.docker.io', 'docker.io', 'library/app'],
      ['ghcr.io/x/app', 'registry.test', 'ghcr.io', 'x/app'],
    ];
    it.each(cases)('parses %s with default %s', (input, defaultRegistry, registry, repository) => {
      expect(parseReference(input, { defaultRegistry })).toMatchObject({ registry, repository });
    });
  });

  describe('when the input is invalid', () => {
    const bad: Array<[string, string]> = [
      ['', 'empty'],
      ['   ', 'whitespace only'],
      ['https://ghcr.io/a/b', 'https scheme'],
      ['http://localhost:5000/a', 'http scheme'],
      ['docker://nginx', 'docker scheme'],
      ['ghcr.io/a/b:1.0.0+build', 'tag with +'],
      ['ghcr.io/a/b:1.0.0+1', 'semver build metadata'],
      [`ghcr.io/a/b:${'t'.repeat(129)}`, '129-char tag'],
      ['ghcr.io/a/b:', 'empty tag'],
      ['ghcr.io/a/b:.x', 'tag starting with a dot'],
      ['ghcr.io/a/b:-x', 'tag starting with a dash'],
      ['ghcr.io/Org/chart', 'uppercase repository'],
      ['Nginx', 'uppercase Docker Hub name'],
      ['ghcr.io/a//b', 'empty path component'],
      ['a//b', 'empty path component without registry'],
      ['a/-b', 'component starting with a separator'],
      ['a/b-', 'component ending with a separator'],
      ['ghcr.io/a..b', 'double dot'],
      ['ghcr.io/a___b', 'triple underscore'],
      ['ghcr.io/a._b', 'mixed separators'],
      ['ghcr.io/a/', 'trailing slash'],
      ['ghcr.io/', 'missing repository'],
      ['oci://', 'scheme only'],
      ['ghcr.io/a/b@sha256:abc', 'short digest'],
      ['ghcr.io/a/b@md5:d41d8cd98f00b204e9800998ecf8427e', 'unknown digest algorithm'],
      [`ghcr.io/a/b@${D.toUpperCase()}`, 'uppercase digest'],
      ['ghcr.io/a/b@', 'empty digest'],
      [`ghcr.io/a/b@${D}@${D}`, 'two digests'],
      ['my_host.io/a', 'underscore in host'],
      ['-bad.io/a', 'host label starting with a dash'],
      ['host.io:port/a', 'non-numeric port'],
      ['[zz::1]:5000/x', 'bad IPv6 literal'],
      [`ghcr.io/${'a'.repeat(248)}`, 'name longer than 255 characters'],
      [`${'a'.repeat(300)}`, 'Docker Hub name longer than 255 characters'],
      ['ghcr.io/a b', 'space in repository'],
    ];
    it.each(bad)('rejects %j (%s)', (input) => {
      expectInvalid(input);
    });

    it('keeps the original digest error as the cause', () => {
      const err = expectInvalid('ghcr.io/a/b@sha256:abc');
      expect(err.cause).toBeInstanceOf(ChartproofError);
      expect(err.cause).toMatchObject({ code: 'INVALID_DIGEST' });
    });

    it('truncates absurdly long inputs in the message', () => {
      const err = expectInvalid(`https://${'x'.repeat(10_000)}`);
      expect(err.message.length).toBeLessThan(500);
    });
  });
});

describe('parseRepository', () => {
  describe('when the input has no tag or digest', () => {
    it.each([
      ['oci://localhost:5000/charts/app', 'localhost:5000', 'charts/app'],
      ['nginx', 'docker.io', 'library/nginx'],
      ['[::1]:5000/x', '[::1]:5000', 'x'],
    ])('parses %s', (input, registry, repository) => {
      expect({ ...parseRepository(input) }).toEqual({ registry, repository });
    });
  });

  describe('when the input has a tag or digest', () => {
    it.each(['ghcr.io/a/b:1.0', `ghcr.io/a/b@${D}`, `ghcr.io/a/b:1@${D}`])('rejects %s', (input) => {
      expect(() => parseRepository(input)).toThrow(ChartproofError);
      expect(() => parseRepository(input)).toThrow(expect.objectContaining({ code: 'INVALID_REFERENCE' }));
    });
  });
});

describe('formatReference', () => {
  describe('when round-tripping through parseReference', () => {
    it.each([
      'ghcr.io/org/chart',
      'ghcr.io/org/chart:1.2.3',
      `ghcr.io/org/chart@${D}`,
      `ghcr.io/org/chart:1.2.3@${D}`,
      'localhost:5000/a/b:1.0',
      '[::1]:5000/x:y',
      'docker.io/library/nginx:latest',
    ])('%s is a fixed point', (canonical) => {
      const ref = parseReference(canonical);
      expect(formatReference(ref)).toBe(canonical);
      expect(parseReference(formatReference(ref))).toEqual(ref);
    });

    it.each([
      ['oci://ghcr.io/org/chart:1', 'ghcr.io/org/chart:1'],
      ['nginx', 'docker.io/library/nginx'],
      ['index.docker.io/x/y:2', 'docker.io/x/y:2'],
    ])('canonicalises %s to %s', (input, canonical) => {
      expect(formatReference(parseReference(input))).toBe(canonical);
    });
  });
});

describe('pinReference and referenceSelector', () => {
  describe('when pinning', () => {
    const pinned = digestOf('pinned') as Digest;
    it.each<[string, Reference]>([
      ['a tagged reference', parseReference('ghcr.io/a/b:1.0')],
      ['a bare reference', parseReference('ghcr.io/a/b')],
      ['an already pinned reference', parseReference(`ghcr.io/a/b:1.0@${D}`)],
    ])('pins %s and keeps its tag', (_name, ref) => {
      const out = pinReference(ref, pinned);
      expect(out.digest).toBe(pinned);
      expect(out.tag).toBe(ref.tag);
      expect(out.registry).toBe(ref.registry);
      expect(out.repository).toBe(ref.repository);
      expect(Object.isFrozen(out)).toBe(true);
      expect('tag' in out).toBe(ref.tag !== undefined);
      expect(parseReference(formatReference(out))).toEqual(out);
    });
  });

  describe('when selecting', () => {
    it.each<[string, string | undefined]>([
      ['ghcr.io/a/b:1.0', '1.0'],
      [`ghcr.io/a/b@${D}`, D],
      [`ghcr.io/a/b:1.0@${D}`, D],
      ['ghcr.io/a/b', undefined],
    ])('%s selects %s', (input, selector) => {
      expect(referenceSelector(parseReference(input))).toBe(selector);
    });
  });
});

describe('registry helpers', () => {
  describe('when normalising hosts', () => {
    it.each([
      ['index.docker.io', DOCKER_HUB],
      ['REGISTRY-1.DOCKER.IO', DOCKER_HUB],
      ['docker.io', DOCKER_HUB],
      ['GHCR.io', 'ghcr.io'],
      ['localhost:5000', 'localhost:5000'],
    ])('%s → %s', (host, expected) => {
      expect(normalizeRegistry(host)).toBe(expected);
    });

    it('maps Docker Hub to its API host and leaves others alone', () => {
      expect(apiHost(DOCKER_HUB)).toBe('registry-1.docker.io');
      expect(apiHost('ghcr.io')).toBe('ghcr.io');
    });
  });

  describe('when validating tags and names', () => {
    it.each<[string, boolean]>([
      ['latest', true],
      ['t'.repeat(128), true],
      ['t'.repeat(129), false],
      ['1.0+x', false],
      ['', false],
    ])('isValidTag(%j) is %s', (tag, ok) => {
      expect(isValidTag(tag)).toBe(ok);
    });

    it.each<[string, boolean]>([
      ['a/b', true],
      ['a'.repeat(255), true],
      ['a'.repeat(256), false],
      ['A/b', false],
      ['a//b', false],
    ])('isValidRepositoryName(%j) is %s', (name, ok) => {
      expect(isValidRepositoryName(name)).toBe(ok);
    });
  });
});
