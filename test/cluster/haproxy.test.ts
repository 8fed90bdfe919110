import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { publish, settled, startCluster, subscribe, untilAvailable, type StoredCluster } from "../helpers/cluster.js";
import { deployFile } from "../helpers/deploy.js";
import { checkHaproxyConfig, localHaproxyConfig, startHaproxy, type ServerStat, type TestHaproxy } from "../helpers/haproxy.js";
import type { TestNats } from "../helpers/nats_server.js";
import { nextMessages, startSluice, type TestSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";
import { freePort } from "../helpers/free_port.js";

// deploy/haproxy.cfg, as shipped apart from its addresses, in front of two Sluice nodes on one
// PostgreSQL database and one NATS: MQTT over TCP and WebSocket and HTTP go through it, its
// health checks take a node out of MQTT rotation while the node cannot reach NATS, and put it
// back when it can.

/** The shipped deploy/haproxy.cfg. */
const shippedConfigPath = (): string => deployFile("haproxy.cfg");


const clients = new Set<MqttClient>();

/** An MQTT.js client through HAProxy; resolves on CONNACK. */
function connectVia(url: string, options: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    clients.add(client);
    client.once("connect", () => resolve(client));
    client.once("error", reject);
    client.once("close", () => reject(new Error("closed before CONNACK")));
  });
}

/** The node holding a connection with this client id, if any. */
function holder(nodes: TestSluice[], clientId: string): TestSluice | undefined {
  return nodes.find((n) => [...n.server.broker.connections].some((c) => c.client?.clientId === clientId));
}

function allUp(servers: ServerStat[]): boolean {
  return servers.length > 0 && servers.every((s) => s.status === "UP" && s.check === "L7OK");
}

let cluster: StoredCluster;
let nats: TestNats;
let nodes: TestSluice[] = [];
let haproxy: TestHaproxy;
const front = { mqtt: 0, mqtts: 0, http: 0 };

before(async () => {
  // NATS and the database only: the nodes below require tokens, as deployed (no anonymous clients).
  cluster = await startCluster({ nodes: 0, store: true });
  const { store } = cluster;
  nats = cluster.nats;
  const settings = (nodeId: string) => ({
    postgres: { url: store, poolSize: 4 },
    cluster: { url: nats.url, nodeId, ackTimeoutMs: 5000 },
    sysInterval: 0,
  });
  const a = await startSluice(settings("node-a"));
  // The admin account is in the shared database now: node B does not create it, and its token
  // file stays in node A's data dir (the test helper reads it from the node's own dir).
  const bDir = mkdtempSync(join(tmpdir(), "sluice-test-"));
  copyFileSync(join(a.dataDir, "admin-token"), join(bDir, "admin-token"));
  const b = await startSluice(settings("node-b"), bDir);
  nodes = [a, b];
  await Promise.all(nodes.map((n) => untilAvailable(n)));

  Object.assign(front, { mqtt: await freePort(), mqtts: await freePort(), http: await freePort() });
  const config = localHaproxyConfig(
    readFileSync(shippedConfigPath(), "utf8"),
    { "1883": front.mqtt, "8883": front.mqtts, "80": front.http },
    nodes.map((n) => ({ mqtt: n.ports.mqtt, mqtts: n.ports.mqtts, ws: n.ports.ws, http: n.ports.http })),
  );
  haproxy = startHaproxy(config);
  // Every server's health check passed: the checks as shipped work against a real node.
  await until(async () => (allUp(await haproxy.servers().catch(() => [])) ? true : undefined), 20_000).catch((err: Error) => {
    throw new Error(`${err.message}; HAProxy said:\n${haproxy.output()}`);
  });
});

after(async () => {
  await Promise.all([...clients].map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))));
  await haproxy?.stop();
  for (const n of nodes) await n.close();
  await cluster?.close();
});

test("the shipped haproxy.cfg passes `haproxy -c` as it is", () => {
  const { status, output } = checkHaproxyConfig(shippedConfigPath());
  assert.equal(status, 0, output);
});

test("the config the test runs passes `haproxy -c` too", () => {
  const { status, output } = checkHaproxyConfig(haproxy.file);
  assert.equal(status, 0, output);
});

describe("through HAProxy", () => {
  test("a message published on one node reaches a subscriber on the other node, over TCP and over WebSocket", async () => {
    const [a] = nodes;
    // A device made on node A authenticates on either node: its token is in PostgreSQL.
    const device = await a!.device();
    const auth = { username: "Token", password: device.token };
    const tcp = `mqtt://127.0.0.1:${front.mqtt}`;

    const sub = await connectVia(tcp, { ...auth, clientId: "hx-sub" });
    const subNode = holder(nodes, "hx-sub");
    assert.ok(subNode, "the subscriber is on a node");
    await subscribe(sub, "hx/+/temp", { qos: 1 });
    const wsSub = await connectVia(`ws://127.0.0.1:${front.http}/mqtt`, { ...auth, clientId: "hx-ws-sub" });
    assert.ok(holder(nodes, "hx-ws-sub"), "the WebSocket subscriber is on a node");
    await subscribe(wsSub, "hx/+/temp", { qos: 1 });

    // leastconn sends the next connection to the node with fewer; a few tries cover a node
    // that had a moment more connections from another test's leftovers.
    let pub: MqttClient | undefined;
    for (let i = 0; i < 6 && pub === undefined; i++) {
      const c = await connectVia(tcp, { ...auth, clientId: `hx-pub-${i}` });
      if (holder(nodes, `hx-pub-${i}`) !== subNode) pub = c;
    }
    assert.ok(pub, "a publisher landed on the other node");
    await settled(nodes);

    const got = nextMessages(sub, 1, 10_000);
    const gotWs = nextMessages(wsSub, 1, 10_000);
    await publish(pub, "hx/1/temp", "21.5", { qos: 1 });
    const [m] = await got;
    assert.equal(m!.topic, "hx/1/temp");
    assert.equal(m!.payload, "21.5");
    assert.equal((await gotWs)[0]!.payload, "21.5");
  });

  test("HTTP answers: the status endpoint the HTTP check uses, and the API", async () => {
    const status = await fetch(`http://127.0.0.1:${front.http}/status`);
    assert.equal(status.status, 200);
    assert.equal(((await status.json()) as { result: { name: string } }).result.name, "sluice");
    // The API with an account token, on whichever node HAProxy picks: the account is shared.
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`http://127.0.0.1:${front.http}/device`, { headers: { authorization: nodes[0]!.adminToken } });
      assert.equal(res.status, 200);
    }
  });

  test("a node that cannot reach NATS leaves MQTT rotation (HTTP stays) and comes back", async () => {
    const device = await nodes[0]!.device();
    const auth = { username: "Token", password: device.token };
    await nats.stop();
    try {
      let last: ServerStat[] = [];
      const down = await until(async () => {
        const servers = (last = await haproxy.servers());
        const mqttSide = servers.filter((s) => s.backend !== "sluice_http");
        return mqttSide.every((s) => s.status === "DOWN") ? servers : undefined;
      }, 30_000).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(last)}; available: ${nodes.map((n) => n.server.cluster?.available).join(",")}`);
      });
      // The MQTT backends' check failed on the body (sluice_cluster_available 0), not the connection.
      for (const s of down.filter((s) => s.backend !== "sluice_http")) assert.equal(s.check, "L7RSP", `${s.backend}/${s.server}`);
      assert.ok(allUp(down.filter((s) => s.backend === "sluice_http")), "HTTP keeps its servers");
      // No server to send it to: HAProxy closes a new MQTT connection without a CONNACK.
      await assert.rejects(connectVia(`mqtt://127.0.0.1:${front.mqtt}`, { ...auth, clientId: "hx-refused" }), /closed before CONNACK/);
    } finally {
      await nats.start();
    }
    await Promise.all(nodes.map((n) => untilAvailable(n)));
    await until(async () => (allUp(await haproxy.servers()) ? true : undefined), 30_000);
    const c = await connectVia(`mqtt://127.0.0.1:${front.mqtt}`, { ...auth, clientId: "hx-back" });
    assert.ok(holder(nodes, "hx-back"));
    c.end(true);
  });
});
