import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { WidgetPublishResultJson } from "../../src/http/api_types.js";
import { nextMessages, noMessage, startSluice, type TestSluice } from "../helpers/sluice.js";

// Issue 13: a control widget (push button, switch, slider) publishes its configured MQTT
// downlink through POST /dashboard/:id/widget/:widget/publish, to the device it reads.
let sluice: TestSluice;

before(async () => {
  sluice = await startSluice();
});
after(() => sluice.close());

interface Answer<T> {
  status: number;
  body: { status: boolean; result: T; message?: string };
}

async function call<T = unknown>(method: string, path: string, body?: unknown, token = sluice.adminToken): Promise<Answer<T>> {
  const res = await fetch(`${sluice.api}${path}`, {
    method,
    headers: { token, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Answer<T>["body"] };
}

async function dashboardWith(widget: Record<string, unknown>, dashboard: Record<string, unknown> = {}, token = sluice.adminToken): Promise<{ dashboard: string; widget: string }> {
  const d = await call<{ dashboard: string }>("POST", "/dashboard", { label: "controls", ...dashboard }, token);
  assert.equal(d.status, 200, d.body.message);
  const w = await call<{ widget: string }>("POST", `/dashboard/${d.body.result.dashboard}/widget`, { label: "c", type: "push_button", ...widget }, token);
  assert.equal(w.status, 200, w.body.message);
  return { dashboard: d.body.result.dashboard, widget: w.body.result.widget };
}

const publish = (d: { dashboard: string; widget: string }, body: unknown, token?: string) =>
  call<WidgetPublishResultJson>("POST", `/dashboard/${d.dashboard}/widget/${d.widget}/publish`, body, token);

const downlink = (topic: string, payload = "{{value}}", more: Record<string, unknown> = {}) => ({ downlink: { topic, payload, qos: 1, retain: false, ...more } });

describe("POST /dashboard/:id/widget/:widget/publish", () => {
  test("the device the widget reads receives the downlink, {{value}} and {{device}} substituted", async () => {
    const dev = await sluice.device();
    const client = await sluice.connect({ username: "Token", password: dev.token });
    await client.subscribeAsync("cmd/#", { qos: 1 });
    const d = await dashboardWith({ data: [{ origin: dev.deviceId, variables: ["relay"] }], display: downlink("cmd/{{device}}/relay", '{"on":{{value}},"by":"{{device}}"}') });
    const got = nextMessages(client, 1);
    const answer = await publish(d, { value: true });
    assert.equal(answer.status, 200, answer.body.message);
    assert.deepEqual(answer.body.result, { topic: `cmd/${dev.deviceId}/relay`, bytes: answer.body.result.bytes, device: dev.deviceId });
    const [message] = await got;
    assert.equal(message!.topic, `cmd/${dev.deviceId}/relay`);
    assert.deepEqual(JSON.parse(message!.payload), { on: true, by: dev.deviceId });
    assert.equal(message!.packet.qos, 1);
    // A number and a string are written as they are (a string without quotes).
    const more = nextMessages(client, 2);
    assert.equal((await publish(d, { value: 42.5 })).status, 200);
    const d2 = await dashboardWith({ data: [{ origin: dev.deviceId }], display: downlink("cmd/mode", "mode={{value}}") });
    assert.equal((await publish(d2, { value: "eco" })).status, 200);
    const [n, s] = await more;
    assert.equal(n!.payload, '{"on":42.5,"by":"' + dev.deviceId + '"}');
    assert.deepEqual([s!.topic, s!.payload], ["cmd/mode", "mode=eco"]);
  });

  test("only the widget's device gets it, not another device subscribed to the same topic", async () => {
    const target = await sluice.device();
    const other = await sluice.device();
    const a = await sluice.connect({ username: "Token", password: target.token });
    const b = await sluice.connect({ username: "Token", password: other.token });
    await a.subscribeAsync("only/me");
    await b.subscribeAsync("only/me");
    const d = await dashboardWith({ data: [{ origin: target.deviceId }], display: downlink("only/me", "x") });
    const got = nextMessages(a, 1);
    assert.equal((await publish(d, { value: 1 })).status, 200);
    assert.equal((await got)[0]!.payload, "x");
    assert.equal(await noMessage(b, 300), true);
  });

  test("a blueprint widget publishes to the picked device, which must be the account's and fit the slot", async () => {
    const fits = await sluice.device();
    const misfit = await sluice.device();
    await call("PUT", `/device/${fits.deviceId}`, { tags: [{ key: "kind", value: "pump" }] });
    await call("PUT", `/device/${misfit.deviceId}`, { tags: [{ key: "kind", value: "fan" }] });
    const d = await dashboardWith(
      { data: [{ origin: "slot1", variables: ["state"] }], display: downlink("pump/{{device}}/set") },
      { type: "blueprint", blueprint_devices: [{ id: "slot1", name: "Pump", conditions: [{ key: "kind", value: "pump" }] }] },
    );
    const client = await sluice.connect({ username: "Token", password: fits.token });
    await client.subscribeAsync("pump/#");
    const got = nextMessages(client, 1);
    const answer = await publish(d, { value: "on", device: fits.deviceId });
    assert.equal(answer.status, 200, answer.body.message);
    assert.equal((await got)[0]!.topic, `pump/${fits.deviceId}/set`);

    const refused = await publish(d, { value: "on", device: misfit.deviceId });
    assert.equal(refused.status, 400);
    assert.match(refused.body.message ?? "", /does not fit the blueprint device "Pump"/);
    const otherAccount = await sluice.account();
    const foreign = await sluice.device({ accountId: otherAccount });
    assert.equal((await publish(d, { value: "on", device: foreign.deviceId })).status, 404);
  });

  test("another account's dashboard or widget is not found; a public link's key is no token", async () => {
    const dev = await sluice.device();
    const d = await dashboardWith({ data: [{ origin: dev.deviceId }], display: downlink("x/y") });
    const otherAccount = await sluice.account();
    const otherToken = (await sluice.server.identity.issueAccountToken(otherAccount, { name: "t" })).token;
    const asOther = await publish(d, { value: 1 }, otherToken);
    assert.equal(asOther.status, 404);
    // The other account's own dashboard, with this account's widget id in the path: still 404.
    const theirs = await dashboardWith({ display: {} }, {}, otherToken);
    assert.equal((await publish({ dashboard: theirs.dashboard, widget: d.widget }, { value: 1 }, otherToken)).status, 404);
    assert.equal((await publish({ dashboard: d.dashboard, widget: theirs.widget }, { value: 1 })).status, 404);

    const key = (await call<{ token: string }>("GET", `/dashboard/${d.dashboard}/share/public`)).body.result.token;
    assert.equal((await publish(d, { value: 1 }, key)).status, 401);
    const viaShare = await fetch(`${sluice.api}/share/${key}/widget/${d.widget}/publish`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"value":1}' });
    assert.equal(viaShare.status, 404);
  });

  test("hostile downlinks and values are refused with 400", async () => {
    const dev = await sluice.device();
    const client = await sluice.connect({ username: "Token", password: dev.token });
    await client.subscribeAsync("#");
    const source = [{ origin: dev.deviceId }];
    const refused = async (display: unknown, body: unknown, pattern: RegExp, data: unknown = source) => {
      const d = await dashboardWith({ data, display });
      const answer = await publish(d, body);
      assert.equal(answer.status, 400, `${JSON.stringify(display).slice(0, 80)} ${JSON.stringify(body).slice(0, 80)}: ${answer.body.message}`);
      assert.match(answer.body.message ?? "", pattern);
    };
    await refused({}, { value: 1 }, /no MQTT downlink/);
    await refused({ downlink: "cmd" }, { value: 1 }, /display\.downlink must be an object/);
    await refused(downlink("cmd/+/set"), { value: 1 }, /not a valid topic name/);
    await refused(downlink("cmd/#"), { value: 1 }, /not a valid topic name/);
    // A wildcard arriving through the value is refused as well.
    await refused(downlink("cmd/{{value}}"), { value: "#" }, /not a valid topic name/);
    await refused(downlink("$SYS/x"), { value: 1 }, /must not start with \$/);
    await refused(downlink("t/" + "a".repeat(1100)), { value: 1 }, /topic would be \d+ bytes/);
    await refused(downlink("t/{{value}}{{value}}"), { value: "v".repeat(600) }, /topic would be \d+ bytes/);
    // 300 × {{value}} is 2.7 KB in the widget, 300 KB once a 1 000-byte value is in it.
    await refused(downlink("big", "{{value}}".repeat(300)), { value: "v".repeat(1000) }, /payload would be \d+ bytes once substituted, over 262144/);
    await refused(downlink("t", "p", { qos: 3 }), { value: 1 }, /qos must be 0, 1 or 2/);
    await refused(downlink("t", "p", { retain: "yes" }), { value: 1 }, /retain must be true or false/);
    await refused(downlink("t"), { value: { on: true } }, /value is required: a string, a number or a boolean/);
    await refused(downlink("t"), { value: null }, /value is required/);
    await refused(downlink("t"), { value: [1] }, /value is required/);
    await refused(downlink("t"), {}, /value/);
    await refused(downlink("t"), { value: "v".repeat(1025) }, /value is longer than 1024 bytes/);
    await refused(downlink("t"), { value: 1 }, /reads no device/, []);
    await refused(downlink("t"), { value: 1, device: "someone-else" }, /only for a widget of a blueprint device/);
    assert.equal(await noMessage(client, 300), true, "nothing refused was published");
  });

  test("the API reference documents the route and its body", async () => {
    const doc = (await (await fetch(`${sluice.api}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { tags?: string[]; requestBody?: { content: Record<string, { schema: { required?: string[]; properties?: Record<string, unknown> } }> } }>> };
    const op = doc.paths["/dashboard/{id}/widget/{widget}/publish"]?.post;
    assert.ok(op, "POST /dashboard/{id}/widget/{widget}/publish is in the document");
    assert.deepEqual(op.tags, ["Dashboards"]);
    const schema = op.requestBody!.content["application/json"]!.schema;
    assert.deepEqual(schema.required, ["value"]);
    assert.deepEqual(Object.keys(schema.properties ?? {}), ["value", "device"]);
  });

  test("counts against the plan's data rate like POST /data: 429 past it", async () => {
    const limited = await startSluice({ plans: { small: { http: { data: 3 } } }, defaultPlan: "small" });
    try {
      const created = await fetch(`${limited.api}/admin/account`, { method: "POST", headers: { token: limited.adminToken, "content-type": "application/json" }, body: JSON.stringify({ name: "small", plan: "small" }) });
      const { account_id: accountId, token } = ((await created.json()) as { result: { account_id: string; token: string } }).result;
      const dev = await limited.device({ accountId });
      const at = async <T>(method: string, path: string, body: unknown) => {
        const res = await fetch(`${limited.api}${path}`, { method, headers: { token, "content-type": "application/json" }, body: JSON.stringify(body) });
        return { status: res.status, body: (await res.json()) as { result: T; message?: string } };
      };
      const dashboard = (await at<{ dashboard: string }>("POST", "/dashboard", { label: "d" })).body.result.dashboard;
      const widget = (await at<{ widget: string }>("POST", `/dashboard/${dashboard}/widget`, { label: "b", type: "push_button", data: [{ origin: dev.deviceId }], display: downlink("t/x") })).body.result.widget;
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await at("POST", `/dashboard/${dashboard}/widget/${widget}/publish`, { value: i })).status);
      // The plan's `http.data` allows 3 a minute: the fourth publish is refused, as a fourth POST /data would be.
      const refused = await at("POST", `/dashboard/${dashboard}/widget/${widget}/publish`, { value: 9 });
      assert.deepEqual(statuses, [200, 200, 200]);
      assert.equal(refused.status, 429);
      assert.match(refused.body.message ?? "", /^Too many requests/);
    } finally {
      await limited.close();
    }
  });
});
