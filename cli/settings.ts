import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Env } from '../lib/config.js';
import { userError } from './errors.js';

/** The `Values` of a Functions `local.settings.json` (strings; numbers and booleans as the host would read them). */
const localSettingsSchema = z.object({
  Values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
});

const STORAGE = /^AzureWebJobsStorage(__|$)/;

/**
 * The settings the functions would see: `local.settings.json` Values from `cwd` when the file exists,
 * overridden by any variable set in the environment. The storage setting is overridden as a whole: any
 * `AzureWebJobsStorage` or `AzureWebJobsStorage__*` variable (e.g. `AzureWebJobsStorage__accountName` for
 * the deployed account) replaces all of the file's, so a local Azurite connection string cannot win over it.
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
  const envStorage = Object.keys(fromEnv).some((k) => STORAGE.test(k));
  const fromFile = Object.fromEntries(Object.entries(parsed.data.Values).filter(([k]) => !(envStorage && STORAGE.test(k))));
  return { ...fromFile, ...fromEnv };
}
