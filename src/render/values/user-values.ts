/**
 * Helm's `values.Options.MergeValues` (pkg/cli/values/options.go, v4.1.4): the user
 * values of `helm template`/`install` built from `-f` files, then `--set-json`,
 * `--set`, `--set-string`, `--set-file`, `--set-literal` (in that fixed order,
 * whatever the order on the command line).
 */
import { ChartproofError } from '../../errors.js';
import { fail, isTable, newMap, type Values } from './go.js';
import { decodeJsonPrefix, parseSetInto, type SetFileReader, StrvalsError } from './strvals.js';
import { mergeMaps, parseValuesYaml, type ValuesYamlLimits } from './yaml.js';

/** A `-f/--values` file already read by the caller (chartproof does no I/O here). @public */
export interface ValuesFile {
  /** The name as given on the command line (used in error messages). */
  name: string;
  /** The file's content. */
  text: string;
}

/** Helm's `values.Options`. Each list keeps command-line order. @public */
export interface UserValuesOptions {
  /** `-f/--values` files, in order (later wins). */
  valueFiles?: readonly ValuesFile[];
  /** `--set-json` lines (`k=<json>` or a whole JSON object). */
  jsonValues?: readonly string[];
  /** `--set` lines. */
  values?: readonly string[];
  /** `--set-string` lines. */
  stringValues?: readonly string[];
  /** `--set-file` lines; each value is a path handed to {@link UserValuesOptions.readFile}. */
  fileValues?: readonly string[];
  /** `--set-literal` lines. */
  literalValues?: readonly string[];
  /**
   * Reads a `--set-file` path (Helm reads the file, `-` = stdin, or a URL through its
   * getters). Must return the content as a string; throw with Go's message to fail.
   * Required when `fileValues` is non-empty.
   */
  readFile?: SetFileReader;
  /** Bounds for parsing the `-f` files. */
  yamlLimits?: ValuesYamlLimits;
}

/**
 * Builds the user-supplied values exactly as Helm v4.1.4's `MergeValues`.
 *
 * @throws ChartproofError `VALUES_INVALID` with Helm's message, e.g.
 *   `failed to parse v.yaml: …`, `failed parsing --set data: key "a" has no value`,
 *   `failed parsing --set-json data x`.
 * @public
 */
export function mergeUserValues(opts: UserValuesOptions): Values {
  let base = newMap();
  for (const f of opts.valueFiles ?? []) {
    base = mergeMaps(base, parseValuesYaml(f.text, f.name, opts.yamlLimits));
  }
  for (const value of opts.jsonValues ?? []) {
    const trimmed = value.trim();
    if (trimmed.length > 0 && trimmed[0] === '{') {
      let parsed: unknown;
      try {
        const { value: v, consumed } = decodeJsonPrefix(trimmed);
        if (trimmed.slice(consumed).trim() !== '') throw new Error('trailing data');
        parsed = v;
      } catch (e) {
        fail('VALUES_INVALID', `failed parsing --set-json data JSON: ${value}`, e);
      }
      if (!isTable(parsed)) fail('VALUES_INVALID', `failed parsing --set-json data JSON: ${value}`);
      base = mergeMaps(base, parsed);
    } else {
      try {
        parseSetInto('set-json', value, base);
      } catch (e) {
        rethrowUnlessStrvals(e);
        fail('VALUES_INVALID', `failed parsing --set-json data ${value}`, e);
      }
    }
  }
  const lines: [readonly string[] | undefined, 'set' | 'set-string' | 'set-file' | 'set-literal', string][] =
    [
      [opts.values, 'set', '--set'],
      [opts.stringValues, 'set-string', '--set-string'],
      [opts.fileValues, 'set-file', '--set-file'],
      [opts.literalValues, 'set-literal', '--set-literal'],
    ];
  for (const [list, kind, flag] of lines) {
    for (const line of list ?? []) {
      try {
        parseSetInto(kind, line, base, opts.readFile);
      } catch (e) {
        rethrowUnlessStrvals(e);
        fail('VALUES_INVALID', `failed parsing ${flag} data: ${(e as Error).message}`, e);
      }
    }
  }
  return base;
}

function rethrowUnlessStrvals(e: unknown): void {
  if (e instanceof ChartproofError) throw e;
  if (!(e instanceof StrvalsError)) throw e;
}
