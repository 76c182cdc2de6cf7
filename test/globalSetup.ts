import type { TestProject } from 'vitest/node';
import { startAzurite } from '../dev/azurite.js';

declare module 'vitest' {
  export interface ProvidedContext {
    azurite: { connectionString: string; blobPort: number; queuePort: number };
  }
}

/** One real Azurite (blob + queue, in memory, free ports) for the whole run. */
export default async function setup(project: TestProject) {
  const azurite = await startAzurite();
  project.provide('azurite', {
    connectionString: azurite.connectionString,
    blobPort: azurite.blobPort,
    queuePort: azurite.queuePort,
  });
  return async () => {
    await azurite.stop();
  };
}
