import test from 'ava';
import { Backoff } from '../src/runtime/backoff.js';

test('a failure waits 10 s, then twice as long each time, at most 5 minutes; 10 minutes without one start it over', (t) => {
  let now = 1_000_000;
  const backoff = new Backoff(() => now);
  const waits: number[] = [];
  for (let i = 0; i < 7; i++) {
    const until = backoff.failed('uid-1/web');
    waits.push((until - now) / 1000);
    t.is(backoff.waiting('uid-1/web')?.until, until);
    now = until;
    t.is(backoff.waiting('uid-1/web'), undefined, 'it may start once the back-off is over');
    now += 5_000; // it runs a while, then is killed again
  }
  t.deepEqual(waits, [10, 20, 40, 80, 160, 300, 300]);
  t.is(backoff.waiting('uid-1/db'), undefined, 'another container waits for nothing');
  now += 600_000;
  t.is((backoff.failed('uid-1/web') - now) / 1000, 10);
  backoff.forgetPod('uid-1');
  t.is(backoff.waiting('uid-1/web'), undefined, 'a deleted Pod');
});

test('an image that fails to pull waits the same way, says why, and starts over once a pull succeeds', (t) => {
  let now = 1_000_000;
  const pulls = new Backoff(() => now);
  t.is(pulls.failed('registry.example/app:1', 'not found') - now, 10_000);
  t.deepEqual(pulls.waiting('registry.example/app:1'), { until: now + 10_000, reason: 'not found' });
  now += 10_000;
  t.is(pulls.failed('registry.example/app:1', 'not found') - now, 20_000);
  pulls.clear('registry.example/app:1');
  t.is(pulls.waiting('registry.example/app:1'), undefined);
  t.is(pulls.failed('registry.example/app:1', 'timeout') - now, 10_000);
});

test('a container a probe kills starts again at once the first time, as the kubelet\'s, then after 10 s, 20 s...; 10 minutes without a kill start it over', (t) => {
  let now = 1_000_000;
  const backoff = new Backoff(() => now);
  const waits: number[] = [];
  for (let i = 0; i < 4; i++) {
    const until = backoff.restarting('uid-1/web');
    waits.push((until - now) / 1000);
    now = until + 5_000; // it runs a while, then is killed again
  }
  t.deepEqual(waits, [0, 10, 20, 40]);
  now += 700_000;
  t.is(backoff.restarting('uid-1/web'), now);
  t.is(backoff.waiting('uid-1/web'), undefined);
});
