// A child process for the store tests: commits one batch, then dies (SIGKILL from the test) in the
// middle of a second one.
import { writeSync } from 'node:fs';
import { ObjectStore } from '../src/store/object-store.js';

const [file, countArg] = process.argv.slice(2);
const count = Number(countArg);
const store = ObjectStore.open(file!);
const cm = (batch: string, i: number) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${batch}-${i}`, namespace: 'default' }, data: { i: String(i) } });

store.batch(() => {
  for (let i = 0; i < count; i++) store.create(cm('a', i));
});
writeSync(1, 'committed\n');
store.batch(() => {
  for (let i = 0; i < count; i++) {
    store.create(cm('b', i));
    if (i === Math.floor(count / 2)) writeSync(1, 'mid\n');
    if (i >= count / 2) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
});
writeSync(1, 'finished\n');
