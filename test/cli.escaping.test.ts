import { describe, expect, it } from 'vitest';
import type { Simulator } from '../dev/simulator/index.js';
import { jsonOf, runCli } from './support/cli.js';
import { messageFor, processorFor, withSimulator } from './support/processor.js';
import { azuriteConnectionString } from './support/storage.js';

/**
 * #27.4 output is safe to print: a submitter's file name with escape sequences, CR/LF, a C1 CSI and a
 * bidi override reaches `held list` (an infected element is held with its name) and is printed escaped,
 * in text and in JSON, by the real bin.
 */
let sim: Simulator;
let env: Record<string, string>;
withSimulator((s, e) => {
  sim = s;
  env = e;
});

const HOSTILE = 'evil\u001b[2J\u001b[H\r\nFORGED 1/00000000-0000-0000-0000-000000000000  x\u009b31m\u202efdp.exe\u0007';
const RAW_CONTROL = /(?!\n)[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;

describe('CLI output escaping', () => {
  it('held list prints a hostile file name escaped: no raw control character, no forged line, JSON still exact', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({
      app: 'escape',
      completed: true,
      elements: [
        { dataType: 'model', contentType: 'application/xml', size: 100 },
        { dataType: 'vedlegg', contentType: 'application/pdf', filename: HOSTILE, size: 50, fileScanResult: 'Infected' },
      ],
    });
    await expect(h.processor.handle(messageFor(doc), { dequeueCount: 1 })).resolves.toMatchObject({ kind: 'held-infected' });
    const cliEnv = { ...env, AzureWebJobsStorage: azuriteConnectionString(), BLOB_CONTAINER: h.config.blobContainer };

    const text = await runCli(['held', 'list'], { env: cliEnv });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).not.toMatch(RAW_CONTROL);
    expect(text.stdout).toContain('evil\\u001b[2J\\u001b[H\\u000d\\u000aFORGED');
    expect(text.stdout).toContain('\\u009b31m\\u202efdp.exe\\u0007');
    expect(text.stdout.split('\n').filter((l) => l.startsWith('FORGED'))).toEqual([]);
    expect(text.stdout.split('\n').filter((l) => l.includes(doc.id))).toHaveLength(1);

    const json = await runCli(['held', 'list', '--json'], { env: cliEnv });
    expect(json.stdout).not.toMatch(RAW_CONTROL);
    const held = jsonOf<{ held: { infected: { filename: string }[] }[] }>(json).held;
    expect(held[0]?.infected[0]?.filename).toBe(HOSTILE);
  });
});
