import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanForSecrets } from '../../dev/soak/secrets.js';
import { startStack, type Stack } from '../../dev/soak/stack.js';
import { encodeMessage } from '../../lib/queue/messages.js';
import { elementPath, manifestPath } from '../../lib/processor/manifest.js';
import { QUEUES } from '../../lib/queue/names.js';
import { stopAll } from '../support/processes.js';

/**
 * Crash: the local host is SIGKILLed while it streams a 256 MiB element into blob storage. Started
 * again, it gets the instance (the reconciler finds it: the killed invocation's message stays invisible
 * for its lease, as in Azure) and completes it. Meanwhile the blob list is polled: an element blob is
 * never seen committed with fewer bytes than its size.
 */
const SIZE = 256 * 1024 * 1024;
let stack: Stack;

beforeAll(async () => {
  // The killed host's instance lease lapses within 30 s; the deliveries that find it held come back every few seconds.
  stack = await startStack({ seed: 2, eventRetryScale: 0.01, settings: { DEFER_BASE_SECONDS: '3' } });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await stopAll();
});

describe('SIGKILL in the middle of a 256 MiB element', () => {
  it('restarts, completes the instance, and never shows a short committed blob', { timeout: 600_000 }, async () => {
    const { sim, container } = stack;
    const doc = await sim.seedInstance({
      app: 'crash',
      completed: true,
      elements: [
        { dataType: 'model', contentType: 'application/xml', size: 4096 },
        { dataType: 'attachment', contentType: 'application/octet-stream', filename: 'big.bin', size: SIZE, withContentHash: true },
      ],
    });
    const [partyId = '', instanceGuid = ''] = doc.id.split('/');
    const ref = { org: sim.org, app: 'crash', partyId, instanceGuid };
    const big = doc.data.find((d) => d.size === SIZE)!;
    const sizes = new Map((doc.data ?? []).map((d) => [elementPath(ref, d.id), d.size]));

    // Watch the committed blobs for the whole run.
    await container.createIfNotExists();
    const short: string[] = [];
    let polls = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for await (const b of container.listBlobsFlat({ prefix: `${sim.org}/crash/${partyId}/${instanceGuid}/` })) {
          const size = sizes.get(b.name);
          if (size !== undefined && b.properties.contentLength !== size) short.push(`${b.name}: ${b.properties.contentLength} of ${size}`);
        }
        polls++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    await stack.queues.getQueueClient(QUEUES.events).createIfNotExists();
    await stack.queues.getQueueClient(QUEUES.events).sendMessage(encodeMessage({ ...ref, reason: 'event', enqueuedAt: new Date().toISOString() }));

    // Kill once a good part of the big element is staged (uncommitted blocks), not yet committed.
    const blob = container.getBlockBlobClient(elementPath(ref, big.id));
    let staged = 0;
    while (staged < SIZE / 4) {
      if (stack.host.child.exitCode !== null) throw new Error(`host exited before the kill:\n${stack.host.tail()}`);
      const list = await blob.getBlockList('uncommitted').catch(() => undefined);
      staged = (list?.uncommittedBlocks ?? []).reduce((n, b) => n + b.size, 0);
      await new Promise((r) => setTimeout(r, 100));
    }
    const killed = await stack.host.kill('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    expect(await blob.exists()).toBe(false);
    expect(sim.counters.effectiveCompletes[instanceGuid] ?? 0).toBe(0);

    await stack.restartHosts();
    const host = stack.host;
    const reconcile = await stack.cli(['reconcile', '--app', 'crash']);
    expect(reconcile.code, reconcile.lines.join('\n')).toBe(0);
    await host.waitForJson((r) => r.msg === 'done' && r.outcome === 'confirmed' && String(r.instanceId).endsWith(instanceGuid), { timeoutMs: 500_000 });
    watching = false;
    await watcher;

    expect(sim.counters.effectiveCompletes[instanceGuid]).toBe(1);
    const props = await blob.getProperties();
    expect(props.contentLength).toBe(SIZE);
    expect(props.metadata?.sha256).toBe(await sim.elementSha256(instanceGuid, big.id));
    expect(await container.getBlobClient(manifestPath(ref)).exists()).toBe(true);
    expect(polls).toBeGreaterThan(1);
    expect(short).toEqual([]);
    expect(scanForSecrets(stack.output(), stack.secrets())).toEqual([]);
  });
});
