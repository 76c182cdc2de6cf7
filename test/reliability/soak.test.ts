import { afterAll, describe, expect, it } from 'vitest';
import { summary } from '../../dev/soak/summary.js';
import { SHORT } from '../../dev/soak/profiles.js';
import { runSoak } from '../../dev/soak/run.js';
import { stopAll } from '../support/processes.js';

/**
 * The fault soak's short profile (npm run soak runs the same code with 500 instances): seeded faults
 * in the simulator, a Maskinporten outage, a compressed Altinn outage and 429 storm, then an Azure Blob
 * outage (503 ServerBusy from our proxy in front of Azurite), an Azurite queue
 * restart and dropped deliveries, through two real local hosts on the same queues; then every promise
 * checked from outside. See docs/reliability.md.
 */
afterAll(() => stopAll());

describe(`fault soak, short profile (${SHORT.instances} instances, seed ${SHORT.seed})`, () => {
  it('loses and poisons nothing, confirms and announces each instance once after its manifest, stores every byte exactly, leaks nothing', { timeout: SHORT.timeoutMs + 120_000 }, async () => {
    const report = await runSoak(SHORT);
    const context = summary(report);
    // Every fault kind was really in play.
    for (const [kind, n] of Object.entries(report.faults.planned)) expect(n, `${kind}\n${context}`).toBeGreaterThan(0);
    expect(report.faults.grantsRefused, context).toBeGreaterThan(0);
    // Two hosts on the same queues; Altinn down, then throttling: the messages were deferred, not poisoned.
    expect(report.processor.hosts, context).toBe(2);
    expect(report.faults.altinnOutage503, context).toBeGreaterThan(0);
    expect(report.faults.storm429, context).toBeGreaterThan(0);
    expect(report.faults.azureOutage503, context).toBeGreaterThan(0);
    expect(report.processor.deferrals, context).toBeGreaterThan(0);
    expect(report.faults.deliveriesDropped, context).toBe(Math.floor(SHORT.instances / SHORT.dropEvery));
    // Late data: every instance got a receipt after its completed event (and blobProblems checks each is stored).
    expect(report.faults.lateElements, context).toBe(report.instances);
    expect(report.processor.settleDeferrals, context).toBeGreaterThan(0);
    // The reconciler is hourly: the feed finds the dropped deliveries (the reconciler only if its hour strikes mid-run).
    expect(report.paths.feedEnqueued, context).toBeGreaterThan(0);
    expect((report.paths.confirmedVia.feed ?? 0) + (report.paths.confirmedVia.reconcile ?? 0), context).toBeGreaterThanOrEqual(report.faults.deliveriesDropped);
    expect(report.paths.timeToConfirmation.count, context).toBe(report.instances);

    // Invariants.
    expect(report.outcome.lost, context).toEqual([]);
    expect(report.outcome.duplicates, context).toEqual([]);
    expect(report.outcome.poisoned, context).toEqual([]);
    expect(report.outcome.readyNotOnce, context).toEqual([]);
    expect(report.outcome.readyMessages, context).toBe(report.instances);
    expect(report.outcome.confirmed + report.outcome.poisoned.length, context).toBe(report.instances);
    expect(report.outcome.enqueued, context).toBe(report.outcome.confirmed + report.outcome.poisoned.length);
    for (const p of report.outcome.poisoned) expect(p.reason, context).not.toBe('');
    expect(report.faults.notInjected, context).toBe(0);
    expect(report.checks.blobProblems, context).toEqual([]);
    expect(report.checks.completesWithoutManifest, context).toEqual([]);
    expect(report.checks.dataAfterManifest, context).toEqual([]);
    expect(report.checks.errors, context).toEqual([]);
    // The look-ups judged requests of both kinds (one that ends after the answer proves nothing).
    expect(report.checks.completes, context).toBeGreaterThan(0);
    expect(report.checks.dataGets, context).toBeGreaterThan(0);
    expect(report.secretHits, context).toEqual([]);
    expect(report.ok, context).toBe(true);
  });
});
