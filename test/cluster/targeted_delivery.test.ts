import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connect as natsConnect } from "nats";
import { encodeBusJson } from "../../src/cluster/bus_json.js";
import { TARGETED_SUBJECT } from "../../src/cluster/targeted_delivery.js";
import { collect, startCluster, subscribe, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import { noMessage } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";

// A message the platform sends to one device reaches the device's sessions on every node, and
// no other device's (docs/cluster.md, "Messages for one device").
let cluster: StoredCluster;
let a: TestNode;
let b: TestNode;

before(async () => {
  cluster = await startCluster({ nodes: 2, store: true });
  [a, b] = cluster.nodes as [TestNode, TestNode];
});

after(async () => {
  await cluster?.close();
});

const publishTo = (node: TestNode, device: string, topic: string, message: string) =>
  fetch(`${node.api}/analysis/services/mqtt/publish`, {
    method: "POST", headers: { authorization: node.adminToken, "content-type": "application/json" },
    body: JSON.stringify({ topic, message, device, qos: 1 }),
  });

test("a device's downlink made through node A reaches the device connected to node B, not another device there", async () => {
  const target = await a.device();
  const other = await a.device();
  const onB = await b.connect({ username: "Token", password: target.token, protocolVersion: 5 });
  const otherOnB = await b.connect({ username: "Token", password: other.token, protocolVersion: 5 });
  await subscribe(onB, "down/#", { qos: 1 });
  await subscribe(otherOnB, "down/#", { qos: 1 });
  const got = collect(onB);
  const res = await publishTo(a, target.deviceId, "down/cmd", "open");
  assert.equal(res.status, 200, await res.text());
  await until(async () => (got.length === 1 ? true : undefined));
  assert.deepEqual(got.map((m) => [m.topic, m.payload, m.packet.qos]), [["down/cmd", "open", 1]]);
  assert.equal(await noMessage(otherOnB, 300), true);
});

test("a malformed or foreign delivery on the bus is dropped and counted; deliveries go on", async () => {
  const nc = await natsConnect({ servers: cluster.nats.url });
  const before = b.server.cluster!.stats.dropped.malformed ?? 0;
  nc.publish(TARGETED_SUBJECT, new TextEncoder().encode("not json"));
  nc.publish(TARGETED_SUBJECT, encodeBusJson("x", "deliver", { accountId: "a", deviceId: "d", topic: "bad/#", payload: "", qos: 0, retain: false }));
  nc.publish(TARGETED_SUBJECT, encodeBusJson("x", "deliver", { accountId: "a", deviceId: "d", topic: "t", payload: "", qos: 3, retain: false }));
  await nc.flush();
  await nc.close();
  await until(async () => ((b.server.cluster!.stats.dropped.malformed ?? 0) >= before + 3 ? true : undefined));
  const target = await a.device();
  const onB = await b.connect({ username: "Token", password: target.token, protocolVersion: 5 });
  await subscribe(onB, "down/#", { qos: 1 });
  const got = collect(onB);
  assert.equal((await publishTo(a, target.deviceId, "down/again", "x")).status, 200);
  await until(async () => (got.length === 1 ? true : undefined));
});
