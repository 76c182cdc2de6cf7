import { readdir } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { FunctionDefinition } from '../../lib/functionDefinition.js';

/**
 * Files matching a `package.json` `main`-style glob. Only the form the v4 model uses is supported:
 * a plain directory and a file-name pattern with `*` (e.g. `dist/functions/*.js`).
 */
async function matchFiles(pattern: string, cwd: string): Promise<string[]> {
  const dir = resolve(cwd, dirname(pattern));
  const name = basename(pattern);
  if (dir.includes('*')) throw new Error(`function glob "${pattern}": only the file name may contain *`);
  const re = new RegExp(`^${name.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  const entries = await readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`function glob "${pattern}": cannot read ${dir} (${e.code}); did you run npm run build?`);
  });
  return entries
    .filter((e) => e.isFile() && re.test(e.name))
    .map((e) => resolve(dir, e.name))
    .sort();
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'handler must be a function');
const definitionSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('http'),
    name: z.string().min(1),
    options: z.looseObject({ handler: fn, route: z.string().optional(), methods: z.array(z.string()).optional() }),
  }),
  z.object({
    kind: z.literal('storageQueue'),
    name: z.string().min(1),
    options: z.looseObject({ handler: fn, queueName: z.string().min(1), connection: z.string() }),
  }),
  z.object({
    kind: z.literal('timer'),
    name: z.string().min(1),
    options: z.looseObject({ handler: fn, schedule: z.string().min(1), runOnStartup: z.boolean().optional() }),
  }),
]);

export interface LoadedFunctions {
  definitions: FunctionDefinition[];
  /** Matched files that export no `definition` (helpers, not functions). */
  skipped: string[];
}

/**
 * Imports every matched file and collects its exported `definition`: the very object the file
 * registers with `app.*`, so the local host runs what Azure runs. `pattern` may list several globs,
 * comma-separated (e.g. only some of the functions: the benches).
 */
export async function loadFunctions(pattern: string, cwd: string): Promise<LoadedFunctions> {
  const definitions: FunctionDefinition[] = [];
  const skipped: string[] = [];
  const files = (await Promise.all(pattern.split(',').map((p) => matchFiles(p.trim(), cwd)))).flat();
  for (const file of [...new Set(files)]) {
    const mod = await withoutTestModeWarnings(() => import(pathToFileURL(file).href) as Promise<{ definition?: unknown }>);
    if (mod.definition === undefined) {
      skipped.push(file);
      continue;
    }
    const parsed = definitionSchema.safeParse(mod.definition);
    if (!parsed.success) throw new Error(`${file}: invalid function definition: ${z.prettifyError(parsed.error)}`);
    definitions.push(mod.definition as FunctionDefinition);
  }
  const names = definitions.map((d) => d.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`two functions are named "${dup}"`);
  return { definitions, skipped };
}

/**
 * Outside the Functions runtime, @azure/functions warns once per `app.*` call that it skips
 * registration ("test mode"). Here that is the point, so those lines are dropped; others pass.
 */
async function withoutTestModeWarnings<T>(load: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('"@azure/functions" package')) return;
    warn(...args);
  };
  try {
    return await load();
  } finally {
    console.warn = warn;
  }
}
