import { cloneJson } from '../manifest/clone.js';
import { randomUUID } from 'node:crypto';
import { GouvernailError } from '../errors.js';
import { isNamespaced } from '../manifest/kinds.js';
import { matchesSelector, type LabelSelector } from '../manifest/selector.js';
import type { KubeObject } from '../manifest/types.js';
import type Database from 'better-sqlite3';
import { openDatabase, type Db } from './database.js';
import { SecretBox } from './secret-box.js';
import { deepEqual } from '../diff/deep-equal.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  type: ChangeType;
  resourceVersion: number;
  object: KubeObject;
}

export interface ListOptions {
  kind?: string;
  namespace?: string;
  labelSelector?: LabelSelector;
}

export interface StoreOptions {
  now?: () => Date;
  /** Seals Secret data at rest; without it Secrets are stored as they are. */
  secrets?: SecretBox;
}

type Listener = (change: Change) => void;

/**
 * Kubernetes-style objects in SQLite. Every write gets the next global resourceVersion (the
 * change feed's row id, never reused) and a change row a watcher can resume from.
 */
export class ObjectStore {
  readonly db: Db;
  private readonly now: () => Date;
  private readonly listeners = new Set<Listener>();
  private pending: Change[] = [];

  private readonly secrets?: SecretBox;

  constructor(db: Db, options: StoreOptions = {}) {
    this.db = db;
    this.now = options.now ?? (() => new Date());
    this.secrets = options.secrets;
    // What is deleted or rewritten is overwritten on disk too, so no old page keeps a value.
    if (this.secrets) db.pragma('secure_delete = ON');
  }

  /** An object as stored: a Secret's data and stringData sealed when a SecretBox is set. */
  private encode(o: KubeObject): string {
    if (!this.secrets || o.kind !== 'Secret') return JSON.stringify(o);
    const { data, stringData, ...rest } = o;
    return JSON.stringify({ ...rest, $sealed: this.secrets.seal(JSON.stringify({ data, stringData })) });
  }

  private decode(body: string): KubeObject {
    const o = JSON.parse(body) as KubeObject & { $sealed?: string };
    if (o.$sealed === undefined) return o;
    if (!this.secrets) throw new GouvernailError('StoreSchemaTooNew', 'the store holds sealed Secrets, but no encryption key file was given');
    const { data, stringData } = JSON.parse(this.secrets.open(o.$sealed));
    delete o.$sealed;
    if (data !== undefined) o.data = data;
    if (stringData !== undefined) o.stringData = stringData;
    return o;
  }

  /**
   * Seals every Secret (objects and change feed) not yet sealed with the current key: plain ones of
   * a store that had no encryption, and those of a key that was rotated out of first place.
   */
  resealSecrets(): void {
    if (!this.secrets) return;
    const stale = (body: string) => {
      const sealed = (JSON.parse(body) as { $sealed?: string }).$sealed;
      return sealed === undefined || SecretBox.keyOf(sealed) !== this.secrets!.current;
    };
    this.db.transaction(() => {
      for (const row of this.db.prepare("SELECT uid, body FROM objects WHERE kind = 'Secret'").all() as { uid: string; body: string }[]) {
        if (stale(row.body)) this.db.prepare('UPDATE objects SET body = ? WHERE uid = ?').run(this.encode(this.decode(row.body)), row.uid);
      }
      for (const row of this.db.prepare("SELECT resource_version AS rv, body FROM changes WHERE kind = 'Secret'").all() as { rv: number; body: string }[]) {
        if (stale(row.body)) this.db.prepare('UPDATE changes SET body = ? WHERE resource_version = ?').run(this.encode(this.decode(row.body)), row.rv);
      }
    })();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  static open(file: string, options: StoreOptions = {}): ObjectStore {
    return new ObjectStore(openDatabase(file), options);
  }

  close(): void {
    this.db.close();
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** Prepared once: better-sqlite3 compiles a statement on every prepare. */
  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const row = this.statement('SELECT body FROM objects WHERE kind = ? AND namespace = ? AND name = ?').get(kind, ns(kind, namespace), name) as { body: string } | undefined;
    return row ? this.decode(row.body) : undefined;
  }

  list(options: ListOptions = {}): KubeObject[] {
    const where: string[] = [];
    const args: string[] = [];
    if (options.kind) {
      where.push('kind = ?');
      args.push(options.kind);
    }
    if (options.namespace !== undefined) {
      where.push('namespace = ?');
      args.push(options.namespace);
    }
    const sql = `SELECT body FROM objects${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY kind, namespace, name`;
    const rows = this.statement(sql).all(...args) as { body: string }[];
    const objects = rows.map((r) => this.decode(r.body));
    const selector = options.labelSelector;
    return selector ? objects.filter((o) => matchesSelector(selector, o.metadata.labels ?? {})) : objects;
  }

  /** The resourceVersion of the latest write, or 0 for an empty store. */
  resourceVersion(): number {
    const row = this.statement("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").get() as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  create(input: KubeObject): KubeObject {
    return this.batch(() => {
      const namespace = ns(input.kind, input.metadata.namespace);
      if (this.get(input.kind, namespace, input.metadata.name)) {
        throw new GouvernailError('StoreAlreadyExists', `${input.kind}/${input.metadata.name} already exists${namespace ? ` in namespace ${namespace}` : ''}`);
      }
      const o = cloneJson(input);
      o.metadata = { ...o.metadata, uid: o.metadata.uid ?? randomUUID(), creationTimestamp: this.now().toISOString(), generation: 1 };
      if (namespace) o.metadata.namespace = namespace;
      delete o.metadata.resourceVersion;
      const rv = this.record('ADDED', o);
      this.statement('INSERT INTO objects (uid, kind, namespace, name, resource_version, body) VALUES (?, ?, ?, ?, ?, ?)').run(o.metadata.uid, o.kind, namespace, o.metadata.name, rv, this.encode(o));
      return o;
    });
  }

  /**
   * Replaces an object. With `resourceVersion` set in the input, a mismatch is a conflict (409);
   * without it, the write is unconditional. uid and creation time are kept; generation is bumped
   * when anything but metadata and status changed.
   */
  update(input: KubeObject): KubeObject {
    return this.batch(() => {
      const namespace = ns(input.kind, input.metadata.namespace);
      const current = this.get(input.kind, namespace, input.metadata.name);
      if (!current) throw new GouvernailError('StoreNotFound', `${input.kind}/${input.metadata.name} not found${namespace ? ` in namespace ${namespace}` : ''}`);
      const expected = input.metadata.resourceVersion;
      if (expected !== undefined && expected !== current.metadata.resourceVersion) {
        throw new GouvernailError('StoreConflict', `${input.kind}/${input.metadata.name} was modified (resourceVersion ${current.metadata.resourceVersion}, not ${expected}); read it again and retry`);
      }
      const o = cloneJson(input);
      const specChanged = !deepEqual(withoutMeta(current), withoutMeta(o));
      o.metadata = {
        ...o.metadata,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        generation: (current.metadata.generation ?? 1) + (specChanged ? 1 : 0),
      };
      if (namespace) o.metadata.namespace = namespace;
      if (deepEqual(stripVersion(current), stripVersion(o))) return current;
      const rv = this.record('MODIFIED', o);
      this.statement('UPDATE objects SET resource_version = ?, body = ? WHERE uid = ?').run(rv, this.encode(o), current.metadata.uid);
      return o;
    });
  }

  /** Creates the object or replaces it, keeping its identity. */
  put(input: KubeObject): KubeObject {
    return this.batch(() => {
      const current = this.get(input.kind, input.metadata.namespace, input.metadata.name);
      if (!current) return this.create(input);
      const o = cloneJson(input);
      delete o.metadata.resourceVersion;
      if (o.status === undefined && current.status !== undefined) o.status = current.status;
      return this.update(o);
    });
  }

  delete(kind: string, namespace: string | undefined, name: string, expectedResourceVersion?: string): KubeObject | undefined {
    return this.batch(() => {
      const current = this.get(kind, namespace, name);
      if (!current) return undefined;
      if (expectedResourceVersion !== undefined && expectedResourceVersion !== current.metadata.resourceVersion) {
        throw new GouvernailError('StoreConflict', `${kind}/${name} was modified (resourceVersion ${current.metadata.resourceVersion}, not ${expectedResourceVersion}); read it again and retry`);
      }
      this.record('DELETED', current);
      this.statement('DELETE FROM objects WHERE uid = ?').run(current.metadata.uid);
      return current;
    });
  }

  /** Runs `fn` in one transaction: all its writes land together or none do. Nested calls join it. */
  batch<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    let result: T;
    try {
      result = this.db.transaction(fn).immediate();
    } catch (err) {
      this.pending = [];
      throw err;
    }
    const done = this.pending;
    this.pending = [];
    for (const change of done) for (const l of this.listeners) l(change);
    return result;
  }

  /**
   * Changes after `resourceVersion`, oldest first. Throws a Gone error when the feed no longer
   * holds them (compacted): the watcher must list again.
   */
  changesSince(resourceVersion: number, limit = 1000): Change[] {
    const oldest = this.statement('SELECT MIN(resource_version) AS rv FROM changes').get() as { rv: number | null };
    if (oldest.rv !== null && resourceVersion < oldest.rv - 1) {
      throw new GouvernailError('StoreGone', `resourceVersion ${resourceVersion} is too old (the change feed starts at ${oldest.rv}); list again and watch from the list's resourceVersion`);
    }
    const rows = this.statement('SELECT resource_version AS rv, type, body FROM changes WHERE resource_version > ? ORDER BY resource_version LIMIT ?').all(resourceVersion, limit) as { rv: number; type: ChangeType; body: string }[];
    return rows.map((r) => ({ type: r.type, resourceVersion: r.rv, object: this.decode(r.body) }));
  }

  /** Keeps the newest `keep` changes of the feed. */
  compact(keep: number): void {
    this.statement('DELETE FROM changes WHERE resource_version <= ?').run(this.resourceVersion() - keep);
  }

  /** Calls `listener` for each change after `fromResourceVersion`, then for every new one. */
  watch(fromResourceVersion: number, listener: Listener): () => void {
    let last = fromResourceVersion;
    const deliver = (c: Change) => {
      if (c.resourceVersion <= last) return;
      last = c.resourceVersion;
      listener(c);
    };
    for (;;) {
      const backlog = this.changesSince(last);
      backlog.forEach(deliver);
      if (backlog.length < 1000) break;
    }
    this.listeners.add(deliver);
    return () => this.listeners.delete(deliver);
  }

  private record(type: ChangeType, o: KubeObject): number {
    const info = this.statement('INSERT INTO changes (type, kind, namespace, name, body) VALUES (?, ?, ?, ?, ?)').run(type, o.kind, ns(o.kind, o.metadata.namespace), o.metadata.name, '');
    const rv = Number(info.lastInsertRowid);
    o.metadata.resourceVersion = String(rv);
    this.statement('UPDATE changes SET body = ? WHERE resource_version = ?').run(this.encode(o), rv);
    this.pending.push({ type, resourceVersion: rv, object: cloneJson(o) });
    return rv;
  }
}

function ns(kind: string, namespace: string | undefined): string {
  return isNamespaced(kind) ? (namespace || 'default') : '';
}

function withoutMeta(o: KubeObject): unknown {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

function stripVersion(o: KubeObject): unknown {
  return { ...o, metadata: { ...o.metadata, resourceVersion: undefined } };
}
