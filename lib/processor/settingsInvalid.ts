import { OPERATOR_WAIT_SECONDS } from '../altinn/whenConfigured.js';
import { createStorageClients } from '../azure/storageClients.js';
import { parseStorageConnection } from '../azure/storageConnection.js';
import type { Clock } from '../clock.js';
import type { ConfigError, Env } from '../config.js';
import type { Logger } from '../log.js';
import { decodeMessage, eventsMessageSchema, instanceId, type PoisonEnvelope } from '../queue/messages.js';
import { QUEUES } from '../queue/names.js';
import { createQueueSender, type QueueSender } from '../queue/sender.js';
import { deferMessage, pastHorizon } from './defer.js';
import type { Processor } from './processInstance.js';

/** DEFER_HORIZON_HOURS's default: the setting itself may be the broken one. */
const HORIZON_HOURS = 48;

/** The settings named in a ConfigError (never their values). */
export const settingNames = (e: ConfigError) => [...new Set(e.problems.map((p) => p.setting))].join(', ');

/**
 * The processor while a core setting (ALTINN_ORG, a URL, …) is broken: every message waits
 * OPERATOR_WAIT_SECONDS and comes back, as under broken Maskinporten settings, instead of the invocation
 * throwing until the host poisons it. Only the storage connection is needed, and the host could not
 * have delivered the message without it. A message that does not decode is thrown to the host (it is
 * poison whatever the settings say); past DEFER_HORIZON_HOURS's default, a message is poisoned with the reason.
 */
export function deferWhileSettingsInvalid(deps: { queues: Pick<QueueSender, 'send'>; error: ConfigError; clock: Clock; log: Logger }): Processor {
  const settings = settingNames(deps.error);
  return {
    async handle(raw) {
      const decoded = decodeMessage(eventsMessageSchema, raw);
      if (!decoded.ok) throw deps.error;
      const msg = decoded.value;
      const log = deps.log.child({ instanceId: instanceId(msg), eventId: msg.eventId, reason: msg.reason, app: msg.app, deferrals: msg.deferrals });
      log.error('invalid settings: the message waits until they are fixed (see GET /api/health)', { stage: 'failed', code: 'settings-invalid', settings });
      if (pastHorizon(msg, deps.clock.now(), HORIZON_HOURS)) {
        const reason = `settings-invalid for over ${HORIZON_HOURS} h (${settings}), ${msg.deferrals ?? 0} deferrals`;
        const envelope: PoisonEnvelope = { reason, original: raw, failedAt: new Date(deps.clock.now()).toISOString() };
        await deps.queues.send(QUEUES.poison, envelope);
        log.warn('message poisoned', { stage: 'poison', reason });
        return { kind: 'poisoned', reason };
      }
      return deferMessage({ queues: deps.queues, log, baseSeconds: OPERATOR_WAIT_SECONDS }, msg, { reason: 'settings-invalid', retryAfterSeconds: OPERATOR_WAIT_SECONDS });
    },
  };
}

let senders: { connection: string; sender: Promise<QueueSender> } | undefined;

/** A queue sender from the storage setting alone, one per process (per setting value); throws when that setting is broken too. */
export function fallbackSender(env: Env): Promise<QueueSender> {
  const conn = parseStorageConnection(env);
  const key = JSON.stringify(conn);
  if (senders?.connection !== key) senders = { connection: key, sender: createStorageClients(conn).then((c) => createQueueSender(c.queue)) };
  return senders.sender;
}
