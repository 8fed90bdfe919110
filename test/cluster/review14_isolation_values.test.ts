import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { MqttClient } from "mqtt";
import { collect, publish, settled, startCluster, subscribe, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import { uid } from "../helpers/raw_mqtt.js";
import { noMessage } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";

// Review of issue 14: accounts stay apart across nodes (same client id, wildcards), and hostile
// values reaching the PostgreSQL stores through the HTTP API are client errors, never a 500.

let cluster: StoredCluster;
let nodes: TestNode[];
let a: TestNode, b: TestNode;
const clients: MqttClient[] = [];

before(async () => {
  cluster = await startCluster({ nodes: 2, store: true });
  nodes = cluster.nodes;
  [a, b] = nodes as [TestNode, TestNode];
});

after(async () => {
  for (const c of clients) c.end(true);
  await cluster?.close();
});

async function as(node: TestNode, token: string, clientId: string, extra: object = {}): Promise<MqttClient> {
  const c = await node.client({ clientId, username: "Token", password: token, ...extra });
  clients.push(c);
  return c;
}

describe("accounts across nodes", () => {
  test("the same client id in two accounts on two nodes: neither takes the other over; wildcards stay in their account", async () => {
    const other = await a.account();
    const one = await a.device({ permission: "full" });
    const two = await a.device({ permission: "full", accountId: other });
    const id = uid("same-");
    const persistent = { clean: false, properties: { sessionExpiryInterval: 300 } };
    const c1 = await as(a, one.token, id, persistent);
    const c2 = await as(b, two.token, id, persistent);
    let closed = 0;
    for (const c of [c1, c2]) c.on("close", () => closed++);
    const t = uid("iso/");
    await subscribe(c1, `${t}/#`, { qos: 1 });
    await subscribe(c2, "#", { qos: 1 });
    const got2 = collect(c2);
    const got1 = collect(c1);
    await settled(nodes);
    // A publisher of account one on B: reaches c1 on A, never c2's `#` on B.
    const p1 = await as(b, one.token, uid("p1-"));
    await publish(p1, `${t}/x`, "one", { qos: 1 });
    await until(async () => (got1.some((m) => m.payload === "one") ? true : undefined));
    assert.equal(await noMessage(c2, 300), true);
    assert.equal(got2.filter((m) => m.payload === "one").length, 0);
    assert.equal(closed, 0, "no takeover across accounts");
    assert.equal(c1.connected && c2.connected, true);
  });

  test("$share groups are per account across nodes", async () => {
    const other = await a.account();
    const one = await a.device({ permission: "full" });
    const two = await a.device({ permission: "full", accountId: other });
    const t = uid("sh/");
    const m1 = await as(a, one.token, uid("m1-"));
    const m2 = await as(b, two.token, uid("m2-"));
    const got1 = collect(m1);
    const got2 = collect(m2);
    await subscribe(m1, `$share/g/${t}/#`, { qos: 1 });
    await subscribe(m2, `$share/g/${t}/#`, { qos: 1 });
    await settled(nodes);
    const p = await as(b, one.token, uid("p-"));
    for (let i = 0; i < 5; i++) await publish(p, `${t}/x`, `s${i}`, { qos: 1 });
    await until(async () => (got1.length === 5 ? true : undefined));
    assert.equal(await noMessage(m2, 300), true);
    assert.equal(got2.length, 0);
  });
});

describe("hostile values into the PostgreSQL stores", () => {
  const call = async (path: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${a.api}${path}`, { ...init, headers: { token: init.token ?? a.adminToken, ...(init.body ? { "content-type": "application/json" } : {}), ...(init.headers as object) } });
    return { status: res.status, body: await res.json().catch(() => undefined) };
  };

  test("NUL bytes (PostgreSQL rejects them in text) are a 400, not a 500", async () => {
    const cases: [string, RequestInit][] = [
      ["/device", { method: "POST", body: JSON.stringify({ name: "nul\u0000name" }) }],
      ["/device", { method: "POST", body: JSON.stringify({ name: "ok", tags: [{ key: "k\u0000", value: "v" }] }) }],
      ["/device", { method: "POST", body: JSON.stringify({ name: "ok", tags: [{ key: "k", value: "v\u0000" }] }) }],
      [`/device?filter[name]=${encodeURIComponent("*\u0000*")}`, {}],
      [`/device?filter[tags][0][key]=${encodeURIComponent("k\u0000")}&filter[tags][0][value]=v`, {}],
      [`/device/${encodeURIComponent("x\u0000y")}`, {}],
    ];
    for (const [path, init] of cases) {
      const { status, body } = await call(path, init);
      assert.ok(status < 500, `${init.method ?? "GET"} ${path}: ${status} ${JSON.stringify(body)}`);
    }
    const device = await a.device({ permission: "full" });
    const data = await fetch(`${a.api}/data`, { method: "POST", headers: { "content-type": "application/json", authorization: device.token }, body: JSON.stringify([{ variable: "v", value: "a\u0000b" }, { variable: "w\u0000", value: 1 }, { variable: "m", value: 1, metadata: { k: "\u0000" } }]) });
    assert.ok(data.status < 500, `POST /data: ${data.status} ${await data.text()}`);
    const read = await fetch(`${a.api}/data?variable=${encodeURIComponent("v\u0000")}`, { headers: { authorization: device.token } });
    assert.ok(read.status < 500, `GET /data: ${read.status}`);
  });

  test("LIKE's own characters in a name filter match themselves only", async () => {
    const tag = uid("lk");
    const names = ["a%b", "a_b", "a\\b", "axb", "a\\%b"].map((n) => `${tag}${n}`);
    for (const name of names) assert.equal((await call("/device", { method: "POST", body: JSON.stringify({ name }) })).status, 200);
    for (const name of names) {
      const { status, body } = await call(`/device?filter[name]=${encodeURIComponent(name)}&fields=name`);
      assert.equal(status, 200);
      assert.deepEqual((body as { result: { name: string }[] }).result.map((d) => d.name), [name], name);
    }
    const all = await call(`/device?filter[name]=${encodeURIComponent(`${tag}*`)}&fields=name&amount=100`);
    assert.equal((all.body as { result: unknown[] }).result.length, names.length);
  });
});
