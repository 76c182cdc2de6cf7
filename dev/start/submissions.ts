import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { instanceFolder, type InstanceRef } from '../../lib/queue/messages.js';
import { demoElements } from '../demo/plan.js';
import type { Simulator } from '../simulator/index.js';
import { DEFAULT_SIMULATOR_PORT } from './mode.js';

/**
 * What `npm run submit` talks to while `npm start` runs the simulator: a user's submission, played by
 * the simulator (seed an instance of the subscribed app, end its process: Altinn Events then pushes
 * `app.instance.process.completed` to the webhook), and whether the receiver has confirmed it yet.
 * Loopback only; it is a developer's tool, not part of the receiver.
 */
export const submissionSchema = z.object({
  instanceId: z.string(),
  app: z.string(),
  files: z.array(z.object({ id: z.string(), dataType: z.string(), filename: z.string().nullish(), size: z.number() })),
  container: z.string(),
  folder: z.string(),
});
export type Submission = z.infer<typeof submissionSchema>;

/** Where `npm run submit` asks by default: the port after the simulator's three default ports. */
export const DEFAULT_SUBMISSIONS_URL = `http://127.0.0.1:${DEFAULT_SIMULATOR_PORT + 3}`;

export const submissionStatusSchema = z.object({ confirmed: z.boolean() });

export interface SubmissionsServer {
  url: string;
  stop(): Promise<void>;
}

const STATUS = /^\/submissions\/(\d{1,18})\/([0-9a-f-]{36})$/;

export async function startSubmissions(opts: { sim: Simulator; app: string; container: string; port: number }): Promise<SubmissionsServer> {
  const { sim, app, container } = opts;
  let count = 0;
  const submit = async (): Promise<Submission> => {
    const i = ++count;
    const doc = await sim.seedInstance({ app, partyId: 50_002_000 + i, elements: demoElements(i, false) });
    const [partyId, instanceGuid] = doc.id.split('/') as [string, string];
    sim.completeProcess(partyId, instanceGuid);
    const ref: InstanceRef = { org: sim.org, app, partyId, instanceGuid };
    return {
      instanceId: doc.id,
      app,
      files: (doc.data ?? []).map((d) => ({ id: d.id, dataType: String(d.dataType), filename: d.filename, size: d.size })),
      container,
      folder: `${instanceFolder(ref)}/`,
    };
  };
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    req.resume();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const status = STATUS.exec(path);
    if (req.method === 'POST' && path === '/submissions') {
      submit().then(
        (s) => send(201, s),
        (e: unknown) => send(500, { error: (e as Error).message }),
      );
    } else if (req.method === 'GET' && status) {
      const guid = status[2]!;
      send(200, { confirmed: (sim.counters.effectiveCompletes[guid] ?? 0) > 0 });
    } else {
      send(404, { error: 'POST /submissions or GET /submissions/{partyId}/{instanceGuid}' });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
