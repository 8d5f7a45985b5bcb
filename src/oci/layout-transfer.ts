/**
 * Air-gapped transfer through an OCI image layout directory ({@link OciLayout}):
 * {@link exportToLayout} and {@link importFromLayout}, thin wrappers over {@link copy}.
 * Re-exported from `layout.ts`.
 */
import { type CopyOptions, type CopyResult, copy } from './copy.js';
import { OciLayout } from './layout.js';
import type { ReadOnlyTarget, Target } from './target.js';

/** Options of {@link exportToLayout} and {@link importFromLayout}: {@link CopyOptions} without `tags`. @public */
export type LayoutTransferOptions = Omit<CopyOptions, 'tags' | 'mountFrom'>;

/**
 * Copies `refs` (tags or digests of `src`) with their referrers and cosign tags into
 * the layout at `dir` (created when missing), under the same tags. Content already in
 * the layout is skipped, so re-running an interrupted export completes it.
 * @throws CopyError `COPY_FAILED`; ChartproofError from {@link OciLayout.open}
 * @public
 */
export async function exportToLayout(
  src: ReadOnlyTarget,
  refs: string[],
  dir: string,
  options: LayoutTransferOptions = {},
): Promise<CopyResult[]> {
  const layout = await OciLayout.open(dir, { create: true, signal: options.signal });
  const results: CopyResult[] = [];
  for (const ref of refs) {
    results.push(await copy(src, ref, layout, ref, { referrers: true, cosignTags: true, ...options }));
  }
  return results;
}

/**
 * Copies content of the layout at `dir` into `dst`, with referrers and cosign tags:
 * `mapping` lists layout references to copy under the same tag, or maps each layout
 * reference to a destination tag. Every blob is verified as it is read.
 * @throws CopyError `COPY_FAILED`; ChartproofError from {@link OciLayout.open}
 * @public
 */
export async function importFromLayout(
  dir: string,
  dst: Target,
  mapping: string[] | Record<string, string>,
  options: LayoutTransferOptions = {},
): Promise<CopyResult[]> {
  const layout = await OciLayout.open(dir, { signal: options.signal });
  const pairs = Array.isArray(mapping) ? mapping.map((r) => [r, r] as const) : Object.entries(mapping);
  const results: CopyResult[] = [];
  for (const [from, to] of pairs) {
    results.push(await copy(layout, from, dst, to, { referrers: true, cosignTags: true, ...options }));
  }
  return results;
}
