import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import { UsageError } from './errors.js';
import type { Context } from './context.js';

export const BIN = 'altinn-receiver';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What a command hands back: data for --json, text for people. */
export interface Output {
  data: unknown;
  text: string;
}

export interface Command<S extends z.ZodType = z.ZodType> {
  /** e.g. ['poison', 'replay'] */
  path: readonly string[];
  summary: string;
  /** Arguments after the command path, e.g. `--app <app> --endpoint <url> [--type <event type>]`. */
  synopsis: string;
  /** One line per option, aligned by `help()`. */
  optionHelp: readonly (readonly [string, string])[];
  options: Options;
  /** How many positional arguments the command takes at most. */
  positionals?: number;
  /** Validates `{ ...flags, args: positionals }`; its output is what `run` gets. */
  schema: S;
  examples: readonly string[];
  run(args: z.output<S>, ctx: Context): Promise<Output>;
}

/** Options every command takes. */
const COMMON: Options = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, settings: { type: 'string' } };

export const defineCommand = <S extends z.ZodType>(c: Command<S>): Command<S> => c;

export const usageLine = (c: Command) => `usage: ${BIN} ${c.path.join(' ')} ${c.synopsis} [--json]`.replace(/ +/g, ' ');

export function help(c: Command): string {
  const rows: (readonly [string, string])[] = [
    ...c.optionHelp,
    ['--settings <file>', 'settings from this local.settings.json only (default: the environment, or ./local.settings.json when ALTINN_ENV is not set)'],
    ['--json', 'machine-readable output on stdout'],
    ['-h, --help', 'this help'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    `${BIN} ${c.path.join(' ')}: ${c.summary}`,
    '',
    usageLine(c),
    '',
    'options:',
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    '',
    'examples:',
    ...c.examples.map((e) => `  ${e}`),
  ].join('\n');
}

export type Parsed<S extends z.ZodType> = { help: true } | { help: false; json: boolean; settings: string | undefined; args: z.output<S> };

/** Parse with node:util (unknown flags and missing values are usage errors), then validate with the command's zod schema. */
export function parseCommand<S extends z.ZodType>(c: Command<S>, argv: string[]): Parsed<S> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON, ...c.options }, allowPositionals: true, strict: true });
  } catch (e) {
    // node:util's messages go on to explain `--` escaping, which only confuses here.
    throw new UsageError((e as Error).message.split('. ')[0] ?? '');
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { help: true };
  const max = c.positionals ?? 0;
  if (positionals.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[max])}`);
  const { json, help: _help, settings, ...flags } = values;
  const result = c.schema.safeParse({ ...flags, args: positionals });
  if (!result.success) {
    throw new UsageError(
      result.error.issues.map((i) => `${i.path.length ? `${argName(i.path)}: ` : ''}${i.message}`).join('; '),
    );
  }
  return { help: false, json: json === true, settings: typeof settings === 'string' ? settings : undefined, args: result.data };
}

/** How an issue path reads to an operator: `--app`, or the positional's name. */
function argName(path: readonly PropertyKey[]): string {
  const [first] = path;
  return first === 'args' ? 'argument' : `--${String(first)}`;
}
