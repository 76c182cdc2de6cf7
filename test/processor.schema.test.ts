import { describe, expect, it } from 'vitest';
import { confirmationBy, dataElementSchema, instanceSchema } from '../lib/altinn/instanceSchema.js';
import { fixture } from './support/fixtures.js';

const ORG_INSTANCE = ['instances', 'tdd', 'skjema-med-vedlegg', '600100'] as const;
const ARCHIVED = ['instances', 'tdd', 'oppgave-handling', '1337', '3a6f9c2e-5b18-4d7a-9e03-c8b1d4f7a262.json'] as const;

describe('instance schema (Altinn-shaped documents)', () => {
  it('reads a Storage instance: {partyId}/{guid} id, explicit nulls, null completeConfirmations, unknown keys kept', () => {
    const i = instanceSchema.parse(fixture('instances', 'storage-instance.json'));
    expect(i.id).toBe('7c0e5b9a-2f41-4d8e-a6c3-91b5e2d47f08');
    expect(i.instanceOwner.partyId).toBe('512345');
    expect(i.status).toBeNull();
    expect(i.completeConfirmations).toEqual([]);
    expect(i.data).toHaveLength(1);
    expect(i.data[0]).toMatchObject({ dataType: 'Flyttemelding_M_2023-01-12_7001_45211_SERES', filename: null, size: 587 });
    expect(i.data[0]?.fileScanResult).toBeUndefined();
    expect((i as Record<string, unknown>).selfLinks).toBeDefined();
    expect(i.lastChanged).toBe('2023-03-09T08:14:50.9027519Z');
  });

  it('reads an App API instance: numeric partyId and enums, the owner\'s party object, nulls everywhere', () => {
    const i = instanceSchema.parse(fixture('instances', 'app-api-instance.json'));
    expect(i.instanceOwner.partyId).toBe('600100');
    expect((i.instanceOwner as Record<string, unknown>).party).toMatchObject({ partyTypeName: 2 });
    expect(i.status).toMatchObject({ readStatus: 1, substatus: null });
    expect(i.data[0]).toMatchObject({ size: 1024, fileScanResult: 'Clean', contentHash: null, lastChanged: null });
    expect(i.lastChanged).toBeNull();
  });

  it('reads an instance without data[], and one with process: null', () => {
    const noData = instanceSchema.parse(fixture(...ORG_INSTANCE, '5f3b8d17-a2c6-4e90-b7d4-19e0c6a3f2b8.json'));
    expect(noData.data).toEqual([]);
    expect(noData.lastChanged).toBeNull();
    const archived = instanceSchema.parse(fixture(...ARCHIVED));
    expect(archived.process).toBeNull();
    expect(archived.data[0]?.size).toBe(0);
  });

  it('reads data elements with string scan results, null hashes and null lastChanged', () => {
    const el = dataElementSchema.parse(fixture(...ORG_INSTANCE, '5f3b8d17-a2c6-4e90-b7d4-19e0c6a3f2b8', '0e6a4c82-19d5-4b3f-8c27-a5f1e9d0b365.json'));
    expect(el).toMatchObject({ filename: 'kvittering.pdf', contentType: 'application/pdf', contentHash: null, fileScanResult: 'NotApplicable' });
    const noChange = dataElementSchema.parse(fixture(...ORG_INSTANCE, '8b1f5e3d-0c7a-4d92-a6e4-3f2b9c8d7e15', '61d9c3a7-e28b-4f14-b05d-7a3e6c1f9b42.json'));
    expect(noChange.lastChanged).toBeNull();
    expect(noChange.size).toBe(216);
  });

  it('normalises App API shapes: numeric enums, numeric partyId, bare GUID id, string size', () => {
    const i = instanceSchema.parse({
      id: 'A2AF1CFD-DB99-45F9-9625-9DFA1223485F',
      instanceOwner: { partyId: 501337 },
      status: { readStatus: 1, substatus: null },
      completeConfirmations: [{ stakeholderId: 'TTD', confirmedOn: '2024-01-01T00:00:00Z' }],
      data: [
        { id: 'fd4c42a4-a6a0-4aec-b8e9-9f5d34c445ca', dataType: 'Model', size: '173', fileScanResult: 3 },
        { id: 'fd4c42a4-a6a0-4aec-b8e9-9f5d34c445cb', dataType: 'Model', size: 1, fileScanResult: 1 },
      ],
      somethingNew: { kept: true },
    });
    expect(i.id).toBe('a2af1cfd-db99-45f9-9625-9dfa1223485f');
    expect(i.instanceOwner.partyId).toBe('501337');
    expect(i.data.map((d) => [d.size, d.fileScanResult])).toEqual([
      [173, 'Infected'],
      [1, 'Pending'],
    ]);
    expect((i as Record<string, unknown>).somethingNew).toEqual({ kept: true });
    expect(confirmationBy(i, 'ttd')?.confirmedOn).toBe('2024-01-01T00:00:00Z');
    expect(confirmationBy(i, 'skd')).toBeUndefined();
  });

  it('rejects what we cannot work with, naming the field', () => {
    const bad = instanceSchema.safeParse({
      id: '1337/not-a-guid',
      instanceOwner: { partyId: '13a7' },
      data: [{ id: '../../etc', dataType: 'x', size: -1 }],
    });
    expect(bad.success).toBe(false);
    const paths = bad.error?.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['id', 'instanceOwner.partyId', 'data.0.id', 'data.0.size']));
  });
});
