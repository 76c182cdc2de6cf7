/** The identifier shapes Altinn uses, written once: settings, queue messages, event sources and documents check against these. */

const GUID_BODY = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** A GUID in either case (parsers accept both and lower it). */
export const GUID = new RegExp(`^${GUID_BODY}$`, 'i');
/** A GUID as Altinn writes it, lower case only: an event source has one spelling. */
export const LOWER_CASE_GUID = new RegExp(`^${GUID_BODY}$`);
/** An instance id: `{partyId}/{guid}` (Storage) or a bare GUID (the App API). */
export const INSTANCE_ID = new RegExp(`^(?:\\d{1,18}\\/)?${GUID_BODY}$`, 'i');
/** An Altinn org code, e.g. `ttd`. */
export const ORG = /^[a-z][a-z0-9-]{1,30}$/;
/** An Altinn app name, e.g. `my-app`. */
export const APP = /^[a-z][a-z0-9-]{0,62}$/;
/** An event type, e.g. `app.instance.process.completed`. */
export const EVENT_TYPE = /^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$/i;
/** An ISO 8601 duration such as P30D or PT12H; groups: years, months, weeks, days, hours, minutes, seconds. */
export const ISO_DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;
