import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The compiled bin, exactly as `npx altinn-receiver` runs it (built by `npm test`'s pretest). */
const CLI_BIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** An empty working directory: a developer's own local.settings.json in the repository must not change what a test sees. */
const EMPTY_DIR = mkdtempSync(join(tmpdir(), 'cli-cwd-'));

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * Run the CLI as a child process with exactly `env` (plus PATH). stdin is not a terminal, unless `tty`:
 * then it runs inside a pseudo-terminal (util-linux `script`), `input` typed into it, and stdout and
 * stderr arrive together on `stdout`. Resolves when it exits, with what it printed.
 */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; tty?: boolean; input?: string } = {},
): Promise<CliRun> {
  const [cmd, argv] = opts.tty
    ? ['script', ['-qec', [process.execPath, CLI_BIN, ...args].map(quote).join(' '), '/dev/null']]
    : [process.execPath, [CLI_BIN, ...args]];
  const child = spawn(cmd, argv, {
    env: { PATH: process.env.PATH, ...opts.env },
    cwd: opts.cwd ?? EMPTY_DIR,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** stdout of a `--json` run, parsed. */
export function jsonOf<T = Record<string, unknown>>(run: CliRun): T {
  return JSON.parse(run.stdout) as T;
}
