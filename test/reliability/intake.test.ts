import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanForSecrets } from '../../dev/soak/secrets.js';
import { startStack, type Stack } from '../../dev/soak/stack.js';
import { stopAll } from '../support/processes.js';

/**
 * Intake while storage is down: the queue service stops while Altinn Events (the simulator, with its
 * real retry schedule scaled down) delivers. The webhook answers 503, so Altinn keeps the events; once
 * the queue service is back, the retries land and every instance is stored and confirmed. No reconciler
 * runs here: the retries alone must bring everything in.
 */
const APP = 'intake';
const COUNT = 8;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ seed: 3, eventRetryScale: 0.01, subscribeApp: APP });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await stopAll();
});

describe('queue service down while events arrive', () => {
  it('answers 503, then takes every event from Altinn’s retries once storage is back', { timeout: 300_000 }, async () => {
    const { sim } = stack;
    const instances = [];
    for (let i = 0; i < COUNT; i++) {
      const doc = await sim.seedInstance({ app: APP, elements: [{ dataType: 'model', contentType: 'application/xml', size: 2048 + i }] });
      const [partyId = '', instanceGuid = ''] = doc.id.split('/');
      instances.push({ partyId, instanceGuid });
    }
    await stack.stopQueue();
    const events = instances.map((s) => sim.completeProcess(s.partyId, s.instanceGuid));
    const refused = (id: string) => sim.events.deliveries.some((d) => d.eventId === id && d.status === 503);
    // Storage stays down until every event has been refused at least once.
    await stack.host.waitForJson((r) => r.msg === 'webhook request' && r.status === 503, { timeoutMs: 120_000 });
    while (!events.every((e) => refused(e.id))) await new Promise((r) => setTimeout(r, 200));
    await stack.startQueue();

    await sim.events.idle();
    for (const e of events) {
      const attempts = sim.events.deliveries.filter((d) => d.eventId === e.id);
      expect(attempts.at(-1)?.status, JSON.stringify(attempts)).toBe(200);
      expect(attempts.length).toBeGreaterThan(1);
    }
    for (const s of instances) {
      await stack.host.waitForJson((r) => r.msg === 'done' && r.outcome === 'confirmed' && r.instanceId === `${s.partyId}/${s.instanceGuid}`, {
        timeoutMs: 120_000,
      });
      expect(sim.counters.effectiveCompletes[s.instanceGuid]).toBe(1);
    }
    const answered503 = stack.host.records((r) => r.msg === 'webhook request' && r.status === 503);
    expect(answered503.every((r) => r.decision === 'unavailable')).toBe(true);
    expect(scanForSecrets(stack.output(), stack.secrets())).toEqual([]);
  });
});
