/**
 * The floor for the copy and mirror benchmarks: the least a registry-to-registry
 * copier has to do, written against undici's `request` with nothing in the way.
 * Per artifact:
 *
 * 1. `GET` the source manifest (by tag); for an index, steps 1–3 for each child
 *    manifest (in parallel, by digest) instead of step 2;
 * 2. per blob (config and layers, in parallel): `HEAD` at the destination; when
 *    absent, a cross-repository mount (`POST ?mount=&from=`, same registry only) or a
 *    `GET` from the source and a monolithic upload (`POST`, then `PUT ?digest=`);
 *    blobs of 1 MiB or more are streamed from the `GET` into the `PUT`, smaller ones
 *    buffered;
 * 3. `PUT` the manifest under its tag.
 *
 * No verification (no digest computed, no size checked), no authentication, no
 * referrers or cosign tags, no planning, no backoff: a 5xx answer to `HEAD`/`GET` is
 * repeated at once. Connections are kept alive, also after `HEAD` (undici closes them
 * by default), with as many per origin as chartproof's transport (16).
 *
 * One concession to correctness: a blob found absent while the same run is already
 * transferring it to the same repository (artifacts sharing a layer) is awaited, not
 * transferred twice. Concurrent mounts of one blob make distribution 2.8 rewrite its
 * link file while others read it, which fails their manifest `PUT` with
 * `MANIFEST_BLOB_UNKNOWN` (and a `HEAD` with 500).
 *
 * With `mountShared` (the image benchmark: base layers shared between images), a blob
 * the run already placed in another repository of the destination registry is mounted
 * from there (after that transfer ends) instead of transferred again, as chartproof's
 * `BlobMountCache` and skopeo's blob info cache do.
 *
 * chartproof's time over this one is what its own work costs (verification, the
 * client, planning, scanning); its time against a `skopeo copy` loop mostly measures
 * skopeo's process start.
 */
import { Agent, type Dispatcher, fetch, request } from 'undici';

/** One artifact to copy: registry host (`127.0.0.1:PORT`), repository and tag on each side. */
export interface FloorJob {
  src: { host: string; repository: string; tag: string };
  dst: { host: string; repository: string; tag: string };
}

const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** Blobs at least this large are streamed from the source into the upload, not buffered. */
const STREAM_BYTES = 1024 * 1024;

/** A request body: bytes, or a stream (undici `request`: a Node readable; `fetch`: a web stream). */
type Body = Buffer | NodeJS.ReadableStream | ReadableStream<Uint8Array>;

/** One answer, whichever undici API fetched it. */
interface Answer {
  status: number;
  header(name: string): string | undefined;
  bytes(): Promise<Buffer>;
  /** The body as a stream, to pass on as another request's body. */
  stream(): Body;
  /** Reads the body to its end (so the connection is reused). */
  discard(): Promise<void>;
}

/**
 * `request`: undici's lowest-overhead API (Node streams, no WHATWG objects): the
 * floor. `fetch`: undici's `fetch`, the HTTP stack chartproof's default transport
 * uses, so a ratio against it leaves out what the choice of `fetch` costs.
 */
export type FloorTransport = 'request' | 'fetch';

export class FloorCopier {
  readonly #dispatcher: Dispatcher;
  readonly #transport: FloorTransport;
  /** Requests sent, by method. */
  readonly requests: Record<string, number> = {};
  /** `HEAD`/`GET` requests repeated after a 5xx. */
  retries = 0;
  /** Blob copies under way, by destination and digest. */
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #mountShared: boolean;
  /** With `mountShared`: the first repository each blob went to, by destination registry and digest. */
  readonly #placed = new Map<string, { repository: string; done: Promise<void> }>();

  constructor(
    connections = 16,
    transport: FloorTransport = 'request',
    options: { mountShared?: boolean } = {},
  ) {
    this.#transport = transport;
    this.#mountShared = options.mountShared ?? false;
    const agent = new Agent({ connections, keepAliveTimeout: 10_000 });
    // The same HEAD keep-alive as chartproof's transport (createFetch keepAliveAfterHead).
    this.#dispatcher = agent.compose(
      (dispatch) => (opts, handler) =>
        dispatch(opts.method === 'HEAD' ? { ...opts, reset: false } : opts, handler),
    );
  }

  /** Total requests sent. */
  get total(): number {
    return Object.values(this.requests).reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  /** Copies `jobs`, `concurrency` artifacts at a time. */
  async copyAll(jobs: FloorJob[], concurrency: number): Promise<void> {
    const queue = [...jobs];
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let job = queue.shift(); job; job = queue.shift()) await this.copy(job);
      }),
    );
  }

  async copy({ src, dst }: FloorJob): Promise<void> {
    await this.#manifest(src, dst, src.tag, dst.tag);
  }

  /** Copies the manifest `ref` (its children or blobs first) and puts it under `putRef`. */
  async #manifest(src: FloorJob['src'], dst: FloorJob['dst'], ref: string, putRef: string): Promise<void> {
    const srcBase = `http://${src.host}/v2/${src.repository}`;
    const dstBase = `http://${dst.host}/v2/${dst.repository}`;
    const m = await this.#send('GET', `${srcBase}/manifests/${ref}`, { accept: ACCEPT });
    const bytes = await m.bytes();
    expectStatus(m.status, [200], 'GET manifest');
    const manifest = JSON.parse(bytes.toString('utf8')) as {
      mediaType?: string;
      config?: { digest: string; size: number };
      layers?: Array<{ digest: string; size: number }>;
      manifests?: Array<{ digest: string }>;
    };
    const mediaType = manifest.mediaType ?? m.header('content-type') ?? '';
    if (manifest.manifests) {
      await Promise.all(manifest.manifests.map((c) => this.#manifest(src, dst, c.digest, c.digest)));
    } else {
      const blobs = [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])];
      await Promise.all(blobs.map((b) => this.#blob(src, dst, b.digest, b.size)));
    }
    const put = await this.#send(
      'PUT',
      `${dstBase}/manifests/${putRef}`,
      { 'content-type': mediaType },
      bytes,
    );
    const answer = (await put.bytes()).toString('utf8');
    expectStatus(put.status, [201], `PUT manifest (${answer.slice(0, 300)})`);
  }

  /** Places one blob at the destination unless it is there. */
  async #blob(src: FloorJob['src'], dst: FloorJob['dst'], digest: string, size: number): Promise<void> {
    const srcBase = `http://${src.host}/v2/${src.repository}`;
    const dstBase = `http://${dst.host}/v2/${dst.repository}`;
    const head = await this.#send('HEAD', `${dstBase}/blobs/${digest}`);
    await head.discard();
    if (head.status === 200) return;
    expectStatus(head.status, [404], 'HEAD blob');
    const key = `${dstBase} ${digest}`;
    let transfer = this.#inFlight.get(key);
    if (!transfer) {
      const placedKey = `${dst.host} ${digest}`;
      const placed = this.#mountShared ? this.#placed.get(placedKey) : undefined;
      transfer = this.#transfer(
        srcBase,
        src.repository,
        dstBase,
        digest,
        size,
        src.host === dst.host,
        placed,
      );
      this.#inFlight.set(key, transfer);
      transfer.finally(() => this.#inFlight.delete(key)).catch(() => {});
      if (this.#mountShared && !placed)
        this.#placed.set(placedKey, { repository: dst.repository, done: transfer });
    }
    await transfer;
  }

  /** Mounts (same registry) or downloads and uploads one blob the destination lacks. */
  async #transfer(
    srcBase: string,
    srcRepository: string,
    dstBase: string,
    digest: string,
    size: number,
    sameRegistry: boolean,
    placed: { repository: string; done: Promise<void> } | undefined,
  ): Promise<void> {
    let location: string | undefined;
    let from = sameRegistry ? srcRepository : undefined;
    if (from === undefined && placed) {
      // Mount from where this run is placing it, once it is there (or upload if that failed).
      if (await placed.done.then(() => true).catch(() => false)) from = placed.repository;
    }
    if (from !== undefined) {
      const mount = await this.#send(
        'POST',
        `${dstBase}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      );
      await mount.discard();
      if (mount.status === 201) return;
      expectStatus(mount.status, [202], 'POST mount');
      location = required(mount, 'location');
    }
    const blob = await this.#send('GET', `${srcBase}/blobs/${digest}`);
    if (blob.status !== 200) await blob.discard();
    expectStatus(blob.status, [200], 'GET blob');
    const data = size >= STREAM_BYTES ? blob.stream() : await blob.bytes();
    if (location === undefined) {
      const start = await this.#send('POST', `${dstBase}/blobs/uploads/`);
      await start.discard();
      expectStatus(start.status, [202], 'POST upload');
      location = required(start, 'location');
    }
    const url = new URL(location, dstBase);
    url.searchParams.set('digest', digest);
    const put = await this.#send(
      'PUT',
      url.toString(),
      {
        'content-type': 'application/octet-stream',
        'content-length': String(Buffer.isBuffer(data) ? data.byteLength : size),
      },
      data,
    );
    await put.discard();
    expectStatus(put.status, [201], 'PUT blob');
  }

  async #send(
    method: string,
    url: string,
    headers: Record<string, string> = {},
    body?: Body,
  ): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      this.requests[method] = (this.requests[method] ?? 0) + 1;
      const res = await this.#exchange(method, url, headers, body);
      if (res.status < 500 || attempt >= 5 || (method !== 'HEAD' && method !== 'GET')) return res;
      await res.discard();
      this.retries++;
    }
  }

  async #exchange(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: Body | undefined,
  ): Promise<Answer> {
    if (this.#transport === 'fetch') {
      const res = await fetch(url, {
        method,
        headers,
        dispatcher: this.#dispatcher,
        ...(body
          ? { body: body as Buffer, ...(Buffer.isBuffer(body) ? {} : { duplex: 'half' as const }) }
          : {}),
      });
      return {
        status: res.status,
        header: (name) => res.headers.get(name) ?? undefined,
        bytes: async () => Buffer.from(await res.arrayBuffer()),
        stream: () => res.body as ReadableStream<Uint8Array>,
        discard: async () => {
          await res.arrayBuffer();
        },
      };
    }
    const res = await request(url, {
      method: method as Dispatcher.HttpMethod,
      headers,
      dispatcher: this.#dispatcher,
      ...(body ? { body: body as Buffer } : {}),
    });
    return {
      status: res.statusCode,
      header: (name) => {
        const v = res.headers[name];
        return Array.isArray(v) ? v[0] : v;
      },
      bytes: async () => Buffer.from(await res.body.arrayBuffer()),
      stream: () => res.body,
      discard: () => res.body.dump(),
    };
  }
}

function required(answer: Answer, name: string): string {
  const v = answer.header(name);
  if (!v) throw new Error(`floor copier: no ${name} header`);
  return v;
}

function expectStatus(status: number, ok: number[], what: string): void {
  if (!ok.includes(status)) throw new Error(`floor copier: ${what} answered ${status}`);
}

/** `chartproof X ms | floor Y ms | ratio` line in the benchmarks' format. */
export function reportFloor(name: string, ours: number, floor: number, target: number): boolean {
  const ratio = ours / floor;
  const ok = ratio <= target;
  console.log(
    `${`${name} (ratio ${ratio.toFixed(2)}x of floor)`.padEnd(52)} chartproof ${ours.toFixed(0).padStart(6)} ms | floor ${floor.toFixed(0).padStart(6)} ms | target <= ${target}x ${ok ? 'MET' : 'MISSED'}`,
  );
  return ok;
}

/** Counts chartproof's HTTP exchanges (each attempt and redirect hop), by method. */
export function requestCounter(): {
  onEvent: (e: { type: string; method: string }) => void;
  counts: Record<string, number>;
  /** Retries, whatever the reason. */
  retries: () => number;
  total: () => number;
  reset: () => void;
} {
  const counts: Record<string, number> = {};
  let retries = 0;
  return {
    counts,
    retries: () => retries,
    onEvent(e) {
      if (e.type === 'request') counts[e.method] = (counts[e.method] ?? 0) + 1;
      if (e.type === 'retry') retries++;
    },
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    reset() {
      for (const k of Object.keys(counts)) delete counts[k];
      retries = 0;
    },
  };
}

/** `HEAD 2, GET 3, …` per artifact. */
export function perArtifact(counts: Record<string, number>, artifacts: number): string {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const parts = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([m, n]) => `${m} ${(n / artifacts).toFixed(2)}`);
  return `${(total / artifacts).toFixed(2)} (${parts.join(', ')})`;
}
