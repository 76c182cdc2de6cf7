import { describe, expect, it } from 'vitest';
import type { Simulator } from '../dev/simulator/index.js';
import { COMPLETE_FORBIDDEN } from '../lib/processor/heal.js';
import { manifestPath } from '../lib/processor/manifest.js';
import { QUEUES } from '../lib/queue/names.js';
import type { fakeClock } from './support/clock.js';
import { messageFor, processorFor, untilDone, withSimulatorOnClock } from './support/processor.js';

/**
 * `complete` answered 403, over real sockets (Azurite and the simulator, on a fake clock they share): Storage decides
 * `complete` by Authorization with the app's policy (dev/simulator/policy.ts), and Authorization down answers 403 too,
 * so the 403 is deferred over HEAL_WINDOW_MINUTES like a read's before it is poisoned as a configuration problem.
 */
let sim: Simulator;
let env: Record<string, string>;
let clock: ReturnType<typeof fakeClock>;

withSimulatorOnClock((s, e, c) => {
  sim = s;
  env = e;
  clock = c;
});

const guidOf = (doc: { id: string }) => doc.id.split('/')[1]!;
const seed = (app: string) => sim.seedInstance({ app, completed: true, elements: [{ dataType: 'model', contentType: 'application/xml', size: 2_345, withContentHash: true }] });

describe('complete answered 403 (the app policy lacks the complete action)', () => {
  it('deferred over the heal window, then poisoned with the configuration reason; the stored blobs are kept', async () => {
    const h = await processorFor(sim, env, { HEAL_WINDOW_MINUTES: '60' }, { clock });
    const doc = await seed('nocomplete');
    sim.policies.deny('nocomplete', 'complete');
    const start = clock.now();
    const { outcomes, rounds } = await untilDone(h, [messageFor(doc, { enqueuedAt: new Date(start).toISOString() })]);

    expect(outcomes).toHaveLength(1);
    const outcome = outcomes[0]!;
    expect(outcome.kind).toBe('poisoned');
    expect(outcome.kind === 'poisoned' && outcome.reason).toMatch(
      /^the app's policy does not grant ttd the complete action: add it \(Altinn Studio → policy\), then `poison replay`: Storage answered 403 × \d+ over 1\.0 h .*last: complete-forbidden: /,
    );
    expect(rounds).toBeGreaterThan(2);
    expect(clock.now() - start).toBeGreaterThanOrEqual(60 * 60_000);
    expect(h.lines('message deferred').map((l) => l.why)).toEqual(Array.from({ length: rounds - 1 }, () => 'complete-forbidden'));
    expect(h.lines(COMPLETE_FORBIDDEN)).toHaveLength(1);
    expect(h.lines(COMPLETE_FORBIDDEN)[0]).toMatchObject({ level: 'error' });
    // Downloaded once (later runs find the manifest current), never confirmed, never announced; the blobs stay.
    const guid = guidOf(doc);
    expect(sim.requests.filter((r) => r.route === 'storage.data' && r.path.includes(guid))).toHaveLength(1);
    expect(sim.counters.effectiveCompletes[guid] ?? 0).toBe(0);
    expect(h.sent(QUEUES.ready)).toEqual([]);
    const [partyId = ''] = doc.id.split('/');
    expect(await h.container.getBlockBlobClient(manifestPath({ org: sim.org, app: 'nocomplete', partyId, instanceGuid: guid })).exists()).toBe(true);
  });

  it('the action granted again inside the window: confirmed once, one ready message, nothing poisoned', async () => {
    const h = await processorFor(sim, env, { HEAL_WINDOW_MINUTES: '60' }, { clock });
    const doc = await seed('latecomplete');
    sim.policies.deny('latecomplete', 'complete');
    const { outcomes, rounds } = await untilDone(h, [messageFor(doc, { enqueuedAt: new Date(clock.now()).toISOString() })], {
      between: (round) => void (round === 2 && sim.policies.allow('latecomplete', 'complete')),
    });

    expect(outcomes).toEqual([expect.objectContaining({ kind: 'confirmed' })]);
    expect(rounds).toBe(3);
    const guid = guidOf(doc);
    expect(sim.counters.effectiveCompletes[guid]).toBe(1);
    expect(h.sent(QUEUES.ready)).toHaveLength(1);
    expect(h.sent(QUEUES.poison)).toEqual([]);
    expect(h.lines(COMPLETE_FORBIDDEN)).toEqual([]);
  });
});
