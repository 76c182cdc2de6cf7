import { z } from 'zod';
import { eventsMessageSchema, instanceId, type EventsMessage } from '../../lib/queue/messages.js';
import { QUEUES } from '../../lib/queue/names.js';
import { BIN, defineCommand } from '../command.js';
import { requireConfirmation, YES_HELP } from '../confirm.js';
import type { Context } from '../context.js';
import { durationSchema } from '../duration.js';
import { CliError, toCliError, userError } from '../errors.js';
import { drainPoison, peekPoison, PEEK_LIMIT, type PoisonEntry } from '../poisonQueue.js';
import { table } from '../table.js';

const poisonQueue = async (ctx: Context) => (await ctx.runtime()).azure.queue.getQueueClient(QUEUES.poison);

const iso = (d: Date | undefined) => d?.toISOString() ?? '-';

function asJson(e: PoisonEntry) {
  return {
    messageId: e.messageId,
    insertedOn: e.insertedOn?.toISOString(),
    dequeueCount: e.dequeueCount,
    reason: e.reason,
    failedAt: e.failedAt,
    instance: e.ref ? { org: e.ref.org, app: e.ref.app, partyId: e.ref.partyId, instanceGuid: e.ref.instanceGuid } : undefined,
    problem: e.problem,
  };
}

const entryRows = (entries: PoisonEntry[]) =>
  entries.map((e) => [e.messageId, iso(e.insertedOn), e.ref ? `${e.ref.app} ${instanceId(e.ref)}` : `(unreadable: ${e.problem ?? ''})`, e.reason]);

const ENTRY_HEADERS = ['MESSAGE ID', 'INSERTED', 'INSTANCE', 'REASON'];

export const poisonList = defineCommand({
  path: ['poison', 'list'],
  summary: `show what is in ${QUEUES.poison}: count, oldest message, reasons`,
  synopsis: '',
  optionHelp: [],
  options: {},
  schema: z.object({}),
  examples: [`${BIN} poison list`, `${BIN} poison list --json | jq '.reasons'`],
  async run(_args, ctx) {
    const { count, entries } = await peekPoison(await poisonQueue(ctx));
    const oldest = entries.reduce<Date | undefined>((o, e) => (e.insertedOn && (!o || e.insertedOn < o) ? e.insertedOn : o), undefined);
    const reasons: Record<string, number> = {};
    for (const e of entries) reasons[e.reason] = (reasons[e.reason] ?? 0) + 1;
    const shown = entries.length < count ? ` (details of the first ${entries.length}: Azure lets one look at ${PEEK_LIMIT} at most)` : '';
    const text =
      count === 0
        ? `${QUEUES.poison} is empty`
        : [
            `${count} message(s) in ${QUEUES.poison}${shown}`,
            `oldest: ${iso(oldest)}`,
            'reasons:',
            ...Object.entries(reasons).map(([r, n]) => `  ${n}  ${r}`),
            '',
            table(ENTRY_HEADERS, entryRows(entries)),
          ].join('\n');
    return { data: { queue: QUEUES.poison, count, oldest: oldest?.toISOString(), reasons, messages: entries.map(asJson) }, text };
  },
});

/** The message a replay enqueues: the same instance (and event), reason "replay", validated like every producer's. */
const replayMessage = (e: PoisonEntry, now: number): EventsMessage | undefined =>
  e.ref ? eventsMessageSchema.parse({ ...e.ref, reason: 'replay', enqueuedAt: new Date(now).toISOString() }) : undefined;

export const poisonReplay = defineCommand({
  path: ['poison', 'replay'],
  summary: `move poison messages back to ${QUEUES.events} (reason "replay"); unreadable ones are reported and left`,
  synopsis: '(--all | --id <messageId>) [--dry-run]',
  optionHelp: [
    ['--all', 'replay every message'],
    ['--id <messageId>', 'replay one message (ids: poison list)'],
    ['--dry-run', `show what would be replayed (looks at the first ${PEEK_LIMIT} messages), change nothing`],
  ],
  options: { all: { type: 'boolean' }, id: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  schema: z
    .object({ all: z.boolean().default(false), id: z.string().trim().min(1).optional(), 'dry-run': z.boolean().default(false) })
    .refine((a) => a.all !== (a.id !== undefined), 'give exactly one of --all and --id <messageId>'),
  examples: [
    `${BIN} poison replay --all --dry-run`,
    `${BIN} poison replay --all`,
    `${BIN} poison replay --id 3c1e5f9a-0d2b-4a4e-9f51-2b6f0c7d8e91`,
  ],
  async run(args, ctx) {
    const queue = await poisonQueue(ctx);
    const wanted = (e: PoisonEntry) => args.all || e.messageId === args.id;
    const replayed: { messageId: string; instance: string; app: string; enqueuedAs: string | undefined }[] = [];
    const skipped: { messageId: string; problem: string }[] = [];
    let found = false;
    const consider = async (e: PoisonEntry, act: (m: EventsMessage) => Promise<string | undefined>) => {
      found = true;
      const message = replayMessage(e, ctx.clock.now());
      if (!message) {
        skipped.push({ messageId: e.messageId, problem: e.problem ?? 'no instance in the message' });
        return false;
      }
      replayed.push({ messageId: e.messageId, instance: instanceId(message), app: message.app, enqueuedAs: await act(message) });
      return true;
    };
    let total: number | undefined;
    if (args['dry-run']) {
      const { count, entries } = await peekPoison(queue);
      total = count;
      for (const e of entries.filter(wanted)) await consider(e, () => Promise.resolve(undefined));
    } else {
      const { queues } = await ctx.runtime();
      // Enqueue first, delete from poison only once that succeeded: a failure leaves the message where it was.
      await drainPoison(queue, async (e) => {
        if (!wanted(e)) return 'keep';
        const moved = await consider(e, async (m) => (await queues.send(QUEUES.events, m)).messageId);
        if (args.id !== undefined) return moved ? 'delete-and-stop' : 'keep-and-stop';
        return moved ? 'delete' : 'keep';
      }).catch((e: unknown) => {
        const err = toCliError(e);
        throw new CliError(`${err.message}\n(replayed ${replayed.length} message(s) before that; the rest are still in ${QUEUES.poison})`, err.exitCode, err.details);
      });
    }
    if (args.id !== undefined && !found) {
      const where = args['dry-run'] && (total ?? 0) > PEEK_LIMIT ? ` among the first ${PEEK_LIMIT}` : '';
      throw userError(`no message ${args.id} in ${QUEUES.poison}${where} (see: ${BIN} poison list)`);
    }
    if (args.id !== undefined && skipped[0]) throw userError(`message ${args.id} names no instance, so it cannot be replayed: ${skipped[0].problem}`);
    const verb = args['dry-run'] ? 'would replay' : 'replayed';
    const lines = [`${verb} ${replayed.length} message(s) to ${QUEUES.events}${args['dry-run'] ? ' (dry run: nothing changed)' : ''}`];
    for (const r of replayed) lines.push(`  ${r.messageId}  ${r.app} ${r.instance}`);
    if (skipped.length > 0) {
      lines.push(`left ${skipped.length} unreadable message(s) in ${QUEUES.poison}:`);
      for (const s of skipped) lines.push(`  ${s.messageId}  ${s.problem}`);
    }
    if (args['dry-run'] && total !== undefined && total > PEEK_LIMIT) lines.push(`(looked at the first ${PEEK_LIMIT} of ${total})`);
    return { data: { dryRun: args['dry-run'], replayed, skipped }, text: lines.join('\n') };
  },
});

export const poisonPurge = defineCommand({
  path: ['poison', 'purge'],
  summary: `delete poison messages inserted longer ago than a duration`,
  synopsis: '--older-than <duration> [--yes]',
  optionHelp: [
    ['--older-than <duration>', 'e.g. 7d, 12h, P30D, PT6H'],
    YES_HELP,
  ],
  options: { 'older-than': { type: 'string' }, yes: { type: 'boolean' } },
  schema: z.object({
    'older-than': z.string({ error: 'is required, e.g. --older-than 7d' }).pipe(durationSchema),
    yes: z.boolean().default(false),
  }),
  examples: [`${BIN} poison purge --older-than 7d`, `${BIN} poison purge --older-than P30D --yes --json`],
  async run(args, ctx) {
    const cutoff = new Date(ctx.clock.now() - args['older-than']);
    const queue = await poisonQueue(ctx);
    await requireConfirmation(ctx, args.yes, `Delete every message in ${QUEUES.poison} inserted before ${cutoff.toISOString()}?`);
    const purged: string[] = [];
    await drainPoison(queue, (e) => {
      const old = e.insertedOn !== undefined && e.insertedOn < cutoff;
      if (old) purged.push(e.messageId);
      return Promise.resolve(old ? 'delete' : 'keep');
    });
    return {
      data: { cutoff: cutoff.toISOString(), purged: purged.length, messageIds: purged },
      text: `deleted ${purged.length} message(s) inserted before ${cutoff.toISOString()} from ${QUEUES.poison}`,
    };
  },
});
