import { describe, expect, it } from 'vitest';
import { fakeClock } from './support/clock.js';
import { memoryLogger } from './support/log.js';
import { acquireRunLock, enqueueMarks } from '../lib/reconcile/state.js';
import { freshContainer } from './support/storage.js';

const GUID_A = '0b1f0d7e-6a53-4c4e-9d2e-3a7f1c2b4d5e';
const GUID_B = '1c2f0d7e-6a53-4c4e-9d2e-3a7f1c2b4d5e';

describe('enqueue marks (real Azurite)', () => {
  it('an instance marked less than the TTL ago is recent; after the TTL it is not, and prune removes it', async () => {
    const container = await freshContainer();
    const clock = fakeClock();
    const marks = enqueueMarks(container, clock, 60_000);
    expect(await marks.isRecent(GUID_A)).toBe(false);
    await marks.mark(GUID_A);
    clock.advance(30_000);
    await marks.mark(GUID_B);
    expect(await marks.isRecent(GUID_A)).toBe(true);
    clock.advance(30_000);
    expect(await marks.isRecent(GUID_A)).toBe(false);
    expect(await marks.isRecent(GUID_B)).toBe(true);
    expect(await marks.prune()).toBe(1);
    const left: string[] = [];
    for await (const b of container.listBlobsFlat()) left.push(b.name);
    expect(left).toEqual([`_reconcile/instances/${GUID_B}`]);
  });
});

describe('run lock (real Azurite)', () => {
  it('is held by one run at a time and free again once released', async () => {
    const container = await freshContainer();
    const log = memoryLogger();
    const first = await acquireRunLock(container, log);
    expect(first).toBeDefined();
    expect(await acquireRunLock(container, log)).toBeUndefined();
    await first?.release();
    const again = await acquireRunLock(container, log);
    expect(again).toBeDefined();
    await again?.release();
    expect(log.lines.filter((l) => l.includes('"warn"'))).toEqual([]);
  });
});
