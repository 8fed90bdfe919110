import type { BrokerRepository, SessionWrite, StoredCopy, StoredMessage, StoredSession, StoredSessionMessage, StoredSubscription } from "../types.js";
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

/** A copy in session_queue.copies: generation u32 BE, seq u32 BE, flags u8 (qos | retain << 2). */
const COPY_BYTES = 9;
/** Log rows looked at for collection per transaction, once some generation has ended. */
const COLLECT_ROWS = 32;

interface QueueRecord {
  id: number; namespace: string; topic: string; payload: Buffer; qos: 0 | 1 | 2; properties: string | null; expires_at: number | null;
  copies: Buffer; subscription_ids: string | null;
}

interface MessageRecord {
  topic: string; payload: Buffer; qos: 0 | 1 | 2; properties: string | null; expires_at: number | null;
}

/**
 * Retained messages and persistent sessions (docs/mqtt.md "Sessions and persistence").
 *
 * A message queued for offline sessions is one row appended to `session_queue` (the payload
 * once) whose `copies` name each session by its generation: a publish to 2 000 offline sessions
 * writes one row, a few pages, not 2 000 rows on 2 000 pages. A session's generation is
 * assigned here, anew whenever its stored messages are rewritten (`state` with messages, what a
 * session holds as it goes offline, stored whole in `session_messages`) or it starts afresh;
 * copies of an ended generation are dead, and collected a few rows per transaction (and all
 * at load).
 */
export class SqliteBrokerRepository implements BrokerRepository {
  private readonly q;
  private readonly writeAll: (writes: SessionWrite[]) => void;
  /**
   * Each stored session's generation, by namespace then client id (no key is built per copy:
   * the client ids are the sessions' own strings, their hashes cached).
   */
  private readonly generations = new Map<string, Map<string, number>>();
  /** The generations in `generations`: copies of any other are dead. */
  private readonly live = new Set<number>();
  private nextGeneration: number;
  /** Collection: a pass over the log is due (a generation ended), or under way from `cursor`. */
  private collect = { due: false, running: false, cursor: 0 };
  /** While a transaction runs: how to take back what it changed in `generations`. */
  private undo: (() => void)[] | undefined;

  constructor(private readonly db: Db) {
    this.q = {
      allRetained: db.prepare("SELECT * FROM retained"),
      putRetained: db.prepare(
        "INSERT OR REPLACE INTO retained (namespace, topic, payload, qos, properties, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      deleteRetained: db.prepare("DELETE FROM retained WHERE namespace = ? AND topic = ?"),
      allSessions: db.prepare("SELECT * FROM sessions"),
      generations: db.prepare("SELECT namespace, client_id, generation FROM sessions"),
      maxGeneration: db.prepare("SELECT max((SELECT max(generation) FROM sessions), coalesce((SELECT max(max_generation) FROM session_queue), 0)) AS g"),
      sessionMessages: db.prepare("SELECT * FROM session_messages WHERE namespace = ? AND client_id = ? ORDER BY seq"),
      sessionSubscriptions: db.prepare("SELECT * FROM session_subscriptions WHERE namespace = ? AND client_id = ?"),
      putSession: db.prepare(
        `INSERT OR REPLACE INTO sessions (namespace, client_id, expiry_interval, disconnected_at, incoming_qos2, principal, generation)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
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
      appendQueued: db.prepare(
        `INSERT INTO session_queue (namespace, topic, payload, qos, properties, expires_at, copies, subscription_ids, max_generation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      allQueued: db.prepare("SELECT * FROM session_queue ORDER BY id"),
      queuedCopiesAfter: db.prepare("SELECT id, copies FROM session_queue WHERE id > ? ORDER BY id LIMIT ?"),
      deleteQueued: db.prepare("DELETE FROM session_queue WHERE id = ?"),
    };
    for (const r of this.q.generations.all() as { namespace: string; client_id: string; generation: number }[]) {
      this.setGeneration(r.namespace, r.client_id, r.generation);
      this.live.add(r.generation);
    }
    // Past every generation a copy in the log may name, the sessions' (even deleted ones') too.
    this.nextGeneration = ((this.q.maxGeneration.get() as { g: number | null }).g ?? 0) + 1;
    const transaction = writeTransaction(db, (writes: SessionWrite[]) => {
      for (const w of writes) this.apply(w);
      this.collectSome();
    });
    // A transaction that fails is rolled back: so are the generations it changed here.
    this.writeAll = (writes) => {
      const undo: (() => void)[] = [];
      const collect = { ...this.collect };
      this.undo = undo;
      try {
        transaction(writes);
      } catch (err) {
        for (const u of undo.reverse()) u();
        this.collect = collect;
        throw err;
      } finally {
        this.undo = undefined;
      }
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
      incoming_qos2: string; principal: string | null; generation: number;
    };
    type SubscriptionRecord = { filter: string; qos: 0 | 1 | 2; nl: number; rap: number; rh: 0 | 1 | 2; sub_id: number | null };
    const byGeneration = new Map<number, StoredSession>();
    const sessions = (this.q.allSessions.all() as SessionRecord[]).map((s) => {
      const session: StoredSession = {
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
      };
      byGeneration.set(s.generation, session);
      return session;
    });
    // The log, oldest first: each live copy joins its session's messages (the payload Buffer
    // shared); rows with none are collected now.
    const dead: number[] = [];
    for (const r of this.q.allQueued.iterate() as IterableIterator<QueueRecord>) {
      const properties = propsFromJson(r.properties);
      const ids = r.subscription_ids === null ? undefined : (JSON.parse(r.subscription_ids) as Record<string, number[]>);
      let any = false;
      for (let o = 0; o + COPY_BYTES <= r.copies.length; o += COPY_BYTES) {
        const generation = r.copies.readUInt32BE(o);
        const session = byGeneration.get(generation);
        if (!session) continue;
        any = true;
        const flags = r.copies[o + 8]!;
        const subscriptionIdentifier = ids?.[generation];
        session.messages.push({
          seq: r.copies.readUInt32BE(o + 4), state: "queued", packetId: null, topic: r.topic, payload: r.payload,
          qos: (flags & 3) as 0 | 1 | 2, retain: (flags & 4) !== 0,
          properties: subscriptionIdentifier ? { ...properties, subscriptionIdentifier } : properties, expiresAt: r.expires_at,
        });
      }
      if (!any) dead.push(r.id);
    }
    if (dead.length > 0) writeTransaction(this.db, () => { for (const id of dead) this.q.deleteQueued.run(id); })();
    for (const s of sessions) s.messages.sort((a, b) => a.seq - b.seq);
    return sessions;
  }

  writeSessions(writes: SessionWrite[]): void {
    this.writeAll(writes);
  }

  private apply(w: SessionWrite): void {
    switch (w.kind) {
      case "state": {
        const s = w.state;
        let generation = this.generations.get(s.namespace)?.get(s.clientId);
        if (w.fresh) {
          this.q.deleteSubscriptions.run(s.namespace, s.clientId);
          this.q.deleteMessages.run(s.namespace, s.clientId);
        } else if (w.messages) this.q.deleteMessages.run(s.namespace, s.clientId);
        // Its stored messages start again (from `messages`, or none): the copies in the log so far are not its.
        if (w.fresh || w.messages || generation === undefined) generation = this.renew(s.namespace, s.clientId, generation);
        this.q.putSession.run(s.namespace, s.clientId, s.expiryInterval, s.disconnectedAt, JSON.stringify(s.incomingQos2),
          s.principal === null ? null : JSON.stringify(s.principal), generation);
        if (w.messages) for (const m of w.messages) this.insertMessage(s.namespace, s.clientId, m);
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
        this.append(w.namespace, w.message, w.copies);
        return;
      case "delete": {
        const generation = this.generations.get(w.namespace)?.get(w.clientId);
        if (generation !== undefined) this.end(w.namespace, w.clientId, generation);
        this.q.deleteSession.run(w.namespace, w.clientId);
        this.q.deleteSubscriptions.run(w.namespace, w.clientId);
        this.q.deleteMessages.run(w.namespace, w.clientId);
        return;
      }
    }
  }

  /** One row for a message queued for offline sessions: the payload once, 9 bytes per copy. */
  private append(namespace: string, m: StoredMessage, copies: StoredCopy[]): void {
    const packed = Buffer.allocUnsafe(copies.length * COPY_BYTES);
    let subscriptionIds: Record<number, number[]> | undefined;
    let n = 0;
    let max = 0;
    const generations = this.generations.get(namespace);
    for (const c of copies) {
      const generation = generations?.get(c.clientId);
      // A session deleted before this reached the store: nothing to keep for it.
      if (generation === undefined) continue;
      const o = n++ * COPY_BYTES;
      packed.writeUInt32BE(generation, o);
      packed.writeUInt32BE(c.seq, o + 4);
      packed[o + 8] = c.qos | (c.retain ? 4 : 0);
      if (generation > max) max = generation;
      if (c.subscriptionIds) (subscriptionIds ??= {})[generation] = c.subscriptionIds;
    }
    if (n === 0) return;
    this.q.appendQueued.run(namespace, m.topic, m.payload, m.qos, propsToJson(m.properties), m.expiresAt,
      n === copies.length ? packed : packed.subarray(0, n * COPY_BYTES), subscriptionIds ? JSON.stringify(subscriptionIds) : null, max);
  }

  private renew(namespace: string, clientId: string, previous: number | undefined): number {
    if (previous !== undefined) this.end(namespace, clientId, previous);
    const generation = this.nextGeneration++;
    this.setGeneration(namespace, clientId, generation);
    this.live.add(generation);
    this.undo?.push(() => {
      this.generations.get(namespace)?.delete(clientId);
      this.live.delete(generation);
    });
    return generation;
  }

  private end(namespace: string, clientId: string, generation: number): void {
    this.generations.get(namespace)?.delete(clientId);
    this.live.delete(generation);
    this.collect.due = true;
    this.undo?.push(() => {
      this.setGeneration(namespace, clientId, generation);
      this.live.add(generation);
    });
  }

  private setGeneration(namespace: string, clientId: string, generation: number): void {
    let m = this.generations.get(namespace);
    if (!m) this.generations.set(namespace, (m = new Map()));
    m.set(clientId, generation);
  }

  /**
   * Collection of dead log rows (no copy of a live generation), a few per transaction: once a
   * generation has ended, a pass walks the log from its start, `COLLECT_ROWS` rows at a time.
   */
  private collectSome(): void {
    const c = this.collect;
    if (!c.running) {
      if (!c.due) return;
      c.due = false;
      c.running = true;
      c.cursor = 0;
    }
    const rows = this.q.queuedCopiesAfter.all(c.cursor, COLLECT_ROWS) as { id: number; copies: Buffer }[];
    for (const r of rows) {
      c.cursor = r.id;
      let alive = false;
      for (let o = 0; o + COPY_BYTES <= r.copies.length && !alive; o += COPY_BYTES) alive = this.live.has(r.copies.readUInt32BE(o));
      if (!alive) this.q.deleteQueued.run(r.id);
    }
    if (rows.length < COLLECT_ROWS) c.running = false;
  }

  private insertMessage(namespace: string, clientId: string, m: StoredSessionMessage): void {
    this.q.putMessage.run(namespace, clientId, m.seq, m.state, m.packetId, m.topic, m.payload, m.qos, m.retain ? 1 : 0,
      propsToJson(m.properties), m.expiresAt);
  }
}
