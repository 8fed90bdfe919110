import type { BrokerRepository, SessionWrite, StoredMessage, StoredSession, StoredSessionMessage, StoredSubscription } from "../types.js";
import type { Db } from "./open.js";
import { writeTransaction } from "./open.js";

/** MQTT 5 properties hold Buffers (correlation data); JSON keeps them as `{ $b64 }`. */
export function propsToJson(props: Record<string, unknown> | null): string | null {
  if (!props) return null;
  return JSON.stringify(props, (_k, v: unknown) => {
    if (v && typeof v === "object" && (v as { type?: string }).type === "Buffer" && Array.isArray((v as { data?: unknown }).data)) {
      return { $b64: Buffer.from((v as { data: number[] }).data).toString("base64") };
    }
    return v;
  });
}

export function propsFromJson(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  return JSON.parse(text, (_k, v: unknown) =>
    v && typeof v === "object" && typeof (v as { $b64?: unknown }).$b64 === "string"
      ? Buffer.from((v as { $b64: string }).$b64, "base64")
      : v,
  ) as Record<string, unknown>;
}

interface MessageRecord {
  topic: string; payload: Buffer; qos: 0 | 1 | 2; properties: string | null; expires_at: number | null;
}

export class SqliteBrokerRepository implements BrokerRepository {
  private readonly q;
  private readonly writeAll: (writes: SessionWrite[]) => void;

  constructor(private readonly db: Db) {
    this.q = {
      allRetained: db.prepare("SELECT * FROM retained"),
      putRetained: db.prepare(
        "INSERT OR REPLACE INTO retained (namespace, topic, payload, qos, properties, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      deleteRetained: db.prepare("DELETE FROM retained WHERE namespace = ? AND topic = ?"),
      allSessions: db.prepare("SELECT * FROM sessions"),
      sessionMessages: db.prepare("SELECT * FROM session_messages WHERE namespace = ? AND client_id = ? ORDER BY seq"),
      sessionSubscriptions: db.prepare("SELECT * FROM session_subscriptions WHERE namespace = ? AND client_id = ?"),
      putSession: db.prepare(
        `INSERT OR REPLACE INTO sessions (namespace, client_id, expiry_interval, disconnected_at, incoming_qos2, principal)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      deleteSession: db.prepare("DELETE FROM sessions WHERE namespace = ? AND client_id = ?"),
      deleteMessages: db.prepare("DELETE FROM session_messages WHERE namespace = ? AND client_id = ?"),
      deleteSubscriptions: db.prepare("DELETE FROM session_subscriptions WHERE namespace = ? AND client_id = ?"),
      putSubscription: db.prepare(
        `INSERT OR REPLACE INTO session_subscriptions (namespace, client_id, filter, qos, nl, rap, rh, sub_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteSubscription: db.prepare("DELETE FROM session_subscriptions WHERE namespace = ? AND client_id = ? AND filter = ?"),
      putMessage: db.prepare(
        `INSERT OR REPLACE INTO session_messages (namespace, client_id, seq, state, packet_id, topic, payload, qos, retain, properties, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    };
    this.writeAll = writeTransaction(db, (writes: SessionWrite[]) => {
      for (const w of writes) this.apply(w);
    });
  }

  async loadRetained(): Promise<(StoredMessage & { namespace: string })[]> {
    return (this.q.allRetained.all() as (MessageRecord & { namespace: string })[]).map((r) => ({
      namespace: r.namespace, topic: r.topic, payload: r.payload, qos: r.qos, retain: true,
      properties: propsFromJson(r.properties), expiresAt: r.expires_at,
    }));
  }

  async putRetained(namespace: string, m: StoredMessage): Promise<void> {
    if (m.payload.length === 0) this.q.deleteRetained.run(namespace, m.topic);
    else this.q.putRetained.run(namespace, m.topic, m.payload, m.qos, propsToJson(m.properties), m.expiresAt);
  }

  async loadSessions(): Promise<StoredSession[]> {
    type SessionRecord = {
      namespace: string; client_id: string; expiry_interval: number; disconnected_at: number | null;
      incoming_qos2: string; principal: string | null;
    };
    type SubscriptionRecord = { filter: string; qos: 0 | 1 | 2; nl: number; rap: number; rh: 0 | 1 | 2; sub_id: number | null };
    return (this.q.allSessions.all() as SessionRecord[]).map((s) => ({
      namespace: s.namespace,
      clientId: s.client_id,
      expiryInterval: s.expiry_interval,
      disconnectedAt: s.disconnected_at,
      subscriptions: (this.q.sessionSubscriptions.all(s.namespace, s.client_id) as SubscriptionRecord[]).map((r): StoredSubscription => ({
        filter: r.filter, qos: r.qos, nl: r.nl === 1, rap: r.rap === 1, rh: r.rh, ...(r.sub_id !== null && { id: r.sub_id }),
      })),
      incomingQos2: JSON.parse(s.incoming_qos2),
      principal: s.principal === null ? null : JSON.parse(s.principal),
      messages: (this.q.sessionMessages.all(s.namespace, s.client_id) as (MessageRecord & {
        seq: number; state: StoredSessionMessage["state"]; packet_id: number | null; retain: number;
      })[]).map((m) => ({
        seq: m.seq, state: m.state, packetId: m.packet_id, topic: m.topic, payload: m.payload, qos: m.qos,
        retain: m.retain === 1, properties: propsFromJson(m.properties), expiresAt: m.expires_at,
      })),
    }));
  }

  writeSessions(writes: SessionWrite[]): void {
    this.writeAll(writes);
  }

  private apply(w: SessionWrite): void {
    switch (w.kind) {
      case "state": {
        const s = w.state;
        if (w.fresh) {
          this.q.deleteSubscriptions.run(s.namespace, s.clientId);
          this.q.deleteMessages.run(s.namespace, s.clientId);
        }
        this.q.putSession.run(s.namespace, s.clientId, s.expiryInterval, s.disconnectedAt, JSON.stringify(s.incomingQos2),
          s.principal === null ? null : JSON.stringify(s.principal));
        if (w.messages) {
          if (!w.fresh) this.q.deleteMessages.run(s.namespace, s.clientId);
          for (const m of w.messages) this.insertMessage(s.namespace, s.clientId, m);
        }
        return;
      }
      case "subscribe":
        for (const sub of w.subscriptions) {
          this.q.putSubscription.run(w.namespace, w.clientId, sub.filter, sub.qos, sub.nl ? 1 : 0, sub.rap ? 1 : 0, sub.rh, sub.id ?? null);
        }
        return;
      case "unsubscribe":
        for (const filter of w.filters) this.q.deleteSubscription.run(w.namespace, w.clientId, filter);
        return;
      case "queue":
        for (const { namespace, clientId, message } of w.messages) this.insertMessage(namespace, clientId, message);
        return;
      case "delete":
        this.q.deleteSession.run(w.namespace, w.clientId);
        this.q.deleteSubscriptions.run(w.namespace, w.clientId);
        this.q.deleteMessages.run(w.namespace, w.clientId);
        return;
    }
  }

  private insertMessage(namespace: string, clientId: string, m: StoredSessionMessage): void {
    this.q.putMessage.run(namespace, clientId, m.seq, m.state, m.packetId, m.topic, m.payload, m.qos, m.retain ? 1 : 0,
      propsToJson(m.properties), m.expiresAt);
  }
}
