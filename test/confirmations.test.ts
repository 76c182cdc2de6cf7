import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../dev/simulator/index.js';
import { measureConfirmations } from '../lib/ops/confirmations.js';
import { MONITOR_MSG, runMonitor } from '../lib/ops/monitor.js';
import { lockPath } from '../lib/processor/lease.js';
import { CONFIRMED_TAG, manifestPath, manifestSchema } from '../lib/processor/manifest.js';
import { KNOWN_TAG } from '../lib/processor/timing.js';
import { createLogger } from '../lib/log.js';
import { readyMessageSchema, type InstanceRef } from '../lib/queue/messages.js';
import { QUEUES } from '../lib/queue/names.js';
import { createRuntime } from '../lib/runtime.js';
import { messageFor, processorFor, withSimulator } from './support/processor.js';
import { azuriteConnectionString } from './support/storage.js';
import { request, webhookDeps } from './support/webhook.js';
import { receiveEvent } from '../lib/webhook/receiveEvent.js';

/**
 * Time to confirmation: what each confirmed instance records (manifest, ready message, done line), and what the
 * monitor reads back from the blob index tags the processor set in writes it makes anyway (real Azurite).
 */
let sim: Simulator;
let env: Record<string, string>;
withSimulator((s, e) => {
  sim = s;
  env = e;
});

const refOf = (doc: { id: string }, app: string): InstanceRef => {
  const [partyId = '', instanceGuid = ''] = doc.id.split('/');
  return { org: 'ttd', app, partyId, instanceGuid };
};

/** Every `<alias>.<field>` the workbook's queries read, by alias (m monitor, a its per-app entry, p processor, w webhook). */
function workbookFields(): Record<string, string[]> {
  const bicep = readFileSync(join(import.meta.dirname, '..', 'infra', 'modules', 'workbook.bicep'), 'utf8');
  const queries = [...bicep.matchAll(/^(?:var \w+Lines = |\s+query: )'([^\n]*)'$/gm)].map((q) => q[1]!).join('\n');
  const found: Record<string, Set<string>> = {};
  for (const [, alias, field] of queries.matchAll(/\b([mapw])\.(\w+)/g)) (found[alias!] ??= new Set()).add(field!);
  return Object.fromEntries(Object.entries(found).map(([k, v]) => [k, [...v].sort()]));
}

/** The m.<field>s the alert rule `name` of infra/modules/alerts.bicep reads, from the Bicep source. */
function alertFields(name: string): string[] {
  const bicep = readFileSync(join(import.meta.dirname, '..', 'infra', 'modules', 'alerts.bicep'), 'utf8');
  const rule = bicep.slice(bicep.indexOf(`name: '${name}'`)).split('\n  }')[0] ?? '';
  const query = /query: '([^\n]*)'/.exec(rule)?.[1] ?? '';
  return [...new Set([...query.matchAll(/\bm\.(\w+)/g)].map((m) => m[1]!))];
}

describe('time to confirmation', () => {
  it('is recorded per instance, read back per app without a listing per instance, and the age alert fires on a fake clock', async () => {
    const h = await processorFor(sim, env, { ALTINN_APPS: 'ttc' });
    const now = h.clock.now();
    const form = [{ dataType: 'model', contentType: 'application/xml', size: 100 }];
    // Submitted 10 and 20 minutes before the processor's clock; heard of by the webhook and by the reconciler.
    const a = await sim.seedInstance({ app: 'ttc', completed: true, elements: form, lastChanged: new Date(now - 600_000) });
    const b = await sim.seedInstance({ app: 'ttc', completed: true, elements: form, lastChanged: new Date(now - 1_200_000) });
    const heardA = new Date(now - 590_000).toISOString();
    await expect(h.processor.handle(messageFor(a, { eventType: 'app.instance.process.completed', enqueuedAt: heardA }))).resolves.toMatchObject({ kind: 'confirmed' });
    await expect(h.processor.handle(messageFor(b, { reason: 'reconcile', eventId: undefined, enqueuedAt: new Date(now - 60_000).toISOString() }))).resolves.toMatchObject({ kind: 'confirmed' });

    const manifestA = manifestSchema.parse(JSON.parse((await h.container.getBlockBlobClient(manifestPath(refOf(a, 'ttc'))).downloadToBuffer()).toString()));
    // process.ended as Altinn wrote it (7-digit fraction).
    expect(Date.parse(manifestA.processEndedAt ?? '')).toBe(now - 600_000);
    expect(manifestA).toMatchObject({ firstHeardAt: heardA, firstHeardVia: 'webhook', readyAt: new Date(now).toISOString() });
    const ready = h.sent(QUEUES.ready).map((s) => readyMessageSchema.parse(s.message));
    expect(ready.map((r) => [r.firstHeardVia, Date.parse(r.processEndedAt ?? ''), r.confirmedAt])).toEqual([
      ['webhook', now - 600_000, new Date(now).toISOString()],
      ['reconciler', now - 1_200_000, new Date(now).toISOString()],
    ]);
    const done = h.lines('done').filter((l) => l.outcome === 'confirmed');
    expect(done.map((l) => [l.firstHeardVia, l.confirmSeconds])).toEqual([['webhook', 600], ['reconciler', 1200]]);
    expect(done[0]).toMatchObject({ processEndedAt: manifestA.processEndedAt, firstHeardAt: heardA, confirmedAt: manifestA.readyAt });
    // The tags rode on the lock's creation and the manifest's last write.
    expect(Object.keys((await h.container.getBlockBlobClient(manifestPath(refOf(a, 'ttc'))).getTags()).tags)).toEqual([CONFIRMED_TAG]);
    expect((await h.container.getBlockBlobClient(lockPath(refOf(a, 'ttc'))).getTags()).tags[KNOWN_TAG]).toBe(`${heardA} via=webhook`);

    // C: heard of by the webhook and stored, but Storage keeps failing `complete`: deferred, known, not confirmed.
    const c = await sim.seedInstance({ app: 'ttc', completed: true, elements: form, lastChanged: new Date(now - 300_000) });
    const heardC = new Date(now - 290_000).toISOString();
    sim.faults.add({ route: 'storage.complete', instanceGuid: refOf(c, 'ttc').instanceGuid, status: 503, times: Infinity });
    await expect(h.processor.handle(messageFor(c, { eventType: 'app.instance.process.completed', enqueuedAt: heardC }))).resolves.toMatchObject({ kind: 'deferred' });

    const report = await measureConfirmations(h.container, now, ['ttc', 'quiet']);
    expect(report.apps).toEqual([
      { app: 'quiet', confirmations: 0, p50Seconds: null, p95Seconds: null, unconfirmed: 0, oldestUnconfirmedHeardAt: null, oldestUnconfirmedAgeSeconds: null },
      { app: 'ttc', confirmations: 2, p50Seconds: 600, p95Seconds: 1200, unconfirmed: 1, oldestUnconfirmedHeardAt: heardC, oldestUnconfirmedAgeSeconds: 290 },
    ]);
    // Two listings (one page each): the monitor's whole cost for these figures.
    expect(report.transactions).toBe(2);

    // An hour later (the processor's fake clock), C is past UNCONFIRMED_LIMIT_MINUTES=60: the monitor line says so.
    h.clock.advance(3_600_000);
    const lines: string[] = [];
    const rt = createRuntime({ ...env, AzureWebJobsStorage: azuriteConnectionString(), BLOB_CONTAINER: h.config.blobContainer, ALTINN_APPS: 'ttc' });
    const fields = await runMonitor(() => rt, h.clock, createLogger((_l, line) => lines.push(line)));
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    // (C's deferral slept on the fake clock too: its retries moved it on a little.)
    const ageC = Math.round((h.clock.now() - Date.parse(heardC)) / 1000);
    expect(ageC).toBeGreaterThan(3600);
    expect(line).toMatchObject({ msg: MONITOR_MSG, level: 'warn', confirmationsLastHour: 0, unconfirmedCount: 1, oldestUnconfirmedAgeSeconds: ageC, unconfirmedLimitSeconds: 3600 });
    expect(fields.problems).toContainEqual(expect.stringMatching(/^ttc: the oldest completed instance not yet confirmed was first heard of 65 min ago \(limit 60 min; 1 waiting\)/));
    // The alert rule's query reads exactly fields this line carries, and its condition holds.
    const named = alertFields('unconfirmed-too-old');
    expect(named.sort()).toEqual(['oldestUnconfirmedAgeSeconds', 'unconfirmedLimitSeconds']);
    for (const f of named) expect(line, f).toHaveProperty(f);
    expect(Number(line.oldestUnconfirmedAgeSeconds)).toBeGreaterThan(Number(line.unconfirmedLimitSeconds));

    // The workbook reads only fields these lines carry: the monitor's (and its per-app entries), the processor's, the webhook's.
    const { deps, log: webhookLog } = webhookDeps({ ALTINN_EVENT_TYPES: 'app.instance.process.completed' });
    const event = { id: 'e1', specversion: '1.0', type: 'app.instance.process.completed', source: `https://ttd.apps.tt02.altinn.no/ttd/ttc/instances/${refOf(a, 'ttc').partyId}/${refOf(a, 'ttc').instanceGuid}` };
    expect((await receiveEvent(request(JSON.stringify(event)), deps)).status).toBe(200);
    const samples: Record<string, Record<string, unknown>[]> = {
      m: [line],
      a: (line.confirmationsByApp as Record<string, unknown>[]).filter((e) => e.app === 'ttc'),
      p: [...done, ...h.lines('deferred')],
      w: webhookLog.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.decision === 'enqueued'),
    };
    const read = workbookFields();
    expect(Object.keys(read).sort()).toEqual(['a', 'm', 'p', 'w']);
    for (const [alias, fields] of Object.entries(read)) {
      expect(samples[alias], alias).not.toEqual([]);
      for (const f of fields) expect(samples[alias]!.some((l) => f in l), `${alias}.${f}`).toBe(true);
    }
    expect(samples.p!.map((l) => l.msg)).toEqual(expect.arrayContaining(['done', 'message deferred']));
  });
});
