import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeHistory } from "../../src/cluster/inspector_history.js";
import type { InspectorEvent } from "../../src/inspector/types.js";

const at = (id: number, ms: number, summary: string, relayed = false): InspectorEvent => ({
  id, deviceId: "d", time: new Date(ms), kind: "connect", summary, ...(relayed && { relayed: true as const }),
});

test("events of both sides merge newest first, cut to the limit", () => {
  const local = [at(3, 300, "l3"), at(1, 100, "l1")];
  const remote = [at(9, 400, "r4"), at(8, 200, "r2"), at(7, 50, "r0")];
  assert.deepEqual(mergeHistory(local, remote, 10).map((e) => e.summary), ["r4", "l3", "r2", "l1", "r0"]);
  assert.deepEqual(mergeHistory(local, remote, 2).map((e) => e.summary), ["r4", "l3"]);
});

test("a remote event this node holds as a live-relayed copy is kept once, as the copy; a same-looking local event is not a copy", () => {
  const local = [at(5, 200, "same", true), at(4, 200, "same")];
  const remote = [at(9, 200, "same"), at(8, 200, "same")];
  const merged = mergeHistory(local, remote, 10);
  // One remote event matched the one relayed copy; the other remote one stays beside the local original.
  assert.deepEqual(merged.map((e) => e.id), [5, 4, 8]);
});
