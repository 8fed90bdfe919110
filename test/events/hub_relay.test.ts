import assert from "node:assert/strict";
import { test } from "node:test";
import { EventHub } from "../../src/events/hub.js";

// The hub's side of a cluster (cluster/event_relay.ts): listeners on other nodes count as
// listeners, events on their channels are forwarded, events from other nodes reach local
// listeners only.
test("a remote listener makes a channel listened, watched, and forwarded to; a local one is announced", () => {
  const hub = new EventHub();
  const forwarded: string[] = [];
  hub.attachRelay({ forward: (accountId, channel, payload) => forwarded.push(`${accountId}/${channel}/${JSON.stringify(payload)}`) });
  const watched: string[] = [];
  hub.watch("dashboard", (accountId, channel, listening) => watched.push(`${accountId}/${channel}/${listening}`));
  const local: string[] = [];
  hub.onLocalInterest((accountId, channel, listening) => local.push(`${accountId}/${channel}/${listening}`));

  assert.equal(hub.listening("acc", "dashboard.d1"), false);
  hub.remoteInterest("acc", "dashboard.d1", true);
  assert.equal(hub.listening("acc", "dashboard.d1"), true);
  assert.deepEqual(watched, ["acc/dashboard.d1/true"]);
  assert.deepEqual(local, [], "a remote listener is not announced again");

  hub.publish("acc", "dashboard.d1", { n: 1 });
  hub.publish("acc", "dashboard.d2", { n: 2 }); // nobody listens anywhere
  assert.deepEqual(forwarded, ['acc/dashboard.d1/{"n":1}']);

  // A local listener too: watchers hear nothing new; it is announced; both keep the channel listened.
  const got: unknown[] = [];
  const off = hub.subscribe("acc", ["dashboard.d1"], (_channel, payload) => got.push(payload));
  assert.deepEqual(local, ["acc/dashboard.d1/true"]);
  assert.deepEqual(watched, ["acc/dashboard.d1/true"]);
  hub.remoteInterest("acc", "dashboard.d1", false);
  assert.deepEqual(watched, ["acc/dashboard.d1/true"], "still listened here");
  hub.publish("acc", "dashboard.d1", { n: 3 });
  assert.equal(forwarded.length, 1, "no other node listens any more");

  // An event from another node: local listeners only, never forwarded.
  hub.remoteInterest("acc", "dashboard.d1", true);
  hub.deliver("acc", "dashboard.d1", { n: 4 });
  assert.deepEqual(got, [{ n: 3 }, { n: 4 }]);
  assert.equal(forwarded.length, 1);
  assert.deepEqual(hub.localChannels(), [{ accountId: "acc", channel: "dashboard.d1" }]);

  off();
  assert.deepEqual(local, ["acc/dashboard.d1/true", "acc/dashboard.d1/false"]);
  assert.deepEqual(watched, ["acc/dashboard.d1/true"], "the remote listener keeps it listened");
  hub.remoteInterest("acc", "dashboard.d1", false);
  assert.deepEqual(watched, ["acc/dashboard.d1/true", "acc/dashboard.d1/false"]);
  assert.equal(hub.listening("acc", "dashboard.d1"), false);
});
