import { join } from 'node:path';
import type { Env } from '../lib/config.js';
import { readLocalSettings } from '../lib/localSettings.js';
import { userError } from './errors.js';

const STORAGE = /^AzureWebJobsStorage(__|$)/;

/**
 * The settings the functions would see: `local.settings.json` Values from `cwd` when the file exists,
 * overridden by any variable set in the environment. The storage setting is overridden as a whole: any
 * `AzureWebJobsStorage` or `AzureWebJobsStorage__*` variable (e.g. `AzureWebJobsStorage__accountName` for
 * the deployed account) replaces all of the file's, so a local Azurite connection string cannot win over it.
 */
export async function loadEnv(cwd: string, env: Env): Promise<Env> {
  let values: Record<string, string> | undefined;
  try {
    values = await readLocalSettings(join(cwd, 'local.settings.json'));
  } catch (e) {
    throw userError((e as Error).message);
  }
  if (!values) return env;
  const fromEnv = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const envStorage = Object.keys(fromEnv).some((k) => STORAGE.test(k));
  const fromFile = Object.fromEntries(Object.entries(values).filter(([k]) => !(envStorage && STORAGE.test(k))));
  return { ...fromFile, ...fromEnv };
}
