import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanForSecrets } from '../../dev/soak/secrets.js';
import { startStack, type Stack } from '../../dev/soak/stack.js';
import { mapLimit } from '../../lib/pool.js';
import { stopAll } from '../support/processes.js';

/**
 * Forged input against the running host: 1,000 generated events whose source (and other fields) point
 * at a canary server on loopback, in every disguise of the webhook's forged-source table and more.
 * The canary must never be contacted, and no request carrying an Authorization header may reach any
 * host but the simulator's own. A few events carry a well-formed source with canary URLs elsewhere:
 * those are accepted and processed, against the simulator only.
 */
const COUNT = 1_000;
let stack: Stack;
let canary: Server;
const contacted: { method?: string; url?: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  canary = createServer((req, res) => {
    contacted.push({ method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"canary","data":[]}');
  });
  await new Promise<void>((r) => canary.listen(0, '127.0.0.1', r));
  // HEAL_WINDOW_MINUTES=0: a 404 is poisoned at once here (test/processor.heal.test.ts drives the window on a fake clock).
  stack = await startStack({ seed: 4, eventRetryScale: 0.01, settings: { HEAL_WINDOW_MINUTES: '0' } });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await new Promise((r) => canary?.close(r));
  await stopAll();
});

/** Sources aimed at the canary: each disguise gets the canary's and the simulator's host:port. */
function disguises(canaryHost: string, appsHost: string): ((path: string) => string)[] {
  const [ip, port] = canaryHost.split(':') as [string, string];
  const appsPort = appsHost.split(':')[1]!;
  return [
    (p) => `http://${canaryHost}${p}`,
    (p) => `https://${canaryHost}${p}`,
    (p) => `HTTP://${canaryHost}${p}`,
    (p) => `//${canaryHost}${p}`,
    (p) => `http://localhost:${port}${p}`,
    (p) => `http://[::1]:${port}${p}`,
    (p) => `http://[::ffff:127.0.0.1]:${port}${p}`,
    (p) => `http://0x7f000001:${port}${p}`,
    (p) => `http://2130706433:${port}${p}`,
    (p) => `http://127.1:${port}${p}`,
    (p) => `http://0177.0.0.1:${port}${p}`,
    (p) => `http://${ip}.:${port}${p}`,
    (p) => `http://\uff11\uff12\uff17.0.0.1:${port}${p}`,
    (p) => `http://${appsHost}@${canaryHost}${p}`,
    (p) => `http://user:pw@${canaryHost}${p}`,
    (p) => `http://${canaryHost}#@${appsHost}${p}`,
    (p) => `http://${canaryHost}\\@${appsHost}${p}`,
    (p) => `http://${canaryHost}?@${appsHost}${p}`,
    (p) => `http://${ip}:${appsPort}:${port}${p}`,
    (p) => `http://${ip}:${port}/${appsHost}${p}`,
    (p) => `http://${appsHost}/..//${canaryHost}${p}`,
    (p) => `http://${appsHost}//${canaryHost}${p}`,
    (p) => `http://${appsHost}/%2F%2F${canaryHost}${p}`,
    (p) => `http://${appsHost}${p}/../../../../../..//${canaryHost}`,
    (p) => `http://${appsHost}${p}?redirect=http://${canaryHost}/`,
    (p) => `http://${appsHost}${p}#http://${canaryHost}/`,
    (p) => `http://${appsHost}${p}/data/../../../../..//${canaryHost}`,
    (p) => `http://${appsHost}.${p}`,
    (p) => `http://${appsHost}:${port}${p}`,
    (p) => ` http://${canaryHost}${p}`,
    (p) => `http://${canaryHost}${p}\n`,
    (p) => `http://${canaryHost}\t${p}`,
    (p) => `http://${appsHost}\r\nHost: ${canaryHost}${p}`,
    (p) => `http://${appsHost}${p.replace('/ttd/', `/ttd@${canaryHost}/`)}`,
    (p) => `http://${appsHost}${p.replace('/instances/', `/instances/http:%2F%2F${canaryHost}/`)}`,
    (p) => `ws://${canaryHost}${p}`,
    (p) => `file:///etc/passwd#${canaryHost}${p}`,
    (p) => `urn:altinn:${canaryHost}${p}`,
  ];
}

describe('1,000 forged events POSTed to the running webhook', () => {
  it('never contact the canary; credentials go to the simulator only', { timeout: 300_000 }, async () => {
    const { sim } = stack;
    const canaryHost = `127.0.0.1:${(canary.address() as AddressInfo).port}`;
    const appsHost = new URL(sim.appsUrl).host;
    const ways = disguises(canaryHost, appsHost);
    const path = fc
      .record({
        org: fc.constantFrom('ttd', 'ttd', 'nav', 'TTD'),
        app: fc.constantFrom('app-a', 'forged', 'x'),
        partyId: fc.oneof(fc.integer({ min: 1, max: 99_999_999 }).map(String), fc.constantFrom('0', '-1', 'abc')),
        guid: fc.uuid(),
      })
      .map((r) => ({ ...r, text: `/${r.org}/${r.app}/instances/${r.partyId}/${r.guid}` }));
    const canaryUrl = fc.constantFrom(`http://${canaryHost}/`, `https://${canaryHost}/x`, `//${canaryHost}`);
    const event = fc.record({
      p: path,
      way: fc.nat({ max: ways.length * 20 - 1 }),
      id: fc.uuid(),
      type: fc.constantFrom('app.instance.process.completed', 'app.instance.process.completed', 'app.instance.created'),
      extra: fc.record({ resource: canaryUrl, subject: canaryUrl, dataschema: canaryUrl, data: canaryUrl.map((u) => ({ url: u, next: u })) }, { requiredKeys: [] }),
    });
    const samples = fc.sample(event, { seed: 20261126, numRuns: COUNT });
    const bodies = samples.map((s) => {
      // One in twenty: a well-formed source of our own apps (unknown instance) with canary URLs in the other fields.
      const genuine = s.way >= ways.length * 19;
      const source = genuine ? `${sim.appsUrl}/ttd/forged/instances/${1 + (s.way % 1000)}/${s.p.guid}` : ways[s.way % ways.length]!(s.p.text);
      return { genuine, body: JSON.stringify({ specversion: '1.0', id: s.id, type: s.type, source, time: new Date().toISOString(), ...s.extra }) };
    });
    expect(new Set(bodies.map((b) => b.body)).size).toBe(COUNT);

    const statuses = await mapLimit(bodies, 8, async ({ body }) => {
      const res = await fetch(stack.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      return res.status;
    });
    const forgedStatuses = new Set(statuses.filter((_, i) => !bodies[i]!.genuine));
    expect([...forgedStatuses].every((s) => s === 403 || s === 400), [...forgedStatuses].join(',')).toBe(true);

    // What was accepted is processed: the simulator knows no such instance, so each ends in poison with the reason.
    const accepted = stack.host.records((r) => r.msg === 'webhook request' && r.decision === 'enqueued').length;
    expect(accepted).toBeGreaterThan(0);
    let poisoned = 0;
    await stack.host.waitForJson((r) => r.msg === 'message poisoned' && ++poisoned >= accepted, { timeoutMs: 120_000 });
    const reasons = stack.host.records((r) => r.msg === 'message poisoned').map((r) => String(r.reason));
    expect(reasons.filter((r) => !r.startsWith('instance not found in Altinn Storage: Storage answered 404 × 1'))).toEqual([]);
    // No state before proof: Storage never showed these instances, so not a blob was written (no lock either).
    const blobs: string[] = [];
    if (await stack.container.exists()) for await (const b of stack.container.listBlobsFlat()) blobs.push(b.name);
    expect(blobs).toEqual([]);

    expect(contacted).toEqual([]);
    const own = { maskinporten: new URL(sim.maskinportenUrl).host, platform: new URL(sim.platformUrl).host, apps: appsHost };
    const withAuth = sim.requests.filter((r) => r.hasAuth);
    expect(withAuth.length).toBeGreaterThan(0);
    expect(withAuth.filter((r) => r.host !== own[r.role])).toEqual([]);
    expect(scanForSecrets(stack.output(), stack.secrets())).toEqual([]);
  });
});
