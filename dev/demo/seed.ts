import type { InstanceRef } from '../../lib/queue/messages.js';
import type { Simulator } from '../simulator/index.js';
import { demoElements } from './plan.js';

export interface Seeded {
  ref: InstanceRef;
  files: number;
  bytes: number;
  dropped: boolean;
  largest: { id: string; filename?: string; size: number };
}

/** Seeds `instances` instances of `app` in the simulator; those in `dropped` lose their completion event later. */
export function seedInstances(sim: Simulator, app: string, opts: { instances: number; large: boolean }, dropped: Set<number>): Promise<Seeded[]> {
  return Promise.all(
    Array.from({ length: opts.instances }, async (_, i): Promise<Seeded> => {
      const doc = await sim.seedInstance({ app, partyId: 50_001_000 + i, elements: demoElements(i, opts.large) });
      const [partyId, instanceGuid] = doc.id.split('/') as [string, string];
      const data = doc.data ?? [];
      const largest = data.reduce((a, b) => (b.size > a.size ? b : a));
      return {
        ref: { org: sim.org, app, partyId, instanceGuid },
        files: data.length,
        bytes: data.reduce((n, d) => n + d.size, 0),
        dropped: dropped.has(i),
        largest: { id: largest.id, filename: largest.filename ?? undefined, size: largest.size },
      };
    }),
  );
}

/** Files and bytes of every seeded instance together. */
export function seededTotals(seeded: Seeded[]): { files: number; bytes: number } {
  return { files: seeded.reduce((n, s) => n + s.files, 0), bytes: seeded.reduce((n, s) => n + s.bytes, 0) };
}
