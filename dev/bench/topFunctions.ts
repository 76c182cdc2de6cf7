/**
 * node dist/dev/bench/topFunctions.js <file.cpuprofile> [n]: the functions with the most self time in
 * a V8 CPU profile (from `npm run bench -- --profile <dir>`), for reading without DevTools.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const profileSchema = z.object({
  nodes: z.array(z.object({ id: z.number(), callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }) })),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

const [file, n = '25'] = process.argv.slice(2);
if (!file) throw new Error('usage: topFunctions <file.cpuprofile> [n]');
const profile = profileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
const self = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const frame = byId.get(id);
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  if (!frame) return;
  const where = frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(dist|lib)\//, '$1/');
  const key = `${frame.functionName || '(anonymous)'}  ${where}:${frame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + dt);
});
const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(n));
process.stdout.write(`total ${(total / 1000).toFixed(0)} ms\n`);
for (const [key, us] of top) process.stdout.write(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}\n`);
