import { randomUUID } from 'node:crypto';
import type { QueueClient } from '@azure/storage-queue';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  QueueServiceClient,
  StorageSharedKeyCredential,
} from '@azure/storage-queue';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { connectionString, DEV_ACCOUNT, DEV_KEY, startAzuriteService, type AzuriteProcess } from '../dev/azurite.js';
import { decodeMessage, encodeMessage, eventsMessageSchema, type EventsMessage } from '../lib/queue/messages.js';
import { QUEUES } from '../lib/queue/names.js';
import { jsonOf, runCli } from './support/cli.js';
import { validEnv } from './support/settings.js';

/**
 * The CLI works on the fixed queue names of the contract, so this file has a queue service of its own
 * (the run's Azurite blob service is shared): no other test file can see or take these messages.
 */
let queueService: AzuriteProcess;
let service: QueueServiceClient;
let env: Record<string, string | undefined>;
let poison: QueueClient;
let events: QueueClient;

beforeAll(async () => {
  queueService = await startAzuriteService('queue');
  const cs = connectionString(inject('azurite').blobPort, queueService.port);
  service = QueueServiceClient.fromConnectionString(cs);
  env = validEnv({ AzureWebJobsStorage: cs });
  poison = service.getQueueClient(QUEUES.poison);
  events = service.getQueueClient(QUEUES.events);
});
afterAll(async () => {
  await queueService.stop();
});
beforeEach(async () => {
  await Promise.all([poison.deleteIfExists(), events.deleteIfExists()]);
});

const ref = (app = 'my-app') => ({ org: 'ttd', app, partyId: '50001337', instanceGuid: randomUUID() });
const eventMessage = (r = ref()): EventsMessage => ({ ...r, eventId: randomUUID(), eventType: 'app.instance.process.completed', reason: 'event', enqueuedAt: new Date().toISOString() });

/** Poison in both shapes: raw messages the host moved, and the processor's envelopes (original as object or as text). */
async function seedPoison() {
  await poison.createIfNotExists();
  const hostMoved = [eventMessage(), eventMessage()];
  const rejectedObject = eventMessage(ref('other-app'));
  const rejectedText = eventMessage();
  const ids = {
    hostMoved: await Promise.all(hostMoved.map(async (m) => (await poison.sendMessage(encodeMessage(m))).messageId)),
    envelopeObject: (await poison.sendMessage(encodeMessage({ reason: 'altinn-http-404: instance gone', original: rejectedObject, failedAt: new Date().toISOString() }))).messageId,
    envelopeText: (await poison.sendMessage(encodeMessage({ reason: 'altinn-http-403: forbidden', original: encodeMessage(rejectedText), failedAt: new Date().toISOString() }))).messageId,
    garbage: (await poison.sendMessage(encodeMessage({ reason: 'invalid message: partyId: partyId must be digits', original: { org: 'ttd', app: 'my-app', partyId: 'x' }, failedAt: new Date().toISOString() }))).messageId,
  };
  return { ids, messages: [...hostMoved, rejectedObject, rejectedText] };
}

async function drainEvents(): Promise<EventsMessage[]> {
  const out: EventsMessage[] = [];
  for (;;) {
    const { receivedMessageItems } = await events.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) return out;
    for (const m of receivedMessageItems) {
      const decoded = decodeMessage(eventsMessageSchema, m.messageText);
      if (!decoded.ok) throw new Error(decoded.reason);
      out.push(decoded.value);
    }
  }
}

const peekAll = async () => (await poison.peekMessages({ numberOfMessages: 32 })).peekedMessageItems;

describe('poison list', () => {
  it('an absent or empty poison queue', async () => {
    const run = await runCli(['poison', 'list'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('altinn-events-poison is empty');
  });

  it('count, oldest, reasons and every message, in both shapes', async () => {
    const { ids } = await seedPoison();
    const run = await runCli(['poison', 'list', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const out = jsonOf<{ count: number; oldest: string; reasons: Record<string, number>; messages: { messageId: string; instance?: { app: string }; problem?: string }[] }>(run);
    expect(out.count).toBe(5);
    expect(Date.parse(out.oldest)).not.toBeNaN();
    expect(out.reasons).toEqual({
      'failed repeatedly (moved here by the Functions host)': 2,
      'altinn-http-404: instance gone': 1,
      'altinn-http-403: forbidden': 1,
      'invalid message: partyId: partyId must be digits': 1,
    });
    const byId = new Map(out.messages.map((m) => [m.messageId, m]));
    expect(byId.get(ids.envelopeObject)?.instance?.app).toBe('other-app');
    expect(byId.get(ids.envelopeText)?.instance?.app).toBe('my-app');
    expect(byId.get(ids.garbage)?.instance).toBeUndefined();
    expect(byId.get(ids.garbage)?.problem).toContain('partyId');

    const text = await runCli(['poison', 'list'], { env });
    expect(text.stdout).toContain('5 message(s) in altinn-events-poison');
    expect(text.stdout).toMatch(/MESSAGE ID +INSERTED +INSTANCE +REASON/);
    expect(text.stdout).toContain(`other-app 50001337/`);
  });
});

describe('poison replay', () => {
  it('--dry-run reports and changes nothing', async () => {
    const { ids } = await seedPoison();
    const before = await peekAll();
    const run = await runCli(['poison', 'replay', '--all', '--dry-run', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const out = jsonOf<{ dryRun: boolean; replayed: unknown[]; skipped: { messageId: string }[] }>(run);
    expect(out.dryRun).toBe(true);
    expect(out.replayed).toHaveLength(4);
    expect(out.skipped.map((s) => s.messageId)).toEqual([ids.garbage]);
    const after = await peekAll();
    expect(after.map((m) => [m.messageId, m.dequeueCount, m.messageText])).toEqual(before.map((m) => [m.messageId, m.dequeueCount, m.messageText]));
    expect(await events.exists()).toBe(false);
  });

  it('--id moves one message back to altinn-events with reason "replay"', async () => {
    const { ids, messages } = await seedPoison();
    const run = await runCli(['poison', 'replay', '--id', ids.envelopeText], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('replayed 1 message(s) to altinn-events');
    const sent = await drainEvents();
    expect(sent).toHaveLength(1);
    const original = messages[3]!;
    const { enqueuedAt: _at, ...same } = original;
    expect(sent[0]).toMatchObject({ ...same, reason: 'replay' });
    expect(sent[0]!.enqueuedAt).not.toBe(original.enqueuedAt);
    const left = (await peekAll()).map((m) => m.messageId);
    expect(left).toHaveLength(4);
    expect(left).not.toContain(ids.envelopeText);
  });

  it('--all moves every readable message, leaves the unreadable one visible in poison and reports it', async () => {
    const { ids, messages } = await seedPoison();
    const run = await runCli(['poison', 'replay', '--all', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const out = jsonOf<{ replayed: { messageId: string }[]; skipped: { messageId: string; problem: string }[] }>(run);
    expect(out.replayed).toHaveLength(4);
    expect(out.skipped.map((s) => s.messageId)).toEqual([ids.garbage]);
    expect(out.skipped[0]?.problem).toContain('partyId');
    const sent = await drainEvents();
    expect(sent.map((m) => m.instanceGuid).sort()).toEqual(messages.map((m) => m.instanceGuid).sort());
    expect(sent.every((m) => m.reason === 'replay')).toBe(true);
    expect((await peekAll()).map((m) => m.messageId)).toEqual([ids.garbage]);
  });

  it('when the re-enqueue fails, nothing leaves poison: exit 3', async () => {
    await seedPoison();
    // Storage access that may read, process and delete messages, but not add one (so every send fails with 403).
    const sas = generateAccountSASQueryParameters(
      {
        expiresOn: new Date(Date.now() + 3_600_000),
        permissions: AccountSASPermissions.parse('rlpucd'),
        services: AccountSASServices.parse('q').toString(),
        resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      },
      new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY),
    ).toString();
    const noAdd = `AccountName=${DEV_ACCOUNT};QueueEndpoint=${queueService.url};BlobEndpoint=http://127.0.0.1:${inject('azurite').blobPort}/${DEV_ACCOUNT};SharedAccessSignature=${sas}`;
    const run = await runCli(['poison', 'replay', '--all'], { env: { ...env, AzureWebJobsStorage: noAdd } });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('storage request failed (status 403)');
    expect(run.stderr).toContain('replayed 0 message(s) before that');
    expect(run.stderr).not.toContain(sas.slice(-20));
    expect(await peekAll()).toHaveLength(5);
    expect((await events.receiveMessages({ numberOfMessages: 32 })).receivedMessageItems).toHaveLength(0);
  });

  it('an unknown --id, or one that names no instance, is a user error and moves nothing', async () => {
    const { ids } = await seedPoison();
    const unknown = await runCli(['poison', 'replay', '--id', 'no-such-id'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no message no-such-id in altinn-events-poison');
    const garbage = await runCli(['poison', 'replay', '--id', ids.garbage], { env });
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toContain('names no instance');
    expect(await peekAll()).toHaveLength(5);
    expect(await events.exists()).toBe(false);
  });
});

describe('poison purge', () => {
  it('refuses without --yes when stdin is not a terminal (exit 2, usage), deleting nothing', async () => {
    await seedPoison();
    const run = await runCli(['poison', 'purge', '--older-than', '0s'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('add --yes');
    expect(run.stderr).toContain('usage: altinn-receiver poison purge');
    expect(await peekAll()).toHaveLength(5);
  });

  it('on a terminal, asks first: "n" deletes nothing (exit 1), "y" deletes', async () => {
    await seedPoison();
    const no = await runCli(['poison', 'purge', '--older-than', '0s'], { env, tty: true, input: 'n\n' });
    expect(no.stdout).toMatch(/Delete every message in altinn-events-poison inserted before \S+\? \[y\/N\]/);
    expect(no.code).toBe(1);
    expect(no.stdout).toContain('not confirmed: nothing deleted');
    expect(await peekAll()).toHaveLength(5);
    const yes = await runCli(['poison', 'purge', '--older-than', '0s'], { env, tty: true, input: 'y\n' });
    expect(yes.code, yes.stdout).toBe(0);
    expect(yes.stdout).toContain('deleted 5 message(s)');
    expect(await peekAll()).toHaveLength(0);
  });

  it('deletes only messages older than the duration', async () => {
    await seedPoison();
    const young = await runCli(['poison', 'purge', '--older-than', 'P7D', '--yes', '--json'], { env });
    expect(young.code, young.stderr).toBe(0);
    expect(jsonOf(young)).toMatchObject({ purged: 0 });
    expect(await peekAll()).toHaveLength(5);
    const all = await runCli(['poison', 'purge', '--older-than', '0s', '--yes'], { env });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain('deleted 5 message(s)');
    expect(await peekAll()).toHaveLength(0);
  });
});
