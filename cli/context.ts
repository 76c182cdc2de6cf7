import type { Clock } from '../lib/clock.js';
import type { Env } from '../lib/config.js';
import type { Logger } from '../lib/log.js';
import type { Runtime } from '../lib/runtime.js';
import { createAltinnClient, failureRecordingFetch, type AltinnClient } from './altinn.js';
import { loadSettings } from './settings.js';

/** The terminal: every write is redacted and made printable by the Io that main.ts builds (cli/output.ts). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Replace the current stderr line with `text` (a live status; the one write that may move the cursor). */
  redraw(text: string): void;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  /** Ask a question on the terminal and return the answer line. */
  ask(question: string): Promise<string>;
}

export interface Context {
  io: Io;
  json: boolean;
  clock: Clock;
  /** Lines from lib code (token refreshes, retries): warnings and errors only, on stderr. */
  log: Logger;
  /** The composition root (lib/runtime.ts) with the CLI's clock, log and fetch: settings, storage, queues, Altinn. */
  runtime(): Promise<Runtime>;
  /** Altinn JSON calls, with Altinn's problem details in their errors. */
  altinn(): Promise<AltinnClient>;
}

export interface ContextDeps {
  io: Io;
  json: boolean;
  clock: Clock;
  log: Logger;
  cwd: string;
  env: Env;
  /** `--settings <file>`: read settings from this file only. */
  settingsFile?: string | undefined;
}

export function createContext(deps: ContextDeps): Context {
  const failures = failureRecordingFetch();
  let runtime: Promise<Runtime> | undefined;
  const ctx: Context = {
    io: deps.io,
    json: deps.json,
    clock: deps.clock,
    log: deps.log,
    // Loaded on first use: the storage SDKs take most of the start-up time, and --help or a usage error needs none of it.
    runtime: () =>
      (runtime ??= Promise.all([loadSettings(deps.cwd, deps.env, deps.settingsFile), import('../lib/runtime.js')]).then(([settings, rt]) => {
        // Which source, whenever a settings file was read or ignored; on stderr (stdout stays clean for --json),
        // names and paths only. With no file around the environment is the one source, as in Azure: nothing to say.
        if (settings.fileInvolved) deps.io.err(`settings: ${settings.source}\n`);
        return rt.createRuntime(settings.env, { clock: deps.clock, log: deps.log, fetch: failures.fetch });
      })),
    altinn: async () => createAltinnClient(await (await ctx.runtime()).altinnHttp(), failures),
  };
  return ctx;
}
