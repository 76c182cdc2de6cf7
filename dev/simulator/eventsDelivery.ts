import { VALIDATION_RETRY_SECONDS } from '../../cli/eventsValidation.js';
import { bump } from './core.js';
import type { CloudEvent, EventsState, Subscription } from './events.js';
import { guidFrom } from './store.js';
import { register } from './eventsFeed.js';

const VALIDATION_EVENT_TYPE = 'platform.events.validatesubscription';
/**
 * Altinn Events' outbound retry schedule on its Service Bus path (seconds after the previous failure; 12 attempts,
 * about 34 h 47 min in all): WolverineSettings.OutboundQueuePolicy in altinn-events src/Events/appsettings.json
 * (a 10 s cooldown, then the scheduled delays), applied by src/Events/Wolverine/Policies/OutboundEventHandlerPolicy.cs.
 * The storage-queue path (src/Events.Functions/Services/RetryBackoffService.cs) adds a third 12 h: 13 attempts,
 * about 46 h 47 min. The shorter one is modelled: it is the sooner an event is lost.
 */
const RETRY_SCHEDULE_SECONDS = [10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 43200];

/** One event bound for one subscription, and what to do when it is delivered or given up. */
interface Job {
  sub: Subscription;
  event: CloudEvent;
  schedule: readonly number[];
  on: { ok?: () => void; giveUp?: () => void };
}

/** One delivery attempt: the HTTP status, or 0 when the endpoint could not be reached. */
async function post(sub: Subscription, event: CloudEvent): Promise<number> {
  try {
    const res = await fetch(sub.endPoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Any 2xx is success: altinn-events WebhookService.Send checks `IsSuccessStatusCode`. */
const succeeded = (status: number) => status >= 200 && status <= 299;

function settle(st: EventsState): void {
  if (--st.pending === 0) for (const w of st.idleWaiters.splice(0)) w();
}

function later(st: EventsState, ms: number, fn: () => void): void {
  const t = setTimeout(() => {
    st.timers.delete(t);
    fn();
  }, ms);
  t.unref();
  st.timers.add(t);
}

/** Whether this app-event attempt is dropped on purpose (`dropNext` first, then the seeded `dropRate`). */
function dropped(st: EventsState): boolean {
  if (st.dropNext > 0) {
    st.dropNext--;
    return true;
  }
  return st.dropRate > 0 && st.random() < st.dropRate;
}

function record(st: EventsState, job: Job, attempt: number, status: number): void {
  st.deliveries.push({ subscriptionId: job.sub.id, eventId: job.event.id, type: job.event.type, attempt, status, time: st.core.now() });
}

/** Attempt `n` (1 for the first try); on failure, the next one after the schedule's `n`th delay, if any. */
async function attempt(st: EventsState, job: Job, n: number): Promise<void> {
  if (!st.subscriptions.has(job.sub.id)) return settle(st);
  bump(st.core.counters.deliveries, String(job.sub.id));
  if (job.event.type !== VALIDATION_EVENT_TYPE && dropped(st)) {
    record(st, job, n, -1);
    return settle(st);
  }
  const status = await post(job.sub, job.event);
  record(st, job, n, status);
  if (succeeded(status)) {
    job.on.ok?.();
    return settle(st);
  }
  const wait = job.schedule[n - 1];
  if (wait === undefined) {
    job.on.giveUp?.();
    return settle(st);
  }
  later(st, wait * 1000 * st.retryScale, () => void attempt(st, job, n + 1));
}

/**
 * One event to one subscription, retried after each delay of `schedule` (scaled) until a 2xx or the schedule
 * ends; then `on.giveUp`.
 */
function deliver(st: EventsState, job: Job): void {
  st.pending++;
  void attempt(st, job, 1);
}

/**
 * Registers an event (the app feed serves it from now on) and sends it to every validated subscription whose
 * filters match it: resource exact (stored lower-case), subject and type exact when set (altinn-events
 * getsubscriptions.sql: `AND s.validated`).
 */
export function publish(st: EventsState, event: CloudEvent): void {
  register(st, event);
  for (const sub of st.subscriptions.values()) {
    if (!sub.validated) continue;
    if (sub.resourceFilter !== event.resource?.toLowerCase()) continue;
    if (sub.typeFilter && sub.typeFilter !== event.type) continue;
    if (sub.subjectFilter && sub.subjectFilter !== event.subject) continue;
    deliver(st, { sub, event, schedule: RETRY_SCHEDULE_SECONDS, on: {} });
  }
}

/** The validation handshake, on Altinn's validation retry policy (cli/eventsValidation.ts), then given up. */
export function validate(st: EventsState, sub: Subscription): void {
  st.abandoned.delete(sub.id);
  const event: CloudEvent = { id: guidFrom(st.random), source: `${st.core.urls.platform}/events/api/v1/subscriptions/${sub.id}`, type: VALIDATION_EVENT_TYPE, specversion: '1.0' };
  deliver(st, { sub, event, schedule: VALIDATION_RETRY_SECONDS, on: { ok: () => (sub.validated = true), giveUp: () => st.abandoned.add(sub.id) } });
}

/** Cancels every waiting retry. */
export function stopTimers(st: EventsState): void {
  for (const t of st.timers) clearTimeout(t);
  st.timers.clear();
}
