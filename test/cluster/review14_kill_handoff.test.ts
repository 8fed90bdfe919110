import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { IClientOptions, MqttClient } from "mqtt";
import { ANONYMOUS_NAMESPACE } from "../../src/access/broker_hooks.js";
import { type OpenedClient, type StoredCluster, type TestNode, openClient, publish, settled, startCluster, startNode, subscribe, untilAvailable } from "../helpers/cluster.js";
import { spawnNode, type NodeProcess } from "../helpers/node_process.js";
import { uid } from "../helpers/raw_mqtt.js";
import { until } from "../helpers/until.js";

// Review of issue 14: kill -9 the node holding a persistent session while another node is
// claiming it. The client's CONNECTs retried must end with its session, every queued message once.

let cluster: StoredCluster;
let holder: NodeProcess;
let b: TestNode;
const clients: MqttClient[] = [];

before(async () => {
  // NATS and the database only: the holder runs as a child process, to be killed.
  cluster = await startCluster({ nodes: 0, store: true });
  const { nats, store } = cluster;
  holder = await spawnNode({ name: "n1", nats: nats.url, store });
  b = await startNode(nats.url, "node-b", { store, adminToken: holder.adminToken() });
  await untilAvailable(b);
});

after(async () => {
  for (const c of clients) c.end(true);
  await holder?.kill9();
  await holder?.stop();
  await b?.close();
  await cluster?.close();
});

function open(url: string, options: IClientOptions): Promise<OpenedClient> {
  return openClient(url, options, clients);
}

test("the holder killed while its session is being claimed: the session resumes with every queued message, none twice", async () => {
  const clientId = uid("kh-");
  const t = uid("kh/");
  const options = { clientId, clean: false, properties: { sessionExpiryInterval: 600 } };
  const away = await open(holder.mqttUrl, options);
  await subscribe(away.client, `${t}/#`, { qos: 1 });
  await new Promise<void>((r) => away.client.end(false, {}, () => r()));
  const pub = await open(b.mqttUrl, { clientId: uid("p-") });
  const N = 20;
  for (let i = 0; i < N; i++) await publish(pub.client, `${t}/m`, `q${i}`, { qos: 1 });
  await settled([b]);
  // The claim starts on B, and the holder dies while it runs.
  const claim = open(b.mqttUrl, options).catch(() => undefined);
  await holder.kill9();
  let resumed = await claim;
  const claimed = resumed !== undefined;
  for (let i = 0; !resumed && i < 50; i++) {
    resumed = await open(b.mqttUrl, options).catch(() => undefined);
    if (!resumed) await until(async () => true);
  }
  assert.ok(resumed, "the client got its session back");
  await until(async () => true);
  console.log(`review14 kill-handoff: present ${resumed.present}, ${resumed.got.length} delivered at CONNACK+1 tick, first claim ${claimed ? "connected" : "refused"}`);
  assert.equal(resumed.present, true);
  await until(async () => (resumed.got.length >= N ? true : undefined), 10_000);
  await publish(pub.client, `${t}/m`, "marker", { qos: 1 });
  await until(async () => (resumed.got.some((m) => m.payload === "marker") ? true : undefined));
  const payloads = resumed.got.map((m) => m.payload).filter((p) => p !== "marker");
  assert.deepEqual([...payloads].sort(), Array.from({ length: N }, (_, i) => `q${i}`).sort(), "each queued message once");
  assert.ok(b.server.broker.sessionOf(ANONYMOUS_NAMESPACE, clientId));
});
