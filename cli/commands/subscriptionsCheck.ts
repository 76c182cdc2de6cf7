import { z } from 'zod';
import { checkSubscriptions, subscriptionListSchema, subscriptionsUrl, type SubscriptionCheck } from '../../lib/ops/subscriptions.js';
import { BIN, defineCommand } from '../command.js';
import { CliError, EXIT, userError } from '../errors.js';
import { table } from '../table.js';

function render(check: SubscriptionCheck): string {
  const lines = [`webhook: ${check.endpoint}`];
  if (check.expected.length > 0) {
    lines.push('', table(['APP', 'TYPE', 'SUBSCRIPTION'], check.expected.map((e) => [e.app, e.type, e.ids.length > 0 ? e.ids.join(', ') : 'MISSING'])));
  } else lines.push('ALTINN_APPS is empty (every app of the org): no subscription is expected, the existing ones are checked');
  if (check.others.length > 0) lines.push('', `other systems' subscriptions (left alone): ${check.others.join(', ')}`);
  lines.push('', check.drift.length === 0 ? 'drift: none' : ['drift:', ...check.drift.map((d) => `  - ${d.kind}: ${d.message}`)].join('\n'));
  return lines.join('\n');
}

export const subscriptionsCheck = defineCommand({
  path: ['subscriptions', 'check'],
  summary: 'compare Altinn Events subscriptions with ALTINN_APPS × ALTINN_EVENT_TYPES × the webhook; exit 4 on drift',
  synopsis: '[--endpoint <url>]',
  optionHelp: [['--endpoint <url>', 'the webhook the subscriptions should point at (default: WEBHOOK_URL); its ?code= is not compared']],
  options: { endpoint: { type: 'string' } },
  schema: z.object({ endpoint: z.string().min(1, 'must not be empty').optional() }),
  examples: [`${BIN} subscriptions check`, `${BIN} subscriptions check --endpoint https://my-receiver.azurewebsites.net/api/events --json`],
  async run(args, ctx) {
    const { config } = await ctx.runtime();
    const endpoint = args.endpoint ?? config.monitor.webhookUrl;
    if (!endpoint) throw userError('which webhook? set WEBHOOK_URL or pass --endpoint https://<app>.azurewebsites.net/api/events');
    if (!URL.canParse(endpoint)) throw userError('--endpoint must be an absolute URL');
    const list = await (await ctx.altinn()).json('GET', subscriptionsUrl(config), subscriptionListSchema);
    const check = checkSubscriptions(config, endpoint, list.subscriptions ?? []);
    const output = { data: check, text: render(check) };
    if (check.drift.length > 0) {
      // The report is what the operator needs next: print it, then fail naming the kinds.
      ctx.io.out(ctx.json ? `${JSON.stringify(output.data, null, 2)}\n` : `${output.text}\n`);
      throw new CliError(`subscriptions drifted: ${[...new Set(check.drift.map((d) => d.kind))].join(', ')}`, EXIT.check);
    }
    return output;
  },
});
