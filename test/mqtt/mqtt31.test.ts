import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { nextMessages, startSluice, type TestSluice } from "../helpers/sluice.js";

// MQTT 3.1 (protocol name "MQIsdp", level 3) is still spoken by old devices: it connects,
// authenticates with a token and exchanges messages with 3.1.1 and 5.0 clients.
const run = promisify(execFile);

let sluice: TestSluice;
let token: string;
before(async () => {
  sluice = await startSluice();
  token = (await sluice.device()).token;
});
after(() => sluice.close());

test("an MQTT 3.1 client connects with a token and receives a 5.0 client's QoS 1 message", async () => {
  const old = await sluice.connect({ username: "Token", password: token, protocolId: "MQIsdp", protocolVersion: 3 });
  await old.subscribeAsync("legacy/#", { qos: 1 });
  const got = nextMessages(old);
  const modern = await sluice.connect({ username: "Token", password: token, protocolVersion: 5 });
  await modern.publishAsync("legacy/a", "from v5", { qos: 1 });
  const [m] = await got;
  assert.equal(m!.payload, "from v5");
  assert.equal(m!.packet.qos, 1);
});

test("mosquitto_pub -V mqttv31 delivers to a 3.1.1 subscriber", async () => {
  const sub = await sluice.connect({ username: "Token", password: token, protocolVersion: 4 });
  await sub.subscribeAsync("legacy/cli", { qos: 2 });
  const got = nextMessages(sub);
  await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(sluice.ports.mqtt), "-V", "mqttv31", "-u", "Token", "-P", token, "-q", "2", "-t", "legacy/cli", "-m", "three-one"]);
  const [m] = await got;
  assert.equal(m!.payload, "three-one");
});

test("an MQTT 3.1 client with a wrong token is refused with return code 4", async () => {
  await assert.rejects(sluice.connect({ username: "Token", password: "wrong", protocolId: "MQIsdp", protocolVersion: 3 }), (err: { code?: number }) => err.code === 4);
});
