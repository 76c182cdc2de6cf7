import { randomInt } from 'node:crypto';
import { loadConfig } from '../../lib/config.js';
import { startNode } from '../host/childProcess.js';
import type { Env } from '../host/settings.js';
import { startSimulator } from '../simulator/index.js';
import { startSubmissions, type SubmissionsServer } from './submissions.js';

/** The app `npm start` subscribes and `npm run submit` submits to, unless ALTINN_APPS names others. */
const DEFAULT_APP = 'demo-app';

export interface SimulatedAltinn {
  /** The host's settings: the file's and the environment's, with the simulator's URLs and a client of its own. */
  hostEnv: Env;
  app: string;
  container: string;
  urls: { maskinporten: string; platform: string; apps: string };
  submissions: SubmissionsServer;
  stop(): Promise<void>;
}

/**
 * The Altinn simulator in this process, on `port` (and the next two; 0 = free ports), with a new
 * Maskinporten client whose settings go into the host's environment only (its key lives as long as the
 * simulator), and the submissions endpoint on the port after them.
 */
export async function startSimulatedAltinn(env: Env, port: number): Promise<SimulatedAltinn> {
  // A new seed each run: instance ids of one run never meet those of an earlier one in persistent storage.
  const sim = await startSimulator({ port, seed: randomInt(1, 2 ** 31) });
  try {
    const client = await sim.newClient();
    const hostEnv: Env = { ...env, ...client.env };
    const config = loadConfig(hostEnv);
    const app = config.apps[0] ?? DEFAULT_APP;
    const submissions = await startSubmissions({ sim, app, container: config.blobContainer, port: port === 0 ? 0 : port + 3 });
    return {
      hostEnv,
      app,
      container: config.blobContainer,
      urls: { maskinporten: sim.maskinportenUrl, platform: sim.platformUrl, apps: sim.appsUrl },
      submissions,
      stop: async () => {
        await submissions.stop();
        await sim.stop();
      },
    };
  } catch (e) {
    await sim.stop();
    throw e;
  }
}

/**
 * Subscribes the host's webhook to the app's events with the CLI, as a user would (Altinn Events
 * validates the endpoint first); prints the CLI's output indented. True when it succeeded.
 */
export async function subscribeWebhook(stack: SimulatedAltinn, hostUrl: string, print: (line: string) => void): Promise<boolean> {
  const args = ['subscriptions', 'create', '--app', stack.app, '--endpoint', `${hostUrl}/api/events`, '--wait', '30'];
  print(`$ altinn-receiver ${args.join(' ')}`);
  const cli = startNode('altinn-receiver', 'dist/cli/main.js', args, { env: { ...stack.hostEnv } });
  const exit = await cli.exited;
  for (const line of cli.lines.filter((l) => l.trim() !== '')) print(`    ${line}`);
  return exit.code === 0;
}
