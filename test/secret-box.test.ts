import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ObjectStore } from '../src/store/object-store.js';
import { SecretBox } from '../src/store/secret-box.js';
import { tempDir } from './helpers.js';

const value = 'correct-horse-battery-staple';
const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'default' }, type: 'Opaque', data: { password: Buffer.from(value).toString('base64') } };

/** Every byte SQLite keeps for the store: the database, its WAL and its shared memory. */
function onDisk(file: string): string {
  return ['', '-wal', '-shm'].map((s) => (existsSync(file + s) ? readFileSync(file + s).toString('latin1') : '')).join('');
}

test('Secret data is sealed at rest: neither the value nor its base64 is in the SQLite files, and reads give it back', (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'state.db');
  const store = ObjectStore.open(file, { secrets: SecretBox.load(path.join(dir, 'keys.json')) });
  store.create(secret);
  store.update({ ...store.get('Secret', 'default', 'db')!, metadata: { name: 'db', namespace: 'default' }, data: { password: Buffer.from(`${value}-2`).toString('base64') } });
  t.is(Buffer.from(store.get('Secret', 'default', 'db')!.data!.password!, 'base64').toString(), `${value}-2`);
  t.is(Buffer.from(store.changesSince(0)[0]!.object.data!.password!, 'base64').toString(), value, 'the change feed opens too');
  store.close();
  const bytes = onDisk(file);
  t.false(bytes.includes(value));
  t.false(bytes.includes(Buffer.from(value).toString('base64')));
});

test('a plain store is sealed at the next start; a rotated key re-seals; a missing key is a clear error', (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'state.db');
  const keys = path.join(dir, 'keys.json');
  const plain = ObjectStore.open(file);
  plain.create(secret);
  plain.close();
  t.true(onDisk(file).includes(Buffer.from(value).toString('base64')), 'stored plain before');

  const sealed = ObjectStore.open(file, { secrets: SecretBox.load(keys) });
  sealed.resealSecrets();
  const first = SecretBox.load(keys).current;
  sealed.close();
  t.false(onDisk(file).includes(Buffer.from(value).toString('base64')));

  const second = SecretBox.rotate(keys);
  const rotated = ObjectStore.open(file, { secrets: SecretBox.load(keys) });
  rotated.resealSecrets();
  t.is(Buffer.from(rotated.get('Secret', 'default', 'db')!.data!.password!, 'base64').toString(), value);
  const body = (rotated.db.prepare("SELECT body FROM objects WHERE kind = 'Secret'").get() as { body: string }).body;
  t.regex(body, new RegExp(`"\\$sealed":"aesgcm:${second}:`));
  t.notRegex(body, new RegExp(first));
  rotated.close();

  const noKey = ObjectStore.open(file);
  const err = t.throws(() => noKey.get('Secret', 'default', 'db'));
  t.regex(err!.message, /sealed Secrets, but no encryption key file was given/);
  noKey.close();
});
