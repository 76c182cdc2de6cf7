import { z } from 'zod';
import { ISO_DURATION } from '../lib/patterns.js';

const UNIT_MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
const SHORT = /^(\d+)([wdhms])$/;

/** A duration as milliseconds: `7d`, `12h`, `30m`, `90s`, `2w`, or ISO 8601 such as `P7D` or `PT12H`. */
export const durationSchema = z.string().transform((raw, ctx) => {
  const text = raw.trim();
  const short = SHORT.exec(text.toLowerCase());
  if (short) return Number(short[1]) * UNIT_MS[short[2] as keyof typeof UNIT_MS];
  const iso = ISO_DURATION.exec(text.toUpperCase());
  // Without years and months: their length varies.
  if (iso && !iso[1] && !iso[2]) {
    const [, , , w, d, h, m, s] = iso.map((v) => Number(v ?? 0));
    return (w ?? 0) * UNIT_MS.w + (d ?? 0) * UNIT_MS.d + (h ?? 0) * UNIT_MS.h + (m ?? 0) * UNIT_MS.m + (s ?? 0) * UNIT_MS.s;
  }
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(raw)} is not a duration: use e.g. 7d, 12h, 30m, or ISO 8601 P7D, PT12H` });
  return z.NEVER;
});
