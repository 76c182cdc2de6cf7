import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sinceTimestamp } from '../lib/reconcile/since.js';
import { instancePageSchema, instanceQueryUrl, toInstanceRef } from '../lib/altinn/instanceQuery.js';

import { ALTINN_DOCS, altinnDocsPresent, fixture, needsAltinnDocs } from './support/fixtures.js';

const storageInstance = fixture('instances', 'storage-instance.json') as Record<string, unknown>;

describe('RECONCILE_SINCE → lastChanged lower bound', () => {
  const now = Date.parse('2026-03-31T12:00:00.000Z');
  it.each([
    ['P30D', '2026-03-01T12:00:00.000Z'],
    ['PT36H', '2026-03-30T00:00:00.000Z'],
    ['P1W', '2026-03-24T12:00:00.000Z'],
    ['P1Y2M3DT4H5M6S', '2025-01-28T07:54:54.000Z'],
  ])('%s before 2026-03-31T12:00Z is %s', (duration, expected) => {
    expect(sinceTimestamp(duration, now)).toBe(expected);
  });
  it('refuses what is not a duration', () => {
    expect(() => sinceTimestamp('30 days', now)).toThrow(RangeError);
  });
});

describe('instance query URL', () => {
  it('carries the filters of the Storage spec, built from settings only', () => {
    const url = new URL(
      instanceQueryUrl('https://platform.tt02.altinn.no', {
        org: 'ttd',
        app: 'my-app',
        pageSize: 50,
        changedAfter: '2026-01-01T00:00:00.000Z',
        upTo: { at: '2026-01-02T03:04:05.1234567Z', inclusive: true },
      }),
    );
    expect(url.origin + url.pathname).toBe('https://platform.tt02.altinn.no/storage/api/v1/instances');
    expect([...url.searchParams]).toEqual([
      ['org', 'ttd'],
      ['appId', 'ttd/my-app'],
      ['process.isComplete', 'true'],
      ['excludeConfirmedBy', 'ttd'],
      ['size', '50'],
      ['lastChanged', 'gt:2026-01-01T00:00:00.000Z'],
      // Storage's own timestamp, sub-ms digits kept, so the boundary instance is asked for again.
      ['lastChanged', 'lte:2026-01-02T03:04:05.1234567Z'],
    ]);
    const below = new URL(instanceQueryUrl('https://p', { org: 'ttd', pageSize: 2, upTo: { at: '2026-01-02T00:00:00Z', inclusive: false } }));
    expect(below.searchParams.getAll('lastChanged')).toEqual(['lt:2026-01-02T00:00:00Z']);
  });
  it('asks org-wide without appId, and without lastChanged when not given', () => {
    const url = new URL(instanceQueryUrl('http://127.0.0.1:1234', { org: 'ttd', pageSize: 100 }));
    expect([...url.searchParams.keys()].sort()).toEqual(['excludeConfirmedBy', 'org', 'process.isComplete', 'size']);
  });
  it.runIf(altinnDocsPresent)(needsAltinnDocs('uses only query parameters the Storage OpenAPI spec declares'), () => {
    const spec = JSON.parse(readFileSync(join(ALTINN_DOCS, 'altinn-studio-docs', 'static', 'swagger', 'altinn-platform-storage-v1.json'), 'utf8')) as {
      paths: Record<string, { get?: { parameters: { name: string; in: string }[] } }>;
    };
    const declared = new Set(spec.paths['/instances']?.get?.parameters.filter((p) => p.in === 'query').map((p) => p.name));
    const url = new URL(instanceQueryUrl('http://127.0.0.1:1', { org: 'ttd', app: 'a', pageSize: 1, changedAfter: 'x', upTo: { at: 'y', inclusive: true } }));
    for (const name of url.searchParams.keys()) expect(declared).toContain(name);
  });
});

describe('instances of a page', () => {
  it('turns a Storage instance document into a queue reference', () => {
    expect(toInstanceRef(storageInstance, 'ttd')).toEqual({
      ok: true,
      ref: { org: 'ttd', app: 'flyttemelding', partyId: '512345', instanceGuid: '7c0e5b9a-2f41-4d8e-a6c3-91b5e2d47f08' },
    });
  });
  it('accepts a numeric partyId and a bare GUID id, lower-casing the GUID', () => {
    const r = toInstanceRef({ id: 'BD9EDD59-B18C-4726-AA9E-6B150EADE814', appId: 'ttd/a', instanceOwner: { partyId: 42 } }, 'ttd');
    expect(r).toEqual({ ok: true, ref: { org: 'ttd', app: 'a', partyId: '42', instanceGuid: 'bd9edd59-b18c-4726-aa9e-6b150eade814' } });
  });
  it.each([
    ['another org', { ...storageInstance, appId: 'skd/app' }, /not an app of ttd/],
    ['id and owner disagree', { ...storageInstance, instanceOwner: { partyId: '99' } }, /does not match/],
    ['no id', { appId: 'ttd/a', instanceOwner: { partyId: '1' } }, /lacks id/],
    ['id not a GUID', { ...storageInstance, id: '512345/../../x' }, /instanceGuid/],
  ])('refuses %s', (_what, doc, reason) => {
    const r = toInstanceRef(doc, 'ttd');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe('page shape', () => {
  it('treats instances: null as an empty page, and needs count', () => {
    expect(instancePageSchema.parse({ count: 0, instances: null }).instances).toEqual([]);
    expect(instancePageSchema.safeParse({ instances: [] }).success).toBe(false);
  });
});

describe('reconciler timer', () => {
  it('takes its schedule from the RECONCILE_SCHEDULE app setting, resolved by the host, and does not run on start-up', async () => {
    const { definition } = await import('../functions/reconciler.js');
    expect(definition).toMatchObject({ kind: 'timer', name: 'reconciler', options: { schedule: '%RECONCILE_SCHEDULE%', runOnStartup: false } });
  });
});
