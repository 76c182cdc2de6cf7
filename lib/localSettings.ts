import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/** A Functions `local.settings.json`: its `Values` as strings (numbers and booleans as the host would read them). */
const localSettingsSchema = z.object({
  IsEncrypted: z.literal(false, { message: 'encrypted settings are not supported locally; set IsEncrypted to false' }).optional(),
  Values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
});

/**
 * The `Values` of a local.settings.json, as Core Tools reads them; the one reader of the CLI and the local host.
 * Missing file → undefined. Errors name the file and the problem, never a value.
 */
export async function readLocalSettings(path: string): Promise<Record<string, string> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    throw new Error(`${path} is not valid JSON`);
  }
  const parsed = localSettingsSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data.Values;
}
