import { startSimulator } from './index.js';

/**
 * Child-process probe for the memory test: runs a simulator with one element of SIZE bytes, sends
 * the parent `{ url, token, baseline }`, samples RSS while the parent downloads, and on 'report'
 * sends the peak and exits. Separate process, so the figure is the server's own.
 */
const size = Number(process.argv[2] ?? 1024 ** 3);
const sim = await startSimulator({ port: 0 });
const doc = await sim.seedInstance({ app: 'big', elements: [{ dataType: 'blob', contentType: 'application/octet-stream', size }] });
global.gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
process.on('message', (m) => {
  if (m !== 'report') return;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  process.send?.({ baseline, peak, downloads: sim.counters.downloads }, () => void sim.stop().then(() => process.exit(0)));
});
process.send?.({ url: `${sim.appsUrl}/${doc.appId}/instances/${doc.id}/data/${doc.data[0]!.id}`, token: sim.altinnToken(), baseline });
