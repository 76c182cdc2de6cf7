/**
 * Preloaded (NODE_OPTIONS=--import) into measured processes by `npm run bench -- --profile <dir>`:
 * Node 20 does not take --cpu-prof in NODE_OPTIONS, so this profiles through the in-process inspector
 * and writes <dir>/<pid>.cpuprofile on exit (the in-thread session answers synchronously).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  const write = () =>
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(join(dir, `${process.argv[1]?.split('/').pop() ?? 'node'}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  process.once('exit', write);
}
