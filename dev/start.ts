/**
 * `npm start`: run the app locally. Settings from local.settings.json (created from the example on
 * first run; environment variables win), Azurite when the configured storage is the local emulator and
 * nothing answers there yet, then `func start` when Core Tools are installed, else the local host.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { startAzurite, type Azurite } from './azurite.js';
import { projectRoot } from './host/options.js';
import { ensureLocalSettings, mergeSettings, readLocalSettings, type Env } from './host/settings.js';
import { isLoopbackHost } from '../lib/net.js';
import { parseStorageConnection } from '../lib/storageConnection.js';

function onPath(command: string, env: Env): string | undefined {
  const names = process.platform === 'win32' ? [`${command}.cmd`, `${command}.exe`] : [command];
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of names) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

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

/** `--settings <path>` is ours (default: the project's local.settings.json); every other argument goes to func or the host. */
function splitArgs(argv: string[], root: string): { settingsPath: string; rest: string[] } {
  const i = argv.indexOf('--settings');
  if (i === -1) return { settingsPath: join(root, 'local.settings.json'), rest: argv };
  const path = argv[i + 1];
  if (!path || path.startsWith('--')) throw new Error('--settings needs a path');
  return { settingsPath: resolve(path), rest: [...argv.slice(0, i), ...argv.slice(i + 2)] };
}

async function main(): Promise<number> {
  const root = projectRoot(import.meta.dirname);
  const { settingsPath, rest } = splitArgs(process.argv.slice(2), root);
  if (await ensureLocalSettings(settingsPath, join(root, 'local.settings.example.json'))) {
    console.log(`created ${settingsPath} from local.settings.example.json (edit it freely; local.settings.json is git-ignored)`);
  }
  const env = mergeSettings(await readLocalSettings(settingsPath), process.env);
  const azurite = await ensureStorage(env);

  const func = onPath('func', env);
  // func reads local.settings.json from its folder itself; the merged settings in env win over it either way.
  const [command, args] = func
    ? [func, ['start', ...rest]]
    : [process.execPath, [join(root, 'dist', 'dev', 'host.js'), '--settings', settingsPath, ...rest]];
  if (!func) console.log('Azure Functions Core Tools (func) not found on PATH: starting the local host (dev/host.ts) instead');
  const child = spawn(command, args, { cwd: root, env, stdio: 'inherit' });
  // Ctrl+C reaches the child from the terminal too; forwarding covers a signal sent to this process alone.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve) => {
    child.once('error', (e) => {
      console.error(`could not start ${command}: ${e.message}`);
      resolve(1);
    });
    child.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0)));
  });
  await azurite?.stop();
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`npm start: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
