import type { CopyEvent } from '../oci/copy.js';
import type { CliIo } from './io.js';

/** How transfer progress is shown on stderr. */
export interface ProgressOptions {
  /** stderr is a terminal: one line redrawn in place. Default: `io.stderrIsTTY`. */
  tty?: boolean;
  /** Least time between two plain (non-TTY) lines, in ms. Default 5000. */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** A progress display fed with copy events; `done()` ends it (TTY: clears the line). */
export interface Progress {
  onProgress: (event: CopyEvent) => void;
  done(): void;
}

/** `12.3 MiB`-style sizes. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

const NONE: Progress = { onProgress: () => {}, done: () => {} };

/**
 * Transfer progress on stderr, never stdout. On a terminal, one line redrawn at most
 * every 100 ms (`Copying: 3/5 blobs, 12.0 MiB / 40.0 MiB`); otherwise plain lines: one
 * per finished blob larger than 1 MiB, and a running total at most every
 * `intervalMs` while a transfer is under way. Disabled (`enabled` false) it does nothing.
 */
export function createProgress(
  io: CliIo,
  label: string,
  enabled: boolean,
  options: ProgressOptions = {},
): Progress {
  if (!enabled) return NONE;
  const tty = options.tty ?? io.stderrIsTTY === true;
  const interval = options.intervalMs ?? (tty ? 100 : 5000);
  const now = options.now ?? Date.now;
  const seen = new Map<string, { size: number; bytes: number }>();
  let blobsDone = 0;
  let last = now();
  let drawn = false;

  const totals = () => {
    let bytes = 0;
    let size = 0;
    for (const b of seen.values()) {
      bytes += b.bytes;
      size += b.size;
    }
    return { bytes, size };
  };
  const line = () => {
    const t = totals();
    return `${label}: ${blobsDone}/${seen.size} blob(s), ${formatBytes(t.bytes)} / ${formatBytes(t.size)}`;
  };
  const draw = () => {
    if (tty) {
      io.stderr(`\r\x1b[2K${line()}`);
      drawn = true;
    } else {
      io.stderr(`${line()}\n`);
    }
  };

  return {
    onProgress(e) {
      const d = e.descriptor;
      if (e.type === 'bytes') {
        const entry = seen.get(d.digest) ?? { size: d.size, bytes: 0 };
        entry.bytes = Math.min(e.bytes, d.size);
        seen.set(d.digest, entry);
        if (now() - last >= interval) {
          last = now();
          draw();
        }
        return;
      }
      if (e.type !== 'copied' || !seen.has(d.digest)) return;
      const entry = seen.get(d.digest)!;
      entry.bytes = entry.size;
      blobsDone++;
      if (tty) {
        last = now();
        draw();
      } else if (d.size >= 1024 * 1024) {
        last = now();
        io.stderr(`${label}: ${d.digest.slice(0, 19)} ${formatBytes(d.size)} done\n`);
      }
    },
    done() {
      if (tty && drawn) io.stderr('\r\x1b[2K');
    },
  };
}
