import { constants } from 'node:fs';
import { copyFile, readFile } from 'node:fs/promises';
import { z } from 'zod';

export type Env = Record<string, string | undefined>;

const localSettingsSchema = z.object({
  IsEncrypted: z.literal(false, { message: 'encrypted settings are not supported locally; set IsEncrypted to false' }),
  Values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
});

/**
 * The `Values` of a local.settings.json, as Core Tools reads them. Missing file → undefined.
 * Errors name the file and the problem, never a value.
 */
export async function readLocalSettings(path: string): Promise<Record<string, string> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not valid JSON`);
  }
  const parsed = localSettingsSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data.Values;
}

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
