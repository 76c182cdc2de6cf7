import type { Role } from './http.js';

/**
 * Scripted and random faults. A rule matches requests by role/route/method/instance/data element;
 * each matching request consumes one application of it (`times`, or one entry of a `status` sequence).
 */
export interface FaultRule {
  role?: Role;
  /** Route name, e.g. 'apps.data' (see README). */
  route?: string;
  method?: string;
  instanceGuid?: string;
  dataGuid?: string;
  /** How many matching requests the rule applies to (default 1; Infinity for all). Ignored when `status` is a list. */
  times?: number;
  /** Answer with this status instead of the real response; a list is consumed one entry per request (200 = pass through). */
  status?: number | number[];
  /** Retry-After header value sent with the status (seconds, or an HTTP date). */
  retryAfter?: number | string;
  /** Delay before answering, in ms (real time). */
  latencyMs?: number;
  /** Data routes: destroy the connection (TCP reset) after this many body bytes. */
  resetAfterBytes?: number;
  /** Data routes: end the response after this many body bytes although Content-Length promised the full size. */
  truncateAfterBytes?: number;
  /** Data routes: serve size + delta bytes (Content-Length consistent with what is sent, not with the element's size). */
  sizeDelta?: number;
}

export interface RandomFaults {
  /** Probability (0..1) that a matching request gets a fault. */
  rate: number;
  roles?: Role[];
  routes?: string[];
  /** Statuses to pick from (default 500, 502, 503, 429). */
  statuses?: number[];
  /** Also pick connection resets mid-body on data routes. */
  resets?: boolean;
}

/** What applies to one request. */
export interface ActiveFault {
  status?: number;
  /** The problem detail sent with `status` (default "injected fault"). */
  detail?: string;
  retryAfter?: string;
  latencyMs?: number;
  resetAfterBytes?: number;
  truncateAfterBytes?: number;
  sizeDelta?: number;
}

export interface FaultQuery {
  role: Role;
  route: string;
  method: string;
  instanceGuid?: string | undefined;
  dataGuid?: string | undefined;
}

interface LiveRule {
  id: number;
  rule: FaultRule;
  remaining: number;
  statuses?: number[];
}

/** mulberry32: a tiny seeded PRNG, so random fault runs can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Outage {
  roles: readonly Role[];
  /** Only these routes of the roles (all when absent). */
  routes?: readonly string[];
  from: number;
  until: number;
  status: number;
  retryAfter?: string;
  detail?: string;
}

/** Storage's routes on one instance, each authorised by the PEP (altinn-storage src/Storage/Authorization/AuthorizationService.cs). */
const STORAGE_INSTANCE_ROUTES = ['storage.instance', 'storage.data', 'storage.complete', 'storage.substatus'];

/** The rules, the random mode with its PRNG and the outage windows; `now` is the simulator clock. */
interface FaultState {
  now: () => number;
  rules: LiveRule[];
  nextId: number;
  randomMode: RandomFaults | undefined;
  random: () => number;
  outages: Outage[];
}

export function createFaults(now: () => number, seed: number) {
  const st: FaultState = { now, rules: [], nextId: 1, randomMode: undefined, random: seededRandom(seed), outages: [] };
  return {
    /** Adds a rule; returns its id (for `remove`). */
    add: (rule: FaultRule): number => addRule(st, rule),
    remove(id: number): void {
      st.rules = st.rules.filter((r) => r.id !== id);
    },
    /** Removes every rule, random mode and outage window. */
    clear(): void {
      st.rules = [];
      st.randomMode = undefined;
      st.outages.length = 0;
    },
    /** Random faults from the seeded PRNG (pass `seed` to restart the sequence); `undefined` turns them off. */
    random(mode: (RandomFaults & { seed?: number }) | undefined): void {
      st.randomMode = mode;
      if (mode?.seed !== undefined) st.random = seededRandom(mode.seed);
    },
    /** Maskinporten answers `status` (default 503) to everything from now (simulator clock) for `durationMs`. */
    maskinportenOutage(durationMs: number, status = 503): void {
      addOutage(st, ['maskinporten'], durationMs, status);
    },
    /** An outage window: every request to these roles answers `status` (default 503) for `durationMs` (see `addOutage`). */
    outage: (roles: readonly Role[], durationMs: number, status?: number, retryAfter?: number): void => addOutage(st, roles, durationMs, status, retryAfter),
    /**
     * Altinn Authorization unavailable for `durationMs` (from `startInMs` on): Storage's PEP gets no decision
     * (altinn-authorization src/Altinn.Common.PEP/.../PDPAppSI.cs `GetDecisionForRequest` → null), so
     * AuthorizationService answers false and every instance route `Forbid()`s: 403.
     */
    authorizationDown: (durationMs: number, startInMs = 0): void =>
      addWindow(st, { roles: ['platform'], routes: STORAGE_INSTANCE_ROUTES, status: 403, detail: 'Forbidden', from: st.now() + startInMs, until: st.now() + startInMs + durationMs }),
    /**
     * Storage's instance GET failing inside (its database, say) for `durationMs` (from `startInMs` on): the
     * catch-all answers 404 (altinn-storage src/Storage/Controllers/InstancesController.cs `Get`:
     * `catch (Exception e) → NotFound("Unable to find instance …: {e}")`).
     */
    instanceLookupFailing: (durationMs: number, startInMs = 0): void =>
      addWindow(st, {
        roles: ['platform'],
        routes: ['storage.instance'],
        status: 404,
        detail: 'Unable to find instance: System.TimeoutException: the database did not answer',
        from: st.now() + startInMs,
        until: st.now() + startInMs + durationMs,
      }),
    /** Rules not used up yet. */
    pending(): number {
      return st.rules.filter((r) => r.remaining > 0).length;
    },
    /** The fault for one request (consumes rule applications). */
    take: (q: FaultQuery): ActiveFault | undefined => take(st, q),
  };
}

function addRule(st: FaultState, rule: FaultRule): number {
  const statuses = Array.isArray(rule.status) ? [...rule.status] : undefined;
  const live: LiveRule = { id: st.nextId++, rule, remaining: statuses ? statuses.length : rule.times ?? 1, ...(statuses ? { statuses } : {}) };
  st.rules.push(live);
  return live.id;
}

/**
 * Every request to these roles answers `status` (with `Retry-After` when given) from now (simulator
 * clock) for `durationMs`, before any rule is consulted (rules are not used up meanwhile).
 */
function addOutage(st: FaultState, roles: readonly Role[], durationMs: number, status = 503, retryAfter?: number): void {
  const from = st.now();
  addWindow(st, { roles, from, until: from + durationMs, status, ...(retryAfter !== undefined ? { retryAfter: String(retryAfter) } : {}) });
}

function addWindow(st: FaultState, outage: Outage): void {
  st.outages.push(outage);
}

function take(st: FaultState, q: FaultQuery): ActiveFault | undefined {
  const t = st.now();
  // An outage window beats every rule: nothing of that service answers, whatever else was planned.
  const outage = st.outages.find((o) => o.roles.includes(q.role) && (!o.routes || o.routes.includes(q.route)) && t >= o.from && t < o.until);
  if (outage) {
    return { status: outage.status, ...(outage.retryAfter !== undefined ? { retryAfter: outage.retryAfter } : {}), ...(outage.detail ? { detail: outage.detail } : {}) };
  }
  const live = st.rules.find((r) => r.remaining > 0 && matches(r.rule, q));
  if (live) {
    const fault = fromRule(live);
    st.rules = st.rules.filter((r) => r.remaining > 0);
    return fault;
  }
  return fromRandom(st, q);
}

const matches = (r: FaultRule, q: FaultQuery) =>
  (r.role === undefined || r.role === q.role) &&
  (r.route === undefined || r.route === q.route) &&
  (r.method === undefined || r.method.toUpperCase() === q.method) &&
  (r.instanceGuid === undefined || r.instanceGuid === q.instanceGuid) &&
  (r.dataGuid === undefined || r.dataGuid === q.dataGuid);

function fromRule(live: LiveRule): ActiveFault | undefined {
  const r = live.rule;
  const status = live.statuses ? live.statuses.shift() : r.status as number | undefined;
  live.remaining--;
  if (status === 200) return undefined;
  return {
    ...(status !== undefined ? { status } : {}),
    ...(r.retryAfter !== undefined ? { retryAfter: String(r.retryAfter) } : {}),
    ...(r.latencyMs !== undefined ? { latencyMs: r.latencyMs } : {}),
    ...(r.resetAfterBytes !== undefined ? { resetAfterBytes: r.resetAfterBytes } : {}),
    ...(r.truncateAfterBytes !== undefined ? { truncateAfterBytes: r.truncateAfterBytes } : {}),
    ...(r.sizeDelta !== undefined ? { sizeDelta: r.sizeDelta } : {}),
  };
}

function fromRandom(st: FaultState, q: FaultQuery): ActiveFault | undefined {
  const m = st.randomMode;
  if (!m || (m.roles && !m.roles.includes(q.role)) || (m.routes && !m.routes.includes(q.route))) return undefined;
  if (st.random() >= m.rate) return undefined;
  const statuses = m.statuses ?? [500, 502, 503, 429];
  const dataRoute = q.route.endsWith('.data');
  const pick = Math.floor(st.random() * (statuses.length + (m.resets && dataRoute ? 1 : 0)));
  const status = statuses[pick];
  if (status === undefined) return { resetAfterBytes: Math.floor(st.random() * 65536) };
  return status === 429 ? { status, retryAfter: '1' } : { status };
}
