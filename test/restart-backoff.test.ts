import test from 'ava';
import { RestartBackoff } from '../src/runtime/restart-backoff.js';

test('a killed container waits 10 s, then twice as long each time, at most 5 minutes; 10 minutes of running start it over', (t) => {
  let now = 1_000_000;
  const backoff = new RestartBackoff(() => now);
  const waits: number[] = [];
  for (let i = 0; i < 7; i++) {
    const until = backoff.killed('uid-1/web');
    waits.push((until - now) / 1000);
    t.is(backoff.waitUntil('uid-1/web'), until);
    now = until;
    t.is(backoff.waitUntil('uid-1/web'), undefined, 'it may start once the back-off is over');
    now += 5_000; // it runs a while, then is killed again
  }
  t.deepEqual(waits, [10, 20, 40, 80, 160, 300, 300]);
  t.is(backoff.waitUntil('uid-1/db'), undefined, 'another container waits for nothing');
  now += 600_000;
  t.is((backoff.killed('uid-1/web') - now) / 1000, 10);
  backoff.forget('uid-1');
  t.is(backoff.waitUntil('uid-1/web'), undefined, 'a deleted Pod');
});
