import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { confirmationBy, dataElementSchema, instanceSchema } from '../lib/altinn/instanceSchema.js';

const fixtures = join(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'altinn');
const instances = join(fixtures, 'app-lib-dotnet', 'test', 'Altinn.App.Api.Tests', 'Data', 'Instances');
const load = (...parts: string[]): unknown => JSON.parse(readFileSync(join(...parts), 'utf8'));

describe('instance schema (real Altinn documents)', () => {
  it('reads the canonical instance: {partyId}/{guid} id, explicit nulls, null completeConfirmations, unknown keys kept', () => {
    const i = instanceSchema.parse(load(fixtures, 'seed', 'instance.json'));
    expect(i.id).toBe('bd9edd59-b18c-4726-aa9e-6b150eade814');
    expect(i.instanceOwner.partyId).toBe('1337');
    expect(i.completeConfirmations).toEqual([]);
    expect(i.data).toHaveLength(1);
    expect(i.data[0]).toMatchObject({ dataType: 'CourseDomain_BecomeServiceOwner_M_2020-05-25_5703_34553_SERES', filename: null, size: 401 });
    expect(i.data[0]?.fileScanResult).toBeUndefined();
    expect((i as Record<string, unknown>).selfLinks).toBeDefined();
    expect(i.lastChanged).toBe('2020-11-18T15:56:42.1972942Z');
  });

  it('reads an instance without data[], and one with process: null', () => {
    const noData = instanceSchema.parse(load(instances, 'tdd', 'contributer-restriction', '500600', '0fc98a23-fe31-4ef5-8fb9-dd3f479354ce.pretest.json'));
    expect(noData.data).toEqual([]);
    expect(noData.lastChanged).toBeNull();
    const archived = instanceSchema.parse(load(instances, 'tdd', 'task-action', '1337', 'b1135209-628e-4a6e-9efd-e4282068ef43.pretest.json'));
    expect(archived.process).toBeNull();
    expect(archived.data[0]?.size).toBe(0);
  });

  it('reads data elements with string scan results, null hashes and null lastChanged', () => {
    const el = dataElementSchema.parse(
      load(instances, 'tdd', 'contributer-restriction', '500600', '0fc98a23-fe31-4ef5-8fb9-dd3f479354ce', 'fc121812-0336-45fb-a75c-490df3ad510a.pretest.json'),
    );
    expect(el).toMatchObject({ filename: 'test.pdf', contentType: 'application/pdf', contentHash: null, fileScanResult: 'NotApplicable' });
    const noChange = dataElementSchema.parse(
      load(instances, 'tdd', 'contributer-restriction', '500600', 'cff1cb24-5bc1-4888-8e06-c634753c5144', 'f3e04c65-aa70-40ec-84df-087cc2583402.pretest.json'),
    );
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
