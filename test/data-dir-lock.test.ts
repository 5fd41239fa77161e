import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lockDataDir } from '../src/server/data-dir-lock.js';
import { tempDir } from './helpers.js';

test('one serve per data folder: a live holder refuses the next, naming its pid; a lock left by a process that is gone is taken over', async (t) => {
  const dir = tempDir();
  const release = lockDataDir(dir);
  t.is(readFileSync(path.join(dir, 'serve.pid'), 'utf8'), `${process.pid}\n`);
  t.throws(() => lockDataDir(dir), { message: /this process already serves from/ });
  release();
  t.false(existsSync(path.join(dir, 'serve.pid')));

  // Another serve holds it (a process with serve in its arguments); one that is not a serve (the
  // pid given to another program after a reboot) does not.
  const other = spawn('sleep', ['30']);
  t.teardown(() => other.kill());
  writeFileSync(path.join(dir, 'serve.pid'), `${other.pid}\n`);
  lockDataDir(dir)();
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)', 'serve']);
  t.teardown(() => holder.kill());
  writeFileSync(path.join(dir, 'serve.pid'), `${holder.pid}\n`);
  t.throws(() => lockDataDir(dir), { message: new RegExp(`another gouvernail serve \\(pid ${holder.pid}\\) is serving from .*; stop it first \\(kill ${holder.pid}\\)`) });

  // Gone: taken over.
  holder.kill();
  await new Promise((resolve) => holder.once('exit', resolve));
  const again = lockDataDir(dir);
  t.is(readFileSync(path.join(dir, 'serve.pid'), 'utf8'), `${process.pid}\n`);
  again();
});
