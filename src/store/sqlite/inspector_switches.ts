import type { InspectorSwitchStore } from "../types.js";
import type { Db } from "./open.js";

/** Which devices have their live inspector switched off, so the switch survives a restart. */
export class SqliteInspectorSwitches implements InspectorSwitchStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      all: db.prepare("SELECT device FROM inspector_disabled"),
      off: db.prepare("INSERT OR IGNORE INTO inspector_disabled (device) VALUES (?)"),
      on: db.prepare("DELETE FROM inspector_disabled WHERE device = ?"),
    };
  }

  async disabled(): Promise<string[]> {
    return (this.q.all.all() as { device: string }[]).map((r) => r.device);
  }

  async save(deviceId: string, enabled: boolean): Promise<void> {
    (enabled ? this.q.on : this.q.off).run(deviceId);
  }
}
