import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Our Altinn-shaped documents (see test/fixtures/altinn/README.md): always in the repository. */
export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'altinn');

export const fixtureText = (...parts: string[]): string => readFileSync(join(FIXTURES, ...parts), 'utf8');
export const fixture = (...parts: string[]): unknown => JSON.parse(fixtureText(...parts));

/**
 * Altinn's own documents (OpenAPI specs, app-lib test data), beside the repository on our machines and
 * CI only, never in a user's clone: the contract tests that need them run when they are there.
 */
export const ALTINN_DOCS = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'altinn');
export const altinnDocsPresent = existsSync(ALTINN_DOCS);

/** A test name that says why it is skipped in a clone without Altinn's documents. */
export const needsAltinnDocs = (name: string): string =>
  altinnDocsPresent ? name : `${name} [skipped: needs Altinn's OpenAPI specs in ../shared/fixtures/altinn, present on CI only]`;
