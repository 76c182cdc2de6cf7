import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Env } from '../lib/config.js';
import { userError } from './errors.js';

/** The `Values` of a Functions `local.settings.json` (strings; numbers and booleans as the host would read them). */
const localSettingsSchema = z.object({
  Values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
});

/**
 * The settings the functions would see: `local.settings.json` Values from `cwd` when the file exists,
 * overridden by any variable set in the environment.
 */
export async function loadEnv(cwd: string, env: Env): Promise<Env> {
  const path = join(cwd, 'local.settings.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return env;
    throw userError(`cannot read ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    throw userError(`${path} is not valid JSON`);
  }
  const parsed = localSettingsSchema.safeParse(json);
  if (!parsed.success) throw userError(`${path}: "Values" must be an object of strings`);
  const fromEnv = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  return { ...parsed.data.Values, ...fromEnv };
}
