/**
 * `helm template --output-dir DIR`: one file per template (`DIR/<chart>/templates/x.yaml`),
 * each document written as `---\n# Source: <path>\n<content>\n`, documents of one
 * template appended in order. As Helm v4.1.4: CRDs go under DIR even with
 * `--release-name`; manifests and hooks under DIR/<release> with it; a hook whose file
 * already exists (from a manifest of the same template, or left by an earlier run) is
 * appended to. Unlike Helm, each file is written whole and atomically.
 */
import { readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { ChartproofError } from '../errors.js';
import { writeFileAtomic } from '../fs.js';
import type { RenderResult } from './render.js';

/** Options of {@link writeRenderOutputDir}. @public */
export interface OutputDirOptions {
  /** `--release-name`: write manifests and hooks under `DIR/<release>`. */
  releaseName?: string | undefined;
  includeCrds?: boolean;
  noHooks?: boolean;
  skipTests?: boolean;
}

function doc(path: string, content: string): string {
  return `---\n# Source: ${path}\n${content}\n`;
}

/**
 * Writes a render to `dir` as `helm template --output-dir` does; returns the written
 * paths (`DIR/…`, as Helm prints them after `wrote `), in Helm's order.
 * @public
 */
export async function writeRenderOutputDir(
  result: RenderResult,
  dir: string,
  options: OutputDirOptions = {},
): Promise<string[]> {
  const base = resolve(dir);
  const files = new Map<string, string>();
  const order: string[] = [];
  const target = (root: string, name: string): string => {
    const full = resolve(root, name);
    const rel = relative(base, full);
    if (rel.startsWith('..') || rel.split(sep).includes('..')) {
      throw new ChartproofError(
        'INVALID_ARGUMENT',
        `template path ${JSON.stringify(name)} escapes the output directory`,
      );
    }
    return full;
  };
  const add = async (root: string, printed: string, name: string, content: string, append: boolean) => {
    const full = target(root, name);
    let prev = files.get(full);
    if (prev === undefined && append) prev = await readFile(full, 'utf8').catch(() => undefined);
    files.set(full, (append ? (prev ?? '') : '') + doc(name, content));
    order.push(printed);
  };
  const written = new Set<string>();
  if (options.includeCrds) {
    for (const crd of result.crds) {
      await add(base, join(dir, crd.path), crd.path, crd.content, written.has(crd.path));
      written.add(crd.path);
    }
  }
  const root = options.releaseName ? join(base, options.releaseName) : base;
  const shown = options.releaseName ? join(dir, options.releaseName) : dir;
  for (const m of result.manifests) {
    await add(root, join(shown, m.path), m.path, m.content, written.has(m.path));
    written.add(m.path);
  }
  if (!options.noHooks) {
    for (const h of result.hooks) {
      if (options.skipTests && h.events.includes('test')) continue;
      const full = target(root, h.path);
      const exists =
        files.has(full) ||
        (await readFile(full).then(
          () => true,
          () => false,
        ));
      await add(root, join(shown, h.path), h.path, h.content, exists);
    }
  }
  for (const [full, text] of files) await writeFileAtomic(full, text, 0o644, { dirMode: 0o755 });
  return order;
}
