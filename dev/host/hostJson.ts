import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/** host.json TimeSpan ("hh:mm:ss", optionally "d.hh:mm:ss" and fractional seconds) → milliseconds. */
export function parseTimeSpan(value: string): number {
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value.trim());
  if (!m) throw new Error(`"${value}" is not a TimeSpan (hh:mm:ss)`);
  const [, d, h, min, s] = m;
  return Math.round(((Number(d ?? 0) * 24 + Number(h)) * 3600 + Number(min) * 60 + Number(s)) * 1000);
}

const timeSpan = z.string().transform((v, ctx) => {
  try {
    return parseTimeSpan(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

// Defaults are the Functions host's own (storage queues extension 5.x).
const queuesSchema = z.object({
  batchSize: z.number().int().min(1).max(32).default(16),
  newBatchThreshold: z.number().int().min(0).optional(),
  maxPollingInterval: timeSpan.default(60_000),
  visibilityTimeout: timeSpan.default(0),
  maxDequeueCount: z.number().int().min(1).default(5),
  messageEncoding: z.enum(['base64', 'none']).default('base64'),
});

/** host.json's log levels (Microsoft.Extensions.Logging), lowest first. */
export const HOST_LEVELS = ['Trace', 'Debug', 'Information', 'Warning', 'Error', 'Critical', 'None'] as const;
export type HostLevel = (typeof HOST_LEVELS)[number];

const hostJsonSchema = z.object({
  version: z.literal('2.0'),
  logging: z.object({ logLevel: z.record(z.string(), z.enum(HOST_LEVELS)).default({}) }).prefault({}),
  functionTimeout: timeSpan.optional(),
  extensions: z
    .object({
      queues: queuesSchema.prefault({}),
      http: z.object({ routePrefix: z.string().default('api') }).prefault({}),
    })
    .prefault({}),
});

export type QueueSettings = z.infer<typeof queuesSchema> & { newBatchThreshold: number };

export interface HostSettings {
  queues: QueueSettings;
  routePrefix: string;
  /** `logging.logLevel`: category prefix (or `default`) → lowest level kept. */
  logLevel: Record<string, HostLevel>;
}

export function parseHostJson(json: unknown): HostSettings {
  const parsed = hostJsonSchema.safeParse(json);
  if (!parsed.success) throw new Error(`host.json: ${z.prettifyError(parsed.error)}`);
  const { queues, http } = parsed.data.extensions;
  return {
    // The host's default threshold is half the batch size.
    queues: { ...queues, newBatchThreshold: queues.newBatchThreshold ?? Math.floor(queues.batchSize / 2) },
    routePrefix: http.routePrefix.replace(/^\/+|\/+$/g, ''),
    logLevel: parsed.data.logging.logLevel,
  };
}

export async function loadHostJson(path: string): Promise<HostSettings> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`host.json: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`host.json: ${path} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  return parseHostJson(json);
}
