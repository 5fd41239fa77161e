import test from 'ava';
import { SyncQueue } from '../src/sync/sync-queue.js';

test('one run at a time per key; triggers during a run coalesce into one more run', async (t) => {
  let runs = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  const q = new SyncQueue(async () => {
    runs++;
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    await new Promise((r) => setTimeout(r, 50));
    concurrent--;
    return true;
  });
  q.enqueue('a');
  for (let i = 0; i < 10; i++) q.enqueue('a');
  await new Promise((r) => setTimeout(r, 20));
  await q.idle();
  await new Promise((r) => setTimeout(r, 10));
  await q.idle();
  t.is(runs, 2);
  t.is(maxConcurrent, 1);
});

test('different keys run side by side', async (t) => {
  const started: string[] = [];
  const q = new SyncQueue(async (key) => {
    started.push(key);
    await new Promise((r) => setTimeout(r, 30));
    return true;
  });
  q.enqueue('a');
  q.enqueue('b');
  await new Promise((r) => setTimeout(r, 5));
  t.deepEqual(started.sort(), ['a', 'b']);
  await q.idle();
});

test('a failed run is retried with growing delays until it succeeds', async (t) => {
  const at: number[] = [];
  const q = new SyncQueue(async () => {
    at.push(Date.now());
    return at.length >= 3;
  }, 40, 1000);
  q.enqueue('a');
  await new Promise((r) => setTimeout(r, 400));
  q.stop();
  t.is(at.length, 3);
  const gaps = [at[1]! - at[0]!, at[2]! - at[1]!];
  t.true(gaps[0]! >= 30 && gaps[1]! >= 60 && gaps[1]! > gaps[0]!, JSON.stringify(gaps));
});
