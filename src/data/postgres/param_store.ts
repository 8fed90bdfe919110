/**
 * Device params in PostgreSQL (`device_params`, migration 7 of store/postgres/migrations.ts),
 * the same contract as the SQLite store (test/data/param_store.test.ts). The table references
 * `devices` with ON DELETE CASCADE, so a deleted device's params go with it; callers check that
 * the device exists (and belongs to the account) before saving.
 */
import { notFound } from "../../errors.js";
import { generateId } from "../../identity/tokens.js";
import { all, one, transaction, type Pool, type PoolClient } from "../../store/postgres/pool.js";
import type { DeviceParam, ParamInput, ParamStore } from "../params.js";

interface ParamRow {
  id: string;
  key: string;
  value: string;
  sent: boolean;
}

const toParam = (r: ParamRow): DeviceParam => ({ id: r.id, key: r.key, value: r.value, sent: r.sent });

/** The advisory lock space of a device's params, with the device id's hash. Any 32-bit number, the same in every Sluice. */
const PARAMS_LOCK_CLASS = 0x736c_7001;

export class PgParamStore implements ParamStore {
  constructor(private readonly pool: Pool) {}

  async list(deviceId: string, sent?: boolean): Promise<DeviceParam[]> {
    const rows = await all<ParamRow>(this.pool,
      "SELECT id, key, value, sent FROM device_params WHERE device = $1 AND ($2::boolean IS NULL OR sent = $2) ORDER BY created_at, rank",
      [deviceId, sent ?? null]);
    return rows.map(toParam);
  }

  /**
   * All or nothing. Saving by key must find a param another node is saving at the same moment
   * (no unique (device, key), as in SQLite: an update by id may give a param any key), so saves
   * of one device take its advisory lock, as SQLite's single writer serializes them.
   */
  async save(deviceId: string, inputs: ParamInput[]): Promise<DeviceParam[]> {
    return transaction(this.pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [PARAMS_LOCK_CLASS, deviceId]);
      const saved: DeviceParam[] = [];
      for (const input of inputs) saved.push(await this.saveOne(client, deviceId, input));
      return saved;
    });
  }

  private async saveOne(client: PoolClient, deviceId: string, input: ParamInput): Promise<DeviceParam> {
    const existing = input.id !== undefined
      ? await one<ParamRow>(client, "SELECT id, key, value, sent FROM device_params WHERE device = $1 AND id = $2", [deviceId, input.id])
      : await one<ParamRow>(client, "SELECT id, key, value, sent FROM device_params WHERE device = $1 AND key = $2 ORDER BY created_at, rank LIMIT 1", [deviceId, input.key]);
    if (input.id !== undefined && !existing) throw notFound(`Param ${input.id}`);
    const sent = input.sent ?? false;
    if (existing) {
      const param = { id: existing.id, key: input.key ?? existing.key, value: input.value ?? existing.value, sent };
      await client.query("UPDATE device_params SET key = $1, value = $2, sent = $3 WHERE device = $4 AND id = $5", [param.key, param.value, sent, deviceId, param.id]);
      return param;
    }
    const param = { id: generateId(), key: input.key!, value: input.value!, sent };
    await client.query("INSERT INTO device_params (id, device, key, value, sent, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
      [param.id, deviceId, param.key, param.value, sent, Date.now()]);
    return param;
  }

  async markSent(deviceId: string, id: string, sent: boolean): Promise<boolean> {
    return ((await this.pool.query("UPDATE device_params SET sent = $1 WHERE device = $2 AND id = $3", [sent, deviceId, id])).rowCount ?? 0) > 0;
  }

  async remove(deviceId: string, id: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM device_params WHERE device = $1 AND id = $2", [deviceId, id])).rowCount ?? 0) > 0;
  }
}
