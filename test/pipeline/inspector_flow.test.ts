import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import sdk from "@tago-io/sdk";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// What the live inspector shows for one device while it talks MQTT and its data is parsed
// and stored; and the bucket's retention set from the account API.
const { Resources, Device } = sdk;

let sluice: TestSluice;
let api: string;
before(async () => {
  sluice = await startSluice();
  api = sluice.api;
});
after(() => sluice.close());

interface Event {
  kind: string;
  summary: string;
}

async function events(deviceId: string): Promise<Event[]> {
  const res = await fetch(`${api}/device/${deviceId}/inspector?limit=100`, { headers: { token: sluice.adminToken } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { result: Event[] }).result.reverse();
}

/** Opens the device's live stream, as an open inspector does; per-message events are kept only then. */
async function watch(deviceId: string): Promise<() => void> {
  const controller = new AbortController();
  const res = await fetch(`${api}/device/${deviceId}/inspector/stream?token=${sluice.adminToken}`, { signal: controller.signal });
  assert.equal(res.status, 200);
  void res.body?.getReader().read().catch(() => undefined);
  return () => controller.abort();
}

async function until(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

test("connect, subscribe, message in, parser run, action, stored, message out and disconnect are inspected in order", async () => {
  const dev = await sluice.device();
  const resources = new Resources({ token: sluice.adminToken, region: { api, sse: `${api}/events` } });
  await resources.devices.edit(dev.deviceId, { parse_function: "console.log('frames', payload.length); payload = [{ variable: 'level', value: Number(payload[0].value) }]" } as never);
  await resources.actions.create({ name: "store", type: "mqtt_topic", trigger: [{ device: dev.deviceId, topic: "tank" } as never], action: { type: "insert_bucket" } as never });
  const stop = await watch(dev.deviceId);
  after(stop);
  const client = await sluice.connect({ username: "Token", password: dev.token, clientId: "tank-1" });
  await client.subscribeAsync("tank");
  await client.publishAsync("tank", "42", { qos: 1 });
  await until(async () => (await events(dev.deviceId)).some((e) => e.kind === "message_out"));
  await client.endAsync();
  await until(async () => (await events(dev.deviceId)).some((e) => e.kind === "disconnect"));

  const kinds = (await events(dev.deviceId)).map((e) => e.kind);
  const order = ["connect", "subscribe", "message_in", "parser_input", "parser_log", "parser_output", "action", "stored", "disconnect"];
  let at = -1;
  for (const kind of order) {
    const i = kinds.indexOf(kind, at + 1);
    assert.ok(i > at, `expected ${kind} after position ${at} in ${kinds.join(", ")}`);
    at = i;
  }
  assert.ok(kinds.includes("message_out"));
  const log = (await events(dev.deviceId)).find((e) => e.kind === "parser_log")!;
  assert.match(log.summary, /frames 1/);
});

test("without a live viewer, connections are kept in the ring but messages are not", async () => {
  const dev = await sluice.device();
  const client = await sluice.connect({ username: "Token", password: dev.token });
  await client.publishAsync("unwatched", "x", { qos: 1 });
  await until(async () => (await events(dev.deviceId)).some((e) => e.kind === "connect"));
  assert.deepEqual((await events(dev.deviceId)).map((e) => e.kind), ["connect"]);
});

test("a parser error shows in the inspector and nothing is stored", async () => {
  const dev = await sluice.device();
  const resources = new Resources({ token: sluice.adminToken, region: { api, sse: `${api}/events` } });
  await resources.devices.edit(dev.deviceId, { parse_function: "while (true) {}" } as never);
  await resources.actions.create({ name: "store", type: "mqtt_topic", trigger: [{ device: dev.deviceId, topic: "loop" } as never], action: { type: "insert_bucket" } as never });
  const client = await sluice.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
  const started = Date.now();
  const puback = await new Promise<{ reasonCode?: number }>((resolve) => client.publish("loop", "1", { qos: 1 }, (_e, p) => resolve((p ?? {}) as { reasonCode?: number })));
  assert.equal(puback.reasonCode, 0x99);
  assert.ok(Date.now() - started < 2000, "the looping parser was stopped by its time limit");
  const errors = (await events(dev.deviceId)).filter((e) => e.kind === "error");
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.summary, /timeout/i);
});

test("a switched-off inspector records nothing for its device", async () => {
  const dev = await sluice.device();
  const res = await fetch(`${api}/device/${dev.deviceId}/inspector`, {
    method: "PUT", headers: { token: sluice.adminToken, "content-type": "application/json" }, body: JSON.stringify({ enabled: false }),
  });
  assert.equal(res.status, 200);
  const client = await sluice.connect({ username: "Token", password: dev.token });
  await client.publishAsync("quiet", "x", { qos: 1 });
  assert.deepEqual(await events(dev.deviceId), []);
});

test("the inspector switch survives a restart", async () => {
  const local = await startSluice();
  const dev = await local.device();
  const url = `${local.api}/device/${dev.deviceId}/inspector`;
  await fetch(url, { method: "PUT", headers: { token: local.adminToken, "content-type": "application/json" }, body: JSON.stringify({ enabled: false }) });
  await local.close({ keepData: true });
  const again = await startSluice({}, local.dataDir);
  try {
    const client = await again.connect({ username: "Token", password: dev.token });
    await client.publishAsync("quiet", "x", { qos: 1 });
    const res = await fetch(`${again.api}/device/${dev.deviceId}/inspector`, { headers: { token: again.adminToken } });
    assert.deepEqual(((await res.json()) as { result: unknown[] }).result, []);
  } finally {
    await again.close();
  }
});

test("retention keeps the newest N records of a device", async () => {
  const dev = await sluice.device();
  const device = new Device({ token: dev.token, region: { api, sse: `${api}/events` } });
  for (let i = 0; i < 5; i++) await device.sendData({ variable: "n", value: i, time: new Date(Date.now() - (5 - i) * 1000) });
  const res = await fetch(`${api}/device/${dev.deviceId}/data_retention`, {
    method: "PUT", headers: { token: sluice.adminToken, "content-type": "application/json" }, body: JSON.stringify({ records: 2 }),
  });
  assert.equal(res.status, 200);
  const kept = (await device.getData({ variables: ["n"], qty: 10 } as never)) as unknown as { value: number }[];
  assert.deepEqual(kept.map((r) => r.value).sort(), [3, 4]);
});

test("disconnects carry their reason code: the client's own DISCONNECT and the server's takeover", async () => {
  const dev = await sluice.device();
  const first = await sluice.connect({ username: "Token", password: dev.token, clientId: "twin", protocolVersion: 5, reconnectPeriod: 0 });
  first.on("error", () => undefined);
  // Same client id again: the server ends the first connection with 0x8e (session taken over).
  const second = await sluice.connect({ username: "Token", password: dev.token, clientId: "twin", protocolVersion: 5, reconnectPeriod: 0 });
  await until(async () => (await events(dev.deviceId)).some((e) => e.kind === "disconnect"));
  await second.endAsync();
  await until(async () => (await events(dev.deviceId)).filter((e) => e.kind === "disconnect").length === 2);
  const res = await fetch(`${api}/device/${dev.deviceId}/inspector?kinds=disconnect`, { headers: { token: sluice.adminToken } });
  const [normal, takeover] = ((await res.json()) as { result: (Event & { detail: { reasonCode?: number } })[] }).result;
  assert.equal(takeover!.detail.reasonCode, 0x8e);
  assert.match(takeover!.summary, /session taken over by a new connection \(reason 0x8e\)/);
  assert.equal(normal!.detail.reasonCode, 0);
  assert.match(normal!.summary, /client disconnected \(reason 0x0\)/);
});
