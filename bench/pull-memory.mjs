// Child process for the memory benchmark: pulls one blob, either with chartproof
// (verified) or with a plain streamed fetch, and reports peak RSS above the
// baseline measured just before the pull. With --expose-gc it collects garbage every
// 8 MiB, so the peak shows what the pull retains (buffering), not when V8 happens to
// collect the chunks it already let go of.
import { fetch } from 'undici';
import { RegistryClient } from '../dist/index.js';

const [mode, registry, repository, digest, size] = process.argv.slice(2);
const desc = { mediaType: 'application/octet-stream', digest, size: Number(size) };
const client = new RegistryClient({ plainHttp: true });
const repo = client.repository(`${registry}/${repository}`);
await repo.exists(desc); // warm up connections and code paths
globalThis.gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sample = () => {
  peak = Math.max(peak, process.memoryUsage().rss);
};
const timer = setInterval(sample, 5);
const body =
  mode === 'plain'
    ? (await fetch(`http://${registry}/v2/${repository}/blobs/${digest}`)).body
    : await repo.fetch(desc);
let bytes = 0;
let nextGc = 8 * 1024 * 1024;
for await (const chunk of body) {
  bytes += chunk.byteLength;
  sample();
  if (bytes >= nextGc) {
    globalThis.gc?.();
    nextGc += 8 * 1024 * 1024;
  }
}
clearInterval(timer);
await client.close();
process.stdout.write(JSON.stringify({ mode, bytes, baseline, peak, aboveBaseline: peak - baseline }));
