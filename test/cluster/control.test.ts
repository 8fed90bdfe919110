import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { MqttClient } from "mqtt";
import { connect as natsConnect } from "nats";
import { CONTROL_SUBJECT } from "../../src/cluster/control.js";
import { eventSubject, INTEREST_SUBJECT } from "../../src/cluster/event_relay.js";
import { encodeBusJson } from "../../src/cluster/bus_json.js";
import { RC } from "../../src/mqtt/reason_codes.js";
import { startCluster, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import { openStream } from "../helpers/sse_client.js";
import { until } from "../helpers/until.js";

// Three nodes on one PostgreSQL and one NATS: what is changed through one node's API acts on
// every node (docs/cluster.md, "Control across nodes"), and each node's events reach listeners
// on the others ("Events from every node").
let cluster: StoredCluster;
let a: TestNode;
let b: TestNode;
let c: TestNode;
let adminAccount: string;

before(async () => {
  cluster = await startCluster({ nodes: 3, store: true });
  [a, b, c] = cluster.nodes as [TestNode, TestNode, TestNode];
  adminAccount = (await a.server.identity.authenticateAccount(a.adminToken))!;
});

after(async () => {
  await cluster?.close();
});

function api(node: TestNode, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${node.api}${path}`, { ...init, headers: { authorization: node.adminToken, "content-type": "application/json", ...init.headers } });
}

/** When the client's connection ended, and the reason code of the server's DISCONNECT, if one came. */
function ending(client: MqttClient): Promise<{ at: number; reasonCode: number | undefined }> {
  let reasonCode: number | undefined;
  client.once("disconnect", (packet) => (reasonCode = packet.reasonCode));
  return new Promise((resolve) => client.once("close", () => resolve({ at: Date.now(), reasonCode })));
}

describe("revocations reach every node", () => {
  test("a device token revoked through node A disconnects the device on node B", async (t) => {
    const dev = await a.device();
    const client = await b.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    const ended = ending(client);
    const start = Date.now();
    const res = await api(a, `/device/token/${dev.tokenId}`, { method: "DELETE" });
    assert.equal(res.status, 200);
    const { at, reasonCode } = await ended;
    t.diagnostic(`disconnected on node B ${at - start} ms after the revocation call to node A`);
    assert.equal(reasonCode, RC.ADMINISTRATIVE_ACTION);
  });

  test("a device deleted through node A is disconnected on node C, and its inspector stream on node B ends", async (t) => {
    const dev = await a.device();
    const client = await c.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    const stream = await openStream(`${b.api}/device/${dev.deviceId}/inspector/stream?backlog=0`, { token: b.adminToken });
    assert.equal(stream.status, 200);
    const ended = ending(client);
    const start = Date.now();
    assert.equal((await api(a, `/device/${dev.deviceId}`, { method: "DELETE" })).status, 200);
    const { at, reasonCode } = await ended;
    t.diagnostic(`disconnected on node C ${at - start} ms after the deletion call to node A`);
    assert.equal(reasonCode, RC.ADMINISTRATIVE_ACTION);
    await stream.ended(5000);
  });

  test("a token created on node A expiring ends the device's connection on node B (each node watches expiry in the shared store)", async () => {
    const dev = await a.device({ expiresAt: new Date(Date.now() + 1500) });
    const client = await b.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    const { reasonCode } = await ending(client);
    assert.equal(reasonCode, RC.NOT_AUTHORIZED);
  });

  test("an account token revoked through node A ends its /events stream on node B", async (t) => {
    const { row, token } = await a.server.identity.issueAccountToken(adminAccount, { name: "stream" });
    const stream = await openStream(`${b.api}/events?channels=notification&token=${token}`);
    assert.equal(stream.status, 200);
    const start = Date.now();
    assert.equal((await api(a, `/profile/${adminAccount}/token/${row.id}`, { method: "DELETE" })).status, 200);
    await stream.ended(5000);
    t.diagnostic(`stream on node B ended ${Date.now() - start} ms after the revocation call to node A`);
  });
});

describe("caches follow changes made on another node", () => {
  test("an action created through node A applies to messages arriving at node C", async () => {
    const dev = await a.device();
    // Before the action exists, node C routes the message and stores nothing: its topic → actions cache is filled.
    const pub = await c.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    await pub.publishAsync("ctl/data", JSON.stringify([{ variable: "before", value: 1 }]), { qos: 1 });
    const res = await api(a, "/action", {
      method: "POST",
      body: JSON.stringify({ name: "store", type: "mqtt_topic", trigger: [{ device: dev.deviceId, topic: "ctl/data" }], action: { type: "insert_bucket" } }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    await until(async () => {
      await pub.publishAsync("ctl/data", JSON.stringify([{ variable: "after", value: 2 }]), { qos: 1 });
      const body = (await (await fetch(`${c.api}/data?variable=after`, { headers: { authorization: dev.token } })).json()) as { result: unknown[] };
      return body.result.length > 0 ? true : undefined;
    }, 10_000);
    const before = (await (await fetch(`${a.api}/data?variable=before`, { headers: { authorization: dev.token } })).json()) as { result: unknown[] };
    assert.equal(before.result.length, 0);
  });

  test("a device's inspector switched off through node A is off on nodes B and C without a restart", async () => {
    const dev = await a.device();
    for (const n of [a, b, c]) assert.equal(n.server.inspector.isEnabled(dev.deviceId), true);
    const off = await api(a, `/device/${dev.deviceId}/inspector`, { method: "PUT", body: JSON.stringify({ enabled: false }) });
    assert.equal(off.status, 200, await off.clone().text());
    await until(async () => (!b.server.inspector.isEnabled(dev.deviceId) && !c.server.inspector.isEnabled(dev.deviceId) ? true : undefined));
    assert.equal((await api(b, `/device/${dev.deviceId}/inspector`, { method: "PUT", body: JSON.stringify({ enabled: true }) })).status, 200);
    await until(async () => (a.server.inspector.isEnabled(dev.deviceId) && c.server.inspector.isEnabled(dev.deviceId) ? true : undefined));
  });
});

describe("events from every node", () => {
  test("/events on node A sees a device connecting on node B; its inspector on A sees B's connect and message events", async () => {
    const dev = await a.device();
    const inspector = await openStream(`${a.api}/device/${dev.deviceId}/inspector/stream?backlog=0`, { token: a.adminToken });
    const events = await openStream(`${a.api}/events?channels=device_connection&token=${a.adminToken}`);
    assert.equal(events.status, 200);
    assert.equal(inspector.status, 200);
    // Interest travels on one subject in order: once B knows of the /events listener, it knows of the inspector too.
    await until(async () => (b.server.events.listening(adminAccount, "device_connection") ? true : undefined));
    const client = await b.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    const connected = JSON.parse((await events.next(5000)).data) as { channel: string; payload: { device_id: string; connected: boolean } };
    assert.deepEqual(connected, { channel: "device_connection", payload: { device_id: dev.deviceId, connected: true } });
    await client.publishAsync("insp/t", "hello", { qos: 1 });
    const kinds: string[] = [];
    await until(async () => {
      while (inspector.pending > 0) kinds.push((JSON.parse((await inspector.next()).data) as { kind: string }).kind);
      return kinds.includes("connect") && kinds.includes("message_in") ? true : undefined;
    }).catch((err) => {
      throw new Error(`${(err as Error).message}: the inspector on A got ${JSON.stringify(kinds)}; A relayed ${a.server.cluster!.stats.relayed}, dropped ${JSON.stringify(a.server.cluster!.stats.dropped)}`);
    });
    events.close();
    inspector.close();
    // The listeners are gone: B forgets them (the stream's close travels as a "gone").
    await until(async () => (b.server.events.listening(adminAccount, "device_connection") ? undefined : true));
  });

  test("garbage, foreign versions and events on the wrong subject are dropped and counted; the nodes go on", async () => {
    const nc = await natsConnect({ servers: cluster.nats.url });
    const events = await openStream(`${b.api}/events?channels=notification&token=${b.adminToken}`);
    await until(async () => (a.server.events.listening(adminAccount, "notification") ? true : undefined));
    const before = { ...b.server.cluster!.stats.dropped };
    nc.publish(CONTROL_SUBJECT, new TextEncoder().encode("not json"));
    nc.publish(CONTROL_SUBJECT, Buffer.from(JSON.stringify({ v: 99, origin: "x", kind: "revoked", reason: "r", deviceId: "d" })));
    nc.publish(CONTROL_SUBJECT, encodeBusJson("intruder", "revoked", { reason: "r" })); // neither tokens nor device
    nc.publish(INTEREST_SUBJECT, encodeBusJson("intruder", "interest", { op: "alive", entries: [{ c: [1, 2] }] }));
    // An event for another account published on this account's subject.
    nc.publish(eventSubject(adminAccount), encodeBusJson("intruder", "event", { accountId: "other", channel: "notification", payload: {} }));
    await nc.flush();
    const dropped = b.server.cluster!.stats.dropped;
    await until(async () => ((dropped.malformed ?? 0) >= (before.malformed ?? 0) + 3 && (dropped.version ?? 0) > (before.version ?? 0) && (dropped.subject_mismatch ?? 0) > (before.subject_mismatch ?? 0) ? true : undefined));
    assert.equal(events.pending, 0);
    await nc.close();
    events.close();
    // Still working: a revocation from A reaches B.
    const dev = await a.device();
    const client = await b.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    const ended = ending(client);
    await a.server.identity.revokeToken(adminAccount, dev.tokenId);
    await ended;
  });
});
