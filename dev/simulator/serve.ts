import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Core } from './core.js';
import type { createFaults } from './faults.js';
import { HttpError, matchRoute, sendProblem, type Role, type Route } from './http.js';

export interface RequestLogEntry {
  method: string;
  role: Role;
  host: string;
  /** Path and query. */
  path: string;
  /** Route name, or undefined when no route matched. */
  route: string | undefined;
  hasAuth: boolean;
  /** Status sent (0 until the response is sent). */
  readonly status: number;
  /** False while sending, or when the connection closed before the whole response was sent. */
  readonly completed: boolean;
  /** Simulator clock (ms) when the request arrived. */
  time: number;
}

/** What the request handler needs: the simulator's state, its routes and faults, and the request log. */
export interface Served {
  core: Core;
  routes: Record<Role, Route[]>;
  faults: ReturnType<typeof createFaults>;
  requests: RequestLogEntry[];
  /** Runs before each request is handled (what the simulated apps do on their own, once due). */
  beforeRequest?: () => void;
}

/** One loopback server per role, on `base`, `base + 1`, `base + 2` (any free ports when 0); sets `core.urls`. */
export async function serveRoles(sim: Served, base: number): Promise<Record<Role, Server>> {
  const servers = {} as Record<Role, Server>;
  for (const [i, role] of (['maskinporten', 'platform', 'apps'] as const).entries()) {
    const server = createServer((req, res) => void handle(sim, role, req, res));
    servers[role] = server;
    sim.core.urls[role] = await listen(server, base === 0 ? 0 : base + i);
  }
  return servers;
}

export function close(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function listen(server: Server, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** One request: logged, matched to a route, a planned fault injected, or handled; errors answered as problem details. */
async function handle(sim: Served, role: Role, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { core, routes, faults, requests } = sim;
  const url = new URL(req.url ?? '/', core.urls[role]);
  const method = req.method ?? 'GET';
  const match = matchRoute(routes[role], method, url.pathname);
  // Status and completion are read live from the response, so the log is current the moment a client has its answer.
  const entry: RequestLogEntry = {
    method,
    role,
    host: req.headers.host ?? '',
    path: url.pathname + url.search,
    route: typeof match === 'object' ? match.route.name : undefined,
    hasAuth: req.headers.authorization !== undefined,
    get status() {
      return res.headersSent ? res.statusCode : 0;
    },
    get completed() {
      return res.writableFinished;
    },
    time: core.now(),
  };
  requests.push(entry);
  sim.beforeRequest?.();
  try {
    if (match === undefined) throw new HttpError(404, `no route for ${url.pathname}`);
    if (match === 'method') throw new HttpError(405, `${method} is not allowed here`);
    const fault = faults.take({ role, route: match.route.name, method, instanceGuid: match.params.instanceGuid, dataGuid: match.params.dataGuid });
    if (fault?.latencyMs) await delay(fault.latencyMs);
    if (fault?.status) {
      req.resume();
      return sendProblem(res, fault.status, fault.detail ?? 'injected fault', fault.retryAfter ? { 'Retry-After': fault.retryAfter } : {});
    }
    await match.route.handle({ req, res, url, role, route: match.route.name, params: match.params, fault });
  } catch (e) {
    req.resume();
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e instanceof HttpError) return sendProblem(res, e.status, e.message, e.headers);
    console.error('simulator: handler failed', e);
    sendProblem(res, 500, 'simulator error');
  }
}
