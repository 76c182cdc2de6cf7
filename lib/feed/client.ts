import { z } from 'zod';
import type { AltinnHttp } from '../altinn/http.js';
import type { Clock } from '../clock.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import { withRetry, type RetryPolicy } from '../retry.js';

/**
 * Client of Altinn Events' app feed, `GET {platform}/events/api/v1/app/{org}/{app}` (altinn-events
 * src/Events/Controllers/AppController.cs `GetForOrg`): an org's token, `after` (an event id) or `from` (a time
 * with a zone) required, `type` repeated, `size` (default 50, no upper bound there). Events come in the order Altinn
 * registered them (getappevents.sql: `ORDER BY sequenceno`), only those registered 30 s ago or more. Every non-empty
 * page carries a `next` header (`…?after={last id}&…`); an empty one has none. The header is read only to
 * know that Altinn has more: the following request is built from settings and the last event's id, never
 * from the header, so a response cannot send our token elsewhere.
 */

export interface FeedQuery {
  org: string;
  app: string;
  types: readonly string[];
  size: number;
  /** The id of the last event already handled… */
  after?: string | undefined;
  /** …or, before there is one, the time to start from (ISO, with zone). */
  from?: string | undefined;
}

export function feedUrl(platformUrl: string, q: FeedQuery): string {
  const url = new URL(`${platformUrl}/events/api/v1/app/${encodeURIComponent(q.org)}/${encodeURIComponent(q.app)}`);
  const p = url.searchParams;
  if (q.after) p.set('after', q.after);
  else if (q.from) p.set('from', q.from);
  for (const t of q.types) p.append('type', t);
  p.set('size', String(q.size));
  return url.toString();
}

/** The fields of an app CloudEvent the feed uses; the rest is ignored. */
const feedEventSchema = z.looseObject({
  id: z.string().min(1).max(200),
  type: z.string().max(200),
  source: z.string().max(2000),
  time: z.string().nullish(),
});
export type FeedEvent = z.infer<typeof feedEventSchema>;

/** One element of a page: its id (the cursor can always move past it) and the event, or why it is not usable. */
export type FeedItem = { id: string; event: FeedEvent } | { id: string; event?: undefined; problem: string };

export interface FeedPage {
  /** The page's events in Altinn's order. */
  items: FeedItem[];
  /** Altinn sent a `next` header: it has more after this page's last event (or this page was not empty). */
  hasNext: boolean;
}
export interface FeedClientDeps {
  http: Pick<AltinnHttp, 'request'>;
  clock: Clock;
  log: Logger;
  platformUrl: string;
  retryPolicy?: RetryPolicy | undefined;
}

async function readPage(res: Response, q: FeedQuery): Promise<FeedPage> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!Array.isArray(body)) {
    throw new ReceiverError(`Altinn Events feed of ${q.org}/${q.app} answered ${res.status} with a body that is not a JSON array`, {
      code: 'feed-invalid',
      retryable: false,
      status: res.status,
    });
  }
  const items = body.map((raw): FeedItem | undefined => {
    const e = feedEventSchema.safeParse(raw);
    if (e.success) return { id: e.data.id, event: e.data };
    const id = (raw as { id?: unknown } | null)?.id;
    const problem = e.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ');
    return typeof id === 'string' && id.length > 0 && id.length <= 200 ? { id, problem } : undefined;
  });
  if (items.includes(undefined)) {
    // Without an id there is no cursor past it: stop here rather than skip events or read this page for ever.
    throw new ReceiverError(`Altinn Events feed of ${q.org}/${q.app}: an element without an id`, { code: 'feed-invalid', retryable: false, status: res.status });
  }
  return { items: items as FeedItem[], hasNext: res.headers.has('next') };
}

/** One page of the feed, retried (5xx, 429, network) within the retry budget. */
export function fetchFeedPage(deps: FeedClientDeps, q: FeedQuery): Promise<FeedPage> {
  const url = feedUrl(deps.platformUrl, q);
  return withRetry(async () => readPage(await deps.http.request(url, { headers: { accept: 'application/json' } }), q), {
    clock: deps.clock,
    policy: deps.retryPolicy,
    onRetry: (error, attempt, delayMs) => deps.log.warn('feed page failed, retrying', { app: q.app, attempt, delayMs: Math.round(delayMs), error }),
  });
}
