import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseJsonLine, ROOT } from '../host/childProcess.js';

/**
 * The local host with its log lines going to a file, not to a pipe the bench reads: stdout to a pipe is
 * synchronous on Linux, so on a busy machine the host would block on a full pipe whenever the reader is
 * not scheduled, and intake would measure the bench's own reading rather than the host. (In Azure the
 * worker ships log lines to the host asynchronously.)
 */
export async function startHostLoggingToFile(opts: { env: Record<string, string>; functions: string; logFile: string; hostJson?: string }) {
  const fd = openSync(opts.logFile, 'w');
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'dev', 'host.js'), '--no-settings', '--port', '0', '--functions', opts.functions, ...(opts.hostJson ? ['--host-json', opts.hostJson] : [])], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...opts.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let port: number | undefined;
  // The file has no 'line written' event to await: poll it (start-up only, a few hundred ms).
  for (let waited = 0; port === undefined; waited += 50) {
    if (child.exitCode !== null || waited > 30_000) {
      child.kill('SIGKILL');
      throw new Error(`host did not start:\n${readFileSync(opts.logFile, 'utf8').slice(-2000)}`);
    }
    await delay(50);
    const started = readFileSync(opts.logFile, 'utf8')
      .split('\n')
      .map(parseJsonLine)
      .find((r) => r?.msg === 'host started');
    port = started?.port as number | undefined;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
