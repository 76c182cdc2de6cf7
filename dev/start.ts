/**
 * `npm start`: run the app locally. Settings from local.settings.json (created from the example on
 * first run; environment variables win), Azurite when the configured storage is the local emulator and
 * nothing answers there yet. With the example's settings (Altinn on this machine, no Maskinporten client)
 * the Altinn simulator too: its client goes into the host's environment, the webhook is subscribed, and
 * `npm run submit` makes submissions. Then `func start` when Core Tools are installed, else the local host.
 * Ctrl+C stops everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { QueueServiceClient } from '@azure/storage-queue';
import { startAzurite, type Azurite } from './azurite.js';
import { currentPlatform, onPath, resolveCommand } from './command.js';
import { parseJsonLine } from './host/childProcess.js';
import { projectRoot } from './host/options.js';
import { readLocalSettings } from '../lib/localSettings.js';
import { ensureLocalSettings, mergeSettings, type Env } from './host/settings.js';
import { simulatorPort, usesEmbeddedSimulator } from './start/mode.js';
import { startSimulatedAltinn, subscribeWebhook, type SimulatedAltinn } from './start/simulated.js';
import { DEFAULT_SUBMISSIONS_URL } from './start/submissions.js';
import { isLoopbackHost } from '../lib/http/net.js';
import { parseStorageConnection } from '../lib/azure/storageConnection.js';

/** True when the queue service answers at all (any HTTP status): one try, no retries. */
async function answers(client: QueueServiceClient): Promise<boolean> {
  try {
    await client.getProperties({ abortSignal: AbortSignal.timeout(3_000) });
    return true;
  } catch (e) {
    return typeof (e as { statusCode?: unknown }).statusCode === 'number';
  }
}

/** Starts Azurite when storage is the local emulator and nobody listens there; returns it to stop later. */
async function ensureStorage(env: Env): Promise<Azurite | undefined> {
  const conn = parseStorageConnection(env);
  if (conn.kind !== 'connectionString') return undefined; // identity-based: an Azure account
  const queue = QueueServiceClient.fromConnectionString(conn.connectionString, { retryOptions: { maxTries: 1 } });
  if (await answers(queue)) return undefined;
  const queueUrl = new URL(queue.url);
  if (!isLoopbackHost(queueUrl.hostname)) {
    console.warn(`storage at ${queueUrl.host} does not answer; starting anyway`);
    return undefined;
  }
  const blobUrl = new URL(conn.connectionString === 'UseDevelopmentStorage=true' ? 'http://127.0.0.1:10000' : blobEndpoint(conn.connectionString));
  const azurite = await startAzurite({ blob: Number(blobUrl.port), queue: Number(queueUrl.port) });
  console.log(`Azurite (in memory: data lasts until you stop npm start) on blob ${azurite.blobPort}, queue ${azurite.queuePort}`);
  return azurite;
}

function blobEndpoint(connectionString: string): string {
  const m = /(?:^|;)\s*BlobEndpoint=([^;]+)/i.exec(connectionString);
  if (!m) throw new Error('AzureWebJobsStorage points to a local queue endpoint but names no BlobEndpoint');
  return m[1]!;
}

/** `--settings <path>` and `--simulator-port <n>` are ours; every other argument goes to func or the host. */
function splitArgs(argv: string[], root: string): { settingsPath: string; simulatorPort: number | undefined; rest: string[] } {
  const rest = [...argv];
  const take = (name: string): string | undefined => {
    const i = rest.indexOf(name);
    if (i === -1) return undefined;
    const value = rest[i + 1];
    if (!value || value.startsWith('--')) throw new Error(`${name} needs a value`);
    rest.splice(i, 2);
    return value;
  };
  const settings = take('--settings');
  const port = take('--simulator-port');
  if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new Error('--simulator-port must be a port number (0 = free ports)');
  return { settingsPath: settings ? resolve(settings) : join(root, 'local.settings.json'), simulatorPort: port === undefined ? undefined : Number(port), rest };
}

/** The host's base URL: the local host logs its port; `func start` listens on --port or 7071 and is asked until it answers. */
async function hostUrl(child: ChildProcess, local: boolean, args: string[]): Promise<string> {
  if (local) {
    const port = await new Promise<number>((resolve, reject) => {
      let partial = '';
      const onData = (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const r = parseJsonLine(line);
          if (r?.msg === 'host started' && typeof r.port === 'number') {
            child.stdout?.off('data', onData);
            resolve(r.port);
          }
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', () => reject(new Error('the host exited before it started')));
    });
    return `http://127.0.0.1:${port}`;
  }
  const i = args.indexOf('--port');
  const url = `http://127.0.0.1:${i === -1 ? 7071 : Number(args[i + 1])}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error('func exited before it answered');
    try {
      await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2_000) });
      return url;
    } catch {
      await delay(500);
    }
  }
}

/** What to do next, once the host is up with the simulator and the webhook is subscribed. */
function nextSteps(stack: SimulatedAltinn, url: string, azurite: Azurite | undefined, subscribed: boolean): string {
  const submit = stack.submissions.url === DEFAULT_SUBMISSIONS_URL ? 'npm run submit' : `npm run submit -- --simulator ${stack.submissions.url}`;
  const org = String(stack.hostEnv.ALTINN_ORG);
  return [
    '',
    `Ready: the receiver runs against the Altinn simulator (no Azure, no Altinn account).`,
    `  host        ${url}/api/health   webhook ${url}/api/events${subscribed ? ` (subscribed to ${org}/${stack.app})` : ' (NOT subscribed: see above)'}`,
    `  simulator   Maskinporten ${stack.urls.maskinporten}, platform ${stack.urls.platform}, apps ${stack.urls.apps}`,
    ...(azurite ? [`  Azurite     blob ${azurite.services.blob.url}, queue ${azurite.services.queue.url} (in memory: gone when you stop)`] : []),
    'Next:',
    `  ${submit}`,
    `      (another terminal) a user submits to ${org}/${stack.app}: the simulator completes the instance, Altinn Events`,
    '      calls the webhook, the receiver stores the files and confirms; the command waits for that and prints where.',
    `  Files land in blob container "${stack.container}": ${org}/${stack.app}/{partyId}/{instanceGuid}/manifest.json, instance.json, data/{elementId}`,
    ...(azurite ? [`  Browse them: Azure Storage Explorer, connection string ${azurite.connectionString}`] : []),
    '  Ctrl+C stops the host, the simulator and Azurite.',
    '',
  ].join('\n');
}

/** `func start` when Core Tools are on PATH, else the local host; its stdout goes on to ours. `exited` resolves with the exit code. */
function spawnHost(p: { root: string; env: Env; hostEnv: Env; settingsPath: string; rest: string[] }): {
  host: ChildProcess;
  local: boolean;
  exited: Promise<number>;
} {
  const platform = { ...currentPlatform(), env: p.env };
  const func = onPath('func', platform);
  // func reads local.settings.json from its folder itself; the merged settings in env win over it either way.
  // On Windows func is often func.cmd (Core Tools from npm): resolveCommand runs its JS entry with node instead.
  const { command, args, shell } = func
    ? resolveCommand('func', ['start', ...p.rest], platform)
    : { command: process.execPath, args: [join(p.root, 'dist', 'dev', 'host.js'), '--settings', p.settingsPath, ...p.rest], shell: false };
  if (!func) console.log('Azure Functions Core Tools (func) not found on PATH: starting the local host (dev/host.ts) instead');
  const host = spawn(command, args, { cwd: p.root, env: p.hostEnv, shell, stdio: ['inherit', 'pipe', 'inherit'] });
  host.stdout.pipe(process.stdout);
  const exited = new Promise<number>((resolve) => {
    host.once('error', (e) => {
      console.error(`could not start ${command}: ${e.message}`);
      resolve(1);
    });
    host.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0)));
  });
  return { host, local: !func, exited };
}

/** Once the host answers: the simulator's webhook subscribed to it, and what to do next printed. */
async function announceReady(stack: SimulatedAltinn, host: ChildProcess, local: boolean, args: string[], azurite: Azurite | undefined): Promise<void> {
  const url = await hostUrl(host, local, args);
  const subscribed = await subscribeWebhook(stack, url, (line) => console.log(line));
  console.log(nextSteps(stack, url, azurite, subscribed));
}

async function main(): Promise<number> {
  const root = projectRoot(import.meta.dirname);
  const { settingsPath, simulatorPort: portOption, rest } = splitArgs(process.argv.slice(2), root);
  if (await ensureLocalSettings(settingsPath, join(root, 'local.settings.example.json'))) {
    console.log(`created ${settingsPath} from local.settings.example.json (edit it freely; local.settings.json is git-ignored)`);
  }
  const env = mergeSettings(await readLocalSettings(settingsPath), process.env);

  // Everything started so far, stopped in reverse order on the way out (also on Ctrl+C during start-up).
  const started: (() => Promise<void>)[] = [];
  const stopStarted = async () => {
    for (const stop of started.splice(0).reverse()) await stop();
  };
  let child: ChildProcess | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // Ctrl+C reaches the host from the terminal too; forwarding covers a signal sent to this process alone.
      if (child) child.kill(signal);
      else void stopStarted().then(() => process.exit(130));
    });
  }

  try {
    return await run();
  } finally {
    await stopStarted();
  }

  async function run(): Promise<number> {
    const azurite = await ensureStorage(env);
    if (azurite) started.push(() => azurite.stop());
    const stack = usesEmbeddedSimulator(env) ? await startSimulatedAltinn(env, portOption ?? simulatorPort(env)) : undefined;
    if (stack) {
      started.push(() => stack.stop());
      console.log(`Altinn simulator (settings name no Maskinporten client): Maskinporten ${stack.urls.maskinporten}, platform ${stack.urls.platform}, apps ${stack.urls.apps}`);
    }

    const { host, local, exited } = spawnHost({ root, env, hostEnv: stack?.hostEnv ?? env, settingsPath, rest });
    child = host;
    if (stack) {
      // A host that dies during start-up ends npm start through `exited`; the message says why.
      announceReady(stack, host, local, rest, azurite).catch((e: unknown) => console.error(`npm start: ${(e as Error).message}`));
    }
    return await exited;
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`npm start: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
