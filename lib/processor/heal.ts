import { ReceiverError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { EventsMessage } from '../queue/messages.js';
import { deferMessage } from './defer.js';
import type { Outcome, ProcessorDeps } from './deps.js';

/**
 * Storage's 403 and 404 lie in one direction: 403 also when Altinn Authorization is unavailable
 * (altinn-authorization src/Altinn.Common.PEP/Altinn.Common.PEP/Implementation/PDPAppSI.cs `GetDecisionForRequest` → null →
 * altinn-storage src/Storage/Authorization/AuthorizationService.cs → false → `Forbid()`), 404 for any
 * exception on an instance GET (src/Storage/Controllers/InstancesController.cs `Get`:
 * `catch (Exception e) → NotFound(...)`). Both may heal, so both are deferred over HEAL_WINDOW_MINUTES
 * before the message is poisoned.
 */
export class StorageRefusal extends ReceiverError {
  /** What an operator reads first in the poison reason: what Storage would not give us. */
  readonly headline: string;

  constructor(headline: string, cause: ReceiverError, code: ErrorCode = cause.code, detail = cause.message) {
    super(detail, { code, retryable: false, status: cause.status, instanceId: cause.instanceId, cause });
    this.headline = headline;
  }
}

/** Storage's 403/404 on the instance as a StorageRefusal; any other error as it is. */
export function instanceRefusal(e: unknown): unknown {
  if (!refused(e)) return e;
  return new StorageRefusal(e.status === 404 ? 'instance not found in Altinn Storage' : 'Altinn Storage refused to show the instance (403)', e);
}

/** A non-retryable 403 or 404 from Altinn. */
export function refused(e: unknown): e is ReceiverError & { status: 403 | 404 } {
  return e instanceof ReceiverError && !e.retryable && (e.code === 'altinn-http-403' || e.code === 'altinn-http-404');
}

/** The line an alert can select on: a restricted data type our org may not read (a configuration problem). */
export const RESTRICTED_DATA = 'a selected data type is restricted (actionRequiredToRead) and Storage refuses our org; fix the app policy or ALTINN_DATA_TYPES';

/** Largest delay between two tries of a refused instance, and the first one (as a multiple of DEFER_BASE_SECONDS). */
const MAX_HEAL_DELAY_SECONDS = 3_600;
const FIRST_HEAL_DELAY_FACTOR = 2;

/**
 * The n-th refusal's delay: DEFER_BASE_SECONDS × 2, doubled per refusal up to an hour, ±20 % jitter,
 * never later than just past the window's end (so the last try, and the poison, come on time).
 */
function healDelaySeconds(n: number, base: number, remainingMs: number, random: () => number): number {
  const backoff = Math.min(MAX_HEAL_DELAY_SECONDS, base * FIRST_HEAL_DELAY_FACTOR * 2 ** Math.min(n - 1, 16));
  const jittered = Math.round(backoff * (0.8 + 0.4 * random()));
  return Math.max(1, Math.min(jittered, Math.ceil(remainingMs / 1000) + 1));
}

const duration = (ms: number) => (ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)} h` : ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);

/**
 * A refusal inside the window: deferred, with when it was first seen and how often each status came
 * carried in the message (`refused`). Past the window: poisoned with what Storage answered, how often and for how long.
 */
export async function healOrPoison(
  deps: ProcessorDeps,
  log: Logger,
  msg: EventsMessage,
  e: StorageRefusal,
  poison: (reason: string) => Promise<Outcome>,
): Promise<Outcome> {
  const now = deps.clock.now();
  const before = msg.refused;
  const since = before ? Date.parse(before.since) : now;
  const refusedNow = {
    since: new Date(since).toISOString(),
    forbidden: (before?.forbidden ?? 0) + (e.status === 403 ? 1 : 0),
    notFound: (before?.notFound ?? 0) + (e.status === 404 ? 1 : 0),
  };
  const windowMs = deps.config.healWindowMinutes * 60_000;
  if (now - since >= windowMs) {
    const counts = [refusedNow.forbidden ? `403 × ${refusedNow.forbidden}` : '', refusedNow.notFound ? `404 × ${refusedNow.notFound}` : ''].filter(Boolean).join(', ');
    return poison(
      `${e.headline}: Storage answered ${counts} over ${duration(now - since)} since ${refusedNow.since} (HEAL_WINDOW_MINUTES=${deps.config.healWindowMinutes}); last: ${e.code}: ${e.message}`,
    );
  }
  if (e.code === 'element-restricted') log.error(RESTRICTED_DATA, { stage: 'heal', error: e });
  else log.warn('Storage refused (403/404), which heals: deferred within HEAL_WINDOW_MINUTES', { stage: 'heal', status: e.status, error: e });
  const n = refusedNow.forbidden + refusedNow.notFound;
  const delay = healDelaySeconds(n, deps.config.deferBaseSeconds, since + windowMs - now, deps.retry?.random ?? Math.random);
  return deferMessage(
    { queues: deps.queues, log, baseSeconds: deps.config.deferBaseSeconds, random: deps.retry?.random },
    { ...msg, refused: refusedNow },
    { reason: e.code, retryAfterSeconds: delay },
  );
}
