import type { TestProject } from 'vitest/node';
import { startAzurite } from '../dev/azurite.js';
import { ALTINN_DOCS, altinnDocsPresent } from './support/fixtures.js';

declare module 'vitest' {
  export interface ProvidedContext {
    azurite: { connectionString: string; blobPort: number; queuePort: number };
  }
}

/** One real Azurite (blob + queue, in memory, free ports) for the whole run. */
export default async function setup(project: TestProject) {
  // The one reason some tests skip: said once per run, not once per file.
  if (!altinnDocsPresent) console.log(`Altinn's own documents are not at ${ALTINN_DOCS} (only CI has them): the contract tests against Altinn's OpenAPI specs are skipped.`);
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
