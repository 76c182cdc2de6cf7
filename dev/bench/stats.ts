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
 * interval of the median is on one side of the threshold; otherwise the runs cannot tell.
 * `met` is the median's side, for a quick look. `method` says what decides it (BENCHMARKS.md, Method).
 */
export interface Goal {
  goal: string;
  measured: string;
  met: boolean;
  verdict: 'met' | 'missed' | 'undecided';
  method?: string;
}

/** P(X <= k) for X ~ Binomial(n, 1/2). */
function binomialCdf(n: number, k: number): number {
  let term = 0.5 ** n;
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

/** The 5-run interval's coverage (1 - 2 x 0.5^5): every run count is held to at least this. */
const COVERAGE = 1 - 2 * 0.5 ** 5;

/**
 * The distribution-free interval of the median from n independent runs: the k-th smallest to the k-th
 * largest run covers it with probability 1 - 2 P(Bin(n, 1/2) <= k - 1). k is the largest that keeps at
 * least the 5-run coverage (93.75%): min–max up to 8 runs, the 2nd ones from 9, the 3rd from 12, the 4th
 * from 15, so more runs narrow the interval instead of widening it.
 */
export function medianInterval(values: readonly number[]): { low: number; high: number; coverage: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  let k = 1;
  while (k + 1 <= n / 2 && 1 - 2 * binomialCdf(n, k) >= COVERAGE) k++;
  return { low: sorted[k - 1]!, high: sorted[n - k]!, coverage: n > 1 ? 1 - 2 * binomialCdf(n, k - 1) : 0 };
}

/** A goal `value >= threshold` (at least) or `value <= threshold` (at most), judged on per-run values. */
export function judge(goal: string, values: readonly number[], bound: { atLeast: number } | { atMost: number }, unit = '', method = 'runs'): Goal {
  const s = summarize(values, unit);
  const { low, high, coverage } = medianInterval(values);
  const ok = (v: number) => ('atLeast' in bound ? v >= bound.atLeast : v <= bound.atMost);
  const verdict = ok(low) && ok(high) ? 'met' : !ok(low) && !ok(high) ? 'missed' : 'undecided';
  const u = unit ? ` ${unit}` : '';
  const interval = s.runs > 1 ? ` (${fmt(low)}–${fmt(high)}${u}, ${Math.round(coverage * 100)}% interval of the median over ${s.runs} runs)` : ' (1 run)';
  const note = verdict === 'undecided' ? ': the interval contains the goal, these runs cannot tell met from missed' : '';
  return { goal, measured: `${fmt(s.median)}${u}${interval}${note}`, met: ok(s.median), verdict, method };
}

/** A goal on a count (requests, transactions): counted exactly, so met or missed, never undecided. */
export function judgeCount(goal: string, value: number, bound: { atMost: number }, unit: string): Goal {
  const met = value <= bound.atMost + 1e-9;
  return { goal, measured: `${fmt(value)} ${unit} (counted)`, met, verdict: met ? 'met' : 'missed', method: 'count' };
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
  for (const g of goals) out.push(`${g.verdict.toUpperCase().padEnd(9)} ${g.goal}: ${g.measured}${g.method ? ` [${g.method}]` : ''}`);
  return out.join('\n');
}

/** The same figures as a Markdown table (for BENCHMARKS.md). */
export function formatMarkdown(metrics: Record<string, Summary>, goals: readonly Goal[]): string {
  const out = ['| metric | median | min | max | unit |', '|---|---:|---:|---:|---|'];
  for (const [name, s] of Object.entries(metrics)) out.push(`| ${name} | ${fmt(s.median)} | ${fmt(s.min)} | ${fmt(s.max)} | ${s.unit} |`);
  if (goals.length > 0) out.push('', ...goals.map((g) => `- **${g.verdict}**: ${g.goal} — measured ${g.measured}${g.method ? ` (decided by: ${g.method})` : ''}`));
  return out.join('\n');
}
