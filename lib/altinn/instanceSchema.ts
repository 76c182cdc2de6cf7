import { z } from 'zod';
import { GUID, INSTANCE_ID } from '../patterns.js';

/**
 * The parts of an Altinn instance document we depend on, parsed leniently: the App API and Storage
 * disagree on enums (strings vs integers), ids (`{partyId}/{guid}` vs bare GUID), explicit nulls and
 * missing objects. Unknown keys are kept, so nothing the service sends is lost.
 */

/** FileScanResult: names in Storage, integers (enum order) in the App API. */
const FILE_SCAN = ['NotApplicable', 'Pending', 'Clean', 'Infected'] as const;
export type FileScanResult = (typeof FILE_SCAN)[number];

const fileScanResultSchema = z.union([z.enum(FILE_SCAN), z.number().int().min(0).max(3)]).transform((v): FileScanResult =>
  typeof v === 'number' ? FILE_SCAN[v] ?? 'NotApplicable' : v,
);

/** A number that may come as a numeric string (int64 fields in some serialisers). */
const count = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,15}$/).transform(Number)]);

/** A party id: digits, as a string or a number. */
const partyId = z.union([z.string().regex(/^\d{1,18}$/), z.number().int().nonnegative()]).transform(String);

export const dataElementSchema = z.looseObject({
  id: z.string().regex(GUID, 'data element id must be a GUID').transform((g) => g.toLowerCase()),
  dataType: z.string().min(1),
  filename: z.string().nullish(),
  contentType: z.string().nullish(),
  size: count,
  contentHash: z.string().nullish(),
  fileScanResult: fileScanResultSchema.nullish(),
  lastChanged: z.string().nullish(),
});
export type DataElement = z.infer<typeof dataElementSchema>;

const completeConfirmationSchema = z.looseObject({
  stakeholderId: z.string().nullish(),
  confirmedOn: z.string().nullish(),
});

export const instanceSchema = z.looseObject({
  /** `{partyId}/{guid}` (Storage, App API) or a bare GUID; normalised to the lower-case GUID. */
  id: z
    .string()
    .regex(INSTANCE_ID, 'id must be {partyId}/{guid} or a GUID')
    .transform((id) => (id.split('/').pop() ?? id).toLowerCase()),
  instanceOwner: z.looseObject({ partyId }),
  appId: z.string().nullish(),
  org: z.string().nullish(),
  /** `ended` is set once the process has reached its end event: only then is the instance submitted. */
  process: z.looseObject({ ended: z.string().nullish() }).nullish(),
  status: z.unknown().optional(),
  completeConfirmations: z.array(completeConfirmationSchema).nullish().transform((v) => v ?? []),
  data: z.array(dataElementSchema).nullish().transform((v) => v ?? []),
  lastChanged: z.string().nullish().transform((v) => v ?? null),
});
export type Instance = z.infer<typeof instanceSchema>;

/** `org`'s complete confirmation of the instance (POST .../complete), if it has one. */
export function confirmationBy(instance: Instance, org: string) {
  return instance.completeConfirmations.find((c) => c.stakeholderId?.toLowerCase() === org.toLowerCase());
}
