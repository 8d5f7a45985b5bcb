/**
 * A scanner over the object keys of a valid JSON text, for the checks `JSON.parse`
 * cannot make because it keeps only the last of duplicate keys.
 */

/** The object a key belongs to: `id` (one per object) and its `path` from the root. */
export interface JsonKeyFrame {
  readonly id: number;
  /** Keys from the root, `[]` for an array's items: `''`, `chart`, `chart.templates[]`. */
  readonly path: string;
}

/**
 * Calls `visit` for every object key of `text` (which must be valid JSON: parse it
 * first), in document order, and returns the first value it returns other than
 * undefined.
 */
export function scanJsonKeys(
  text: string,
  visit: (key: string, frame: JsonKeyFrame) => string | undefined,
): string | undefined {
  const stack: { id: number; path: string; array: boolean; key?: string }[] = [];
  let ids = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (top && !top.array && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        top.key = key;
        const found = visit(key, top);
        if (found !== undefined) return found;
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      const parent = stack.at(-1);
      const path = !parent
        ? ''
        : parent.array
          ? `${parent.path}[]`
          : parent.path === ''
            ? (parent.key ?? '')
            : `${parent.path}.${parent.key ?? ''}`;
      stack.push({ id: ids++, path, array: c === '[' });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectKey = stack.at(-1)?.array === false;
    }
  }
  return undefined;
}
