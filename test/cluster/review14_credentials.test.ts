import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { pino } from "pino";
import { defaultConfig } from "../../src/config/schema.js";
import { withoutCredentials } from "../../src/cluster/node.js";
import { startSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";

// Review of issue 14: NATS must be authenticated (docs/cluster.md, "Hostile bus traffic"), so its
// URL carries a password (`nats://sluice:PASSWORD@nats:4222`); a node that cannot reach NATS
// logs the servers it tries, and must not log that password.

test("the NATS password in --cluster is not logged when NATS is unreachable", async () => {
  let logged = "";
  const sink = new Writable({ write(chunk: Buffer, _e, done) { logged += chunk.toString(); done(); } });
  const s = await startSluice({ cluster: { ...defaultConfig.cluster, url: "nats://sluice:s3cret-pw@127.0.0.1:1", nodeId: "cred" } }, undefined, { logger: pino({ level: "warn" }, sink) });
  try {
    await until(async () => (logged.includes("NATS unreachable") ? true : undefined), 10_000);
    assert.ok(!logged.includes("s3cret-pw"), logged);
    assert.ok(logged.includes("sluice:***@127.0.0.1:1"));
  } finally {
    await s.close();
  }
});

test("withoutCredentials keeps scheme, user and host", () => {
  assert.deepEqual(withoutCredentials(["nats://u:p@h:4222", "tls://h2:4222", "u2:p2@h3:1", "nats://tok@h"]), ["nats://u:***@h:4222", "tls://h2:4222", "u2:***@h3:1", "nats://tok:***@h"]);
});
