/**
 * How to spawn a command-line tool on Windows, Linux and macOS without a shell string. On Windows `npm`,
 * `npx`, `func` (Core Tools from npm) and `az` are `.cmd` batch files: since Node's fix for CVE-2024-27980
 * (nodejs/node#52681) spawning one without a shell fails with EINVAL, and through a shell every argument
 * would be re-parsed by cmd.exe. So a batch file is resolved to what it runs (node and the tool's JS entry
 * point; az's bundled python), and only a batch file we cannot see through is run by cmd.exe, with
 * arguments limited to characters cmd.exe never interprets.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join, win32 } from 'node:path';

export interface Platform {
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
  /** node itself (process.execPath). */
  execPath: string;
  exists: (path: string) => boolean;
}

export interface Spawnable {
  command: string;
  args: string[];
  /** Only for a batch file we cannot resolve further: run by cmd.exe, arguments checked by safeForCmd. */
  shell: boolean;
}

export const currentPlatform = (): Platform => ({
  platform: process.platform,
  env: process.env,
  execPath: process.execPath,
  exists: (path) => {
    try {
      accessSync(path, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
});

/** `name` as found on PATH (on Windows: name.exe, then name.cmd), or undefined. */
export function onPath(name: string, p: Platform): string | undefined {
  const path = p.platform === 'win32' ? win32 : { join, delimiter };
  const names = p.platform === 'win32' ? [`${name}.exe`, `${name}.cmd`] : [name];
  // Windows spells the variable Path; the environment object of a spawned child keeps the spelling.
  const value = p.env.PATH ?? Object.entries(p.env).find(([k]) => k.toUpperCase() === 'PATH')?.[1] ?? '';
  for (const dir of value.split(path.delimiter).filter(Boolean)) {
    for (const file of names) if (p.exists(path.join(dir, file))) return path.join(dir, file);
  }
  return undefined;
}

/** What a batch file installed by npm or the az installer runs, when it is where those installers put it. */
function throughBatchFile(name: string, cmd: string, args: string[], p: Platform): Spawnable | undefined {
  const dir = win32.dirname(cmd);
  const candidates: Record<string, [string, string[]][]> = {
    // Node's Windows installer: npm.cmd beside node.exe, npm itself in node_modules/npm.
    npm: [[p.env.npm_execpath ?? '', []], [win32.join(dir, 'node_modules', 'npm', 'bin', 'npm-cli.js'), []]],
    npx: [[win32.join(dir, 'node_modules', 'npm', 'bin', 'npx-cli.js'), []]],
    // `npm i -g azure-functions-core-tools`: func.cmd runs the package's bin, lib/main.js.
    func: [[win32.join(dir, 'node_modules', 'azure-functions-core-tools', 'lib', 'main.js'), []]],
    // The az MSI: wbin\az.cmd runs `..\python.exe -IBm azure.cli %*`.
    az: [[win32.join(dir, '..', 'python.exe'), ['-IBm', 'azure.cli']]],
  };
  for (const [entry, pre] of candidates[name] ?? []) {
    if (!entry || !p.exists(entry) || (name === 'npm' && !/npm-cli\.js$/.test(entry))) continue;
    return entry.endsWith('.js') ? { command: p.execPath, args: [entry, ...args], shell: false } : { command: entry, args: [...pre, ...args], shell: false };
  }
  return undefined;
}

/** cmd.exe re-parses its command line: only arguments without any of its special characters (or spaces) pass. */
export function safeForCmd(arg: string): boolean {
  return /^[A-Za-z0-9_.,:/\\=+@-]+$/.test(arg);
}

/** How to spawn `name args` on `p` with shell false (or, for an unresolvable batch file, with checked arguments). */
export function resolveCommand(name: string, args: string[], p: Platform = currentPlatform()): Spawnable {
  if (p.platform !== 'win32') return { command: onPath(name, p) ?? name, args, shell: false };
  const found = onPath(name, p);
  if (!found) throw new Error(`${name} is not installed (not found on PATH)`);
  if (found.toLowerCase().endsWith('.exe')) return { command: found, args, shell: false };
  const resolved = throughBatchFile(name, found, args, p);
  if (resolved) return resolved;
  const unsafe = args.filter((a) => !safeForCmd(a));
  if (unsafe.length > 0) throw new Error(`${found} runs through cmd.exe, which would re-read these arguments: ${unsafe.map((a) => JSON.stringify(a)).join(', ')}`);
  return { command: `"${found}"`, args, shell: true };
}
