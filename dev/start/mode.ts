import { isLoopbackHost } from '../../lib/http/net.js';
import type { Env } from '../host/settings.js';

const ALTINN_URLS = ['MASKINPORTEN_URL', 'ALTINN_PLATFORM_URL', 'ALTINN_APPS_URL'] as const;
/** The simulator's first port when the settings name none (the example's MASKINPORTEN_URL). */
export const DEFAULT_SIMULATOR_PORT = 5100;

const loopbackUrl = (value: string | undefined): boolean => {
  try {
    return isLoopbackHost(new URL(value ?? '').hostname);
  } catch {
    return false;
  }
};

/**
 * True when the settings are the example's: ALTINN_ENV=custom with every Altinn URL on this machine and
 * no Maskinporten client of their own. Then `npm start` runs the simulator itself and gives the host its
 * client; anything else (tt02, production, custom elsewhere, or a client already configured, e.g. for a
 * `npm run simulator` in another terminal) is used as it is.
 */
export function usesEmbeddedSimulator(env: Env): boolean {
  return env.ALTINN_ENV?.trim() === 'custom' && !env.MASKINPORTEN_CLIENT_ID?.trim() && ALTINN_URLS.every((k) => loopbackUrl(env[k]));
}

/** The simulator's first port: MASKINPORTEN_URL's (the platform and apps follow), as the example's URLs say. */
export function simulatorPort(env: Env): number {
  const port = Number(new URL(env.MASKINPORTEN_URL ?? 'http://x').port);
  return Number.isInteger(port) && port > 0 ? port : DEFAULT_SIMULATOR_PORT;
}
