import azf from '@azure/functions';
import type { HttpFunctionOptions, StorageQueueFunctionOptions, TimerFunctionOptions } from '@azure/functions';

/**
 * One Azure Function: its name, trigger kind and the very options object given to `app.*`.
 * Each file in functions/ exports one as `definition`, so tests and the local host (dev/host.ts)
 * run exactly what Azure runs.
 */
export type FunctionDefinition =
  | { kind: 'http'; name: string; options: HttpFunctionOptions }
  | { kind: 'storageQueue'; name: string; options: StorageQueueFunctionOptions }
  | { kind: 'timer'; name: string; options: TimerFunctionOptions };

/** Register with the Functions runtime; outside it (tests, local host) @azure/functions skips this itself. */
export function register<T extends FunctionDefinition>(def: T): T {
  if (def.kind === 'http') azf.app.http(def.name, def.options);
  else if (def.kind === 'storageQueue') azf.app.storageQueue(def.name, def.options);
  else azf.app.timer(def.name, def.options);
  return def;
}
