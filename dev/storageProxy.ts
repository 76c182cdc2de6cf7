import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fault-injecting HTTP proxy on loopback in front of one real Azurite service (blob or queue): the
 * client's connection string points at the proxy, which forwards every request untouched unless a rule
 * matches it. Faults are what Azure Storage really does to a client: an error answer in the service's
 * own form (status, `x-ms-error-code`, the XML `<Error>` body Azure and Azurite send:
 * Azure/Azurite src/blob/errors/StorageError.ts), a stalled request (no answer at all), or a reset
 * connection. Never a mock: what is not faulted is Azurite's answer.
 */
export type StorageService = 'blob' | 'queue';

/** An error answer: 503 ServerBusy, 500 InternalError, 500 OperationTimedOut, … */
export interface ErrorEffect {
  status: number;
  code: string;
  message: string;
}
export type ProxyEffect = ErrorEffect | { stall: true } | { reset: true };

/** Azure's answer when an account or partition is over its limits or the front end is overloaded. */
export const SERVER_BUSY: ErrorEffect = { status: 503, code: 'ServerBusy', message: 'The server is currently unable to receive requests. Please retry your request.' };
export const INTERNAL_ERROR: ErrorEffect = { status: 500, code: 'InternalError', message: 'The server encountered an internal error. Please retry the request.' };

export interface ProxyRule {
  /** Operations it applies to (see `operationOf`); every operation when absent. */
  ops?: readonly string[] | undefined;
  /** Only requests whose path contains this. */
  pathIncludes?: string | undefined;
  effect: ProxyEffect;
  /** Active from/until these times on the proxy's clock (ms); always when absent. */
  from?: number | undefined;
  until?: number | undefined;
  /** Applies this many times, then is spent (default: no limit). */
  times?: number | undefined;
  /**
   * Dormant until a request of one of these operations (on a path containing `pathIncludes`, if given)
   * arrives: that request opens the window (`from` = its time, `until` = from + durationMs) and is the first one faulted.
   */
  startsWith?: { ops: readonly string[]; pathIncludes?: string; durationMs: number } | undefined;
}

export interface ProxyRequest {
  op: string;
  method: string;
  path: string;
  /** On the proxy's clock. */
  time: number;
  /** The status sent to the client, or what was done instead. */
  outcome: number | 'stalled' | 'reset' | 'upstream-failed';
  faulted: boolean;
}

export interface StorageProxy {
  service: StorageService;
  port: number;
  /** The service endpoint through the proxy (`http://127.0.0.1:{port}/devstoreaccount1`). */
  url: string;
  add(rule: ProxyRule): ProxyRule;
  remove(rule: ProxyRule): void;
  clear(): void;
  /** `effect` (default ServerBusy) for `ms` from now on the proxy's clock, for `ops` (default all). */
  outage(ms: number, opts?: { effect?: ProxyEffect; ops?: readonly string[] }): ProxyRule;
  /** Every request seen, in order. */
  readonly requests: readonly ProxyRequest[];
  /** Ends every stalled request (the client sees its connection reset). */
  releaseStalled(): void;
  stop(): Promise<void>;
}

const LEASE_OPS = new Set(['acquire', 'renew', 'release', 'break', 'change']);

/** A stable name for the Azure Storage operation a request is: `put-blob`, `put-block`, `lease-renew`, `put-message`, … */
export function operationOf(service: StorageService, method: string, url: URL, leaseAction?: string): string {
  const comp = url.searchParams.get('comp');
  const restype = url.searchParams.get('restype');
  const m = method.toUpperCase();
  if (service === 'queue') {
    const messages = /\/messages(\/|$)/.test(url.pathname);
    if (messages && m === 'POST') return 'put-message';
    if (messages && m === 'GET') return url.searchParams.get('peekonly') === 'true' ? 'peek-messages' : 'get-messages';
    if (messages && m === 'DELETE') return url.searchParams.has('popreceipt') ? 'delete-message' : 'clear-messages';
    if (messages && m === 'PUT') return 'update-message';
    if (m === 'PUT' && !comp) return 'create-queue';
    return `${m.toLowerCase()}-queue${comp ? `-${comp}` : ''}`;
  }
  if (comp === 'lease' && leaseAction && LEASE_OPS.has(leaseAction.toLowerCase())) return `lease-${leaseAction.toLowerCase()}`;
  if (comp === 'block') return 'put-block';
  if (comp === 'blocklist') return m === 'PUT' ? 'put-block-list' : 'get-block-list';
  if (restype === 'container') return comp ? `${m.toLowerCase()}-container-${comp}` : `${m.toLowerCase()}-container`;
  if (!comp) return ({ PUT: 'put-blob', GET: 'get-blob', HEAD: 'get-properties', DELETE: 'delete-blob' } as Record<string, string>)[m] ?? m.toLowerCase();
  return `${m.toLowerCase()}-${comp}`;
}

function errorBody(effect: ErrorEffect, requestId: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><Error><Code>${effect.code}</Code><Message>${effect.message}\nRequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`;
}

/** Rules, what they have been used for, and the request log. */
class ProxyState {
  readonly rules: ProxyRule[] = [];
  readonly used = new Map<ProxyRule, number>();
  readonly requests: ProxyRequest[] = [];
  readonly stalled = new Set<IncomingMessage>();

  /** The first live rule for this request, counted as used. */
  take(op: string, path: string, now: number): ProxyRule | undefined {
    for (const r of this.rules) {
      const s = r.startsWith;
      if (s && r.from === undefined && s.ops.includes(op) && (!s.pathIncludes || path.includes(s.pathIncludes))) {
        r.from = now;
        r.until = now + s.durationMs;
      }
    }
    const rule = this.rules.find(
      (r) =>
        (!r.ops || r.ops.includes(op)) &&
        (!r.pathIncludes || path.includes(r.pathIncludes)) &&
        (r.from === undefined ? !r.startsWith : now >= r.from) &&
        (r.until === undefined || now < r.until) &&
        (this.used.get(r) ?? 0) < (r.times ?? Infinity),
    );
    if (rule) this.used.set(rule, (this.used.get(rule) ?? 0) + 1);
    return rule;
  }

  releaseStalled(): void {
    for (const r of this.stalled) r.socket.destroy();
    this.stalled.clear();
  }
}

interface ProxyTarget {
  service: StorageService;
  target: { port: number; host?: string };
  clock: { now(): number };
  agent: Agent;
}

function handle(state: ProxyState, t: ProxyTarget, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const leaseAction = req.headers['x-ms-lease-action'];
  const op = operationOf(t.service, req.method ?? 'GET', url, typeof leaseAction === 'string' ? leaseAction : undefined);
  const time = t.clock.now();
  const rule = state.take(op, url.pathname, time);
  const record = (outcome: ProxyRequest['outcome']) => state.requests.push({ op, method: req.method ?? 'GET', path: url.pathname, time, outcome, faulted: rule !== undefined });
  if (!rule) return forward(t, req, res, record);
  const effect = rule.effect;
  if ('reset' in effect) {
    record('reset');
    req.socket.destroy();
  } else if ('stall' in effect) {
    record('stalled');
    state.stalled.add(req);
    req.resume();
    // The socket's close, not the request's: an IncomingMessage closes once its body is read, which leaves the
    // connection stalled but no longer releasable.
    req.socket.once('close', () => state.stalled.delete(req));
  } else {
    record(effect.status);
    // Read the whole request first, as the service does, so the client is not cut off mid-upload.
    req.resume();
    req.once('end', () => answer(req, res, effect));
  }
}

function forward(t: ProxyTarget, req: IncomingMessage, res: ServerResponse, record: (o: ProxyRequest['outcome']) => void): void {
  const upstream = httpRequest({ host: t.target.host ?? '127.0.0.1', port: t.target.port, method: req.method, path: req.url, headers: req.headers, agent: t.agent }, (up) => {
    record(up.statusCode ?? 0);
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
    up.once('error', () => res.destroy());
  });
  upstream.once('error', () => {
    record('upstream-failed');
    req.socket.destroy();
  });
  req.pipe(upstream);
}

export async function startStorageProxy(opts: { service: StorageService; target: { port: number; host?: string }; clock?: { now(): number } }): Promise<StorageProxy> {
  const clock = opts.clock ?? { now: () => Date.now() };
  const state = new ProxyState();
  const sockets = new Set<Socket>();
  const t: ProxyTarget = { service: opts.service, target: opts.target, clock, agent: new Agent({ keepAlive: true }) };
  const server = createServer((req, res) => handle(state, t, req, res));
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const { rules } = state;
  return {
    service: opts.service,
    port,
    url: `http://127.0.0.1:${port}/devstoreaccount1`,
    add: (rule) => (rules.push(rule), rule),
    remove: (rule) => {
      const i = rules.indexOf(rule);
      if (i >= 0) rules.splice(i, 1);
    },
    clear: () => void rules.splice(0, rules.length),
    outage(ms, o = {}) {
      const from = clock.now();
      const rule: ProxyRule = { effect: o.effect ?? SERVER_BUSY, ops: o.ops, from, until: from + ms };
      rules.push(rule);
      return rule;
    },
    requests: state.requests,
    releaseStalled: () => state.releaseStalled(),
    async stop() {
      state.releaseStalled();
      for (const s of sockets) s.destroy();
      t.agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function answer(req: IncomingMessage, res: ServerResponse, effect: ErrorEffect): void {
  const requestId = randomUUID();
  const body = req.method === 'HEAD' ? '' : errorBody(effect, requestId);
  res.writeHead(effect.status, effect.message.replace(/[^\x20-\x7e]/g, ' '), {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-ms-error-code': effect.code,
    'x-ms-request-id': requestId,
    ...(typeof req.headers['x-ms-version'] === 'string' ? { 'x-ms-version': req.headers['x-ms-version'] } : {}),
  });
  res.end(body);
}
