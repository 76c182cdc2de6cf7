import type { Context } from './context.js';
import { userError, UsageError } from './errors.js';

/** The `--yes` option of a destructive command, for its options, optionHelp and schema. */
export const YES_HELP = ['--yes', 'do not ask (required when stdin is not a terminal)'] as const;

/**
 * A destructive command goes on only with `--yes`, or when the operator at a terminal types `expected`
 * (e.g. the id being deleted) or, without one, answers y. Piped stdin without `--yes` is a usage error:
 * a script never deletes by accident.
 */
export async function requireConfirmation(ctx: Context, yes: boolean, question: string, expected?: string): Promise<void> {
  if (yes) return;
  if (!ctx.io.stdinIsTTY) throw new UsageError('stdin is not a terminal: add --yes to go on without asking');
  const prompt = expected === undefined ? `${question} [y/N] ` : `${question} Type ${expected} to go on: `;
  const answer = (await ctx.io.ask(prompt)).trim();
  const ok = expected === undefined ? /^y(es)?$/i.test(answer) : answer === expected;
  if (!ok) throw userError('not confirmed: nothing deleted');
}
