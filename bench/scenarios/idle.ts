// Idle connections: how much broker memory a connected-but-silent client costs.
// RSS is read from /proc before and after opening the connections; the difference divided by
// the number of connections is the per-connection cost.
import { setTimeout as sleep } from "node:timers/promises";
import { LoadAgent } from "../load/remote.js";
import { probe } from "../probe.js";
import { rssKb } from "../proc.js";
import type { IdleResult } from "../results.js";
import type { Scenario } from "./context.js";

/**
 * Opened before the baseline is read, so lazily initialised broker state (code paths compiled on
 * first use, pools sized on first accept) is not charged to the 10 000 that follow.
 */
const WARMUP_CONNECTIONS = 100;
/** CONNECTs in flight at once: fast, yet far below the listen backlog, so no SYN is dropped. */
const CONCURRENCY = 100;
const SETTLE_MS = 1000;
/** Time for the broker's allocator (and a GC'd runtime's heap) to settle after the burst. */
const FINAL_SETTLE_MS = 2000;

export const idleScenario: Scenario<IdleResult> = {
  name: "idle",
  title: "idle connections (CONNECT, then silence)",
  initial: (config) => ({
    kind: "idle",
    requested: config.idleConnections,
    warmup: { opened: 0, totalOpen: 0, failed: 0, firstError: null, elapsedMs: 0 },
  }),
  async run(target, ctx, result) {
    const total = ctx.config.idleConnections;
    const warm = Math.min(WARMUP_CONNECTIONS, Math.floor(total / 10));
    const openTimeoutMs = 60_000 + total * 10;
    const agent = LoadAgent.start(ctx.generatorCpus);
    try {
      await sleep(SETTLE_MS);
      result.rssStartKb = rssKb(target.pid) ?? undefined;
      const common = { host: target.host, port: target.port, concurrency: CONCURRENCY };
      if (warm > 0) result.warmup = await agent.idleOpen({ ...common, count: warm }, openTimeoutMs);
      await sleep(SETTLE_MS);
      result.rssBaselineKb = rssKb(target.pid) ?? undefined;

      const main = await agent.idleOpen({ ...common, count: total - warm }, openTimeoutMs);
      result.main = main;
      ctx.log(
        `opened ${main.totalOpen}/${total} in ${(main.elapsedMs / 1000).toFixed(1)} s` +
          (main.failed > 0 ? ` (${main.failed} failed: ${main.firstError})` : ""),
      );
      await sleep(FINAL_SETTLE_MS);
      result.rssFinalKb = rssKb(target.pid) ?? undefined;
      const added = main.opened;
      if (result.rssFinalKb !== undefined && result.rssBaselineKb !== undefined && added > 0) {
        result.kbPerConnection = (result.rssFinalKb - result.rssBaselineKb) / added;
      }
      result.stillOpen = (await agent.idleStatus()).open;
      result.probe = await probe(target.host, target.port);
      ctx.log(
        `${result.kbPerConnection?.toFixed(2) ?? "?"} KB/connection, ${result.stillOpen} still open, ` +
          `probe ${result.probe.ok ? `ok (CONNACK ${result.probe.connackMs?.toFixed(1)} ms)` : `failed: ${result.probe.error}`}`,
      );
    } finally {
      await agent.stop();
    }
  },
};
