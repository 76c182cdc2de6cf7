/**
 * `npm run soak [-- short|soak] [--json]`: the fault soak (default the long profile), printed as figures;
 * exits 1 when an invariant broke. See docs/reliability.md.
 */
import { pathToFileURL } from 'node:url';
import { stopAll } from '../host/childProcess.js';
import { PROFILES } from './profiles.js';
import { runSoak } from './run.js';
import { summary } from './summary.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const name = args.find((a) => !a.startsWith('-')) ?? 'soak';
  const profile = PROFILES[name];
  if (!profile) throw new Error(`unknown profile ${name}; one of ${Object.keys(PROFILES).join(', ')}`);
  // Ctrl+C stops the run and still takes down what it started (Azurite, host).
  const interrupted = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => interrupted.abort(new Error(`interrupted by ${sig}`)));
  const report = await runSoak(profile, (line) => console.error(`[soak] ${line}`), interrupted.signal);
  console.log(args.includes('--json') ? JSON.stringify(report, null, 2) : summary(report));
  if (!report.ok && !args.includes('--json')) console.log(JSON.stringify({ outcome: report.outcome, checks: report.checks, secretHits: report.secretHits }, null, 2));
  process.exitCode = report.ok ? 0 : 1;
}

// pathToFileURL: `file://${argv[1]}` is not the module's URL on Windows (drive letter, backslashes).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main()
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 2;
    })
    .finally(() => void stopAll());
}
