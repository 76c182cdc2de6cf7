import { generateKeyPairSync } from 'node:crypto';
import type { Server } from 'node:http';
import { createAuthentication, type ExchangeFormat } from './authentication.js';
import { createClient, type ClientCredentials, type NewClientOptions } from './clients.js';
import { newCounters, type Core } from './core.js';
import { contentSha256, contentStream } from './content.js';
import { appResource } from '../../cli/eventsValidation.js';
import { alternativeSubjectOf, createEvents, type CloudEvent } from './events.js';
import { createFaults, seededRandom } from './faults.js';
import { createApplications } from './applications.js';
import { appRoutes } from './apps.js';
import { storageRoutes } from './storage.js';
import type { QueryLimits } from './instanceQuery.js';
import { createPolicies, type PolicyAction } from './policy.js';
import { createStore, guidFrom, type StoredInstance } from './store.js';
import type { Role, Route } from './http.js';
import { createMaskinporten } from './maskinporten.js';
import { createProcessEnd, type ProcessEndHandler } from './processEnd.js';
import { close, serveRoles, type RequestLogEntry } from './serve.js';

export interface SimulatorOptions {
  /** First of three consecutive ports (maskinporten, platform, apps); 0 or absent = any free ports. */
  port?: number;
  /** The simulated service owner (default 'ttd'). */
  org?: string;
  /** Its organisation number (default '991825827'). */
  orgNumber?: string;
  /** Seeds random faults and generated ids, so runs replay (default 1). */
  seed?: number;
  /** Multiplies Altinn's event retry delays (default 1; e.g. 0.001 makes minutes into tens of ms). */
  eventRetryScale?: number;
  /** The simulator's clock in ms since the epoch (default Date.now); tests pass a fake one. */
  now?: () => number;
  /** How the token exchange answers (default 'text': a bare JWT). */
  exchangeFormat?: ExchangeFormat;
  /** Accept subscriptions to http://127.0.0.1… (default true: a dev-only allowance, see README "Events"); false: https only, as Altinn. */
  httpLoopbackEndpoints?: boolean;
  /** How long a published event stays out of the app feed (default 30 000 ms, as Altinn); tests on a real clock pass 0. */
  eventsFeedDelayMs?: number;
}

/** Named keys survive object spreads (an index signature alone does not). */
export type SimulatorEnv = Record<string, string> &
  Record<'ALTINN_ENV' | 'ALTINN_ORG' | 'MASKINPORTEN_URL' | 'ALTINN_PLATFORM_URL' | 'ALTINN_APPS_URL' | 'MASKINPORTEN_CLIENT_ID' | 'MASKINPORTEN_SCOPES' | 'MASKINPORTEN_KEY', string>;

export interface SimulatorClient extends ClientCredentials {
  /** Complete settings for our app (ALTINN_ENV=custom, URLs, org, MASKINPORTEN_*); add AzureWebJobsStorage yourself. */
  env: SimulatorEnv;
}

/** The app settings that point the receiver at this simulator as the client just registered. */
function clientEnv(
  core: Core,
  scopes: Iterable<string>,
  credentials: Awaited<ReturnType<typeof createClient>>['credentials'],
  opts: NewClientOptions,
): SimulatorEnv {
  return {
    ALTINN_ENV: 'custom',
    ALTINN_ORG: core.org,
    MASKINPORTEN_URL: core.urls.maskinporten,
    ALTINN_PLATFORM_URL: core.urls.platform,
    ALTINN_APPS_URL: core.urls.apps,
    MASKINPORTEN_CLIENT_ID: credentials.clientId,
    MASKINPORTEN_SCOPES: [...scopes].join(' '),
    MASKINPORTEN_KEY: credentials.privateKey,
    // The simulated apps run no end-of-process handler unless a test adds one (`addProcessEndHandler`):
    // nothing to wait for after process end. A test or run that adds one sets its own SETTLE_SECONDS.
    SETTLE_SECONDS: '0',
    ...(credentials.kid ? { MASKINPORTEN_KID: credentials.kid } : {}),
    ...(credentials.certificate ? { MASKINPORTEN_CERTIFICATE: credentials.certificate } : {}),
    ...(opts.consumerOrg ? { MASKINPORTEN_CONSUMER_ORG: opts.consumerOrg } : {}),
  };
}

export async function startSimulator(options: SimulatorOptions = {}) {
  const parts = createParts(newCore(options), options);
  const requests: RequestLogEntry[] = [];
  const servers = await serveRoles({ core: parts.core, routes: routesOf(parts), faults: parts.faults, requests, beforeRequest: () => parts.processEnd.applyDue() }, options.port ?? 0);
  return simulatorApi(parts, requests, servers);
}

function newCore(options: SimulatorOptions): Core {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    org: options.org ?? 'ttd',
    orgNumber: options.orgNumber ?? '991825827',
    now: options.now ?? (() => Date.now()),
    urls: { maskinporten: '', platform: '', apps: '' },
    signingKey: keys.privateKey,
    verifyKey: keys.publicKey,
    counters: newCounters(),
    httpLoopback: options.httpLoopbackEndpoints ?? true,
  };
}

/** The simulated services on one core: Maskinporten, Authentication, Storage (applications, instances), Events; and the faults. */
function createParts(core: Core, options: SimulatorOptions) {
  const settings: { exchangeFormat: ExchangeFormat; queryLimits: QueryLimits } = { exchangeFormat: options.exchangeFormat ?? 'text', queryLimits: {} };
  const faults = createFaults(core.now, options.seed ?? 1);
  const maskinporten = createMaskinporten(core);
  const authentication = createAuthentication(core, maskinporten, settings);
  const random = seededRandom((options.seed ?? 1) ^ 0x5eed);
  const applications = createApplications(core);
  const store = createStore(core, random, applications);
  const events = createEvents(core, authentication, random, options.eventRetryScale ?? 1, options.eventsFeedDelayMs);
  const processEnd = createProcessEnd(core, random, applications);
  const policies = createPolicies();
  return { core, settings, faults, random, maskinporten, authentication, applications, store, events, processEnd, policies };
}

type Parts = ReturnType<typeof createParts>;

function routesOf({ core, settings, policies, maskinporten, authentication, applications, store, events }: Parts): Record<Role, Route[]> {
  return {
    maskinporten: maskinporten.routes,
    platform: [...authentication.routes, ...storageRoutes(core, store, authentication, applications, { settings, policies }), ...events.routes],
    apps: appRoutes(core, store, authentication, applications),
  };
}

/** What tests, the demo and the soak drive the simulator with. */
function simulatorApi(parts: Parts, requests: RequestLogEntry[], servers: Record<Role, Server>) {
  const { core, maskinporten, applications, store, events, authentication } = parts;
  return {
    maskinportenUrl: core.urls.maskinporten,
    platformUrl: core.urls.platform,
    appsUrl: core.urls.apps,
    org: core.org,
    orgNumber: core.orgNumber,
    counters: core.counters,
    requests,
    faults: parts.faults,
    settings: parts.settings,
    /** Registers a new Maskinporten client with generated keys (and a certificate chain when asked). */
    async newClient(opts: NewClientOptions = {}): Promise<SimulatorClient> {
      const { registered, credentials } = await createClient(opts, core.orgNumber);
      maskinporten.clients.set(registered.clientId, registered);
      return { ...credentials, env: clientEnv(core, registered.scopes, credentials, opts) };
    },
    /**
     * Application metadata: `declare(app, { dataTypes?, apiScopes? })`, `retireDataType(app, type)` (a new
     * version without it), `retireApp(app)` (no longer deployed). Seeding registers an app with its types.
     */
    applications: { declare: applications.declare, retireDataType: applications.retireDataType, retireApp: applications.retireApp },
    /** The apps' authorization policies: `deny(app, 'complete' | 'read' | 'write')`, `allow(app, action)` (also an action a restricted data type requires). */
    policies: { deny: (app: string, action: PolicyAction) => parts.policies.deny(app, action), allow: (app: string, action: PolicyAction) => parts.policies.allow(app, action) },
    /** Adds an instance with generated data elements; returns its Storage document. */
    seedInstance: store.seedInstance,
    /** Adds an instance from a fixture file (app-lib test data layout); returns the document as loaded. */
    loadInstanceFixture: store.loadInstanceFixture,
    /** The stored (Storage-shaped) document, live: tests may inspect or edit it. */
    instance: (instanceGuid: string) => stored(parts, instanceGuid).doc,
    /** Lower-case hex SHA-256 of an element's content. */
    elementSha256: (instanceGuid: string, elementId: string): Promise<string> => contentSha256(spec(parts, instanceGuid, elementId)),
    /** The element's content, as the data routes serve it. */
    elementStream: (instanceGuid: string, elementId: string) => contentStream(spec(parts, instanceGuid, elementId)),
    /**
     * An end-of-process handler of `app` (app-lib `IProcessEnd`): each instance whose process ends from now on
     * gets `element` added `afterMs` after its completed event (simulator clock).
     */
    addProcessEndHandler: (app: string, handler: ProcessEndHandler): void => parts.processEnd.add(app, handler),
    /** Ends the instance's process and emits `app.instance.process.completed` to matching subscriptions; returns the event. */
    completeProcess: (partyId: string | number, instanceGuid: string): CloudEvent => completeProcess(parts, partyId, instanceGuid),
    emitEvent: (instanceGuid: string, type: string): CloudEvent => emitEvent(parts, instanceGuid, type),
    /** Subscriptions, deliveries, dropping and waiting for deliveries. */
    events: events.handle,
    /** Verifies a token as the Altinn APIs do; for tests that inspect what a client got. */
    verifyAltinnToken: authentication.verifyAltinnToken,
    /** Mints an Altinn token directly (no grant, not counted): `{ scope?, org? }`, `org: null` for a token without org claim. */
    altinnToken: authentication.altinnToken,
    async stop(): Promise<void> {
      events.stop();
      await Promise.all(Object.values(servers).map(close));
    },
  };
}

function stored({ store, processEnd }: Parts, instanceGuid: string): StoredInstance {
  processEnd.applyDue();
  const s = store.get(instanceGuid);
  if (!s) throw new Error(`simulator: no instance ${instanceGuid}`);
  return s;
}

function spec(parts: Parts, instanceGuid: string, elementId: string) {
  const c = stored(parts, instanceGuid).content.get(elementId);
  if (!c) throw new Error(`simulator: no data element ${elementId} in instance ${instanceGuid}`);
  return c;
}

function completeProcess(parts: Parts, partyId: string | number, instanceGuid: string): CloudEvent {
  const s = stored(parts, instanceGuid);
  if (s.partyId !== String(partyId)) throw new Error(`simulator: instance ${instanceGuid} belongs to party ${s.partyId}`);
  parts.store.endProcess(s);
  // As ProcessEngine does: the event is registered first, the app's end-of-process handlers run after.
  const event = emitEvent(parts, instanceGuid, 'app.instance.process.completed');
  parts.processEnd.ended(s);
  return event;
}

/**
 * Emits an app event of any type for an instance (as the app would); returns the event. The app sends source,
 * subject and alternativesubject (`/person/{ssn}` over `/org/{orgNo}`: app-lib
 * src/Altinn.App.Core/Infrastructure/Clients/Events/EventsClient.cs AddEvent); Events adds resource and
 * resourceinstance `{partyId}/{guid}` (altinn-events src/Events/Extensions/AppCloudEventExtensions.cs).
 */
function emitEvent(parts: Parts, instanceGuid: string, type: string): CloudEvent {
  const { core, random, events } = parts;
  const s = stored(parts, instanceGuid);
  const alternativesubject = alternativeSubjectOf(s.doc.instanceOwner);
  const event: CloudEvent = {
    id: guidFrom(random),
    source: `${core.urls.apps}/${s.org}/${s.app}/instances/${s.partyId}/${s.guid}`,
    specversion: '1.0',
    type,
    resource: appResource(s.org, s.app),
    resourceinstance: `${s.partyId}/${s.guid}`,
    subject: `/party/${s.partyId}`,
    ...(alternativesubject ? { alternativesubject } : {}),
    time: new Date(core.now()).toISOString(),
  };
  events.publish(event);
  return event;
}

export type Simulator = Awaited<ReturnType<typeof startSimulator>>;
export type { RequestLogEntry } from './serve.js';
export type { FaultRule, RandomFaults } from './faults.js';
export type { NewClientOptions } from './clients.js';
export type { ProcessEndHandler } from './processEnd.js';
export type { CloudEvent, Delivery, Subscription } from './events.js';
export type { InstanceDoc, SeededInstance, ElementDoc, SeedElement, SeedInstanceOptions } from './store.js';
