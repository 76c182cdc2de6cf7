import { z } from 'zod';

/**
 * A CloudEvent 1.0 in the structured JSON format, as Altinn Events delivers it. Required attributes are
 * validated; the optional ones we may log are type-checked; unknown extension attributes (Altinn's
 * `resource`, `alternativesubject`, …) are kept. `null` counts as absent, as the JSON format allows.
 */

/** RFC 3339 date-time: any number of fraction digits (.NET writes 7), `Z` or an offset. */
const RFC3339 =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

const optionalString = z.string().nullish();

export const cloudEventSchema = z.looseObject({
  specversion: z.literal('1.0', { error: 'specversion must be "1.0"' }),
  // Bounded so that what we log and enqueue stays small; Altinn's ids are GUIDs.
  id: z.string({ error: 'id must be a string' }).min(1, 'id must not be empty').max(200, 'id must be at most 200 characters'),
  // An empty source is judged with the other sources (403, source.ts), not as a malformed body.
  source: z.string({ error: 'source must be a string' }).max(2048, 'source must be at most 2048 characters'),
  type: z.string({ error: 'type must be a string' }).min(1, 'type must not be empty').max(200, 'type must be at most 200 characters'),
  subject: optionalString,
  time: z.string().regex(RFC3339, 'time must be an RFC 3339 date-time').nullish(),
  datacontenttype: optionalString,
  dataschema: optionalString,
});
export type CloudEvent = z.infer<typeof cloudEventSchema>;

/** Altinn's handshake when a subscription is created: answered 200, never enqueued. */
export const VALIDATE_SUBSCRIPTION = 'platform.events.validatesubscription';
