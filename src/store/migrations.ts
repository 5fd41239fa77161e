/** Schema migrations, applied in order; PRAGMA user_version is the number applied. Never edit one that shipped. */
export const migrations: string[] = [
  `CREATE TABLE objects (
     uid TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     namespace TEXT NOT NULL,
     name TEXT NOT NULL,
     resource_version INTEGER NOT NULL,
     body TEXT NOT NULL,
     UNIQUE (kind, namespace, name)
   );
   CREATE TABLE changes (
     resource_version INTEGER PRIMARY KEY AUTOINCREMENT,
     type TEXT NOT NULL CHECK (type IN ('ADDED', 'MODIFIED', 'DELETED')),
     kind TEXT NOT NULL,
     namespace TEXT NOT NULL,
     name TEXT NOT NULL,
     body TEXT NOT NULL
   );`,
  // What Gouvernail created on each node's engine, written before the Docker call: only these are
  // its to delete. And the controllers' own state that must survive a restart (drift records,
  // webhook deliveries), kept apart from the API's objects.
  `CREATE TABLE docker_resources (
     node TEXT NOT NULL,
     type TEXT NOT NULL CHECK (type IN ('container', 'network', 'volume')),
     name TEXT NOT NULL,
     state TEXT NOT NULL,
     owner TEXT NOT NULL DEFAULT '',
     delete_when_released INTEGER NOT NULL DEFAULT 0,
     recorded_at TEXT NOT NULL,
     PRIMARY KEY (node, type, name)
   );
   CREATE TABLE controller_state (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );`,
];
