import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudEvent } from '../../dev/simulator/index.js';

/**
 * A webhook on a free loopback port, as Altinn Events would call ours: answers POSTs with the `first`
 * statuses in turn, then `status`; keeps each CloudEvent it got with the request path.
 */
export async function loopbackWebhook(status: number, first: number[] = []) {
  const received: (CloudEvent & { url: string })[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ ...(JSON.parse(body) as CloudEvent), url: req.url ?? '' });
      res.writeHead(first.shift() ?? status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/events`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
