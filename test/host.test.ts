import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastHostJson } from './support/hostJson.js';
import { startLocalHost, stopAll, type LocalHost } from './support/processes.js';
import { azuriteConnectionString, storageClients, uniqueName } from './support/storage.js';

// The real local host (dist/dev/host.js) as a child process, against the run's Azurite, with the
// fixture functions of test/fixtures/functions (an HTTP echo, a queue worker, a timer).
const FIXTURES = 'test/fixtures/functions/*.mjs';
const YEARLY = '0 0 0 1 1 *';
const MAX_DEQUEUE = 3;

const base64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

/** The JSON a fixture logged through context.log (the host wraps it in its own structured line). */
function fixtureRecords(host: LocalHost, kind: string): Record<string, unknown>[] {
  return host
    .records((r) => typeof r.msg === 'string' && r.msg.startsWith(`{"fixture":"${kind}"`))
    .map((r) => JSON.parse(r.msg as string) as Record<string, unknown>);
}

async function startHost(queueName: string, extra: { env?: Record<string, string>; args?: string[] } = {}) {
  return startLocalHost({
    functions: FIXTURES,
    hostJson: await fastHostJson(MAX_DEQUEUE, { batchSize: 4 }),
    env: {
      AzureWebJobsStorage: azuriteConnectionString(),
      HOST_TEST_QUEUE: queueName,
      HOST_TEST_SCHEDULE: YEARLY,
      ...extra.env,
    },
    args: extra.args,
  });
}

afterAll(() => stopAll());

describe('local host', () => {
  const queueName = uniqueName('hq');
  const queue = storageClients().queue.getQueueClient(queueName);
  let host: LocalHost;

  beforeAll(async () => {
    await queue.create();
    host = await startHost(queueName);
  });

  it('starts with one line listing every function and its trigger, with %SETTING% references resolved', () => {
    expect(host.started.functions).toEqual([
      { name: 'echo', trigger: 'http', route: '/api/echo/{name?}', methods: ['GET', 'POST'], authLevel: 'function' },
      { name: 'work', trigger: 'queue', queue: queueName, connection: 'AzureWebJobsStorage' },
      { name: 'tick', trigger: 'timer', schedule: YEARLY, runOnStartup: true },
    ]);
  });

  it('serves HTTP triggers under /api with route parameters, query, headers and body', async () => {
    const get = await fetch(`${host.url}/api/echo/alice?x=1`, { headers: { 'x-test': 'hello' } });
    expect(get.status).toBe(201);
    expect(get.headers.get('x-fixture')).toBe('echo');
    expect(get.headers.get('content-type')).toBe('application/json');
    expect(await get.json()).toEqual({
      method: 'GET',
      name: 'alice',
      query: { x: '1' },
      body: '',
      header: 'hello',
      functionName: 'echo',
    });

    const post = await fetch(`${host.url}/api/echo`, { method: 'POST', body: 'payload ✓' });
    expect(await post.json()).toMatchObject({ method: 'POST', name: null, body: 'payload ✓' });
    const logged = await host.waitForJson((r) => r.msg === 'invocation succeeded' && r.function === 'echo' && r.method === 'POST');
    expect(logged).toMatchObject({ status: 201, authLevel: 'function', path: '/api/echo' });
  });

  it('answers 404 for unknown routes, methods the function does not accept, and paths outside /api', async () => {
    for (const [method, path] of [
      ['GET', '/api/nothing'],
      ['DELETE', '/api/echo/alice'],
      ['GET', '/echo/alice'],
    ] as const) {
      const res = await fetch(`${host.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
  });

  it('delivers a base64 queue message decoded, with the trigger metadata the host provides', async () => {
    const sent = await queue.sendMessage(base64({ id: 'ok-1', n: 42 }));
    await host.waitForJson((r) => r.msg === 'invocation succeeded' && r.messageId === sent.messageId);
    const [seen] = fixtureRecords(host, 'work').filter((r) => r.id === sent.messageId);
    expect(seen).toEqual({
      fixture: 'work',
      message: { id: 'ok-1', n: 42 },
      dequeueCount: 1,
      id: sent.messageId,
      insertionTime: sent.insertedOn.toISOString(),
    });
  });

  it('moves a message that always fails to <queue>-poison after maxDequeueCount tries, with its original text', async () => {
    const failing = base64({ id: 'bad-1', fail: true });
    const notBase64 = 'not base64 at all!';
    const [bad, garbled] = await Promise.all([queue.sendMessage(failing), queue.sendMessage(notBase64)]);
    for (const m of [bad, garbled]) {
      await host.waitForJson((r) => r.msg === 'message moved to poison queue' && r.messageId === m.messageId);
    }

    const tries = fixtureRecords(host, 'work').filter((r) => r.id === bad.messageId);
    expect(tries.map((r) => r.dequeueCount)).toEqual([1, 2, 3]);
    // The garbled message never reached the handler: decoding failed, as a binding failure does in Azure.
    const garbledFailures = host.records((r) => r.msg === 'invocation failed' && r.messageId === garbled.messageId);
    expect(garbledFailures).toHaveLength(MAX_DEQUEUE);
    expect((garbledFailures[0]?.error as { message: string }).message).toContain('not valid base64');

    const poison = storageClients().queue.getQueueClient(`${queueName}-poison`);
    const poisoned = (await poison.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((m) => m.messageText);
    expect(poisoned.sort()).toEqual([failing, notBase64].sort());
    const left = (await queue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((m) => m.messageText);
    expect(left).not.toContain(failing);
    expect(left).not.toContain(notBase64);
  });

  it('runs a timer on start-up (runOnStartup) with the host timer info and the next NCRONTAB occurrence', async () => {
    await host.waitForJson((r) => r.msg === 'invocation succeeded' && r.function === 'tick');
    const [tick] = fixtureRecords(host, 'tick');
    const timer = tick!.timer as { isPastDue: boolean; scheduleStatus: { last: string; next: string; lastUpdated: string } };
    const year = new Date(timer.scheduleStatus.lastUpdated).getUTCFullYear();
    expect(timer.isPastDue).toBe(false);
    expect(timer.scheduleStatus.next).toBe(`${year + 1}-01-01T00:00:00.000Z`);
  });
});

describe('local host shutdown', () => {
  it('on SIGTERM lets an invocation in flight finish, settles its message and exits 0', async () => {
    const queue = storageClients().queue.getQueueClient(uniqueName('hs'));
    await queue.create();
    const host = await startHost(queue.name);
    const sent = await queue.sendMessage(base64({ id: 'hold-1', hold: true }));
    await host.waitFor((l) => l.includes('"fixture\\":\\"work\\"') && l.includes(sent.messageId));

    const exit = await host.kill('SIGTERM');

    expect(exit).toEqual({ code: 0, signal: null });
    const order = host.records().map((r) => String(r.msg));
    const finished = order.findIndex((m) => m.includes('"fixture":"work-finished"'));
    expect(order.indexOf('host stopping')).toBeLessThan(finished);
    expect(finished).toBeLessThan(order.indexOf('host stopped'));
    expect(host.records((r) => r.msg === 'invocation succeeded' && r.messageId === sent.messageId)).toHaveLength(1);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
  });

  it('when in-flight work outlasts the shutdown timeout, makes its message visible again and exits 0; timer ticks never overlap', async () => {
    const queue = storageClients().queue.getQueueClient(uniqueName('ht'));
    await queue.create();
    const host = await startHost(queue.name, {
      env: { HOST_TEST_SCHEDULE: '* * * * * *', HOST_TEST_TIMER_HOLD: '1' },
      args: ['--shutdown-timeout', '1'],
    });
    const text = base64({ id: 'stall-1', stall: true });
    const sent = await queue.sendMessage(text);
    await host.waitFor((l) => l.includes('"fixture\\":\\"work\\"') && l.includes(sent.messageId));
    // The start-up run never finishes, so the every-second schedule must skip rather than start a second run.
    await host.waitForJson((r) => r.msg === 'timer tick skipped: the previous run is still going' && r.function === 'tick');

    const exit = await host.kill('SIGTERM');

    expect(exit).toEqual({ code: 0, signal: null });
    expect(host.records((r) => r.msg === 'invocation started' && r.function === 'tick')).toHaveLength(1);
    expect(host.records((r) => String(r.msg).startsWith('shutdown timeout'))).toEqual([
      expect.objectContaining({ released: 1 }),
    ]);
    const [again] = (await queue.receiveMessages({ numberOfMessages: 1 })).receivedMessageItems;
    expect(again).toMatchObject({ messageId: sent.messageId, messageText: text, dequeueCount: 2 });
  });
});
