import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { Env } from './settings.js';

export const USAGE = `usage: node dist/dev/host.js [options]
  --functions <glob>[,...]  function files to load (default: package.json "main"; env HOST_FUNCTIONS)
  --host-json <path>        host.json to honour (default: the project's host.json)
  --settings <path>         local.settings.json to read (default: the project's, when present)
  --no-settings             read no settings file: the environment only
  --port <n>                HTTP port (default: env PORT, else 7071; 0 = any free port)
  --shutdown-timeout <s>    on SIGINT/SIGTERM, wait this long for invocations in flight (default 30)`;

const optionsSchema = z.object({
  functions: z.string().min(1).optional(),
  'host-json': z.string().min(1).optional(),
  settings: z.string().min(1).optional(),
  'no-settings': z.boolean().default(false),
  port: z.coerce.number().int().min(0).max(65535).default(7071),
  'shutdown-timeout': z.coerce.number().min(0).max(3600).default(30),
  help: z.boolean().default(false),
});

export interface HostOptions {
  /** Glob of function files; relative to `cwd` when given, to the project root for package.json "main". */
  functions: { pattern: string; cwd: string };
  hostJson: string;
  settings: string | undefined;
  port: number;
  shutdownTimeoutMs: number;
  help: boolean;
}

/** The project root: the nearest folder above `from` with a package.json (works from dev/ and dist/dev/). */
export function projectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export function parseHostOptions(argv: string[], env: Env, root: string, cwd: string, main: string | undefined): HostOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      functions: { type: 'string' },
      'host-json': { type: 'string' },
      settings: { type: 'string' },
      'no-settings': { type: 'boolean' },
      port: { type: 'string' },
      'shutdown-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const parsed = optionsSchema.safeParse({
    ...values,
    functions: values.functions ?? (env.HOST_FUNCTIONS?.trim() || undefined),
    port: values.port ?? (env.PORT?.trim() || undefined),
  });
  if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
  const o = parsed.data;
  if (o['no-settings'] && o.settings) throw new Error('--settings and --no-settings exclude each other');
  if (!o.functions && !main) throw new Error('package.json has no "main" glob; pass --functions <glob>');
  const defaultSettings = join(root, 'local.settings.json');
  return {
    functions: o.functions ? { pattern: o.functions, cwd } : { pattern: main!, cwd: root },
    hostJson: o['host-json'] ? resolve(cwd, o['host-json']) : join(root, 'host.json'),
    settings: o['no-settings'] ? undefined : o.settings ? resolve(cwd, o.settings) : defaultSettings,
    port: o.port,
    shutdownTimeoutMs: o['shutdown-timeout'] * 1000,
    help: o.help,
  };
}
