import type { SoakReport } from './run.js';

/** The soak's figures in a few lines, for people (and for a failing test's message). */
export function summary(r: SoakReport): string {
  const f = r.faults;
  const c = r.checks;
  const t = r.paths.timeToConfirmation;
  return [
    `soak profile ${r.profile} (seed ${r.seed}): ${r.instances} instances, ${r.elements} elements, ${(r.bytes / 2 ** 20).toFixed(1)} MiB in ${(r.durationMs / 1000).toFixed(0)} s`,
    `faults injected: 5xx ${f.planned['5xx']}, 429 ${f.planned['429']}, resets ${f.planned.reset}, truncated ${f.planned.truncated}, longer than size ${f.planned.longer}` +
      ` (not injected: ${f.notInjected}); Maskinporten outage ${f.maskinportenOutageMs / 1000} s (${f.grantsRefused} grants refused);` +
      ` Azurite queue restarts ${f.azuriteQueueRestarts} (${f.queueDownMs} ms down); deliveries dropped ${f.deliveriesDropped};` +
      ` Altinn outage ${f.altinnOutageMs / 1000} s (${f.altinnOutage503} requests answered 503), 429 storm ${f.stormMs / 1000} s with Retry-After ${f.stormRetryAfterSeconds} (${f.storm429} requests answered 429);` +
      ` late data: a receipt ${f.lateElementAfterMs / 1000} s after the completed event (${f.lateElements} instances);` +
      ` Azure Blob outage ${f.azureOutageMs / 1000} s (${f.azureOutage503} requests answered 503 ServerBusy)`,
    `intake: ${r.intake.deliveries} deliveries, ${r.intake.webhook503} answered 503, ${r.intake.webhookEnqueued} enqueued by the webhook, ${r.paths.feedEnqueued} by the feed, ${r.intake.reconcileEnqueued} by the reconciler`,
    `confirmed via ${Object.entries(r.paths.confirmedVia).map(([k, n]) => `${k} ${n}`).join(', ')}; time from process.ended to confirmation: p50 ${(t.p50Ms / 1000).toFixed(1)} s, p95 ${(t.p95Ms / 1000).toFixed(1)} s, max ${(t.maxMs / 1000).toFixed(1)} s over ${t.count} (found by the feed: p95 ${(t.feedP95Ms / 1000).toFixed(1)} s over ${t.feedCount})`,
    `processor (${r.processor.hosts} hosts): ${r.processor.confirmedRuns} confirming runs, ${r.processor.alreadyDone} already done, ${r.processor.deferrals} deferrals (${r.processor.busyDeferrals} instance busy on the other host), ${r.processor.settleDeferrals} settle waits, ${r.processor.rechecksChanged} re-checks that found a change, ${r.processor.failedInvocations} failed invocations retried by the host`,
    `outcome: ${r.outcome.enqueued} instances enqueued = confirmed ${r.outcome.confirmed} + poisoned ${r.outcome.poisoned.length}, lost ${r.outcome.lost.length}, duplicates ${r.outcome.duplicates.length}; ` +
      `${r.outcome.readyMessages} ready messages (${r.outcome.readyNotOnce.length} instances not announced exactly once)`,
    `checks: ${c.completes} completes (${c.completesWithoutManifest.length} without manifest), ${c.dataGets} data GETs (${c.dataAfterManifest.length} after the manifest; ${c.late} look-ups late, slowest ${c.slowestMs} ms), ` +
      `${c.blobProblems.length} blob problems, ${r.secretHits.length} secret hits`,
    r.ok ? 'all invariants held' : 'INVARIANT BROKEN',
  ].join('\n');
}
