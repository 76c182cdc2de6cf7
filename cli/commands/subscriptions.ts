import { z } from 'zod';
import { CACHE_NOTE, subscriptionListSchema, subscriptionSchema, subscriptionsUrl, type Subscription } from '../../lib/ops/subscriptions.js';
import { DEFAULT_EVENT_TYPES, type CoreConfig } from '../../lib/config.js';
import { instanceRefSchema } from '../../lib/queue/messages.js';
import { isLoopbackHost } from '../../lib/http/net.js';
import { EVENT_TYPE } from '../../lib/patterns.js';
import { requireConfirmation, YES_HELP } from '../confirm.js';
import { BIN, defineCommand } from '../command.js';
import { CliError, EXIT, userError } from '../errors.js';
import { appResource, VALIDATION_WINDOW_SECONDS } from '../eventsValidation.js';
import { table } from '../table.js';

/** Default --wait: Altinn's validation window, rounded up to whole minutes (8 min). */
const DEFAULT_WAIT_SECONDS = Math.ceil(VALIDATION_WINDOW_SECONDS / 60) * 60;
const windowText = `${Math.floor(VALIDATION_WINDOW_SECONDS / 60)} min ${VALIDATION_WINDOW_SECONDS % 60} s`;

/** Poll often while Altinn's quick retries run (first 16 s), then less: its later retries are 30 s to 2 min apart. */
const pollMs = (elapsedMs: number) => (elapsedMs < 20_000 ? 1_000 : 5_000);

/**
 * What an operator reads when Altinn has not validated the subscription: Altinn retries the handshake for
 * VALIDATION_WINDOW_SECONDS, then gives up, and only validated subscriptions get events.
 */
function notValidated(sub: Subscription, waited: number, endpoint: URL): string {
  return [
    `subscription ${sub.id} is not validated: Altinn got no 2xx from the endpoint within ${waited} s.`,
    `Altinn Events retries the validation handshake for about ${windowText} after it is created, then gives up: the`,
    'subscription stays unvalidated and Altinn sends it no events (they are not kept for it either).',
    'Check:',
    `  - the webhook is reachable from the internet over https with a publicly trusted certificate;`,
    `  - the endpoint URL carries the eventsReceiver function's key as its code query parameter;`,
    `  - ${endpoint.origin}/api/health answers 200 (settings valid, storage reachable).`,
    `Then run the same command again: Altinn returns the same subscription and sends the handshake again`,
    `(or delete it: ${BIN} subscriptions delete ${sub.id}).`,
  ].join('\n');
}

/**
 * Altinn calls the endpoint with every event: it must be https and carry the function key (`code=`),
 * except a loopback endpoint in a local (custom) environment.
 */
function checkEndpoint(raw: string, config: CoreConfig): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw userError(`--endpoint must be an absolute URL, e.g. https://<app>.azurewebsites.net/api/events?code=<function key>`);
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol === 'http:' && !(loopback && config.env === 'custom')) {
    throw userError('--endpoint must use https (plain http only for a loopback endpoint with ALTINN_ENV=custom)');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw userError('--endpoint must use https');
  if (url.username || url.password || url.hash) throw userError('--endpoint must not contain credentials or a fragment');
  if (!loopback && !url.searchParams.get('code')) {
    throw userError('--endpoint must carry the function key as ?code=<key> (the webhook is authLevel function)');
  }
  return url;
}

const asJson = (s: Subscription) => ({
  id: s.id,
  validated: s.validated,
  typeFilter: s.typeFilter ?? undefined,
  resourceFilter: s.resourceFilter ?? undefined,
  sourceFilter: s.sourceFilter ?? undefined,
  endPoint: s.endPoint ?? undefined,
  created: s.created ?? undefined,
});

const validatedText = (v: boolean | undefined) => (v === undefined ? '?' : v ? 'yes' : 'NO (gets no events)');

export const subscriptionsCreate = defineCommand({
  path: ['subscriptions', 'create'],
  summary: "subscribe the webhook to one app's events in Altinn Events, and wait for Altinn to validate it",
  synopsis: '--app <app> --endpoint <url> [--type <event type>] [--wait <seconds>]',
  optionHelp: [
    ['--app <app>', 'app name (must be in ALTINN_APPS when that is set)'],
    ['--endpoint <url>', 'the webhook: https://…/api/events?code=<function key>'],
    ['--type <event type>', `event type to subscribe to (default ${DEFAULT_EVENT_TYPES})`],
    ['--wait <seconds>', `how long to wait for Altinn to validate it (default ${DEFAULT_WAIT_SECONDS}: Altinn's retry window; 0: do not wait)`],
  ],
  options: { app: { type: 'string' }, endpoint: { type: 'string' }, type: { type: 'string' }, wait: { type: 'string' } },
  schema: z.object({
    app: z.string({ error: 'is required' }).pipe(instanceRefSchema.shape.app),
    endpoint: z.string({ error: 'is required' }).min(1, 'is required'),
    type: z.string().regex(EVENT_TYPE, 'must be an event type such as app.instance.process.completed').default(DEFAULT_EVENT_TYPES),
    wait: z
      .string()
      .regex(/^\d{1,4}$/, 'must be a whole number of seconds')
      .transform(Number)
      .default(DEFAULT_WAIT_SECONDS),
  }),
  examples: [
    `${BIN} subscriptions create --app my-app --endpoint 'https://my-receiver.azurewebsites.net/api/events?code=<function key>'`,
    `${BIN} subscriptions create --app my-app --endpoint '…' --type app.instance.process.completed --wait 60 --json`,
  ],
  async run(args, ctx) {
    const { config } = await ctx.runtime();
    if (config.apps.length > 0 && !config.apps.includes(args.app)) {
      throw userError(`app ${args.app} is not in ALTINN_APPS (${config.apps.join(', ')}): its events would be ignored`);
    }
    const endpoint = checkEndpoint(args.endpoint, config);
    const altinn = await ctx.altinn();
    // The form Altinn's docs and AppSubscriptionService take today; an app resource needs no altinn:events.subscribe.
    const body = { endPoint: endpoint.href, resourceFilter: appResource(config.org, args.app), typeFilter: args.type };
    let sub = await altinn.json('POST', subscriptionsUrl(config), subscriptionSchema, body);
    const start = ctx.clock.now();
    const deadline = start + args.wait * 1000;
    while (!sub.validated && ctx.clock.now() < deadline) {
      await ctx.clock.sleep(Math.min(pollMs(ctx.clock.now() - start), deadline - ctx.clock.now()));
      sub = await altinn.json('GET', `${subscriptionsUrl(config)}/${sub.id}`, subscriptionSchema);
    }
    if (!sub.validated && args.wait > 0) throw userError(notValidated(sub, args.wait, endpoint));
    const text = [
      `subscription ${sub.id}: ${body.typeFilter} from ${body.resourceFilter} to ${endpoint.href}`,
      sub.validated
        ? 'validated: yes (Altinn reached the endpoint)'
        : `validated: not yet (not waited for; Altinn retries the handshake for about ${windowText}, then gives up: ${BIN} subscriptions list)`,
      CACHE_NOTE,
    ].join('\n');
    return { data: { ...asJson(sub), validated: sub.validated === true }, text };
  },
});

export const subscriptionsList = defineCommand({
  path: ['subscriptions', 'list'],
  summary: "list the org's Altinn Events subscriptions",
  synopsis: '',
  optionHelp: [],
  options: {},
  schema: z.object({}),
  examples: [`${BIN} subscriptions list`, `${BIN} subscriptions list --json`],
  async run(_args, ctx) {
    const { config } = await ctx.runtime();
    const list = await (await ctx.altinn()).json('GET', subscriptionsUrl(config), subscriptionListSchema);
    const subs = list.subscriptions ?? [];
    const unvalidated = subs.filter((s) => s.validated === false).map((s) => s.id);
    const text =
      subs.length === 0
        ? 'no subscriptions'
        : [
            table(
              ['ID', 'VALIDATED', 'TYPE', 'RESOURCE', 'ENDPOINT', 'CREATED'],
              subs.map((s) => [String(s.id), validatedText(s.validated), s.typeFilter ?? '(any)', s.resourceFilter ?? s.sourceFilter ?? '(any)', s.endPoint ?? '', s.created ?? '']),
            ),
            ...(unvalidated.length > 0
              ? [
                  '',
                  `not validated: ${unvalidated.join(', ')}. Altinn sends these no events; it stops retrying the handshake about ${windowText}`,
                  `after creation. Check the endpoint (reachable, function key as code parameter, /api/health), then create again or delete.`,
                ]
              : []),
          ].join('\n');
    return { data: { subscriptions: subs.map(asJson) }, text };
  },
});

export const subscriptionsDelete = defineCommand({
  path: ['subscriptions', 'delete'],
  summary: 'delete one Altinn Events subscription',
  synopsis: '<id> [--yes]',
  optionHelp: [['<id>', 'subscription id (see: subscriptions list)'], YES_HELP],
  options: { yes: { type: 'boolean' } },
  positionals: 1,
  schema: z.object({
    args: z.tuple([z.string().regex(/^\d{1,10}$/, 'the subscription id must be a number')], { error: 'the subscription <id> is required' }),
    yes: z.boolean().default(false),
  }),
  examples: [`${BIN} subscriptions delete 4711`, `${BIN} subscriptions delete 4711 --yes`],
  async run(args, ctx) {
    const [id] = args.args;
    await requireConfirmation(ctx, args.yes, `Delete Altinn Events subscription ${id}? Altinn stops pushing its events.`, id);
    const { config } = await ctx.runtime();
    try {
      await (await ctx.altinn()).send('DELETE', `${subscriptionsUrl(config)}/${id}`);
    } catch (e) {
      if (e instanceof CliError && e.details.status === 404) throw new CliError(`no subscription ${id}\n${e.message}`, EXIT.user, e.details);
      throw e;
    }
    return { data: { deleted: Number(id) }, text: `deleted subscription ${id}\n${CACHE_NOTE}` };
  },
});
