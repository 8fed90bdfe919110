import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connect as natsConnect, RequestStrategy } from "nats";
import { decodeBusJson, encodeBusJson } from "../../src/cluster/bus_json.js";
import { PRESENCE_SUBJECT } from "../../src/cluster/presence_gather.js";
import { startCluster, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import { until } from "../helpers/until.js";

// Two nodes on one PostgreSQL and one NATS: a device's `connected` state in the device list and
// page is the same whichever node answers (docs/cluster.md, "A device's connected state").
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

async function get(node: TestNode, path: string): Promise<{ status: number; result: unknown }> {
  const res = await fetch(`${node.api}${path}`, { headers: { authorization: node.adminToken } });
  return { status: res.status, result: ((await res.json()) as { result: unknown }).result };
}

/** The device's `connected` as node's GET /device/:id and GET /device list tell it. */
async function connectedOn(node: TestNode, deviceId: string): Promise<{ page: unknown; list: unknown }> {
  const page = await get(node, `/device/${deviceId}`);
  assert.equal(page.status, 200);
  const list = await get(node, `/device?amount=100&fields=id,connected&filter[id]=${deviceId}`);
  assert.equal(list.status, 200);
  const items = list.result as { id: string; connected: boolean }[];
  return { page: (page.result as { connected: boolean }).connected, list: items.find((item) => item.id === deviceId)?.connected };
}

describe("a device's connected state is every node's", () => {
  test("a device connected to node B shows connected on node A, in its page and in the list, and not connected once it leaves", async (t) => {
    const dev = await a.device();
    assert.deepEqual(await connectedOn(a, dev.deviceId), { page: false, list: false });
    const client = await b.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    await until(async () => {
      const seen = await connectedOn(a, dev.deviceId);
      return seen.page === true && seen.list === true ? true : undefined;
    });
    const start = performance.now();
    await get(a, `/device/${dev.deviceId}`);
    t.diagnostic(`GET /device/:id on node A, the device on node B: ${(performance.now() - start).toFixed(1)} ms`);
    // The node holding the connection says so too, without asking.
    assert.deepEqual(await connectedOn(b, dev.deviceId), { page: true, list: true });
    await client.endAsync();
    await until(async () => {
      const seen = await connectedOn(a, dev.deviceId);
      return seen.page === false && seen.list === false ? true : undefined;
    });
  });

  test("the `connected` filter of the list sees connections on the other node", async () => {
    const dev = await a.device();
    const client = await b.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    await until(async () => {
      const list = await get(a, `/device?amount=100&fields=id&filter[connected]=true`);
      return (list.result as { id: string }[]).some((item) => item.id === dev.deviceId) ? true : undefined;
    });
    await client.endAsync();
  });

  test("garbage questions are dropped and counted, unanswered; a well-formed one is answered with only what it asked", async () => {
    const dev = await a.device();
    const client = await b.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    const nc = await natsConnect({ servers: cluster.nats.url });
    const stats = b.server.cluster!.stats;
    const before = { ...stats.dropped };
    const replies = nc.subscribe("_INBOX.garbage");
    nc.publish(PRESENCE_SUBJECT, new TextEncoder().encode("not json"), { reply: "_INBOX.garbage" });
    nc.publish(PRESENCE_SUBJECT, Buffer.from(JSON.stringify({ v: 99, origin: "x", kind: "presence.ask", devices: [dev.deviceId] })), { reply: "_INBOX.garbage" });
    nc.publish(PRESENCE_SUBJECT, encodeBusJson("intruder", "presence.ask", { devices: [1, 2] }), { reply: "_INBOX.garbage" });
    nc.publish(PRESENCE_SUBJECT, encodeBusJson("intruder", "presence.ask", { devices: Array.from({ length: 1001 }, (_, i) => `d${i}`) }), { reply: "_INBOX.garbage" });
    await nc.flush();
    await until(async () => ((stats.dropped.malformed ?? 0) >= (before.malformed ?? 0) + 3 && (stats.dropped.version ?? 0) > (before.version ?? 0) ? true : undefined));
    // Still answering: node B says the device is connected there, and nothing it was not asked about.
    const answers = await nc.requestMany(PRESENCE_SUBJECT, encodeBusJson("intruder", "presence.ask", { devices: [dev.deviceId, "not-a-device"] }), { strategy: RequestStrategy.Count, maxMessages: 2, maxWait: 5000 });
    const said: Record<string, unknown> = {};
    for await (const reply of answers) {
      const decoded = decodeBusJson(reply.data);
      assert.ok(decoded.ok);
      said[decoded.origin === b.server.cluster!.origin ? "b" : "a"] = decoded.body.connected;
    }
    assert.deepEqual(said, { a: [], b: [dev.deviceId] });
    await nc.flush();
    assert.equal(replies.getProcessed(), 0, "garbage was answered");
    replies.unsubscribe();
    await nc.close();
    await client.endAsync();
  });
});
