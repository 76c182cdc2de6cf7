import { z } from 'zod';
import { instanceRefSchema, type HeldMessage } from '../../lib/queue/messages.js';
import { QUEUES } from '../../lib/queue/names.js';
import { ReceiverError } from '../../lib/errors.js';
import { BIN, defineCommand } from '../command.js';
import type { Context } from '../context.js';
import { userError } from '../errors.js';
import { oneLine } from '../output.js';
import { table } from '../table.js';

/** `{partyId}/{instanceGuid}`, as `held list`, the logs and Altinn name an instance. */
const instanceArg = z
  .string()
  .transform((s) => s.split('/'))
  .pipe(z.tuple([instanceRefSchema.shape.partyId, instanceRefSchema.shape.instanceGuid], { error: 'must be {partyId}/{instanceGuid}' }))
  .transform(([partyId, instanceGuid]) => ({ partyId, instanceGuid }));

const downloads = async (ctx: Context) => {
  const rt = await ctx.runtime();
  return { rt, container: rt.azure.blob.getContainerClient(rt.config.blobContainer) };
};

/** The submitter's file names: one line each, whatever they hold. */
const infectedText = (m: HeldMessage) => m.infected.map((e) => `${e.id} (${e.dataType}${e.filename ? `, ${oneLine(e.filename)}` : ''})`).join(', ');

export const heldList = defineCommand({
  path: ['held', 'list'],
  summary: 'instances held for infected elements: stored, not confirmed, waiting for an operator',
  synopsis: '',
  optionHelp: [],
  options: {},
  schema: z.object({}),
  examples: [`${BIN} held list`, `${BIN} held list --json | jq '.held[].infected'`],
  async run(_args, ctx) {
    const { container } = await downloads(ctx);
    const { listHeld } = await import('../../lib/processor/held.js');
    const { held, unreadable } = await listHeld(container);
    const lines = [
      held.length === 0 ? 'no held instances' : `${held.length} held instance(s), oldest first`,
      ...(held.length > 0 ? ['', table(['INSTANCE', 'APP', 'HELD', 'INFECTED'], held.map((m) => [`${m.partyId}/${m.instanceGuid}`, m.app, m.heldAt, infectedText(m)]))] : []),
      ...(unreadable.length > 0 ? ['', `unreadable index blobs (not shown): ${unreadable.join(', ')}`] : []),
    ];
    return { data: { count: held.length, held, unreadable }, text: lines.join('\n') };
  },
});

export const heldRelease = defineCommand({
  path: ['held', 'release'],
  summary: `confirm a held instance to Altinn and send its ${QUEUES.ready} message listing the infected elements`,
  synopsis: '<partyId/instanceGuid> (--confirm | --dry-run)',
  positionals: 1,
  optionHelp: [
    ['--confirm', 'do it: after checking the instance with the submitter, the infected elements are never downloaded'],
    ['--dry-run', 'show the ready message that would be sent, change nothing'],
  ],
  options: { confirm: { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
  schema: z
    .object({ args: z.tuple([instanceArg], { error: 'give the instance: {partyId}/{instanceGuid} (see: held list)' }), confirm: z.boolean().default(false), 'dry-run': z.boolean().default(false) })
    .refine((a) => a.confirm !== a['dry-run'], 'give exactly one of --confirm and --dry-run'),
  examples: [
    `${BIN} held release 50001337/0b1e2d3c-4a5b-4c6d-8e7f-9a0b1c2d3e4f --dry-run`,
    `${BIN} held release 50001337/0b1e2d3c-4a5b-4c6d-8e7f-9a0b1c2d3e4f --confirm`,
  ],
  async run(args, ctx) {
    const [ref] = args.args;
    const { rt, container } = await downloads(ctx);
    const [{ releaseHeld }, { createBlobStore }, { createStorageClient }] = await Promise.all([
      import('../../lib/processor/held.js'),
      import('../../lib/blob/store.js'),
      import('../../lib/altinn/storageClient.js'),
    ]);
    const dryRun = args['dry-run'];
    // Building the client asks Altinn nothing: a dry run needs no token.
    const storage = createStorageClient({ http: await rt.altinnHttp(), config: rt.config });
    const { held, ready } = await releaseHeld({ storage, store: createBlobStore(container), queues: rt.queues, clock: rt.clock, log: rt.log }, ref, { dryRun }).catch(
      (e: unknown) => {
        throw e instanceof ReceiverError && e.code === 'held-not-found' ? userError(e.message) : e;
      },
    );
    const id = `${held.partyId}/${held.instanceGuid}`;
    const text = dryRun
      ? [`would confirm ${held.app} ${id} to Altinn and send to ${QUEUES.ready} (dry run: nothing changed):`, JSON.stringify(ready, null, 2)].join('\n')
      : `released ${held.app} ${id}: confirmed to Altinn, ready message sent to ${QUEUES.ready} (infected, not downloaded: ${infectedText(held)})`;
    return { data: { dryRun, instance: id, app: held.app, infected: held.infected, ready }, text };
  },
});

