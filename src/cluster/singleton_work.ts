/**
 * What each singleton lease starts and stops on this node (docs/cluster.md, "Once cluster-wide").
 * Knows the parts only by the few calls it makes, so it does not care which store holds their
 * definitions: taking a lease always reads them again from wherever they are.
 */
import type { Logger } from "../observability/logger.js";
import type { Leases, SingletonKind } from "./singleton.js";

export interface SingletonParts<Action> {
  /** Interval and schedule actions (pipeline/triggers/timers.ts) over the node's action list. */
  timers?: {
    sync(actions: readonly Action[]): void;
    actions: { all(): Action[]; reload(): Promise<void>; on(event: "changed", listener: () => void): unknown };
  };
  reports?: { schedules(on: boolean): void };
  relays?: { lead(): Promise<void>; standby(): void };
  /** Forwarded downlinks answered here while this node runs the relays (relay_downlink.ts). */
  downlinks?: { serve(): void; unserve(): void };
  logger: Logger;
}

/**
 * Starts each kind's work when the lease is taken and stops it when it is lost. A loss stops
 * the work synchronously: nothing of it runs once `Leases` has told of the loss.
 */
export function bindSingletons<Action>(leases: Leases, parts: SingletonParts<Action>): void {
  const { timers, reports, relays, downlinks, logger } = parts;
  const syncTimers = () => timers?.sync(leases.held("timers") ? timers.actions.all() : []);
  // Edits on this node re-arm (or drop) the timers; a node without the lease arms none.
  timers?.actions.on("changed", syncTimers);
  syncTimers();

  const failed = (kind: SingletonKind) => (err: unknown) => logger.error({ err, kind }, "starting a singleton's work failed");
  leases.onChange((kind, held) => {
    switch (kind) {
      case "timers":
        if (!timers) return;
        if (!held) return timers.sync([]);
        // Read again: the actions may have changed on other nodes since this one loaded them.
        void timers.actions.reload().then(syncTimers, failed(kind));
        return;
      case "reports":
        return reports?.schedules(held);
      case "relays":
        if (!relays) return;
        if (!held) {
          downlinks?.unserve();
          return relays.standby();
        }
        void relays.lead().then(() => {
          if (leases.held("relays")) downlinks?.serve();
        }, failed(kind));
        return;
    }
  });
}
