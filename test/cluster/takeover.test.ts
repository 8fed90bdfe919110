import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { MqttClient } from "mqtt";
import { connect as natsConnect, type NatsConnection } from "nats";
import { ANONYMOUS_NAMESPACE } from "../../src/access/broker_hooks.js";
import { decodeNotice, encodeNotice, type ConnectNotice } from "../../src/cluster/connect_notice.js";
import { connectSubject } from "../../src/cluster/subjects.js";
import { collect, publish, settled, startCluster, subscribe, type TestCluster, type TestNode } from "../helpers/cluster.js";
import { metricValue, uid } from "../helpers/raw_mqtt.js";
import { startSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";

// Issue 14, "client ids are unique cluster-wide": a client id connecting on one node takes over
// its connection on another, with the takeover reason, as a second CONNECT on one node does.

let cluster: TestCluster;
let nodes: TestNode[];
let a: TestNode, b: TestNode;

before(async () => {
  cluster = await startCluster({ nodes: 2 });
  nodes = cluster.nodes;
  [a, b] = nodes as [TestNode, TestNode];
});

after(async () => {
  await cluster?.close();
});

/** How a client's connection ended: the DISCONNECT reason code the server sent, if it sent one. */
interface Ending {
  closed: boolean;
  reasonCode: number | undefined;
  done: Promise<void>;
}

function watchEnding(client: MqttClient): Ending {
  const ending: Ending = { closed: false, reasonCode: undefined, done: Promise.resolve() };
  client.on("disconnect", (packet) => (ending.reasonCode = packet.reasonCode ?? 0));
  ending.done = new Promise((resolve) => client.once("close", () => {
    ending.closed = true;
    resolve();
  }));
  return ending;
}

/** Waits (bounded) for the connection to end. */
async function closed(ending: Ending): Promise<void> {
  await until(async () => (ending.closed ? true : undefined), 10_000);
}

const takeovers = (): number => a.server.cluster!.stats.takeovers + b.server.cluster!.stats.takeovers;

/**
 * A message from each node's client to a subscriber on the other node, QoS 1: once both arrived,
 * every notice the nodes sent before them has been heard (NATS keeps one connection's messages in
 * order), so a takeover still on its way would have happened.
 */
async function roundTrip(onA: MqttClient, onB: MqttClient): Promise<void> {
  const t = uid("rt/");
  const gotA = collect(onA);
  const gotB = collect(onB);
  await subscribe(onA, `${t}/to-a`, { qos: 1 });
  await subscribe(onB, `${t}/to-b`, { qos: 1 });
  await settled(nodes);
  await publish(onA, `${t}/to-b`, "x", { qos: 1 });
  await publish(onB, `${t}/to-a`, "x", { qos: 1 });
  await until(async () => (gotA.length >= 1 && gotB.length >= 1 ? true : undefined));
}

describe("a client id connecting on another node takes the connection over", () => {
  test("MQTT 5: the client on A gets DISCONNECT 0x8E; the one on B stays connected", async () => {
    const clientId = uid("t5-");
    const onA = await a.client({ clientId });
    const endA = watchEnding(onA);
    const before = a.server.cluster!.stats.takeovers;
    const onB = await b.client({ clientId });
    const endB = watchEnding(onB);
    await closed(endA);
    assert.equal(endA.reasonCode, 0x8e);
    assert.equal(a.server.cluster!.stats.takeovers - before, 1);
    assert.ok((await metricValue(a.ports.http, "sluice_cluster_takeovers_total")) >= 1);
    // B's connection is untouched, and still works across nodes.
    const other = await a.client();
    await roundTrip(other, onB);
    assert.equal(endB.closed, false);
    assert.equal(onB.connected, true);
  });

  test("MQTT 3.1.1: the socket on A is closed (no DISCONNECT exists in 3.1.1); B stays", async () => {
    const clientId = uid("t4-");
    const onA = await a.client({ clientId, protocolVersion: 4 });
    const endA = watchEnding(onA);
    const onB = await b.client({ clientId, protocolVersion: 4 });
    const endB = watchEnding(onB);
    await closed(endA);
    assert.equal(endA.reasonCode, undefined);
    const other = await a.client({ protocolVersion: 4 });
    await roundTrip(other, onB);
    assert.equal(endB.closed, false);
  });

  test("a different client id, or the same id in another namespace, is left alone", async () => {
    const clientId = uid("keep-");
    const onA = await a.client({ clientId });
    const endA = watchEnding(onA);
    const onB = await b.client({ clientId: `${clientId}-other` });
    const before = takeovers();
    // A forged notice for the same id in another namespace must not reach the anonymous one.
    const nc = await natsConnect({ servers: cluster.nats.url });
    nc.publish(connectSubject("other-account"), encodeNotice({ namespace: "other-account", clientId, origin: "intruder/1", at: Date.now() + 1000 }));
    await nc.flush();
    await nc.close();
    await roundTrip(onA, onB);
    assert.equal(endA.closed, false);
    assert.equal(takeovers(), before);
  });

  test("the same id connecting on A and B at once: exactly one connection survives", async () => {
    for (let round = 0; round < 5; round++) {
      const clientId = uid("race-");
      const before = takeovers();
      const [onA, onB] = await Promise.all([a.client({ clientId }), b.client({ clientId })]);
      const endA = watchEnding(onA);
      const endB = watchEnding(onB);
      await until(async () => (endA.closed || endB.closed ? true : undefined), 10_000);
      const [loser, loserEnd, survivor, survivorEnd] = endA.closed ? [onA, endA, onB, endB] : [onB, endB, onA, endA];
      assert.equal(loserEnd.reasonCode, 0x8e);
      assert.equal(loser.connected, false);
      // Every notice either node sent has been heard: still one connection, and one takeover.
      const [x, y] = [await a.client(), await b.client()];
      await roundTrip(x, y);
      assert.equal(survivorEnd.closed, false, `round ${round}: both connections ended`);
      assert.equal(survivor.connected, true);
      assert.equal(takeovers() - before, 1);
    }
  });
});

describe("the stamps order connections whatever the order notices arrive in", () => {
  let nc: NatsConnection;
  const heard: ConnectNotice[] = [];
  before(async () => {
    nc = await natsConnect({ servers: cluster.nats.url });
    nc.subscribe(connectSubject(ANONYMOUS_NAMESPACE), {
      callback: (_err, msg) => {
        const decoded = decodeNotice(msg.data);
        if (decoded.ok) heard.push(decoded.notice);
      },
    });
    await nc.flush();
  });
  after(async () => {
    await nc.close();
  });

  /** The next notice for `clientId` from `origin` on the bus, after those heard so far. */
  function nextNotice(clientId: string, origin: string): Promise<ConnectNotice> {
    const from = heard.length;
    return until(async () => heard.slice(from).find((n) => n.clientId === clientId && n.origin === origin));
  }

  test("a notice older than the connection here leaves it, and the node announces its own again", async () => {
    const clientId = uid("old-");
    const announced = nextNotice(clientId, a.server.cluster!.origin);
    const onA = await a.client({ clientId });
    const endA = watchEnding(onA);
    const own = await announced;
    assert.equal(own.origin, a.server.cluster!.origin);
    const again = nextNotice(clientId, own.origin);
    nc.publish(connectSubject(ANONYMOUS_NAMESPACE), encodeNotice({ namespace: ANONYMOUS_NAMESPACE, clientId, origin: "intruder/1", at: own.at - 1 }));
    const reannounced = await again;
    assert.deepEqual([reannounced.origin, reannounced.at], [own.origin, own.at]);
    assert.equal(endA.closed, false);
    // The same stamp from a node whose origin sorts after A's is newer: A's connection ends.
    nc.publish(connectSubject(ANONYMOUS_NAMESPACE), encodeNotice({ namespace: ANONYMOUS_NAMESPACE, clientId, origin: `${own.origin}~`, at: own.at }));
    await closed(endA);
    assert.equal(endA.reasonCode, 0x8e);
  });
});

describe("hostile control traffic", () => {
  test("garbage, a foreign version, a wrong subject and a stamp far ahead are dropped and counted; takeover goes on", async () => {
    const clientId = uid("hostile-");
    const onA = await a.client({ clientId });
    const endA = watchEnding(onA);
    const dropped = () => ({ ...a.server.cluster!.stats.dropped });
    const before = dropped();
    const subject = connectSubject(ANONYMOUS_NAMESPACE);
    const nc = await natsConnect({ servers: cluster.nats.url });
    const enc = new TextEncoder();
    nc.publish(subject, enc.encode("not json"));
    nc.publish(subject, new Uint8Array(0));
    nc.publish(subject, new Uint8Array([0xff, 0xfe, 0x7b]));
    nc.publish(subject, enc.encode("[1,2]"));
    nc.publish(subject, enc.encode(JSON.stringify({ v: 1, ns: ANONYMOUS_NAMESPACE, id: clientId, origin: "x/1", at: "soon" })));
    nc.publish(subject, enc.encode(JSON.stringify({ v: 1, ns: ANONYMOUS_NAMESPACE, id: { toString: 1 }, origin: "x/1", at: 1 })));
    nc.publish(subject, enc.encode(JSON.stringify({ v: 1, ns: ANONYMOUS_NAMESPACE, id: clientId, origin: "x/1", at: 1.5 })));
    nc.publish(subject, enc.encode(JSON.stringify({ v: 1, ns: ANONYMOUS_NAMESPACE, id: clientId, origin: "x".repeat(300), at: 1 })));
    nc.publish(subject, enc.encode(JSON.stringify({ v: 2, ns: ANONYMOUS_NAMESPACE, id: clientId, origin: "x/1", at: Date.now() + 1000 })));
    // A valid notice for the anonymous namespace, on another namespace's subject.
    nc.publish(connectSubject("other-account"), encodeNotice({ namespace: ANONYMOUS_NAMESPACE, clientId, origin: "x/1", at: Date.now() + 1000 }));
    // A stamp an hour ahead would push the node's clock forever.
    nc.publish(subject, encodeNotice({ namespace: ANONYMOUS_NAMESPACE, clientId, origin: "x/1", at: Date.now() + 3_600_000 }));
    await nc.flush();
    await nc.close();
    await until(async () => {
      const d = dropped();
      const grew = (k: string) => (d[k] ?? 0) - (before[k] ?? 0);
      return grew("malformed") >= 8 && grew("version") >= 1 && grew("subject_mismatch") >= 1 && grew("clock_ahead") >= 1 ? true : undefined;
    });
    assert.ok((await metricValue(a.ports.http, 'sluice_cluster_dropped_total{reason="malformed"}')) >= 8);
    assert.equal(endA.closed, false);
    // Still taking over.
    await b.client({ clientId });
    await closed(endA);
    assert.equal(endA.reasonCode, 0x8e);
  });
});

describe("without a cluster", () => {
  test("a node on its own publishes nothing and stamps nothing; a local takeover is as before", async () => {
    const nc = await natsConnect({ servers: cluster.nats.url });
    const heard: string[] = [];
    // The cluster's nodes of this file talk on the bus meanwhile (heartbeats, interest refreshes,
    // control): every message names its origin, and theirs are not the solo node's.
    const theirs = [a.server.cluster!.origin, b.server.cluster!.origin].map((o) => Buffer.from(o));
    const sub = nc.subscribe("sluice.>", {
      callback: (_err, msg) => {
        if (theirs.some((o) => Buffer.from(msg.data).includes(o))) return;
        heard.push(msg.subject);
      },
    });
    await nc.flush();
    const solo = await startSluice({ allowAnonymous: true, sysInterval: 0 });
    try {
      assert.equal(solo.server.cluster, undefined);
      const clientId = uid("solo-");
      const first = await solo.connect({ clientId, protocolVersion: 5 });
      const ending = watchEnding(first);
      const second = await solo.connect({ clientId, protocolVersion: 5 });
      await closed(ending);
      assert.equal(ending.reasonCode, 0x8e);
      assert.equal(second.connected, true);
      await nc.flush();
      assert.deepEqual(heard, []);
    } finally {
      sub.unsubscribe();
      await nc.close();
      await solo.close();
    }
  });
});
