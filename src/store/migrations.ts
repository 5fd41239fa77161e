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
];
