import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { nextMessages, noMessage, startSluice, type TestSluice } from "../helpers/sluice.js";

// Pulling last values: a device publishes variable names to `$pull/<name>` and gets the last
// record of each from its own bucket on `$pull/<name>/ack`, without any retained message.
const run = promisify(execFile);

let sluice: TestSluice;
let api: string;
before(async () => {
  sluice = await startSluice();
  api = sluice.api;
});
after(() => sluice.close());

/** Stores records for a device over the device API. */
async function send(token: string, records: unknown[]): Promise<void> {
  const response = await fetch(`${api}/data`, { method: "POST", headers: { token, "content-type": "application/json" }, body: JSON.stringify(records) });
  assert.equal(response.status, 200, await response.text());
}

/** A device with temperature 21 then 22.5 (°C) and setpoint 18 in its bucket. */
async function deviceWithState() {
  const dev = await sluice.device();
  await send(dev.token, [
    { variable: "temperature", value: 21, unit: "°C", time: "2026-01-01T00:00:00Z" },
    { variable: "temperature", value: 22.5, unit: "°C", time: "2026-01-01T01:00:00Z" },
    { variable: "setpoint", value: 18 },
  ]);
  return dev;
}

type Answer = { variable: string; value: unknown; unit?: string; time: string }[];

describe("$pull: last values on request", () => {
  test("answers on <request>/ack with the last record of each variable asked for, in the order asked", async () => {
    const dev = await deviceWithState();
    const client = await sluice.connect({ username: "Token", password: dev.token });
    await client.subscribeAsync("$pull/+/ack", { qos: 1 });
    const got = nextMessages(client);
    await client.publishAsync("$pull/state", JSON.stringify(["setpoint", "Temperature", "never_sent"]), { qos: 1 });
    const [reply] = await got;
    assert.equal(reply!.topic, "$pull/state/ack");
    assert.equal(reply!.packet.qos, 1);
    const answer = JSON.parse(reply!.payload) as Answer;
    assert.deepEqual(answer.map((r) => [r.variable, r.value]), [["setpoint", 18], ["temperature", 22.5]]);
    assert.equal(answer[1]!.unit, "°C");
    assert.equal(answer[1]!.time, "2026-01-01T01:00:00.000Z");
  });

  test('accepts {"variables": [...]} and a comma-separated list too', async () => {
    const dev = await deviceWithState();
    const client = await sluice.connect({ username: "Token", password: dev.token });
    await client.subscribeAsync("$pull/x/ack");
    for (const body of [JSON.stringify({ variables: ["setpoint"] }), " setpoint , temperature "]) {
      const got = nextMessages(client);
      client.publish("$pull/x", body);
      const answer = JSON.parse((await got)[0]!.payload) as Answer;
      assert.equal(answer[0]!.variable, "setpoint");
    }
  });

  test("the answer goes to the asking device only, and a request never reaches an insert action", async () => {
    const dev = await deviceWithState();
    const other = await sluice.device();
    const asker = await sluice.connect({ username: "Token", password: dev.token });
    const bystander = await sluice.connect({ username: "Token", password: other.token });
    await asker.subscribeAsync("$pull/+/ack");
    await bystander.subscribeAsync("$pull/+/ack");
    const resources = { headers: { token: sluice.adminToken, "content-type": "application/json" } };
    const created = await fetch(`${api}/action`, {
      method: "POST", ...resources,
      body: JSON.stringify({ name: "store all", type: "mqtt_topic", trigger: [{ device: dev.deviceId, topic: "$pull/#" }], action: { type: "insert_bucket" } }),
    });
    assert.equal(created.status, 200);
    const got = nextMessages(asker);
    const silent = noMessage(bystander, 400);
    await asker.publishAsync("$pull/state", '["setpoint"]', { qos: 1 });
    await got;
    assert.equal(await silent, true);
    const stored = await (await fetch(`${api}/data?variables=payload&qty=5`, { headers: { token: dev.token } })).json() as { result: unknown[] };
    assert.deepEqual(stored.result, []);
  });

  test("MQTT 5: the answer honours the request's Response Topic and Correlation Data", async () => {
    const dev = await deviceWithState();
    const client = await sluice.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    await client.subscribeAsync("replies/me");
    const got = nextMessages(client);
    await client.publishAsync("$pull/state", '["temperature"]', { qos: 1, properties: { responseTopic: "replies/me", correlationData: Buffer.from("req-7") } });
    const [reply] = await got;
    assert.equal(reply!.topic, "replies/me");
    assert.equal(reply!.packet.properties?.correlationData?.toString(), "req-7");
    assert.equal((JSON.parse(reply!.payload) as Answer)[0]!.value, 22.5);
  });

  test("a malformed request gets an error answer and, in MQTT 5, PUBACK 0x99", async () => {
    const dev = await deviceWithState();
    const client = await sluice.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    await client.subscribeAsync("$pull/+/ack");
    const got = nextMessages(client);
    const puback = new Promise<number | undefined>((resolve) => {
      client.publish("$pull/state", "{not json", { qos: 1 }, (_err, packet) => resolve((packet as { reasonCode?: number } | undefined)?.reasonCode));
    });
    const [reply] = await got;
    assert.match((JSON.parse(reply!.payload) as { error: string }).error, /not valid JSON/);
    assert.equal(await puback, 0x99);
  });

  test("a bad QoS 0 request gets its error answer and the server keeps serving", async () => {
    const dev = await deviceWithState();
    const client = await sluice.connect({ username: "Token", password: dev.token });
    await client.subscribeAsync("$pull/+/ack");
    const got = nextMessages(client, 2);
    client.publish("$pull/state", "{}", { qos: 0 });
    client.publish("$pull/state", '["setpoint"]', { qos: 0 });
    const [bad, good] = await got;
    assert.match(bad!.payload, /error/);
    assert.equal((JSON.parse(good!.payload) as Answer)[0]!.value, 18);
  });

  test("a device that wakes up with mosquitto_sub/mosquitto_pub gets its state", async () => {
    const dev = await deviceWithState();
    const port = String(sluice.ports.mqtt);
    const sub = spawn("mosquitto_sub", ["-h", "127.0.0.1", "-p", port, "-u", "Token", "-P", dev.token, "-t", "$pull/wake/ack", "-C", "1", "-W", "5"]);
    let out = "";
    sub.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => sub.on("exit", resolve));
    // mosquitto_sub has no "subscribed" signal: ask until the answer arrives.
    for (let i = 0; i < 50 && out === ""; i++) {
      await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", port, "-u", "Token", "-P", dev.token, "-t", "$pull/wake", "-q", "1", "-m", "setpoint,temperature"]);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await exited, 0);
    assert.deepEqual((JSON.parse(out) as Answer).map((r) => r.value), [18, 22.5]);
  });
});
