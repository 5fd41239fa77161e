import type Database from 'better-sqlite3';
import type { Db } from './database.js';

export type DockerResourceType = 'container' | 'network' | 'volume';

/**
 * `creating`: the intent, written before the Docker call (a crash after it still finds the
 * resource Gouvernail's). `ready`: created and, for a container, its files copied in: only then
 * may it start.
 */
export type RecordState = 'creating' | 'ready';

export interface DockerRecord {
  type: DockerResourceType;
  name: string;
  state: RecordState;
  owner: string;
  deleteWhenReleased: boolean;
}

/**
 * The Docker resources Gouvernail created on one node, by record. A label says whose a resource
 * claims to be; only a record lets Gouvernail delete it.
 */
export class DockerRecords {
  /** Statements prepared once: the node agent reads a record for every container every pass. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Db, private readonly node: string) {}

  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  get(type: DockerResourceType, name: string): DockerRecord | undefined {
    const row = this.sql('SELECT type, name, state, owner, delete_when_released AS d FROM docker_resources WHERE node = ? AND type = ? AND name = ?').get(this.node, type, name) as { type: DockerResourceType; name: string; state: RecordState; owner: string; d: number } | undefined;
    return row && { type: row.type, name: row.name, state: row.state, owner: row.owner, deleteWhenReleased: row.d === 1 };
  }

  list(type: DockerResourceType): DockerRecord[] {
    return (this.sql('SELECT type, name, state, owner, delete_when_released AS d FROM docker_resources WHERE node = ? AND type = ?').all(this.node, type) as { type: DockerResourceType; name: string; state: RecordState; owner: string; d: number }[]).map((row) => ({ type: row.type, name: row.name, state: row.state, owner: row.owner, deleteWhenReleased: row.d === 1 }));
  }

  /** Writes the record (before the Docker call that creates the resource, and again when ready). */
  put(type: DockerResourceType, name: string, state: RecordState, owner = ''): void {
    this
      .sql(`INSERT INTO docker_resources (node, type, name, state, owner, recorded_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (node, type, name) DO UPDATE SET state = excluded.state, owner = excluded.owner`)
      .run(this.node, type, name, state, owner, new Date().toISOString());
  }

  private queued: { type: DockerResourceType; name: string; state: RecordState; owner: string; done: () => void; failed: (err: Error) => void }[] = [];

  /**
   * The same write, gathered with the others made in the same turn of the event loop into one
   * transaction (one fsync for 50 containers starting, not 50); resolves once it is committed,
   * so the Docker call that follows comes after the record.
   */
  putSoon(type: DockerResourceType, name: string, state: RecordState, owner = ''): Promise<void> {
    return new Promise((done, failed) => {
      if (this.queued.length === 0) setImmediate(() => this.flushQueued());
      this.queued.push({ type, name, state, owner, done, failed });
    });
  }

  private flushQueued(): void {
    const batch = this.queued;
    this.queued = [];
    try {
      this.db.transaction(() => {
        for (const q of batch) this.put(q.type, q.name, q.state, q.owner);
      })();
      for (const q of batch) q.done();
    } catch (err) {
      for (const q of batch) q.failed(err as Error);
    }
  }

  /** Marks a volume for removal once nothing uses it (its claim was deleted with delete-volume). */
  markDeleteWhenReleased(name: string): void {
    this.sql("UPDATE docker_resources SET delete_when_released = 1 WHERE node = ? AND type = 'volume' AND name = ?").run(this.node, name);
  }

  /** Forgets a resource, once Docker no longer has it. */
  remove(type: DockerResourceType, name: string): void {
    this.sql('DELETE FROM docker_resources WHERE node = ? AND type = ? AND name = ?').run(this.node, type, name);
  }

  owns(type: DockerResourceType, name: string): boolean {
    return this.get(type, name) !== undefined;
  }
}
