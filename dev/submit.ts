/**
 * `npm run submit`: while `npm start` runs with the simulator, a user submits a form: the simulator
 * completes an instance of the subscribed app (Altinn Events then calls the webhook). Waits until the
 * receiver has confirmed it and prints where its files are. Exit 0 confirmed, 1 not (in time), 2 bad arguments.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_SUBMISSIONS_URL, submissionSchema, submissionStatusSchema } from './start/submissions.js';

const USAGE = `usage: npm run submit [-- --simulator <url>] [--wait <seconds>]
  --simulator <url>   the submissions URL npm start printed (default ${DEFAULT_SUBMISSIONS_URL})
  --wait <seconds>    how long to wait for the receiver's confirmation (default 60)`;

const optionsSchema = z.object({
  simulator: z.url({ protocol: /^https?$/ }).default(DEFAULT_SUBMISSIONS_URL),
  wait: z.coerce.number().positive().max(3600).default(60),
  help: z.boolean().default(false),
});

function options(argv: string[]): z.infer<typeof optionsSchema> | undefined {
  try {
    const { values } = parseArgs({ args: argv, strict: true, options: { simulator: { type: 'string' }, wait: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    const parsed = optionsSchema.safeParse(values);
    if (parsed.success) return parsed.data;
    console.error(z.prettifyError(parsed.error));
  } catch (e) {
    console.error((e as Error).message);
  }
  return undefined;
}

async function main(): Promise<number> {
  const o = options(process.argv.slice(2));
  if (!o) {
    console.error(USAGE);
    return 2;
  }
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  const base = o.simulator.replace(/\/$/, '');
  let res: Response;
  try {
    res = await fetch(`${base}/submissions`, { method: 'POST' });
  } catch {
    console.error(`nothing answers at ${base}: is npm start running (with the example settings, so with the simulator)?`);
    return 1;
  }
  if (res.status !== 201) {
    console.error(`${base}/submissions answered ${res.status}: ${await res.text()}`);
    return 1;
  }
  const s = submissionSchema.parse(await res.json());
  const bytes = s.files.reduce((n, f) => n + f.size, 0);
  console.log(`submitted ${s.instanceId} to ${s.app}: ${s.files.length} files, ${bytes} bytes; waiting for the receiver to confirm it`);
  const deadline = Date.now() + o.wait * 1000;
  for (;;) {
    const status = submissionStatusSchema.parse(await (await fetch(`${base}/submissions/${s.instanceId}`)).json());
    if (status.confirmed) break;
    if (Date.now() >= deadline) {
      console.error(`not confirmed within ${o.wait} s: see npm start's log (msg "done" or an error for instance ${s.instanceId})`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`confirmed: the files are in blob container "${s.container}":`);
  console.log(`  ${s.folder}manifest.json`);
  console.log(`  ${s.folder}instance.json`);
  for (const f of s.files) console.log(`  ${s.folder}data/${f.id}  (${f.filename ?? f.dataType}, ${f.size} bytes)`);
  return 0;
}

process.exitCode = await main();
