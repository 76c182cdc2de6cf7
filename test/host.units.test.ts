import { describe, expect, it } from 'vitest';
import { parseHostJson, parseTimeSpan } from '../dev/host/hostJson.js';
import { decodeQueueMessage } from '../dev/host/queue.js';
import { compileRoute } from '../dev/host/routes.js';
import { resolveAppSettings } from '../dev/host/settings.js';
import { scheduleFn } from '../dev/host/timer.js';

// The local host's pure parts; the host as a whole is tested as a process in host.test.ts.

describe('host.json', () => {
  it('reads the repository host.json queue settings and fills the host defaults', () => {
    expect(
      parseHostJson({ version: '2.0', extensions: { queues: { batchSize: 8, maxPollingInterval: '00:00:02', visibilityTimeout: '00:00:30' } } }),
    ).toEqual({
      queues: {
        batchSize: 8,
        newBatchThreshold: 4,
        maxPollingInterval: 2_000,
        visibilityTimeout: 30_000,
        maxDequeueCount: 5,
        messageEncoding: 'base64',
      },
      routePrefix: 'api',
      logLevel: {},
    });
    expect(parseHostJson({ version: '2.0', extensions: { http: { routePrefix: '/' } } }).routePrefix).toBe('');
  });

  it('parses TimeSpans with days and fractions, and rejects anything else naming the value', () => {
    expect(parseTimeSpan('1.02:03:04.5')).toBe(((24 + 2) * 3600 + 3 * 60 + 4.5) * 1000);
    expect(() => parseTimeSpan('30s')).toThrow('"30s" is not a TimeSpan');
    expect(() => parseHostJson({ version: '2.0', extensions: { queues: { batchSize: 64 } } })).toThrow(/batchSize/);
  });
});

describe('routes', () => {
  it('matches literals case-insensitively, parameters, optional and catch-all ones', () => {
    expect(compileRoute('Echo/{name?}').match('/echo')).toEqual({});
    expect(compileRoute('echo/{name?}').match('/echo/a%20b')).toEqual({ name: 'a b' });
    expect(compileRoute('items/{id:int}').match('/items/7/')).toEqual({ id: '7' });
    expect(compileRoute('files/{*path}').match('/files/a/b.txt')).toEqual({ path: 'a/b.txt' });
    expect(compileRoute('items/{id}').match('/items')).toBeUndefined();
    expect(compileRoute('events').match('/events/extra')).toBeUndefined();
  });
});

describe('queue messages', () => {
  it('decodes base64 and parses JSON objects as the host does; other text stays a string', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    expect(decodeQueueMessage(b64('{"a":1}'), 'base64')).toEqual({ a: 1 });
    expect(decodeQueueMessage(b64('plain text'), 'base64')).toBe('plain text');
    expect(decodeQueueMessage('{"a":1}', 'none')).toEqual({ a: 1 });
    expect(() => decodeQueueMessage('{"a":1}', 'base64')).toThrow('not valid base64');
  });
});

describe('app settings in trigger options', () => {
  it('resolves %NAME% from the settings and names a missing one', () => {
    expect(resolveAppSettings('%SCHED%', { SCHED: '0 */5 * * * *' }, 'x')).toBe('0 */5 * * * *');
    expect(() => resolveAppSettings('%NOPE%', {}, 'function t schedule')).toThrow('function t schedule refers to app setting %NOPE%');
  });
});

describe('timer schedules', () => {
  it('computes the next NCRONTAB (seconds first) and TimeSpan occurrence in UTC', () => {
    const from = new Date('2026-03-01T10:07:30.000Z');
    expect(scheduleFn('0 */15 * * * *', 'UTC')(from).toISOString()).toBe('2026-03-01T10:15:00.000Z');
    expect(scheduleFn('00:05:00', 'UTC')(from).toISOString()).toBe('2026-03-01T10:12:30.000Z');
    expect(() => scheduleFn('*/15 * * * *', 'UTC')).toThrow('six fields');
    expect(() => scheduleFn('0 */15 * * * *', 'Nowhere/Atlantis')).toThrow('time zone Nowhere/Atlantis');
    expect(() => scheduleFn('0 61 * * * *', 'UTC')).toThrow('timer schedule "0 61 * * * *"');
  });
});
