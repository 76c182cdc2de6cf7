import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../dev/simulator/index.js';
import { fakeClock } from './support/clock.js';

/** The simulator's Altinn Events app feed answers as altinn-events AppController.GetForOrg does (README fidelity table). */
let sim: Simulator;
const clock = fakeClock();

beforeAll(async () => {
  sim = await startSimulator({ now: () => clock.now() });
});
afterAll(() => sim.stop());

const feed = (query: string, token: string | null = sim.altinnToken(), app = 'sim-feed') =>
  fetch(`${sim.platformUrl}/events/api/v1/app/ttd/${app}?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const ids = async (res: Response) => ((await res.json()) as { id: string }[]).map((e) => e.id);

async function publish(n: number, app = 'sim-feed'): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const doc = await sim.seedInstance({ app, elements: [] });
    const [party, guid] = doc.id.split('/') as [string, string];
    out.push(sim.completeProcess(party, guid).id);
  }
  return out;
}

describe('the simulated app feed', () => {
  it('serves every published event (no subscription, nothing delivered) in order, 30 s after registration, paged with next', async () => {
    const published = await publish(3);
    const from = encodeURIComponent(new Date(clock.now() - 60_000).toISOString());
    // Registered just now: not served yet (getappevents.sql: registeredtime <= now() - 30 s).
    const early = await feed(`from=${from}`);
    expect([early.status, await ids(early), early.headers.get('next')]).toEqual([200, [], null]);
    clock.advance(30_000);
    const page1 = await feed(`from=${from}&size=2&type=app.instance.process.completed`);
    expect(await ids(page1)).toEqual(published.slice(0, 2));
    expect(page1.headers.get('next')).toBe(`${sim.platformUrl}/events/api/v1/app/ttd/sim-feed?after=${published[1]}&from=${decodeURIComponent(from)}&size=2&type=app.instance.process.completed`);
    const page2 = await feed(`after=${published[1]}&size=2`);
    expect([await ids(page2), page2.headers.has('next')]).toEqual([[published[2]], true]); // a short page still has next
    const page3 = await feed(`after=${published[2]}&size=2`);
    expect([await ids(page3), page3.headers.has('next')]).toEqual([[], false]);
    // An unknown `after` reads from the oldest event (getappevents.sql: sequenceno > 0).
    expect(await ids(await feed('after=no-such-event'))).toEqual(published);
    // Dropped deliveries do not matter: the event is registered before anything is sent.
    expect(sim.events.published.map((e) => e.id)).toEqual(published);
  });

  it('filters on type (ILIKE ANY) and on the app', async () => {
    await publish(1, 'sim-feed-other');
    clock.advance(30_000);
    expect(await ids(await feed('after=x&type=APP.INSTANCE.PROCESS.%', sim.altinnToken(), 'sim-feed-other'))).toHaveLength(1);
    expect(await ids(await feed('after=x&type=app.instance.created', sim.altinnToken(), 'sim-feed-other'))).toEqual([]);
  });

  it('refuses as Altinn does: no token 401, a token without an org 401, neither after nor from 400, a from without zone 400, size 0 400', async () => {
    expect((await feed('after=x', null)).status).toBe(401);
    const noOrg = await feed('after=x', sim.altinnToken({ org: null }));
    expect([noOrg.status, await noOrg.text()]).toEqual([401, expect.stringContaining('Only orgs can call this api')]);
    for (const [query, said] of [
      ['size=5', "The 'From' or 'After' parameter must be defined."],
      ['from=2026-01-01T00:00:00', "The 'From' parameter must specify timezone"],
      ['after=x&size=0', "The 'Size' parameter must be a number larger that 0."],
    ] as const) {
      const res = await feed(query);
      expect([res.status, await res.text()]).toEqual([400, expect.stringContaining(said)]);
    }
  });

  it("another org's token reads none of this org's app events (Authorization filters them out)", async () => {
    expect(await ids(await feed('after=x', sim.altinnToken({ org: 'skd' })))).toEqual([]);
  });
});
