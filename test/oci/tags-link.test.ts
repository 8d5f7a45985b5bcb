import { describe, expect, it } from 'vitest';
import { ChartproofError } from '../../src/errors.js';
import { nextLink } from '../../src/oci/tags.js';

const BASE = 'https://r.io/v2/org/chart/tags/list?n=2';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('nextLink', () => {
  describe('when the header has a next link', () => {
    const cases: Array<[string, string, string]> = [
      [
        'a relative path',
        '</v2/org/chart/tags/list?last=b&n=2>; rel="next"',
        'https://r.io/v2/org/chart/tags/list?last=b&n=2',
      ],
      [
        'a query-only reference',
        '<?last=b&n=2>; rel="next"',
        'https://r.io/v2/org/chart/tags/list?last=b&n=2',
      ],
      [
        'an absolute same-origin URL',
        '<https://r.io/v2/org/chart/tags/list?last=b>; rel="next"',
        'https://r.io/v2/org/chart/tags/list?last=b',
      ],
      [
        'an unquoted rel',
        '</v2/org/chart/tags/list?last=b>; rel=next',
        'https://r.io/v2/org/chart/tags/list?last=b',
      ],
      ['upper-case NEXT', '</v2/x?last=b>; rel="NEXT"', 'https://r.io/v2/x?last=b'],
      ['spaces around =', '</v2/x?last=b> ; rel = "next"', 'https://r.io/v2/x?last=b'],
      ['several relation types', '</v2/x?last=b>; rel="prev next"', 'https://r.io/v2/x?last=b'],
      ['next listed first', '</v2/x?last=b>; rel="next last"', 'https://r.io/v2/x?last=b'],
      [
        'other parameters before rel',
        '</v2/x?last=b>; type="application/json"; rel="next"',
        'https://r.io/v2/x?last=b',
      ],
      [
        'prev then next',
        '</v2/x?last=a>; rel="prev", </v2/x?last=c>; rel="next"',
        'https://r.io/v2/x?last=c',
      ],
      [
        'next then prev',
        '</v2/x?last=c>; rel="next", </v2/x?last=a>; rel="prev"',
        'https://r.io/v2/x?last=c',
      ],
      [
        'first, next and last',
        '</v2/x>; rel="first",</v2/x?last=c>; rel="next",</v2/x?last=z>; rel="last"',
        'https://r.io/v2/x?last=c',
      ],
      ['a comma inside the URL', '</v2/x?last=a,b&n=2>; rel="next"', 'https://r.io/v2/x?last=a,b&n=2'],
      [
        'no rel at all (treated as next)',
        '</v2/org/chart/tags/list?last=b>',
        'https://r.io/v2/org/chart/tags/list?last=b',
      ],
      ['an explicit default port', '<https://r.io:443/v2/x?last=b>; rel="next"', 'https://r.io/v2/x?last=b'],
    ];
    it.each(cases)('follows %s', (_name, header, expected) => {
      expect(nextLink(header, BASE)).toBe(expected);
    });

    it('resolves against a base with a port', () => {
      expect(nextLink('</v2/x?last=b>; rel="next"', 'http://localhost:5000/v2/x')).toBe(
        'http://localhost:5000/v2/x?last=b',
      );
    });
  });

  describe('when the header has no next link', () => {
    const cases: Array<[string, string | null]> = [
      ['a null header', null],
      ['an empty header', ''],
      ['rel="prev" only', '</v2/x?last=a>; rel="prev"'],
      ['rel="first" and rel="last"', '</v2/x>; rel="first", </v2/x?last=z>; rel="last"'],
      ['no angle brackets', 'https://r.io/v2/x?last=b; rel="next"'],
      ['garbage', ';;;,,,'],
      [
        'an upper-case REL="prev" (parameter names are case-insensitive, RFC 8288)',
        '</v2/x?last=a>; REL="prev"',
      ],
      ['a different relation type that starts with next', '</v2/x?last=a>; rel="nextpage"'],
    ];
    it.each(cases)('returns undefined for %s', (_name, header) => {
      expect(nextLink(header, BASE)).toBeUndefined();
    });
  });

  describe('when the next link leaves the origin', () => {
    const cases: Array<[string, string]> = [
      ['another host', '<https://evil.example/v2/x?last=b>; rel="next"'],
      ['a protocol-relative URL to another host', '<//evil.example/v2/x>; rel="next"'],
      ['another port', '<https://r.io:8443/v2/x?last=b>; rel="next"'],
      ['a scheme downgrade', '<http://r.io/v2/x?last=b>; rel="next"'],
      ['a subdomain', '<https://a.r.io/v2/x?last=b>; rel="next"'],
      ['another host without rel', '<https://evil.example/v2/x>'],
    ];
    it.each(cases)('throws PROTOCOL for %s', (_name, header) => {
      const err = thrown(() => nextLink(header, BASE));
      expect(err).toBeInstanceOf(ChartproofError);
      expect(err).toMatchObject({ code: 'PROTOCOL' });
      expect((err as Error).message).toContain('another origin');
    });

    it('ignores a foreign prev link when a same-origin next follows', () => {
      expect(nextLink('<https://evil.example/p>; rel="prev", </v2/x?last=c>; rel="next"', BASE)).toBe(
        'https://r.io/v2/x?last=c',
      );
    });
  });
});
