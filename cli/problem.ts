import { z } from 'zod';

/** RFC 7807 problem details as Altinn sends them (ValidationProblemDetails adds `errors`). */
const problemSchema = z.looseObject({
  type: z.string().nullish(),
  title: z.string().nullish(),
  status: z.number().nullish(),
  detail: z.string().nullish(),
  instance: z.string().nullish(),
  errors: z.record(z.string(), z.array(z.string())).nullish(),
});
export type AltinnProblem = z.infer<typeof problemSchema>;

const MAX_BODY = 500;

/** An error body as problem details when it is one, else its (trimmed) text; undefined when empty. */
export function parseProblem(body: string): AltinnProblem | undefined {
  const text = body.trim();
  if (!text) return undefined;
  try {
    const parsed = problemSchema.safeParse(JSON.parse(text));
    if (parsed.success && (parsed.data.title || parsed.data.detail || parsed.data.errors)) return parsed.data;
  } catch {
    // not JSON: shown as text below
  }
  return { detail: text.length > MAX_BODY ? `${text.slice(0, MAX_BODY)}…` : text };
}

/** Problem details as a few readable lines: title, detail, then one line per field error. */
export function formatProblem(p: AltinnProblem): string {
  const lines: string[] = [];
  if (p.title) lines.push(`  ${p.title}${p.status ? ` (${p.status})` : ''}`);
  if (p.detail) lines.push(`  ${p.detail}`);
  for (const [field, messages] of Object.entries(p.errors ?? {})) lines.push(`  - ${field}: ${messages.join('; ')}`);
  if (p.type && /^https?:/.test(p.type)) lines.push(`  see ${p.type}`);
  return lines.join('\n');
}
