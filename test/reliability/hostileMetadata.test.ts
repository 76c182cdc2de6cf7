import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../dev/simulator/index.js';
import { manifestSchema } from '../../lib/processor/manifest.js';
import { QUEUES } from '../../lib/queue/names.js';
import { blobSha256, messageFor, processorFor, withSimulator } from '../support/processor.js';

/**
 * #27.1 over real sockets (simulator + Azurite): content types and file names are the submitter's, so
 * they are generated from anything — control characters, CR/LF, `../`, quotes, lone surrogates,
 * non-Latin-1, up to 4 KiB. Every instance must still be stored byte for byte in its own folder, with
 * printable-ASCII headers and the original values in the manifest, and be confirmed, never poisoned.
 */
let sim: Simulator;
let env: Record<string, string>;
withSimulator((s, e) => {
  sim = s;
  env = e;
});

const RUNS = 12;
const PRINTABLE = /^[\x20-\x7e]*$/;
const nasty = fc.constantFrom('\r\n', '\u0000', '\u001b[2J', '../', '..\\', '"', "'", ';', '%', 'æ', '日本', '\u202e', '\uD800', '\u0085', ' ');
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 4096 }),
  fc.string({ unit: fc.oneof(nasty, fc.string({ unit: 'binary', maxLength: 8 })), maxLength: 1024 }).map((s) => s.slice(0, 4096)),
  fc.constantFrom('application/pdf', 'text/plain; charset=utf-8', `${'æ'.repeat(1300)}.pdf`, '../../../../other/instance.json'),
);
const elementArb = fc.record({ contentType: hostileText, filename: fc.option(hostileText, { nil: undefined }), size: fc.integer({ min: 0, max: 3000 }) });

describe('hostile element metadata (simulator + Azurite, fast-check)', () => {
  it('stores, confirms and never poisons instances whatever their content types and file names', async () => {
    const h = await processorFor(sim, env);
    await fc.assert(
      fc.asyncProperty(fc.array(elementArb, { minLength: 1, maxLength: 3 }), async (elements) => {
        const doc = await sim.seedInstance({ app: 'hostile', completed: true, elements: elements.map((e) => ({ dataType: 'vedlegg', ...e })) });
        const msg = messageFor(doc);
        const folder = `ttd/hostile/${msg.partyId}/${msg.instanceGuid}/`;
        await expect(h.processor.handle(msg, { dequeueCount: 1 })).resolves.toMatchObject({ kind: 'confirmed', downloaded: elements.length });
        expect(sim.counters.effectiveCompletes[msg.instanceGuid!]).toBe(1);

        const manifest = manifestSchema.parse(JSON.parse((await h.container.getBlockBlobClient(`${folder}manifest.json`).downloadToBuffer()).toString()));
        for (const el of doc.data ?? []) {
          const path = `${folder}data/${el.id}`;
          expect(await blobSha256(h.container, path)).toEqual({ sha256: await sim.elementSha256(msg.instanceGuid!, el.id), bytes: el.size });
          const props = await h.container.getBlockBlobClient(path).getProperties();
          for (const v of [props.contentType, props.contentDisposition, ...Object.values(props.metadata ?? {})]) expect(v).toMatch(PRINTABLE);
          expect(manifest.elements.find((m) => m.id === el.id)).toMatchObject({ contentType: el.contentType, filename: el.filename ?? null, blob: path });
        }
      }),
      { numRuns: RUNS },
    );
    for await (const blob of h.container.listBlobsFlat()) expect(blob.name).toMatch(/^ttd\/hostile\/\d+\/[0-9a-f-]{36}\/(?:instance\.json|manifest\.json|\.lock|data\/[0-9a-f-]{36})$/);
    expect(h.sent(QUEUES.poison)).toEqual([]);
    expect(h.sent(QUEUES.ready)).toHaveLength(RUNS);
  }, 240_000);
});
