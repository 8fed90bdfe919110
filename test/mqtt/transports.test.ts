import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { nextMessages, startSluice, type TestSluice } from "../helpers/sluice.js";

// MQTT over every transport Sluice listens on: TCP, TLS, WebSocket and secure WebSocket, all
// into the same broker.

let sluice: TestSluice;
let token: string;
let ca: Buffer;
const clients: MqttClient[] = [];
before(async () => {
  sluice = await startSluice();
  token = (await sluice.device()).token;
  ca = readFileSync(join(sluice.dataDir, "tls", "cert.pem"));
});
after(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await sluice.close();
});

/** Connects MQTT.js to `url` and waits for CONNACK. */
function connectTo(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { username: "Token", password: token, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    clients.push(client);
    client.once("connect", () => resolve(client));
    client.once("error", reject);
    client.once("close", () => reject(new Error("closed before CONNACK")));
  });
}

/** `client` publishes, `receiver` gets it. */
async function exchange(publisher: MqttClient, receiver: MqttClient, topic: string): Promise<void> {
  await receiver.subscribeAsync(topic, { qos: 1 });
  const got = nextMessages(receiver);
  await publisher.publishAsync(topic, `via ${topic}`, { qos: 1 });
  const [m] = await got;
  assert.equal(m!.payload, `via ${topic}`);
}

const ws = () => `ws://127.0.0.1:${sluice.ports.ws}/mqtt`;
const wss = () => `wss://127.0.0.1:${sluice.ports.wss}/mqtt`;
const mqtts = () => `mqtts://127.0.0.1:${sluice.ports.mqtts}`;

for (const protocolVersion of [4, 5] as const) {
  const v = protocolVersion === 5 ? "5.0" : "3.1.1";

  test(`${v}: an MQTT.js client connects over WebSocket at /mqtt and gets its own messages`, async () => {
    const client = await connectTo(ws(), { protocolVersion });
    await exchange(client, client, `ws/${v}`);
  });

  test(`${v}: an MQTT.js client connects over secure WebSocket, trusting the self-signed certificate`, async () => {
    const client = await connectTo(wss(), { protocolVersion, ca });
    await exchange(client, client, `wss/${v}`);
  });

  test(`${v}: an MQTT.js client connects over TLS (mqtts), trusting the self-signed certificate`, async () => {
    const client = await connectTo(mqtts(), { protocolVersion, ca });
    await exchange(client, client, `mqtts/${v}`);
  });
}

test("secure WebSocket works for a client that skips certificate verification", async () => {
  const client = await connectTo(wss(), { rejectUnauthorized: false });
  await exchange(client, client, "wss/unverified");
});

test("a TLS client that does not trust the self-signed certificate cannot connect", async () => {
  await assert.rejects(connectTo(mqtts(), { rejectUnauthorized: true }), /self[- ]signed|certificate/i);
});

test("the self-signed certificate is valid for the name localhost (as well as 127.0.0.1)", async () => {
  const byName = await connectTo(mqtts(), { ca, servername: "localhost" });
  assert.equal(byName.connected, true);
  await assert.rejects(connectTo(mqtts(), { ca, servername: "example.com" }), /altnames|example\.com/i);
});

test("a WebSocket client and a TCP client exchange messages both ways", async () => {
  const overWs = await connectTo(ws(), { protocolVersion: 5 });
  const overTcp = await sluice.connect({ username: "Token", password: token, protocolVersion: 4 });
  await exchange(overWs, overTcp, "mixed/ws-to-tcp");
  await exchange(overTcp, overWs, "mixed/tcp-to-ws");
});

test("clients on all four transports share one broker", async () => {
  const sub = await sluice.connect({ username: "Token", password: token, protocolVersion: 5 });
  await sub.subscribeAsync("everywhere/#", { qos: 1 });
  const got = nextMessages(sub, 4);
  for (const [name, url, options] of [
    ["tcp", sluice.mqttUrl, {}],
    ["tls", mqtts(), { ca }],
    ["ws", ws(), {}],
    ["wss", wss(), { ca }],
  ] as const) {
    const client = await connectTo(url, options);
    await client.publishAsync(`everywhere/${name}`, name, { qos: 1 });
  }
  assert.deepEqual((await got).map((m) => m.payload).sort(), ["tcp", "tls", "ws", "wss"]);
});

test("the broker knows which transport each connection came in on", async () => {
  const clientId = `which-transport-${Date.now()}`;
  await connectTo(wss(), { ca, clientId });
  const conn = [...sluice.server.broker.connections].find((c) => c.client?.clientId === clientId);
  assert.equal(conn?.socket.transport, "wss");
});

test("a plain HTTP GET on the WebSocket port gets 426 Upgrade Required", async () => {
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    request(`http://127.0.0.1:${sluice.ports.ws}/mqtt`, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    })
      .on("error", reject)
      .end();
  });
  assert.equal(status, 426);
  assert.ok(body.length > 0);
});

test("a WebSocket upgrade on another path than /mqtt is refused", async () => {
  await assert.rejects(connectTo(`ws://127.0.0.1:${sluice.ports.ws}/elsewhere`));
});
