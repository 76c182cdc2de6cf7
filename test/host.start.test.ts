import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { connectionString } from '../dev/azurite.js';
import { manifestSchema } from '../lib/processor/manifest.js';
import { ROOT, startNode, startProcess, stopAll } from './support/processes.js';
import { azuriteConnectionString, storageClients } from './support/storage.js';

afterAll(() => stopAll());

const settingsFile = async () => join(await mkdtemp(join(tmpdir(), 'start-test-')), 'local.settings.json');
/** Only node's own folder on PATH: no `func`, so npm start runs the local host. */
const PATH = dirname(process.execPath);

/** Ports nobody listens on right now (the OS hands out each once), for a server that must be told its port. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Every process below `pid` (Linux /proc): what npm start started. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      // Fields after the command name (which may hold spaces) in parentheses: state, ppid, ...
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  for (let frontier = [pid]; frontier.length > 0; ) {
    frontier = [...parent].filter(([, pp]) => frontier.includes(pp)).map(([p]) => p);
    out.push(...frontier);
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('npm start with real settings (tt02): creates the settings file, runs only the host on the configured storage', async () => {
  const settings = await settingsFile();
  const start = startNode('start', 'dist/dev/start.js', ['--settings', settings, '--port', '0'], {
    // Storage is the run's Azurite, so none is started; ALTINN_ENV=tt02 is Altinn itself, so no simulator.
    env: { PATH, AzureWebJobsStorage: azuriteConnectionString(), ALTINN_ENV: 'tt02' },
  });
  const started = await start.waitForJson((r) => r.msg === 'host started');

  expect(await readFile(settings, 'utf8')).toBe(await readFile(join(ROOT, 'local.settings.example.json'), 'utf8'));
  expect(start.lines.filter((l) => /Core Tools/.test(l))).toEqual([
    'Azure Functions Core Tools (func) not found on PATH: starting the local host (dev/host.ts) instead',
  ]);
  expect(start.lines.some((l) => /^(Azurite|Altinn simulator)/.test(l))).toBe(false);
  expect(started.functions).toContainEqual({ name: 'health', trigger: 'http', route: '/api/health', methods: ['GET'], authLevel: 'anonymous' });

  // No Maskinporten client configured for tt02: health names the settings (never values); storage is not the problem.
  const health = await fetch(`http://127.0.0.1:${started.port as number}/api/health`);
  expect(health.status).toBe(503);
  const report = (await health.json()) as { checks: { settings: string } };
  expect(report.checks.settings).toContain('MASKINPORTEN_CLIENT_ID');

  expect(await start.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  expect(start.records((r) => r.msg === 'host stopped')).toHaveLength(1);
});

it('npm start with the example settings: Azurite, the simulator and the host; the printed submit command gets a submission stored and confirmed; SIGINT stops every child', async () => {
  const settings = await settingsFile();
  const [blobPort, queuePort] = (await freePorts(2)) as [number, number];
  const storage = connectionString(blobPort, queuePort);
  // Nothing answers at the configured emulator ports, so npm start starts Azurite there.
  const start = startNode('start', 'dist/dev/start.js', ['--settings', settings, '--port', '0', '--simulator-port', '0'], {
    env: { PATH, AzureWebJobsStorage: storage },
  });
  const submitLine = await start.waitFor(/^\s+npm run submit\b/, { timeoutMs: 120_000 });
  expect(start.lines).toContain(`Azurite (in memory: data lasts until you stop npm start) on blob ${blobPort}, queue ${queuePort}`);
  expect(start.lines.some((l) => /validated: yes/.test(l))).toBe(true);
  const hostUrl = /host\s+(http:\/\/127\.0\.0\.1:\d+)\/api\/health/.exec(start.lines.join('\n'))?.[1];
  expect(hostUrl).toBeDefined();
  const health = await fetch(`${hostUrl}/api/health`);
  expect([health.status, await health.json()]).toEqual([200, { status: 'ok', checks: { settings: 'ok', storage: 'ok' } }]);
  // The client's key went into the host's environment only, never into the settings file.
  expect(await readFile(settings, 'utf8')).toBe(await readFile(join(ROOT, 'local.settings.example.json'), 'utf8'));
  const children = descendants(start.child.pid!);
  expect(children.length).toBeGreaterThanOrEqual(3); // Azurite blob + queue, the host

  // The printed command, as a user would run it from the repository.
  const [npm, ...args] = submitLine.trim().split(/\s+/) as [string, ...string[]];
  const submit = startProcess('submit', npm, args, { env: process.env, cwd: ROOT });
  expect((await submit.exited).code, submit.tail()).toBe(0);
  const folder = /^\s+(\S+\/)manifest\.json$/m.exec(submit.lines.join('\n'))?.[1];
  expect(folder, submit.tail()).toMatch(/^ttd\/demo-app\/\d+\/[0-9a-f-]{36}\/$/);
  const listed = submit.lines.filter((l) => l.includes(`${folder}data/`)).map((l) => l.trim().split(/\s+/)[0]!);
  expect(listed.length).toBeGreaterThanOrEqual(2);

  // Independently of the command: the manifest and every element blob are in npm start's Azurite.
  const container = storageClients(storage).blob.getContainerClient('altinn-instances');
  const manifest = manifestSchema.parse(JSON.parse((await container.getBlockBlobClient(`${folder}manifest.json`).downloadToBuffer()).toString()));
  expect(manifest.elements.map((e) => [e.blob, e.status]).sort()).toEqual(listed.map((b) => [b, 'stored']).sort());
  for (const e of manifest.elements) expect((await container.getBlockBlobClient(e.blob!).getProperties()).contentLength).toBe(e.size);

  expect(await start.kill('SIGINT')).toEqual({ code: 0, signal: null });
  expect(children.filter(alive)).toEqual([]);
});
