import assert from "node:assert/strict";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { SqliteBrokerRepository } from "../../src/store/sqlite/broker.js";
import { migrations } from "../../src/store/sqlite/migrations.js";
import { migrate, type Db } from "../../src/store/sqlite/open.js";
import type { StoredMessage, StoredSessionState, StoredSubscription } from "../../src/store/types.js";

// The offline session queue as a log (migration 12, docs/mqtt.md "Sessions and persistence"):
// a message queued for N offline sessions is one row, its payload once, with N 9-byte copies.

/** A database as it stood at `version`. */
function databaseAt(version: number): Db {
  const db = new Database(":memory:");
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version > version) break;
    db.exec(m.sql);
    db.pragma(`user_version = ${m.version}`);
  }
  return db;
}

function state(clientId: string): StoredSessionState {
  return { namespace: "ns", clientId, expiryInterval: 3600, disconnectedAt: 1, incomingQos2: [], principal: null };
}

const message: StoredMessage = { topic: "a/b", payload: Buffer.from("payload"), qos: 1, retain: false, properties: null, expiresAt: null };
const hashtag: StoredSubscription = { filter: "#", qos: 1, nl: false, rap: false, rh: 0 };

function queueRows(db: Db): { copies: Buffer; payload: Buffer }[] {
  return db.prepare("SELECT copies, payload FROM session_queue").all() as { copies: Buffer; payload: Buffer }[];
}

describe("session queue log", () => {
  test("migration 12 carries queued rows over: one row per distinct message, its copies, in-flight rows kept", async () => {
    const db = databaseAt(11);
    const session = db.prepare("INSERT INTO sessions (namespace, client_id, expiry_interval, disconnected_at, incoming_qos2, principal) VALUES ('ns', ?, 3600, 1, '[]', NULL)");
    const row = db.prepare(`INSERT INTO session_messages (namespace, client_id, seq, state, packet_id, topic, payload, qos, retain, properties, expires_at)
      VALUES ('ns', ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`);
    session.run("a");
    session.run("b");
    row.run("a", 1, "inflight", 7, "t/0", Buffer.from("zero"), 1, 0, null);
    row.run("a", 2, "queued", null, "t/1", Buffer.from("one"), 1, 0, null);
    row.run("b", 5, "queued", null, "t/1", Buffer.from("one"), 1, 1, null);
    row.run("a", 3, "queued", null, "t/2", Buffer.from("two"), 2, 0, '{"subscriptionIdentifier":[4]}');
    row.run("b", 6, "queued", null, "t/2", Buffer.from("two"), 1, 0, null);
    row.run("gone", 1, "queued", null, "t/1", Buffer.from("one"), 1, 0, null);
    migrate(db);
    assert.equal(db.pragma("user_version", { simple: true }), Math.max(...migrations.map((m) => m.version)));
    // t/1 for a and b (and a session that no longer exists: dropped), t/2 without and with a
    // subscription identifier: three distinct messages, each stored once.
    const rows = queueRows(db);
    assert.equal(rows.length, 3);
    assert.equal(rows.reduce((n, r) => n + r.copies.length / 9, 0), 4);
    assert.equal((db.prepare("SELECT count(*) n FROM session_messages").get() as { n: number }).n, 1);

    const sessions = await new SqliteBrokerRepository(db).loadSessions();
    const byId = new Map(sessions.map((s) => [s.clientId, s.messages]));
    assert.deepEqual(byId.get("a")!.map((m) => [m.seq, m.state, m.payload.toString(), m.qos, m.retain, m.properties]), [
      [1, "inflight", "zero", 1, false, null],
      [2, "queued", "one", 1, false, null],
      [3, "queued", "two", 2, false, { subscriptionIdentifier: [4] }],
    ]);
    assert.deepEqual(byId.get("b")!.map((m) => [m.seq, m.payload.toString(), m.qos, m.retain]), [[5, "one", 1, true], [6, "two", 1, false]]);
  });

  test("a publish to N sessions is one row: the payload once, 9 bytes per copy", async () => {
    const db = databaseAt(99);
    const repo = new SqliteBrokerRepository(db);
    const ids = ["a", "b", "c"];
    repo.writeSessions(ids.map((id) => ({ kind: "state", state: state(id), fresh: true })));
    repo.writeSessions([{ kind: "queue", namespace: "ns", message, copies: ids.map((clientId, i) => ({ clientId, seq: 10 + i, qos: 1, retain: false, ...(i === 2 && { subscriptionIds: [9] }) })) }]);
    const rows = queueRows(db);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.copies.length, 27);
    const loaded = await new SqliteBrokerRepository(db).loadSessions();
    assert.deepEqual(loaded.map((s) => [s.clientId, s.messages.map((m) => [m.seq, m.payload.toString(), m.properties])]).sort(), [
      ["a", [[10, "payload", null]]], ["b", [[11, "payload", null]]], ["c", [[12, "payload", { subscriptionIdentifier: [9] }]]],
    ]);
    // The loaded copies share one Buffer: in memory too the payload is held once.
    assert.equal(loaded[0]!.messages[0]!.payload, loaded[1]!.messages[0]!.payload);
  });

  test("a copy left from an earlier session never attaches to a new one with the same client id; dead rows are collected", async () => {
    const db = databaseAt(99);
    const repo = new SqliteBrokerRepository(db);
    repo.writeSessions([{ kind: "state", state: state("a"), fresh: true }, { kind: "state", state: state("b"), fresh: true }]);
    repo.writeSessions([{ kind: "queue", namespace: "ns", message, copies: [{ clientId: "a", seq: 1, qos: 1, retain: false }] }]);
    // "a" starts afresh (clean start, or deleted then made again); "b" goes offline with its messages stored whole.
    repo.writeSessions([{ kind: "delete", namespace: "ns", clientId: "a" }]);
    repo.writeSessions([{ kind: "state", state: state("a"), fresh: true }]);
    repo.writeSessions([{ kind: "queue", namespace: "ns", message: { ...message, payload: Buffer.from("later") }, copies: [{ clientId: "b", seq: 2, qos: 1, retain: false }] }]);
    repo.writeSessions([{ kind: "state", state: state("b"), messages: [{ ...message, seq: 2, state: "queued", packetId: null }] }]);
    repo.writeSessions([{ kind: "state", state: state("c"), fresh: true }]);
    // Both log rows are dead now (collected a few per transaction): b's copy is in its stored messages.
    assert.equal(queueRows(db).length, 0);
    const loaded = await new SqliteBrokerRepository(db).loadSessions();
    assert.deepEqual(loaded.map((s) => [s.clientId, s.messages.map((m) => m.seq)]).sort(), [["a", []], ["b", [2]], ["c", []]]);
  });

  test("a transaction that fails takes its generation changes back: later copies still attach", async () => {
    const db = databaseAt(99);
    const repo = new SqliteBrokerRepository(db);
    repo.writeSessions([{ kind: "state", state: state("a"), fresh: true }]);
    repo.writeSessions([{ kind: "queue", namespace: "ns", message, copies: [{ clientId: "a", seq: 1, qos: 1, retain: false }] }]);
    assert.throws(() =>
      repo.writeSessions([
        { kind: "state", state: state("a"), messages: [] },
        { kind: "subscribe", namespace: "ns", clientId: "a", subscriptions: [{ ...hashtag, qos: null as unknown as 1 }] },
      ]),
    );
    repo.writeSessions([{ kind: "queue", namespace: "ns", message, copies: [{ clientId: "a", seq: 2, qos: 1, retain: false }] }]);
    const [a] = await new SqliteBrokerRepository(db).loadSessions();
    assert.deepEqual(a!.messages.map((m) => m.seq), [1, 2]);
  });
});
