import type { Clock } from '../lib/clock.js';
import type { Env } from '../lib/config.js';
import type { Logger } from '../lib/log.js';
import { BIN, help, parseCommand, usageLine, type Command } from './command.js';
import { heldList, heldRelease } from './commands/held.js';
import { poisonList, poisonPurge, poisonReplay } from './commands/poison.js';
import { reconcileNow } from './commands/reconcile.js';
import { status } from './commands/status.js';
import { subscriptionsCreate, subscriptionsDelete, subscriptionsList } from './commands/subscriptions.js';
import { subscriptionsCheck } from './commands/subscriptionsCheck.js';
import { createContext, type Io } from './context.js';
import { EXIT, toCliError, UsageError, type ExitCode } from './errors.js';

export const COMMANDS: readonly Command[] = [
  subscriptionsCreate,
  subscriptionsList,
  subscriptionsDelete,
  subscriptionsCheck,
  poisonList,
  poisonReplay,
  poisonPurge,
  reconcileNow,
  status,
  heldList,
  heldRelease,
];

const TOP_USAGE = `usage: ${BIN} <command> [options]   (${BIN} <command> --help for details and examples)`;

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.path.join(' ').length));
  return [
    `${BIN}: operator commands for the Altinn receiver (settings: the environment; ./local.settings.json only when ALTINN_ENV is not set, or --settings <file>; never both)`,
    '',
    TOP_USAGE,
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    'exit codes: 0 ok, 1 user error (settings, refused input), 2 usage, 3 remote failure (Altinn, Maskinporten, storage), 4 status --check found a problem, or subscriptions check found drift',
  ].join('\n');
}

/** The command named by the leading words of argv, and the rest; or the usage to print when none matches. */
function findCommand(argv: string[]): { command: Command; rest: string[] } | { usage: string; message: string } {
  const command = COMMANDS.find((c) => c.path.every((word, i) => argv[i] === word));
  if (command) return { command, rest: argv.slice(command.path.length) };
  const group = COMMANDS.filter((c) => c.path.length > 1 && c.path[0] === argv[0]);
  if (group.length > 0) {
    const subs = group.map((c) => c.path[1]).join('|');
    return {
      usage: `usage: ${BIN} ${argv[0]} <${subs}> [options]`,
      message: argv[1] === undefined ? `${argv[0]}: missing command` : `${argv[0]}: unknown command ${JSON.stringify(argv[1])}`,
    };
  }
  return { usage: TOP_USAGE, message: argv[0] === undefined ? 'missing command' : `unknown command ${JSON.stringify(argv[0])}` };
}

export interface RunDeps {
  io: Io;
  env: Env;
  cwd: string;
  clock: Clock;
  log: Logger;
}

/** Run one CLI invocation; returns the exit code. Every byte written goes through `io` (which redacts). */
export async function runCli(argv: string[], deps: RunDeps): Promise<ExitCode> {
  const { io } = deps;
  const wantsJson = argv.includes('--json');
  if (argv.length === 1 && ['--help', '-h', 'help'].includes(argv[0] ?? '')) {
    io.out(`${topHelp()}\n`);
    return EXIT.ok;
  }
  const found = findCommand(argv);
  if (!('command' in found)) {
    io.err(`error: ${found.message}\n${found.usage}\n`);
    return EXIT.usage;
  }
  const { command, rest } = found;
  try {
    const parsed = parseCommand(command, rest);
    if (parsed.help) {
      io.out(`${help(command)}\n`);
      return EXIT.ok;
    }
    const ctx = createContext({ ...deps, json: parsed.json, settingsFile: parsed.settings });
    const output = await command.run(parsed.args, ctx);
    io.out(parsed.json ? `${JSON.stringify(output.data, null, 2)}\n` : `${output.text}\n`);
    return EXIT.ok;
  } catch (e) {
    const err = toCliError(e);
    if (wantsJson) {
      const error = { exitCode: err.exitCode, message: err.message, status: err.details.status, problem: err.details.problem };
      io.err(`${JSON.stringify({ error })}\n`);
    } else {
      io.err(`error: ${err.message}\n`);
    }
    if (err instanceof UsageError) io.err(`${usageLine(command)}\n`);
    return err.exitCode;
  }
}
