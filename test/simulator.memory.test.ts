import { fork } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const PROBE = join(import.meta.dirname, '..', 'dev', 'simulator', 'memoryProbe.ts');
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

interface Ready {
  url: string;
  token: string;
  baseline: number;
}
interface Report {
  baseline: number;
  peak: number;
  downloads: Record<string, number>;
}

it('streams a 1 GiB element with the server RSS growing by less than 64 MiB', async () => {
  const child = fork(PROBE, [String(GiB)], { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: 'inherit' });
  try {
    const ready = await new Promise<Ready>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Ready));
      child.once('exit', (code) => reject(new Error(`probe exited with ${code}`)));
    });
    const res = await fetch(ready.url, { headers: { authorization: `Bearer ${ready.token}` } });
    expect(res.headers.get('content-length')).toBe(String(GiB));
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
    expect(bytes).toBe(GiB);

    const report = await new Promise<Report>((resolve) => {
      child.once('message', (m) => resolve(m as Report));
      child.send('report');
    });
    const growth = report.peak - report.baseline;
    console.log(`simulator RSS: baseline ${(report.baseline / MiB).toFixed(1)} MiB, peak ${(report.peak / MiB).toFixed(1)} MiB, growth ${(growth / MiB).toFixed(1)} MiB for 1 GiB`);
    expect(Object.values(report.downloads)).toEqual([1]);
    expect(growth).toBeLessThan(64 * MiB);
  } finally {
    child.kill();
  }
});
