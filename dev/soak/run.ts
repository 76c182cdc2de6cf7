import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { elementPath, instanceJsonPath, manifestPath, manifestSchema } from '../../lib/processor/manifest.js';
import { mapLimit } from '../../lib/pool.js';
import { QUEUES } from '../../lib/queue/names.js';
import { seededRandom } from '../simulator/faults.js';
import type { Role } from '../simulator/http.js';
import type { Simulator } from '../simulator/index.js';
import { countByKind, planFaults, type FaultCounts, type FaultTarget } from './faultPlan.js';
import { observe, onRequest, type Observations } from './observe.js';
import type { SoakProfile } from './profiles.js';
import { scanForSecrets, type SecretHit } from './secrets.js';
import { startStack, type Stack } from './stack.js';
import { pathFigures, type PathFigures, type ReadySeen } from './paths.js';

const SOAK_APP = 'soak';

export interface SoakReport {
  profile: string;
  seed: number;
  durationMs: number;
  instances: number;
  elements: number;
  bytes: number;
  faults: {
    planned: FaultCounts;
    /** Planned faults the simulator never got to apply (0 when every instance went through). */
    notInjected: number;
    maskinportenOutageMs: number;
    grantsRefused: number;
    /** Every App/Storage/exchange request answered 503 this long; then a 429 storm with Retry-After. */
    altinnOutageMs: number;
    altinnOutage503: number;
    stormMs: number;
    stormRetryAfterSeconds: number;
    storm429: number;
    /** Then every blob request of the hosts answered 503 ServerBusy this long (the proxy's count). */
    azureOutageMs: number;
    azureOutage503: number;
    azuriteQueueRestarts: number;
    queueDownMs: number;
    deliveriesDropped: number;
    /** The end-of-process handler's delay, and the instances it added a receipt to (after their completed event). */
    lateElementAfterMs: number;
    lateElements: number;
  };
  intake: { deliveries: number; webhook503: number; webhookEnqueued: number; reconcileEnqueued: number };
  /** What the feed found, which path confirmed what, and the time from process.ended to confirmation. */
  paths: PathFigures;
  processor: { hosts: number; confirmedRuns: number; alreadyDone: number; failedInvocations: number; deferrals: number; busyDeferrals: number; settleDeferrals: number; rechecksChanged: number };
  outcome: {
    /** Distinct instances that reached altinn-events (the webhook's enqueued log lines, and every instance the processor took up). */
    enqueued: number;
    confirmed: number;
    poisoned: { instanceGuid: string; reason: string }[];
    /** Instances neither confirmed nor in the poison queue. */
    lost: string[];
    /** Instances confirmed more than once: more than one effective confirmation, or `complete` answered 200 more than once. */
    duplicates: string[];
    /** Messages on altinn-instances-ready, and the instances with other than exactly one. */
    readyMessages: number;
    readyNotOnce: string[];
  };
  checks: Observations & { blobProblems: string[] };
  secretHits: SecretHit[];
  /** Every invariant held. */
  ok: boolean;
}

interface Seeded {
  partyId: string;
  instanceGuid: string;
  elements: { id: string; size: number }[];
}

/**
 * The fault soak: `profile.instances` instances through the real processes under seeded faults, then
 * docs/reliability.md's promises checked from outside (simulator counters and request log, blob storage, queues,
 * every process's output). Returns the figures; never throws for a broken invariant (that is in `ok`).
 */
export async function runSoak(profile: SoakProfile, progress: (line: string) => void = () => {}, signal?: AbortSignal): Promise<SoakReport> {
  const started = Date.now();
  const stack = await startStack({
    seed: profile.seed,
    eventRetryScale: profile.eventRetryScale,
    eventsFeedDelayMs: profile.eventsFeedDelayMs,
    settings: {
      RECONCILE_SCHEDULE: profile.reconcileSchedule,
      FEED_SCHEDULE: profile.feedSchedule,
      FEED_MIN_AGE_SECONDS: String(profile.feedMinAgeSeconds),
      ALTINN_APPS: SOAK_APP,
      SETTLE_SECONDS: String(profile.settleSeconds),
      ...(profile.deferBaseSeconds !== undefined ? { DEFER_BASE_SECONDS: String(profile.deferBaseSeconds) } : {}),
    },
    subscribeApp: SOAK_APP,
    hosts: profile.hosts,
  });
  try {
    return await soak(stack, profile, started, progress, signal);
  } finally {
    await stack.stop();
  }
}

/** When the Altinn incident's phases began and ended (the simulator's clock is Date.now here). */
interface Windows {
  outageFrom: number;
  stormFrom: number;
  stormUntil: number;
}

/** Right after Altinn's incident, while its deferred backlog comes back: Azure Blob Storage answers 503 ServerBusy. */
async function azureIncident(stack: Stack, profile: SoakProfile, progress: (line: string) => void): Promise<void> {
  stack.blobProxy.outage(profile.azureOutageMs);
  progress(`Azure Blob outage: every blob request of the hosts answers 503 ServerBusy for ${profile.azureOutageMs / 1000} s`);
  await delay(profile.azureOutageMs);
  progress('Azure Blob answers again');
}

const ALTINN: Role[] = ['apps', 'platform'];

async function soak(stack: Stack, profile: SoakProfile, started: number, progress: (line: string) => void, signal: AbortSignal | undefined): Promise<SoakReport> {
  const { sim } = stack;
  const seeded = await seedInstances(sim, profile);
  // Late data: a receipt added after each completed event, as an app's IProcessEnd may (ProcessEngine runs it after the event).
  sim.addProcessEndHandler(SOAK_APP, { afterMs: profile.lateElementAfterMs, element: { dataType: 'receipt', contentType: 'application/pdf', filename: 'receipt.pdf', size: 4_096 } });
  const plan = planFaults(faultTargets(seeded), profile.seed);
  for (const p of plan) sim.faults.add(p.rule);
  // After the planned rules, so those match first.
  const observer = observe(sim, stack.container, 1_000);

  // Maskinporten goes down as the host first asks it for a token, and stays down outageMs. The host is
  // started afresh for the events (its reconciler may already hold a token), so the outage always bites.
  const stopWatchingGrants = onRequest(sim, (entry) => {
    if (entry.route !== 'maskinporten.token') return;
    stopWatchingGrants();
    sim.faults.maskinportenOutage(profile.outageMs);
  });
  await Promise.all(stack.hosts.map((h) => h.kill('SIGTERM')));
  await stack.restartHosts();
  const { windows, queueDownMs } = await completeProcesses(stack, profile, seeded, progress, signal);
  await waitForOutcome(stack, profile, seeded, progress, signal);
  await sim.events.idle();
  // A graceful stop lets invocations in flight finish, so nothing is judged half-done.
  await Promise.all(stack.hosts.map((h) => h.kill('SIGTERM')));
  observer.stop();
  await observer.settled();
  const report = await buildReport(stack, profile, { started, seeded, plan, windows, queueDownMs, checks: observer.result });
  report.ok = invariantsHold(report);
  return report;
}

async function seedInstances(sim: Stack['sim'], profile: SoakProfile): Promise<Seeded[]> {
  const random = seededRandom(profile.seed);
  const seeded: Seeded[] = [];
  for (let i = 0; i < profile.instances; i++) {
    const count = 1 + Math.floor(random() * 3);
    const doc = await sim.seedInstance({
      app: SOAK_APP,
      elements: Array.from({ length: count }, (_, j) => ({
        dataType: j === 0 ? 'model' : 'attachment',
        contentType: j === 0 ? 'application/xml' : 'application/pdf',
        filename: `file-${i}-${j}.bin`,
        size: 1024 + Math.floor(random() * (profile.maxElementBytes - 1024)),
        withContentHash: random() < 0.5,
      })),
    });
    const [partyId = '', instanceGuid = ''] = doc.id.split('/');
    seeded.push({ partyId, instanceGuid, elements: (doc.data ?? []).map((d) => ({ id: d.id, size: d.size })) });
  }
  return seeded;
}

function faultTargets(seeded: Seeded[]): FaultTarget[] {
  return seeded.flatMap((s) => [
    { route: 'storage.instance' as const, instanceGuid: s.instanceGuid },
    ...s.elements.map((e) => ({ route: 'storage.data' as const, instanceGuid: s.instanceGuid, dataGuid: e.id, size: e.size })),
    { route: 'storage.complete' as const, instanceGuid: s.instanceGuid },
  ]);
}

/**
 * Complete every seeded process, paced. A third of the way in, Altinn goes down (every App/Storage/exchange
 * request: 503), then throttles (429 storm), then Azure Blob answers 503; half-way through, the queue service restarts.
 */
async function completeProcesses(
  stack: Stack,
  profile: SoakProfile,
  seeded: Seeded[],
  progress: (line: string) => void,
  signal: AbortSignal | undefined,
): Promise<{ windows: Windows; queueDownMs: number }> {
  const { sim } = stack;
  const windows: Windows = { outageFrom: Infinity, stormFrom: Infinity, stormUntil: Infinity };
  let queueDownMs = 0;
  let incident: Promise<void> = Promise.resolve();
  let restart: Promise<void> = Promise.resolve();
  for (const [i, s] of seeded.entries()) {
    // From the hosts' next instance GET on (they read one only SETTLE_SECONDS after its event), so it bites.
    if (i === Math.floor(seeded.length / 3)) incident = nextInstanceRead(sim).then(() => altinnIncident(sim, profile, windows, progress)).then(() => azureIncident(stack, profile, progress));
    if (i === Math.floor(seeded.length / 2)) {
      restart = (async () => {
        const t0 = Date.now();
        await stack.stopQueue();
        await stack.startQueue();
        queueDownMs = Date.now() - t0;
        progress(`queue service restarted (${queueDownMs} ms down)`);
      })();
    }
    signal?.throwIfAborted();
    if ((i + 1) % profile.dropEvery === 0) sim.events.dropNext(1);
    sim.completeProcess(s.partyId, s.instanceGuid);
    await delay(profile.paceMs);
  }
  await restart;
  progress(`${seeded.length} processes completed; waiting for the app`);
  await incident;
  return { windows, queueDownMs };
}

function nextInstanceRead(sim: Stack['sim']): Promise<void> {
  return new Promise((resolve) => {
    const stop = onRequest(sim, (entry) => {
      if (entry.route !== 'storage.instance') return;
      stop();
      resolve();
    });
  });
}

async function altinnIncident(sim: Stack['sim'], profile: SoakProfile, windows: Windows, progress: (line: string) => void): Promise<void> {
  windows.outageFrom = Date.now();
  sim.faults.outage(ALTINN, profile.altinnOutageMs, 503);
  progress(`Altinn outage: every App/Storage/exchange request answers 503 for ${profile.altinnOutageMs / 1000} s`);
  await delay(profile.altinnOutageMs);
  windows.stormFrom = Date.now();
  sim.faults.outage(ALTINN, profile.stormMs, 429, profile.stormRetryAfterSeconds);
  progress(`429 storm (Retry-After: ${profile.stormRetryAfterSeconds}) for ${profile.stormMs / 1000} s`);
  await delay(profile.stormMs);
  windows.stormUntil = Date.now();
  progress('Altinn answers again');
}

/** Until every instance is confirmed or poisoned, or the profile's timeout. */
async function waitForOutcome(stack: Stack, profile: SoakProfile, seeded: Seeded[], progress: (line: string) => void, signal: AbortSignal | undefined): Promise<void> {
  const poison = stack.queues.getQueueClient(QUEUES.poison);
  const deadline = Date.now() + profile.timeoutMs;
  for (;;) {
    // 'done' is logged after the ready message and the manifest's readyAt: the instance is finished.
    const done = new Set(stack.records((r) => r.msg === 'done' && r.outcome === 'confirmed').map((r) => String(r.instanceId)));
    const confirmed = seeded.filter((s) => done.has(`${s.partyId}/${s.instanceGuid}`)).length;
    const poisoned = await messageCount(poison);
    if (confirmed + poisoned >= seeded.length || Date.now() > deadline) return;
    signal?.throwIfAborted();
    progress(`confirmed ${confirmed}/${seeded.length}, poisoned ${poisoned}`);
    await delay(1_000);
  }
}

interface RunFacts {
  started: number;
  seeded: Seeded[];
  plan: ReturnType<typeof planFaults>;
  windows: Windows;
  queueDownMs: number;
  checks: ReturnType<typeof observe>['result'];
}

/** What the run left behind, read from outside once the hosts have stopped. */
interface Evidence {
  /** Planned faults the simulator never applied. */
  notInjected: number;
  hostRecords: Record<string, unknown>[];
  /** Every altinn-instances-ready message: its instance and confirmedAt. */
  ready: ReadySeen[];
  poisoned: { instanceGuid: string; reason: string }[];
  /** Seeded instances with at least one effective confirmation. */
  confirmed: Seeded[];
  blobProblems: string[];
  /** Altinn Events' deliveries of process.completed events. */
  deliveries: Simulator['events']['deliveries'];
}

async function gatherEvidence(stack: Stack, seeded: Seeded[]): Promise<Evidence> {
  const { sim } = stack;
  const notInjected = sim.faults.pending();
  const hostRecords = stack.records();
  const ready = await drainReady(stack.queues.getQueueClient(QUEUES.ready));
  const poisoned = await drainPoison(stack.queues.getQueueClient(QUEUES.poison));
  const confirmed = seeded.filter((s) => (sim.counters.effectiveCompletes[s.instanceGuid] ?? 0) > 0);
  const blobProblems = (await mapLimit(confirmed, 4, (s) => verifyBlobs(sim, stack.container, s))).flat();
  const deliveries = sim.events.deliveries.filter((d) => d.type === 'app.instance.process.completed');
  return { notInjected, hostRecords, ready, poisoned, confirmed, blobProblems, deliveries };
}

/** The host log records with this message. */
const logged = (e: Evidence, msg: string) => e.hostRecords.filter((r) => r.msg === msg);

/** The figures, from the simulator's counters and request log, the queues, the blobs and the hosts' output. */
async function buildReport(stack: Stack, profile: SoakProfile, facts: RunFacts): Promise<SoakReport> {
  const { seeded } = facts;
  const evidence = await gatherEvidence(stack, seeded);
  return {
    profile: profile.name,
    seed: profile.seed,
    durationMs: Date.now() - facts.started,
    instances: seeded.length,
    elements: seeded.reduce((n, s) => n + s.elements.length, 0),
    bytes: seeded.reduce((n, s) => n + s.elements.reduce((m, e) => m + e.size, 0), 0),
    faults: faultFigures(stack, profile, facts, evidence),
    intake: {
      deliveries: evidence.deliveries.length,
      webhook503: evidence.deliveries.filter((d) => d.status === 503).length,
      webhookEnqueued: logged(evidence, 'webhook request').filter((r) => r.decision === 'enqueued').length,
      reconcileEnqueued: logged(evidence, 'reconcile run').reduce((n, r) => n + (typeof r.enqueued === 'number' ? r.enqueued : 0), 0),
    },
    processor: {
      hosts: stack.hosts.length,
      deferrals: logged(evidence, 'message deferred').length,
      busyDeferrals: logged(evidence, 'message deferred').filter((r) => r.why === 'instance-busy').length,
      settleDeferrals: evidence.hostRecords.filter((r) => r.stage === 'settle').length,
      rechecksChanged: evidence.hostRecords.filter((r) => r.stage === 'recheck').length,
      confirmedRuns: logged(evidence, 'done').filter((r) => r.outcome === 'confirmed').length,
      alreadyDone: evidence.hostRecords.filter((r) => r.outcome === 'already-done').length,
      failedInvocations: logged(evidence, 'processing failed; the host will retry').length,
    },
    paths: pathFigures(stack.sim, evidence.hostRecords, evidence.ready),
    outcome: outcomeFigures(stack.sim, seeded, evidence),
    checks: { ...facts.checks, blobProblems: evidence.blobProblems },
    secretHits: scanForSecrets(stack.output(), stack.secrets()),
    ok: false,
  };
}

/** The faults planned and those the simulator applied, Altinn's incident counted from its request log. */
function faultFigures(stack: Stack, profile: SoakProfile, facts: RunFacts, evidence: Evidence): SoakReport['faults'] {
  const { windows } = facts;
  const { sim } = stack;
  const during = (from: number, until: number, status: number) =>
    sim.requests.filter((r) => ALTINN.includes(r.role) && r.status === status && r.time >= from && r.time < until).length;
  return {
    planned: countByKind(facts.plan),
    notInjected: evidence.notInjected,
    maskinportenOutageMs: profile.outageMs,
    grantsRefused: sim.requests.filter((r) => r.route === 'maskinporten.token' && r.status === 503).length,
    altinnOutageMs: profile.altinnOutageMs,
    altinnOutage503: during(windows.outageFrom, windows.stormFrom, 503),
    stormMs: profile.stormMs,
    stormRetryAfterSeconds: profile.stormRetryAfterSeconds,
    storm429: during(windows.stormFrom, windows.stormUntil, 429),
    azureOutageMs: profile.azureOutageMs,
    azureOutage503: stack.blobProxy.requests.filter((r) => r.faulted && r.outcome === 503).length,
    azuriteQueueRestarts: 1,
    queueDownMs: facts.queueDownMs,
    deliveriesDropped: evidence.deliveries.filter((d) => d.status === -1).length,
    lateElementAfterMs: profile.lateElementAfterMs,
    lateElements: facts.seeded.filter((s) => sim.instance(s.instanceGuid).data?.some((d) => d.dataType === 'receipt')).length,
  };
}

/** Per instance: enqueued, confirmed, poisoned, lost, confirmed twice, ready messages. */
function outcomeFigures(sim: Simulator, seeded: Seeded[], evidence: Evidence): SoakReport['outcome'] {
  const { ready, poisoned } = evidence;
  const readyPer = new Map<string, number>();
  for (const { instanceGuid: guid } of ready) readyPer.set(guid, (readyPer.get(guid) ?? 0) + 1);
  const poisonedGuids = new Set(poisoned.map((p) => p.instanceGuid));
  return {
    enqueued: new Set([
      ...logged(evidence, 'webhook request').filter((r) => r.decision === 'enqueued').map((r) => String(r.instance)),
      ...evidence.hostRecords.filter((r) => r.function === 'instanceProcessor' && typeof r.instanceId === 'string').map((r) => String(r.instanceId)),
    ]).size,
    confirmed: evidence.confirmed.length,
    poisoned,
    lost: seeded.filter((s) => !poisonedGuids.has(s.instanceGuid) && !(sim.counters.effectiveCompletes[s.instanceGuid] ?? 0)).map((s) => s.instanceGuid),
    duplicates: seeded
      .filter((s) => (sim.counters.effectiveCompletes[s.instanceGuid] ?? 0) > 1 || (sim.counters.completes[s.instanceGuid] ?? 0) > 1)
      .map((s) => s.instanceGuid),
    readyMessages: ready.length,
    readyNotOnce: seeded.filter((s) => readyPer.get(s.instanceGuid) !== 1).map((s) => `${s.instanceGuid} (${readyPer.get(s.instanceGuid) ?? 0})`),
  };
}

function invariantsHold(report: SoakReport): boolean {
  const c = report.checks;
  const poisoned = new Set(report.outcome.poisoned.map((p) => p.instanceGuid)).size;
  return (
    report.outcome.lost.length === 0 &&
    report.outcome.duplicates.length === 0 &&
    // Every fault of this soak is transient: nothing may end in poison.
    report.outcome.poisoned.length === 0 &&
    report.outcome.readyNotOnce.length === 0 &&
    report.outcome.readyMessages === report.instances &&
    report.outcome.confirmed + poisoned === report.instances &&
    report.outcome.enqueued === report.outcome.confirmed + poisoned &&
    c.completesWithoutManifest.length === 0 &&
    c.dataAfterManifest.length === 0 &&
    c.errors.length === 0 &&
    c.blobProblems.length === 0 &&
    report.secretHits.length === 0
  );
}

async function messageCount(queue: QueueClient): Promise<number> {
  try {
    return (await queue.getProperties()).approximateMessagesCount ?? 0;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return 0;
    throw e;
  }
}

/** Every message of `queue`, received (so none is left for anyone else) and mapped. */
async function drain<T>(queue: QueueClient, map: (body: Record<string, unknown>, dequeueCount: number) => T): Promise<T[]> {
  if (!(await queue.exists())) return [];
  const out: T[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 300 });
    if (receivedMessageItems.length === 0) return out;
    for (const m of receivedMessageItems) out.push(map(JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as Record<string, unknown>, m.dequeueCount));
  }
}

/** Every altinn-instances-ready message (what downstream systems would get): its instance and confirmedAt. */
function drainReady(queue: QueueClient): Promise<ReadySeen[]> {
  return drain(queue, (body) => ({
    instanceGuid: typeof body.instanceGuid === 'string' ? body.instanceGuid : '?',
    confirmedAt: typeof body.confirmedAt === 'string' ? body.confirmedAt : undefined,
  }));
}

/** Every poison message: our processor's envelope carries the reason; one the host moved is the original message. */
function drainPoison(queue: QueueClient): Promise<{ instanceGuid: string; reason: string }[]> {
  return drain(queue, (body, dequeueCount) => {
    const original = body.original as { instanceGuid?: string } | undefined;
    const enveloped = typeof body.reason === 'string' && original !== undefined;
    return {
      instanceGuid: (enveloped ? original.instanceGuid : (body.instanceGuid as string | undefined)) ?? '?',
      reason: enveloped ? String(body.reason) : `moved by the host after ${dequeueCount} failed deliveries`,
    };
  });
}

/** The confirmed instance's folder: each element byte-exact (sha256 of the blob = the simulator's), instance.json, a manifest that matches. */
async function verifyBlobs(sim: Simulator, container: ContainerClient, s: Seeded): Promise<string[]> {
  const ref = { org: sim.org, app: SOAK_APP, partyId: s.partyId, instanceGuid: s.instanceGuid };
  const problems: string[] = [];
  const at = (what: string) => problems.push(`${s.instanceGuid}: ${what}`);
  const parsed = manifestSchema.safeParse(JSON.parse((await container.getBlobClient(manifestPath(ref)).downloadToBuffer()).toString('utf8')));
  if (!parsed.success) return [`${s.instanceGuid}: manifest does not parse`];
  const manifest = parsed.data;
  if (!manifest.readyAt) at('manifest has no readyAt');
  if (!(await container.getBlobClient(instanceJsonPath(ref)).exists())) at('no instance.json');
  const doc = sim.instance(s.instanceGuid);
  const data = doc.data ?? [];
  if (manifest.elements.length !== data.length) at(`manifest lists ${manifest.elements.length} elements, the instance has ${data.length}`);
  for (const el of data) {
    const entry = manifest.elements.find((e) => e.id === el.id);
    const expected = await sim.elementSha256(s.instanceGuid, el.id);
    const blob = container.getBlobClient(elementPath(ref, el.id));
    if (!entry) {
      at(`manifest misses element ${el.id}`);
      continue;
    }
    if (entry.size !== el.size || entry.sha256 !== expected || entry.blob !== elementPath(ref, el.id) || entry.contentType !== el.contentType || entry.filename !== el.filename) {
      at(`manifest entry of ${el.id} does not match the element`);
    }
    const hash = createHash('sha256');
    const body = (await blob.download()).readableStreamBody;
    if (!body) {
      at(`element ${el.id}: no body`);
      continue;
    }
    let bytes = 0;
    for await (const chunk of body) {
      bytes += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    if (bytes !== el.size || hash.digest('hex') !== expected) at(`element ${el.id}: blob is not byte-exact (${bytes} of ${el.size} bytes)`);
  }
  return problems;
}
