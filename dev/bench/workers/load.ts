/**
 * The load generator in its own process, so the bench process (which reads the host's log lines)
 * never competes with it for one event loop.
 */
import { postAll } from '../loadgen.js';
import { fail, report, specArg } from './report.js';

async function main() {
  const spec = specArg<{ url: string; bodiesFile: string; concurrency: number; contentType: string }>();
  const { readFile } = await import('node:fs/promises');
  const bodies = JSON.parse(await readFile(spec.bodiesFile, 'utf8')) as string[];
  const r = await postAll({ url: spec.url, bodies, concurrency: spec.concurrency, contentType: spec.contentType });
  report({ elapsedMs: r.elapsedMs, durationsMs: r.latenciesMs, statuses: r.statuses, rssBeforeBytes: 0 });
  process.exit(0);
}

main().catch(fail);
