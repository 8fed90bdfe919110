import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import sdk from "@tago-io/sdk";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";
import { startWebhookSink } from "../helpers/webhook_sink.js";

// mqtt_connect / mqtt_disconnect actions, fired by real MQTT.js clients connecting and
// disconnecting, selecting devices by id or by tag.
const { Resources } = sdk;

let sluice: TestSluice;
let api: string;
before(async () => {
  sluice = await startSluice();
  api = sluice.api;
});
after(() => sluice.close());

function resources(token = sluice.adminToken) {
  return new Resources({ token, region: { api, sse: `${api}/events` } });
}


describe("device event triggers", () => {
  test("mqtt_connect and mqtt_disconnect notify when a device's client connects and disconnects", async () => {
    const { accountId, token } = await sluice.server.identity.createAccount("events");
    const dev = await sluice.device({ accountId });
    const r = resources(token);
    const device = await r.devices.info(dev.deviceId);
    for (const kind of ["mqtt_connect", "mqtt_disconnect"]) {
      await r.actions.create({
        name: kind, type: kind as never, trigger: [{ device: dev.deviceId } as never],
        action: { type: "notification", subject: "$EVENT$", message: "$DEVICE_NAME$ $EVENT$ $REASON$" } as never,
      });
    }
    const client = await sluice.connect({ username: "Token", password: dev.token, clientId: "ev-1" });
    const connected = await until(async () => (await r.notifications.list()).find((n) => n.title === "mqtt_connect"));
    assert.equal(connected.message.trim(), `${device.name} mqtt_connect`);
    await client.endAsync();
    const disconnected = await until(async () => (await r.notifications.list()).find((n) => n.title === "mqtt_disconnect"));
    assert.match(disconnected.message, new RegExp(`^${device.name} mqtt_disconnect client disconnected`));
    const info = await r.actions.list({ fields: ["name", "last_triggered"] as never });
    assert.ok(info.every((a) => a.last_triggered !== "never"), "both actions recorded their run");
  });

  test("rows select devices by tag; other devices and inactive actions fire nothing; a webhook gets the event", async () => {
    const hook = await startWebhookSink();
    after(() => hook.close());
    const { accountId, token } = await sluice.server.identity.createAccount("tags");
    const tagged = await sluice.device({ accountId });
    const other = await sluice.device({ accountId });
    const r = resources(token);
    await r.devices.edit(tagged.deviceId, { tags: [{ key: "fleet", value: "north" }] });
    await r.actions.create({
      name: "gone", type: "mqtt_disconnect" as never, trigger: [{ tag_key: "fleet", tag_value: "north" } as never],
      action: { type: "post", url: `${hook.url}/gone`, headers: { "X-Event": "$EVENT$" } } as never,
    });
    const { action: inactive } = await r.actions.create({
      name: "off", type: "mqtt_connect" as never, trigger: [{ tag_key: "fleet", tag_value: "north" } as never],
      action: { type: "post", url: `${hook.url}/off` } as never,
    });
    await r.actions.edit(inactive, { active: false });

    const a = await sluice.connect({ username: "Token", password: other.token });
    await a.endAsync();
    const b = await sluice.connect({ username: "Token", password: tagged.token, clientId: "north-1" });
    b.stream.destroy(); // an unclean end: no DISCONNECT packet
    const [req] = await hook.waitFor(1);
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(hook.requests.length, 1, JSON.stringify(hook.requests.map((q) => q.path)));
    assert.equal(req!.path, "/gone");
    assert.equal(req!.headers["x-event"], "mqtt_disconnect");
    const body = req!.body as { device: { id: string }; event: { kind: string; reason: string }; action: { trigger: string }; data: unknown[] };
    assert.equal(body.device.id, tagged.deviceId);
    assert.equal(body.event.kind, "mqtt_disconnect");
    assert.ok(body.event.reason.length > 0);
    assert.equal(body.action.trigger, "mqtt_disconnect");
    assert.deepEqual(body.data, []);
  });

  test("trigger rows need a device or a tag", async () => {
    await assert.rejects(
      resources().actions.create({ name: "x", type: "mqtt_connect" as never, trigger: [{} as never], action: { type: "notification", message: "m" } as never }),
      /trigger\[0\] needs a device or a tag_key and tag_value/,
    );
  });

  test("the action's run shows in the device's inspector", async () => {
    const dev = await sluice.device();
    await resources().actions.create({
      name: "hello", type: "mqtt_connect" as never, trigger: [{ device: dev.deviceId } as never],
      action: { type: "notification", message: "hi $DEVICE_ID$" } as never,
    });
    await sluice.connect({ username: "Token", password: dev.token });
    const event = await until(async () => {
      const res = await fetch(`${api}/device/${dev.deviceId}/inspector?limit=50`, { headers: { token: sluice.adminToken } });
      return ((await res.json()) as { result: { kind: string; summary: string }[] }).result.find((e) => e.kind === "action");
    });
    assert.match(event.summary, /^hello \(mqtt_connect\): notification "hello"/);
  });
});
