import { z } from 'zod';
import { appBaseUrl, DEFAULT_EVENT_TYPES, type CoreConfig } from '../../lib/config.js';
import { instanceRefSchema } from '../../lib/messages.js';
import { isLoopbackHost } from '../../lib/net.js';
import { BIN, defineCommand } from '../command.js';
import { CliError, EXIT, userError } from '../errors.js';
import { table } from '../table.js';

/** A subscription as the Events API returns it; tolerant of fields it may add. */
const subscriptionSchema = z.looseObject({
  id: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]),
  endPoint: z.string().nullish(),
  sourceFilter: z.string().nullish(),
  typeFilter: z.string().nullish(),
  subjectFilter: z.string().nullish(),
  consumer: z.string().nullish(),
  created: z.string().nullish(),
  validated: z.boolean().optional(),
});
type Subscription = z.infer<typeof subscriptionSchema>;
const subscriptionListSchema = z.looseObject({ subscriptions: z.array(subscriptionSchema).nullish() });

const subscriptionsUrl = (config: CoreConfig) => `${config.altinn.platformUrl}/events/api/v1/subscriptions`;

/** Altinn Events requires this scope for managing subscriptions; the functions themselves never need it. */
const SUBSCRIBE_SCOPE = ['altinn:events.subscribe'];

const EVENT_TYPE = /^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$/i;
const POLL_MS = 1_000;

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
  sourceFilter: s.sourceFilter ?? undefined,
  endPoint: s.endPoint ?? undefined,
  created: s.created ?? undefined,
});

const yesNo = (v: boolean | undefined) => (v === undefined ? '?' : v ? 'yes' : 'no');

export const subscriptionsCreate = defineCommand({
  path: ['subscriptions', 'create'],
  summary: "subscribe the webhook to one app's events in Altinn Events, and wait for Altinn to validate it",
  synopsis: '--app <app> --endpoint <url> [--type <event type>] [--wait <seconds>]',
  optionHelp: [
    ['--app <app>', 'app name (must be in ALTINN_APPS when that is set)'],
    ['--endpoint <url>', 'the webhook: https://…/api/events?code=<function key>'],
    ['--type <event type>', `event type to subscribe to (default ${DEFAULT_EVENT_TYPES})`],
    ['--wait <seconds>', 'how long to wait for the validation handshake (default 30; 0: do not wait)'],
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
      .default(30),
  }),
  examples: [
    `${BIN} subscriptions create --app my-app --endpoint 'https://my-receiver.azurewebsites.net/api/events?code=<function key>'`,
    `${BIN} subscriptions create --app my-app --endpoint '…' --type app.instance.process.completed --wait 60 --json`,
  ],
  scopes: SUBSCRIBE_SCOPE,
  async run(args, ctx) {
    const { config } = await ctx.runtime();
    if (config.apps.length > 0 && !config.apps.includes(args.app)) {
      throw userError(`app ${args.app} is not in ALTINN_APPS (${config.apps.join(', ')}): its events would be ignored`);
    }
    const endPoint = checkEndpoint(args.endpoint, config).href;
    const altinn = await ctx.altinn();
    const body = { endPoint, sourceFilter: appBaseUrl(config, args.app), typeFilter: args.type };
    let sub = await altinn.json('POST', subscriptionsUrl(config), subscriptionSchema, body);
    const deadline = ctx.clock.now() + args.wait * 1000;
    while (!sub.validated && ctx.clock.now() < deadline) {
      await ctx.clock.sleep(Math.min(POLL_MS, deadline - ctx.clock.now()));
      sub = await altinn.json('GET', `${subscriptionsUrl(config)}/${sub.id}`, subscriptionSchema);
    }
    const text = [
      `created subscription ${sub.id}: ${body.typeFilter} from ${body.sourceFilter} to ${endPoint}`,
      sub.validated
        ? 'validated: yes (Altinn reached the endpoint)'
        : `validated: no, not within ${args.wait} s (Altinn keeps retrying the handshake; check the endpoint, then: ${BIN} subscriptions list)`,
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
  scopes: SUBSCRIBE_SCOPE,
  async run(_args, ctx) {
    const { config } = await ctx.runtime();
    const list = await (await ctx.altinn()).json('GET', subscriptionsUrl(config), subscriptionListSchema);
    const subs = list.subscriptions ?? [];
    const text =
      subs.length === 0
        ? 'no subscriptions'
        : table(
            ['ID', 'VALIDATED', 'TYPE', 'SOURCE', 'ENDPOINT', 'CREATED'],
            subs.map((s) => [String(s.id), yesNo(s.validated), s.typeFilter ?? '(any)', s.sourceFilter ?? '(any)', s.endPoint ?? '', s.created ?? '']),
          );
    return { data: { subscriptions: subs.map(asJson) }, text };
  },
});

export const subscriptionsDelete = defineCommand({
  path: ['subscriptions', 'delete'],
  summary: 'delete one Altinn Events subscription',
  synopsis: '<id>',
  optionHelp: [['<id>', 'subscription id (see: subscriptions list)']],
  options: {},
  positionals: 1,
  schema: z.object({
    args: z.tuple([z.string().regex(/^\d{1,10}$/, 'the subscription id must be a number')], { error: 'the subscription <id> is required' }),
  }),
  examples: [`${BIN} subscriptions delete 4711`],
  scopes: SUBSCRIBE_SCOPE,
  async run(args, ctx) {
    const { config } = await ctx.runtime();
    const [id] = args.args;
    try {
      await (await ctx.altinn()).send('DELETE', `${subscriptionsUrl(config)}/${id}`);
    } catch (e) {
      if (e instanceof CliError && e.details.status === 404) throw new CliError(`no subscription ${id}\n${e.message}`, EXIT.user, e.details);
      throw e;
    }
    return { data: { deleted: Number(id) }, text: `deleted subscription ${id}` };
  },
});
