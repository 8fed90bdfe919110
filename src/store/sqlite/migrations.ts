/**
 * Numbered schema migrations. Each runs once, in order, inside a transaction; the applied
 * version is kept in `PRAGMA user_version`. Never edit a released migration: add the next.
 */
export const migrations: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: "identity",
    sql: `
      CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE account_tokens (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        token_hash TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER
      );
      CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        tags TEXT NOT NULL DEFAULT '[]',
        extra TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX devices_by_account ON devices(account_id, created_at);
      CREATE TABLE device_tokens (
        id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        name TEXT NOT NULL,
        permission TEXT NOT NULL CHECK (permission IN ('full','write','read')),
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        serie_number TEXT,
        last_authorization INTEGER
      );
      CREATE INDEX device_tokens_by_device ON device_tokens(device_id);
      CREATE INDEX device_tokens_by_expiry ON device_tokens(expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
  {
    version: 2,
    name: "broker state",
    sql: `
      CREATE TABLE retained (
        namespace TEXT NOT NULL,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        qos INTEGER NOT NULL,
        properties TEXT,
        expires_at INTEGER,
        PRIMARY KEY (namespace, topic)
      ) WITHOUT ROWID;
      CREATE TABLE sessions (
        namespace TEXT NOT NULL,
        client_id TEXT NOT NULL,
        expiry_interval INTEGER NOT NULL,
        disconnected_at INTEGER,
        subscriptions TEXT NOT NULL,
        incoming_qos2 TEXT NOT NULL,
        principal TEXT,
        PRIMARY KEY (namespace, client_id)
      ) WITHOUT ROWID;
      CREATE TABLE session_messages (
        namespace TEXT NOT NULL,
        client_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        state TEXT NOT NULL,
        packet_id INTEGER,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        qos INTEGER NOT NULL,
        retain INTEGER NOT NULL,
        properties TEXT,
        expires_at INTEGER,
        PRIMARY KEY (namespace, client_id, seq)
      ) WITHOUT ROWID;
    `,
  },
];
