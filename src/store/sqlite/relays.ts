import type { DeviceLookup } from "../../relay/device_mapping.js";
import type { Relay, RelaySettings } from "../../relay/relay_model.js";
import type { Db } from "./open.js";

export interface RelayRecord {
  id: string;
  account_id: string;
  settings: string;
  secrets: string;
  created_at: number;
  updated_at: number;
}

export interface QueuedDownlink {
  seq: number;
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export const toRelay = (r: RelayRecord): Relay => ({
  id: r.id,
  accountId: r.account_id,
  settings: JSON.parse(r.settings) as RelaySettings,
  secrets: JSON.parse(r.secrets) as Relay["secrets"],
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

/** Where relays are kept (SQLite, PostgreSQL), with their downlink queues and the device lookups their mappings need. */
export interface RelayRepository extends DeviceLookup {
  /** Every relay, oldest first. */
  all(): Promise<Relay[]>;
  /** Inserts the relay, or replaces its settings and secrets. */
  put(r: Relay): Promise<void>;
  /** Deletes the relay and its queue; false when the account has none by that id. */
  delete(accountId: string, id: string): Promise<boolean>;
  /** Stores a message at the end of the relay's queue; returns its seq (greater than every earlier one's). */
  enqueue(relayId: string, m: Omit<QueuedDownlink, "seq">): Promise<number>;
  /** The oldest queued messages after `afterSeq`, in order. */
  peek(relayId: string, afterSeq: number, limit: number): Promise<QueuedDownlink[]>;
  remove(seq: number): Promise<void>;
  /** How many messages the relay's queue holds. */
  queued(relayId: string): Promise<number>;
}

/** Relays, their downlink queues, and the device lookups their mappings need, in SQLite (migration 8). */
export class SqliteRelayRepository implements RelayRepository {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      all: db.prepare("SELECT * FROM relays ORDER BY created_at"),
      put: db.prepare(
        `INSERT INTO relays (id, account_id, settings, secrets, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET settings = excluded.settings, secrets = excluded.secrets, updated_at = excluded.updated_at`,
      ),
      delete: db.prepare("DELETE FROM relays WHERE id = ? AND account_id = ?"),
      enqueue: db.prepare("INSERT INTO relay_downlink (relay, topic, payload, qos, retain, queued_at) VALUES (?, ?, ?, ?, ?, ?)"),
      peek: db.prepare("SELECT seq, topic, payload, qos, retain FROM relay_downlink WHERE relay = ? AND seq > ? ORDER BY seq LIMIT ?"),
      remove: db.prepare("DELETE FROM relay_downlink WHERE seq = ?"),
      count: db.prepare("SELECT count(*) AS n FROM relay_downlink WHERE relay = ?"),
      bySerial: db.prepare("SELECT device_id FROM device_tokens WHERE account_id = ? AND serie_number = ? ORDER BY created_at LIMIT 1"),
      serialOf: db.prepare("SELECT serie_number FROM device_tokens WHERE device_id = ? AND serie_number IS NOT NULL ORDER BY created_at LIMIT 1"),
      byTag: db.prepare(
        `SELECT d.id FROM devices d, json_each(d.tags) t
         WHERE d.account_id = ? AND json_extract(t.value, '$.key') = ? AND json_extract(t.value, '$.value') = ?
         ORDER BY d.created_at LIMIT 1`,
      ),
      byId: db.prepare("SELECT id FROM devices WHERE account_id = ? AND id = ?"),
    };
  }

  async all(): Promise<Relay[]> {
    return (this.q.all.all() as RelayRecord[]).map(toRelay);
  }

  async put(r: Relay): Promise<void> {
    this.q.put.run(r.id, r.accountId, JSON.stringify(r.settings), JSON.stringify(r.secrets), r.createdAt.getTime(), r.updatedAt.getTime());
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    return this.q.delete.run(id, accountId).changes > 0;
  }

  async enqueue(relayId: string, m: Omit<QueuedDownlink, "seq">): Promise<number> {
    return Number(this.q.enqueue.run(relayId, m.topic, m.payload, m.qos, m.retain ? 1 : 0, Date.now()).lastInsertRowid);
  }

  async peek(relayId: string, afterSeq: number, limit: number): Promise<QueuedDownlink[]> {
    return (this.q.peek.all(relayId, afterSeq, limit) as { seq: number; topic: string; payload: Buffer; qos: number; retain: number }[]).map((r) => ({
      seq: r.seq, topic: r.topic, payload: r.payload, qos: r.qos as 0 | 1 | 2, retain: r.retain === 1,
    }));
  }

  async remove(seq: number): Promise<void> {
    this.q.remove.run(seq);
  }

  async queued(relayId: string): Promise<number> {
    return (this.q.count.get(relayId) as { n: number }).n;
  }

  async deviceBySerial(accountId: string, serial: string): Promise<string | undefined> {
    return (this.q.bySerial.get(accountId, serial) as { device_id: string } | undefined)?.device_id;
  }

  async deviceByTag(accountId: string, key: string, value: string): Promise<string | undefined> {
    return (this.q.byTag.get(accountId, key, value) as { id: string } | undefined)?.id;
  }

  async deviceById(accountId: string, id: string): Promise<string | undefined> {
    return (this.q.byId.get(accountId, id) as { id: string } | undefined)?.id;
  }

  async serialOf(deviceId: string): Promise<string | undefined> {
    return (this.q.serialOf.get(deviceId) as { serie_number: string } | undefined)?.serie_number;
  }
}
