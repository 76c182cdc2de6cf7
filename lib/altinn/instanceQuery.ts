import { z } from 'zod';
import type { AltinnHttp } from './http.js';
import type { Clock } from '../clock.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import { instanceRefSchema, type InstanceRef } from '../queue/messages.js';
import { withRetry, type RetryPolicy } from '../retry.js';

/**
 * Client of Storage's instance query (`GET {platform}/storage/api/v1/instances`): the list of completed
 * instances our org has not confirmed. Every page URL is built from settings plus the continuation
 * token; a `next` link is read only for its token, never followed, so a response cannot send our
 * token to another host.
 */


/** Storage's InstanceQueryResponse; `continuationToken` is sent by some Storage versions besides `next`. */
export const instancePageSchema = z.object({
  count: z.number().int().nonnegative(),
  self: z.string().nullish(),
  next: z.string().nullish(),
  continuationToken: z.string().nullish(),
  // Each instance is checked on its own, so one odd document does not cost the page.
  instances: z.array(z.unknown()).nullish().transform((v) => v ?? []),
});
export type InstancePage = z.infer<typeof instancePageSchema>;

/** The fields of a Storage instance the reconciler needs; the rest is ignored. */
const queriedInstanceSchema = z.looseObject({
  id: z.string(),
  appId: z.string(),
  instanceOwner: z.looseObject({ partyId: z.union([z.string(), z.number().int()]) }),
});

export interface InstanceQuery {
  org: string;
  /** One app, or every app of the org when absent. */
  app?: string | undefined;
  pageSize: number;
  /** ISO timestamp: only instances changed after it (`lastChanged=gt:`). */
  changedAfter?: string | undefined;
}

export function instanceQueryUrl(platformUrl: string, q: InstanceQuery, continuationToken?: string): string {
  const url = new URL(`${platformUrl}/storage/api/v1/instances`);
  const p = url.searchParams;
  p.set('org', q.org);
  if (q.app) p.set('appId', `${q.org}/${q.app}`);
  p.set('process.isComplete', 'true');
  p.set('excludeConfirmedBy', q.org);
  p.set('size', String(q.pageSize));
  if (q.changedAfter) p.set('lastChanged', `gt:${q.changedAfter}`);
  if (continuationToken) p.set('continuationToken', continuationToken);
  return url.toString();
}

/** An instance of the page as a queue reference, or why it cannot be one (other org, malformed id). */
export function toInstanceRef(raw: unknown, org: string): { ok: true; ref: InstanceRef } | { ok: false; reason: string } {
  const doc = queriedInstanceSchema.safeParse(raw);
  if (!doc.success) return { ok: false, reason: `instance lacks id, appId or instanceOwner.partyId` };
  const { id, appId, instanceOwner } = doc.data;
  const partyId = String(instanceOwner.partyId);
  const [idParty, guid] = id.includes('/') ? id.split('/', 2) : [partyId, id];
  const [instOrg, app, ...rest] = appId.split('/');
  if (instOrg !== org || rest.length > 0) return { ok: false, reason: `appId ${JSON.stringify(appId.slice(0, 100))} is not an app of ${org}` };
  if (idParty !== partyId) return { ok: false, reason: `id ${JSON.stringify(id.slice(0, 100))} does not match instanceOwner.partyId` };
  const ref = instanceRefSchema.safeParse({ org, app, partyId, instanceGuid: guid });
  if (!ref.success) return { ok: false, reason: ref.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  return { ok: true, ref: ref.data };
}

/** The token of the page after this one, or undefined at the end. */
export function continuationOf(page: InstancePage): string | undefined {
  if (page.continuationToken) return page.continuationToken;
  if (!page.next) return undefined;
  let token: string | null;
  try {
    token = new URL(page.next, 'http://relative.invalid').searchParams.get('continuationToken');
  } catch {
    token = null;
  }
  if (!token) {
    throw new ReceiverError('Storage instance query: the next link carries no continuationToken', {
      code: 'storage-query-bad-next',
      retryable: false,
    });
  }
  return token;
}

async function readPage(res: Response, url: string): Promise<InstancePage> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ReceiverError(`Storage instance query answered ${res.status} with a body that is not JSON`, {
      code: 'storage-query-invalid',
      retryable: false,
      status: res.status,
    });
  }
  const page = instancePageSchema.safeParse(body);
  if (!page.success) {
    const why = page.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new ReceiverError(`Storage instance query: unexpected page shape (${why}) from ${new URL(url).pathname}`, {
      code: 'storage-query-invalid',
      retryable: false,
      status: res.status,
    });
  }
  return page.data;
}

export interface QueriedPage {
  /** 1-based page number. */
  page: number;
  refs: InstanceRef[];
  invalid: { raw: string; reason: string }[];
}

export interface QueryDeps {
  http: Pick<AltinnHttp, 'request'>;
  clock: Clock;
  log: Logger;
  platformUrl: string;
  retryPolicy?: RetryPolicy | undefined;
}

/** Every page of the query, in order; a page that keeps failing (after withRetry) throws. */
export async function* queryInstances(deps: QueryDeps, q: InstanceQuery): AsyncGenerator<QueriedPage> {
  let token: string | undefined;
  const seenTokens = new Set<string>();
  for (let n = 1; ; n++) {
    const url = instanceQueryUrl(deps.platformUrl, q, token);
    const page = await withRetry(async () => readPage(await deps.http.request(url), url), {
      clock: deps.clock,
      policy: deps.retryPolicy,
      onRetry: (error, attempt, delayMs) =>
        deps.log.warn('storage query page failed, retrying', { app: q.app ?? '*', page: n, attempt, delayMs: Math.round(delayMs), error }),
    });
    const refs: InstanceRef[] = [];
    const invalid: QueriedPage['invalid'] = [];
    for (const raw of page.instances) {
      const r = toInstanceRef(raw, q.org);
      if (r.ok) refs.push(r.ref);
      else invalid.push({ raw: describe(raw), reason: r.reason });
    }
    yield { page: n, refs, invalid };
    const next = continuationOf(page);
    // An empty page may still carry a token (a filtered scan can come back empty mid-way): follow it.
    if (next === undefined) return;
    if (seenTokens.has(next)) {
      throw new ReceiverError('Storage instance query returned a continuationToken it already gave: stopping', {
        code: 'storage-query-loop',
        retryable: false,
      });
    }
    seenTokens.add(next);
    token = next;
  }
}

/** A short, safe label for an instance we could not use (its id, if any). */
function describe(raw: unknown): string {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id.slice(0, 100) : '(no id)';
}
