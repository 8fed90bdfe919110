import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startDataServer, type DataServer, type SdkDevice } from "../helpers/data_server.js";

// The device data API through the official SDK's Device class over real HTTP: if these pass,
// device code written for TagoIO reads and writes its data against Sluice unchanged.

let server: DataServer;
before(async () => {
  server = await startDataServer();
});
after(() => server.close());

/** A fresh device and its SDK handle. */
async function freshDevice(): Promise<{ deviceId: string; token: string; api: SdkDevice }> {
  const { deviceId, token } = await server.device();
  return { deviceId, token, api: server.deviceApi(token) };
}

type Loose = Record<string, unknown>;
// getData's overloads each narrow the result type; the tests read fields generically.
const get = (api: SdkDevice, query: Loose) => api.getData(query as never) as unknown as Promise<Loose[]>;

async function raw(method: string, path: string, options: { token?: string; body?: unknown; rawBody?: string } = {}) {
  const headers: Record<string, string> = {};
  if (options.token) headers.token = options.token;
  if (options.body !== undefined || options.rawBody !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers,
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  return { status: response.status, body: (await response.json()) as { status: boolean; result?: unknown; message?: string } };
}

const rejectsWith = (message: RegExp) => (err: unknown) => {
  // The SDK rejects with the server's `message` string, not an Error.
  assert.equal(typeof err, "string", `expected the server's message, got ${String(err)}`);
  assert.match(err as string, message);
  return true;
};

describe("POST /data (sendData)", () => {
  test("one record or a list: 'N Data Added'", async () => {
    const { api } = await freshDevice();
    assert.equal(await api.sendData({ variable: "temperature", value: 21, unit: "C" }), "1 Data Added");
    assert.equal(await api.sendData([{ variable: "a", value: 1 }, { variable: "b", value: 2 }, { variable: "c", value: 3 }]), "3 Data Added");
  });

  test("records come back in TagoIO's Data shape, dates as Date objects", async () => {
    const { deviceId, api } = await freshDevice();
    await api.sendData({
      variable: "Position", value: "ok", unit: "pt", group: "g1", time: "2015-11-03 13:44:33",
      location: { lat: 42.2974279, lng: -85.628292 }, metadata: { color: "red" },
    });
    const [item] = await get(api, { variables: "position" });
    assert.ok(item);
    assert.match(item.id as string, /^[0-9a-f]{24}$/);
    assert.equal(item.device, deviceId);
    assert.equal(item.variable, "position");
    assert.equal(item.value, "ok");
    assert.equal(item.unit, "pt");
    assert.equal(item.group, "g1");
    assert.deepEqual(item.location, { type: "Point", coordinates: [-85.628292, 42.2974279] });
    assert.deepEqual(item.metadata, { color: "red" });
    assert.ok(item.time instanceof Date);
    assert.equal((item.time as Date).toISOString(), "2015-11-03T13:44:33.000Z");
    assert.ok(item.created_at instanceof Date);
    assert.ok(!("origin" in item), "the deprecated aliases only come with details");
    const [detailed] = await get(api, { variables: "position", details: true });
    assert.equal(detailed!.origin, deviceId);
    assert.equal(detailed!.serie, "g1");
  });

  test("a record without value, unit, location or metadata leaves those keys out", async () => {
    const { api } = await freshDevice();
    await api.sendData({ variable: "ping" });
    const [item] = await get(api, {});
    assert.deepEqual(Object.keys(item!).sort(), ["created_at", "device", "group", "id", "time", "variable"]);
  });
});

describe("GET /data (getData) query kinds", () => {
  let api: SdkDevice;
  const T = (minutes: number) => new Date(Date.parse("2024-03-01T00:00:00Z") + minutes * 60_000).toISOString();
  before(async () => {
    ({ api } = await freshDevice());
    await api.sendData([
      { variable: "temp", value: 10, time: T(0), location: { lat: 1, lng: 1 } },
      { variable: "temp", value: 20, time: T(30) },
      { variable: "temp", value: 30, time: T(60) },
      { variable: "temp", time: T(90), location: { lat: 2, lng: 2 } },
      { variable: "hum", value: 55, time: T(10) },
    ]);
    // Stored last, stamped first.
    await api.sendData({ variable: "temp", value: 5, time: T(-60) });
  });
  const values = (list: Loose[]) => list.map((d) => d.value);

  test("default list, qty, skip, ordination", async () => {
    assert.deepEqual(values(await get(api, { variables: ["temp"] })), [undefined, 30, 20, 10, 5]);
    assert.deepEqual(values(await get(api, { variables: ["temp"], qty: 2, skip: 1 })), [30, 20]);
    assert.deepEqual(values(await get(api, { variables: ["temp"], qty: 2, ordination: "ascending" })), [5, 10]);
    assert.deepEqual(values(await get(api, { query: "default", variables: ["temp", "hum"], qty: 1 })), [undefined, 55]);
  });

  test("last_* and first_*", async () => {
    assert.deepEqual(values(await get(api, { query: "last_item", variables: ["temp"] })), [undefined]);
    assert.deepEqual(values(await get(api, { query: "last_value", variables: ["temp"] })), [30]);
    assert.deepEqual((await get(api, { query: "last_location", variables: ["temp"] }))[0]!.location, { type: "Point", coordinates: [2, 2] });
    assert.deepEqual(values(await get(api, { query: "last_insert", variables: ["temp"] })), [5]);
    assert.deepEqual(values(await get(api, { query: "first_item", variables: ["temp"] })), [5]);
    assert.deepEqual(values(await get(api, { query: "first_value", variables: ["hum"] })), [55]);
    assert.deepEqual((await get(api, { query: "first_location", variables: ["temp"] }))[0]!.location, { type: "Point", coordinates: [1, 1] });
    assert.deepEqual(values(await get(api, { query: "first_insert", variables: ["temp"] })), [10]);
    assert.deepEqual(values(await get(api, { query: "last_value", variables: ["temp", "hum"] })), [30, 55]);
  });

  test("min, max: the record; count, avg, sum: a number the SDK wraps as [{ time, value }]", async () => {
    assert.deepEqual(values(await get(api, { query: "min", variables: ["temp"] })), [5]);
    assert.deepEqual(values(await get(api, { query: "max", variables: ["temp"] })), [30]);
    const [count] = await get(api, { query: "count", variables: ["temp"] });
    assert.equal(count!.value, 5);
    assert.ok(count!.time instanceof Date);
    assert.equal((await get(api, { query: "count" }))[0]!.value, 6);
    assert.equal((await get(api, { query: "avg", variables: ["temp"], start_date: T(-120) }))[0]!.value, 16.25);
    assert.equal((await get(api, { query: "sum", variables: ["temp"], start_date: new Date(T(20)) }))[0]!.value, 50);
    assert.deepEqual(await get(api, { query: "avg", variables: ["none"], start_date: "1 year" }), [], "no data: an empty list");
  });

  test("aggregate: one record per interval, time at its start", async () => {
    const hours = await get(api, { query: "aggregate", interval: "hour", function: "avg", variables: ["temp"], ordination: "ascending" });
    assert.deepEqual(hours.map((h) => [(h.time as Date).toISOString(), h.value, h.variable]), [
      ["2024-02-29T23:00:00.000Z", 5, "temp"],
      ["2024-03-01T00:00:00.000Z", 15, "temp"],
      ["2024-03-01T01:00:00.000Z", 30, "temp"],
    ]);
    const [day] = await get(api, { query: "aggregate", interval: "day", function: "max", variables: ["temp"], start_date: T(0) });
    assert.equal(day!.value, 30);
  });

  test("conditional: value and function from start_date", async () => {
    assert.deepEqual(values(await get(api, { query: "conditional", value: 15, function: "gt", variables: ["temp"], start_date: T(-120), ordination: "ascending" })), [20, 30]);
    assert.deepEqual(values(await get(api, { query: "conditional", value: 20, function: "lte", variables: ["temp"], start_date: T(0), ordination: "ascending" })), [10, 20]);
  });

  test("filters: groups, values, date ranges (ISO, Date, relative)", async () => {
    assert.deepEqual(values(await get(api, { variables: ["temp"], values: [20, 30] })), [30, 20]);
    assert.deepEqual(values(await get(api, { variables: ["temp"], start_date: new Date(T(0)), end_date: T(30) })), [20, 10]);
    assert.deepEqual(await get(api, { variables: ["temp"], start_date: "1 day" }), [], "relative: the last day holds none of 2024's records");
  });

  test("a query the server refuses rejects with its message", async () => {
    await assert.rejects(get(api, { query: "avg", variables: ["temp"] }), rejectsWith(/query=avg needs start_date/));
    await assert.rejects(get(api, { query: "aggregate", interval: "week", function: "avg" }), rejectsWith(/interval must be one of/));
  });
});

describe("PUT /data (editData) and DELETE /data (deleteData)", () => {
  test("edits by id, partially", async () => {
    const { api } = await freshDevice();
    await api.sendData([{ variable: "t", value: 1, unit: "C" }, { variable: "t", value: 2 }]);
    const [newest, older] = await get(api, { variables: ["t"] });
    assert.equal(await api.editData({ id: older!.id as string, value: 100, location: { lat: 5, lng: 6 } }), "1 item(s) updated");
    const [edited] = await get(api, { ids: [older!.id as string] });
    assert.equal(edited!.value, 100);
    assert.equal(edited!.unit, "C");
    assert.deepEqual(edited!.location, { type: "Point", coordinates: [6, 5] });
    assert.equal(await api.editData([{ id: newest!.id as string, unit: "F" }, { id: "0".repeat(24), value: 1 }]), "1 item(s) updated");
  });

  test("deletes by ids, by filter, and the SDK's default (last_item)", async () => {
    const { api } = await freshDevice();
    await api.sendData(Array.from({ length: 6 }, (_, i) => ({ variable: "t", value: i, time: new Date(Date.UTC(2024, 0, 1, 0, i)) })));
    const list = await get(api, { variables: ["t"], ordination: "ascending" });
    assert.equal(await api.deleteData({ ids: [list[0]!.id as string, list[1]!.id as string] }), "2 Data Removed");
    assert.equal(await api.deleteData(), "1 Data Removed");
    assert.deepEqual((await get(api, { variables: ["t"] })).map((d) => d.value), [4, 3, 2]);
    assert.equal(await api.deleteData({ variables: "t", values: [3] } as never), "1 Data Removed");
    assert.deepEqual((await get(api, { query: "last_value", variables: ["t"] })).map((d) => d.value), [4]);
  });
});

describe("GET /info and device params", () => {
  test("info is the device's own DeviceInfo", async () => {
    const { deviceId, api } = await freshDevice();
    const info = await api.info();
    assert.equal(info.id, deviceId);
    assert.equal(info.name, "sensor");
    assert.deepEqual(info.bucket, { id: deviceId, name: "sensor" });
    assert.ok(info.created_at instanceof Date);
  });

  test("params set by the account, read and acknowledged by the device", async () => {
    const { deviceId, api } = await freshDevice();
    const resources = server.resources();
    assert.equal(await resources.devices.paramSet(deviceId, [{ key: "interval", value: "60", sent: false }, { key: "mode", value: "eco", sent: false }]), "Params Successfully Updated");
    const all = await api.getParameters("all");
    assert.deepEqual(all.map((p) => [p.key, p.value, p.sent]), [["interval", "60", false], ["mode", "eco", false]]);
    assert.match(all[0]!.id, /^[0-9a-f]{24}$/);
    assert.equal(await api.setParameterAsRead(all[0]!.id), "Params Successfully Updated");
    assert.deepEqual((await api.getParameters("onlyUnRead")).map((p) => p.key), ["mode"]);
    assert.deepEqual((await api.getParameters("onlyRead")).map((p) => p.key), ["interval"]);
    // Re-sending a key changes that param (and makes it unread again) instead of adding a twin.
    await resources.devices.paramSet(deviceId, { key: "interval", value: "30" });
    const list = await resources.devices.paramList(deviceId);
    assert.deepEqual(list.map((p) => [p.key, p.value, p.sent]), [["interval", "30", false], ["mode", "eco", false]]);
    await resources.devices.paramSet(deviceId, { value: "sport" }, list[1]!.id);
    assert.equal((await resources.devices.paramList(deviceId, false)).find((p) => p.key === "mode")?.value, "sport");
    assert.equal(await resources.devices.paramRemove(deviceId, list[1]!.id), "Successfully Removed");
    assert.deepEqual((await api.getParameters("all")).map((p) => p.key), ["interval"]);
    await assert.rejects(api.setParameterAsRead("f".repeat(24)), rejectsWith(/not found/));
  });

  test("params follow the token's permission: read tokens only read them, write tokens only acknowledge", async () => {
    const { deviceId } = await freshDevice();
    const accountId = (await server.identity.authenticateAccount(server.accountToken))!;
    await server.resources().devices.paramSet(deviceId, { key: "interval", value: "60", sent: false });
    const [param] = await server.resources().devices.paramList(deviceId);
    const { token: reader } = await server.identity.createToken(accountId, deviceId, { permission: "read" });
    const { token: writer } = await server.identity.createToken(accountId, deviceId, { permission: "write" });
    const { token: full } = await server.identity.createToken(accountId, deviceId, { permission: "full" });
    assert.equal((await raw("GET", "/device/params", { token: reader })).status, 200);
    const readDenied = await raw("GET", "/device/params", { token: writer });
    assert.equal(readDenied.status, 403);
    assert.match(readDenied.body.message!, /may not read params \(its permission is write\)/);
    const writeDenied = await raw("PUT", `/device/params/${param!.id}`, { token: reader, body: { sent: true } });
    assert.equal(writeDenied.status, 403);
    assert.match(writeDenied.body.message!, /may not change params \(its permission is read\)/);
    assert.equal((await server.resources().devices.paramList(deviceId))[0]!.sent, false, "the refused PUT changed nothing");
    assert.equal((await raw("PUT", `/device/params/${param!.id}`, { token: writer, body: { sent: true } })).status, 200);
    assert.equal((await raw("GET", "/device/params", { token: full })).status, 200);
    assert.equal((await raw("PUT", `/device/params/${param!.id}`, { token: full, body: { sent: false } })).status, 200);
  });

  test("data_amount counts the device's records", async () => {
    const { deviceId, api } = await freshDevice();
    await api.sendData([{ variable: "a", value: 1 }, { variable: "b", value: 2 }]);
    assert.equal(await server.resources().devices.amount(deviceId), 2);
  });

  test("another account's device is out of reach of account routes", async () => {
    const { deviceId } = await freshDevice();
    const other = await server.identity.createAccount("other");
    const { status } = await raw("GET", `/device/${deviceId}/params`, { token: other.token });
    assert.equal(status, 404);
    assert.equal((await raw("GET", `/device/${deviceId}/data_amount`, { token: other.token })).status, 404);
  });
});

describe("errors over raw HTTP", () => {
  test("a bad record: 400 naming the record and the field, and nothing stored", async () => {
    const { token, api } = await freshDevice();
    const { status, body } = await raw("POST", "/data", { token, body: [{ variable: "ok", value: 1 }, { variable: "has space", value: 2 }] });
    assert.equal(status, 400);
    assert.deepEqual(body, { status: false, message: "record 1: variable must not contain spaces" });
    assert.deepEqual(await get(api, {}), []);
    await assert.rejects(api.sendData({ variable: "temp", value: 1, location: { lat: 100, lng: 0 } }), rejectsWith(/^record 0: location latitude/));
  });

  test("a body over 200 kB: 413", async () => {
    const { token } = await freshDevice();
    const big = JSON.stringify(Array.from({ length: 2100 }, (_, i) => ({ variable: `v${i}`, value: "x".repeat(90) })));
    assert.ok(big.length > 200 * 1024);
    const { status, body } = await raw("POST", "/data", { token, rawBody: big });
    assert.equal(status, 413);
    assert.equal(body.status, false);
    assert.match(body.message!, /204800 bytes/);
  });

  test("a wrong or missing token: 401", async () => {
    assert.equal((await raw("GET", "/data", { token: "00000000-0000-0000-0000-000000000000" })).status, 401);
    assert.equal((await raw("POST", "/data", { body: { variable: "x" } })).status, 401);
    assert.equal((await raw("GET", "/data", { token: server.accountToken })).status, 401, "an account token is not a device token");
  });

  test("token permissions: read tokens cannot write, write tokens cannot read", async () => {
    const { deviceId } = await freshDevice();
    const accountId = (await server.identity.authenticateAccount(server.accountToken))!;
    const { token: reader } = await server.identity.createToken(accountId, deviceId, { permission: "read" });
    const { token: writer } = await server.identity.createToken(accountId, deviceId, { permission: "write" });
    assert.equal((await raw("POST", "/data", { token: writer, body: { variable: "x", value: 1 } })).status, 200);
    assert.equal((await raw("GET", "/data", { token: reader })).status, 200);
    const denied = await raw("POST", "/data", { token: reader, body: { variable: "x", value: 1 } });
    assert.equal(denied.status, 403);
    assert.match(denied.body.message!, /permission is read/);
    assert.equal((await raw("DELETE", "/data", { token: reader })).status, 403);
    assert.equal((await raw("GET", "/data", { token: writer })).status, 403);
  });

  test("malformed input elsewhere: edits, queries, JSON", async () => {
    const { token } = await freshDevice();
    assert.equal((await raw("PUT", "/data", { token, body: { value: 1 } })).body.message, "record 0: id is required (the id of the record to edit)");
    assert.equal((await raw("GET", "/data?qty=0", { token })).status, 400);
    assert.equal((await raw("DELETE", "/data?query=count", { token })).status, 400);
    const bad = await raw("POST", "/data", { token, rawBody: "{not json" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.message, "Body is not valid JSON");
  });
});
