import { OPERATOR_WAIT_SECONDS } from '../altinn/whenConfigured.js';
import { ReceiverError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { EventsMessage, PoisonEnvelope } from '../queue/messages.js';
import { QUEUES } from '../queue/names.js';
import { isRetryable } from '../retry.js';
import { deferMessage, pastHorizon, reasonOf } from './defer.js';
import type { Outcome, ProcessorDeps } from './deps.js';
import { healOrPoison, StorageRefusal } from './heal.js';
import { readManifest } from './manifest.js';

/** HTTP statuses no retry can fix (Storage's 403/404 on an instance or element are StorageRefusals, which heal). */
const PERMANENT_STATUS = new Set([403, 404, 410]);
/** The line an alert selects on (infra/modules/alerts.bicep, credentials-refused). */
export const CREDENTIALS_REFUSED = 'Maskinporten or Altinn refused our credentials; fix the settings';
const PERMANENT_CODES = new Set<ErrorCode>(['altinn-instance-invalid', 'altinn-instance-mismatch', 'instance-foreign-org', 'config-data-types', 'element-unavailable']);

function isPermanent(e: unknown): e is ReceiverError {
  return e instanceof ReceiverError && !e.retryable && (PERMANENT_STATUS.has(e.status ?? 0) || PERMANENT_CODES.has(e.code));
}

/**
 * Maskinporten or Altinn refused our credentials (client id, key, scopes, org): no instance can be
 * fetched until an operator fixes the settings, so every message waits (as for broken settings) instead
 * of failing into poison within minutes.
 */
function isCredentialRefusal(e: unknown): e is ReceiverError {
  return e instanceof ReceiverError && !e.retryable && (/^(maskinporten|altinn-exchange)-/.test(e.code) || e.code === 'altinn-http-401');
}

export async function poison(deps: ProcessorDeps, log: Logger, raw: unknown, reason: string): Promise<Outcome> {
  const envelope: PoisonEnvelope = { reason, original: raw, failedAt: new Date(deps.clock.now()).toISOString() };
  await deps.queues.send(QUEUES.poison, envelope);
  log.warn('message poisoned', { stage: 'poison', reason });
  return { kind: 'poisoned', reason };
}

const deferDeps = (deps: ProcessorDeps, log: Logger) => ({ queues: deps.queues, log, baseSeconds: deps.config.deferBaseSeconds, random: deps.retry?.random });

/** A run's error decides its outcome. Transient or refused credentials: defer, unless the horizon has passed; anything else the host retries (and poisons after maxDequeueCount). */
export async function decideOnError(deps: ProcessorDeps, log: Logger, raw: unknown, msg: EventsMessage, e: unknown): Promise<Outcome> {
  if (e instanceof StorageRefusal) return healOrPoison(deps, log, msg, e, (reason) => poison(deps, log, raw, reason));
  if (isPermanent(e)) return poison(deps, log, raw, `${e.code}: ${e.message}`);
  const refused = isCredentialRefusal(e);
  if (!refused && !isRetryable(e)) {
    log.error('processing failed; the host will retry', { stage: 'failed', error: e });
    throw e;
  }
  if (pastHorizon(msg, deps.clock.now(), deps.config.deferHorizonHours)) {
    return poison(deps, log, raw, `${refused ? 'refused credentials' : 'transient failures'} for over ${deps.config.deferHorizonHours} h (DEFER_HORIZON_HOURS), ${msg.deferrals ?? 0} deferrals; last: ${reasonOf(e)}: ${(e as Error).message}`);
  }
  if (refused) log.error(CREDENTIALS_REFUSED, { stage: 'failed', error: e });
  else log.warn('transient failure outlasted the retries', { stage: 'failed', error: e });
  const retryAfterSeconds = refused ? OPERATOR_WAIT_SECONDS : e instanceof ReceiverError ? e.retryAfterSeconds : undefined;
  return deferMessage(deferDeps(deps, log), msg, { reason: reasonOf(e), retryAfterSeconds });
}

/** Another process holds the instance: done if its manifest says so, else look again later (backoff, as for transient trouble). */
export async function busy(deps: ProcessorDeps, log: Logger, msg: EventsMessage): Promise<Outcome> {
  const manifest = await readManifest(deps.store, msg);
  if (manifest?.readyAt) {
    log.info('another process holds this instance and its manifest is announced; nothing to do', { stage: 'busy', outcome: 'already-done' });
    return { kind: 'already-done' };
  }
  return deferMessage(deferDeps(deps, log), msg, { reason: 'instance-busy' });
}

/** A message for another org, or an app outside ALTINN_APPS, is never ours to fetch. */
export function refuse(config: ProcessorDeps['config'], msg: EventsMessage): string | undefined {
  if (msg.org !== config.org) return `org ${msg.org} is not ALTINN_ORG (${config.org})`;
  if (config.apps.length > 0 && !config.apps.includes(msg.app)) return `app ${msg.app} is not in ALTINN_APPS`;
  return undefined;
}
