import { z } from 'zod';
import { instanceRefSchema } from '../../lib/queue/messages.js';
import type { AppOutcome, ReconcileCounts } from '../../lib/reconcile/run.js';
import { BIN, defineCommand } from '../command.js';
import { CliError, EXIT, toCliError, userError } from '../errors.js';
import { bar, liveLine } from '../progress.js';
import { table } from '../table.js';

const counts = (c: ReconcileCounts) =>
  `found ${c.found}, enqueued ${c.enqueued}, skipped ${c.skipped}, held ${c.held}, invalid ${c.invalid}${c.shrinks > 0 ? `, ${c.shrinks} queries asked again smaller` : ''}`;
/** An app's result column: ok, where a capped or failed walk resumes, or the error. */
const resultOf = (a: AppOutcome) =>
  a.complete ? 'ok' : a.stoppedBy ? `${a.stoppedBy}: resumes at ${a.resumeAt ?? 'newest'}` : `${toCliError(a.error).message} (resumes at ${a.resumeAt ?? 'newest'})`;

export const reconcileNow = defineCommand({
  path: ['reconcile'],
  summary: 'one reconcile run now: enqueue completed instances Altinn says we have not confirmed',
  synopsis: '[--app <app>]... [--dry-run]',
  optionHelp: [
    ['--app <app>', 'only this app (repeatable); default ALTINN_APPS, or every app of the org'],
    ['--dry-run', 'query and count, enqueue nothing'],
  ],
  options: { app: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' } },
  schema: z.object({
    app: z.array(instanceRefSchema.shape.app).optional(),
    'dry-run': z.boolean().default(false),
  }),
  examples: [`${BIN} reconcile --dry-run`, `${BIN} reconcile --app my-app`, `${BIN} reconcile --app a --app b --json`],
  async run(args, ctx) {
    const rt = await ctx.runtime();
    const { config } = rt;
    const outside = (args.app ?? []).filter((a) => config.apps.length > 0 && !config.apps.includes(a));
    if (outside.length > 0) throw userError(`not in ALTINN_APPS (${config.apps.join(', ')}): ${outside.join(', ')}`);
    const apps = args.app ? [...new Set(args.app)] : undefined;
    const targets = apps ?? config.apps;
    const line = liveLine((t) => ctx.io.redraw(t), ctx.io.stderrIsTTY && !ctx.json);
    const done = new Set<string>();
    const { runReconcile } = await import('../../lib/reconcile/run.js');
    const result = await runReconcile(
      await rt.reconciler(),
      {
        apps,
        dryRun: args['dry-run'],
        onProgress: (p) => {
          // Storage does not say how many pages there are: the bar counts apps, the text counts instances.
          done.add(p.app);
          const fraction = targets.length > 0 ? (done.size - 1) / targets.length : 0;
          line.update(`${bar(fraction)} ${p.app} page ${p.page}: ${counts(p.totals)}`);
        },
      },
    ).finally(() => line.done());
    if (result.status === 'skipped') throw userError('another reconcile run is in progress (it holds the lock): nothing done');
    const verb = result.dryRun ? 'would enqueue' : 'enqueued';
    const text = [
      `reconcile ${result.status}${result.dryRun ? ' (dry run: nothing enqueued)' : ''} in ${(result.durationMs / 1000).toFixed(1)} s: ${counts(result)} (${verb} ${result.enqueued})`,
      table(
        ['APP', 'PAGES', 'FOUND', 'ENQUEUED', 'SKIPPED', 'HELD', 'INVALID', 'RESULT'],
        result.apps.map((a) => [a.app, ...[a.pages, a.found, a.enqueued, a.skipped, a.held, a.invalid].map(String), resultOf(a)]),
      ),
    ].join('\n');
    const data = { ...result, apps: result.apps.map(({ error, ...a }) => ({ ...a, error: error === undefined ? undefined : toCliError(error).message })) };
    if (result.status === 'incomplete') {
      // The summary is the useful part of a failed run: print it, then fail as a remote error.
      ctx.io.out(ctx.json ? `${JSON.stringify(data, null, 2)}\n` : `${text}\n`);
      throw new CliError('reconcile stopped part-way for some apps (what it found before that is enqueued)', EXIT.remote);
    }
    return { data, text };
  },
});
