import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ActiveFault } from './faults.js';

/** The three hosts the simulator plays, each on its own loopback port. */
export type Role = 'maskinporten' | 'platform' | 'apps';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  role: Role;
  route: string;
  params: Record<string, string>;
  /** Body faults the data routes apply (status/latency faults are applied before the handler runs). */
  fault?: ActiveFault | undefined;
}

export interface Route {
  /** Stable name, used by fault rules and the request log. */
  name: string;
  method: string;
  path: RegExp;
  handle(ctx: Ctx): Promise<void> | void;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const MAX_BODY = 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_BODY): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type)) throw new HttpError(415, 'Content-Type must be application/json');
  const text = (await readBody(req)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** RFC 7807 problem details, as the ASP.NET Core based Altinn APIs answer errors. */
export function sendProblem(res: ServerResponse, status: number, detail: string, headers: Record<string, string> = {}): void {
  const text = JSON.stringify({ type: `https://tools.ietf.org/html/rfc9110#section-15`, title: titleOf(status), status, detail });
  res.writeHead(status, { 'Content-Type': 'application/problem+json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function titleOf(status: number): string {
  const titles: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    409: 'Conflict',
    413: 'Payload Too Large',
    415: 'Unsupported Media Type',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
  };
  return titles[status] ?? 'Error';
}

export function matchRoute(routes: readonly Route[], method: string, pathname: string): { route: Route; params: Record<string, string> } | 'method' | undefined {
  let pathMatched = false;
  for (const route of routes) {
    const m = route.path.exec(pathname);
    if (!m) continue;
    pathMatched = true;
    if (route.method === method) return { route, params: { ...m.groups } };
  }
  return pathMatched ? 'method' : undefined;
}
