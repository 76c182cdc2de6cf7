import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { connectionString, startAzuriteService, type AzuriteProcess } from '../azurite.js';
import { startLocalHost, startNode, type LocalHost, type Proc } from '../host/childProcess.js';
import { startSimulator, type Simulator } from '../simulator/index.js';
import { startStorageProxy, type StorageProxy } from '../storageProxy.js';
import type { Secrets } from './secrets.js';

/**
 * Everything the reliability runs drive, as real processes: Azurite (blob in memory; the queue service
 * keeps its data in a folder, so a restart on the same port loses nothing, as a storage outage in Azure
 * does not), the simulator (in this process, over loopback sockets), our Azure Storage fault proxy in
 * front of the blob service (the hosts' blob calls go through it; the soak's own checks do not), the local host (dist/dev/host.js)
 * with an Altinn Events subscription made by the CLI. Every line any of them writes is kept for the
 * secret scan.
 */
export interface StackOptions {
  seed: number;
  /** Multiplies Altinn's event retry delays. */
  eventRetryScale: number;
  /** How long a published event stays out of Altinn Events' app feed (simulator default: Altinn's 30 s). */
  eventsFeedDelayMs?: number;
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
  /** The soak's own view of the container, straight to Azurite (never faulted). */
  container: ContainerClient;
  queues: QueueServiceClient;
  /** The hosts' blob endpoint: faults of Azure Blob Storage (dev/storageProxy.ts). */
  blobProxy: StorageProxy;
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
  const [sim, blob, queue] = await Promise.all([
    startSimulator({ seed: opts.seed, eventRetryScale: opts.eventRetryScale, eventsFeedDelayMs: opts.eventsFeedDelayMs }),
    startAzuriteService('blob'),
    startQueueService(),
  ]);
  const storage = connectionString(blob.port, queue.port);
  const blobProxy = await startStorageProxy({ service: 'blob', target: { port: blob.port } });
  const client = await sim.newClient();
  const env: Record<string, string> = {
    ...client.env,
    AzureWebJobsStorage: connectionString(blobProxy.port, queue.port),
    BLOB_CONTAINER: 'received',
    RECONCILE_SCHEDULE: '0 0 0 1 1 *',
    MONITOR_SCHEDULE: '0 0 0 1 1 *',
    FEED_SCHEDULE: '0 0 0 1 1 *',
    ...opts.settings,
  };
  const functionKey = randomBytes(24).toString('base64url');
  const procs = new StackProcesses(env);
  await procs.startHosts(opts.hosts ?? 1);
  const webhookUrl = () => `${procs.hosts[0]!.url}/api/events?code=${functionKey}`;
  if (opts.subscribeApp) {
    const run = await procs.cli(['subscriptions', 'create', '--app', opts.subscribeApp, '--endpoint', webhookUrl(), '--wait', '30']);
    if (run.code !== 0) throw new Error(`subscriptions create failed (${run.code}):\n${run.lines.join('\n')}`);
  }
  const stop = async () => {
    await procs.stop();
    await blobProxy.stop();
    await Promise.all([sim.stop(), blob.stop(), queue.stop()]);
    await queue.removeData();
    restoreConsole();
  };
  return assembleStack({ sim, env, storage, blobProxy, procs, queue, webhookUrl, functionKey, consoleLines, privateKey: client.privateKey, stop });
}

interface StackParts {
  sim: Simulator;
  env: Record<string, string>;
  /** Straight to Azurite, for the soak's checks. */
  storage: string;
  blobProxy: StorageProxy;
  procs: StackProcesses;
  queue: QueueService;
  webhookUrl: () => string;
  functionKey: string;
  consoleLines: string[];
  privateKey: string;
  stop: () => Promise<void>;
}

function assembleStack(parts: StackParts): Stack {
  const { procs, queue, env, storage, functionKey } = parts;
  return {
    sim: parts.sim,
    get host() {
      return procs.hosts[0]!;
    },
    get hosts() {
      return procs.hosts;
    },
    records: (match) => procs.hosts.flatMap((h) => h.records(match)),
    env,
    container: BlobServiceClient.fromConnectionString(storage).getContainerClient(env.BLOB_CONTAINER!),
    queues: QueueServiceClient.fromConnectionString(storage),
    blobProxy: parts.blobProxy,
    get webhookUrl() {
      return parts.webhookUrl();
    },
    functionKey,
    stopQueue: () => queue.stop(),
    startQueue: () => queue.start(),
    restartHosts: () => procs.restartHosts(),
    cli: procs.cli,
    output: () => ({ ...procs.output(), simulator: parts.consoleLines }),
    secrets: () => ({
      privateKeys: [parts.privateKey],
      values: [{ kind: 'function key', value: functionKey }],
    }),
    stop: parts.stop,
  };
}

/** The stack's hosts and CLI runs: every process is kept, for its output and to stop it. */
class StackProcesses {
  private readonly all: Proc[] = [];
  hosts: LocalHost[] = [];
  constructor(private readonly env: Record<string, string>) {}

  async startHosts(count: number): Promise<void> {
    this.hosts = await Promise.all(Array.from({ length: count }, (_, i) => startLocalHost({ env: this.env, name: `host#${i + 1}` })));
    this.all.push(...this.hosts);
  }

  async restartHosts(): Promise<void> {
    // The same ports, so the subscription's endpoint stays right.
    this.hosts = await Promise.all(this.hosts.map((h) => startLocalHost({ env: this.env, port: h.port, name: `host#${this.all.length}-${h.port}` })));
    this.all.push(...this.hosts);
  }

  cli = async (args: string[]) => {
    const p = startNode(`cli#${this.all.length}`, 'dist/cli/main.js', args, { env: { PATH: process.env.PATH, ...this.env } });
    this.all.push(p);
    const exit = await p.exited;
    return { code: exit.code, lines: p.lines };
  };

  output(): Record<string, readonly string[]> {
    return Object.fromEntries(this.all.map((p) => [p.name, p.lines]));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((p) => p.kill('SIGTERM')));
  }
}

interface QueueService {
  port: number;
  /** Stops the service, its data kept. */
  stop(): Promise<void>;
  /** Starts it again (when stopped) on the same port and data. */
  start(): Promise<void>;
  /** Deletes the data folder (after the last stop). */
  removeData(): Promise<void>;
}

/** Azurite's queue service keeping its data in a folder, so a restart on the same port loses nothing. */
async function startQueueService(): Promise<QueueService> {
  const dir = await mkdtemp(join(tmpdir(), 'soak-queue-'));
  const first = await startAzuriteService('queue', 0, { location: dir });
  let current: AzuriteProcess | undefined = first;
  return {
    port: first.port,
    async stop() {
      await current?.stop();
      current = undefined;
    },
    async start() {
      current ??= await startAzuriteService('queue', first.port, { location: dir });
    },
    removeData: () => rm(dir, { recursive: true, force: true }),
  };
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
