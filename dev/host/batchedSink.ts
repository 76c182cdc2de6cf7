import type { Sink } from '../../lib/log.js';

/**
 * The local host's log lines, written once per turn of the event loop (one write for every line of the
 * turn) instead of one synchronous write per line: stdout to a file or a pipe blocks the host on every
 * write. Azure's worker ships lines to the host asynchronously too. Whatever is left is written on exit.
 */
export function batchedSink(): Sink {
  const pending = { out: [] as string[], err: [] as string[] };
  const flush = () => {
    for (const [key, stream] of [['out', process.stdout], ['err', process.stderr]] as const) {
      if (pending[key].length === 0) continue;
      stream.write(`${pending[key].join('\n')}\n`);
      pending[key] = [];
    }
  };
  process.once('exit', flush);
  let scheduled = false;
  return (level, line) => {
    (level === 'error' || level === 'warn' ? pending.err : pending.out).push(line);
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      flush();
    });
  };
}
