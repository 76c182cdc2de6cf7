import { constants } from 'node:fs';
import { copyFile } from 'node:fs/promises';

import type { Env } from '../../lib/config.js';

export type { Env };

/** Creates the settings file from the example on first run; true when it did. */
export async function ensureLocalSettings(path: string, examplePath: string): Promise<boolean> {
  try {
    // Exclusive: never overwrite a developer's own file.
    await copyFile(examplePath, path, constants.COPYFILE_EXCL);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** Settings file values under the environment: an environment variable always wins, as with Core Tools. */
export function mergeSettings(values: Record<string, string> | undefined, env: Env): Env {
  return { ...values, ...env };
}

/**
 * Resolves `%NAME%` app-setting references in trigger options (queue names, schedules),
 * as the Functions host does; an unset setting is an error naming it.
 */
export function resolveAppSettings(value: string, env: Env, what: string): string {
  return value.replace(/%([^%]+)%/g, (_m, name: string) => {
    const v = env[name]?.trim();
    if (!v) throw new Error(`${what} refers to app setting %${name}%, which is not set`);
    return v;
  });
}
