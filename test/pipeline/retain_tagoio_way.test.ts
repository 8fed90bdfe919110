import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { nextMessages, startSluice, type TestSluice } from "../helpers/sluice.js";

// TagoIO's documented retain workaround, as its users set it up: an "MQTT publish" action
// triggered by a variable update republishes the value; with Sluice's native retain the
// device that connects later gets it at once.

let sluice: TestSluice;
let api: string;
before(async () => {
  sluice = await startSluice();
  api = sluice.api;
});
after(() => sluice.close());

async function call(method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(api + path, { method, headers: { token, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await response.json()) as { status: boolean; result: unknown; message?: string };
  assert.equal(response.status, 200, json.message);
  return json.result;
}

describe("retain, the TagoIO way", () => {
  test("a variable update triggers an MQTT publish action whose retained message a late subscriber gets", async () => {
    const panel = await sluice.device();
    const thermostat = await sluice.device();
    await call("POST", "/action", sluice.adminToken, {
      name: "republish setpoint",
      type: "condition",
      trigger: [{ device: panel.deviceId, variable: "setpoint", is: "*", value_type: "*" }],
      action: { type: "mqtt", topic: "thermostat/$VARIABLE$", payload: '{"value":$VALUE$,"from":"$DEVICE_NAME$"}', qos: 1, retain: true },
    });
    await call("POST", "/data", panel.token, { variable: "setpoint", value: 19 });
    await call("POST", "/data", panel.token, { variable: "setpoint", value: 21 });

    // The thermostat wakes up after both updates and subscribes: the last one is waiting.
    const client = await sluice.connect({ username: "Token", password: thermostat.token });
    const got = nextMessages(client);
    await client.subscribeAsync("thermostat/+", { qos: 1 });
    const [message] = await got;
    assert.equal(message!.topic, "thermostat/setpoint");
    assert.equal(message!.packet.retain, true);
    const body = JSON.parse(message!.payload) as { value: number; from: string };
    assert.equal(body.value, 21);
    assert.match(body.from, /^dev-/);
  });
});
