import { propsFromJson, propsToJson } from "../sqlite/broker.js";
import type { BrokerRepository, SessionWrite, StoredMessage, StoredSession, StoredSessionMessage, StoredSubscription } from "../types.js";
import { all, transaction, type Pool, type PoolClient } from "./pool.js";

interface MessageRecord {
  topic: string; payload: Buffer; qos: 0 | 1 | 2; properties: string | null; expires_at: number | null;
}

/** Queue rows without copies looked at for collection per write transaction. */
const COLLECT_ROWS = 64;

/**
 * Retained messages and persistent sessions in PostgreSQL (migration 2). A message queued for
 * offline sessions is one `session_queue` row and one `session_queue_copies` row per session
 * (both written by one statement each, the copies from arrays), so the state lives in the
 * database alone and any node may load or change any session.
 */
export class PgBrokerRepository implements BrokerRepository {
  /** A session was deleted or rewritten: some queue rows may have lost their last copy. */
  private collectDue = false;
  /**
   * The node whose sessions this store loads and writes (`ownedBy`): a write to a session
   * another node owns changes nothing (it moved; the other node's memory is the truth). Null
   * without a cluster.
   */
  private node: string | null = null;

  /** Sets the node this store loads and writes sessions for (cluster mode, before the broker starts). */
  ownedBy(node: string): void {
    this.node = node;
  }

  constructor(private readonly pool: Pool) {}

  async loadRetained(): Promise<(StoredMessage & { namespace: string })[]> {
    const rows = await all<MessageRecord & { namespace: string }>(this.pool, "SELECT * FROM retained");
    return rows.map((r) => ({
      namespace: r.namespace, topic: r.topic, payload: r.payload, qos: r.qos, retain: true,
      properties: propsFromJson(r.properties), expiresAt: r.expires_at,
    }));
  }

  async putRetained(namespace: string, m: StoredMessage): Promise<void> {
    if (m.payload.length === 0) {
      await this.pool.query("DELETE FROM retained WHERE namespace = $1 AND topic = $2", [namespace, m.topic]);
      return;
    }
    await this.pool.query(
      `INSERT INTO retained (namespace, topic, payload, qos, properties, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (namespace, sluice_text_key(topic)) DO UPDATE SET payload = excluded.payload, qos = excluded.qos, properties = excluded.properties, expires_at = excluded.expires_at`,
      [namespace, m.topic, m.payload, m.qos, propsToJson(m.properties), m.expiresAt],
    );
  }

  /**
   * The sessions this node owns (`ownedBy`; all of a node without a cluster, whose `node` is
   * NULL), in one snapshot.
   */
  async loadSessions(): Promise<StoredSession[]> {
    return transaction(this.pool, async (c) => {
      await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
      return this.loadScoped(c, "s.node IS NOT DISTINCT FROM $1", [this.node]);
    });
  }

  /** Sessions named by their keys, read in `c`'s transaction. */
  private loadKeys(c: PoolClient, keys: { namespace: string; clientId: string }[]): Promise<StoredSession[]> {
    return this.loadScoped(c, "(s.namespace, s.client_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
      [keys.map((k) => k.namespace), keys.map((k) => k.clientId)]);
  }

  /** The sessions `scope` (a condition on `sessions s`) selects, with their subscriptions and messages. */
  private async loadScoped(c: PoolClient, scope: string, params: unknown[]): Promise<StoredSession[]> {
    type SessionRecord = {
      namespace: string; client_id: string; expiry_interval: number; disconnected_at: number | null; incoming_qos2: string; principal: string | null;
    };
    type SubscriptionRecord = { namespace: string; client_id: string; filter: string; qos: 0 | 1 | 2; nl: boolean; rap: boolean; rh: 0 | 1 | 2; sub_id: number | null };
    type SessionMessageRecord = MessageRecord & { namespace: string; client_id: string; seq: number; state: StoredSessionMessage["state"]; packet_id: number | null; retain: boolean; bus_id: string | null };
    type CopyRecord = MessageRecord & { namespace: string; client_id: string; seq: number; copy_qos: 0 | 1 | 2; retain: boolean; subscription_ids: number[] | null; bus_id: string | null };
    const key = (ns: string, id: string) => `${ns}\u0000${id}`;
    const byKey = new Map<string, StoredSession>();
    const sessions = (await all<SessionRecord>(c, `SELECT s.* FROM sessions s WHERE ${scope}`, params)).map((s) => {
      const session: StoredSession = {
        namespace: s.namespace, clientId: s.client_id, expiryInterval: s.expiry_interval, disconnectedAt: s.disconnected_at,
        subscriptions: [], incomingQos2: JSON.parse(s.incoming_qos2), principal: s.principal === null ? null : JSON.parse(s.principal), messages: [],
      };
      byKey.set(key(s.namespace, s.client_id), session);
      return session;
    });
    if (sessions.length === 0) return sessions;
    for (const r of await all<SubscriptionRecord>(c, `SELECT x.* FROM session_subscriptions x JOIN sessions s USING (namespace, client_id) WHERE ${scope}`, params)) {
      byKey.get(key(r.namespace, r.client_id))?.subscriptions.push({
        filter: r.filter, qos: r.qos, nl: r.nl, rap: r.rap, rh: r.rh, ...(r.sub_id !== null && { id: r.sub_id }),
      } satisfies StoredSubscription);
    }
    for (const m of await all<SessionMessageRecord>(c, `SELECT x.* FROM session_messages x JOIN sessions s USING (namespace, client_id) WHERE ${scope}`, params)) {
      byKey.get(key(m.namespace, m.client_id))?.messages.push({
        seq: m.seq, state: m.state, packetId: m.packet_id, topic: m.topic, payload: m.payload, qos: m.qos,
        retain: m.retain, properties: propsFromJson(m.properties), expiresAt: m.expires_at, busId: m.bus_id,
      });
    }
    // Each queued message's payload once (a Buffer shared by its copies).
    const payloads = new Map<number, { payload: Buffer; properties: Record<string, unknown> | null }>();
    const copies = await all<CopyRecord & { queue_id: number }>(c,
      `SELECT x.namespace, x.client_id, x.seq, x.qos AS copy_qos, x.retain, x.subscription_ids, x.queue_id,
              q.topic, q.payload, q.properties, q.expires_at, q.bus_id
       FROM session_queue_copies x JOIN session_queue q ON q.id = x.queue_id
       JOIN sessions s ON s.namespace = x.namespace AND s.client_id = x.client_id WHERE ${scope}`, params);
    for (const r of copies) {
      const session = byKey.get(key(r.namespace, r.client_id));
      if (!session) continue;
      let shared = payloads.get(r.queue_id);
      if (!shared) payloads.set(r.queue_id, (shared = { payload: r.payload, properties: propsFromJson(r.properties) }));
      session.messages.push({
        seq: r.seq, state: "queued", packetId: null, topic: r.topic, payload: shared.payload, qos: r.copy_qos, retain: r.retain,
        properties: r.subscription_ids ? { ...shared.properties, subscriptionIdentifier: r.subscription_ids } : shared.properties,
        expiresAt: r.expires_at, busId: r.bus_id,
      });
    }
    for (const s of sessions) s.messages.sort((a, b) => a.seq - b.seq);
    return sessions;
  }

  /** The node holding a session (null: none named), or undefined when it is not stored. */
  async ownerOf(namespace: string, clientId: string): Promise<string | null | undefined> {
    const row = (await this.pool.query("SELECT node FROM sessions WHERE namespace = $1 AND client_id = $2", [namespace, clientId])).rows[0] as { node: string | null } | undefined;
    return row ? row.node : undefined;
  }

  /** The subscriptions stored for a session, whoever owns it. */
  async subscriptionsOf(namespace: string, clientId: string): Promise<StoredSubscription[]> {
    const rows = await all<{ filter: string; qos: 0 | 1 | 2; nl: boolean; rap: boolean; rh: 0 | 1 | 2; sub_id: number | null }>(this.pool,
      "SELECT filter, qos, nl, rap, rh, sub_id FROM session_subscriptions WHERE namespace = $1 AND client_id = $2", [namespace, clientId]);
    return rows.map((r) => ({ filter: r.filter, qos: r.qos, nl: r.nl, rap: r.rap, rh: r.rh, ...(r.sub_id !== null && { id: r.sub_id }) }));
  }

  /**
   * Makes this node the session's owner if `from` still owns it (compare-and-set), and loads it,
   * in one transaction. Undefined when it moved meanwhile or is gone.
   */
  async claim(namespace: string, clientId: string, from: string | null): Promise<StoredSession | undefined> {
    return transaction(this.pool, async (c) => {
      const moved = await c.query("UPDATE sessions SET node = $3 WHERE namespace = $1 AND client_id = $2 AND node IS NOT DISTINCT FROM $4",
        [namespace, clientId, this.node, from]);
      if ((moved.rowCount ?? 0) === 0) return undefined;
      return (await this.loadKeys(c, [{ namespace, clientId }]))[0];
    });
  }

  /** Of these sessions, those stored as another node's (taken over while this node was cut off). */
  async ownedElsewhere(keys: { namespace: string; clientId: string }[]): Promise<{ namespace: string; clientId: string }[]> {
    if (keys.length === 0) return [];
    const rows = await all<{ namespace: string; client_id: string }>(this.pool,
      `SELECT namespace, client_id FROM sessions WHERE node IS DISTINCT FROM $3
       AND (namespace, client_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [keys.map((k) => k.namespace), keys.map((k) => k.clientId), this.node]);
    return rows.map((r) => ({ namespace: r.namespace, clientId: r.client_id }));
  }

  /**
   * Nodes named as owners of sessions, other than this one: those whose liveness lock is free
   * are dead (cluster/liveness.ts). NULL (sessions written by a node without a cluster) is
   * returned as null.
   */
  async otherOwners(): Promise<(string | null)[]> {
    const rows = await all<{ node: string | null }>(this.pool, "SELECT DISTINCT node FROM sessions WHERE node IS DISTINCT FROM $1", [this.node]);
    return rows.map((r) => r.node);
  }

  /**
   * Takes over every session of `dead` if `isDead(c)` says so inside the transaction (it takes
   * the dead node's liveness lock for the transaction, so a node restarting with that id waits
   * for it, and two adopters never both take them), and loads them. [] when the node is alive.
   */
  async adopt(dead: string | null, isDead: (c: PoolClient) => Promise<boolean>, only?: { namespace: string; clientId: string }): Promise<StoredSession[]> {
    return transaction(this.pool, async (c) => {
      if (!(await isDead(c))) return [];
      const moved = await all<{ namespace: string; client_id: string }>(c,
        only
          ? "UPDATE sessions SET node = $1 WHERE node IS NOT DISTINCT FROM $2 AND namespace = $3 AND client_id = $4 RETURNING namespace, client_id"
          : "UPDATE sessions SET node = $1 WHERE node IS NOT DISTINCT FROM $2 RETURNING namespace, client_id",
        only ? [this.node, dead, only.namespace, only.clientId] : [this.node, dead]);
      if (moved.length === 0) return [];
      return this.loadKeys(c, moved.map((m) => ({ namespace: m.namespace, clientId: m.client_id })));
    });
  }

  /** All the writes in one transaction, in order; a failure rolls back every one of them. */
  async writeSessions(writes: SessionWrite[]): Promise<void> {
    await transaction(this.pool, async (c) => {
      for (const w of writes) await this.apply(c, w);
      if (this.collectDue) await this.collect(c);
    });
  }

  private async apply(c: PoolClient, w: SessionWrite): Promise<void> {
    switch (w.kind) {
      case "state": {
        const s = w.state;
        const k = [s.namespace, s.clientId];
        // A fresh session takes the client id whoever held it (that node released it first:
        // session_handoff.ts); any other change only touches a session this node owns.
        const row = (await c.query(
          `INSERT INTO sessions (namespace, client_id, expiry_interval, disconnected_at, incoming_qos2, principal, node) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (namespace, sluice_text_key(client_id)) DO UPDATE SET expiry_interval = excluded.expiry_interval, disconnected_at = excluded.disconnected_at,
             incoming_qos2 = excluded.incoming_qos2, principal = excluded.principal, node = excluded.node
           WHERE $8 OR sessions.node IS NOT DISTINCT FROM excluded.node
           RETURNING (xmax <> 0) AS existed`,
          [...k, s.expiryInterval, s.disconnectedAt, JSON.stringify(s.incomingQos2), s.principal === null ? null : JSON.stringify(s.principal), this.node, w.fresh === true],
        )).rows[0] as { existed: boolean } | undefined;
        if (!row) return;
        const existed = row.existed;
        if (w.fresh) await c.query("DELETE FROM session_subscriptions WHERE namespace = $1 AND client_id = $2", k);
        // Its stored messages start again (from `messages`, or none): queued copies so far are not its.
        if (w.fresh || w.messages || !existed) await this.clearMessages(c, s.namespace, s.clientId);
        if (w.messages?.length) await this.insertMessages(c, s.namespace, s.clientId, w.messages);
        return;
      }
      case "subscribe": {
        const subs = w.subscriptions;
        if (subs.length === 0) return;
        await c.query(
          `INSERT INTO session_subscriptions (namespace, client_id, filter, qos, nl, rap, rh, sub_id)
           SELECT $1, $2, * FROM unnest($3::text[], $4::smallint[], $5::boolean[], $6::boolean[], $7::smallint[], $8::integer[])
           WHERE EXISTS (SELECT 1 FROM sessions WHERE namespace = $1 AND client_id = $2 AND node IS NOT DISTINCT FROM $9)
           ON CONFLICT (namespace, sluice_text_key(client_id), sluice_text_key(filter)) DO UPDATE SET qos = excluded.qos, nl = excluded.nl, rap = excluded.rap, rh = excluded.rh, sub_id = excluded.sub_id`,
          [w.namespace, w.clientId, subs.map((s) => s.filter), subs.map((s) => s.qos), subs.map((s) => s.nl), subs.map((s) => s.rap),
            subs.map((s) => s.rh), subs.map((s) => s.id ?? null), this.node],
        );
        return;
      }
      case "unsubscribe":
        await c.query(
          `DELETE FROM session_subscriptions WHERE namespace = $1 AND client_id = $2 AND filter = ANY($3::text[])
           AND EXISTS (SELECT 1 FROM sessions WHERE namespace = $1 AND client_id = $2 AND node IS NOT DISTINCT FROM $4)`,
          [w.namespace, w.clientId, w.filters, this.node]);
        return;
      case "queue": {
        if (w.copies.length === 0) return;
        const m = w.message;
        const id = (await c.query(
          "INSERT INTO session_queue (namespace, topic, payload, qos, properties, expires_at, bus_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
          [w.namespace, m.topic, m.payload, m.qos, propsToJson(m.properties), m.expiresAt, m.busId ?? null],
        )).rows[0].id as number;
        // Only sessions still stored, and this node's, get a copy (one deleted before this
        // reached the store has none; one another node took over is that node's to fill).
        // Subscription ids travel as JSON: a SQL array cannot hold arrays of different lengths.
        const inserted = await c.query(
          `INSERT INTO session_queue_copies (namespace, client_id, seq, queue_id, qos, retain, subscription_ids)
           SELECT $1, x.client_id, x.seq, $2, x.qos, x.retain, CASE WHEN x.ids IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(x.ids::jsonb)::integer) END
           FROM unnest($3::text[], $4::bigint[], $5::smallint[], $6::boolean[], $7::text[]) AS x(client_id, seq, qos, retain, ids)
           JOIN sessions s ON s.namespace = $1 AND s.client_id = x.client_id AND s.node IS NOT DISTINCT FROM $8
           ON CONFLICT (namespace, sluice_text_key(client_id), seq) DO UPDATE SET queue_id = excluded.queue_id, qos = excluded.qos, retain = excluded.retain,
             subscription_ids = excluded.subscription_ids`,
          [w.namespace, id, w.copies.map((x) => x.clientId), w.copies.map((x) => x.seq), w.copies.map((x) => x.qos), w.copies.map((x) => x.retain),
            w.copies.map((x) => (x.subscriptionIds ? JSON.stringify(x.subscriptionIds) : null)), this.node],
        );
        if (inserted.rowCount === 0) await c.query("DELETE FROM session_queue WHERE id = $1", [id]);
        return;
      }
      case "delete": {
        const k = [w.namespace, w.clientId];
        const gone = await c.query("DELETE FROM sessions WHERE namespace = $1 AND client_id = $2 AND node IS NOT DISTINCT FROM $3", [...k, this.node]);
        if ((gone.rowCount ?? 0) === 0) return;
        await c.query("DELETE FROM session_subscriptions WHERE namespace = $1 AND client_id = $2", k);
        await this.clearMessages(c, w.namespace, w.clientId);
        return;
      }
    }
  }

  private async clearMessages(c: PoolClient, namespace: string, clientId: string): Promise<void> {
    await c.query("DELETE FROM session_messages WHERE namespace = $1 AND client_id = $2", [namespace, clientId]);
    const gone = await c.query("DELETE FROM session_queue_copies WHERE namespace = $1 AND client_id = $2", [namespace, clientId]);
    if ((gone.rowCount ?? 0) > 0) this.collectDue = true;
  }

  private async insertMessages(c: PoolClient, namespace: string, clientId: string, messages: StoredSessionMessage[]): Promise<void> {
    await c.query(
      `INSERT INTO session_messages (namespace, client_id, seq, state, packet_id, topic, payload, qos, retain, properties, expires_at, bus_id)
       SELECT $1, $2, * FROM unnest($3::bigint[], $4::text[], $5::integer[], $6::text[], $7::bytea[], $8::smallint[], $9::boolean[], $10::text[], $11::bigint[], $12::text[])`,
      [namespace, clientId, messages.map((m) => m.seq), messages.map((m) => m.state), messages.map((m) => m.packetId), messages.map((m) => m.topic),
        messages.map((m) => m.payload), messages.map((m) => m.qos), messages.map((m) => m.retain), messages.map((m) => propsToJson(m.properties)),
        messages.map((m) => m.expiresAt), messages.map((m) => m.busId ?? null)],
    );
  }

  /** Deletes up to COLLECT_ROWS queue rows no session holds a copy of; due again while it finds a full batch. */
  private async collect(c: PoolClient): Promise<void> {
    const result = await c.query(
      `DELETE FROM session_queue WHERE id IN (
         SELECT q.id FROM session_queue q WHERE NOT EXISTS (SELECT 1 FROM session_queue_copies x WHERE x.queue_id = q.id) LIMIT ${COLLECT_ROWS})`,
    );
    this.collectDue = (result.rowCount ?? 0) === COLLECT_ROWS;
  }
}
