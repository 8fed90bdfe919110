// End-to-end ingest into PostgreSQL (issue 14; Sluice only): the `ingest` scenario's devices,
// QoS 1 messages and insert action, with Sluice started on `--store postgres://`, so a PUBACK
// means the records are committed in PostgreSQL. PostgreSQL runs with its durable defaults
// (fsync and synchronous_commit on: a commit waits for the WAL on disk), in a temp dir, started
// by test/helpers/postgres.ts as bench/pg_insert.ts does. No routing check (`ingest` has it).
import { startPostgres } from "../../test/helpers/postgres.js";
import type { IngestResult } from "../results.js";
import { startTarget } from "../targets.js";
import type { Scenario } from "./context.js";
import { ingestScenario, runIngest } from "./ingest.js";

/**
 * Seconds of load before each window, at least: a fresh node's first seconds make every device's
 * bucket row and (parsed) every device's parser isolate, with a disk flush per commit; with the
 * default 1 s they land in the window and measured 4 256 records/s (82 µs of Sluice CPU a
 * record) against 13 548 (32 µs) with 6 s, on the same loaded machine.
 */
const MIN_WARMUP_S = 6;

/** A node on PostgreSQL refuses to start without one (every node must share it); no relay runs here. */
const BENCH_RELAY_SECRET = "bench-ingest-pg-relay-secret";

export const ingestPgScenario: Scenario<IngestResult> = {
  name: "ingest-pg",
  title: "ingest into PostgreSQL: devices → QoS 1 → insert action → PostgreSQL (fsync on), PUBACK once committed",
  only: { kinds: ["sluice"], reason: "Mosquitto has no data pipeline to compare with" },
  initial: (config) => ({ ...ingestScenario.initial(config), store: "postgres" }),
  async run(target, ctx, result) {
    // The scenario's own Sluice (on SQLite) is not used: this one runs on PostgreSQL.
    const postgres = await startPostgres({ fsync: true });
    try {
      const url = await postgres.database();
      const node = await startTarget({ slot: "sluice-pg", kind: "sluice" }, { host: target.host, mosquittoNoDelay: false, sluiceArgs: ["--store", url, "--relay-secret", BENCH_RELAY_SECRET] });
      try {
        ctx.log(`Sluice on PostgreSQL: pid ${node.pid}, MQTT ${node.host}:${node.port}`);
        const config = { ...ctx.config, warmupS: Math.max(ctx.config.warmupS, MIN_WARMUP_S) };
        await runIngest(node, { ...ctx, config }, result, { routing: false, storeCpu: () => postgres.cpuSeconds() });
      } finally {
        await node.stop();
      }
    } finally {
      await postgres.stop();
    }
  },
};
