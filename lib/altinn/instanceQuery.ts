import { z } from 'zod';
import type { AltinnHttp } from './http.js';
import type { Clock } from '../clock.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import { instanceRefSchema, type InstanceRef } from '../queue/messages.js';
import { withRetry, type RetryPolicy } from '../retry.js';

/**
 * Client of Storage's instance query (`GET {platform}/storage/api/v1/instances`): one page of the completed
 * instances our org has not confirmed, in one `lastChanged` window. Every URL is built from settings; the
 * page's `next` link and token are never used: Storage's continuation skips instances that share a
 * `lastChanged` at a page boundary (readinstancefromquery.sql continues with `id < continue_idx` while it
 * sorts ids ascending), so the reconciler pages by `lastChanged` itself (lib/reconcile/windows.ts).
 */

/** Storage's InstanceQueryResponse (its `next` is not followed, see above). */
export const instancePageSchema = z.object({
  count: z.number().int().nonnegative(),
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

/** An upper bound on `lastChanged`: `lte:` (inclusive) or `lt:`. */
export interface ChangedBound {
  at: string;
  inclusive: boolean;
}

export interface InstanceQuery {
  org: string;
  /** One app, or every app of the org when absent. */
  app?: string | undefined;
  pageSize: number;
  /** ISO timestamp: only instances changed after it (`lastChanged=gt:`). */
  changedAfter?: string | undefined;
  /** Only instances changed up to it (`lastChanged=lte:` or `lt:`), as Storage wrote it (sub-ms digits kept). */
  upTo?: ChangedBound | undefined;
}

export function instanceQueryUrl(platformUrl: string, q: InstanceQuery): string {
  const url = new URL(`${platformUrl}/storage/api/v1/instances`);
  const p = url.searchParams;
  p.set('org', q.org);
  if (q.app) p.set('appId', `${q.org}/${q.app}`);
  p.set('process.isComplete', 'true');
  p.set('excludeConfirmedBy', q.org);
  p.set('size', String(q.pageSize));
  if (q.changedAfter) p.append('lastChanged', `gt:${q.changedAfter}`);
  if (q.upTo) p.append('lastChanged', `${q.upTo.inclusive ? 'lte' : 'lt'}:${q.upTo.at}`);
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
  refs: InstanceRef[];
  invalid: { raw: string; reason: string }[];
  /** As many instances as asked for: there may be more in the window. */
  full: boolean;
  /** `lastChanged` of the first and the last instance (newest and oldest: Storage sorts descending), as written. */
  newest?: string | undefined;
  oldest?: string | undefined;
}

export interface QueryDeps {
  http: Pick<AltinnHttp, 'request'>;
  clock: Clock;
  log: Logger;
  platformUrl: string;
  retryPolicy?: RetryPolicy | undefined;
}

/**
 * How Storage fails under a query it cannot afford: a 400 (a database read timeout, altinn-storage#634)
 * or no answer in time. Not retried as is: the reconciler asks again for less.
 */
const overloaded = (e: unknown) => e instanceof ReceiverError && (e.status === 400 || e.code === 'altinn-timeout');

/** One page of the query; a page that keeps failing (after withRetry) throws, `storage-query-overload` for the above. */
export async function fetchInstancePage(deps: QueryDeps, q: InstanceQuery): Promise<QueriedPage> {
  const url = instanceQueryUrl(deps.platformUrl, q);
  const page = await withRetry(
    async () => {
      try {
        return await readPage(await deps.http.request(url), url);
      } catch (e) {
        if (!overloaded(e)) throw e;
        const error = e as ReceiverError;
        throw new ReceiverError(`Storage could not answer the instance query (size ${q.pageSize}): ${error.message}`, {
          code: 'storage-query-overload',
          retryable: false,
          ...(error.status !== undefined ? { status: error.status } : {}),
          cause: e,
        });
      }
    },
    {
      clock: deps.clock,
      policy: deps.retryPolicy,
      onRetry: (error, attempt, delayMs) => deps.log.warn('storage query page failed, retrying', { app: q.app ?? '*', attempt, delayMs: Math.round(delayMs), error }),
    },
  );
  const refs: InstanceRef[] = [];
  const invalid: QueriedPage['invalid'] = [];
  for (const raw of page.instances) {
    const r = toInstanceRef(raw, q.org);
    if (r.ok) refs.push(r.ref);
    else invalid.push({ raw: describe(raw), reason: r.reason });
  }
  const changed = page.instances.map(lastChangedOf).filter((v): v is string => v !== undefined);
  return { refs, invalid, full: page.instances.length >= q.pageSize, newest: changed[0], oldest: changed.at(-1) };
}

const ISO_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;
const lastChangedOf = (raw: unknown) => {
  const v = (raw as { lastChanged?: unknown } | null)?.lastChanged;
  // It goes back into our next query: only a plain ISO timestamp.
  return typeof v === 'string' && ISO_TIMESTAMP.test(v) && !Number.isNaN(Date.parse(v)) ? v : undefined;
};

/** A short, safe label for an instance we could not use (its id, if any). */
function describe(raw: unknown): string {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id.slice(0, 100) : '(no id)';
}
