import { Agent, request } from 'node:http';

export interface LoadResult {
  elapsedMs: number;
  /** One per request, in completion order. */
  latenciesMs: number[];
  /** Count per HTTP status (0 = network error). */
  statuses: Record<number, number>;
}

/**
 * A small closed-loop load generator: `concurrency` workers on keep-alive connections, each sending
 * the next body as soon as its previous answer is read, until every body is sent.
 */
export async function postAll(opts: { url: string; bodies: readonly string[]; concurrency: number; contentType: string }): Promise<LoadResult> {
  const url = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const latenciesMs: number[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  const send = (body: string) =>
    new Promise<number>((resolve) => {
      const req = request(
        url,
        { method: 'POST', agent, headers: { 'content-type': opts.contentType, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(0));
        },
      );
      req.on('error', () => resolve(0));
      req.end(body);
    });
  const worker = async () => {
    while (next < opts.bodies.length) {
      const body = opts.bodies[next++]!;
      const t = performance.now();
      const status = await send(body);
      latenciesMs.push(performance.now() - t);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const elapsedMs = performance.now() - t0;
  agent.destroy();
  return { elapsedMs, latenciesMs, statuses };
}
