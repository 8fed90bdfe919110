import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import mqtt, { type MqttClient } from "mqtt";
import { startMosquitto, type TestMosquitto } from "../helpers/mosquitto.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { onPostgres } from "../helpers/test_store.js";

// The MQTT relay against a real Mosquitto: uplink into buckets through the pipeline, device
// mapping, downlink from an `mqtt` action, TLS, bad credentials, and nothing lost when the
// external broker or Sluice itself goes away for a while.

let mosq: TestMosquitto;
let sluice: TestSluice;
let accountId: string;
const externals: MqttClient[] = [];

before(async () => {
  mosq = await startMosquitto();
  sluice = await startSluice();
  accountId = (await sluice.server.identity.authenticateAccount(sluice.adminToken))!;
});
after(async () => {
  for (const c of externals) c.end(true);
  await sluice.close();
  await mosq.close();
});

interface Envelope<T> {
  status: boolean;
  result: T;
  message?: string;
}

async function call<T>(method: string, path: string, body?: unknown, token = sluice.adminToken): Promise<{ status: number; body: Envelope<T> }> {
  const res = await fetch(`${sluice.api}${path}`, {
    method,
    headers: { token, ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Envelope<T> };
}

async function ok<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await call<T>(method, path, body);
  assert.equal(r.body.status, true, `${method} ${path}: ${r.body.message}`);
  return r.body.result;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Status {
  state: string;
  connected: boolean;
  last_error: string | null;
  counters: Record<string, number>;
  events: { kind: string; summary: string }[];
}

const status = (id: string) => ok<Status>("GET", `/relay/${id}/status`);
const connected = (id: string) => waitFor(`relay ${id} connected`, async () => ((await status(id)).connected ? true : undefined));

/** A device whose token carries `serial` as its serie_number. */
async function deviceWithSerial(serial: string, tags: { key: string; value: string }[] = []) {
  const { device } = await sluice.server.identity.createDevice(accountId, { name: `relayed ${serial}`, tags });
  const { token } = await sluice.server.identity.createToken(accountId, device.id, { permission: "full", expiresAt: null, serieNumber: serial });
  return { id: device.id, token };
}

async function insertAction(deviceId: string, topic: string): Promise<void> {
  await ok("POST", "/action", { name: `store ${topic}`, type: "mqtt_topic", trigger: [{ device: deviceId, topic }], action: { type: "insert_bucket" } });
}

async function data(deviceToken: string, variable: string, qty = 20): Promise<{ value: unknown; metadata?: Record<string, unknown> }[]> {
  const r = await call<{ value: unknown; time: string; metadata?: Record<string, unknown> }[]>("GET", `/data?variables=${variable}&qty=${qty}&ordination=ascending`, undefined, deviceToken);
  assert.equal(r.body.status, true, r.body.message);
  return r.body.result;
}

const baseRelay = () => ({
  host: "127.0.0.1",
  port: mosq.port,
  username: mosq.user,
  password: mosq.password,
  reconnect_min_ms: 200,
  reconnect_max_ms: 1000,
});

/** An MQTT.js client on Mosquitto (persistent when `clientId` is given), reconnecting by itself. */
async function external(options: { clientId?: string; subscribe?: string } = {}): Promise<{ client: MqttClient; got: { topic: string; payload: string }[] }> {
  const client = mqtt.connect({
    host: "127.0.0.1", port: mosq.port, username: mosq.user, password: mosq.password,
    clientId: options.clientId ?? `t-${Math.random().toString(16).slice(2)}`, clean: options.clientId === undefined, reconnectPeriod: 200,
  });
  externals.push(client);
  const got: { topic: string; payload: string }[] = [];
  client.on("message", (topic, payload) => got.push({ topic, payload: payload.toString() }));
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  if (options.subscribe) await client.subscribeAsync(options.subscribe, { qos: 1 });
  return { client, got };
}

describe("MQTT relay", () => {
  test("uplink: a topic level names a device token's serial; stored through an insert action and routed to Sluice subscribers", async () => {
    const dev = await deviceWithSerial("SN-100");
    await insertAction(dev.id, "plant/+/up");
    const id = (await ok<{ relay: string }>("POST", "/relay", { ...baseRelay(), name: "plant", subscriptions: [{ topic: "plant/+/up", qos: 1 }], mapping: { source: "topic", index: 1, match: "serial" } })).relay;
    await connected(id);
    const local = await sluice.connect({ username: "Token", password: dev.token });
    await local.subscribeAsync("plant/#", { qos: 1 });
    const routed = new Promise<string>((resolve) => local.once("message", (topic) => resolve(topic)));

    mosq.pub("plant/SN-100/up", JSON.stringify({ variable: "temperature", value: 21.5, unit: "C" }));
    const rows = await waitFor("the relayed record", async () => {
      const r = await data(dev.token, "temperature");
      return r.length > 0 ? r : undefined;
    });
    assert.equal(rows[0]!.value, 21.5);
    assert.equal(rows[0]!.metadata?.topic, "plant/SN-100/up");
    assert.equal(await routed, "plant/SN-100/up");

    mosq.pub("plant/NOBODY/up", "x");
    const s = await waitFor("the unmapped count", async () => {
      const st = await status(id);
      return st.counters.unmapped! >= 1 ? st : undefined;
    });
    assert.ok(s.counters.messages_in! >= 2);
    assert.ok(s.events.some((e) => e.kind === "connect"));
    await ok("DELETE", `/relay/${id}`);
  });

  test("uplink: a JSON payload field names a device tag; credentials are masked in the API", async () => {
    const dev = await deviceWithSerial("unused", [{ key: "imei", value: "356938035643809" }]);
    await insertAction(dev.id, "gw/uplink");
    const id = (await ok<{ relay: string }>("POST", "/relay", {
      ...baseRelay(), name: "gateway", subscriptions: ["gw/uplink"], mapping: { source: "json", field: "metadata.imei", match: "tag", tag_key: "imei" },
    })).relay;
    const info = await ok<Record<string, unknown>>("GET", `/relay/${id}`);
    assert.equal(info.password, "********");
    assert.equal(info.username, mosq.user);
    const list = await ok<Record<string, unknown>[]>("GET", "/relay");
    assert.ok(!JSON.stringify(list).includes(mosq.password));
    await connected(id);
    mosq.pub("gw/uplink", JSON.stringify({ variable: "level", value: 7, metadata: { imei: "356938035643809" } }));
    const rows = await waitFor("the relayed record", async () => {
      const r = await data(dev.token, "level");
      return r.length > 0 ? r : undefined;
    });
    assert.equal(rows[0]!.value, 7);
    // Editing something else keeps the stored password (the mask is not a new password).
    await ok("PUT", `/relay/${id}`, { name: "gateway 2", password: "********" });
    await connected(id);
    await ok("DELETE", `/relay/${id}`);
  });

  test("a wrong password shows in the status and the relay keeps retrying", async () => {
    const id = (await ok<{ relay: string }>("POST", "/relay", { ...baseRelay(), password: "wrong", name: "bad", subscriptions: ["x/#"], mapping: { source: "topic", index: -1 } })).relay;
    const s = await waitFor("two failed attempts", async () => {
      const st = await status(id);
      return st.counters.reconnects! >= 2 ? st : undefined;
    });
    assert.equal(s.connected, false);
    assert.match(s.last_error ?? "", /not authorized|bad user name or password/i);
    await ok("DELETE", `/relay/${id}`);
  });

  test("TLS: connects with the CA, refuses the server without it", async () => {
    const dev = await deviceWithSerial("TLS-1");
    await insertAction(dev.id, "secure/+");
    const withCa = (await ok<{ relay: string }>("POST", "/relay", {
      ...baseRelay(), port: mosq.tlsPort, tls: true, ca: mosq.ca, name: "tls", subscriptions: ["secure/+"], mapping: { source: "topic", index: -1 },
    })).relay;
    const withoutCa = (await ok<{ relay: string }>("POST", "/relay", {
      ...baseRelay(), port: mosq.tlsPort, tls: true, name: "tls, no CA", subscriptions: ["nothing/+"], mapping: { source: "topic", index: -1 },
    })).relay;
    await connected(withCa);
    mosq.pub("secure/TLS-1", JSON.stringify({ variable: "v", value: 1 }));
    await waitFor("the record relayed over TLS", async () => ((await data(dev.token, "v")).length > 0 ? true : undefined));
    const s = await waitFor("a TLS error", async () => {
      const st = await status(withoutCa);
      return st.last_error ? st : undefined;
    });
    assert.equal(s.connected, false);
    assert.match(s.last_error!, /certificate/i);
    await ok("DELETE", `/relay/${withCa}`);
    await ok("DELETE", `/relay/${withoutCa}`);
  });

  test("TLS with a client certificate: the encrypted key is used, and without it the broker refuses", async () => {
    const dev = await deviceWithSerial("MTLS-1");
    await insertAction(dev.id, "mtls/+");
    const tls = { ...baseRelay(), port: mosq.mtlsPort, tls: true, ca: mosq.ca, mapping: { source: "topic", index: -1 } };
    const withCert = (await ok<{ relay: string }>("POST", "/relay", { ...tls, name: "mtls", cert: mosq.clientCert, key: mosq.clientKey, subscriptions: ["mtls/+"] })).relay;
    const withoutCert = (await ok<{ relay: string }>("POST", "/relay", { ...tls, name: "mtls, no cert", subscriptions: ["none/+"] })).relay;
    await connected(withCert);
    mosq.pub("mtls/MTLS-1", JSON.stringify({ variable: "m", value: 3 }));
    await waitFor("the record relayed over mutual TLS", async () => ((await data(dev.token, "m")).length > 0 ? true : undefined));
    const s = await waitFor("a refusal", async () => {
      const st = await status(withoutCert);
      return st.last_error ? st : undefined;
    });
    assert.equal(s.connected, false);
    assert.equal((await ok<Record<string, unknown>>("GET", `/relay/${withCert}`)).key, "********");
    await ok("DELETE", `/relay/${withCert}`);
    await ok("DELETE", `/relay/${withoutCert}`);
  });

  test("downlink: an mqtt action for a relayed device goes to the external broker on the mapped topic", async () => {
    const dev = await deviceWithSerial("DL-7");
    await ok("POST", "/action", {
      name: "answer", type: "mqtt_topic", trigger: [{ device: dev.id, topic: "field/+/up" }],
      action: { type: "mqtt", topic: "answer", payload: "got $PAYLOAD$", bucket: dev.id, qos: 1 },
    });
    const id = (await ok<{ relay: string }>("POST", "/relay", {
      ...baseRelay(), name: "field", subscriptions: ["field/+/up"], mapping: { source: "topic", index: 1 }, downlink_topic: "field/$SERIAL$/down/$TOPIC$",
    })).relay;
    const { got } = await external({ subscribe: "field/+/down/#" });
    await connected(id);
    mosq.pub("field/DL-7/up", "ping");
    await waitFor("the downlink", async () => (got.length > 0 ? true : undefined));
    assert.deepEqual(got[0], { topic: "field/DL-7/down/answer", payload: "got ping" });
    assert.ok((await status(id)).counters.messages_out! >= 1);
    await ok("DELETE", `/relay/${id}`);
  });

  test("the external broker and Sluice both go away: queued downlink and uplink published meanwhile all arrive, in order", async () => {
    const dev = await deviceWithSerial("PERSIST-1");
    await insertAction(dev.id, "persist/+/up");
    // The device also talks to Sluice directly; what it publishes there triggers downlink for it.
    await ok("POST", "/action", {
      name: "command", type: "mqtt_topic", trigger: [{ device: dev.id, topic: "local/cmd" }],
      action: { type: "mqtt", topic: "cmd", payload: "$PAYLOAD$", bucket: dev.id, qos: 1 },
    });
    const id = (await ok<{ relay: string }>("POST", "/relay", {
      ...baseRelay(), name: "persist", client_id: "sluice-persist-test", subscriptions: [{ topic: "persist/+/up", qos: 1 }],
      mapping: { source: "topic", index: 1 }, downlink_topic: "persist/$SERIAL$/down",
    })).relay;
    // A persistent subscriber on Mosquitto: its session and queue survive Mosquitto's restart too.
    const { got } = await external({ clientId: "test-downlink-watcher", subscribe: "persist/+/down" });
    await connected(id);

    await mosq.stop();
    await waitFor("the relay to notice", async () => ((await status(id)).connected ? undefined : true));
    const local = await sluice.connect({ username: "Token", password: dev.token });
    for (const n of [1, 2, 3]) await local.publishAsync("local/cmd", `command ${n}`, { qos: 1 });
    const queued = await waitFor("3 queued downlinks", async () => {
      const st = await status(id);
      return st.counters.queued === 3 ? st : undefined;
    });
    assert.equal(queued.counters.dropped, 0);

    // Sluice stops too; the queue is in its database.
    const dataDir = sluice.dataDir;
    await sluice.close({ keepData: true });
    await mosq.start();
    // Published while no relay is connected: Mosquitto keeps them in the relay's persistent session.
    for (const n of [1, 2, 3, 4]) mosq.pub("persist/PERSIST-1/up", JSON.stringify({ variable: "seq", value: n }), { qos: 1 });

    sluice = await startSluice({}, dataDir);
    await connected(id);
    const rows = await waitFor("4 relayed records", async () => {
      const r = await data(dev.token, "seq");
      return r.length >= 4 ? r : undefined;
    });
    assert.deepEqual(rows.map((r) => r.value), [1, 2, 3, 4]);
    await waitFor("3 downlinks", async () => (got.length >= 3 ? true : undefined));
    assert.deepEqual(got.map((g) => g.payload), ["command 1", "command 2", "command 3"]);
    await waitFor("an empty queue", async () => ((await status(id)).counters.queued === 0 ? true : undefined));
    await ok("DELETE", `/relay/${id}`);
  });

  test("a fixed device: the external broker restarts, QoS 1 downlink waits in the queue, and the device's inspector shows the relay's connection", async () => {
    const dev = await deviceWithSerial("FIXED-1");
    await ok("POST", "/action", {
      name: "forward", type: "mqtt_topic", trigger: [{ device: dev.id, topic: "fixed/cmd" }],
      action: { type: "mqtt", topic: "ignored", payload: "$PAYLOAD$", bucket: dev.id, qos: 1 },
    });
    const id = (await ok<{ relay: string }>("POST", "/relay", {
      ...baseRelay(), name: "fixed", client_id: "sluice-fixed-test", subscriptions: ["fixed/up"], mapping: { source: "fixed", device: dev.id }, downlink_topic: "fixed/$SERIAL$/down",
    })).relay;
    const { got } = await external({ clientId: "test-fixed-watcher", subscribe: "fixed/+/down" });
    await connected(id);
    await mosq.stop();
    await waitFor("the relay to notice", async () => ((await status(id)).connected ? undefined : true));
    const local = await sluice.connect({ username: "Token", password: dev.token });
    for (const n of [1, 2]) await local.publishAsync("fixed/cmd", `c${n}`, { qos: 1 });
    await local.publishAsync("fixed/cmd", "lost", { qos: 0 }); // the action's QoS decides: 1, so queued too
    await waitFor("3 queued", async () => ((await status(id)).counters.queued === 3 ? true : undefined));
    await mosq.start();
    await waitFor("3 downlinks", async () => (got.length >= 3 ? true : undefined));
    assert.deepEqual(got.map((g) => `${g.topic} ${g.payload}`), ["fixed/FIXED-1/down c1", "fixed/FIXED-1/down c2", "fixed/FIXED-1/down lost"]);
    // Mosquitto may forward before it acknowledges: the queue empties on the PUBACKs.
    const st = await waitFor("an empty queue", async () => {
      const x = await status(id);
      return x.counters.queued === 0 ? x : undefined;
    });
    assert.ok(st.counters.reconnects! >= 1);
    const events = await ok<{ kind: string; summary: string }[]>("GET", `/device/${dev.id}/inspector?search=relay`);
    const kinds = events.map((e) => e.kind);
    assert.ok(kinds.includes("connect") && kinds.includes("disconnect"), JSON.stringify(events));
    await ok("DELETE", `/relay/${id}`);
  });

  // The files read are SQLite's; on PostgreSQL the same rows are written by the same encryption (relay/secrets.ts).
  test("credentials are not readable in the SQLite files", { skip: onPostgres() ? "reads the SQLite files, which a node on PostgreSQL does not have" : false }, async () => {
    const keyPem = "-----BEGIN PRIVATE KEY-----\nTOTALLY-SECRET-CLIENT-KEY-MATERIAL\n-----END PRIVATE KEY-----\n";
    const id = (await ok<{ relay: string }>("POST", "/relay", {
      ...baseRelay(), active: false, password: "PLAINTEXT-PASSWORD-CANARY", key: keyPem, name: "canary", subscriptions: ["c/#"], mapping: { source: "topic", index: -1 },
    })).relay;
    const files = ["sluice.db", "sluice.db-wal"].map((f) => join(sluice.dataDir, f)).filter((f) => existsSync(f));
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    assert.ok(bytes.includes("canary"), "the relay row is in the files read");
    assert.ok(!bytes.includes("PLAINTEXT-PASSWORD-CANARY"));
    assert.ok(!bytes.includes("TOTALLY-SECRET-CLIENT-KEY-MATERIAL"));
    const info = await ok<Record<string, unknown>>("GET", `/relay/${id}`);
    assert.equal(info.key, "********");
    await ok("DELETE", `/relay/${id}`);
  });

  test("invalid input is refused naming the field; another account cannot see a relay", async () => {
    const r = await call("POST", "/relay", { ...baseRelay(), name: "x", subscriptions: [{ topic: "a/#/b" }], mapping: { source: "topic" } });
    assert.equal(r.status, 400);
    assert.match(r.body.message ?? "", /subscriptions\[0\]\.topic/);
    const id = (await ok<{ relay: string }>("POST", "/relay", { ...baseRelay(), active: false, name: "mine", subscriptions: ["a/#"], mapping: { source: "fixed", device: "d" } })).relay;
    const other = await sluice.server.identity.createAccount("other");
    const res = await call("GET", `/relay/${id}`, undefined, other.token);
    assert.equal(res.status, 404);
    await ok("DELETE", `/relay/${id}`);
  });
});
