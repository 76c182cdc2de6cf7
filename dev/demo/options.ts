import { parseArgs } from 'node:util';
import { z } from 'zod';

export const USAGE = `usage: npm run demo -- [options]
  --instances <n>   instances to seed and complete (default 25)
  --drop <n>        completion events the simulator drops on purpose, for the reconciler to find (default 3)
  --no-large        skip the one 256 MiB attachment
  --timeout <s>     give up when not every instance is confirmed by then (default 180)
  --keep            leave Azurite, the simulator and the local host running afterwards (Ctrl+C stops them)`;

const schema = z
  .object({
    instances: z.coerce.number().int().min(1).max(1000).default(25),
    drop: z.coerce.number().int().min(0).default(3),
    'no-large': z.boolean().default(false),
    timeout: z.coerce.number().int().min(10).max(3600).default(180),
    keep: z.boolean().default(false),
    help: z.boolean().default(false),
  })
  .refine((o) => o.drop < o.instances, { message: '--drop must be smaller than --instances', path: ['drop'] });

export interface DemoOptions {
  instances: number;
  drop: number;
  large: boolean;
  timeoutMs: number;
  keep: boolean;
  help: boolean;
}

const ARGS = {
  instances: { type: 'string' },
  drop: { type: 'string' },
  'no-large': { type: 'boolean' },
  timeout: { type: 'string' },
  keep: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The demo's command line, validated; throws with the usage on anything it does not know. */
export function parseDemoOptions(argv: string[]): DemoOptions {
  let values: unknown;
  try {
    values = parseArgs({ args: argv, strict: true, options: ARGS }).values;
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`, { cause: e });
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) throw new Error(`${z.prettifyError(parsed.error)}\n${USAGE}`);
  const o = parsed.data;
  return { instances: o.instances, drop: o.drop, large: !o['no-large'], timeoutMs: o.timeout * 1000, keep: o.keep, help: o.help };
}
