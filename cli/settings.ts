import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SETTING_NAMES, type Env } from '../lib/config.js';
import { readLocalSettings } from '../lib/localSettings.js';
import { userError } from './errors.js';

const STORAGE = /^AzureWebJobsStorage(__|$)/;
const NAMES = new Set<string>(SETTING_NAMES);
const isSetting = (name: string) => NAMES.has(name) || STORAGE.test(name);

/** The settings the CLI runs with, and where they came from (names only). */
export interface LoadedSettings {
  env: Env;
  source: string;
  /** A settings file was read or ignored: then the source is worth a line on stderr. */
  fileInvolved: boolean;
}

/**
 * One source, never a mix: a file's Altinn or Maskinporten URLs must not meet credentials from the
 * environment (a stray local.settings.json would otherwise send the real token to its URLs).
 * - `--settings <file>`: that file's Values only;
 * - else `ALTINN_ENV` set in the environment: the environment only (a local.settings.json here is ignored);
 * - else `./local.settings.json` when it exists: its Values only;
 * - else the environment.
 * With a file, the environment's receiver settings (and storage settings) are dropped; other variables stay.
 */
export async function loadSettings(cwd: string, env: Env, settingsFile?: string): Promise<LoadedSettings> {
  if (settingsFile !== undefined) {
    const path = resolve(cwd, settingsFile);
    const values = await read(path);
    if (!values) throw userError(`--settings ${path}: no such file`);
    return fromFile(path, values, env, 'from --settings');
  }
  const local = join(cwd, 'local.settings.json');
  if (env.ALTINN_ENV) {
    const ignored = (await exists(local)) ? `; ${local} ignored (use --settings to read it)` : '';
    return { env, source: `the environment (ALTINN_ENV=${env.ALTINN_ENV})${ignored}`, fileInvolved: ignored !== '' };
  }
  const values = await read(local);
  if (!values) return { env, source: 'the environment', fileInvolved: false };
  return fromFile(local, values, env, 'ALTINN_ENV is not set in the environment');
}

function fromFile(path: string, values: Record<string, string>, env: Env, why: string): LoadedSettings {
  const kept = Object.entries(env).filter(([k]) => !isSetting(k));
  const dropped = Object.entries(env).filter(([k, v]) => isSetting(k) && v !== undefined && v !== '').length;
  const note = dropped > 0 ? `; ${dropped} setting(s) from the environment ignored` : '';
  return { env: { ...Object.fromEntries(kept), ...values }, source: `${path} (${why}${note})`, fileInvolved: true };
}

async function read(path: string): Promise<Record<string, string> | undefined> {
  try {
    return await readLocalSettings(path);
  } catch (e) {
    throw userError((e as Error).message);
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
