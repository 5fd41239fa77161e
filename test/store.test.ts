import test from 'ava';
import { migrations } from '../src/store/migrations.js';
import { spawn } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ObjectStore, type Change } from '../src/store/object-store.js';
import type { KubeObject } from '../src/manifest/types.js';
import { root, tempDir } from './helpers.js';

const cm = (name: string, data: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data });
const deploy = (name: string, replicas: number): KubeObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' }, spec: { replicas } });

function openTemp(): { store: ObjectStore; file: string } {
  const file = path.join(tempDir(), 'state.db');
  return { store: ObjectStore.open(file), file };
}

test('resourceVersion is global and strictly increasing; uid and creation time stay', (t) => {
  const { store } = openTemp();
  const a = store.create(cm('a'));
  const b = store.create(cm('b'));
  const a2 = store.update({ ...a, data: { x: '1' } });
  const versions = [a, b, a2].map((o) => Number(o.metadata.resourceVersion));
  t.deepEqual(versions, [1, 2, 3]);
  t.is(a2.metadata.uid, a.metadata.uid);
  t.is(a2.metadata.creationTimestamp, a.metadata.creationTimestamp);
  store.delete('ConfigMap', 'default', 'b');
  const c = store.create(cm('c'));
  t.is(c.metadata.resourceVersion, '5');
  t.is(store.resourceVersion(), 5);
});

test('generation is bumped by spec changes only, not by metadata or status', (t) => {
  const { store } = openTemp();
  const d = store.create(deploy('web', 1));
  t.is(d.metadata.generation, 1);
  const labelled = store.update({ ...d, metadata: { ...d.metadata, labels: { a: 'b' } } });
  t.is(labelled.metadata.generation, 1);
  const withStatus = store.update({ ...labelled, status: { replicas: 1 } });
  t.is(withStatus.metadata.generation, 1);
  const scaled = store.update({ ...withStatus, spec: { replicas: 3 } });
  t.is(scaled.metadata.generation, 2);
  t.is(store.update(scaled).metadata.resourceVersion, scaled.metadata.resourceVersion, 'a no-op write writes nothing');
});

test('an update with a stale resourceVersion is a conflict; create of an existing object is refused', (t) => {
  const { store } = openTemp();
  const a = store.create(cm('a'));
  store.update({ ...a, data: { v: '1' } });
  const err = t.throws(() => store.update({ ...a, data: { v: '2' } }));
  t.is((err as { code?: string }).code, 'StoreConflict');
  t.is((t.throws(() => store.create(cm('a'))) as { code?: string }).code, 'StoreAlreadyExists');
  t.deepEqual(store.get('ConfigMap', 'default', 'a')!.data, { v: '1' });
});

test('the change feed resumes from a resourceVersion, and says Gone when compacted past it', (t) => {
  const { store } = openTemp();
  for (let i = 0; i < 10; i++) store.create(cm(`c${i}`));
  store.delete('ConfigMap', 'default', 'c0');
  const after = store.changesSince(8);
  t.deepEqual(after.map((c) => [c.resourceVersion, c.type, c.object.metadata.name]), [[9, 'ADDED', 'c8'], [10, 'ADDED', 'c9'], [11, 'DELETED', 'c0']]);
  store.compact(3);
  t.is(store.changesSince(8).length, 3);
  t.is((t.throws(() => store.changesSince(2)) as { code?: string }).code, 'StoreGone');
});

test('a watcher gets the backlog from its resourceVersion, then new changes once committed', (t) => {
  const { store } = openTemp();
  store.create(cm('before-1'));
  store.create(cm('before-2'));
  const seen: Change[] = [];
  const stop = store.watch(1, (c) => seen.push(c));
  t.deepEqual(seen.map((c) => c.object.metadata.name), ['before-2']);
  store.batch(() => {
    store.create(cm('in-batch-1'));
    store.create(cm('in-batch-2'));
    t.is(seen.length, 1, 'nothing is delivered before the batch commits');
  });
  t.throws(() =>
    store.batch(() => {
      store.create(cm('rolled-back'));
      throw new Error('boom');
    }),
  );
  stop();
  store.create(cm('after-stop'));
  t.deepEqual(seen.map((c) => c.object.metadata.name), ['before-2', 'in-batch-1', 'in-batch-2']);
  t.is(store.get('ConfigMap', 'default', 'rolled-back'), undefined);
});

test('labels select objects on list', (t) => {
  const { store } = openTemp();
  store.create({ ...cm('a'), metadata: { name: 'a', namespace: 'x', labels: { app: 'web' } } });
  store.create({ ...cm('b'), metadata: { name: 'b', namespace: 'x', labels: { app: 'db' } } });
  store.create({ ...cm('c'), metadata: { name: 'c', namespace: 'y', labels: { app: 'web' } } });
  t.deepEqual(store.list({ kind: 'ConfigMap', labelSelector: { matchLabels: { app: 'web' } } }).map((o) => o.metadata.name), ['a', 'c']);
  t.deepEqual(store.list({ kind: 'ConfigMap', namespace: 'x' }).map((o) => o.metadata.name), ['a', 'b']);
});

test('the store is WAL with synchronous=FULL and a versioned schema; a newer schema is refused', (t) => {
  const { store, file } = openTemp();
  t.is(store.db.pragma('journal_mode', { simple: true }), 'wal');
  t.is(store.db.pragma('synchronous', { simple: true }), 2);
  t.is(store.db.pragma('user_version', { simple: true }), migrations.length);
  store.close();
  const raw = new Database(file);
  raw.pragma('user_version = 99');
  raw.close();
  const err = t.throws(() => ObjectStore.open(file));
  t.regex(err!.message, /schema version 99, newer than this Gouvernail knows/);
});

test('SIGKILL in the middle of a batch leaves the batch all there or not at all', async (t) => {
  const file = path.join(tempDir(), 'state.db');
  const child = spawn(process.execPath, [path.join(root, 'dist', 'test', 'store-writer.js'), file, '400'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
    if (out.includes('mid')) child.kill('SIGKILL');
  });
  await exited;
  t.regex(out, /committed\nmid/);
  t.notRegex(out, /finished/);
  const store = ObjectStore.open(file);
  t.is(store.db.pragma('integrity_check', { simple: true }), 'ok');
  const names = store.list({ kind: 'ConfigMap' }).map((o) => o.metadata.name);
  t.is(names.filter((n) => n.startsWith('a-')).length, 400, 'the committed batch is all there');
  t.is(names.filter((n) => n.startsWith('b-')).length, 0, 'the killed batch is not there at all');
  t.is(store.resourceVersion(), 400);
  t.is(store.changesSince(0, 10_000).length, 400);
  t.is(store.create(cm('next')).metadata.resourceVersion, '401');
});
