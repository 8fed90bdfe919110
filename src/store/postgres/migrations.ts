/**
 * PostgreSQL schema migrations, numbered like store/sqlite/migrations.ts and never edited once
 * released: add the next. Applied versions are rows of `schema_migrations`. `migrate` runs
 * them all in ONE transaction holding an advisory lock, so several nodes started at once
 * migrate exactly once: the others wait on the lock, then find the versions applied.
 *
 * The tables mirror SQLite's (same names, same columns where they mean the same) with
 * PostgreSQL types: times are BIGINT epoch ms, JSON kept as text where it is only stored and
 * returned (key order kept, nothing to re-encode), `jsonb` where SQL reads inside it. Text
 * that is sorted or compared for order is COLLATE "C" (byte order, as SQLite and the in-memory
 * lists compare), whatever locale the database was created with.
 */
import type { Pool } from "./pool.js";

export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

/** Records before 2000 and from 2100 on land in two fixed partitions (see migration 3). */
export const PARTITIONED_FROM = Date.UTC(2000, 0, 1);
export const PARTITIONED_TO = Date.UTC(2100, 0, 1);

export const pgMigrations: PgMigration[] = [
  {
    version: 1,
    name: "identity",
    // As SQLite's migrations 1, 9, 10, 13 and 15 left them. `tags_lower`: the tags in
    // JavaScript's lower case (store/wildcard.ts matches case-insensitively, and PostgreSQL's
    // lower() under the C locale folds ASCII only); written by the repository, like name_key.
    sql: `
      CREATE TABLE accounts (
        id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        plan TEXT,
        admin BOOLEAN NOT NULL DEFAULT false,
        rank BIGSERIAL NOT NULL
      );
      CREATE TABLE account_tokens (
        id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        token_hash TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        permission TEXT NOT NULL DEFAULT 'full' CHECK (permission IN ('full','write','read')),
        prefix TEXT,
        last_authorization BIGINT,
        analysis_id TEXT
      );
      CREATE INDEX account_tokens_by_account ON account_tokens(account_id, created_at);
      CREATE INDEX account_tokens_by_expiry ON account_tokens(expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE devices (
        id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT COLLATE "C" NOT NULL,
        name_key TEXT COLLATE "C" NOT NULL,
        name_lower TEXT NOT NULL,
        active BOOLEAN NOT NULL DEFAULT true,
        tags JSONB NOT NULL DEFAULT '[]',
        tags_lower JSONB NOT NULL DEFAULT '[]',
        extra TEXT NOT NULL DEFAULT '{}',
        visible BOOLEAN NOT NULL DEFAULT true,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        last_input BIGINT
      );
      CREATE INDEX devices_by_created ON devices(account_id, created_at, id);
      CREATE INDEX devices_by_updated ON devices(account_id, updated_at, id);
      CREATE INDEX devices_by_name ON devices(account_id, name_key, name, id);
      CREATE INDEX devices_by_last_input ON devices(account_id, last_input, id);
      CREATE TABLE device_tokens (
        id TEXT COLLATE "C" PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        name TEXT NOT NULL,
        permission TEXT NOT NULL CHECK (permission IN ('full','write','read')),
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        serie_number TEXT,
        last_authorization BIGINT,
        minted_by TEXT
      );
      CREATE INDEX device_tokens_by_device ON device_tokens(device_id, created_at);
      CREATE INDEX device_tokens_by_expiry ON device_tokens(expires_at) WHERE expires_at IS NOT NULL;
      CREATE INDEX device_tokens_by_serie ON device_tokens(account_id, serie_number) WHERE serie_number IS NOT NULL;
      CREATE INDEX device_tokens_by_minted_by ON device_tokens(minted_by) WHERE minted_by IS NOT NULL;
    `,
  },
  {
    version: 2,
    name: "broker state",
    // Retained messages and persistent sessions. A message queued for offline sessions is one
    // session_queue row (its payload once) and one small session_queue_copies row per session
    // naming it: unlike SQLite's packed copies (migration 12 there), which rely on generations
    // held in one process's memory, rows keep working when several nodes share the store.
    // A copy goes with its session; a queue row left without copies is collected.
    sql: `
      CREATE TABLE retained (
        namespace TEXT NOT NULL,
        topic TEXT NOT NULL,
        payload BYTEA NOT NULL,
        qos SMALLINT NOT NULL,
        properties TEXT,
        expires_at BIGINT,
        PRIMARY KEY (namespace, topic)
      );
      CREATE TABLE sessions (
        namespace TEXT NOT NULL,
        client_id TEXT NOT NULL,
        expiry_interval BIGINT NOT NULL,
        disconnected_at BIGINT,
        incoming_qos2 TEXT NOT NULL,
        principal TEXT,
        PRIMARY KEY (namespace, client_id)
      );
      CREATE TABLE session_subscriptions (
        namespace TEXT NOT NULL,
        client_id TEXT NOT NULL,
        filter TEXT NOT NULL,
        qos SMALLINT NOT NULL,
        nl BOOLEAN NOT NULL,
        rap BOOLEAN NOT NULL,
        rh SMALLINT NOT NULL,
        sub_id INTEGER,
        PRIMARY KEY (namespace, client_id, filter)
      );
      CREATE TABLE session_messages (
        namespace TEXT NOT NULL,
        client_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        state TEXT NOT NULL,
        packet_id INTEGER,
        topic TEXT NOT NULL,
        payload BYTEA NOT NULL,
        qos SMALLINT NOT NULL,
        retain BOOLEAN NOT NULL,
        properties TEXT,
        expires_at BIGINT,
        PRIMARY KEY (namespace, client_id, seq)
      );
      CREATE TABLE session_queue (
        id BIGSERIAL PRIMARY KEY,
        namespace TEXT NOT NULL,
        topic TEXT NOT NULL,
        payload BYTEA NOT NULL,
        qos SMALLINT NOT NULL,
        properties TEXT,
        expires_at BIGINT
      );
      CREATE TABLE session_queue_copies (
        namespace TEXT NOT NULL,
        client_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        queue_id BIGINT NOT NULL REFERENCES session_queue(id) ON DELETE CASCADE,
        qos SMALLINT NOT NULL,
        retain BOOLEAN NOT NULL,
        subscription_ids INTEGER[],
        PRIMARY KEY (namespace, client_id, seq)
      );
      CREATE INDEX session_queue_copies_by_message ON session_queue_copies(queue_id);
    `,
  },
  {
    version: 3,
    name: "device data",
    // As SQLite's migration 3, with the records table partitioned by record time (declarative
    // range partitioning, one partition per calendar month, created on demand by the bucket
    // store; see docs/cluster.md for why monthly). Record times are the client's: any date a
    // JavaScript Date holds. So that no input can make partitions without bound, months are
    // made only within [2000, 2100); a time before or after lands in one of two fixed
    // partitions. A partitioned table's indexes must hold the partition key, and need not be
    // unique: seqs come from one sequence, unique by construction.
    // Indexes: (bucket, variable, time, seq) serves every query kind (a range per variable,
    // walked either way; downsample's per-bucket ranges); (grp, bucket) group lookups; (seq)
    // lookups by record id (edits, deletes, ids filters, a merged page's rows).
    // The value keeps its JSON type through vtype (0 none, 1 number, 2 string, 3 boolean):
    // numbers and booleans (0/1) in num, strings in str, so numeric queries read a float column.
    sql: `
      CREATE TABLE data_buckets (
        id BIGSERIAL PRIMARY KEY,
        device TEXT NOT NULL UNIQUE,
        records BIGINT NOT NULL DEFAULT 0,
        retention_days INTEGER,
        retention_records BIGINT
      );
      CREATE SEQUENCE data_records_seq;
      CREATE TABLE data_records (
        seq BIGINT NOT NULL,
        bucket BIGINT NOT NULL,
        variable TEXT COLLATE "C" NOT NULL,
        time BIGINT NOT NULL,
        vtype SMALLINT NOT NULL,
        num DOUBLE PRECISION,
        str TEXT,
        unit TEXT,
        grp TEXT COLLATE "C" NOT NULL,
        lat DOUBLE PRECISION,
        lng DOUBLE PRECISION,
        metadata TEXT,
        created_at BIGINT NOT NULL
      ) PARTITION BY RANGE (time);
      CREATE INDEX data_records_by_variable ON data_records(bucket, variable, time, seq);
      CREATE INDEX data_records_by_group ON data_records(grp, bucket);
      CREATE INDEX data_records_by_seq ON data_records(seq);
      CREATE TABLE data_records_before PARTITION OF data_records FOR VALUES FROM (MINVALUE) TO (${PARTITIONED_FROM});
      CREATE TABLE data_records_after PARTITION OF data_records FOR VALUES FROM (${PARTITIONED_TO}) TO (MAXVALUE);
      CREATE TABLE data_last (
        bucket BIGINT NOT NULL,
        variable TEXT COLLATE "C" NOT NULL,
        item_seq BIGINT,
        item_time BIGINT,
        value_seq BIGINT,
        value_time BIGINT,
        location_seq BIGINT,
        location_time BIGINT,
        insert_seq BIGINT,
        PRIMARY KEY (bucket, variable)
      );
      CREATE TABLE data_dropped (bucket BIGINT PRIMARY KEY);
    `,
  },
  {
    version: 4,
    name: "users, sign-in sessions, setup links",
    // As SQLite's migration 14.
    sql: `
      CREATE TABLE users (
        id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        email TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        password_hash TEXT,
        created_at BIGINT NOT NULL,
        last_login BIGINT
      );
      CREATE INDEX users_by_account ON users(account_id, created_at);
      CREATE TABLE user_sessions (
        id TEXT COLLATE "C" PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX user_sessions_by_user ON user_sessions(user_id, created_at);
      CREATE INDEX user_sessions_by_expiry ON user_sessions(expires_at);
      CREATE INDEX user_sessions_by_last_seen ON user_sessions(last_seen_at);
      CREATE TABLE user_setup_tokens (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX user_setup_tokens_by_user ON user_setup_tokens(user_id);
    `,
  },
  {
    version: 5,
    name: "actions",
    // As SQLite's migration 4: actions are few and read whole at start, one JSON text each.
    sql: `
      CREATE TABLE actions (
        id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        body TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX actions_by_account ON actions(account_id);
    `,
  },
  {
    version: 6,
    name: "platform",
    // As SQLite's migrations 6 (analyses), 7 (notifications, webhook dead letters), 8 (relays)
    // and 17 (dashboards). `rank` stands for SQLite's rowid where a list breaks ties by it
    // (analyses by name, relays, dashboards and widgets by creation time), so both stores list
    // alike. `seq` is insertion order, as SQLite's AUTOINCREMENT: the per-account bounds of
    // notifications and dead letters keep the newest by it, and a relay's downlink queue
    // drains in it.
    sql: `
      CREATE TABLE analyses (
        id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT COLLATE "C" NOT NULL,
        description TEXT,
        active BOOLEAN NOT NULL DEFAULT true,
        run_on TEXT NOT NULL CHECK (run_on IN ('sluice','external')),
        variables TEXT NOT NULL DEFAULT '[]',
        tags TEXT NOT NULL DEFAULT '[]',
        token TEXT NOT NULL,
        token_id TEXT NOT NULL UNIQUE,
        file_name TEXT,
        module TEXT CHECK (module IN ('cjs','esm')),
        code BYTEA,
        code_version INTEGER NOT NULL DEFAULT 0,
        last_run BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        rank BIGSERIAL NOT NULL
      );
      CREATE INDEX analyses_by_account ON analyses(account_id, name, rank);
      CREATE TABLE notifications (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        message TEXT NOT NULL,
        read BOOLEAN NOT NULL DEFAULT false,
        body TEXT NOT NULL DEFAULT '{}',
        created_at BIGINT NOT NULL
      );
      CREATE INDEX notifications_by_account ON notifications(account_id, seq);
      CREATE TABLE webhook_dead_letters (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        action_id TEXT NOT NULL,
        device_id TEXT,
        url TEXT NOT NULL,
        status INTEGER,
        attempts INTEGER NOT NULL,
        error TEXT NOT NULL,
        body TEXT NOT NULL,
        first_attempt_at BIGINT NOT NULL,
        failed_at BIGINT NOT NULL
      );
      CREATE INDEX webhook_dead_letters_by_account ON webhook_dead_letters(account_id, seq);
      CREATE INDEX webhook_dead_letters_by_action ON webhook_dead_letters(action_id, seq);
      CREATE TABLE relays (
        id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        settings TEXT NOT NULL,
        secrets TEXT NOT NULL DEFAULT '{}',
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        rank BIGSERIAL NOT NULL
      );
      CREATE INDEX relays_by_account ON relays(account_id, created_at);
      CREATE TABLE relay_downlink (
        seq BIGSERIAL PRIMARY KEY,
        relay TEXT NOT NULL REFERENCES relays(id) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        payload BYTEA NOT NULL,
        qos SMALLINT NOT NULL,
        retain BOOLEAN NOT NULL,
        queued_at BIGINT NOT NULL
      );
      CREATE INDEX relay_downlink_by_relay ON relay_downlink(relay, seq);
      CREATE TABLE dashboards (
        id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        body TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        rank BIGSERIAL NOT NULL
      );
      CREATE INDEX dashboards_by_account ON dashboards(account_id, created_at, rank);
      CREATE TABLE dashboard_widgets (
        id TEXT COLLATE "C" PRIMARY KEY,
        dashboard_id TEXT NOT NULL REFERENCES dashboards(id) ON DELETE CASCADE,
        body TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        rank BIGSERIAL NOT NULL
      );
      CREATE INDEX dashboard_widgets_by_dashboard ON dashboard_widgets(dashboard_id, created_at, rank);
      CREATE TABLE dashboard_shares (
        dashboard_id TEXT COLLATE "C" PRIMARY KEY REFERENCES dashboards(id) ON DELETE CASCADE,
        key_hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT
      );
    `,
  },
  {
    version: 7,
    name: "reports_params_usage",
    // As SQLite's migrations 3 (device_params), 5 (inspector_disabled), 9 (account_usage) and 16
    // (reports, account_files). `rank` stands in for SQLite's rowid where lists order by it
    // after created_at (params, files). account_usage.value is a sum of deltas that every node
    // adds to (store/postgres/usage.ts), never a total one node writes; by period: a node's start
    // reads the month's counters of every account at once. File bodies are bytea; files and
    // reports have no foreign key to accounts, as in SQLite (the report service removes a
    // report's files with it).
    sql: `
      CREATE TABLE device_params (
        id TEXT COLLATE "C" PRIMARY KEY,
        device TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        sent BOOLEAN NOT NULL DEFAULT false,
        created_at BIGINT NOT NULL,
        rank BIGSERIAL NOT NULL
      );
      CREATE INDEX device_params_by_device ON device_params(device, created_at, rank);
      CREATE TABLE inspector_disabled (
        device TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE
      );
      CREATE TABLE account_usage (
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        period TEXT COLLATE "C" NOT NULL,
        metric TEXT COLLATE "C" NOT NULL,
        value BIGINT NOT NULL,
        PRIMARY KEY (account_id, period, metric)
      );
      CREATE INDEX account_usage_by_period ON account_usage(period);
      CREATE TABLE reports (
        id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        definition TEXT NOT NULL,
        share_key TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        last_run_at BIGINT,
        last_status TEXT,
        last_message TEXT,
        last_files TEXT
      );
      CREATE INDEX reports_by_account ON reports(account_id, created_at, id);
      CREATE TABLE account_files (
        id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('report','attachment')),
        report_id TEXT,
        name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        data BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        rank BIGSERIAL NOT NULL
      );
      CREATE INDEX account_files_by_account ON account_files(account_id, created_at, rank);
      CREATE INDEX account_files_by_report ON account_files(report_id, created_at, rank) WHERE report_id IS NOT NULL;
    `,
  },
  {
    version: 8,
    name: "session owners",
    // A persistent session lives in one node's memory at a time (docs/cluster.md, "Persistent
    // sessions on any node"): `node` names it (NULL: a node without a cluster, or none yet), so
    // a node loads only its own at start, another takes it over by compare-and-set, and a write
    // from a node that no longer owns it changes nothing. `bus_id` is a queued message's identity
    // on the bus (origin and sequence of its envelope): a node taking a session over drops the
    // copies it got from the bus itself that the previous owner had already stored.
    sql: `
      ALTER TABLE sessions ADD COLUMN node TEXT;
      CREATE INDEX sessions_by_node ON sessions(node);
      ALTER TABLE session_queue ADD COLUMN bus_id TEXT;
      ALTER TABLE session_messages ADD COLUMN bus_id TEXT;
    `,
  },
  {
    version: 9,
    name: "cluster coordination: live nodes, live MQTT connections, shared plan rates",
    // docs/cluster.md, "Plan limits across nodes". UNLOGGED: live state, not data. A crash of
    // PostgreSQL empties these tables; each node then finds its liveness row gone and writes its
    // live connections again (cluster/shared_limits.ts), and rate buckets start full.
    sql: `
      CREATE UNLOGGED TABLE cluster_nodes (
        origin TEXT COLLATE "C" PRIMARY KEY,
        seen_at BIGINT NOT NULL
      );
      CREATE UNLOGGED TABLE cluster_connections (
        account_id TEXT COLLATE "C" NOT NULL,
        client_id TEXT COLLATE "C" NOT NULL,
        device_id TEXT COLLATE "C" NOT NULL,
        origin TEXT COLLATE "C" NOT NULL,
        conn TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (account_id, client_id)
      );
      CREATE INDEX cluster_connections_by_origin ON cluster_connections(origin);
      CREATE UNLOGGED TABLE plan_rate_buckets (
        account_id TEXT COLLATE "C" NOT NULL,
        metric TEXT COLLATE "C" NOT NULL,
        tokens DOUBLE PRECISION NOT NULL,
        updated_at BIGINT NOT NULL,
        granted DOUBLE PRECISION NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, metric)
      );
    `,
  },
  {
    version: 10,
    name: "node liveness by lock: cluster_nodes dropped",
    // docs/cluster.md, "Plan limits across nodes": a node is alive while it holds its liveness
    // lock (cluster/liveness.ts), so the heartbeat rows are gone. `cluster_connections.origin`
    // now names the node id that lock is named by (it held node id and a per-start nonce): rows
    // left in the old form match no lock, count as dead nodes' and are swept.
    sql: `
      DROP TABLE cluster_nodes;
    `,
  },
  {
    version: 11,
    name: "messages for a dead node's persistent sessions",
    // docs/cluster.md, "The adoption gap". A QoS 1/2 message published after a node holding
    // persistent sessions died and before another node adopted them reaches no one for them: the
    // publishing node keeps it here, named by the dead node, before its ack, and the nodes that
    // take those sessions replay it. Rows live for a few adoption windows, then are swept.
    // `publisher` is the publisher's session key (namespace, NUL, client id) for No Local: bytes,
    // since text cannot hold NUL.
    sql: `
      CREATE TABLE cluster_orphans (
        id BIGSERIAL PRIMARY KEY,
        dead_node TEXT COLLATE "C" NOT NULL,
        namespace TEXT NOT NULL,
        bus_id TEXT NOT NULL,
        topic TEXT NOT NULL,
        payload BYTEA NOT NULL,
        qos SMALLINT NOT NULL,
        retain BOOLEAN NOT NULL,
        properties TEXT,
        expires_at BIGINT,
        publisher BYTEA,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE INDEX cluster_orphans_by_node ON cluster_orphans(dead_node, id);
      CREATE INDEX cluster_orphans_by_age ON cluster_orphans(created_at);
    `,
  },
  {
    version: 12,
    name: "device names of any length",
    // Device names have no length bound (SQLite keeps any), but a B-tree entry of PostgreSQL's
    // holds at most about 2.7 kB, so migration 1's name index refused to store a device whose
    // name is longer (SQLSTATE 54000). The sort key (store/name_key.ts) is cut at 200
    // characters, so it fits; the name, which only breaks ties between equal keys, leaves the
    // index: the name order walks it and sorts each run of equal keys (an Incremental Sort),
    // which is a handful of devices at most.
    sql: `
      DROP INDEX devices_by_name;
      CREATE INDEX devices_by_name ON devices(account_id, name_key, id);
    `,
  },
  {
    version: 13,
    name: "MQTT topics, filters and client ids of any length",
    // MQTT bounds topics, filters and client ids at 65 535 bytes only, and a B-tree entry holds
    // about 2.7 kB: migration 2's keys refused a retained message on a longer topic, and a
    // persistent session with a longer client id or filter, failing the whole group commit
    // (every session's changes of that event-loop turn). Uniqueness now holds on the SHA-256 of
    // such text (`sluice_text_key`; a collision is not something a client can make), and
    // lookups by equality go through hash indexes, which keep only a hash of the value.
    // `sluice_text_key` is IMMUTABLE although convert_to() is only STABLE: it reads no setting,
    // and a database's encoding never changes.
    sql: `
      CREATE FUNCTION sluice_text_key(t TEXT) RETURNS BYTEA
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT sha256(convert_to(t, 'UTF8')) $$;
      ALTER TABLE retained DROP CONSTRAINT retained_pkey;
      CREATE UNIQUE INDEX retained_key ON retained (namespace, sluice_text_key(topic));
      CREATE INDEX retained_by_topic ON retained USING hash (topic);
      ALTER TABLE sessions DROP CONSTRAINT sessions_pkey;
      CREATE UNIQUE INDEX sessions_key ON sessions (namespace, sluice_text_key(client_id));
      CREATE INDEX sessions_by_client ON sessions USING hash (client_id);
      ALTER TABLE session_subscriptions DROP CONSTRAINT session_subscriptions_pkey;
      CREATE UNIQUE INDEX session_subscriptions_key ON session_subscriptions (namespace, sluice_text_key(client_id), sluice_text_key(filter));
      CREATE INDEX session_subscriptions_by_client ON session_subscriptions USING hash (client_id);
      ALTER TABLE session_messages DROP CONSTRAINT session_messages_pkey;
      CREATE UNIQUE INDEX session_messages_key ON session_messages (namespace, sluice_text_key(client_id), seq);
      CREATE INDEX session_messages_by_client ON session_messages USING hash (client_id);
      ALTER TABLE session_queue_copies DROP CONSTRAINT session_queue_copies_pkey;
      CREATE UNIQUE INDEX session_queue_copies_key ON session_queue_copies (namespace, sluice_text_key(client_id), seq);
      CREATE INDEX session_queue_copies_by_client ON session_queue_copies USING hash (client_id);
      ALTER TABLE cluster_connections DROP CONSTRAINT cluster_connections_pkey;
      CREATE UNIQUE INDEX cluster_connections_key ON cluster_connections (account_id, sluice_text_key(client_id));
      CREATE INDEX cluster_connections_by_client ON cluster_connections USING hash (client_id);
    `,
  },
];

/** The schema version this Sluice brings a PostgreSQL database to. */
export const pgSchemaVersion = Math.max(...pgMigrations.map((m) => m.version));

/** Any 64-bit number, the same in every Sluice: the lock that serializes migrations across nodes. */
const MIGRATION_LOCK = 0x736c_7569_6365_01n;

/**
 * Applies the migrations the database lacks, all in one transaction under an advisory lock
 * (released at COMMIT or ROLLBACK): a node that fails half-way leaves the schema as it was.
 * Returns the versions it applied. Refuses a database migrated by a newer Sluice.
 */
export async function migratePg(pool: Pool): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK.toString()]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const applied = new Set((await client.query("SELECT version FROM schema_migrations")).rows.map((r: { version: number }) => r.version));
    const newest = Math.max(0, ...applied);
    if (newest > pgSchemaVersion) {
      throw new Error(`the database's schema is version ${newest}, newer than this Sluice knows (${pgSchemaVersion}): upgrade Sluice`);
    }
    const done: number[] = [];
    for (const m of [...pgMigrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql);
      await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
      done.push(m.version);
    }
    await client.query("COMMIT");
    return done;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
