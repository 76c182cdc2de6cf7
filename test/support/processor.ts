import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { createApplicationCatalog } from '../../lib/altinn/applications.js';
import { createStorageClient } from '../../lib/altinn/storageClient.js';
import { createAltinnHttp } from '../../lib/altinn/http.js';
import { createTokenProvider } from '../../lib/auth/index.js';
import { createBlobStore } from '../../lib/blob/store.js';
import { systemClock } from '../../lib/clock.js';
import { loadConfig, type Config } from '../../lib/config.js';
import { memoryLogger } from './log.js';
import { createQueueSender } from '../../lib/queue/sender.js';
import { blobInstanceLocks } from '../../lib/processor/lease.js';
import { BlobServiceClient } from '@azure/storage-blob';
import { createProcessor, type Processor } from '../../lib/processor/processInstance.js';
import type { RetryPolicy } from '../../lib/retry.js';
import { QUEUES } from '../../lib/queue/names.js';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startSimulator, type Simulator } from '../../dev/simulator/index.js';
import { azuriteConnectionString, storageClients, uniqueName } from './storage.js';

import { fakeClock } from './clock.js';

/** One simulator and client for a test file, its faults cleared before each test; `use` receives them. */
export function withSimulator(use: (sim: Simulator, env: Record<string, string>) => void): void {
  let sim: Simulator | undefined;
  beforeAll(async () => {
    sim = await startSimulator();
    use(sim, (await sim.newClient()).env);
  });
  afterAll(() => sim?.stop());
  beforeEach(() => sim?.faults.clear());
}

/**
 * Like withSimulator, on a fake clock that the simulator (its outage windows, end-of-process handlers,
 * token checks) and processors made with `{ clock }` share: tests move time instead of waiting.
 */
export function withSimulatorOnClock(use: (sim: Simulator, env: Record<string, string>, clock: ReturnType<typeof fakeClock>) => void): void {
  let sim: Simulator | undefined;
  const clock = fakeClock();
  beforeAll(async () => {
    sim = await startSimulator({ now: () => clock.now() });
    use(sim, (await sim.newClient()).env, clock);
  });
  afterAll(() => sim?.stop());
  beforeEach(() => sim?.faults.clear());
}

/**
 * Hands `messages` to the processor, then each deferred one again once its delay has passed (the clock
 * moved on by the longest delay of the round), until none is deferred; `between` runs before each round.
 */
export async function untilDone(
  h: { processor: Processor; clock: ReturnType<typeof fakeClock>; sent: (q: string) => { message: unknown }[] },
  messages: Record<string, unknown>[],
  opts: { maxRounds?: number; between?: (round: number) => void } = {},
): Promise<{ outcomes: Awaited<ReturnType<Processor['handle']>>[]; rounds: number }> {
  let pending = messages;
  const outcomes: Awaited<ReturnType<Processor['handle']>>[] = [];
  for (let round = 0; ; round++) {
    if (round === (opts.maxRounds ?? 50)) throw new Error(`still deferred after ${round} rounds`);
    opts.between?.(round);
    const results = await Promise.all(pending.map((m) => h.processor.handle(m)));
    const next: Record<string, unknown>[] = [];
    let wait = 0;
    for (const [i, r] of results.entries()) {
      if (r.kind !== 'deferred') {
        outcomes.push(r);
        continue;
      }
      const guid = pending[i]!.instanceGuid;
      const again = h.sent(QUEUES.events).filter((s) => (s.message as { instanceGuid?: unknown }).instanceGuid === guid).at(-1);
      next.push(again!.message as Record<string, unknown>);
      wait = Math.max(wait, r.delaySeconds);
    }
    if (next.length === 0) return { outcomes, rounds: round + 1 };
    h.clock.advance(wait * 1000);
    pending = next;
  }
}

const FAST_RETRY: RetryPolicy = { maxAttempts: 5, budgetMs: 60_000, baseDelayMs: 100, maxDelayMs: 1_000 };

/** Where a processor's blob calls go (a storage proxy's connection string, say) and its lease's duration. */
export interface BlobRoute {
  connectionString?: string;
  leaseSeconds?: number;
}
/** The SDK's retries as in production, with waits of milliseconds instead of seconds. */
const FAST_SDK_RETRY = { maxTries: 4, retryDelayInMs: 10, maxRetryDelayInMs: 50 };

/**
 * A processor wired like production (real token provider, AltinnHttp, Storage client, Azurite blobs and
 * queues) against the simulator; queue names get a unique prefix so test files never share queues.
 * `route`: its blob calls through another endpoint (e.g. dev/storageProxy.ts in front of the same Azurite).
 */
export async function processorFor(
  sim: Simulator,
  env: Record<string, string>,
  overrides: Record<string, string> = {},
  /** `clock`: the processor's and the token provider's (pass the simulator's fake clock to move both); `connectionString`, `leaseSeconds`: its blob route. */
  route: BlobRoute & { clock?: ReturnType<typeof fakeClock> } = {},
) {
  const config: Config = loadConfig({ ...env, AzureWebJobsStorage: azuriteConnectionString(), BLOB_CONTAINER: uniqueName('inst'), ...overrides });
  const clients = storageClients();
  const container = clients.blob.getContainerClient(config.blobContainer);
  await container.create();
  const sender = createQueueSender(clients.queue);
  const prefix = uniqueName('p');
  const broken = new Set<string>();
  // A broken queue maps to a name storage refuses: a real send failure, from real Azurite.
  const queueName = (q: string) => (broken.has(q) ? 'Not_A_Queue' : `${prefix}-${q}`.slice(0, 63));
  const log = memoryLogger();
  // Deferred messages are invisible for a while, so peeking cannot show them: every send is recorded.
  const sent: { queue: string; message: unknown; visibilityTimeoutSeconds: number | undefined }[] = [];
  const clock = route.clock ?? fakeClock();
  const tokens = createTokenProvider({ maskinporten: config.maskinporten, platformUrl: config.altinn.platformUrl, org: config.org, clock: route.clock ?? systemClock, log });
  const blobVia = (r: BlobRoute) =>
    r.connectionString ? BlobServiceClient.fromConnectionString(r.connectionString, { retryOptions: FAST_SDK_RETRY }).getContainerClient(config.blobContainer) : container;
  const make = (r: BlobRoute = route): Processor => {
    const blobs = blobVia(r);
    return createProcessor({
      config,
      storage: createStorageClient({ http: createAltinnHttp({ tokens, log }), config }),
      applications: createApplicationCatalog({ platformUrl: config.altinn.platformUrl, dataTypes: config.dataTypes, clock }),
      store: createBlobStore(blobs),
      queues: {
        send: async (q, m, o) => {
          const r = await sender.send(queueName(q), m, o);
          sent.push({ queue: q, message: m, visibilityTimeoutSeconds: o?.visibilityTimeoutSeconds });
          return r;
        },
      },
      locks: blobInstanceLocks(blobs, log, { leaseSeconds: r.leaseSeconds }),
      clock,
      log,
      retry: { policy: FAST_RETRY, random: () => 1 },
    });
  };
  return {
    config,
    container,
    log,
    clock,
    processor: make(),
    /** Sends to `queue` fail until repaired. */
    breakQueue: (q: string) => broken.add(q),
    repairQueue: (q: string) => broken.delete(q),
    /** Another process's processor: same storage and Altinn, no shared in-flight runs (its blob calls by `route`, default the first's). */
    another: make,
    /** Messages successfully sent to `q` (visible or not), in order. */
    sent: (q: string) => sent.filter((s) => s.queue === q),
    /** Every visible message on one of our queues, decoded. */
    async messages(q: string): Promise<unknown[]> {
      const client = clients.queue.getQueueClient(queueName(q));
      if (!(await client.exists())) return [];
      const peeked = await client.peekMessages({ numberOfMessages: 32 });
      return peeked.peekedMessageItems.map((m) => JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as unknown);
    },
    /** Log lines of one stage (or with this message). */
    lines: (stage: string) => log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.stage === stage || l.msg === stage),
  };
}

export async function blobSha256(container: ContainerClient, path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const body = (await container.getBlockBlobClient(path).download()).readableStreamBody;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** The queue message the webhook would enqueue for a seeded instance document. */
export function messageFor(doc: { id: string; appId: string }, extra: Record<string, unknown> = {}) {
  const [partyId, instanceGuid] = doc.id.split('/');
  const [org, app] = doc.appId.split('/');
  return { org, app, partyId, instanceGuid, eventId: `evt-${instanceGuid?.slice(0, 8)}`, reason: 'event', enqueuedAt: new Date().toISOString(), ...extra };
}
