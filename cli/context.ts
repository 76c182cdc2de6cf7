import type { Clock } from '../lib/clock.js';
import type { Env } from '../lib/config.js';
import type { Logger } from '../lib/log.js';
import type { Runtime } from '../lib/runtime.js';
import type { AltinnHttp } from '../lib/altinnHttp.js';
import { createAltinnClient, failureRecordingFetch, type AltinnClient } from './altinn.js';
import { loadEnv } from './settings.js';

/** The terminal: every write is redacted by the caller that builds it (main.ts). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
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
  /** Settings, storage clients and queue sender, built from the same settings as the functions. */
  runtime(): Promise<Runtime>;
  /** Authenticated Altinn requests (Maskinporten token, exchanged for an Altinn token). */
  altinnHttp(): Promise<AltinnHttp>;
  /** The same, for JSON calls, with Altinn's problem details in its errors. */
  altinn(): Promise<AltinnClient>;
}

export interface ContextDeps {
  io: Io;
  json: boolean;
  clock: Clock;
  log: Logger;
  cwd: string;
  env: Env;
}

export function createContext(deps: ContextDeps): Context {
  let runtime: Promise<Runtime> | undefined;
  let altinn: Promise<{ http: AltinnHttp; client: AltinnClient }> | undefined;
  const connect = () =>
    (altinn ??= ctx.runtime().then(async ({ config, maskinporten: settings }) => {
      const [{ createTokenProvider }, { createAltinnHttp }] = await Promise.all([import('../lib/auth/index.js'), import('../lib/altinnHttp.js')]);
      const failures = failureRecordingFetch();
      const maskinporten = settings();
      const tokens = createTokenProvider({
        maskinporten,
        platformUrl: config.altinn.platformUrl,
        clock: deps.clock,
        fetch: failures.fetch,
        log: deps.log,
      });
      const http = createAltinnHttp({ tokens, fetch: failures.fetch, log: deps.log, clock: deps.clock });
      return { http, client: createAltinnClient(http, failures) };
    }));
  const ctx: Context = {
    io: deps.io,
    json: deps.json,
    clock: deps.clock,
    log: deps.log,
    // Loaded on first use: the storage SDKs take most of the start-up time, and --help or a usage error needs none of it.
    runtime: () => (runtime ??= Promise.all([loadEnv(deps.cwd, deps.env), import('../lib/runtime.js')]).then(([env, rt]) => rt.getRuntime(env))),
    altinnHttp: async () => (await connect()).http,
    altinn: async () => (await connect()).client,
  };
  return ctx;
}
