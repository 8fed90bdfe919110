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
  {
    version: 4,
    name: "actions",
    sql: `
      CREATE TABLE actions (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX actions_by_account ON actions(account_id);
    `,
  },
  {
    version: 3,
    name: "device data",
    // Buckets get a small integer id so that the millions of record rows and their index
    // entries carry 1-4 bytes per row instead of a 24-character device id. Both ids are
    // AUTOINCREMENT: a deleted record's or bucket's id is never handed out again, so a stale id
    // cannot reach someone else's data. data_dropped lists buckets whose records are still
    // being deleted (in chunks), so a restart finishes the job.
    //
    // Write cost decides the indexes: a commit rewrites every index page it touches, and a
    // bucket-prefixed index has a separate hot page per device, so with many devices each
    // such index costs a page write per record. Hence only one: (bucket, variable, time),
    // walked backwards for "newest first" (tie-breaking on seq for free); queries without a
    // variable merge that index's per-variable ranges (data_last lists a bucket's variables).
    // Groups are indexed group-first: generated groups start with their creation time, so
    // new entries land at the index's end whatever the device.
    // data_last keeps, per variable, the newest record by time, with a value, with a location,
    // and by insertion, so that last_* queries and condition triggers never scan.
    sql: `
      CREATE TABLE data_buckets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        device TEXT NOT NULL UNIQUE,
        records INTEGER NOT NULL DEFAULT 0,
        retention_days INTEGER,
        retention_records INTEGER
      );
      CREATE TABLE data_records (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        bucket INTEGER NOT NULL,
        variable TEXT NOT NULL,
        time INTEGER NOT NULL,
        vtype INTEGER NOT NULL,
        value,
        unit TEXT,
        grp TEXT NOT NULL,
        lat REAL,
        lng REAL,
        metadata TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX data_records_by_variable ON data_records(bucket, variable, time);
      CREATE INDEX data_records_by_group ON data_records(grp, bucket);
      CREATE TABLE data_last (
        bucket INTEGER NOT NULL,
        variable TEXT NOT NULL,
        item_seq INTEGER,
        item_time INTEGER,
        value_seq INTEGER,
        value_time INTEGER,
        location_seq INTEGER,
        location_time INTEGER,
        insert_seq INTEGER,
        PRIMARY KEY (bucket, variable)
      ) WITHOUT ROWID;
      CREATE TABLE data_dropped (bucket INTEGER PRIMARY KEY);
      CREATE TABLE device_params (
        id TEXT PRIMARY KEY,
        device TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        sent INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX device_params_by_device ON device_params(device, created_at);
    `,
  },
  {
    version: 5,
    name: "inspector switches",
    sql: `
      CREATE TABLE inspector_disabled (
        device TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 6,
    name: "analyses",
    // An analysis's token is a real account token (token_id → account_tokens): Resources and
    // Device calls made with context.token then authenticate like any account call. TagoIO
    // shows the token on the analysis, so it is kept here in clear beside its hashed row; the
    // analysis and its token row are deleted together. The script is stored here too (the
    // store is the one source of truth); the runner copies it into a per-analysis directory.
    sql: `
      CREATE TABLE analyses (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT,
        active INTEGER NOT NULL DEFAULT 1,
        run_on TEXT NOT NULL CHECK (run_on IN ('sluice','external')),
        variables TEXT NOT NULL DEFAULT '[]',
        tags TEXT NOT NULL DEFAULT '[]',
        token TEXT NOT NULL,
        token_id TEXT NOT NULL UNIQUE,
        file_name TEXT,
        module TEXT CHECK (module IN ('cjs','esm')),
        code BLOB,
        code_version INTEGER NOT NULL DEFAULT 0,
        last_run INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX analyses_by_account ON analyses(account_id, name);
    `,
  },
  {
    version: 7,
    name: "notifications and webhook dead letters",
    // Both lists are bounded per account and read newest first, so `seq` (insertion order)
    // leads their indexes after the account; deleting past the bound walks the same index.
    // `body` keeps the SDK fields that are only stored and returned (icon, buttons...).
    sql: `
      CREATE TABLE notifications (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        message TEXT NOT NULL,
        read INTEGER NOT NULL DEFAULT 0,
        body TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL
      );
      CREATE INDEX notifications_by_account ON notifications(account_id, seq);
      CREATE TABLE webhook_dead_letters (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        action_id TEXT NOT NULL,
        device_id TEXT,
        url TEXT NOT NULL,
        status INTEGER,
        attempts INTEGER NOT NULL,
        error TEXT NOT NULL,
        body TEXT NOT NULL,
        first_attempt_at INTEGER NOT NULL,
        failed_at INTEGER NOT NULL
      );
      CREATE INDEX webhook_dead_letters_by_account ON webhook_dead_letters(account_id, seq);
      CREATE INDEX webhook_dead_letters_by_action ON webhook_dead_letters(action_id, seq);
    `,
  },
  {
    version: 8,
    name: "mqtt relays",
    // One row per relay: its settings as JSON (what the API edits), its credentials apart and
    // encrypted (relay/secrets.ts). relay_downlink is each relay's persisted QoS 1/2 downlink
    // queue, drained in seq order. The serie_number index serves relays that map a topic
    // segment or payload field to a device token's serial.
    sql: `
      CREATE TABLE relays (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        settings TEXT NOT NULL,
        secrets TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX relays_by_account ON relays(account_id, created_at);
      CREATE TABLE relay_downlink (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        relay TEXT NOT NULL REFERENCES relays(id) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        qos INTEGER NOT NULL,
        retain INTEGER NOT NULL,
        queued_at INTEGER NOT NULL
      );
      CREATE INDEX relay_downlink_by_relay ON relay_downlink(relay, seq);
      CREATE INDEX device_tokens_by_serie ON device_tokens(account_id, serie_number) WHERE serie_number IS NOT NULL;
    `,
  },
  {
    // 6, 7 and 8 belong to analyses, notifications and relays.
    version: 9,
    name: "plans and usage",
    sql: `
      ALTER TABLE accounts ADD COLUMN plan TEXT;
      ALTER TABLE accounts ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
      UPDATE accounts SET admin = 1 WHERE id = (SELECT id FROM accounts ORDER BY created_at, rowid LIMIT 1);
      CREATE TABLE account_usage (
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        period TEXT NOT NULL,
        metric TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (account_id, period, metric)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 10,
    name: "account token management",
    // Account tokens become listable and revocable (docs/accounts.md). `prefix` is the token's
    // first 8 characters, so a list can show which token is which without the token (tokens
    // made before this migration have none and show fully masked). `analysis_id` marks the
    // analyses' tokens (migration 6) so lists can mark them and revocation can refuse them;
    // rows made before it are backfilled from analyses.token_id. The expiry index serves the
    // expiry watch, which now ends streams opened with an expiring account token.
    sql: `
      ALTER TABLE account_tokens ADD COLUMN permission TEXT NOT NULL DEFAULT 'full' CHECK (permission IN ('full','write','read'));
      ALTER TABLE account_tokens ADD COLUMN prefix TEXT;
      ALTER TABLE account_tokens ADD COLUMN last_authorization INTEGER;
      ALTER TABLE account_tokens ADD COLUMN analysis_id TEXT;
      UPDATE account_tokens SET analysis_id = (SELECT a.id FROM analyses a WHERE a.token_id = account_tokens.id);
      CREATE INDEX account_tokens_by_account ON account_tokens(account_id, created_at);
      CREATE INDEX account_tokens_by_expiry ON account_tokens(expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
  {
    version: 11,
    name: "session subscriptions as rows",
    // A SUBSCRIBE used to rewrite its whole session (the subscriptions as one JSON column, and
    // every stored message): quadratic in the subscriptions a session piles up. One row per
    // subscription lets SUBSCRIBE and UNSUBSCRIBE write only the filters they name.
    sql: `
      CREATE TABLE session_subscriptions (
        namespace TEXT NOT NULL,
        client_id TEXT NOT NULL,
        filter TEXT NOT NULL,
        qos INTEGER NOT NULL,
        nl INTEGER NOT NULL,
        rap INTEGER NOT NULL,
        rh INTEGER NOT NULL,
        sub_id INTEGER,
        PRIMARY KEY (namespace, client_id, filter)
      ) WITHOUT ROWID;
      INSERT OR REPLACE INTO session_subscriptions (namespace, client_id, filter, qos, nl, rap, rh, sub_id)
        SELECT s.namespace, s.client_id, json_extract(j.value, '$.filter'), json_extract(j.value, '$.qos'),
               coalesce(json_extract(j.value, '$.nl'), 0), coalesce(json_extract(j.value, '$.rap'), 0),
               coalesce(json_extract(j.value, '$.rh'), 0), json_extract(j.value, '$.id')
        FROM sessions s, json_each(s.subscriptions) j;
      ALTER TABLE sessions DROP COLUMN subscriptions;
    `,
  },
  {
    version: 12,
    name: "offline session queue as a log",
    // A publish fanned out to N offline sessions wrote N rows of session_messages, keyed by
    // session: N copies of the payload, each on a page of its own, so one commit wrote ~N pages
    // (2 000 sessions: ~8 MB of WAL per publish, ~100 ms of the event loop). Now a queued message
    // is ONE row appended to session_queue, its payload once, with its copies packed in `copies`
    // (9 bytes each: generation u32 BE, seq u32 BE, flags u8 = qos | retain << 2): one commit
    // dirties a handful of pages whatever N is. A copy names its session by `generation`, which
    // a session takes anew whenever its stored messages are rewritten or it starts afresh, so a
    // copy left over from before can never attach to a new session with the same client id.
    // session_messages keeps what a session holds when it goes offline (in flight and queued).
    // Queued rows move to the log, one row per distinct message.
    sql: `
      ALTER TABLE sessions ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
      UPDATE sessions SET generation = (
        SELECT count(*) FROM sessions s2
        WHERE s2.namespace < sessions.namespace OR (s2.namespace = sessions.namespace AND s2.client_id <= sessions.client_id)
      );
      CREATE TABLE session_queue (
        id INTEGER PRIMARY KEY,
        namespace TEXT NOT NULL,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        qos INTEGER NOT NULL,
        properties TEXT,
        expires_at INTEGER,
        copies BLOB NOT NULL,
        subscription_ids TEXT,
        max_generation INTEGER NOT NULL
      );
      INSERT INTO session_queue (namespace, topic, payload, qos, properties, expires_at, copies, subscription_ids, max_generation)
        SELECT m.namespace, m.topic, m.payload, max(m.qos), m.properties, m.expires_at,
               unhex(group_concat(printf('%08X%08X%02X', s.generation, m.seq, m.qos | (m.retain << 2)), '')),
               NULL, max(s.generation)
        FROM session_messages m JOIN sessions s ON s.namespace = m.namespace AND s.client_id = m.client_id
        WHERE m.state = 'queued'
        GROUP BY m.namespace, m.topic, m.payload, m.properties, m.expires_at
        ORDER BY min(m.seq);
      DELETE FROM session_messages WHERE state = 'queued';
    `,
  },
  {
    version: 13,
    name: "device tokens minted by an analysis token",
    // A device token created with an analysis token records that account token's id: when the
    // analysis token is regenerated (a leak noticed), the device tokens it minted are revoked
    // with it. NULL for tokens created any other way; deleting the analysis keeps them.
    sql: `
      ALTER TABLE device_tokens ADD COLUMN minted_by TEXT;
      CREATE INDEX device_tokens_by_minted_by ON device_tokens(minted_by) WHERE minted_by IS NOT NULL;
    `,
  },
  {
    version: 14,
    name: "users, sign-in sessions, setup links",
    // Users sign in to an account with an email and a password (scrypt, identity/passwords.ts).
    // The email is stored normalized (lower case) so one index keeps it unique across accounts.
    // Sessions and setup links store only SHA-256 hashes of their random tokens, like tokens.
    // `user_sessions`, not `sessions`: that one is the broker's MQTT sessions.
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        email TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        password_hash TEXT,
        created_at INTEGER NOT NULL,
        last_login INTEGER
      );
      CREATE INDEX users_by_account ON users(account_id, created_at);
      CREATE TABLE user_sessions (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX user_sessions_by_user ON user_sessions(user_id, created_at);
      CREATE INDEX user_sessions_by_expiry ON user_sessions(expires_at);
      CREATE INDEX user_sessions_by_last_seen ON user_sessions(last_seen_at);
      CREATE TABLE user_setup_tokens (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX user_setup_tokens_by_user ON user_setup_tokens(user_id);
    `,
  },
  {
    version: 15,
    name: "device list in SQL: name sort key, last input",
    // `GET /device` pages in SQL at 100 000 devices, so each order it offers has an index that
    // ends in the id (the tie-break): name by `name_key` (store/name_key.ts, filled by the
    // repository, which also fills it for rows older than this migration) then the name itself,
    // which a name filter then reads from the index, not from each row; created_at,
    // updated_at, and last_input (NULL, never heard from, is listed last either way).
    // `name_lower`: the name in JavaScript's lower case, as the list's wildcard matcher reads it,
    // so SQL finds `*text*` with instr() instead of calling JavaScript for each row.
    // `last_input`: epoch ms of the device's newest message or data, written in batches
    // (identity/last_input.ts), never on the message's path.
    sql: `
      ALTER TABLE devices ADD COLUMN name_key TEXT;
      ALTER TABLE devices ADD COLUMN name_lower TEXT;
      ALTER TABLE devices ADD COLUMN last_input INTEGER;
      DROP INDEX devices_by_account;
      CREATE INDEX devices_by_created ON devices(account_id, created_at, id);
      CREATE INDEX devices_by_updated ON devices(account_id, updated_at, id);
      CREATE INDEX devices_by_name ON devices(account_id, name_key, name, id);
      CREATE INDEX devices_by_last_input ON devices(account_id, last_input, id);
    `,
  },
];
