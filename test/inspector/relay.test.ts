import assert from "node:assert/strict";
import { test } from "node:test";
import { Inspector } from "../../src/inspector/inspector.js";
import type { InspectorEvent } from "../../src/inspector/types.js";

// The inspector's side of a cluster (cluster/event_relay.ts): a device followed on another node
// is watched here and its events forwarded; events from another node reach local streams only.
test("a remotely followed device is watched and forwarded; delivered events reach local streams and are not sent back", async () => {
  const inspector = new Inspector();
  const forwarded: InspectorEvent[] = [];
  inspector.attachRelay({ forward: (event) => forwarded.push(event) });
  const watches: string[] = [];
  inspector.onLocalWatch((deviceId, watching) => watches.push(`${deviceId}/${watching}`));

  assert.equal(inspector.watching("d1"), false);
  inspector.record("d1", "connect", "not followed anywhere");
  assert.equal(forwarded.length, 0);
  inspector.remoteWatch("d1", true);
  assert.equal(inspector.watching("d1"), true);
  inspector.record("d1", "message_in", "t (QoS 0, 1 B)", { topic: "t" });
  assert.deepEqual(forwarded.map((e) => [e.kind, e.summary, e.detail]), [["message_in", "t (QoS 0, 1 B)", { topic: "t" }]]);

  const got: InspectorEvent[] = [];
  const off = inspector.subscribe("d2", (events) => got.push(...events));
  assert.deepEqual(watches, ["d2/true"]);
  assert.deepEqual(inspector.locallyWatched(), ["d2"]);
  inspector.remoteWatch("d2", true);
  const at = Date.now() - 1000;
  inspector.deliver("d2", "connect", "from node B", new Date(at), { clientId: "c" });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got.map((e) => [e.kind, e.summary, e.time.getTime()]), [["connect", "from node B", at]]);
  assert.equal(forwarded.length, 1, "a delivered event is never forwarded again");
  assert.equal(inspector.list("d2").length, 1, "kept in this node's ring");
  off();
  assert.deepEqual(watches, ["d2/true", "d2/false"]);
  inspector.remoteWatch("d1", false);
  assert.equal(inspector.watching("d1"), false);
});
