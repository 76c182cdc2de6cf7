import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT, startNode, stopAll } from './support/processes.js';
import { azuriteConnectionString } from './support/storage.js';

afterAll(() => stopAll());

it('npm start without Core Tools: creates the settings file, says so in one line, runs the local host on the configured storage', async () => {
  const settings = join(await mkdtemp(join(tmpdir(), 'start-test-')), 'local.settings.json');
  const start = startNode('start', 'dist/dev/start.js', ['--settings', settings, '--port', '0'], {
    // Only node's own folder on PATH: no `func`. Storage is the run's Azurite, so none is started.
    env: { PATH: dirname(process.execPath), AzureWebJobsStorage: azuriteConnectionString() },
  });
  const started = await start.waitForJson((r) => r.msg === 'host started');

  expect(await readFile(settings, 'utf8')).toBe(await readFile(join(ROOT, 'local.settings.example.json'), 'utf8'));
  expect(start.lines.filter((l) => /Core Tools/.test(l))).toEqual([
    'Azure Functions Core Tools (func) not found on PATH: starting the local host (dev/host.ts) instead',
  ]);
  expect(start.lines.some((l) => l.startsWith('Azurite'))).toBe(false);
  expect(started.functions).toContainEqual({ name: 'health', trigger: 'http', route: '/api/health', methods: ['GET'], authLevel: 'anonymous' });

  // The example's Maskinporten placeholders are empty: health names them (never values), storage is not the problem.
  const health = await fetch(`http://127.0.0.1:${started.port as number}/api/health`);
  expect(health.status).toBe(503);
  const report = (await health.json()) as { checks: { settings: string } };
  expect(report.checks.settings).toContain('MASKINPORTEN_CLIENT_ID');

  expect(await start.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  expect(start.records((r) => r.msg === 'host stopped')).toHaveLength(1);
});
