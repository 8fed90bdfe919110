import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { InterestTable } from "../../src/cluster/interest.js";
import { filterSubjects, overflowSubject, queueName } from "../../src/cluster/subjects.js";
import { startSluice } from "../helpers/sluice.js";

// Interest follows subscriptions (src/cluster/interest.ts): counted per filter and per subject,
// subscribed on the first, unsubscribed on the last. The NATS side is covered in routing.test.ts;
// here the counting, with a table that records what it was asked to subscribe.

function recordingTable() {
  const live = new Map<string, number>();
  const key = (subject: string, queue: string | undefined) => `${subject}|${queue ?? ""}`;
  const table = new InterestTable({
    subscribe(subject, queue) {
      const k = key(subject, queue);
      assert.equal(live.has(k), false, `subscribed twice: ${k}`);
      live.set(k, 1);
      return { unsubscribe: () => assert.ok(live.delete(k), `unsubscribed twice: ${k}`) };
    },
  }, () => undefined, () => undefined);
  return { table, live, key };
}

describe("interest table", () => {
  test("filters sharing subjects share one subscription; each goes with its last holder", () => {
    const { table, live, key } = recordingTable();
    table.add("ns", "a/#", undefined);
    table.add("ns", "a/#", undefined);
    table.add("ns", "a", undefined);
    const hash = filterSubjects("ns", "a/#");
    assert.deepEqual([...live.keys()].sort(), [...hash, overflowSubject("ns")].map((s) => key(s, undefined)).sort());
    table.remove("ns", "a/#", undefined);
    assert.equal(live.size, 3);
    table.remove("ns", "a/#", undefined);
    // `…a` and the overflow subject stay for the filter `a`.
    assert.deepEqual([...live.keys()].sort(), [filterSubjects("ns", "a")[0]!, overflowSubject("ns")].map((s) => key(s, undefined)).sort());
    table.remove("ns", "a", undefined);
    assert.equal(live.size, 0);
    table.remove("ns", "a", undefined);
    assert.equal(live.size, 0);
  });

  test("a $share group is a queue subscription of its own, apart from the plain one on the same filter", () => {
    const { table, live, key } = recordingTable();
    table.add("ns", "x/+", undefined);
    table.add("ns", "x/+", "g");
    table.add("ns", "x/+", "h");
    const q = queueName("ns", "g", "x/+");
    assert.ok(live.has(key(filterSubjects("ns", "x/+")[0]!, q)));
    assert.ok(live.has(key(overflowSubject("ns"), q)));
    assert.equal(live.size, 6);
    table.remove("ns", "x/+", "g");
    assert.equal(live.size, 4);
    table.clear();
    assert.equal(live.size, 0);
  });
});

describe("without cluster configuration", () => {
  let close: (() => Promise<void>) | undefined;
  after(async () => close?.());

  test("no cluster part is built: the broker has no link and /metrics has no cluster series", async () => {
    const s = await startSluice();
    close = () => s.close();
    assert.equal(s.server.cluster, undefined);
    assert.equal(s.server.broker.cluster, undefined);
    const metrics = await (await fetch(`${s.api}/metrics`)).text();
    assert.doesNotMatch(metrics, /sluice_cluster_/);
  });
});
