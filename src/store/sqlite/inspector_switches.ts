import type { Db } from "./open.js";

/** Which devices have their live inspector switched off, so the switch survives a restart. */
export class SqliteInspectorSwitches {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      all: db.prepare("SELECT device FROM inspector_disabled"),
      off: db.prepare("INSERT OR IGNORE INTO inspector_disabled (device) VALUES (?)"),
      on: db.prepare("DELETE FROM inspector_disabled WHERE device = ?"),
    };
  }

  disabled(): string[] {
    return (this.q.all.all() as { device: string }[]).map((r) => r.device);
  }

  save(deviceId: string, enabled: boolean): void {
    (enabled ? this.q.on : this.q.off).run(deviceId);
  }
}
