import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import azf from '@azure/functions';
import type { HttpFunctionOptions, HttpResponseInit } from '@azure/functions';
import type { Logger } from '../../lib/log.js';
import type { Invoker } from './invoke.js';
import { compileRoute, type Route } from './routes.js';

/** The host's own limit on request bodies. */
const MAX_BODY_BYTES = 100 * 1024 * 1024;

export interface HttpFunction {
  name: string;
  options: HttpFunctionOptions;
}

interface Endpoint {
  name: string;
  route: Route;
  methods: string[];
  authLevel: string;
  options: HttpFunctionOptions;
}

export interface HttpTriggers {
  /** For the start-up line. */
  describe(): { name: string; trigger: 'http'; route: string; methods: string[]; authLevel: string }[];
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export function httpTriggers(functions: HttpFunction[], routePrefix: string, invoker: Invoker, log: Logger): HttpTriggers {
  const prefix = routePrefix ? `/${routePrefix}` : '';
  const endpoints: Endpoint[] = functions.map(({ name, options }) => ({
    name,
    route: compileRoute(options.route ?? name),
    methods: (options.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase()),
    authLevel: options.authLevel ?? 'anonymous',
    options,
  }));

  const find = (method: string, path: string) => {
    for (const e of endpoints) {
      if (!e.methods.includes(method)) continue;
      const params = e.route.match(path);
      if (params) return { endpoint: e, params };
    }
    return undefined;
  };

  return {
    describe: () =>
      endpoints.map((e) => ({
        name: e.name,
        trigger: 'http' as const,
        route: `${prefix}/${e.route.template.replace(/^\/+/, '')}`,
        methods: e.methods,
        authLevel: e.authLevel,
      })),
    async handle(req, res) {
      const method = (req.method ?? 'GET').toUpperCase();
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      const path = url.pathname;
      const inPrefix = prefix === '' || path.toLowerCase() === prefix || path.toLowerCase().startsWith(`${prefix}/`);
      const hit = inPrefix ? find(method, path.slice(prefix.length)) : undefined;
      if (!hit) {
        log.info('no function for request', { method, path });
        return send(res, 404);
      }
      const body = await readBody(req);
      if (body === 'too-large') return send(res, 413);
      const request = new azf.HttpRequest({
        method,
        url: url.href,
        headers: flattenHeaders(req),
        params: hit.params,
        ...(body.length > 0 ? { body: { bytes: body } } : {}),
      });
      // Keys are not checked, as with Core Tools; the level is logged so a missing `code=` is no surprise in Azure.
      const outcome = await invoke(invoker, hit.endpoint, request, method, path);
      if (!outcome.ok) return send(res, 500);
      await writeResponse(res, outcome.result as Response);
    },
  };
}

function invoke(invoker: Invoker, e: Endpoint, request: InstanceType<typeof azf.HttpRequest>, method: string, path: string) {
  return invoker.invoke(
    e.name,
    { trigger: 'http', method, path, authLevel: e.authLevel },
    {},
    async (context) => toResponse(await e.options.handler(request, context)),
    (result) => ({ status: (result as Response).status }),
  );
}

type Response = InstanceType<typeof azf.HttpResponse>;

/** What a handler returns (an `HttpResponseInit`, an `HttpResponse` or nothing) as one `HttpResponse`. */
function toResponse(result: HttpResponseInit | Response | undefined | void): Response {
  return result instanceof azf.HttpResponse ? result : new azf.HttpResponse(result ?? {});
}

/**
 * The response as the worker hands it to the Functions host: the whole body read into bytes first (without
 * `app.setup({ enableHttpStream: true })`, which this app does not use: @azure/functions
 * src/converters/toRpcHttp.ts awaits `response.arrayBuffer()`), then sent in one write. Streaming it
 * through a pipeline cost the local host about a third of a millisecond per small answer.
 */
async function writeResponse(res: ServerResponse, response: Response) {
  res.statusCode = response.status;
  response.headers.forEach((value, key) => {
    if (key !== 'set-cookie') res.setHeader(key, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (!response.body) return void res.end();
  res.end(Buffer.from(await response.arrayBuffer()));
}

function send(res: ServerResponse, status: number) {
  res.statusCode = status;
  res.end();
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return headers;
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return 'too-large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Listens on `port` (0 = a free one) on all interfaces, like `func start`; resolves with the bound port. */
export function listen(triggers: HttpTriggers, port: number, log: Logger): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    triggers.handle(req, res).catch((error: unknown) => {
      log.error('request failed in the host', { error });
      if (!res.headersSent) send(res, 500);
      else res.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : port });
    });
  });
}
