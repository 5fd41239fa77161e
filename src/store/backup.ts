import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { GouvernailError } from '../errors.js';
import type { Db } from './database.js';

/**
 * The files of the data folder a store cannot be used without: the installation id (the label on
 * every Docker object), the keys that seal Secrets, the ServiceAccount signing key, the admin token
 * and the cluster CA. A snapshot carries them, as k3s's snapshots need its token.
 */
const keyFiles = ['installation-id', 'admin-token', 'encryption-keys.json', 'service-account.key', 'pki/ca.crt', 'pki/ca.key'];

export interface SnapshotInfo {
  file: string;
  objects: number;
  resourceVersion: number;
  bytes: number;
}

/**
 * A consistent copy of the store, taken online with SQLite's backup API (serve keeps running and
 * writing), with the data folder's key files inside it. The file is as secret as the data folder.
 */
export async function takeSnapshot(source: Db, dataDir: string, file: string): Promise<SnapshotInfo> {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  // All the pages in one step: a writer in another process cannot make the copy start over.
  await source.backup(partial, { progress: () => 1 << 30 });
  const copy = new Database(partial);
  try {
    copy.pragma('journal_mode = DELETE');
    copy.exec('CREATE TABLE gouvernail_snapshot_files (name TEXT PRIMARY KEY, content BLOB NOT NULL)');
    const put = copy.prepare('INSERT INTO gouvernail_snapshot_files (name, content) VALUES (?, ?)');
    for (const name of keyFiles) {
      const at = path.join(dataDir, name);
      if (existsSync(at)) put.run(name, readFileSync(at));
    }
    const { n } = copy.prepare('SELECT count(*) AS n FROM objects').get() as { n: number };
    const { rv } = copy.prepare('SELECT coalesce(max(resource_version), 0) AS rv FROM changes').get() as { rv: number };
    copy.close();
    chmodSync(partial, 0o600);
    renameSync(partial, file);
    return { file, objects: n, resourceVersion: rv, bytes: statSync(file).size };
  } catch (err) {
    if (copy.open) copy.close();
    rmSync(partial, { force: true });
    throw err;
  }
}

/** A snapshot of a store another process (serve) has open: opened read-only, copied online. */
export async function snapshotDataDir(dataDir: string, file: string): Promise<SnapshotInfo> {
  const db = path.join(dataDir, 'state.db');
  if (!existsSync(db)) throw new GouvernailError('UsageError', `${db} does not exist; is --data-dir the folder serve uses?`);
  const source = new Database(db, { readonly: true, fileMustExist: true });
  source.pragma('busy_timeout = 5000');
  try {
    return await takeSnapshot(source, dataDir, file);
  } finally {
    source.close();
  }
}

/**
 * Brings a snapshot back into a data folder that has no store yet: the store and its key files. A
 * serve started on it adopts the containers that run, by their records and labels.
 */
export function restoreSnapshot(file: string, dataDir: string): { objects: number; files: string[] } {
  if (!existsSync(file)) throw new GouvernailError('UsageError', `${file} does not exist`);
  const target = path.join(dataDir, 'state.db');
  if (existsSync(target)) throw new GouvernailError('UsageError', `${target} exists; restore into a new data folder, or move the old store away first (nothing was changed)`);
  const snapshot = new Database(file, { readonly: true, fileMustExist: true });
  let files: { name: string; content: Buffer }[];
  try {
    const table = snapshot.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'gouvernail_snapshot_files'").get();
    if (!table) throw new GouvernailError('UsageError', `${file} is not a Gouvernail snapshot (take one with gouvernail backup FILE)`);
    files = snapshot.prepare('SELECT name, content FROM gouvernail_snapshot_files').all() as { name: string; content: Buffer }[];
  } finally {
    snapshot.close();
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  for (const f of files) {
    const at = path.join(dataDir, f.name);
    if (existsSync(at) && !readFileSync(at).equals(f.content)) throw new GouvernailError('UsageError', `${at} exists and differs from the snapshot's; restore into a new data folder`);
  }
  const partial = `${target}.partial`;
  writeFileSync(partial, readFileSync(file), { mode: 0o600 });
  const restored = new Database(partial);
  restored.exec('DROP TABLE gouvernail_snapshot_files');
  restored.pragma('journal_mode = WAL');
  const { n } = restored.prepare('SELECT count(*) AS n FROM objects').get() as { n: number };
  restored.close();
  for (const f of files) {
    const at = path.join(dataDir, f.name);
    mkdirSync(path.dirname(at), { recursive: true, mode: 0o700 });
    writeFileSync(at, f.content, { mode: f.name.endsWith('.crt') ? 0o644 : 0o600 });
  }
  renameSync(partial, target);
  return { objects: n, files: files.map((f) => f.name) };
}

/** Keeps the newest `keep` snapshots of a folder (by name, which starts with the time). */
export function pruneSnapshots(dir: string, keep: number): string[] {
  const all = readdirSync(dir).filter((f) => /^gouvernail-snapshot-.*\.db$/.test(f)).sort();
  const gone = all.slice(0, Math.max(0, all.length - keep));
  for (const f of gone) rmSync(path.join(dir, f), { force: true });
  return gone;
}

export function snapshotName(at = new Date()): string {
  return `gouvernail-snapshot-${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.db`;
}
