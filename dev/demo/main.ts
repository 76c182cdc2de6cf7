/**
 * `npm run demo`: the whole job on one machine, no Azure, no Altinn. Azurite and the local Functions
 * host run as child processes, the Altinn simulator in this process (it plays Altinn: it pushes events
 * over HTTP and counts confirmations). The CLI subscribes the webhook (real validation handshake) and
 * later runs the reconciler that finds the events dropped on purpose. See docs/development.md "The demo".
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { manifestPath, manifestSchema } from '../../lib/processor/manifest.js';
import { instanceId } from '../../lib/queue/messages.js';
import { startAzurite, type Azurite } from '../azurite.js';
import { ROOT, startLocalHost, startNode, stopAll, type LocalHost } from '../host/childProcess.js';
import { startSimulator, type Simulator } from '../simulator/index.js';
import { parseDemoOptions, USAGE, type DemoOptions } from './options.js';
import { droppedIndexes } from './plan.js';
import { ConfirmationWatch } from './progress.js';
import { formatBytes, listBlobsOneLiner, seconds, stamp, summaryTable } from './report.js';
import { seededTotals, seedInstances, type Seeded } from './seed.js';

const APP = 'demo-app';
const CONTAINER = 'altinn-instances';
/** The host's reconciler timer must have a schedule; the demo runs the reconciler through the CLI instead. */
const TIMER_OFF = '0 0 0 1 1 *';

const out = (text = '') => void process.stdout.write(`${text}\n`);
const indent = (lines: string[]) => lines.filter((l) => l.trim() !== '').map((l) => `${' '.repeat(12)}${l}`);

/** What Azurite and the simulator's counters say: problems found, and the files and bytes the manifests list as stored. */
interface Verdict {
  problems: string[];
  files: number;
  bytes: number;
}

class Demo {
  private azurite?: Azurite;
  private sim?: Simulator;
  private host?: LocalHost;
  /** The app settings the host runs with (and the CLI uses). */
  private env: Record<string, string> = {};
  private stopping?: Promise<void>;
  private readonly t0 = performance.now();
  succeeded = false;
  private readonly tty = process.stdout.isTTY === true;

  constructor(
    private readonly opts: DemoOptions,
    private readonly work: string,
  ) {}

  elapsed = () => performance.now() - this.t0;
  private step = (text: string) => out(`${stamp(this.elapsed())} ${text}`);

  /** Stops everything this demo started (the host drains first) and saves the host's log. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await stopAll();
      await Promise.all([this.azurite?.stop(), this.sim?.stop()]);
      if (this.host) await writeFile(join(this.work, 'host.log'), this.host.lines.join('\n'));
    })();
    return this.stopping;
  }

  async run(): Promise<boolean> {
    const { opts } = this;
    out(`altinn-receiver demo: ${opts.instances} instances, ${opts.drop} of their events dropped on purpose${opts.large ? '' : ' (no large file)'}`);
    const { sim, host } = await this.startServices();
    // Subscribing (a CLI process, the handshake) and seeding (hashing content) take a while: side by side.
    const subscribed = this.cli(['subscriptions', 'create', '--app', APP, '--endpoint', `${host.url}/api/events`, '--wait', '30']);
    const dropped = droppedIndexes(opts.instances, opts.drop);
    const seeded = await seedInstances(sim, APP, opts, dropped);
    await subscribed;
    const totals = seededTotals(seeded);
    this.step(`seeded       ${seeded.length} instances of ${APP}: ${totals.files} files, ${formatBytes(totals.bytes)}`);
    this.completeProcesses(sim, seeded, dropped.size);

    const watch = new ConfirmationWatch({ host, sim, seeded, deadline: this.t0 + opts.timeoutMs, everyMs: this.tty ? 1_000 : 5_000, elapsed: this.elapsed, print: out });
    const ok = await this.awaitConfirmed(watch, seeded, dropped.size);
    const verdict = await this.verify(seeded);
    watch.progress.read();
    this.printSummary(seeded, watch, verdict);
    if (!ok || verdict.problems.length > 0) {
      this.printFailure(ok, verdict, host);
      return false;
    }
    out();
    // What an operator sees: time to confirmation per app (and the rest of status), from the tags the processor set.
    await this.cli(['status']);
    out();
    this.succeeded = true;
    out(`OK: all ${seeded.length} instances confirmed once (simulator counters) and their manifests are in Azurite.`);
    return true;
  }

  /** Azurite and the simulator side by side, then the local host on them; prints where each listens. */
  private async startServices(): Promise<{ sim: Simulator; host: LocalHost }> {
    this.step('starting Azurite, the Altinn simulator and the local Functions host');
    // Each is kept as soon as it is up, so a failure of the other still stops it.
    const [azurite, sim] = await Promise.all([startAzurite().then((a) => (this.azurite = a)), startSimulator({ seed: 1 }).then((s) => (this.sim = s))]);
    const client = await sim.newClient();
    const env = { ...client.env, AzureWebJobsStorage: azurite.connectionString, BLOB_CONTAINER: CONTAINER, RECONCILE_SCHEDULE: TIMER_OFF, MONITOR_SCHEDULE: TIMER_OFF, FEED_SCHEDULE: TIMER_OFF };
    this.env = env;
    const host = await startLocalHost({ env, name: 'host' });
    this.host = host;
    this.step(`Azurite      blob ${azurite.services.blob.url}, queue ${azurite.services.queue.url} (in memory)`);
    this.step(`simulator    Maskinporten ${sim.maskinportenUrl}, platform ${sim.platformUrl}, apps ${sim.appsUrl}`);
    this.step(`local host   ${host.url} (pid ${host.child.pid}), webhook ${host.url}/api/events`);
    return { sim, host };
  }

  /** Runs the built CLI with the host's settings, its output indented; throws when it fails. */
  private async cli(args: string[]): Promise<void> {
    this.step(`$ altinn-receiver ${args.join(' ')}`);
    // cwd: an empty folder, so no local.settings.json but the environment's settings applies.
    const p = startNode('altinn-receiver', 'dist/cli/main.js', args, { env: { PATH: process.env.PATH, ...this.env }, cwd: this.work });
    const exit = await p.exited;
    for (const l of indent(p.lines)) out(l);
    if (exit.code !== 0) throw new Error(`altinn-receiver ${args[0]} failed (exit ${exit.code ?? exit.signal})`);
  }

  private completeProcesses(sim: Simulator, seeded: Seeded[], dropped: number): void {
    // Instance 0 (the large one) first: it is the long pole. Dropping happens as the simulator delivers.
    for (const s of seeded) {
      if (s.dropped) sim.events.dropNext(1);
      sim.completeProcess(s.ref.partyId, s.ref.instanceGuid);
    }
    this.step(`completed    ${seeded.length} processes: the simulator pushes ${seeded.length - dropped} events to the webhook and drops ${dropped}`);
  }

  /** Phase 1: every event that arrived is processed. Phase 2: the reconciler finds the rest. False at the timeout. */
  private async awaitConfirmed(watch: ConfirmationWatch, seeded: Seeded[], dropped: number): Promise<boolean> {
    const delivered = seeded.filter((s) => !s.dropped);
    const ok = await watch.until(() => delivered.every(watch.confirmed));
    if (!ok || dropped === 0) return ok;
    await this.sim!.events.idle();
    this.step(`events settled: ${delivered.length} delivered and confirmed; ${dropped} completed instances were never announced. Reconciling:`);
    await this.cli(['reconcile', '--app', APP]);
    return watch.until(() => seeded.every(watch.confirmed));
  }

  private printSummary(seeded: Seeded[], watch: ConfirmationWatch, verdict: Verdict): void {
    out();
    out(
      summaryTable({
        instances: seeded.length,
        files: verdict.files,
        bytes: verdict.bytes,
        confirmed: seeded.filter(watch.confirmed).length,
        viaEvent: watch.progress.via('event'),
        viaReconcile: watch.progress.via('reconcile'),
        elapsedMs: this.elapsed(),
      }),
    );
    out();
    this.where(seeded);
  }

  private printFailure(ok: boolean, verdict: Verdict, host: LocalHost): void {
    out();
    out(`FAILED: not every instance confirmed with its manifest in Azurite ${ok ? '' : `within ${seconds(this.opts.timeoutMs)} `}(${verdict.problems.length} problem(s)):`);
    for (const p of verdict.problems.slice(0, 20)) out(`  ${p}`);
    for (const r of host.records((r) => r.level === 'error').slice(-5)) out(`  host: ${String(r.msg)} ${JSON.stringify(r.error ?? '')}`);
  }

  /** The exit criterion, from outside: one effective confirmation per instance, and a manifest listing every file. */
  private async verify(seeded: Seeded[]): Promise<Verdict> {
    const container = BlobServiceClient.fromConnectionString(this.azurite!.connectionString).getContainerClient(CONTAINER);
    const problems: string[] = [];
    let files = 0;
    let bytes = 0;
    for (const s of seeded) {
      const id = instanceId(s.ref);
      const completes = this.sim!.counters.effectiveCompletes[s.ref.instanceGuid] ?? 0;
      if (completes !== 1) problems.push(`${id}: ${completes} effective confirmations (expected 1)`);
      const blob = container.getBlockBlobClient(manifestPath(s.ref));
      if (!(await blob.exists())) {
        problems.push(`${id}: no ${manifestPath(s.ref)}`);
        continue;
      }
      const manifest = manifestSchema.parse(JSON.parse((await blob.downloadToBuffer()).toString('utf8')));
      const stored = manifest.elements.filter((e) => e.status === 'stored');
      if (stored.length !== s.files) problems.push(`${id}: manifest lists ${stored.length} stored files of ${s.files}`);
      files += stored.length;
      bytes += stored.reduce((n, e) => n + e.size, 0);
    }
    return { problems, files, bytes };
  }

  private where(seeded: Seeded[]): void {
    const azurite = this.azurite!;
    const big = seeded.reduce((a, b) => (b.largest.size > a.largest.size ? b : a));
    const folder = manifestPath(big.ref).replace(/manifest\.json$/, '');
    out(`Files: container "${CONTAINER}" at ${azurite.services.blob.url}`);
    out(`  ${folder}manifest.json`);
    out(`  ${folder}data/${big.largest.id}  (${big.largest.filename ?? 'no filename'}, ${formatBytes(big.largest.size)})`);
    const browse = this.opts.keep ? 'Browse' : 'Browse (run with --keep: Azurite keeps them in memory only while it runs)';
    out(`${browse}: Azure Storage Explorer (Connect > Storage account or service > Connection string) with`);
    out(`  ${azurite.connectionString}`);
    out(`  or list them from the repository folder: ${listBlobsOneLiner(azurite.connectionString, CONTAINER)}`);
    out(`Host log: ${join(this.work, 'host.log')}`);
  }

  /** --keep: print where everything is and wait for Ctrl+C. */
  async keep(): Promise<void> {
    const { host, sim } = this;
    const settings = join(this.work, 'local.settings.json');
    // The simulator client's key is generated for this run only; the file lets the CLI talk to this stack.
    await writeFile(settings, JSON.stringify({ IsEncrypted: false, Values: this.env }, null, 2), { mode: 0o600 });
    out();
    out('Still running (--keep); Ctrl+C stops everything:');
    out(`  local host   ${host!.url}/api/health   webhook ${host!.url}/api/events`);
    out(`  simulator    ${sim!.maskinportenUrl}  ${sim!.platformUrl}  ${sim!.appsUrl}`);
    out(`  Azurite      ${this.azurite!.connectionString}`);
    out(`  CLI          cd ${this.work} && node ${join(ROOT, 'dist/cli/main.js')} subscriptions list`);
    await new Promise(() => {});
  }

}

async function main(): Promise<number> {
  let opts: DemoOptions;
  try {
    opts = parseDemoOptions(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  if (opts.help) {
    out(USAGE);
    return 0;
  }
  const demo = new Demo(opts, await mkdtemp(join(tmpdir(), 'altinn-receiver-demo-')));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      out(`\n${signal}: stopping the host, the simulator and Azurite`);
      void demo.stop().then(() => process.exit(opts.keep && demo.succeeded ? 0 : 130));
    });
  }
  try {
    const ok = await demo.run();
    if (opts.keep) await demo.keep();
    return ok ? 0 : 1;
  } catch (e) {
    console.error(`demo failed: ${(e as Error).message}`);
    return 1;
  } finally {
    await demo.stop();
  }
}

process.exitCode = await main();
