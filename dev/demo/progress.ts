import { parseJsonLine, type LocalHost } from '../host/childProcess.js';
import type { Simulator } from '../simulator/index.js';
import { progressLine } from './report.js';
import { seededTotals, type Seeded } from './seed.js';

const TICK_MS = 250;

/** What the host's log says so far: confirmations (with the message's reason) and stored bytes. */
class HostProgress {
  private next = 0;
  readonly confirmedVia = new Map<string, string>();
  files = 0;
  bytes = 0;
  constructor(private readonly host: LocalHost) {}
  read(): void {
    for (; this.next < this.host.lines.length; this.next++) {
      const r = parseJsonLine(this.host.lines[this.next]!);
      if (r?.msg === 'element stored' && typeof r.bytes === 'number') {
        this.files++;
        this.bytes += r.bytes;
      }
      if (r?.msg === 'done' && r.outcome === 'confirmed' && typeof r.instanceId === 'string') {
        this.confirmedVia.set(r.instanceId, typeof r.reason === 'string' ? r.reason : 'unknown');
      }
    }
  }

  /** How many confirmations the host logged with this reason ('event', 'reconcile'). */
  via(reason: string): number {
    return [...this.confirmedVia.values()].filter((r) => r === reason).length;
  }
}

export interface WatchOptions {
  host: LocalHost;
  sim: Simulator;
  seeded: Seeded[];
  /** performance.now() to give up at. */
  deadline: number;
  /** Milliseconds between progress lines. */
  everyMs: number;
  elapsed: () => number;
  print: (line: string) => void;
}

/** Watches the seeded instances get confirmed (the simulator's counters), printing progress lines as it waits. */
export class ConfirmationWatch {
  readonly progress: HostProgress;
  private readonly totals: { files: number; bytes: number };
  private lastLine = 0;

  constructor(private readonly o: WatchOptions) {
    this.progress = new HostProgress(o.host);
    this.totals = seededTotals(o.seeded);
  }

  confirmed = (s: Seeded) => (this.o.sim.counters.effectiveCompletes[s.ref.instanceGuid] ?? 0) > 0;

  /** Polls until `done` or the deadline (false); a progress line every `everyMs`, and one when done. */
  async until(done: () => boolean): Promise<boolean> {
    for (;;) {
      this.progress.read();
      const finished = done();
      const now = performance.now();
      if (finished || now - this.lastLine >= this.o.everyMs) {
        this.lastLine = now;
        this.printLine();
      }
      if (finished) return true;
      if (now >= this.o.deadline) return false;
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  }

  private printLine(): void {
    const { seeded, elapsed } = this.o;
    const { progress, totals } = this;
    this.o.print(
      progressLine({ elapsedMs: elapsed(), confirmed: seeded.filter(this.confirmed).length, instances: seeded.length, files: progress.files, filesTotal: totals.files, bytes: progress.bytes, bytesTotal: totals.bytes }),
    );
  }
}
