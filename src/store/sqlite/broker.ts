import type { BrokerRepository, StoredMessage, StoredSession, StoredSessionMessage } from "../types.js";
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

  constructor(private readonly db: Db) {
    this.q = {
      allRetained: db.prepare("SELECT * FROM retained"),
      putRetained: db.prepare(
        "INSERT OR REPLACE INTO retained (namespace, topic, payload, qos, properties, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      deleteRetained: db.prepare("DELETE FROM retained WHERE namespace = ? AND topic = ?"),
      allSessions: db.prepare("SELECT * FROM sessions"),
      sessionMessages: db.prepare("SELECT * FROM session_messages WHERE namespace = ? AND client_id = ? ORDER BY seq"),
      putSession: db.prepare(
        `INSERT OR REPLACE INTO sessions (namespace, client_id, expiry_interval, disconnected_at, subscriptions, incoming_qos2, principal)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteSession: db.prepare("DELETE FROM sessions WHERE namespace = ? AND client_id = ?"),
      deleteMessages: db.prepare("DELETE FROM session_messages WHERE namespace = ? AND client_id = ?"),
      putMessage: db.prepare(
        `INSERT OR REPLACE INTO session_messages (namespace, client_id, seq, state, packet_id, topic, payload, qos, retain, properties, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    };
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
      subscriptions: string; incoming_qos2: string; principal: string | null;
    };
    return (this.q.allSessions.all() as SessionRecord[]).map((s) => ({
      namespace: s.namespace,
      clientId: s.client_id,
      expiryInterval: s.expiry_interval,
      disconnectedAt: s.disconnected_at,
      subscriptions: JSON.parse(s.subscriptions),
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

  async saveSession(s: StoredSession): Promise<void> {
    writeTransaction(this.db, () => {
      this.q.putSession.run(s.namespace, s.clientId, s.expiryInterval, s.disconnectedAt, JSON.stringify(s.subscriptions),
        JSON.stringify(s.incomingQos2), s.principal === null ? null : JSON.stringify(s.principal));
      this.q.deleteMessages.run(s.namespace, s.clientId);
      for (const m of s.messages) this.insertMessage(s.namespace, s.clientId, m);
    })();
  }

  async deleteSession(namespace: string, clientId: string): Promise<void> {
    writeTransaction(this.db, () => {
      this.q.deleteSession.run(namespace, clientId);
      this.q.deleteMessages.run(namespace, clientId);
    })();
  }

  async appendSessionMessage(namespace: string, clientId: string, m: StoredSessionMessage): Promise<void> {
    this.insertMessage(namespace, clientId, m);
  }

  private insertMessage(namespace: string, clientId: string, m: StoredSessionMessage): void {
    this.q.putMessage.run(namespace, clientId, m.seq, m.state, m.packetId, m.topic, m.payload, m.qos, m.retain ? 1 : 0,
      propsToJson(m.properties), m.expiresAt);
  }
}
