import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { connectionString, startAzuriteService, type AzuriteProcess } from '../azurite.js';
import { startLocalHost, startNode, type LocalHost, type Proc } from '../host/childProcess.js';
import { startSimulator, type Simulator } from '../simulator/index.js';
import type { Secrets } from './secrets.js';

/**
 * Everything the reliability runs drive, as real processes: Azurite (blob in memory; the queue service
 * keeps its data in a folder, so a restart on the same port loses nothing, as a storage outage in Azure
 * does not), the simulator (in this process, over loopback sockets), the local host (dist/dev/host.js)
 * with an Altinn Events subscription made by the CLI. Every line any of them writes is kept for the
 * secret scan.
 */
export interface StackOptions {
  seed: number;
  /** Multiplies Altinn's event retry delays. */
  eventRetryScale: number;
  /** App settings besides the simulator's and storage. */
  settings?: Record<string, string>;
  /** The app to subscribe to (none: no subscription). */
  subscribeApp?: string;
  /** Hosts on the same storage and queues (default 1); the webhook Altinn calls is the first's. */
  hosts?: number;
}

export interface Stack {
  sim: Simulator;
  /** The first host: Altinn Events calls its webhook. */
  host: LocalHost;
  /** Every host (the first included), all polling the same queues. */
  hosts: readonly LocalHost[];
  /** Log records of every host, in host order. */
  records(match?: (record: Record<string, unknown>) => boolean): Record<string, unknown>[];
  env: Record<string, string>;
  container: ContainerClient;
  queues: QueueServiceClient;
  /** The endpoint Altinn calls, with the function key. */
  webhookUrl: string;
  functionKey: string;
  /** Stops the queue service (its data kept); `startQueue` brings it back on the same port. */
  stopQueue(): Promise<void>;
  startQueue(): Promise<void>;
  /** Starts the hosts again after they exited or were killed. */
  restartHosts(): Promise<void>;
  /** Runs the built CLI; resolves with its exit code and output lines. */
  cli(args: string[]): Promise<{ code: number | null; lines: string[] }>;
  /** Every line written so far by each process (hosts, CLI runs, the in-process simulator's console). */
  output(): Record<string, readonly string[]>;
  secrets(): Secrets;
  stop(): Promise<void>;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const consoleLines: string[] = [];
  const restoreConsole = captureConsole(consoleLines);
  const queueDir = await mkdtemp(join(tmpdir(), 'soak-queue-'));
  const procs: Proc[] = [];
  const [sim, blob, firstQueue] = await Promise.all([
    startSimulator({ seed: opts.seed, eventRetryScale: opts.eventRetryScale }),
    startAzuriteService('blob'),
    startAzuriteService('queue', 0, { location: queueDir }),
  ]);
  let queue: AzuriteProcess | undefined = firstQueue;
  const storage = connectionString(blob.port, firstQueue.port);
  const client = await sim.newClient();
  const env: Record<string, string> = {
    ...client.env,
    AzureWebJobsStorage: storage,
    BLOB_CONTAINER: 'received',
    RECONCILE_SCHEDULE: '0 0 0 1 1 *',
    MONITOR_SCHEDULE: '0 0 0 1 1 *',
    ...opts.settings,
  };
  const functionKey = randomBytes(24).toString('base64url');
  let hosts = await Promise.all(Array.from({ length: opts.hosts ?? 1 }, (_, i) => startLocalHost({ env, name: `host#${i + 1}` })));
  procs.push(...hosts);
  const webhookUrl = () => `${hosts[0]!.url}/api/events?code=${functionKey}`;

  const cli = async (args: string[]) => {
    const p = startNode(`cli#${procs.length}`, 'dist/cli/main.js', args, { env: { PATH: process.env.PATH, ...env } });
    procs.push(p);
    const exit = await p.exited;
    return { code: exit.code, lines: p.lines };
  };
  if (opts.subscribeApp) {
    const run = await cli(['subscriptions', 'create', '--app', opts.subscribeApp, '--endpoint', webhookUrl(), '--wait', '30']);
    if (run.code !== 0) throw new Error(`subscriptions create failed (${run.code}):\n${run.lines.join('\n')}`);
  }

  const stack: Stack = {
    sim,
    get host() {
      return hosts[0]!;
    },
    get hosts() {
      return hosts;
    },
    records: (match) => hosts.flatMap((h) => h.records(match)),
    env,
    container: BlobServiceClient.fromConnectionString(storage).getContainerClient(env.BLOB_CONTAINER!),
    queues: QueueServiceClient.fromConnectionString(storage),
    get webhookUrl() {
      return webhookUrl();
    },
    functionKey,
    async stopQueue() {
      await queue?.stop();
      queue = undefined;
    },
    async startQueue() {
      queue ??= await startAzuriteService('queue', firstQueue.port, { location: queueDir });
    },
    async restartHosts() {
      // The same ports, so the subscription's endpoint stays right.
      hosts = await Promise.all(hosts.map((h) => startLocalHost({ env, port: h.port, name: `host#${procs.length}-${h.port}` })));
      procs.push(...hosts);
    },
    cli,
    output: () => ({ ...Object.fromEntries(procs.map((p) => [p.name, p.lines])), simulator: consoleLines }),
    secrets: () => ({
      privateKeys: [client.privateKey],
      values: [{ kind: 'function key', value: functionKey }],
    }),
    async stop() {
      await Promise.all(procs.map((p) => p.kill('SIGTERM')));
      await Promise.all([sim.stop(), blob.stop(), queue?.stop()]);
      await rm(queueDir, { recursive: true, force: true });
      restoreConsole();
    },
  };
  return stack;
}

/** The simulator runs in this process: whatever it prints goes to the scan too (and still to the console). */
function captureConsole(into: string[]): () => void {
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = methods.map((m) => console[m].bind(console));
  methods.forEach((m, i) => {
    console[m] = (...args: unknown[]) => {
      into.push(args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack ?? ''}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
      saved[i]!(...args);
    };
  });
  return () => methods.forEach((m, i) => (console[m] = saved[i]!));
}
