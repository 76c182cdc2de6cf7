import { describe, expect, it } from 'vitest';
import { onPath, resolveCommand, safeForCmd, type Platform } from '../dev/command.js';

/**
 * Spawning npm, npx, func and az without a shell string on every platform (dev/command.ts). Windows is
 * simulated: a PATH and the files that exist on it, as Node's and the tools' installers lay them out.
 */

const NODE_DIR = 'C:\\Program Files\\nodejs';
const NPM_GLOBAL = 'C:\\Users\\dev\\AppData\\Roaming\\npm';
const AZ_WBIN = 'C:\\Program Files\\Microsoft SDKs\\Azure\\CLI2\\wbin';

function windows(files: string[], env: Record<string, string> = {}): Platform {
  const set = new Set(files.map((f) => f.toLowerCase()));
  return { platform: 'win32', env: { Path: [NODE_DIR, NPM_GLOBAL, AZ_WBIN].join(';'), ...env }, execPath: `${NODE_DIR}\\node.exe`, exists: (p) => set.has(p.toLowerCase()) };
}

describe('resolveCommand on win32', () => {
  it('runs npm and npx as node plus their JS entry point, never npm.cmd', () => {
    const p = windows([`${NODE_DIR}\\npm.cmd`, `${NODE_DIR}\\npx.cmd`, `${NODE_DIR}\\node_modules\\npm\\bin\\npm-cli.js`, `${NODE_DIR}\\node_modules\\npm\\bin\\npx-cli.js`]);
    expect(resolveCommand('npm', ['ci', '--omit=dev'], p)).toEqual({ command: `${NODE_DIR}\\node.exe`, args: [`${NODE_DIR}\\node_modules\\npm\\bin\\npm-cli.js`, 'ci', '--omit=dev'], shell: false });
    expect(resolveCommand('npx', ['-y', 'x'], p)).toEqual({ command: `${NODE_DIR}\\node.exe`, args: [`${NODE_DIR}\\node_modules\\npm\\bin\\npx-cli.js`, '-y', 'x'], shell: false });
  });

  it('prefers the npm that runs this script (npm_execpath) when there is one', () => {
    const own = 'D:\\tools\\npm\\bin\\npm-cli.js';
    const p = windows([`${NODE_DIR}\\npm.cmd`, own], { npm_execpath: own });
    expect(resolveCommand('npm', ['ci'], p).args).toEqual([own, 'ci']);
  });

  it('runs func from npm (func.cmd) as node lib/main.js of azure-functions-core-tools, and func.exe (MSI, winget) directly', () => {
    const entry = `${NPM_GLOBAL}\\node_modules\\azure-functions-core-tools\\lib\\main.js`;
    expect(resolveCommand('func', ['start', '--port', '7072'], windows([`${NPM_GLOBAL}\\func.cmd`, entry]))).toEqual({ command: `${NODE_DIR}\\node.exe`, args: [entry, 'start', '--port', '7072'], shell: false });
    const exe = 'C:\\Program Files\\Microsoft\\Azure Functions Core Tools\\func.exe';
    const p: Platform = { ...windows([exe]), env: { PATH: `C:\\Program Files\\Microsoft\\Azure Functions Core Tools;${NODE_DIR}` } };
    expect(resolveCommand('func', ['start'], p)).toEqual({ command: exe, args: ['start'], shell: false });
  });

  it("runs az (the MSI's wbin\\az.cmd) as its bundled python -IBm azure.cli", () => {
    const python = 'C:\\Program Files\\Microsoft SDKs\\Azure\\CLI2\\python.exe'; // wbin\\..\\python.exe
    expect(resolveCommand('az', ['keyvault', 'secret', 'list'], windows([`${AZ_WBIN}\\az.cmd`, python]))).toEqual({
      command: python,
      args: ['-IBm', 'azure.cli', 'keyvault', 'secret', 'list'],
      shell: false,
    });
  });

  it('runs a batch file it cannot see through by cmd.exe only with arguments cmd.exe does not interpret', () => {
    const p = windows([`${NPM_GLOBAL}\\func.cmd`]);
    expect(resolveCommand('func', ['start', '--port', '7072'], p)).toEqual({ command: `"${NPM_GLOBAL}\\func.cmd"`, args: ['start', '--port', '7072'], shell: true });
    for (const bad of ['a&calc', 'x|y', '"quoted"', '%PATH%', 'a b', '^', '<in', '!x!']) {
      expect(safeForCmd(bad), bad).toBe(false);
      expect(() => resolveCommand('func', ['start', bad], p)).toThrow(/cmd\.exe, which would re-read/);
    }
  });

  it('says a tool is not installed instead of spawning something else', () => {
    expect(() => resolveCommand('az', ['login'], windows([]))).toThrow(/az is not installed/);
    expect(onPath('func', windows([]))).toBeUndefined();
  });
});

describe('resolveCommand on Linux and macOS', () => {
  it('spawns the command found on PATH as it is, without a shell', () => {
    for (const platform of ['linux', 'darwin'] as const) {
      const p: Platform = { platform, env: { PATH: '/usr/bin:/opt/func/bin' }, execPath: '/usr/bin/node', exists: (f) => f === '/opt/func/bin/func' };
      expect(resolveCommand('func', ['start'], p)).toEqual({ command: '/opt/func/bin/func', args: ['start'], shell: false });
      expect(resolveCommand('npm', ['ci'], p)).toEqual({ command: 'npm', args: ['ci'], shell: false });
    }
  });
});
