/**
 * Comparing what a Helm release applied (its stored `manifest` and `hooks`) with a
 * re-render of the signed chart, document by document.
 *
 * Helm writes the release manifest as `---\n# Source: <template path>\n<document>\n`
 * per non-hook document, in install order (helm pkg/action/action.go renderResources),
 * and each hook's document separately in `hooks[].manifest` with its `path`. Documents
 * are grouped by template path and compared in order within a path, with surrounding
 * whitespace trimmed (Helm ≥ 4.2 keeps trailing blank lines that 4.1 and 3 drop).
 * Differences name the template, the document's kind and name and the first differing
 * line number — never the line's text, since a manifest holds Secrets.
 */
import type { RenderedHook, SortedManifest } from '../render/manifests.js';

/** One document of a stored manifest or a re-render. */
interface Doc {
  source: string;
  content: string;
  label?: string;
  /** Hooks: when Helm runs it (events as a set, weight), from which it runs the stored hooks later. */
  trigger?: string;
}

/** A hook's events (order and repeats do not matter to Helm) and weight, comparable. */
function trigger(events: unknown, weight: unknown): string {
  const e = Array.isArray(events) ? [...new Set(events.map((x) => String(x)))].sort() : events;
  return JSON.stringify([e ?? [], weight ?? 0]);
}

/** At most this many differences are listed per check. */
const MAX_LISTED = 10;

const SOURCE = /^#\s*Source:\s*(.+?)\s*$/;

/**
 * Splits a release's stored manifest into documents with their `# Source:` path.
 * Helm splits rendered files on `---` lines, so no document contains one.
 */
export function splitReleaseManifest(text: string): Doc[] {
  const out: Doc[] = [];
  for (const chunk of text.split(/^---[ \t]*$/m)) {
    const lines = chunk.replace(/^\r?\n/, '').split('\n');
    let source = '';
    const first = lines[0]?.trim() ?? '';
    const m = SOURCE.exec(first);
    if (m) {
      source = m[1]!;
      lines.shift();
    }
    const content = lines.join('\n').trim();
    if (content === '' && source === '') continue;
    const d: Doc = { source, content };
    const l = storedLabel(content);
    if (l) d.label = l;
    out.push(d);
  }
  return out;
}

const KIND_LINE = /^kind:[ \t]*["']?([A-Za-z0-9]{1,63})["']?[ \t]*$/;
const NAME_VALUE = /^name:[ \t]*["']?([a-z0-9][a-z0-9.-]{0,252})["']?[ \t]*$/;

/**
 * `Kind name` of a stored document when both read plainly: top-level `kind:` and the
 * `name:` directly under top-level `metadata:`. A line scan (no backtracking regular
 * expression over hostile text); only tame characters are ever printed.
 */
function storedLabel(content: string): string | undefined {
  const lines = content.split('\n', 5000);
  let kind: string | undefined;
  let name: string | undefined;
  for (let i = 0; i < lines.length && (kind === undefined || name === undefined); i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (kind === undefined) {
      const k = KIND_LINE.exec(line);
      if (k) {
        kind = k[1];
        continue;
      }
    }
    if (name === undefined && /^metadata:[ \t]*$/.test(line)) {
      let indent = -1;
      for (let j = i + 1; j < lines.length; j++) {
        const child = lines[j]!.replace(/\r$/, '');
        if (child.trim() === '' || child.trimStart().startsWith('#')) continue;
        const width = child.length - child.trimStart().length;
        if (width === 0) break;
        if (indent < 0) indent = width;
        if (width !== indent) continue;
        const n = NAME_VALUE.exec(child.slice(width));
        if (n) {
          name = n[1];
          break;
        }
      }
    }
  }
  if (!kind) return undefined;
  return name ? `${kind} ${name}` : kind;
}

function label(head: { kind?: string; name?: string } | undefined): string | undefined {
  if (!head?.kind) return undefined;
  return head.name ? `${head.kind} ${head.name}` : head.kind;
}

/** The re-render's documents in the stored manifest's terms. */
export function renderedDocs(manifests: readonly SortedManifest[]): Doc[] {
  return manifests.map((m) => {
    const d: Doc = { source: m.path, content: m.content.trim() };
    const l = label(m.head);
    if (l) d.label = l;
    return d;
  });
}

/** A release's stored hooks (`hooks[]` of the release JSON) as documents. */
export function storedHookDocs(hooks: readonly unknown[]): Doc[] {
  const out: Doc[] = [];
  for (const h of hooks) {
    if (typeof h !== 'object' || h === null) continue;
    const { path, manifest, kind, name, events, weight } = h as Record<string, unknown>;
    const d: Doc = {
      source: typeof path === 'string' ? path : '',
      content: typeof manifest === 'string' ? manifest.trim() : '',
      // Helm runs a release's hooks later (delete, rollback, test) by these stored fields.
      trigger: trigger(events, weight),
    };
    const l = label({
      ...(typeof kind === 'string' ? { kind } : {}),
      ...(typeof name === 'string' ? { name } : {}),
    });
    if (l) d.label = l;
    out.push(d);
  }
  return out;
}

/** The re-render's hooks as documents. */
export function renderedHookDocs(hooks: readonly RenderedHook[]): Doc[] {
  return renderedDocs(hooks).map((d, i) => ({ ...d, trigger: trigger(hooks[i]!.events, hooks[i]!.weight) }));
}

function bySource(docs: readonly Doc[]): Map<string, Doc[]> {
  const out = new Map<string, Doc[]>();
  for (const d of docs) {
    const list = out.get(d.source);
    if (list) list.push(d);
    else out.set(d.source, [d]);
  }
  return out;
}

function firstDifferentLine(a: string, b: string): number {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return i + 1;
  return 0;
}

/** The outcome of {@link compareDocs}. */
export interface DocComparison {
  /** Human-readable differences (at most 10, then a count of the rest). */
  differences: string[];
  /** Documents compared (stored side). */
  compared: number;
}

/**
 * Compares stored documents with rendered ones. `unstable` is a second render: a
 * rendered document that differs between the two renders is marked as
 * non-deterministic in the message (random, time or crypto functions), since no
 * re-render can reproduce it.
 */
export function compareDocs(
  what: 'document' | 'hook',
  stored: readonly Doc[],
  rendered: readonly Doc[],
  unstable?: readonly Doc[],
): DocComparison {
  const s = bySource(stored);
  const r = bySource(rendered);
  const u = unstable ? bySource(unstable) : undefined;
  const all: string[] = [];
  const sources = [...new Set([...s.keys(), ...r.keys()])];
  for (const source of sources) {
    const a = s.get(source) ?? [];
    const b = r.get(source) ?? [];
    const where = source === '' ? '(no # Source)' : source;
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const x = a[i];
      const y = b[i];
      const n = Math.max(a.length, b.length) > 1 ? ` #${i + 1}` : '';
      const name = y?.label ?? x?.label;
      const id = `${what} ${where}${n}${name ? ` (${name})` : ''}`;
      if (x && !y) all.push(`${id} is in the release but not in the re-render of the signed chart`);
      else if (!x && y) all.push(`${id} of the re-render is missing from the release`);
      else if (x && y && x.content !== y.content) {
        const again = u?.get(source)?.[i];
        const random =
          again !== undefined && again.content !== y.content
            ? ' (its template renders differently each time: random, time or crypto functions)'
            : '';
        all.push(
          `${id} differs from the re-render at line ${firstDifferentLine(x.content, y.content)}${random}`,
        );
      } else if (x && y && x.trigger !== undefined && y.trigger !== undefined && x.trigger !== y.trigger)
        all.push(`${id} is recorded with other events or weight than the re-render gives it`);
    }
  }
  const differences = all.slice(0, MAX_LISTED);
  if (all.length > MAX_LISTED) differences.push(`and ${all.length - MAX_LISTED} more`);
  return { differences, compared: stored.length };
}
