import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorClient } from '../dev/simulator/index.js';
import { createTokenProvider } from '../lib/auth/index.js';
import { ReceiverError } from '../lib/errors.js';
import { memoryLogger } from './support/log.js';
import { configFor } from './support/authHarness.js';
import { fakeClock } from './support/clock.js';

/**
 * The exchange as altinn-authentication's AuthenticationController answers it: 200 without
 * `urn:altinn:org` when no scope is a service-owner scope, and 401 for any failure, transient ones too.
 */
let sim: Simulator;
let client: SimulatorClient;
beforeAll(async () => {
  sim = await startSimulator();
  client = await sim.newClient({ scopes: ['altinn:serviceowner/instances.read', 'altinn:instances.read'] });
});
afterAll(() => sim.stop());

const exchanges = () => sim.requests.filter((r) => r.route === 'authentication.exchange');

function provider(overrides: Record<string, string> = {}) {
  const config = configFor(client, overrides);
  const waits: number[] = [];
  const tokens = createTokenProvider({
    maskinporten: config.maskinporten,
    platformUrl: sim.platformUrl,
    org: config.org,
    clock: fakeClock(),
    log: memoryLogger(),
    sleep: (ms) => (waits.push(ms), Promise.resolve()),
  });
  return { tokens, waits };
}

async function refusal(p: Promise<unknown>): Promise<ReceiverError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(ReceiverError);
  return e as ReceiverError;
}

describe('token exchange', () => {
  it('a token without urn:altinn:org (no altinn:serviceowner scope asked for) is a configuration error naming the scope', async () => {
    const { tokens } = provider({ MASKINPORTEN_SCOPES: 'altinn:instances.read' });
    const before = exchanges().length;
    const e = await refusal(tokens.getToken());
    expect(exchanges().slice(before).map((r) => r.status)).toEqual([200]);
    expect(e).toMatchObject({ code: 'altinn-exchange-org', retryable: false });
    expect(e.message).toMatch(/no urn:altinn:org claim: .*altinn:serviceowner.*MASKINPORTEN_SCOPES asks for "altinn:instances\.read"/);
  });

  it('a token of another org than ALTINN_ORG is a configuration error naming both', async () => {
    const { tokens } = provider({ ALTINN_ORG: 'nav' });
    const e = await refusal(tokens.getToken());
    expect(e).toMatchObject({ code: 'altinn-exchange-org', retryable: false });
    expect(e.message).toMatch(/speaks for org ttd, not ALTINN_ORG \(nav\)/);
  });

  it('a 401 is tried again (Altinn answers 401 for transient failures too), with waits, then the token is had', async () => {
    const { tokens, waits } = provider();
    sim.faults.add({ route: 'authentication.exchange', status: [401, 401] });
    const before = exchanges().length;
    expect(sim.verifyAltinnToken(await tokens.getToken())).toMatchObject({ 'urn:altinn:org': 'ttd' });
    expect(exchanges().slice(before).map((r) => r.status)).toEqual([401, 401, 200]);
    expect(waits).toHaveLength(2);
    expect(waits[1]).toBeGreaterThan(waits[0]!);
  });

  it('a 401 that persists counts as permanent after 3 attempts', async () => {
    const { tokens } = provider();
    sim.faults.add({ route: 'authentication.exchange', status: 401, times: 3 });
    const before = exchanges().length;
    const e = await refusal(tokens.getToken());
    expect(e).toMatchObject({ code: 'altinn-exchange-401', retryable: false, status: 401 });
    expect(e.message).toMatch(/MASKINPORTEN_SCOPES holds altinn:serviceowner scopes/);
    expect(exchanges().slice(before).map((r) => r.status)).toEqual([401, 401, 401]);
  });
});
