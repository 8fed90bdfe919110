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
       ON CONFLICT (namespace, topic) DO UPDATE SET payload = excluded.payload, qos = excluded.qos, properties = excluded.properties, expires_at = excluded.expires_at`,
      [namespace, m.topic, m.payload, m.qos, propsToJson(m.properties), m.expiresAt],
    );
  }

  async loadSessions(): Promise<StoredSession[]> {
    type SessionRecord = {
      namespace: string; client_id: string; expiry_interval: number; disconnected_at: number | null; incoming_qos2: string; principal: string | null;
    };
    type SubscriptionRecord = { namespace: string; client_id: string; filter: string; qos: 0 | 1 | 2; nl: boolean; rap: boolean; rh: 0 | 1 | 2; sub_id: number | null };
    type SessionMessageRecord = MessageRecord & { namespace: string; client_id: string; seq: number; state: StoredSessionMessage["state"]; packet_id: number | null; retain: boolean };
    type CopyRecord = MessageRecord & { namespace: string; client_id: string; seq: number; copy_qos: 0 | 1 | 2; retain: boolean; subscription_ids: number[] | null };
    // One snapshot for all four reads.
    return transaction(this.pool, async (c) => {
      await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const key = (ns: string, id: string) => `${ns}\u0000${id}`;
      const byKey = new Map<string, StoredSession>();
      const sessions = (await all<SessionRecord>(c, "SELECT * FROM sessions")).map((s) => {
        const session: StoredSession = {
          namespace: s.namespace, clientId: s.client_id, expiryInterval: s.expiry_interval, disconnectedAt: s.disconnected_at,
          subscriptions: [], incomingQos2: JSON.parse(s.incoming_qos2), principal: s.principal === null ? null : JSON.parse(s.principal), messages: [],
        };
        byKey.set(key(s.namespace, s.client_id), session);
        return session;
      });
      for (const r of await all<SubscriptionRecord>(c, "SELECT * FROM session_subscriptions")) {
        byKey.get(key(r.namespace, r.client_id))?.subscriptions.push({
          filter: r.filter, qos: r.qos, nl: r.nl, rap: r.rap, rh: r.rh, ...(r.sub_id !== null && { id: r.sub_id }),
        } satisfies StoredSubscription);
      }
      for (const m of await all<SessionMessageRecord>(c, "SELECT * FROM session_messages")) {
        byKey.get(key(m.namespace, m.client_id))?.messages.push({
          seq: m.seq, state: m.state, packetId: m.packet_id, topic: m.topic, payload: m.payload, qos: m.qos,
          retain: m.retain, properties: propsFromJson(m.properties), expiresAt: m.expires_at,
        });
      }
      // Each queued message's payload once (a Buffer shared by its copies).
      const payloads = new Map<number, { payload: Buffer; properties: Record<string, unknown> | null }>();
      const copies = await all<CopyRecord & { queue_id: number }>(c,
        `SELECT c.namespace, c.client_id, c.seq, c.qos AS copy_qos, c.retain, c.subscription_ids, c.queue_id,
                q.topic, q.payload, q.properties, q.expires_at
         FROM session_queue_copies c JOIN session_queue q ON q.id = c.queue_id`);
      for (const r of copies) {
        const session = byKey.get(key(r.namespace, r.client_id));
        if (!session) continue;
        let shared = payloads.get(r.queue_id);
        if (!shared) payloads.set(r.queue_id, (shared = { payload: r.payload, properties: propsFromJson(r.properties) }));
        session.messages.push({
          seq: r.seq, state: "queued", packetId: null, topic: r.topic, payload: shared.payload, qos: r.copy_qos, retain: r.retain,
          properties: r.subscription_ids ? { ...shared.properties, subscriptionIdentifier: r.subscription_ids } : shared.properties,
          expiresAt: r.expires_at,
        });
      }
      for (const s of sessions) s.messages.sort((a, b) => a.seq - b.seq);
      return sessions;
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
        const existed = (await c.query(
          `INSERT INTO sessions (namespace, client_id, expiry_interval, disconnected_at, incoming_qos2, principal) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (namespace, client_id) DO UPDATE SET expiry_interval = excluded.expiry_interval, disconnected_at = excluded.disconnected_at,
             incoming_qos2 = excluded.incoming_qos2, principal = excluded.principal
           RETURNING (xmax <> 0) AS existed`,
          [...k, s.expiryInterval, s.disconnectedAt, JSON.stringify(s.incomingQos2), s.principal === null ? null : JSON.stringify(s.principal)],
        )).rows[0]?.existed as boolean;
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
           ON CONFLICT (namespace, client_id, filter) DO UPDATE SET qos = excluded.qos, nl = excluded.nl, rap = excluded.rap, rh = excluded.rh, sub_id = excluded.sub_id`,
          [w.namespace, w.clientId, subs.map((s) => s.filter), subs.map((s) => s.qos), subs.map((s) => s.nl), subs.map((s) => s.rap),
            subs.map((s) => s.rh), subs.map((s) => s.id ?? null)],
        );
        return;
      }
      case "unsubscribe":
        await c.query("DELETE FROM session_subscriptions WHERE namespace = $1 AND client_id = $2 AND filter = ANY($3::text[])", [w.namespace, w.clientId, w.filters]);
        return;
      case "queue": {
        if (w.copies.length === 0) return;
        const m = w.message;
        const id = (await c.query(
          "INSERT INTO session_queue (namespace, topic, payload, qos, properties, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
          [w.namespace, m.topic, m.payload, m.qos, propsToJson(m.properties), m.expiresAt],
        )).rows[0].id as number;
        // Only sessions still stored get a copy (one deleted before this reached the store has none).
        // Subscription ids travel as JSON: a SQL array cannot hold arrays of different lengths.
        const inserted = await c.query(
          `INSERT INTO session_queue_copies (namespace, client_id, seq, queue_id, qos, retain, subscription_ids)
           SELECT $1, x.client_id, x.seq, $2, x.qos, x.retain, CASE WHEN x.ids IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(x.ids::jsonb)::integer) END
           FROM unnest($3::text[], $4::bigint[], $5::smallint[], $6::boolean[], $7::text[]) AS x(client_id, seq, qos, retain, ids)
           JOIN sessions s ON s.namespace = $1 AND s.client_id = x.client_id
           ON CONFLICT (namespace, client_id, seq) DO UPDATE SET queue_id = excluded.queue_id, qos = excluded.qos, retain = excluded.retain,
             subscription_ids = excluded.subscription_ids`,
          [w.namespace, id, w.copies.map((x) => x.clientId), w.copies.map((x) => x.seq), w.copies.map((x) => x.qos), w.copies.map((x) => x.retain),
            w.copies.map((x) => (x.subscriptionIds ? JSON.stringify(x.subscriptionIds) : null))],
        );
        if (inserted.rowCount === 0) await c.query("DELETE FROM session_queue WHERE id = $1", [id]);
        return;
      }
      case "delete": {
        const k = [w.namespace, w.clientId];
        await c.query("DELETE FROM sessions WHERE namespace = $1 AND client_id = $2", k);
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
      `INSERT INTO session_messages (namespace, client_id, seq, state, packet_id, topic, payload, qos, retain, properties, expires_at)
       SELECT $1, $2, * FROM unnest($3::bigint[], $4::text[], $5::integer[], $6::text[], $7::bytea[], $8::smallint[], $9::boolean[], $10::text[], $11::bigint[])`,
      [namespace, clientId, messages.map((m) => m.seq), messages.map((m) => m.state), messages.map((m) => m.packetId), messages.map((m) => m.topic),
        messages.map((m) => m.payload), messages.map((m) => m.qos), messages.map((m) => m.retain), messages.map((m) => propsToJson(m.properties)),
        messages.map((m) => m.expiresAt)],
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
