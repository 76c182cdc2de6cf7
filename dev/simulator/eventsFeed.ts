import { appResource } from '../../cli/eventsValidation.js';
import type { Authentication } from './authentication.js';
import type { CloudEvent, EventsState } from './events.js';
import { HttpError, sendJson, type Ctx, type Route } from './http.js';

/** An event as Events stores it: in registration order (`sequenceno`), with the time it was registered. */
export interface RegisteredEvent {
  seq: number;
  registered: number;
  event: CloudEvent;
}

/** Records an app event as Altinn Events does on `POST app` (events.events), before and whatever its delivery. */
export function register(st: EventsState, event: CloudEvent): void {
  st.published.push({ seq: st.published.length + 1, registered: st.core.now(), event });
}

/** A time with a zone (.NET `SpecifiesTimezone`): `Z` or `±hh:mm` at the end. */
const WITH_ZONE = /(Z|[+-]\d{2}:?\d{2})$/i;

function parseTime(ctx: Ctx, name: 'from' | 'to'): number | undefined {
  const raw = ctx.url.searchParams.get(name);
  if (raw === null) return undefined;
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new HttpError(400, `The value '${raw}' is not valid for ${name}.`);
  if (!WITH_ZONE.test(raw.trim())) {
    throw new HttpError(400, `The '${name === 'from' ? 'From' : 'To'}' parameter must specify timezone. E.g. 2022-07-07T11:00:53.3917Z for UTC`);
  }
  return t;
}

function parseSize(ctx: Ctx): number {
  const raw = ctx.url.searchParams.get('size');
  if (raw === null) return 50;
  if (!/^-?\d+$/.test(raw.trim())) throw new HttpError(400, `The value '${raw}' is not valid for size.`);
  const size = Number(raw);
  if (size < 1) throw new HttpError(400, "The 'Size' parameter must be a number larger that 0.");
  return size;
}

/** `ILIKE ANY(types)`: case-insensitive, `%` any run of characters, `_` one character. */
function typeMatcher(types: string[]): (type: string) => boolean {
  if (types.length === 0) return () => true;
  const res = types.map((t) => new RegExp(`^${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replaceAll('%', '.*').replaceAll('_', '.')}$`, 'is'));
  return (type) => res.some((re) => re.test(type));
}

/**
 * altinn-events src/Events/Controllers/AppController.cs `GetForOrg` → EventsService.GetAppEvents →
 * getappevents.sql: any Altinn token, but 401 without an org claim; `after` or `from` required; events of the
 * app's resource, in registration order, after the first event with id `after` (an unknown id: from the oldest),
 * registered at least `feedDelayMs` ago (Altinn: 30 s); then Authorization keeps what the caller may read (an
 * org reads its own apps' events). A `next` header on every non-empty page.
 */
function getForOrg(st: EventsState, auth: Authentication, ctx: Ctx): void {
  const claims = auth.authenticate(ctx);
  const org = ctx.params.org!;
  const app = ctx.params.app!;
  if (!claims['urn:altinn:org']) throw new HttpError(401, 'Only orgs can call this api');
  const p = ctx.url.searchParams;
  const after = p.get('after') ?? '';
  const from = parseTime(ctx, 'from');
  const to = parseTime(ctx, 'to');
  const size = parseSize(ctx);
  if (!after && from === undefined) throw new HttpError(400, "The 'From' or 'After' parameter must be defined.");
  const resource = appResource(org, app);
  const typeOk = typeMatcher(p.getAll('type'));
  const firstSeq = after ? (st.published.find((r) => r.event.id === after)?.seq ?? 0) : 0;
  const visibleUntil = st.core.now() - st.feedDelayMs;
  const time = (r: RegisteredEvent) => Date.parse(r.event.time ?? '');
  const events = st.published
    .filter((r) => r.seq > firstSeq && r.registered <= visibleUntil && r.event.resource === resource && typeOk(r.event.type))
    .filter((r) => (from === undefined || time(r) >= from) && (to === undefined || time(r) <= to))
    .slice(0, size)
    // Authorization: `read` on each event's instance; the app's policy grants it to the app's owner only.
    .filter(() => claims['urn:altinn:org'] === org)
    .map((r) => r.event);
  const headers: Record<string, string> = {};
  if (events.length > 0) {
    // As Altinn builds it: the other parameters appended as they came, not encoded again.
    const rest = [...p.entries()].filter(([k]) => k !== 'after').map(([k, v]) => `&${k}=${v}`).join('');
    headers.next = `${st.core.urls.platform}${ctx.url.pathname}?after=${events.at(-1)!.id}${rest}`;
  }
  sendJson(ctx.res, 200, events, headers);
}

/** The app feed: `GET /events/api/v1/app/{org}/{app}`. */
export function feedRoutes(st: EventsState, auth: Authentication): Route[] {
  return [{ name: 'events.feed', method: 'GET', path: /^\/events\/api\/v1\/app\/(?<org>[^/]+)\/(?<app>[^/]+)$/, handle: (ctx) => getForOrg(st, auth, ctx) }];
}
