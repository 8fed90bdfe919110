import type { Relay } from "../../relay/relay_model.js";
import { toRelay, type QueuedDownlink, type RelayRecord, type RelayRepository } from "../sqlite/relays.js";
import { all, one, type Pool } from "./pool.js";

/** Relays, their downlink queues, and the device lookups their mappings need, in PostgreSQL (migration 6). */
export class PgRelayRepository implements RelayRepository {
  constructor(private readonly pool: Pool) {}

  async all(): Promise<Relay[]> {
    return (await all<RelayRecord>(this.pool, "SELECT id, account_id, settings, secrets, created_at, updated_at FROM relays ORDER BY created_at, rank")).map(toRelay);
  }

  async put(r: Relay): Promise<void> {
    await this.pool.query(
      `INSERT INTO relays (id, account_id, settings, secrets, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, secrets = excluded.secrets, updated_at = excluded.updated_at`,
      [r.id, r.accountId, JSON.stringify(r.settings), JSON.stringify(r.secrets), r.createdAt.getTime(), r.updatedAt.getTime()],
    );
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM relays WHERE id = $1 AND account_id = $2", [id, accountId])).rowCount ?? 0) > 0;
  }

  async enqueue(relayId: string, m: Omit<QueuedDownlink, "seq">): Promise<number> {
    const r = await one<{ seq: number }>(
      this.pool,
      "INSERT INTO relay_downlink (relay, topic, payload, qos, retain, queued_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
      [relayId, m.topic, m.payload, m.qos, m.retain, Date.now()],
    );
    return r!.seq;
  }

  async peek(relayId: string, afterSeq: number, limit: number): Promise<QueuedDownlink[]> {
    const rows = await all<{ seq: number; topic: string; payload: Buffer; qos: number; retain: boolean }>(
      this.pool, "SELECT seq, topic, payload, qos, retain FROM relay_downlink WHERE relay = $1 AND seq > $2 ORDER BY seq LIMIT $3", [relayId, afterSeq, limit],
    );
    return rows.map((r) => ({ seq: r.seq, topic: r.topic, payload: r.payload, qos: r.qos as 0 | 1 | 2, retain: r.retain }));
  }

  async remove(seq: number): Promise<void> {
    await this.pool.query("DELETE FROM relay_downlink WHERE seq = $1", [seq]);
  }

  async queued(relayId: string): Promise<number> {
    return (await one<{ n: number }>(this.pool, "SELECT count(*) AS n FROM relay_downlink WHERE relay = $1", [relayId]))!.n;
  }

  async deviceBySerial(accountId: string, serial: string): Promise<string | undefined> {
    return (await one<{ device_id: string }>(this.pool,
      "SELECT device_id FROM device_tokens WHERE account_id = $1 AND serie_number = $2 ORDER BY created_at, id LIMIT 1", [accountId, serial]))?.device_id;
  }

  async deviceByTag(accountId: string, key: string, value: string): Promise<string | undefined> {
    return (await one<{ id: string }>(
      this.pool,
      `SELECT d.id FROM devices d WHERE d.account_id = $1
         AND EXISTS (SELECT 1 FROM jsonb_array_elements(d.tags) t WHERE t->>'key' = $2 AND t->>'value' = $3)
       ORDER BY d.created_at, d.id LIMIT 1`,
      [accountId, key, value],
    ))?.id;
  }

  async deviceById(accountId: string, id: string): Promise<string | undefined> {
    return (await one<{ id: string }>(this.pool, "SELECT id FROM devices WHERE account_id = $1 AND id = $2", [accountId, id]))?.id;
  }

  async serialOf(deviceId: string): Promise<string | undefined> {
    return (await one<{ serie_number: string }>(this.pool,
      "SELECT serie_number FROM device_tokens WHERE device_id = $1 AND serie_number IS NOT NULL ORDER BY created_at, id LIMIT 1", [deviceId]))?.serie_number;
  }
}
