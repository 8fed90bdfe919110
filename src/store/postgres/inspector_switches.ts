import type { InspectorSwitchStore } from "../types.js";
import { all, type Pool } from "./pool.js";

/**
 * Which devices have their live inspector switched off (`inspector_disabled`, migration 7), the
 * same contract as SQLite's. The row goes with its device (ON DELETE CASCADE).
 */
export class PgInspectorSwitches implements InspectorSwitchStore {
  constructor(private readonly pool: Pool) {}

  async disabled(): Promise<string[]> {
    return (await all<{ device: string }>(this.pool, "SELECT device FROM inspector_disabled")).map((r) => r.device);
  }

  async save(deviceId: string, enabled: boolean): Promise<void> {
    if (enabled) await this.pool.query("DELETE FROM inspector_disabled WHERE device = $1", [deviceId]);
    else await this.pool.query("INSERT INTO inspector_disabled (device) VALUES ($1) ON CONFLICT DO NOTHING", [deviceId]);
  }
}
