import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { GouvernailError } from '../errors.js';

/** Data folders this process serves from (a second serve in the same process is refused too). */
const held = new Set<string>();

/** Whether a process of that pid runs, and (where /proc tells) is a serve, not a later process given the same pid after a reboot. */
function serving(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('serve');
  } catch {
    return true;
  }
}

/**
 * Takes the data folder for one `gouvernail serve`: two serving from one folder would each run
 * its containers and replace the other's. The lock is a file holding the pid; one left by a
 * process that is gone (a crash, a kill -9) is taken over. Returns its release.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, 'serve.pid');
  const key = path.resolve(dataDir);
  if (held.has(key)) throw new GouvernailError('UsageError', `this process already serves from ${dataDir}`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      held.add(key);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        held.delete(key);
        try {
          if (Number(readFileSync(file, 'utf8')) === process.pid) rmSync(file, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && serving(pid)) {
        throw new GouvernailError('UsageError', `another gouvernail serve (pid ${pid}) is serving from ${dataDir}; stop it first (kill ${pid}), or give this one its own --data-dir`);
      }
      // Left by a process that is gone, or by this one before a crash it survived: taken over.
      rmSync(file, { force: true });
    }
  }
  throw new GouvernailError('UsageError', `cannot take ${file}: another gouvernail serve is starting from ${dataDir}`);
}
