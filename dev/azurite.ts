import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Azurite's published development account (a public, well-known key: not a secret). */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export type AzuriteService = 'blob' | 'queue';

export interface AzuriteProcess {
  service: AzuriteService;
  port: number;
  url: string;
  stop(): Promise<void>;
}

export interface Azurite {
  blobPort: number;
  queuePort: number;
  connectionString: string;
  services: Record<AzuriteService, AzuriteProcess>;
  stop(): Promise<void>;
}

export function connectionString(blobPort: number, queuePort: number, host = '127.0.0.1'): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
    `BlobEndpoint=http://${host}:${blobPort}/${DEV_ACCOUNT};QueueEndpoint=http://${host}:${queuePort}/${DEV_ACCOUNT};`
  );
}

function azuriteBin(service: AzuriteService): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('azurite/package.json');
  return join(dirname(pkg), 'dist', 'src', service, 'main.js');
}

/**
 * One Azurite service as its own process (so a test can stop the queue and keep blobs), in memory,
 * on the given port (0 = a free one, read back from Azurite's start-up line). With `location` it keeps
 * its data in that folder instead, so stopping and starting it again (same port) is a restart that loses nothing.
 * With `debugLog` it writes Azurite's debug log (a line per step of every request) to that file.
 */
export function startAzuriteService(service: AzuriteService, port = 0, opts: { location?: string; debugLog?: string } = {}): Promise<AzuriteProcess> {
  const args = [
    azuriteBin(service),
    `--${service}Host`,
    '127.0.0.1',
    `--${service}Port`,
    String(port),
    ...(opts.location ? ['--location', opts.location] : ['--inMemoryPersistence']),
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--silent',
    '--loose',
    ...(opts.debugLog ? ['--debug', opts.debugLog] : []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /successfully listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (m) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        const actual = Number(m[1]);
        resolve({ service, port: actual, url: `http://127.0.0.1:${actual}/${DEV_ACCOUNT}`, stop: () => stopChild(child) });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => reject(new Error(`azurite-${service} exited (${code}) before listening:\n${output.slice(-2000)}`)));
    child.once('error', reject);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Blob and queue services, each its own process; with `debugLogs`, each writes its debug log to `{debugLogs}/{service}.log`. */
export async function startAzurite(ports: { blob?: number; queue?: number } = {}, opts: { debugLogs?: string } = {}): Promise<Azurite> {
  const log = (service: AzuriteService) => (opts.debugLogs ? { debugLog: join(opts.debugLogs, `${service}.log`) } : {});
  const [blob, queue] = await Promise.all([startAzuriteService('blob', ports.blob, log('blob')), startAzuriteService('queue', ports.queue, log('queue'))]);
  return {
    blobPort: blob.port,
    queuePort: queue.port,
    connectionString: connectionString(blob.port, queue.port),
    services: { blob, queue },
    stop: async () => {
      await Promise.all([blob.stop(), queue.stop()]);
    },
  };
}
