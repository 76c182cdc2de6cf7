import type { SeedElement } from '../simulator/index.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const LARGE_SIZE = 256 * MiB;

/**
 * The data elements of demo instance `i`: what a real submission carries. Every instance has its form
 * data (XML or JSON) and a receipt PDF; every third an attachment of a few MiB (with Altinn's content
 * hash, so the processor verifies it); every fifth a scanned image; instance 0 one large file.
 * Deterministic, so runs compare.
 */
export function demoElements(i: number, large: boolean): SeedElement[] {
  const form: SeedElement =
    i % 2 === 0
      ? { dataType: 'model', contentType: 'application/xml', size: 4 * KiB + ((i * 997) % (16 * KiB)) }
      : { dataType: 'model-json', contentType: 'application/json', size: 2 * KiB + ((i * 613) % (8 * KiB)) };
  const elements: SeedElement[] = [
    form,
    { dataType: 'ref-data-as-pdf', contentType: 'application/pdf', filename: `kvittering-${i}.pdf`, size: 60 * KiB + ((i * 7919) % (200 * KiB)) },
  ];
  if (i % 3 === 1) {
    elements.push({ dataType: 'attachment', contentType: 'application/pdf', filename: `vedlegg-${i}.pdf`, size: (1 + (i % 4)) * MiB + i * KiB, withContentHash: true });
  }
  if (i % 5 === 2) elements.push({ dataType: 'attachment', contentType: 'image/png', filename: `skann-${i}.png`, size: 700 * KiB });
  if (i === 0 && large) elements.push({ dataType: 'attachment', contentType: 'application/zip', filename: 'arkiv.zip', size: LARGE_SIZE, withContentHash: true });
  return elements;
}

/** Which instances lose their completion event: `drop` of them, spread evenly, never instance 0 (the large one). */
export function droppedIndexes(instances: number, drop: number): Set<number> {
  const out = new Set<number>();
  for (let k = 1; k <= drop; k++) out.add(Math.max(1, Math.floor((k * instances) / (drop + 1))));
  // With many drops among few instances the spread collides: fill up from the end.
  for (let i = instances - 1; out.size < drop && i > 0; i--) out.add(i);
  return out;
}
