/**
 * The layers of src/, checked on the import graph (static `import`/`export … from` and
 * dynamic `import()`), so a change that reaches sideways or upwards fails here rather
 * than in review. docs/architecture.md draws the same picture.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');

/**
 * Each area of src/ and its rank: an area may import areas of a lower rank and
 * itself, never a higher or equal-rank other area (except where ALLOWED says so).
 */
const RANK: Record<string, number> = {
  errors: 0,
  version: 0,
  internal: 1,
  fs: 1,
  oci: 2,
  keys: 2,
  chart: 3,
  cosign: 4,
  lock: 4,
  render: 4,
  verify: 5,
  sign: 5,
  workloads: 5,
  mirror: 6,
  policy: 6,
  index: 7,
  cli: 8,
  testing: 8,
};

/** Same-rank or upward imports that are part of the design. */
const ALLOWED = new Set<string>([]);

function areaOf(file: string): string {
  const rel = relative(SRC, file).split(/[\\/]/);
  return rel.length > 1 ? (rel[0] as string) : (rel[0] as string).replace(/\.ts$/, '');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gm;

interface Edge {
  from: string;
  to: string;
  specifier: string;
}

function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const edges: Edge[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const specifier = (m[1] ?? m[2] ?? m[3]) as string;
    if (!specifier.startsWith('.')) {
      edges.push({ from: file, to: specifier, specifier });
      continue;
    }
    edges.push({
      from: file,
      to: normalize(join(dirname(file), specifier)).replace(/\.js$/, '.ts'),
      specifier,
    });
  }
  return edges;
}

const FILES = sourceFiles(SRC);
const EDGES = FILES.flatMap(importsOf);
const LOCAL = EDGES.filter((e) => e.specifier.startsWith('.'));

function closure(start: (f: string) => boolean): Set<string> {
  const seen = new Set<string>();
  const stack = FILES.filter(start);
  while (stack.length > 0) {
    const f = stack.pop() as string;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const e of LOCAL) if (e.from === f && !seen.has(e.to)) stack.push(e.to);
  }
  return seen;
}

const show = (e: Edge) => `${relative(SRC, e.from)} imports ${e.specifier}`;

describe('layering of src/', () => {
  it('sees the whole tree (the parser finds imports)', () => {
    expect(FILES.length).toBeGreaterThan(100);
    expect(LOCAL.length).toBeGreaterThan(500);
    for (const f of FILES) expect(Object.hasOwn(RANK, areaOf(f)), `unranked area ${areaOf(f)}`).toBe(true);
  });

  it('imports only lower layers (or the same area)', () => {
    const bad = LOCAL.filter((e) => {
      const a = areaOf(e.from);
      const b = areaOf(e.to);
      if (a === b || ALLOWED.has(`${a} -> ${b}`)) return false;
      return (RANK[b] as number) >= (RANK[a] as number);
    });
    expect(bad.map(show)).toEqual([]);
  });

  it('verification never reaches signing code, not even transitively', () => {
    const reached = closure((f) => areaOf(f) === 'verify');
    expect([...reached].filter((f) => areaOf(f) === 'sign').map((f) => relative(SRC, f))).toEqual([]);
    const packages = EDGES.filter((e) => reached.has(e.from) && !e.specifier.startsWith('.')).map(
      (e) => e.to,
    );
    expect(packages).not.toContain('@sigstore/sign');
    expect(packages).toContain('@sigstore/verify');
  });

  it('key files and cosign formats need no registry client and no signing', () => {
    const keys = closure((f) => areaOf(f) === 'keys');
    expect([...keys].filter((f) => areaOf(f) === 'oci').map((f) => relative(SRC, f))).toEqual([]);
    const cosign = closure((f) => areaOf(f) === 'cosign');
    expect(
      [...cosign].filter((f) => ['sign', 'verify', 'keys'].includes(areaOf(f))).map((f) => relative(SRC, f)),
    ).toEqual([]);
  });

  it('the OCI layer knows nothing of charts', () => {
    const oci = closure((f) => areaOf(f) === 'oci');
    expect([...oci].filter((f) => areaOf(f) === 'chart').map((f) => relative(SRC, f))).toEqual([]);
  });

  it('nothing in src/ imports src/testing or src/cli (except themselves)', () => {
    const bad = LOCAL.filter(
      (e) =>
        (areaOf(e.to) === 'testing' && areaOf(e.from) !== 'testing') ||
        (areaOf(e.to) === 'cli' && areaOf(e.from) !== 'cli'),
    );
    expect(bad.map(show)).toEqual([]);
  });

  it('no entry point re-exports src/internal', () => {
    const entries = FILES.filter((f) => /[\\/]index\.ts$/.test(f) && areaOf(f) !== 'internal');
    const bad = LOCAL.filter(
      (e) =>
        entries.includes(e.from) &&
        areaOf(e.to) === 'internal' &&
        /^\s*export\b/m.test(readFileSync(e.from, 'utf8')),
    ).filter((e) =>
      new RegExp(`export[^;]*from\\s*['"]${e.specifier.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]`).test(
        readFileSync(e.from, 'utf8'),
      ),
    );
    expect(bad.map(show)).toEqual([]);
  });
});
