/**
 * The intake bench's plain server (the dev host figure): a minimal Node http server that only enqueues the request body (base64, as
 * the host's queue encoding) on the same Azurite queue. No routing, validation, logging or limits.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueueClient } from '@azure/storage-queue';
import { fail, specArg } from './report.js';

async function main() {
  const { queue } = specArg<{ queue: string }>();
  const client = new QueueClient(process.env.AzureWebJobsStorage ?? '', queue);
  await client.createIfNotExists();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      client.sendMessage(Buffer.concat(chunks).toString('base64')).then(
        () => res.end('ok'),
        () => {
          res.statusCode = 503;
          res.end();
        },
      );
    });
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ msg: 'baseline listening', port: (server.address() as AddressInfo).port })}\n`);
  });
}

main().catch(fail);
