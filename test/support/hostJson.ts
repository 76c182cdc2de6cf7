import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A host.json for tests: the same queue rules as production, with failed messages visible again at once,
 * a short polling interval and `maxDequeueCount` tries, so a poison test takes a second rather than the
 * real host.json's 5 × 30 s. Returns its path.
 */
export async function fastHostJson(maxDequeueCount: number, queues: Record<string, unknown> = {}): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'host-json-')), 'host.json');
  await writeFile(
    path,
    JSON.stringify({
      version: '2.0',
      extensions: {
        queues: { maxPollingInterval: '00:00:00.200', visibilityTimeout: '00:00:00', maxDequeueCount, messageEncoding: 'base64', ...queues },
      },
    }),
  );
  return path;
}
