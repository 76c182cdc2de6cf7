import { z } from 'zod';
import type { Authentication } from './authentication.js';
import type { Core } from './core.js';
import { publish, stopTimers } from './eventsDelivery.js';
import { subscriptionRoutes } from './eventsSubscriptions.js';
import { feedRoutes, type RegisteredEvent } from './eventsFeed.js';

export interface CloudEvent {
  id: string;
  source: string;
  specversion: '1.0';
  type: string;
  resource?: string;
  resourceinstance?: string;
  subject?: string;
  alternativesubject?: string;
  time?: string;
  [key: string]: unknown;
}

export interface Subscription {
  id: number;
  endPoint: string;
  sourceFilter: string | null;
  resourceFilter: string | null;
  subjectFilter: string | null;
  alternativeSubjectFilter: string | null;
  typeFilter: string | null;
  consumer: string;
  createdBy: string;
  created: string;
  validated: boolean;
}

export interface Delivery {
  subscriptionId: number;
  eventId: string;
  type: string;
  /** 1 for the first try. */
  attempt: number;
  /** Status the endpoint answered, 0 for a network error, -1 when dropped on purpose. */
  status: number;
  time: number;
}

/**
 * An app event's alternativesubject, from the instance owner: `/org/{organisationNumber}`, else
 * `/person/{personNumber}`, else the `externalIdentifier` as it is (app-lib EventsClient.AddEvent).
 */
export function alternativeSubjectOf(instanceOwner: unknown): string | undefined {
  const owner = z
    .object({ personNumber: z.string().nullish(), organisationNumber: z.string().nullish(), externalIdentifier: z.string().nullish() })
    .safeParse(instanceOwner);
  if (!owner.success) return undefined;
  const { organisationNumber, personNumber, externalIdentifier } = owner.data;
  // String.IsNullOrWhiteSpace in each test.
  if (organisationNumber?.trim()) return `/org/${organisationNumber}`;
  if (personNumber?.trim()) return `/person/${personNumber}`;
  return externalIdentifier?.trim() ? externalIdentifier : undefined;
}

/** The Events API's state: the subscriptions, and the deliveries in flight and done. */
export interface EventsState {
  core: Core;
  random: () => number;
  /** Multiplies every retry delay. */
  retryScale: number;
  subscriptions: Map<number, Subscription>;
  deliveries: Delivery[];
  /** Subscriptions whose validation Altinn gave up on (the command went to the error queue). */
  abandoned: Set<number>;
  timers: Set<NodeJS.Timeout>;
  idleWaiters: (() => void)[];
  nextId: number;
  /** Deliveries in flight or waiting for a retry. */
  pending: number;
  dropNext: number;
  dropRate: number;
  /** Every app event published, in registration order: what the app feed serves (deliveries dropped or not). */
  published: RegisteredEvent[];
  /** How long a registered event stays out of the feed (Altinn: 30 s). */
  feedDelayMs: number;
}

/** Control and observation of the Events API (exposed as `sim.events`). */
function controlHandle(st: EventsState, publishEvent: (event: CloudEvent) => void) {
  return {
    subscriptions: st.subscriptions,
    deliveries: st.deliveries,
    /** Ids of subscriptions whose validation handshake Altinn gave up on: they stay unvalidated and get no events. */
    abandoned: st.abandoned,
    /** Probability (0..1, seeded) that an app-event delivery attempt is silently dropped. */
    get dropRate() {
      return st.dropRate;
    },
    set dropRate(v: number) {
      st.dropRate = v;
    },
    /** Drops the next `n` app-event delivery attempts (they are never sent, nor retried). */
    dropNext(n: number): void {
      st.dropNext += n;
    },
    /** Every event published (registered in Events), in order, whether or not its delivery was dropped. */
    get published(): CloudEvent[] {
      return st.published.map((r) => r.event);
    },
    /** How long a registered event stays out of the app feed (default 30 s, as Altinn's getappevents.sql). */
    get feedDelayMs() {
      return st.feedDelayMs;
    },
    set feedDelayMs(v: number) {
      st.feedDelayMs = v;
    },
    /** Sends any CloudEvent to the matching validated subscriptions. */
    publish: publishEvent,
    /** Resolves when no delivery is in flight or waiting for a retry. */
    idle(): Promise<void> {
      return st.pending === 0 ? Promise.resolve() : new Promise((resolve) => st.idleWaiters.push(resolve));
    },
  };
}

/** Events registered less than this long ago are not served yet (getappevents.sql: `registeredtime <= now() - interval '30 second'`). */
const FEED_DELAY_MS = 30_000;

/** Altinn Events: the subscription API (eventsSubscriptions.ts), the app feed (eventsFeed.ts) and the webhook deliveries (eventsDelivery.ts). */
export function createEvents(core: Core, auth: Authentication, random: () => number, retryScale: number, feedDelayMs = FEED_DELAY_MS) {
  const st: EventsState = {
    core,
    random,
    retryScale,
    subscriptions: new Map(),
    deliveries: [],
    abandoned: new Set(),
    timers: new Set(),
    idleWaiters: [],
    nextId: 1,
    pending: 0,
    dropNext: 0,
    dropRate: 0,
    published: [],
    feedDelayMs,
  };
  const publishEvent = (event: CloudEvent) => publish(st, event);
  return {
    routes: [...subscriptionRoutes(st, auth), ...feedRoutes(st, auth)],
    publish: publishEvent,
    handle: controlHandle(st, publishEvent),
    stop(): void {
      stopTimers(st);
    },
  };
}

export type Events = ReturnType<typeof createEvents>;
