import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connect as natsConnect } from "nats";
import { decodeBusJson, encodeBusJson } from "../../src/cluster/bus_json.js";
import { escapeLevel } from "../../src/cluster/subjects.js";
import { HISTORY_REPLY_PREFIX, HISTORY_SUBJECT } from "../../src/cluster/inspector_history.js";
import { startCluster, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import { openStream } from "../helpers/sse_client.js";
import { until } from "../helpers/until.js";

// Two nodes on one PostgreSQL and one NATS: a device's inspector history asked on one node
// lists what the other recorded (docs/cluster.md, "Events from every node").
let cluster: StoredCluster;
let a: TestNode;
let b: TestNode;
let adminAccount: string;

before(async () => {
  cluster = await startCluster({ nodes: 2, store: true });
  [a, b] = cluster.nodes as [TestNode, TestNode];
  adminAccount = (await a.server.identity.authenticateAccount(a.adminToken))!;
});

after(async () => {
  await cluster?.close();
});

interface EventJson { id: number; device_id: string; kind: string; summary: string; detail: Record<string, unknown> | null }

async function history(node: TestNode, deviceId: string, query = ""): Promise<EventJson[]> {
  const res = await fetch(`${node.api}/device/${deviceId}/inspector${query}`, { headers: { authorization: node.adminToken } });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { result: EventJson[] }).result;
}

/** A device that connected and published on node B, followed live there so B records the message too. */
async function deviceActiveOnB(topic: string): Promise<string> {
  const dev = await a.device();
  const watch = await openStream(`${b.api}/device/${dev.deviceId}/inspector/stream?backlog=0`, { token: b.adminToken });
  assert.equal(watch.status, 200);
  const client = await b.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
  await client.publishAsync(topic, "hello", { qos: 1 });
  await until(async () => (b.server.inspector.list(dev.deviceId, { kinds: ["message_in"] }).length > 0 ? true : undefined));
  watch.close();
  await client.endAsync();
  return dev.deviceId;
}

describe("inspector history from every node", () => {
  test("GET /device/:id/inspector on node A lists the connect and message events node B recorded", async () => {
    const deviceId = await deviceActiveOnB("hist/t");
    // Nobody followed the device on A: its own ring has none of them.
    assert.equal(a.server.inspector.list(deviceId, { kinds: ["connect", "message_in"] }).length, 0);
    const events = await history(a, deviceId);
    const kinds = events.map((e) => e.kind);
    assert.ok(kinds.includes("connect"), JSON.stringify(kinds));
    const message = events.find((e) => e.kind === "message_in");
    assert.ok(message, JSON.stringify(kinds));
    assert.equal(message.device_id, deviceId);
    assert.equal(message.detail?.topic, "hist/t");
    // Newest first, as on one node.
    const onB = await history(b, deviceId);
    assert.deepEqual(events.map((e) => [e.kind, e.summary]), onB.map((e) => [e.kind, e.summary]));
    // Filters apply on every node.
    assert.deepEqual((await history(a, deviceId, "?kinds=message_in")).map((e) => e.kind), ["message_in"]);
    assert.equal((await history(a, deviceId, "?limit=1")).length, 1);
  });

  test("an inspector stream opened on node A starts with node B's events, without ids", async () => {
    const deviceId = await deviceActiveOnB("hist/s");
    const stream = await openStream(`${a.api}/device/${deviceId}/inspector/stream?backlog=50`, { token: a.adminToken });
    assert.equal(stream.status, 200);
    const seen: string[] = [];
    while (!seen.includes("message_in")) {
      const message = await stream.next(5000);
      seen.push((JSON.parse(message.data) as EventJson).kind);
      // Node A holds none of the device's events: every one came from B, and carries no id of A's to resume by.
      assert.equal(message.id, "");
    }
    assert.ok(seen.includes("connect"), JSON.stringify(seen));
    stream.close();
  });

  test("a node answers only for a device of the request's account; garbage requests are dropped and counted", async () => {
    const deviceId = await deviceActiveOnB("hist/g");
    const nc = await natsConnect({ servers: cluster.nats.url });
    const reply = `${HISTORY_REPLY_PREFIX}.tester`;
    const answers: { rid: unknown; events: unknown[] }[] = [];
    const sub = nc.subscribe(reply, {
      callback: (_err, msg) => {
        const decoded = decodeBusJson(msg.data);
        if (decoded.ok) answers.push(decoded.body as { rid: unknown; events: unknown[] });
      },
    });
    const before = b.server.cluster!.stats.dropped.malformed ?? 0;
    nc.publish(HISTORY_SUBJECT, new TextEncoder().encode("not json"));
    nc.publish(HISTORY_SUBJECT, encodeBusJson("intruder", "history_request", { rid: 1, deviceId })); // no account, reply or limit
    nc.publish(HISTORY_SUBJECT, encodeBusJson("intruder", "history_request", { rid: 2, reply: "sluice.elsewhere", accountId: adminAccount, deviceId, limit: 10 }));
    nc.publish(HISTORY_SUBJECT, encodeBusJson("intruder", "history_request", { rid: 3, reply, accountId: "another-account", deviceId, limit: 10 }));
    await nc.flush();
    await until(async () => ((b.server.cluster!.stats.dropped.malformed ?? 0) >= before + 3 ? true : undefined));
    // Two well-formed requests after the foreign-account one, answered in turn; the foreign one never is.
    for (const rid of [4, 5]) {
      nc.publish(HISTORY_SUBJECT, encodeBusJson("intruder", "history_request", { rid, reply, accountId: adminAccount, deviceId, limit: 10 }));
      await until(async () => (answers.some((x) => x.rid === rid) ? true : undefined));
    }
    assert.ok(answers.find((x) => x.rid === 4)!.events.length > 0);
    assert.deepEqual(answers.filter((x) => x.rid !== 4 && x.rid !== 5), []);
    // A garbage answer to node A's own reply subject is dropped too; A's history still works.
    const beforeA = a.server.cluster!.stats.dropped.malformed ?? 0;
    nc.publish(`${HISTORY_REPLY_PREFIX}.${escapeLevel(a.server.cluster!.origin)}`, encodeBusJson("intruder", "history", { rid: "x", events: 3 }));
    await nc.flush();
    await until(async () => ((a.server.cluster!.stats.dropped.malformed ?? 0) > beforeA ? true : undefined));
    sub.unsubscribe();
    await nc.close();
    assert.ok((await history(a, deviceId)).some((e) => e.kind === "message_in"));
  });
});
