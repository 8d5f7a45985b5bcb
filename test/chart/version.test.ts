import { describe, expect, it } from 'vitest';
import {
  chartVersionTags,
  compareVersions,
  isLenientSemver,
  isPrerelease,
  isStrictVersion,
  matchingVersions,
  normalizeVersion,
  ociTagForVersion,
  parseVersionConstraint,
  parseVersionRequest,
  requestMatches,
  satisfiesConstraint,
  versionForOciTag,
} from '../../src/chart/version.js';
import { expectThrowsCode } from '../helpers/expect-error.js';

describe('tags and versions', () => {
  it('maps + and _', () => {
    expect(ociTagForVersion('1.2.3+build.1')).toBe('1.2.3_build.1');
    expect(versionForOciTag('1.2.3_build.1')).toBe('1.2.3+build.1');
  });

  it('tells explicit versions from ranges, and strict tags', () => {
    expect(isLenientSemver('1')).toBe(true);
    expect(isLenientSemver('v1.2.3')).toBe(true);
    expect(isLenientSemver('1.2.3-01')).toBe(false);
    expect(isLenientSemver('^1.0.0')).toBe(false);
    expect(isLenientSemver('1.x')).toBe(false);
    expect(isStrictVersion('1.2.3-rc.1+b.2')).toBe(true);
    expect(isStrictVersion('v1.2.3')).toBe(false);
    expect(isStrictVersion('01.2.3')).toBe(false);
    expect(isStrictVersion('1.2')).toBe(false);
    expect(isStrictVersion('1.2.3-01')).toBe(false);
  });
});

describe('the version grammar (Masterminds NewVersion / StrictNewVersion)', () => {
  it('accepts one to three parts, a v, prerelease and build metadata leniently', () => {
    for (const v of ['1', '1.2', 'v1.2', '1.2.3-rc.1+b.2', '01.02.03', '1.0.0+01', '1.0.0-0a'])
      expect(isLenientSemver(v), v).toBe(true);
    for (const v of [
      '',
      '1.',
      '1..2',
      '1.2.3.4',
      '1.2.3-',
      '1.2.3+',
      '1.2.3-a..b',
      'V1.2.3',
      ' 1.2.3',
      '=1.2.3',
    ])
      expect(isLenientSemver(v), v).toBe(false);
  });

  it('bounds numeric parts by uint64, in the strict grammar too (the old strict regex did not)', () => {
    expect(isLenientSemver('18446744073709551615.0.0')).toBe(true);
    expect(isLenientSemver('18446744073709551616.0.0')).toBe(false);
    expect(isStrictVersion('18446744073709551615.0.0')).toBe(true);
    expect(isStrictVersion('18446744073709551616.0.0')).toBe(false);
  });

  it('keeps strict a subset of lenient: no v, three parts, no leading zeros', () => {
    expect(isStrictVersion('1.2.3')).toBe(true);
    expect(isStrictVersion('0.0.0-0')).toBe(true);
    expect(isStrictVersion('1.02.3')).toBe(false);
    expect(isStrictVersion('1.2.03')).toBe(false);
    expect(isStrictVersion('1.2.3-0a.b')).toBe(true);
  });

  it('normalizes like Masterminds NewVersion and drops build metadata', () => {
    expect(normalizeVersion('v1.2')).toBe('1.2.0');
    expect(normalizeVersion('01.2.3-rc.1')).toBe('1.2.3-rc.1');
    expect(normalizeVersion('1.2.3+build.7')).toBe('1.2.3');
    expect(normalizeVersion('^1.2')).toBeUndefined();
  });

  it('cannot order versions beyond Number.MAX_SAFE_INTEGER or 256 characters (Helm can)', () => {
    expect(normalizeVersion('9007199254740991.0.0')).toBe('9007199254740991.0.0');
    expect(normalizeVersion('9007199254740992.0.0')).toBeUndefined();
    expect(normalizeVersion(`1.0.0+${'b'.repeat(300)}`)).toBeUndefined();
    expect(isLenientSemver('9007199254740992.0.0')).toBe(true);
  });

  it('tells prereleases', () => {
    expect(isPrerelease('1.0.0-rc.1')).toBe(true);
    expect(isPrerelease('1.0.0+rc-1')).toBe(false);
    expect(isPrerelease('1.0.0')).toBe(false);
  });
});

describe('ordering', () => {
  it('orders by precedence, ignoring build metadata, unorderable versions first', () => {
    expect(compareVersions('1.0.0', '1.0.1')).toBeLessThan(0);
    expect(compareVersions('1.0.0-rc.1', '1.0.0')).toBeLessThan(0);
    expect(compareVersions('1.0.0-rc.2', '1.0.0-rc.10')).toBeLessThan(0);
    expect(compareVersions('v1.2', '1.2.0+b')).toBe(0);
    expect(compareVersions('not-a-version', '0.0.1')).toBeLessThan(0);
    expect(compareVersions('0.0.1', '99999999999999999999.0.0')).toBeGreaterThan(0);
    expect(compareVersions('x', 'y')).toBe(0);
  });
});

describe('constraints', () => {
  it('reads commas as AND and an empty constraint as any', () => {
    const c = parseVersionConstraint('>=1.0.0, <2.0.0');
    expect(satisfiesConstraint('1.9.9', c)).toBe(true);
    expect(satisfiesConstraint('2.0.0', c)).toBe(false);
    expect(satisfiesConstraint('0.0.1', parseVersionConstraint(''))).toBe(true);
    expect(satisfiesConstraint('0.0.1-rc.1', parseVersionConstraint(''))).toBe(false);
  });

  it('lets prereleases match only when the constraint names one or when asked', () => {
    expect(satisfiesConstraint('1.5.0-rc.1', parseVersionConstraint('^1.0.0'))).toBe(false);
    expect(satisfiesConstraint('1.5.0-rc.1', parseVersionConstraint('^1.0.0'), true)).toBe(true);
    expect(parseVersionConstraint('>=1.5.0-0').namesPrerelease).toBe(true);
    expect(satisfiesConstraint('1.5.0-rc.1', parseVersionConstraint('>=1.5.0-0'))).toBe(true);
    // node-semver's desugared `<2.0.0-0` does not count as naming one
    expect(parseVersionConstraint('^1.0.0').namesPrerelease).toBe(false);
    expect(parseVersionConstraint('1.x').namesPrerelease).toBe(false);
  });

  it('matches lenient versions through their normal form, never unorderable ones', () => {
    expect(satisfiesConstraint('v1.2', parseVersionConstraint('~1.2.0'))).toBe(true);
    expect(satisfiesConstraint('9007199254740992.0.0', parseVersionConstraint('*'))).toBe(false);
  });

  it('rejects a constraint that does not parse with INVALID_ARGUMENT', () => {
    const e = expectThrowsCode(() => parseVersionConstraint('>>1'), 'INVALID_ARGUMENT');
    expect(e.message).toBe('improper constraint: >>1');
  });

  it('lists matches newest first, equal precedence in input order (Helm takes the first)', () => {
    const items = ['1.0.0', '1.2.0+b', '2.0.0', 'v1.2', '1.1.0', 'junk'];
    expect(matchingVersions(items, (v) => v, parseVersionConstraint('^1'))).toEqual([
      '1.2.0+b',
      'v1.2',
      '1.1.0',
      '1.0.0',
    ]);
  });
});

describe('OCI chart tags', () => {
  it('keeps strict, orderable versions, `_` read as `+`, newest first, ties by tag descending', () => {
    const tags = [
      'latest',
      '1.0.0',
      'v1.1.0',
      '1.1',
      '1.1.0_a',
      '1.1.0_b',
      '1.1.0',
      '2.0.0-rc.1',
      'sha256-abc.sig',
      '99999999999999999999.0.0', // uint64 overflow: not a version for Helm either
      '9007199254740993.0.0', // Helm: a version; node-semver cannot order it (the old sort threw)
    ];
    expect(chartVersionTags(tags)).toEqual([
      { tag: '2.0.0-rc.1', version: '2.0.0-rc.1' },
      { tag: '1.1.0_b', version: '1.1.0+b' },
      { tag: '1.1.0_a', version: '1.1.0+a' },
      { tag: '1.1.0', version: '1.1.0' },
      { tag: '1.0.0', version: '1.0.0' },
    ]);
  });
});

describe('requests (mirror specs, air-gap imports)', () => {
  it('takes a Masterminds version as exact and anything else as a range', () => {
    expect(parseVersionRequest('1.2').kind).toBe('exact');
    expect(parseVersionRequest('^1.2').kind).toBe('range');
    expectThrowsCode(() => parseVersionRequest('not a range'), 'INVALID_ARGUMENT');
  });

  it('matches an exact version by its tag, a range by satisfaction', () => {
    expect(requestMatches(parseVersionRequest('1.0.0+b'), '1.0.0_b')).toBe(true);
    expect(requestMatches(parseVersionRequest('1.0.0+b'), '1.0.0+c')).toBe(false);
    expect(requestMatches(parseVersionRequest('1.0'), '1.0.0')).toBe(false);
    const range = parseVersionRequest('^1.0.0');
    expect(requestMatches(range, '1.4.0')).toBe(true);
    expect(requestMatches(range, '1.4.0-rc.1')).toBe(false);
    expect(requestMatches(range, '2.0.0')).toBe(false);
    // A classic chart's lenient version (`1.2`) matches as plan resolves it; the air-gap
    // import's own check (node-semver `valid`) refused it.
    expect(requestMatches(range, '1.2')).toBe(true);
  });
});
