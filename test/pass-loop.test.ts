import test from 'ava';
import path from 'node:path';
import { PassLoop } from '../src/runtime/pass-loop.js';
import { ObjectStore } from '../src/store/object-store.js';
import { tempDir } from './helpers.js';
import { waitFor } from './docker-helpers.js';

test('a pass that fails is tried again soon, waiting twice as long each time, and no longer once it succeeds', async (t) => {
  const store = ObjectStore.open(path.join(tempDir(), 'state.db'));
  const runs: number[] = [];
  const told: number[] = [];
  let outcomes: ('throw' | 'incomplete' | 'done')[] = ['throw', 'incomplete', 'throw', 'done'];
  const loop = new PassLoop({
    pass: async () => {
      runs.push(Date.now());
      const outcome = outcomes.shift() ?? 'done';
      if (outcome === 'throw') throw new Error('engine did not answer');
      return outcome !== 'incomplete';
    },
    onError: (_err, retryInMs) => told.push(retryInMs),
    // Only the retries can make the passes after the first within the test's time.
    resyncMs: 10 * 60_000,
    firstRetryMs: 200,
  });
  t.teardown(() => loop.stop());
  loop.start(store, () => false);
  await waitFor('four passes', async () => runs.length >= 4, 30_000, 20);
  t.deepEqual(told, [200, 800], 'the errors are told with the wait before the next try');
  const gaps = runs.slice(1).map((at, i) => at - runs[i]!);
  t.true(gaps[0]! >= 190 && gaps[1]! >= 390 && gaps[2]! >= 790, `waits double: ${gaps.join(', ')} ms`);
  // Succeeded: nothing more runs before the resync (watched for two seconds, over twice the last wait).
  outcomes = ['throw'];
  const settled = runs.length;
  await new Promise((r) => setTimeout(r, 2000));
  t.is(runs.length, settled);
});
