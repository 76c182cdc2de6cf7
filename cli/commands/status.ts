import { z } from 'zod';
import type { StatusReport } from '../../lib/ops/status.js';
import type { RunSummary } from '../../lib/reconcile/summary.js';
import { BIN, defineCommand } from '../command.js';
import { durationSchema } from '../duration.js';
import { CliError, EXIT } from '../errors.js';
import { table } from '../table.js';

const ago = (seconds: number | undefined) => (seconds === undefined ? '' : seconds < 120 ? ` (${seconds} s ago)` : ` (${Math.round(seconds / 60)} min ago)`);

const run = (r: RunSummary | undefined) =>
  r ? `${r.finishedAt}, ${r.complete ? 'complete' : `incomplete (${r.failedApps.join(', ')})`}, found ${r.found}, enqueued ${r.enqueued}, held ${r.held}` : 'none recorded';

function render(report: StatusReport, found: string[]): string {
  const { health } = report;
  const lines = [`health: ${health.status} (settings ${health.checks.settings}, storage ${health.checks.storage})`];
  if (report.queues) {
    lines.push('', table(['QUEUE', 'MESSAGES', 'OLDEST'], report.queues.map((q) => [q.queue, String(q.count), q.oldestAt ? `${q.oldestAt}${ago(q.oldestAgeSeconds)}` : '-'])));
  }
  if (report.held) {
    const h = report.held;
    lines.push('', `held instances: ${h.count}${h.oldestAt ? `, oldest held ${h.oldestAt}${ago(h.oldestAgeSeconds)}` : ''}`);
    for (const m of h.instances) lines.push(`  ${m.partyId}/${m.instanceGuid}  ${m.app}  infected: ${m.infected.map((e) => e.id).join(', ')}`);
  }
  if (report.reconcile) {
    lines.push('', `last reconcile run: ${run(report.reconcile.last)}`);
    lines.push(`last complete reconcile run: ${report.reconcile.lastComplete ? `${report.reconcile.lastComplete.finishedAt}${ago(report.reconcile.lastCompleteAgeSeconds)}` : 'none recorded'}`);
  }
  if (report.confirmations) {
    const c = report.confirmations;
    const secs = (v: number | null) => (v === null ? '-' : `${v} s`);
    lines.push('', `time to confirmation (process.ended to complete), last ${c.windowSeconds / 60} min; unconfirmed: first heard within ${c.lookbackHours} h:`);
    lines.push(table(['APP', 'CONFIRMED', 'P50', 'P95', 'UNCONFIRMED', 'OLDEST UNCONFIRMED'], [...c.apps, c.all].map((a) => [a.app === '*' ? '(all)' : a.app, String(a.confirmations), secs(a.p50Seconds), secs(a.p95Seconds), String(a.unconfirmed), a.oldestUnconfirmedHeardAt ? `${a.oldestUnconfirmedHeardAt}${ago(a.oldestUnconfirmedAgeSeconds ?? undefined)}` : '-'])));
  }
  lines.push('', found.length === 0 ? 'problems: none' : ['problems:', ...found.map((p) => `  - ${p}`)].join('\n'));
  return lines.join('\n');
}

export const status = defineCommand({
  path: ['status'],
  summary: 'queues (count, oldest message), held instances, last reconcile run, health; --check for scripts',
  synopsis: '[--check] [--max-pending-age <duration>] [--max-reconcile-age <duration>] [--max-unconfirmed-age <duration>]',
  optionHelp: [
    ['--check', 'exit 4, naming each problem, when a threshold is crossed (poison not empty, held instances, ages below)'],
    ['--max-pending-age <duration>', 'oldest altinn-events message allowed (default 30m)'],
    ['--max-reconcile-age <duration>', 'time since the last complete reconcile run allowed (default 2h)'],
    ['--max-unconfirmed-age <duration>', 'age of the oldest known completed instance not yet confirmed allowed (default UNCONFIRMED_LIMIT_MINUTES)'],
  ],
  options: { check: { type: 'boolean' }, 'max-pending-age': { type: 'string' }, 'max-reconcile-age': { type: 'string' }, 'max-unconfirmed-age': { type: 'string' } },
  schema: z.object({
    check: z.boolean().default(false),
    'max-pending-age': durationSchema.optional(),
    'max-reconcile-age': durationSchema.optional(),
    'max-unconfirmed-age': durationSchema.optional(),
  }),
  examples: [`${BIN} status`, `${BIN} status --check --max-pending-age 15m || page-someone`, `${BIN} status --json | jq '.queues'`],
  async run(args, ctx) {
    // Loaded here: the storage SDKs are slow to load, and --help or a usage error needs none of them.
    const { DEFAULT_LIMITS, measureStatus, problems } = await import('../../lib/ops/status.js');
    const seconds = (ms: number | undefined, dflt: number) => (ms === undefined ? dflt : Math.round(ms / 1000));
    const configured = await ctx
      .runtime()
      .then((rt) => rt.config.monitor.unconfirmedLimitSeconds)
      .catch(() => DEFAULT_LIMITS.maxUnconfirmedAgeSeconds);
    const limits = {
      maxPendingAgeSeconds: seconds(args['max-pending-age'], DEFAULT_LIMITS.maxPendingAgeSeconds),
      maxReconcileAgeSeconds: seconds(args['max-reconcile-age'], DEFAULT_LIMITS.maxReconcileAgeSeconds),
      maxUnconfirmedAgeSeconds: seconds(args['max-unconfirmed-age'], configured),
    };
    const report = await measureStatus(() => ctx.runtime(), ctx.clock);
    const found = problems(report, limits);
    const output = { data: { ...report, limits, problems: found }, text: render(report, found) };
    if (args.check && found.length > 0) {
      // The report is what the operator needs next: print it, then fail with the reasons.
      ctx.io.out(ctx.json ? `${JSON.stringify(output.data, null, 2)}\n` : `${output.text}\n`);
      throw new CliError(`status check failed: ${found.join('; ')}`, EXIT.check);
    }
    return output;
  },
});
