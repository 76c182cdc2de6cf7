import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { loadHostJson } from '../dev/host/hostJson.js';
import { Invoker } from '../dev/host/invoke.js';
import { minLevel, userCategory } from '../dev/host/userLog.js';
import type { FunctionDefinition } from '../lib/functionDefinition.js';
import { invocationSink, withInvocationLog } from '../lib/invocationLog.js';
import { createLogger } from '../lib/log.js';
import { memoryLogger } from './support/log.js';

/**
 * Lines logged inside an invocation go through its context (category Function.<name>.User in Azure, tied to
 * the invocation), and host.json keeps what operators need: every function's own lines at Information, the
 * host's per-invocation chatter at Warning. The local host applies the same levels, checked here.
 */
const root = join(import.meta.dirname, '..');
const hostJson = () => loadHostJson(join(root, 'host.json'));

async function functionNames(): Promise<string[]> {
  const names: string[] = [];
  for (const file of readdirSync(join(root, 'functions')).filter((f) => f.endsWith('.ts'))) {
    names.push(((await import(pathToFileURL(join(root, 'functions', file)).href)) as { definition: FunctionDefinition }).definition.name);
  }
  return names.sort();
}

/** What a lib module does: log through a logger built on the invocation sink, after an await. */
const libLogger = createLogger(invocationSink, { component: 'lib' }, 'debug');
async function work(tag: string): Promise<void> {
  await Promise.resolve();
  libLogger.debug('detail', { tag });
  libLogger.info('stage', { tag, stage: 'stored' });
  libLogger.warn('trouble', { tag });
}

describe('host.json log levels', () => {
  it("keeps every function's own lines at Information, the host's per-invocation lines and everything else at Warning", async () => {
    const { logLevel } = await hostJson();
    expect(logLevel).toMatchObject({ default: 'Warning', Function: 'Warning', 'Host.Results': 'Information', 'Host.Function.Console': 'Information' });
    const names = await functionNames();
    expect(names).toEqual(['eventsReceiver', 'feed', 'health', 'instanceProcessor', 'monitor', 'reconciler']);
    for (const name of names) expect(minLevel(logLevel, userCategory(name)), name).toBe('Information');
    expect(minLevel(logLevel, 'Function.instanceProcessor')).toBe('Warning');
    expect(minLevel(logLevel, 'Microsoft.Azure.WebJobs.Host')).toBe('Warning');
  });
});

describe('the local host routes context logs as the Functions host does', () => {
  it('category Function.<name>.User, each line in its own invocation, levels from host.json', async () => {
    const { logLevel } = await hostJson();
    const hostLog = memoryLogger();
    const invoker = new Invoker(hostLog, logLevel);
    const run = (name: string, tag: string) => invoker.invoke(name, {}, {}, (context) => withInvocationLog(context, () => work(tag)));
    // Two at once: each one's lines must land in its own invocation.
    await Promise.all([run('instanceProcessor', 'a'), run('instanceProcessor', 'b'), run('unlisted', 'c')]);

    const records = hostLog.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const user = records.filter((r) => r.category !== undefined);
    const started = new Map(records.filter((r) => r.msg === 'invocation started').map((r) => [r.invocationId, r.function]));
    for (const r of user) expect(started.get(r.invocationId), JSON.stringify(r)).toBe(r.category === 'Function.unlisted.User' ? 'unlisted' : 'instanceProcessor');
    const seen = (tag: string) => user.filter((r) => r.tag === tag).map((r) => [r.category, r.level, r.msg]);
    // instanceProcessor: Information and up; the fields of the lib's line stay flat.
    expect(seen('a')).toEqual([
      ['Function.instanceProcessor.User', 'info', 'stage'],
      ['Function.instanceProcessor.User', 'warn', 'trouble'],
    ]);
    expect(user.find((r) => r.tag === 'a' && r.msg === 'stage')).toMatchObject({ stage: 'stored', component: 'lib' });
    expect(new Set(user.filter((r) => r.tag === 'a' || r.tag === 'b').map((r) => r.invocationId)).size).toBe(2);
    // A function host.json does not name falls under `Function`: Warning.
    expect(seen('c')).toEqual([['Function.unlisted.User', 'warn', 'trouble']]);
  });

  it('outside an invocation the lines go to the console (Host.Function.Console in Azure)', () => {
    const seen: string[] = [];
    const context = { debug: () => undefined, info: (line: string) => void seen.push(`context ${line}`), warn: () => undefined, error: () => undefined };
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void seen.push(`console ${line}`));
    try {
      const log = createLogger(invocationSink);
      withInvocationLog(context, () => log.info('inside'));
      log.info('outside');
    } finally {
      spy.mockRestore();
    }
    expect(seen).toEqual(['context {"level":"info","msg":"inside"}', 'console {"level":"info","msg":"outside"}']);
  });
});
