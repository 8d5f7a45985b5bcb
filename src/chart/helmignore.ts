/**
 * `.helmignore` rules with the semantics of Helm's `pkg/ignore` (an independent
 * implementation of the documented behaviour).
 */

import { ChartproofError } from '../errors.js';
import { goTrimSpace } from './sanitize.js';

/**
 * Parsed `.helmignore` rules.
 * @public
 */
export interface HelmIgnore {
  /** The rules' source patterns, in order (after trimming; comments and blanks removed). */
  readonly patterns: readonly string[];
  /**
   * True when `path` (relative to the chart root, `/` separators, no trailing slash)
   * is ignored. `isDir` says whether the path is a directory; an ignored directory is
   * pruned with everything below it.
   */
  ignore(path: string, isDir: boolean): boolean;
}

interface Rule {
  raw: string;
  negate: boolean;
  mustDir: boolean;
  /** Match the whole relative path (pattern contains `/`) instead of the basename. */
  full: boolean;
  /** Pattern had a leading `/`: matched against `/` + path. */
  rooted: boolean;
  re: RegExp;
}

function badPattern(rule: string): never {
  throw new ChartproofError(
    'CHART_INVALID',
    `invalid .helmignore pattern ${JSON.stringify(rule)}: syntax error in pattern`,
  );
}

/** Escapes a literal character outside a character class (`u` mode rules). */
function escapeRe(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch;
}

/** Escapes a literal character inside a character class (`u` mode rules). */
function escapeClass(ch: string): string {
  return /[\\\][^-]/.test(ch) ? `\\${ch}` : ch;
}

/**
 * Compiles a Go `filepath.Match` pattern (Unix separator `/`) into an anchored
 * regular expression. `*` and `?` never match `/`; `[...]` classes (with `^`
 * negation, ranges and `\` escapes) must be non-empty and closed; a trailing `\`
 * is an error.
 * @internal
 */
export function compileGoGlob(pattern: string): RegExp {
  const chars = [...pattern];
  let re = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      i++;
      if (i >= chars.length) badPattern(pattern);
      re += escapeRe(chars[i]!);
    } else if (c === '[') {
      i++;
      let negated = false;
      if (chars[i] === '^') {
        negated = true;
        i++;
      }
      let body = '';
      let count = 0;
      for (;;) {
        if (i >= chars.length) badPattern(pattern);
        if (chars[i] === ']' && count > 0) break;
        let lo = chars[i]!;
        if (lo === '\\') {
          i++;
          if (i >= chars.length) badPattern(pattern);
          lo = chars[i]!;
        } else if (lo === '-' || lo === ']') badPattern(pattern);
        i++;
        let hi = lo;
        if (chars[i] === '-') {
          i++;
          if (i >= chars.length) badPattern(pattern);
          hi = chars[i]!;
          if (hi === '\\') {
            i++;
            if (i >= chars.length) badPattern(pattern);
            hi = chars[i]!;
          } else if (hi === '-' || hi === ']') badPattern(pattern);
          i++;
          if (hi.codePointAt(0)! < lo.codePointAt(0)!) badPattern(pattern);
        }
        body += lo === hi ? escapeClass(lo) : `${escapeClass(lo)}-${escapeClass(hi)}`;
        count++;
      }
      re += `[${negated ? '^' : ''}${body}]`;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 'su');
}

function basename(p: string): string {
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return p === '' ? '.' : '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

function parseRule(line: string): Rule {
  if (line.includes('**')) {
    throw new ChartproofError('CHART_INVALID', 'double-star (**) syntax is not supported');
  }
  let p = line;
  const negate = p.startsWith('!') && p.length > 1;
  if (negate) p = p.slice(1);
  const mustDir = p.endsWith('/');
  if (mustDir) p = p.slice(0, -1);
  const rooted = p.startsWith('/');
  const re = compileGoGlob(p);
  compileGoGlob(line); // Helm validates the whole rule text with filepath.Match(rule, "abc")
  return { raw: line, negate, mustDir, full: p.includes('/'), rooted, re };
}

function matches(rule: Rule, path: string): boolean {
  if (rule.rooted) return rule.re.test(`/${path}`);
  if (rule.full) return rule.re.test(path);
  return rule.re.test(basename(path));
}

/**
 * Parses `.helmignore` text like Helm's `pkg/ignore`: a leading BOM is dropped, lines
 * are trimmed, blank and `#` lines skipped; `**` is rejected
 * (`double-star (**) syntax is not supported`) and malformed globs fail.
 *
 * Matching semantics (first decisive rule wins, in file order):
 * - a trailing `/` restricts a rule to directories;
 * - a leading `/` anchors the pattern at the chart root;
 * - a pattern containing `/` is matched (Go `filepath.Match`) against the whole
 *   relative path, otherwise against the basename only;
 * - `!p` quirk kept from Helm: a path that does **not** match `p` (or a non-directory
 *   for `!p/`) is reported as ignored; a matching path falls through to the next rule;
 * - `.`, `./` and the empty path are never ignored.
 *
 * Errors: {@link ChartproofError} `CHART_INVALID`.
 * @public
 */
export function parseHelmIgnore(text: string): HelmIgnore {
  const rules: Rule[] = [];
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  for (const rawLine of source.split('\n')) {
    const line = goTrimSpace(rawLine);
    if (line === '' || line.startsWith('#')) continue;
    rules.push(parseRule(line));
  }
  return ruleSet(rules);
}

function ruleSet(rules: Rule[]): HelmIgnore {
  return {
    patterns: rules.map((r) => r.raw),
    ignore(path: string, isDir: boolean): boolean {
      if (path === '' || path === '.' || path === './') return false;
      for (const rule of rules) {
        if (rule.negate) {
          if (rule.mustDir && !isDir) return true;
          if (!matches(rule, path)) return true;
          continue;
        }
        if (rule.mustDir && !isDir) continue;
        if (matches(rule, path)) return true;
      }
      return false;
    },
  };
}

/**
 * Returns rules with `extra` patterns appended after the existing ones (Helm adds
 * `templates/.?*` after the user's rules when loading a directory).
 * @internal
 */
export function withExtraRules(base: HelmIgnore, extra: string): HelmIgnore {
  return parseHelmIgnore(`${base.patterns.join('\n')}\n${extra}\n`);
}
