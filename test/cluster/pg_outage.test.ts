import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import pg from "pg";
import { nextMessages } from "../helpers/sluice.js";
import { startPostgres, type TestPostgres } from "../helpers/postgres.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";

// Issue 14, failure: a node whose PostgreSQL stops refuses new work with clear errors (HTTP 503
// JSON, CONNACK 0x88 / 3), keeps routing for the clients it has, never acknowledges what it did
// not store, and works again by itself once PostgreSQL is back.

let postgres: TestPostgres;
let store: string;
let sluice: TestSluice;
let device: { deviceId: string; token: string };
/** Values acknowledged as stored (HTTP 200, PUBACK 0x00): each must be in the database at the end. */
const acknowledged = new Set<number>();
let next = 0;

before(async () => {
  postgres = await startPostgres();
  store = await postgres.database();
  sluice = await startSluice({ postgres: { url: store, poolSize: 4, connectTimeoutMs: 1000 } });
  device = await sluice.device();
  const res = await fetch(`${sluice.api}/action`, {
    method: "POST", headers: { authorization: sluice.adminToken, "content-type": "application/json" },
    body: JSON.stringify({ name: "store", type: "mqtt_topic", trigger: [{ device: device.deviceId, topic: "data/#" }], action: { type: "insert_bucket" } }),
  });
  assert.equal(res.status, 200, await res.text());
});
after(async () => {
  await sluice?.close();
  await postgres?.stop();
});

function connectRaw(options: mqtt.IClientOptions): Promise<{ client: MqttClient; connack: mqtt.IConnackPacket | undefined; error: Error | undefined }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(sluice.mqttUrl, { reconnectPeriod: 0, connectTimeout: 5000, username: "t", password: device.token, ...options });
    client.once("connect", (connack) => resolve({ client, connack, error: undefined }));
    client.once("error", (error) => resolve({ client, connack: undefined, error }));
  });
}

/** POST /data of one numbered record; true when it was acknowledged (200). */
async function postRecord(): Promise<{ status: number; body: { status: boolean; message?: string } }> {
  const value = ++next;
  const res = await fetch(`${sluice.api}/data`, {
    method: "POST", headers: { authorization: device.token, "content-type": "application/json" },
    body: JSON.stringify([{ variable: "n", value }]),
  });
  const body = (await res.json()) as { status: boolean; message?: string };
  if (res.status === 200) acknowledged.add(value);
  return { status: res.status, body };
}

/** A QoS 1 PUBLISH of one numbered record; resolves with its PUBACK's reason code, or "disconnected" without one. */
function publishRecord(client: MqttClient): Promise<number | "disconnected"> {
  const value = ++next;
  return new Promise((resolve) => {
    const onClose = () => resolve("disconnected");
    client.once("close", onClose);
    client.publish("data/n", JSON.stringify({ variable: "n", value }), { qos: 1 }, (err, packet) => {
      client.off("close", onClose);
      const rc = (packet as { reasonCode?: number } | undefined)?.reasonCode ?? (err ? -1 : 0);
      if (!err && rc === 0) acknowledged.add(value);
      resolve(err && rc === 0 ? -1 : rc);
    });
  });
}

test("PostgreSQL stopped, then started again: 503 and CONNACK 0x88 meanwhile, routing goes on, everything acknowledged is stored", async () => {
  // Before: both ways in store.
  assert.equal((await postRecord()).status, 200);
  const writer = (await connectRaw({ protocolVersion: 5 })).client;
  assert.equal(await publishRecord(writer), 0);
  // Clients connected before the outage: a subscriber and a publisher of QoS 0 chatter.
  const sub = (await connectRaw({ protocolVersion: 5, clientId: "sub" })).client;
  await sub.subscribeAsync("chat/#", { qos: 0 });
  const talker = (await connectRaw({ protocolVersion: 4, clientId: "talker" })).client;

  await postgres.stop({ keepData: true });

  // HTTP: 503 with the JSON envelope, for reads and for writes.
  const read = await fetch(`${sluice.api}/data?variable=n`, { headers: { authorization: device.token } });
  assert.equal(read.status, 503);
  const readBody = (await read.json()) as { status: boolean; message: string };
  assert.equal(readBody.status, false);
  assert.match(readBody.message, /unavailable/);
  const write = await postRecord();
  assert.equal(write.status, 503);
  assert.equal(write.body.status, false);

  // New MQTT connections: Server unavailable (5.0: 0x88; 3.1.1: return code 3).
  const v5 = await connectRaw({ protocolVersion: 5 });
  assert.equal((v5.error as { code?: number } | undefined)?.code, 0x88, String(v5.error));
  v5.client.end(true);
  const v4 = await connectRaw({ protocolVersion: 4 });
  assert.equal((v4.error as { code?: number } | undefined)?.code, 3, String(v4.error));
  v4.client.end(true);

  // Connected clients keep routing QoS 0 (no store involved).
  const got = nextMessages(sub, 1, 5000);
  talker.publish("chat/room", "still here", { qos: 0 });
  assert.equal((await got)[0]!.payload, "still here");

  // A QoS 1 record that cannot be stored is not acknowledged: the connection closes (0x89) without a PUBACK.
  const disconnect = new Promise<number | undefined>((resolve) => writer.once("disconnect", (p) => resolve(p.reasonCode)));
  assert.equal(await publishRecord(writer), "disconnected");
  assert.equal(await disconnect, 0x89);

  await postgres.start();

  // Within seconds, without restarting Sluice: HTTP, new connections and stored publishes again.
  await until(async () => ((await postRecord()).status === 200 ? true : undefined), 15_000);
  const again = await until(async () => {
    const c = await connectRaw({ protocolVersion: 5 });
    if (c.connack) return c.client;
    c.client.end(true);
    return undefined;
  }, 15_000);
  assert.equal(await publishRecord(again), 0);
  const res = await fetch(`${sluice.api}/data?variable=n&qty=100`, { headers: { authorization: device.token } });
  assert.equal(res.status, 200);
  for (const c of [again, sub, talker, writer]) c.end(true);

  // Every acknowledged record is in the database.
  const db = new pg.Client({ connectionString: store });
  await db.connect();
  try {
    const stored = new Set((await db.query<{ num: number }>("SELECT num FROM data_records WHERE variable = 'n'")).rows.map((r) => Number(r.num)));
    for (const v of acknowledged) assert.ok(stored.has(v), `acknowledged record ${v} is missing`);
    assert.ok(acknowledged.size >= 4);
  } finally {
    await db.end();
  }
});
