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
  constructor(private readonly db: Db, private readonly node: string) {}

  get(type: DockerResourceType, name: string): DockerRecord | undefined {
    const row = this.db.prepare('SELECT type, name, state, owner, delete_when_released AS d FROM docker_resources WHERE node = ? AND type = ? AND name = ?').get(this.node, type, name) as { type: DockerResourceType; name: string; state: RecordState; owner: string; d: number } | undefined;
    return row && { type: row.type, name: row.name, state: row.state, owner: row.owner, deleteWhenReleased: row.d === 1 };
  }

  list(type: DockerResourceType): DockerRecord[] {
    return (this.db.prepare('SELECT type, name, state, owner, delete_when_released AS d FROM docker_resources WHERE node = ? AND type = ?').all(this.node, type) as { type: DockerResourceType; name: string; state: RecordState; owner: string; d: number }[]).map((row) => ({ type: row.type, name: row.name, state: row.state, owner: row.owner, deleteWhenReleased: row.d === 1 }));
  }

  /** Writes the record (before the Docker call that creates the resource, and again when ready). */
  put(type: DockerResourceType, name: string, state: RecordState, owner = ''): void {
    this.db
      .prepare(`INSERT INTO docker_resources (node, type, name, state, owner, recorded_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (node, type, name) DO UPDATE SET state = excluded.state, owner = excluded.owner`)
      .run(this.node, type, name, state, owner, new Date().toISOString());
  }

  /** Marks a volume for removal once nothing uses it (its claim was deleted with delete-volume). */
  markDeleteWhenReleased(name: string): void {
    this.db.prepare("UPDATE docker_resources SET delete_when_released = 1 WHERE node = ? AND type = 'volume' AND name = ?").run(this.node, name);
  }

  /** Forgets a resource, once Docker no longer has it. */
  remove(type: DockerResourceType, name: string): void {
    this.db.prepare('DELETE FROM docker_resources WHERE node = ? AND type = ? AND name = ?').run(this.node, type, name);
  }

  owns(type: DockerResourceType, name: string): boolean {
    return this.get(type, name) !== undefined;
  }
}
