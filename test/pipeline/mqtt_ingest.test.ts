import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import sdk from "@tago-io/sdk";
import { nextMessages, noMessage, startSluice, type TestSluice } from "../helpers/sluice.js";

// The pipeline, end to end: what a device publishes becomes records in its bucket when an
// mqtt_topic action with "Insert to Device Bucket" matches, read back through the SDK.
const { Device, Resources } = sdk;
const run = promisify(execFile);

let sluice: TestSluice;
let api: string;
before(async () => {
  sluice = await startSluice();
  api = sluice.api;
});
after(() => sluice.close());

function resources() {
  return new Resources({ token: sluice.adminToken, region: { api, sse: `${api}/events` } });
}
function deviceApi(token: string) {
  return new Device({ token, region: { api, sse: `${api}/events` } });
}

type Rec = { variable: string; value: unknown; unit?: string; metadata?: Record<string, unknown> };

/** The device's records of `variables`, read through the SDK's Device class. */
async function read(token: string, variables: string[], qty = 10): Promise<Rec[]> {
  return (await deviceApi(token).getData({ variables, qty } as never)) as unknown as Rec[];
}

async function insertAction(deviceId: string, topic: string): Promise<string> {
  const { action } = await resources().actions.create({
    name: `store ${topic}`,
    type: "mqtt_topic",
    trigger: [{ device: deviceId, topic } as never],
    action: { type: "insert_bucket" } as never,
  });
  return action;
}

describe("MQTT data into the bucket", () => {
  test("without an insert action a message reaches subscribers and is not stored", async () => {
    const dev = await sluice.device();
    const sub = await sluice.connect({ username: "Token", password: dev.token });
    await sub.subscribeAsync("plain/#");
    const got = nextMessages(sub);
    const pub = await sluice.connect({ username: "Token", password: dev.token });
    await pub.publishAsync("plain/t", JSON.stringify({ variable: "temperature", value: 21 }), { qos: 1 });
    await got;
    assert.deepEqual(await read(dev.token, ["temperature"], 10), []);
  });

  test("a QoS 1 JSON record matched by an insert action is stored before PUBACK, with metadata.topic", async () => {
    const dev = await sluice.device();
    await insertAction(dev.deviceId, "sensors/+/data");
    const pub = await sluice.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    await pub.publishAsync("sensors/kitchen/data", JSON.stringify([{ variable: "temperature", value: 21.5, unit: "C" }, { variable: "humidity", value: 40 }]), { qos: 1 });
    // The PUBACK came back: the records must be readable now, without waiting.
    const data = await read(dev.token, ["temperature", "humidity"], 10);
    assert.equal(data.length, 2);
    const t = data.find((d) => d.variable === "temperature")!;
    assert.equal(t.value, 21.5);
    assert.equal(t.unit, "C");
    assert.equal(t.metadata?.topic, "sensors/kitchen/data");
  });

  test("a non-JSON payload becomes one `payload` record holding the raw text", async () => {
    const dev = await sluice.device();
    await insertAction(dev.deviceId, "raw");
    const pub = await sluice.connect({ username: "Token", password: dev.token });
    await pub.publishAsync("raw", "01ff2a", { qos: 1 });
    const data = await read(dev.token, ["payload"], 1);
    assert.equal(data[0]?.value, "01ff2a");
    assert.equal(data[0]?.metadata?.mqtt_topic, "raw");
  });

  test("mosquitto_pub data is stored the same way", async () => {
    const dev = await sluice.device();
    await insertAction(dev.deviceId, "cli/#");
    await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(sluice.ports.mqtt), "-u", "Token", "-P", dev.token, "-q", "1", "-t", "cli/x", "-m", '{"variable":"level","value":7}']);
    const data = await read(dev.token, ["level"], 1);
    assert.equal(data[0]?.value, 7);
  });

  test("the device's parser turns a raw payload into records", async () => {
    const dev = await sluice.device();
    await resources().devices.edit(dev.deviceId, {
      parse_function: `
        const raw = payload.find((p) => p.variable === "payload");
        if (raw) {
          const hex = raw.value;
          payload = [{ variable: "temperature", value: parseInt(hex.slice(0, 4), 16) / 10, unit: "C" },
                     { variable: "battery", value: parseInt(hex.slice(4, 6), 16) }];
        }`,
    } as never);
    await insertAction(dev.deviceId, "uplink");
    const pub = await sluice.connect({ username: "Token", password: dev.token });
    await pub.publishAsync("uplink", "00d75a", { qos: 1 });
    const data = await read(dev.token, ["temperature", "battery"], 10);
    assert.equal(data.find((d) => d.variable === "temperature")?.value, 21.5);
    assert.equal(data.find((d) => d.variable === "battery")?.value, 90);
  });

  test("a parser that throws stores nothing and a 5.0 QoS 1 publisher gets PUBACK 0x99", async () => {
    const dev = await sluice.device();
    await resources().devices.edit(dev.deviceId, { parse_function: "throw new Error('bad frame')" } as never);
    await insertAction(dev.deviceId, "broken");
    const pub = await sluice.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    const packet = await new Promise<{ reasonCode?: number }>((resolve) => {
      pub.publish("broken", "x", { qos: 1 }, (_err, p) => resolve((p ?? {}) as { reasonCode?: number }));
    });
    assert.equal(packet.reasonCode, 0x99);
    assert.deepEqual(await read(dev.token, ["payload"], 1), []);
  });

  test("an invalid record is refused whole with PUBACK 0x99", async () => {
    const dev = await sluice.device();
    await insertAction(dev.deviceId, "bad");
    const pub = await sluice.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    const packet = await new Promise<{ reasonCode?: number }>((resolve) => {
      pub.publish("bad", JSON.stringify([{ variable: "ok", value: 1 }, { variable: "has space", value: 2 }]), { qos: 1 }, (_e, p) => resolve((p ?? {}) as { reasonCode?: number }));
    });
    assert.equal(packet.reasonCode, 0x99);
    assert.deepEqual(await read(dev.token, ["ok"], 1), []);
  });

  test("an action limited to a tag stores data of tagged devices only", async () => {
    const tagged = await sluice.device();
    const other = await sluice.device();
    await resources().devices.edit(tagged.deviceId, { tags: [{ key: "fleet", value: "a" }] });
    await resources().actions.create({
      name: "fleet a", type: "mqtt_topic",
      trigger: [{ tag_key: "fleet", tag_value: "a", topic: "fleet/#" } as never],
      action: { type: "insert_bucket" } as never,
    });
    for (const d of [tagged, other]) {
      const c = await sluice.connect({ username: "Token", password: d.token });
      await c.publishAsync("fleet/1", '{"variable":"speed","value":3}', { qos: 1 });
    }
    assert.equal((await read(tagged.token, ["speed"], 5)).length, 1);
    assert.equal((await read(other.token, ["speed"], 5)).length, 0);
  });
});

describe("HTTP data goes through the same pipeline", () => {
  test("POST /data runs the parser and stores", async () => {
    const dev = await sluice.device();
    await resources().devices.edit(dev.deviceId, { parse_function: "payload = payload.map((r) => ({ ...r, value: r.value * 2 }))" } as never);
    await deviceApi(dev.token).sendData({ variable: "double", value: 4 });
    const data = await read(dev.token, ["double"], 1);
    assert.equal(data[0]?.value, 8);
  });
});

describe("device params in the parser", () => {
  test("a parser reads the device's params, and sees a changed param on the next message", async () => {
    const dev = await sluice.device();
    const r = resources();
    await r.devices.edit(dev.deviceId, { parse_function: "const f = device.params.find((p) => p.key === 'factor'); payload = payload.map((x) => ({ ...x, value: x.value * Number(f ? f.value : 1) }))" } as never);
    await r.devices.paramSet(dev.deviceId, { key: "factor", value: "10", sent: false });
    const d = deviceApi(dev.token);
    await d.sendData({ variable: "scaled", value: 2 });
    const [param] = await r.devices.paramList(dev.deviceId);
    await r.devices.paramSet(dev.deviceId, { id: param!.id, key: "factor", value: "100", sent: false });
    await d.sendData({ variable: "scaled", value: 3 });
    const values = (await read(dev.token, ["scaled"], 10)).map((x) => x.value).sort((a, b) => Number(a) - Number(b));
    assert.deepEqual(values, [20, 300]);
  });
});

describe("actions", () => {
  test("an MQTT publish action sends a templated payload to the account's subscribers", async () => {
    const dev = await sluice.device();
    const listener = await sluice.device();
    const sub = await sluice.connect({ username: "Token", password: listener.token });
    await sub.subscribeAsync("alerts/#");
    await resources().actions.create({
      name: "echo", type: "mqtt_topic",
      trigger: [{ device: dev.deviceId, topic: "in/+" } as never],
      action: { type: "mqtt", topic: "alerts/$DEVICE$", payload: "got $VALUE$ on $TOPIC$", bucket: "" } as never,
    });
    const got = nextMessages(sub);
    const pub = await sluice.connect({ username: "Token", password: dev.token });
    await pub.publishAsync("in/a", '{"variable":"x","value":5}', { qos: 1 });
    const [m] = await got;
    assert.equal(m!.topic, `alerts/${dev.deviceId}`);
    assert.equal(m!.payload, "got 5 on in/a");
  });

  test("an MQTT publish action with a target device reaches only that device's sessions", async () => {
    const source = await sluice.device();
    const target = await sluice.device();
    const bystander = await sluice.device();
    const toTarget = await sluice.connect({ username: "Token", password: target.token });
    const toBystander = await sluice.connect({ username: "Token", password: bystander.token });
    for (const c of [toTarget, toBystander]) await c.subscribeAsync("downlink");
    await resources().actions.create({
      name: "downlink", type: "mqtt_topic",
      trigger: [{ device: source.deviceId, topic: "up" } as never],
      action: { type: "mqtt", topic: "downlink", payload: "ack $VALUE$", bucket: target.deviceId } as never,
    });
    const got = nextMessages(toTarget);
    const pub = await sluice.connect({ username: "Token", password: source.token });
    await pub.publishAsync("up", '{"variable":"x","value":9}', { qos: 1 });
    assert.equal((await got)[0]!.payload, "ack 9");
    assert.ok(await noMessage(toBystander, 300));
  });

  test("an interval action runs on its own, every interval", async () => {
    const listener = await sluice.device();
    const sub = await sluice.connect({ username: "Token", password: listener.token });
    await sub.subscribeAsync("tick");
    await resources().actions.create({
      name: "ticker", type: "interval", trigger: [{ interval: "1 second" } as never],
      action: { type: "mqtt", topic: "tick", payload: "beat" } as never,
    });
    const beats = await nextMessages(sub, 2, 3500);
    assert.deepEqual(beats.map((b) => b.payload), ["beat", "beat"]);
  });

  test("a condition action fires once, locks, and fires again only after the unlock condition", async () => {
    const dev = await sluice.device();
    const listener = await sluice.device();
    const sub = await sluice.connect({ username: "Token", password: listener.token });
    await sub.subscribeAsync("hot");
    await resources().actions.create({
      name: "too hot", type: "condition",
      trigger: [
        { device: dev.deviceId, variable: "temperature", is: ">", value: "30", value_type: "number" },
        { device: dev.deviceId, variable: "temperature", is: "<", value: "25", value_type: "number", unlock: true },
      ] as never,
      action: { type: "mqtt", topic: "hot", payload: "$VALUE$" } as never,
    });
    const seen: string[] = [];
    sub.on("message", (_t, p) => seen.push(p.toString()));
    const d = deviceApi(dev.token);
    for (const v of [31, 35, 20, 33]) await d.sendData({ variable: "temperature", value: v });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(seen, ["31", "33"]);
  });

  test("actions are listed, read, edited and deleted through the SDK", async () => {
    const dev = await sluice.device();
    const r = resources();
    const { action } = await r.actions.create({ name: "crud", type: "mqtt_topic", trigger: [{ device: dev.deviceId, topic: "a" } as never], action: { type: "insert_bucket" } as never });
    assert.equal((await r.actions.info(action)).name, "crud");
    await r.actions.edit(action, { name: "renamed" });
    assert.ok((await r.actions.list({ fields: ["id", "name"] })).some((a) => a.name === "renamed"));
    await r.actions.delete(action);
    await assert.rejects(r.actions.info(action));
  });

  test("an action with an unknown type or a bad schedule is refused naming the field", async () => {
    const res = await fetch(`${api}/action`, {
      method: "POST", headers: { token: sluice.adminToken, "content-type": "application/json" },
      body: JSON.stringify({ name: "x", type: "schedule", trigger: [{ cron: "not a cron", timezone: "UTC" }], action: { type: "mqtt", topic: "t" } }),
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /trigger\[0\]/);
  });
});
