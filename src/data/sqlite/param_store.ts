/**
 * Device params in SQLite (`device_params`, migration 3). The table references `devices` with
 * ON DELETE CASCADE, so a deleted device's params go with it; callers check that the device
 * exists (and belongs to the account) before saving.
 */
import { notFound } from "../../errors.js";
import { generateId } from "../../identity/tokens.js";
import type { Db } from "../../store/sqlite/open.js";
import { writeTransaction } from "../../store/sqlite/open.js";
import type { DeviceParam, ParamInput, ParamStore } from "../params.js";

interface ParamRow {
  id: string;
  key: string;
  value: string;
  sent: number;
}

const toParam = (r: ParamRow): DeviceParam => ({ id: r.id, key: r.key, value: r.value, sent: r.sent === 1 });

export class SqliteParamStore implements ParamStore {
  private readonly q;

  constructor(private readonly db: Db) {
    this.q = {
      list: db.prepare("SELECT id, key, value, sent FROM device_params WHERE device = ? AND (? IS NULL OR sent = ?) ORDER BY created_at, rowid"),
      byId: db.prepare("SELECT id, key, value, sent FROM device_params WHERE device = ? AND id = ?"),
      byKey: db.prepare("SELECT id, key, value, sent FROM device_params WHERE device = ? AND key = ? ORDER BY created_at, rowid LIMIT 1"),
      insert: db.prepare("INSERT INTO device_params (id, device, key, value, sent, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
      update: db.prepare("UPDATE device_params SET key = ?, value = ?, sent = ? WHERE device = ? AND id = ?"),
      markSent: db.prepare("UPDATE device_params SET sent = ? WHERE device = ? AND id = ?"),
      remove: db.prepare("DELETE FROM device_params WHERE device = ? AND id = ?"),
    };
  }

  async list(deviceId: string, sent?: boolean): Promise<DeviceParam[]> {
    const flag = sent === undefined ? null : sent ? 1 : 0;
    return (this.q.list.all(deviceId, flag, flag) as ParamRow[]).map(toParam);
  }

  async save(deviceId: string, inputs: ParamInput[]): Promise<DeviceParam[]> {
    return writeTransaction(this.db, () => inputs.map((input) => this.saveOne(deviceId, input)))();
  }

  private saveOne(deviceId: string, input: ParamInput): DeviceParam {
    const existing = (input.id !== undefined
      ? this.q.byId.get(deviceId, input.id)
      : this.q.byKey.get(deviceId, input.key)) as ParamRow | undefined;
    if (input.id !== undefined && !existing) throw notFound(`Param ${input.id}`);
    const sent = input.sent ?? false;
    if (existing) {
      const param = { id: existing.id, key: input.key ?? existing.key, value: input.value ?? existing.value, sent };
      this.q.update.run(param.key, param.value, sent ? 1 : 0, deviceId, param.id);
      return param;
    }
    const param = { id: generateId(), key: input.key!, value: input.value!, sent };
    this.q.insert.run(param.id, deviceId, param.key, param.value, sent ? 1 : 0, Date.now());
    return param;
  }

  async markSent(deviceId: string, id: string, sent: boolean): Promise<boolean> {
    return this.q.markSent.run(sent ? 1 : 0, deviceId, id).changes > 0;
  }

  async remove(deviceId: string, id: string): Promise<boolean> {
    return this.q.remove.run(deviceId, id).changes > 0;
  }
}
