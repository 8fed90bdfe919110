import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { ANONYMOUS_NAMESPACE } from "../../src/access/broker_hooks.js";
import { collect, publish, settled, startCluster, subscribe, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import { uid } from "../helpers/raw_mqtt.js";
import { until } from "../helpers/until.js";

// Review of issue 14: one client id connecting on three nodes at once, several rounds, while its
// persistent session holds queued messages. Afterwards exactly one connection, the session in
// exactly one node's memory, and no queued message lost.

let cluster: StoredCluster;
let nodes: TestNode[];
const clients: MqttClient[] = [];

before(async () => {
  cluster = await startCluster({ nodes: 3, store: true });
  nodes = cluster.nodes;
});

after(async () => {
  for (const c of clients) c.end(true);
  await cluster?.close();
});

test("concurrent CONNECTs of one client id on three nodes leave one connection and every queued message", async () => {
  const [a] = nodes as [TestNode];
  const clientId = uid("flood-");
  const t = uid("flood/");
  const options = { protocolVersion: 5 as const, clientId, clean: false, properties: { sessionExpiryInterval: 300 }, reconnectPeriod: 0, connectTimeout: 15_000 };
  const first = await a.client(options);
  await subscribe(first, `${t}/#`, { qos: 1 });
  await new Promise<void>((r) => first.end(false, {}, () => r()));
  const pub = await nodes[1]!.client({ clientId: uid("p-") });
  clients.push(pub);
  const N = 10;
  for (let i = 0; i < N; i++) await publish(pub, `${t}/m`, `q${i}`, { qos: 1 });
  await settled(nodes);

  const received: string[] = [];
  let live: MqttClient[] = [];
  for (let round = 0; round < 3; round++) {
    const done = new Set<MqttClient>();
    const attempts = nodes.map((n) => {
      const c = mqtt.connect(n.mqttUrl, options);
      clients.push(c);
      c.on("message", (_t, p) => received.push(p.toString()));
      c.once("connect", () => done.add(c));
      c.once("close", () => done.add(c));
      c.on("error", () => undefined);
      return c;
    });
    // Every attempt connected or was refused or ended; then at most one stays (the takeovers settle).
    await until(async () => (done.size === attempts.length ? true : undefined), 20_000);
    await until(async () => (attempts.filter((c) => c.connected).length <= 1 ? true : undefined), 20_000);
    live = attempts.filter((c) => c.connected);
    for (const c of attempts) if (!c.connected) c.end(true);
  }
  assert.equal(live.length, 1, "exactly one connection survives");
  // The session is in one node's memory.
  await until(async () => (nodes.filter((n) => n.server.broker.sessionOf(ANONYMOUS_NAMESPACE, clientId)).length === 1 ? true : undefined), 10_000);
  // Nothing queued was lost (duplicates are allowed at QoS 1 across reconnects; counted below).
  await until(async () => (Array.from({ length: N }, (_, i) => `q${i}`).every((q) => received.includes(q)) ? true : undefined), 10_000);
  const dups = received.filter((p) => p.startsWith("q")).length - N;
  console.log(`review14 flood: ${received.length} deliveries of ${N} queued messages (${dups} redeliveries)`);
  // And the survivor gets a new message exactly once.
  const got = collect(live[0]!);
  await publish(pub, `${t}/m`, "after", { qos: 1 });
  await publish(pub, `${t}/m`, "marker", { qos: 1 });
  await until(async () => (got.some((m) => m.payload === "marker") ? true : undefined));
  assert.equal(got.filter((m) => m.payload === "after").length, 1);
});
