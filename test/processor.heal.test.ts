import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { InstanceDoc, Simulator } from '../dev/simulator/index.js';
import { RESTRICTED_DATA } from '../lib/processor/heal.js';
import { eventsMessageSchema, type PoisonEnvelope } from '../lib/queue/messages.js';
import { QUEUES } from '../lib/queue/names.js';
import type { fakeClock } from './support/clock.js';
import { messageFor, processorFor, untilDone, withSimulatorOnClock } from './support/processor.js';

/**
 * Heal, don't poison (issue 25.2) and no state before proof (issue 27.2), over real sockets (Azurite and
 * the simulator), on a fake clock the simulator and the processor share. Storage answers 403 when
 * Authorization is down and 404 for any exception on an instance GET: both are deferred over
 * HEAL_WINDOW_MINUTES (default 180) before a message is poisoned.
 */
let sim: Simulator;
let env: Record<string, string>;
let clock: ReturnType<typeof fakeClock>;

withSimulatorOnClock((s, e, c) => {
  sim = s;
  env = e;
  clock = c;
});

const FORM = { dataType: 'model', contentType: 'application/xml', size: 3_210 } as const;
const PDF = { dataType: 'vedlegg', contentType: 'application/pdf', filename: 'vedlegg.pdf', size: 70_001 } as const;
const guidOf = (doc: InstanceDoc) => doc.id.split('/')[1]!;
const altinnRequests = (guid: string) => sim.requests.filter((r) => r.path.includes(guid));
const now = () => new Date(clock.now()).toISOString();

async function blobCount(h: Awaited<ReturnType<typeof processorFor>>): Promise<number> {
  let n = 0;
  for await (const blob of h.container.listBlobsFlat()) if (blob.name) n++;
  return n;
}

describe('forged events for instances that do not exist (no state before proof)', () => {
  it('20 forged events: 0 blobs written, 9 Altinn requests each, poisoned after the window as "instance not found in Altinn Storage"', async () => {
    const h = await processorFor(sim, env, { SETTLE_SECONDS: '60' }, { clock });
    const start = clock.now();
    const forged = Array.from({ length: 20 }, (_, i) => messageFor({ id: `${50_100_000 + i}/${randomUUID()}`, appId: 'ttd/soknad' }, { enqueuedAt: now() }));
    const { outcomes, rounds } = await untilDone(h, forged);

    expect(outcomes.map((o) => o.kind)).toEqual(forged.map(() => 'poisoned'));
    expect(clock.now() - start).toBeGreaterThan(60_000 + 180 * 60_000);
    for (const o of outcomes) {
      expect(o.kind === 'poisoned' && o.reason).toMatch(
        /^instance not found in Altinn Storage: Storage answered 404 × 9 over 3\.0 h since \S+ \(HEAL_WINDOW_MINUTES=180\); last: altinn-http-404: Altinn answered 404/,
      );
    }
    // The first delivery waits the settle time and asks nothing; each later one costs one instance GET.
    for (const m of forged) expect(altinnRequests(String(m.instanceGuid)).map((r) => r.route)).toEqual(Array.from({ length: 9 }, () => 'storage.instance'));
    expect(rounds).toBe(10);
    expect(await blobCount(h)).toBe(0);
    const poison = h.sent(QUEUES.poison).map((s) => s.message as PoisonEnvelope);
    expect(poison).toHaveLength(20);
    // The deferred messages carried when Storage first refused and how often (the contract's `refused`).
    const last = eventsMessageSchema.parse(poison[0]!.original);
    expect(last.refused).toEqual({ since: new Date(start + 60_000).toISOString(), forbidden: 0, notFound: 8 });
  });
});

describe('403 and 404 from Storage heal', () => {
  it('45 s of 403 (Authorization down) then 20 s of 404 (the catch-all on instance GET): every instance confirmed once, none poisoned', async () => {
    const h = await processorFor(sim, env, {}, { clock });
    const docs = await Promise.all(Array.from({ length: 8 }, () => sim.seedInstance({ app: 'blipp', elements: [FORM, PDF], completed: true })));
    const start = clock.now();
    sim.faults.authorizationDown(45_000);
    sim.faults.instanceLookupFailing(20_000, 45_000);

    const first = docs.slice(0, 4).map((d) => messageFor(d, { enqueuedAt: now() }));
    const firstRound = await Promise.all(first.map((m) => h.processor.handle(m)));
    expect(firstRound.map((o) => o.kind === 'deferred' && o.reason)).toEqual(first.map(() => 'altinn-http-403'));
    clock.set(start + 50_000);
    const second = docs.slice(4).map((d) => messageFor(d, { enqueuedAt: now() }));
    const deferredFirst = docs.slice(0, 4).map((d) => h.sent(QUEUES.events).filter((s) => (s.message as { instanceGuid: string }).instanceGuid === guidOf(d)).at(-1)!.message as Record<string, unknown>);
    const { outcomes } = await untilDone(h, [...deferredFirst, ...second]);

    expect(outcomes.map((o) => o.kind)).toEqual(docs.map(() => 'confirmed'));
    expect(h.sent(QUEUES.poison)).toEqual([]);
    for (const d of docs) expect(sim.counters.effectiveCompletes[guidOf(d)]).toBe(1);
    expect(h.sent(QUEUES.ready)).toHaveLength(docs.length);
    const statuses = sim.requests.filter((r) => r.route === 'storage.instance' && docs.some((d) => r.path.includes(guidOf(d)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 403)).toHaveLength(4);
    expect(statuses.filter((s) => s === 404)).toHaveLength(8);
    // The first four met both: the message counted each.
    const carried = h.sent(QUEUES.events).map((s) => eventsMessageSchema.parse(s.message)).filter((m) => m.instanceGuid === guidOf(docs[0]!));
    expect(carried.at(-1)?.refused).toEqual({ since: new Date(start).toISOString(), forbidden: 1, notFound: 1 });
    expect(h.lines('heal').length).toBeGreaterThanOrEqual(12);
  });

  it('a 404 on an element is deferred too, and the instance is confirmed once Storage serves it', async () => {
    const h = await processorFor(sim, env, {}, { clock });
    const doc = await sim.seedInstance({ app: 'blipp', elements: [FORM, PDF], completed: true });
    sim.faults.add({ route: 'storage.data', dataGuid: doc.data[1]!.id, status: [404, 404] });
    const { outcomes, rounds } = await untilDone(h, [messageFor(doc)]);
    expect(outcomes).toEqual([expect.objectContaining({ kind: 'confirmed' })]);
    expect(rounds).toBe(3);
    expect(h.lines('heal').map((l) => (l.error as { message?: string }).message)).toEqual([
      expect.stringMatching(new RegExp(`^Altinn answered 404 to GET .*/data/${doc.data[1]!.id}`)),
      expect.stringMatching(/^Altinn answered 404/),
    ]);
    expect(sim.counters.effectiveCompletes[guidOf(doc)]).toBe(1);
  });

  it('a restricted data type (actionRequiredToRead) Storage will not serve our org: its own error code and line naming type and app; poisoned after the window; confirmed once the policy grants it', async () => {
    const h = await processorFor(sim, env, { HEAL_WINDOW_MINUTES: '30' }, { clock });
    sim.applications.declare('begrenset', { dataTypes: [{ id: 'model', form: true }, { id: 'ref-data-as-pdf' }, { id: 'signert', actionRequiredToRead: 'sign' }] });
    const doc = await sim.seedInstance({ app: 'begrenset', elements: [FORM, { dataType: 'signert', contentType: 'application/pdf', size: 1_234 }], completed: true });
    const { outcomes } = await untilDone(h, [messageFor(doc)]);

    expect(outcomes).toHaveLength(1);
    const reason = outcomes[0]!.kind === 'poisoned' ? outcomes[0]!.reason : '';
    expect(reason).toMatch(
      /^data type signert of app ttd\/begrenset is restricted \(actionRequiredToRead: sign\): .*grant that, or leave signert out of ALTINN_DATA_TYPES\): Storage answered 403 × \d+ over 30 min .*; last: element-restricted: data element /,
    );
    const errors = h.log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === RESTRICTED_DATA);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ level: 'error', error: { code: 'element-restricted', status: 403 } });
    expect(sim.counters.effectiveCompletes[guidOf(doc)] ?? 0).toBe(0);

    // The app's policy now grants our org the action: a replay goes through (the form stored earlier is kept).
    sim.policies.allow('begrenset', 'sign');
    await expect(h.processor.handle(messageFor(doc, { reason: 'replay', enqueuedAt: now() }))).resolves.toMatchObject({ kind: 'confirmed', downloaded: 1 });
  });
});
