import type { Clock } from '../../lib/clock.js';
import { loadConfig, type Config } from '../../lib/config.js';
import { memoryLogger } from './log.js';
import { createTokenProvider } from '../../lib/auth/index.js';
import type { Simulator, SimulatorClient } from '../../dev/simulator/index.js';



/**
 * Everything secret that crosses the wire in auth tests (assertions, access tokens, private keys) and
 * everything we print (log lines, error messages), so a test can prove the second never holds the first.
 */
export function secretWatch() {
  const secrets = new Set<string>();
  const printed: string[] = [];
  const log = memoryLogger();

  /** Real fetch, recording the assertion sent and every token received. */
  const recordingFetch: typeof fetch = async (input, init) => {
    const body = typeof init?.body === 'string' ? new URLSearchParams(init.body).get('assertion') : null;
    if (body) secrets.add(body);
    const auth = new Headers(init?.headers).get('authorization');
    if (auth) secrets.add(auth.replace(/^Bearer /, ''));
    const res = await fetch(input, init);
    const text = await res.clone().text();
    for (const jwt of text.match(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g) ?? []) secrets.add(jwt);
    return res;
  };

  return {
    log,
    fetch: recordingFetch,
    /** Add a private key (PEM or JWK JSON) to the watch list: its base64 body lines and JWK private members. */
    key(privateKey: string) {
      if (privateKey.trim().startsWith('{')) {
        const jwk = JSON.parse(privateKey) as Record<string, string>;
        for (const k of ['d', 'p', 'q', 'dp', 'dq', 'qi']) if (jwk[k]) secrets.add(jwk[k]);
      } else {
        for (const line of privateKey.split('\n')) if (line.length > 40 && !line.startsWith('-----')) secrets.add(line.trim());
      }
    },
    /** Keep what an operator would see of an error. */
    error(e: unknown) {
      printed.push(String(e), (e as Error).message ?? '', JSON.stringify((e as { toLog?: () => unknown }).toLog?.() ?? {}));
    },
    secretCount: () => secrets.size,
    /** Secrets that appear in any log line or error message (should be none). */
    leaks(): string[] {
      const text = [...printed, ...log.lines].join('\n');
      return [...secrets].filter((s) => text.includes(s)).map((s) => `${s.slice(0, 12)}…`);
    },
    printedCount: () => printed.length + log.lines.length,
  };
}

export type SecretWatch = ReturnType<typeof secretWatch>;

export function configFor(client: SimulatorClient, overrides: Record<string, string | undefined> = {}): Config {
  return loadConfig({ ...client.env, AzureWebJobsStorage: 'UseDevelopmentStorage=true', ...overrides });
}

/** A token provider for a simulator client, talking to the simulator over loopback through the watch's fetch. */
export function providerFor(sim: Simulator, client: SimulatorClient, clock: Clock, watch: SecretWatch, overrides: Record<string, string | undefined> = {}) {
  watch.key(client.privateKey);
  const config = configFor(client, overrides);
  return createTokenProvider({ maskinporten: config.maskinporten, platformUrl: sim.platformUrl, clock, fetch: watch.fetch, log: watch.log });
}
