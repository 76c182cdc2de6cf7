import { afterAll, expect, it } from 'vitest';
import { startNode, stopAll } from './support/processes.js';

/** `npm run demo` as a newcomer runs it (small: no large file), and what it leaves behind: nothing. */
afterAll(() => stopAll());

const refused = async (url: string) => {
  try {
    await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return false;
  } catch (e) {
    return (e as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
  }
};

it('confirms every instance, events and reconcile, prints the summary and where the files are, and stops everything', async () => {
  const demo = startNode('demo', 'dist/dev/demo/main.js', ['--instances', '3', '--drop', '1', '--no-large']);
  const exit = await demo.exited;
  const text = demo.lines.join('\n');
  expect(exit, demo.tail()).toEqual({ code: 0, signal: null });

  expect(text).toMatch(/validated: yes/);
  expect(text).toMatch(/\$ altinn-receiver reconcile --app demo-app\n.*found 1, enqueued 1/);
  // The time-to-confirmation figures: 3 confirmed within the hour, p50/p95 in seconds, none waiting.
  expect(text).toMatch(/time to confirmation \(process\.ended to complete\), last 60 min/);
  expect(text).toMatch(/^ +demo-app +3 +\d+ s +\d+ s +0 +-$/m);
  expect(text).toMatch(/^INSTANCES +FILES +BYTES +CONFIRMED +VIA EVENT +VIA RECONCILE +ELAPSED$/m);
  expect(text).toMatch(/^3 +8 +[\d.]+ MiB +3\/3 +2 +1 +[\d.]+ s$/m);
  expect(text).toMatch(/^ {2}ttd\/demo-app\/\d+\/[0-9a-f-]{36}\/data\/[0-9a-f-]{36} {2}\(vedlegg-1\.pdf, 2\.0 MiB\)$/m);
  expect(text).toContain('OK: all 3 instances confirmed once');

  // Nothing left running: the host, Azurite's blob and queue services all refuse connections now.
  const urls = [...text.matchAll(/^\[.*\] (?:Azurite +blob (\S+), queue (\S+)|local host +(\S+) )/gm)].flatMap((m) =>
    m.slice(1).filter((u): u is string => u !== undefined),
  );
  expect(urls).toHaveLength(3);
  for (const url of urls) expect(await refused(url), url).toBe(true);
});

it('refuses options it cannot honour, with the usage', async () => {
  const demo = startNode('demo', 'dist/dev/demo/main.js', ['--instances', '2', '--drop', '2']);
  expect(await demo.exited).toEqual({ code: 2, signal: null });
  expect(demo.lines.join('\n')).toMatch(/--drop must be smaller than --instances[\s\S]*usage: npm run demo/);
});
