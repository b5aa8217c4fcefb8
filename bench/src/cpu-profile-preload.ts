/**
 * Preloaded into web and worker processes by `npm run bench -- --cpu-prof DIR` (NODE_OPTIONS=--import
 * this file; Node refuses --cpu-prof itself in NODE_OPTIONS). It starts the V8 profiler at once and
 * writes <role>-<pid>.cpuprofile into the directory when the process exits, for Chrome DevTools or
 * speedscope. A benchmark tool, not service code: the directory comes from its own variable, which
 * the service's config never sees.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env['COLMEIA_CPU_PROFILE_DIR'];
if (dir !== undefined && dir !== '') {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 }); // µs
  session.post('Profiler.start');
  process.once('exit', () => {
    // The in-thread inspector answers synchronously, so this completes inside the exit handler.
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      const role = path.basename(process.argv[1] ?? 'node', '.js') === 'main' ? path.basename(path.dirname(path.dirname(process.argv[1] ?? ''))) : 'node';
      writeFileSync(path.join(dir, `${role}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
