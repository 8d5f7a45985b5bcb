// Child process for the chart-loading memory benchmark: loads one archive and reports
// peak RSS above the baseline measured just before loading.
import { loadChartFile } from '../dist/chart.js';

const [file] = process.argv.slice(2);
globalThis.gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 2);
const chart = await loadChartFile(file);
peak = Math.max(peak, process.memoryUsage().rss);
clearInterval(timer);
const files = chart.files.length + chart.templates.length;
process.stdout.write(JSON.stringify({ files, baseline, peak, aboveBaseline: peak - baseline }));
