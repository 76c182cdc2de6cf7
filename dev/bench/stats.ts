/** Figures of several runs: the median is what we report, min and max show the spread. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
  unit: string;
}

export function summarize(values: readonly number[], unit: string): Summary {
  if (values.length === 0) throw new Error('no values to summarize');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: values.length, unit };
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export const MiB = 1024 * 1024;

/**
 * One goal of the issue, read against the runs. `verdict` is `met` or `missed` only when the whole
 * interval (min–max of the runs) is on one side of the threshold; otherwise the runs cannot tell.
 * `met` is the median's side, for a quick look.
 */
export interface Goal {
  goal: string;
  measured: string;
  met: boolean;
  verdict: 'met' | 'missed' | 'undecided';
}

/**
 * With n independent runs, the median lies between the smallest and the largest run with probability
 * 1 - 2 x 0.5^n (n = 5: 94%), whatever the distribution: min–max is the median's interval we report.
 */
function medianCoverage(runs: number): number {
  return 1 - 2 * 0.5 ** runs;
}

/** A goal `value >= threshold` (at least) or `value <= threshold` (at most), judged on per-run values. */
export function judge(goal: string, values: readonly number[], bound: { atLeast: number } | { atMost: number }, unit = ''): Goal {
  const s = summarize(values, unit);
  const ok = (v: number) => ('atLeast' in bound ? v >= bound.atLeast : v <= bound.atMost);
  const verdict = ok(s.min) && ok(s.max) ? 'met' : !ok(s.min) && !ok(s.max) ? 'missed' : 'undecided';
  const u = unit ? ` ${unit}` : '';
  const interval = s.runs > 1 ? ` (${fmt(s.min)}–${fmt(s.max)}${u}, ${Math.round(medianCoverage(s.runs) * 100)}% interval of the median over ${s.runs} runs)` : ' (1 run)';
  const note = verdict === 'undecided' ? ': the interval contains the goal, these runs cannot tell met from missed' : '';
  return { goal, measured: `${fmt(s.median)}${u}${interval}${note}`, met: ok(s.median), verdict };
}

function fmt(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** A plain-text table: metric | median | min | max | unit. */
export function formatTable(title: string, metrics: Record<string, Summary>, goals: readonly Goal[]): string {
  const rows = [['metric', 'median', 'min', 'max', 'unit', 'runs']];
  for (const [name, s] of Object.entries(metrics)) rows.push([name, fmt(s.median), fmt(s.min), fmt(s.max), s.unit, String(s.runs)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [`== ${title}`, line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  for (const g of goals) out.push(`${g.verdict.toUpperCase().padEnd(9)} ${g.goal}: ${g.measured}`);
  return out.join('\n');
}

/** The same figures as a Markdown table (for BENCHMARKS.md). */
export function formatMarkdown(metrics: Record<string, Summary>, goals: readonly Goal[]): string {
  const out = ['| metric | median | min | max | unit |', '|---|---:|---:|---:|---|'];
  for (const [name, s] of Object.entries(metrics)) out.push(`| ${name} | ${fmt(s.median)} | ${fmt(s.min)} | ${fmt(s.max)} | ${s.unit} |`);
  if (goals.length > 0) out.push('', ...goals.map((g) => `- **${g.verdict}**: ${g.goal} — measured ${g.measured}`));
  return out.join('\n');
}
