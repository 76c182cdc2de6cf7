import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simulatorPort, usesEmbeddedSimulator } from '../dev/start/mode.js';
import { ROOT } from './support/processes.js';

const example = (JSON.parse(readFileSync(join(ROOT, 'local.settings.example.json'), 'utf8')) as { Values: Record<string, string> }).Values;

describe('npm start: simulator or not', () => {
  it('runs the simulator for the example settings, on the port of their MASKINPORTEN_URL', () => {
    expect(usesEmbeddedSimulator(example)).toBe(true);
    expect(simulatorPort(example)).toBe(5100);
    expect(usesEmbeddedSimulator({ ...example, MASKINPORTEN_URL: 'http://localhost:6000' })).toBe(true);
    expect(simulatorPort({ ...example, MASKINPORTEN_URL: 'http://localhost:6000' })).toBe(6000);
  });

  it.each([
    ['tt02', { ALTINN_ENV: 'tt02' }],
    ['production', { ALTINN_ENV: 'production' }],
    ['custom pointing elsewhere', { ALTINN_PLATFORM_URL: 'https://platform.example.com' }],
    ['a Maskinporten client of its own', { MASKINPORTEN_CLIENT_ID: 'my-client' }],
    ['an Altinn URL missing', { ALTINN_APPS_URL: '' }],
  ])('runs only the host for %s', (_name, over) => {
    expect(usesEmbeddedSimulator({ ...example, ...over })).toBe(false);
  });
});
