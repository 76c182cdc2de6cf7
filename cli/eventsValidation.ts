/**
 * How long Altinn Events tries to validate a new subscription's endpoint on its Service Bus path: the validation
 * command's retry policy (altinn-events src/Events/appsettings.json WolverineSettings.ValidationQueuePolicy, applied by
 * src/Events/Wolverine/Policies/ValidationEventHandlerPolicy.cs): cooldown retries after 1 s, 5 s and 10 s, then
 * scheduled retries after 30 s, 1 min, 2 min, 2 min and 2 min; after that the command goes to the error queue and
 * nothing tries again. Delays in seconds between one attempt and the next. (The storage-queue path,
 * src/Events.Functions/SubscriptionValidation.cs under host.json's maxDequeueCount 5 and visibilityTimeout 30 s,
 * tries 5 times about 30 s apart: within this window too.)
 */
export const VALIDATION_RETRY_SECONDS = [1, 5, 10, 30, 60, 120, 120, 120] as const;

/** From the first handshake to the last: 466 s (7 min 46 s), plus the time each attempt takes. */
export const VALIDATION_WINDOW_SECONDS = VALIDATION_RETRY_SECONDS.reduce((a, b) => a + b, 0);

/** Defined beside the subscription check (lib/ops/subscriptions.ts); here for the simulator and the CLI, which import it from here. */
export { appResource } from '../lib/ops/subscriptions.js';
