import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import sdk from "@tago-io/sdk";
import { defaultConfig } from "../../src/config/schema.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";
import { openStream } from "../helpers/sse_client.js";

// In-app notifications through the SDK's Resources.notifications, the live `notification`
// channel of GET /events, the per-account bound, and the `notification` action.
const { Resources } = sdk;

const KEEP = 6;
let sluice: TestSluice;
let api: string;
before(async () => {
  sluice = await startSluice({ notifications: { ...defaultConfig.notifications, maxPerAccount: KEEP } });
  api = sluice.api;
});
after(() => sluice.close());

function resources(token = sluice.adminToken) {
  return new Resources({ token, region: { api, sse: `${api}/events` } });
}

/** A fresh account with its token, so each test sees only its own notifications. */
async function freshAccount() {
  const { token } = await sluice.server.identity.createAccount("n");
  return resources(token);
}


describe("notifications API", () => {
  test("create, then list: unread first, then newest; read state and SDK fields round-trip", async () => {
    const r = await freshAccount();
    const first = await r.notifications.create({ title: "one", message: "first" });
    const second = await r.notifications.create({ title: "two", message: "second", icon: { svg_url: "https://x/i.svg" } });
    await r.notifications.create({ title: "three", message: "already read", read: true });
    const list = await r.notifications.list();
    assert.deepEqual(list.map((n) => n.title), ["two", "one", "three"]);
    const two = list[0]!;
    assert.equal(two.id, second.id);
    assert.equal(two.read, false);
    assert.equal(two.message, "second");
    assert.deepEqual(two.icon, { svg_url: "https://x/i.svg" });
    assert.deepEqual(two.buttons, []);
    assert.ok(two.created_at instanceof Date && !Number.isNaN(two.created_at.getTime()), "the SDK parses created_at");

    await r.notifications.markAsRead(first.id);
    assert.deepEqual((await r.notifications.list()).map((n) => [n.title, n.read]), [["two", false], ["three", true], ["one", true]]);
    await r.notifications.markAsUnread([first.id]);
    assert.deepEqual((await r.notifications.list({ filter: { read: false } })).map((n) => n.title), ["two", "one"]);
  });

  test("mark several read, mark all read, remove; paging and orderBy", async () => {
    const r = await freshAccount();
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push((await r.notifications.create({ title: `n${i}`, message: `m${i}` })).id);
    await r.notifications.markAsRead([ids[0]!, ids[1]!]);
    assert.deepEqual((await r.notifications.list()).map((n) => n.title), ["n5", "n4", "n3", "n2", "n1"]);
    assert.deepEqual((await r.notifications.list({ amount: 2, page: 2 })).map((n) => n.title), ["n3", "n2"]);
    assert.deepEqual((await r.notifications.list({ orderBy: ["created_at", "asc"] as never, amount: 2 })).map((n) => n.title), ["n1", "n2"]);
    assert.equal((await r.notifications.list({ filter: { read: false } })).length, 3);

    await r.notifications.markAllAsRead();
    assert.equal((await r.notifications.list({ filter: { read: false } })).length, 0);

    assert.equal(await r.notifications.remove(ids[2]!), "Successfully Removed");
    assert.deepEqual((await r.notifications.list()).map((n) => n.title), ["n5", "n4", "n2", "n1"]);
    await assert.rejects(r.notifications.remove(ids[2]!), /not found/i);
  });

  test("an account keeps only the newest notifications past its bound, read or not", async () => {
    const r = await freshAccount();
    for (let i = 1; i <= KEEP + 3; i++) await r.notifications.create({ title: `t${i}`, message: "m", read: i === KEEP + 3 });
    const titles = (await r.notifications.list({ amount: 100 })).map((n) => n.title);
    assert.equal(titles.length, KEEP);
    assert.deepEqual(titles, ["t8", "t7", "t6", "t5", "t4", "t9"]);
  });

  test("accounts are isolated and bad input is refused by field", async () => {
    const a = await freshAccount();
    const b = await freshAccount();
    const { id } = await a.notifications.create({ title: "mine", message: "m" });
    assert.deepEqual(await b.notifications.list(), []);
    await assert.rejects(b.notifications.remove(id), /not found/i);
    await b.notifications.markAsRead(id);
    assert.equal((await a.notifications.list())[0]!.read, false, "another account cannot mark it");
    await assert.rejects(a.notifications.create({ title: "", message: "m" }), /title is required/);
    await assert.rejects(a.notifications.create({ title: "t" } as never), /message is required/);
  });

  test("a new notification arrives live on GET /events?channels=notification", async () => {
    const { token } = await sluice.server.identity.createAccount("live");
    const stream = await openStream(`${api}/events?channels=notification&token=${token}`);
    after(() => stream.close());
    assert.equal(stream.status, 200);
    const { id } = await resources(token).notifications.create({ title: "live one", message: "now" });
    const event = await stream.next(3000);
    const data = JSON.parse(event.data) as { channel: string; payload: { id: string; title: string; message: string; read: boolean } };
    assert.equal(data.channel, "notification");
    assert.equal(data.payload.id, id);
    assert.equal(data.payload.title, "live one");
    assert.equal(data.payload.read, false);
  });
});

describe("notification action", () => {
  test("an mqtt_topic action adds a templated notification when a device publishes", async () => {
    const dev = await sluice.device();
    const r = resources();
    const device = await r.devices.info(dev.deviceId);
    const stream = await openStream(`${api}/events?channels=notification&token=${sluice.adminToken}`);
    after(() => stream.close());
    await r.actions.create({
      name: "hot",
      type: "mqtt_topic",
      trigger: [{ device: dev.deviceId, topic: "alarm/#" } as never],
      action: { type: "notification", subject: "Alarm on $DEVICE_NAME$", message: "$VARIABLE$ = $VALUE$$UNIT$ on $TOPIC$" } as never,
    });
    const client = await sluice.connect({ username: "Token", password: dev.token });
    await client.publishAsync("alarm/temp", JSON.stringify({ variable: "temperature", value: 91, unit: "C" }), { qos: 1 });
    const found = await until(async () => (await r.notifications.list({ amount: 100 })).find((n) => n.title === `Alarm on ${device.name}`));
    assert.equal(found.message, "temperature = 91C on alarm/temp");
    const live = JSON.parse((await stream.next(3000)).data) as { payload: { id: string } };
    assert.equal(live.payload.id, found.id);
  });

  test("a notification action needs a message", async () => {
    await assert.rejects(
      resources().actions.create({ name: "x", type: "mqtt_topic", trigger: [{ device: "d", topic: "t" } as never], action: { type: "notification", subject: "s" } as never }),
      /action.message is required/,
    );
  });
});
