import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageChart } from '../../src/chart/package.js';

const sha256Hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** A chart archive made by our packager from a minimal chart (reproducible for a given input). */
export async function makeChartArchive(
  name: string,
  version: string,
  extra: Record<string, string> = {},
): Promise<Uint8Array> {
  const root = mkdtempSync(join(tmpdir(), 'cp-mkchart-'));
  try {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'Chart.yaml'), `apiVersion: v2\nname: ${name}\nversion: ${version}\n`);
    for (const [file, text] of Object.entries(extra)) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
    const out = await packageChart(dir, { destination: root, sourceDateEpoch: 0 });
    return new Uint8Array(readFileSync(out.path));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

interface Entry {
  name: string;
  version: string;
  file: string;
  /** The digest the index declares; `undefined` = no digest line. */
  digest: string | undefined;
}

/**
 * A classic Helm chart repository on loopback: `index.yaml` generated from what was
 * published, archives served from memory. `swap` replaces an archive's bytes (and,
 * optionally, the index digest) the way a compromised repository would.
 */
export class ChartRepoServer {
  readonly files = new Map<string, Uint8Array>();
  readonly entries: Entry[] = [];
  requests: string[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      this.requests.push(`${req.method} ${path}`);
      if (path === '/index.yaml') {
        res.writeHead(200, { 'content-type': 'application/x-yaml' });
        res.end(this.indexYaml());
        return;
      }
      const data = this.files.get(path.slice(1));
      if (!data) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(data.byteLength) });
      res.end(Buffer.from(data));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  publish(
    name: string,
    version: string,
    archive: Uint8Array,
    options: { digest?: boolean; digestAs?: (hex: string) => string } = {},
  ): void {
    const file = `${name}-${version}.tgz`;
    this.files.set(file, archive);
    this.entries.push({
      name,
      version,
      file,
      digest: options.digest === false ? undefined : (options.digestAs ?? ((h) => h))(sha256Hex(archive)),
    });
  }

  /** Serves other bytes for an existing version; `updateIndex` also rewrites the index digest. */
  swap(name: string, version: string, archive: Uint8Array, updateIndex: boolean): void {
    const entry = this.entries.find((e) => e.name === name && e.version === version);
    if (!entry) throw new Error(`${name}-${version} was not published`);
    this.files.set(entry.file, archive);
    if (updateIndex && entry.digest !== undefined) entry.digest = sha256Hex(archive);
  }

  indexYaml(): string {
    const lines = ['apiVersion: v1', 'entries:'];
    const names = [...new Set(this.entries.map((e) => e.name))];
    for (const name of names) {
      lines.push(`  ${name}:`);
      for (const e of this.entries.filter((x) => x.name === name)) {
        lines.push(`  - name: ${e.name}`, `    version: ${e.version}`, '    apiVersion: v2');
        if (e.digest !== undefined) lines.push(`    digest: ${e.digest}`);
        lines.push('    urls:', `    - ${e.file}`);
      }
    }
    lines.push('generated: "2024-01-01T00:00:00Z"', '');
    return lines.join('\n');
  }

  async close(): Promise<void> {
    const s = this.server;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
