import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { projectRoot } from './options.js';

/**
 * Child processes driven from outside, for tests (via test/support/processes.ts) and dev scripts
 * (the demo): spawn, collect output line by line, wait for a line, stop.
 */

/** The repository root, from dev/host/ and from dist/dev/host/ alike. */
export const ROOT = projectRoot(import.meta.dirname);

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** Every line written so far (stdout and stderr, in arrival order). */
  readonly lines: string[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** The first line from index `since` on that matches (already written or still to come). Rejects if the process exits first. */
  waitFor(match: RegExp | ((line: string) => boolean), opts?: { since?: number; timeoutMs?: number }): Promise<string>;
  /** The first JSON line (a structured log record) from `since` on for which `match` holds. */
  waitForJson(match: (record: Record<string, unknown>) => boolean, opts?: { since?: number; timeoutMs?: number }): Promise<Record<string, unknown>>;
  /** Every JSON line so far for which `match` holds. */
  records(match?: (record: Record<string, unknown>) => boolean): Record<string, unknown>[];
  /** Sends a signal; resolves on exit. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
  /** The last lines, for failure messages. */
  tail(n?: number): string;
}

const running = new Set<Proc>();

export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A process's output so far, the waiters to tell about each new line, and its exit once known. */
interface Output {
  name: string;
  lines: string[];
  waiters: Set<() => void>;
  exit?: Exit;
}

/**
 * Spawns a process and collects its output line by line. Tracked until it exits, so `stopAll()`
 * (in a test's afterAll, a script's exit path) never leaves one behind. `timeoutMs` is only a guard that turns a
 * hang into a failure showing the output; it is never what a test asserts.
 */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Proc {
  const child = spawn(command, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: Output = { name, lines: [], waiters: new Set() };
  const notify = () => output.waiters.forEach((w) => w());
  for (const stream of [child.stdout, child.stderr]) collectLines(stream, output.lines, notify);
  const exited = watchExit(child, output).finally(() => {
    running.delete(proc);
    notify();
  });
  const waitFor: Proc['waitFor'] = (match, waitOpts) => waitForLine(output, match, waitOpts);

  const proc: Proc = {
    name,
    child,
    lines: output.lines,
    exited,
    waitFor,
    async waitForJson(match, opts) {
      const line = await waitFor((l) => {
        const r = parseJsonLine(l);
        return r !== undefined && match(r);
      }, opts);
      return parseJsonLine(line)!;
    },
    records: (match = () => true) => output.lines.map(parseJsonLine).filter((r): r is Record<string, unknown> => r !== undefined && match(r)),
    kill(signal = 'SIGTERM') {
      if (!output.exit) child.kill(signal);
      return exited;
    },
    tail: (n) => tail(output, n),
  };
  running.add(proc);
  return proc;
}

/** Appends a stream's text to `lines` line by line (a last unterminated line at its end), notifying on each chunk. */
function collectLines(stream: Readable, lines: string[], notify: () => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    notify();
  });
  stream.on('end', () => {
    if (partial) lines.push(partial);
    partial = '';
    notify();
  });
}

/** Resolves with the exit (a spawn error counts as one, recorded as a line); records it in `output` first. */
function watchExit(child: ChildProcess, output: Output): Promise<Exit> {
  return new Promise<Exit>((resolve) => {
    child.once('error', (e) => {
      output.lines.push(`spawn error: ${e.message}`);
      output.exit = { code: null, signal: null };
      resolve(output.exit);
    });
    child.once('close', (code, signal) => {
      output.exit = { code, signal };
      resolve(output.exit);
    });
  });
}

function tail({ lines }: Output, n = 40): string {
  return lines.slice(-n).join('\n');
}

/** `Proc.waitFor`: checks the lines from `since` on now and on every notification until one matches, the process exits or time runs out. */
function waitForLine(
  output: Output,
  match: RegExp | ((line: string) => boolean),
  { since = 0, timeoutMs = 30_000 }: { since?: number; timeoutMs?: number } = {},
): Promise<string> {
  const { name, lines, waiters } = output;
  const test = typeof match === 'function' ? match : (l: string) => match.test(l);
  return new Promise((resolve, reject) => {
    let next = since;
    const check = () => {
      for (; next < lines.length; next++) {
        if (test(lines[next]!)) return done(() => resolve(lines[next]!));
      }
      const exit = output.exit;
      if (exit) done(() => reject(new Error(`${name} exited (${exit.code ?? exit.signal}) before ${String(match)}:\n${tail(output)}`)));
    };
    const timer = setTimeout(
      () => done(() => reject(new Error(`${name}: no line ${String(match)} within ${timeoutMs} ms:\n${tail(output)}`))),
      timeoutMs,
    );
    const done = (settle: () => void) => {
      clearTimeout(timer);
      waiters.delete(check);
      settle();
    };
    waiters.add(check);
    check();
  });
}

/** Runs a built script of this repository (e.g. `dist/dev/host.js`) with the current Node. */
export function startNode(name: string, script: string, args: string[] = [], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}) {
  return startProcess(name, process.execPath, [join(ROOT, script), ...args], opts);
}

/** Kills every process still running (SIGKILL after a grace period), e.g. in afterAll. */
export async function stopAll(graceMs = 5_000): Promise<void> {
  await Promise.all(
    [...running].map(async (p) => {
      const force = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
      await p.kill('SIGTERM');
      clearTimeout(force);
    }),
  );
}

export interface LocalHost extends Proc {
  port: number;
  url: string;
  /** The `host started` record: the functions and their triggers. */
  started: Record<string, unknown>;
}

/**
 * Starts the local Functions host (dist/dev/host.js; build first) and waits until it has started.
 * `env` is the whole environment the host sees besides PATH (no settings file is read);
 * `port` defaults to a free one.
 */
export async function startLocalHost(opts: {
  env: Record<string, string | undefined>;
  port?: number;
  functions?: string;
  hostJson?: string;
  args?: string[];
  name?: string;
}): Promise<LocalHost> {
  const args = ['--no-settings', '--port', String(opts.port ?? 0)];
  if (opts.functions) args.push('--functions', opts.functions);
  if (opts.hostJson) args.push('--host-json', opts.hostJson);
  const proc = startNode(opts.name ?? 'host', 'dist/dev/host.js', [...args, ...(opts.args ?? [])], {
    env: { PATH: process.env.PATH, ...opts.env },
  });
  const started = await proc.waitForJson((r) => r.msg === 'host started');
  const port = started.port as number;
  return Object.assign(proc, { port, url: `http://127.0.0.1:${port}`, started });
}
