// Child process for the memory benchmark: pulls one blob with chartproof and reports
// peak RSS above the baseline measured just before the pull.
import { RegistryClient } from '../dist/index.js';

const [registry, repository, digest, size] = process.argv.slice(2);
const client = new RegistryClient({ plainHttp: true });
const repo = client.repository(`${registry}/${repository}`);
const desc = { mediaType: 'application/octet-stream', digest, size: Number(size) };
// warm up the connection and the code paths with a HEAD
await repo.exists(desc);
globalThis.gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 5);
const stream = await repo.fetch(desc);
let bytes = 0;
for await (const chunk of stream) {
  bytes += chunk.byteLength;
  peak = Math.max(peak, process.memoryUsage().rss);
}
clearInterval(timer);
await client.close();
process.stdout.write(JSON.stringify({ bytes, baseline, peak, aboveBaseline: peak - baseline }));
