import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { DeviceConnectionEvent, DeviceLastInputEvent, DeviceListItemJson, StatusJson } from "../../src/http/api_types.js";
import { generateId } from "../../src/identity/tokens.js";
import { nameSortKey } from "../../src/store/name_key.js";
import { SqliteIdentityRepository } from "../../src/store/sqlite/identity.js";
import { startTestServer, type TestServer } from "../helpers/http_server.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { openStream } from "../helpers/sse_client.js";
import { until } from "../helpers/until.js";

// `GET /device` pages in SQL (store/sqlite/device_list_sql.ts): these pin that its filters,
// orders and pages say what the in-memory list said, plus last_input and connected.

type Item = Partial<DeviceListItemJson> & { id: string; name: string };

async function list(server: { url: string; token: string }, query: string): Promise<Item[]> {
  const response = await fetch(`${server.url}/device?${query}`, { headers: { token: server.token } });
  const body = (await response.json()) as { status: boolean; result: Item[]; message?: string };
  assert.equal(response.status, 200, body.message);
  return body.result;
}

describe("nameSortKey", () => {
  test("orders as people read names: case and accents aside, numbers by value", () => {
    const names = ["sensor 10", "Sensor 2", "sensor 1", "Émile", "emil", "gateway", "a-1", "a 1", "device 007", "device 7b", "device 8", "z"];
    const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });
    const byKey = [...names].sort((a, b) => (nameSortKey(a) < nameSortKey(b) ? -1 : nameSortKey(a) > nameSortKey(b) ? 1 : 0));
    assert.deepEqual(byKey, [...names].sort((a, b) => collator.compare(a, b) || (nameSortKey(a) < nameSortKey(b) ? -1 : 1)));
  });

  test("is bounded whatever the name's length", () => {
    assert.ok(nameSortKey("x".repeat(1_000_000)).length <= 200);
    assert.ok(nameSortKey("9".repeat(5000)).length <= 200);
  });
});

describe("GET /device in SQL", () => {
  let server: TestServer;
  let api: { url: string; token: string };
  const ids: Record<string, string> = {};
  before(async () => {
    server = await startTestServer();
    api = { url: server.url, token: server.accountToken };
    const devices: [string, { key: string; value: string }[], Record<string, unknown>][] = [
      ["sensor 10", [{ key: "site", value: "north" }, { key: "kind", value: "temp" }], {}],
      ["Sensor 2", [{ key: "site", value: "south" }], { description: "boiler room" }],
      ["gateway", [{ key: "site", value: "north" }], { active: false }],
      ["sensor 1", [], { description: "roof" }],
      ["pump", [{ key: "kind", value: "flow" }], {}],
      ["Émile Ünit", [], {}],
    ];
    for (const [name, tags, extra] of devices) {
      const { active, ...rest } = extra;
      const { device } = await server.identity.createDevice(server.accountId, { name, tags, active: active as boolean | undefined, extra: rest });
      ids[name] = device.id;
      await new Promise((resolve) => setTimeout(resolve, 3)); // distinct created_at
    }
    // A device of another account, named like the first, never listed here.
    const other = await server.otherAccount();
    await server.identity.createDevice(other.accountId, { name: "sensor 10" });
    await server.identity.setLastInputs([[ids["pump"]!, Date.parse("2024-01-01T00:00:00Z")], [ids["sensor 1"]!, Date.parse("2024-03-01T00:00:00Z")]]);
  });
  after(() => server.close());

  const names = (items: Item[]) => items.map((d) => d.name);

  test("orders by name, numbers by value, case and accents aside; desc reverses", async () => {
    assert.deepEqual(names(await list(api, "fields=name")), ["Émile Ünit", "gateway", "pump", "sensor 1", "Sensor 2", "sensor 10"]);
    assert.deepEqual(names(await list(api, "orderBy=name,desc")), ["sensor 10", "Sensor 2", "sensor 1", "pump", "gateway", "Émile Ünit"]);
  });

  test("orders by created_at both ways", async () => {
    assert.deepEqual(names(await list(api, "orderBy=created_at,asc")), ["sensor 10", "Sensor 2", "gateway", "sensor 1", "pump", "Émile Ünit"]);
    assert.deepEqual(names(await list(api, "orderBy=created_at,desc")), ["Émile Ünit", "pump", "sensor 1", "gateway", "Sensor 2", "sensor 10"]);
  });

  test("orders by last_input with devices never heard from last, either way", async () => {
    const asc = await list(api, "orderBy=last_input,asc&fields=last_input");
    assert.deepEqual(names(asc).slice(0, 2), ["pump", "sensor 1"]);
    assert.equal(asc[0]!.last_input, "2024-01-01T00:00:00.000Z");
    assert.deepEqual(asc.slice(2).map((d) => d.last_input), [null, null, null, null]);
    const desc = await list(api, "orderBy=last_input,desc");
    assert.deepEqual(names(desc).slice(0, 2), ["sensor 1", "pump"]);
  });

  test("last_input only rises", async () => {
    await server.identity.setLastInputs([[ids["pump"]!, Date.parse("2023-01-01T00:00:00Z")]]);
    const [pump] = await list(api, "filter[name]=pump&fields=last_input");
    assert.equal(pump!.last_input, "2024-01-01T00:00:00.000Z");
  });

  test("orders by active", async () => {
    assert.deepEqual(names(await list(api, "orderBy=active,asc")).slice(0, 1), ["gateway"]);
  });

  test("filters by name with wildcards, case-insensitively", async () => {
    assert.deepEqual(names(await list(api, "filter[name]=SENSOR*")), ["sensor 1", "Sensor 2", "sensor 10"]);
    assert.deepEqual(names(await list(api, "filter[name]=*e*a*")), ["gateway"]);
    assert.deepEqual(names(await list(api, "filter[name]=sensor")), []);
    assert.deepEqual(names(await list(api, "filter[name]=SENSOR 1")), ["sensor 1"]);
    assert.deepEqual(names(await list(api, "filter[name]=s*r 1*")), ["sensor 1", "sensor 10"]);
    assert.deepEqual(names(await list(api, "filter[name]=*1")), ["sensor 1"]);
    // Beyond ASCII, in JavaScript's lower case, as the in-memory lists matched.
    assert.deepEqual(names(await list(api, `filter[name]=${encodeURIComponent("*ünit*")}`)), ["Émile Ünit"]);
    assert.deepEqual(names(await list(api, `filter[name]=${encodeURIComponent("émile ü*")}`)), ["Émile Ünit"]);
  });

  test("rows from before the sort key and lower case existed get them when the store opens", async () => {
    server.store.db.prepare("UPDATE devices SET name_key = NULL, name_lower = NULL WHERE name = 'gateway'").run();
    new SqliteIdentityRepository(server.store.db);
    assert.deepEqual(server.store.db.prepare("SELECT name_key, name_lower FROM devices WHERE name = 'gateway'").get(), { name_key: "gateway", name_lower: "gateway" });
  });

  test("filters by tags: key alone, key and value, wildcards, several", async () => {
    assert.deepEqual(names(await list(api, "filter[tags][0][key]=site")), ["gateway", "Sensor 2", "sensor 10"]);
    assert.deepEqual(names(await list(api, "filter[tags][0][key]=site&filter[tags][0][value]=north")), ["gateway", "sensor 10"]);
    assert.deepEqual(names(await list(api, "filter[tags][0][value]=*th")), ["gateway", "Sensor 2", "sensor 10"]);
    assert.deepEqual(names(await list(api, "filter[tags][0][key]=site&filter[tags][0][value]=north&filter[tags][1][key]=kind")), ["sensor 10"]);
    // Without an index, as TagoIO's console sends one tag.
    assert.deepEqual(names(await list(api, "filter[tags][key]=kind&filter[tags][value]=flow")), ["pump"]);
    // A tag filter with a part no tag has matches nothing.
    assert.deepEqual(names(await list(api, "filter[tags][0][colour]=red")), []);
  });

  test("filters by active and id", async () => {
    assert.deepEqual(names(await list(api, "filter[active]=false")), ["gateway"]);
    assert.deepEqual(names(await list(api, `filter[id]=${ids["pump"]}`)), ["pump"]);
  });

  test("filters on other fields (kept in extra, live state) still apply, with paging", async () => {
    assert.deepEqual(names(await list(api, "filter[description]=*o*")), ["sensor 1", "Sensor 2"]);
    assert.deepEqual(names(await list(api, "filter[description]=*o*&amount=1&page=2")), ["Sensor 2"]);
    assert.deepEqual(names(await list(api, "filter[connected]=false&filter[name]=p*")), ["pump"]);
  });

  test("pages: every device once, in order", async () => {
    const pages = [];
    for (let page = 1; page <= 4; page++) pages.push(...names(await list(api, `amount=2&page=${page}&orderBy=created_at,desc`)));
    assert.deepEqual(pages, ["Émile Ünit", "pump", "sensor 1", "gateway", "Sensor 2", "sensor 10"]);
  });

  test("items carry last_input and connected, and only the fields asked for", async () => {
    const [item] = await list(api, "filter[name]=pump");
    assert.equal(item!.connected, false);
    assert.equal(item!.last_input, "2024-01-01T00:00:00.000Z");
    assert.equal(item!.bucket, item!.id);
    const [cut] = await list(api, "filter[name]=pump&fields=connected,last_input");
    assert.deepEqual(Object.keys(cut!).sort(), ["connected", "id", "last_input", "name", "tags"]);
  });

  test("a device edited keeps its last input and moves in the name order", async () => {
    await server.identity.updateDevice(server.accountId, ids["pump"]!, { name: "a pump" });
    const [first] = await list(api, "amount=1&fields=last_input&filter[name]=*pump");
    assert.equal(first!.name, "a pump");
    assert.equal(first!.last_input, "2024-01-01T00:00:00.000Z");
    await server.identity.updateDevice(server.accountId, ids["pump"]!, { name: "pump" });
  });
});

describe("GET /device at 100 000 devices", () => {
  let server: TestServer;
  let api: { url: string; token: string };
  const N = 100_000;
  before(async () => {
    server = await startTestServer();
    api = { url: server.url, token: server.accountToken };
    // Straight into SQLite: one prepared INSERT in one transaction (the API would take minutes).
    const insert = server.store.db.prepare(
      "INSERT INTO devices (id, account_id, name, name_key, name_lower, active, tags, extra, created_at, updated_at, last_input) VALUES (?, ?, ?, ?, ?, 1, ?, '{}', ?, ?, ?)",
    );
    const start = Date.parse("2024-01-01T00:00:00Z");
    server.store.db.transaction(() => {
      for (let i = 0; i < N; i++) {
        const name = `device ${i}`;
        const tags = JSON.stringify([{ key: "site", value: `s${i % 10}` }]);
        insert.run(generateId(), server.accountId, name, nameSortKey(name), name.toLowerCase(), tags, start + i, start + i, i % 3 === 0 ? start + i : null);
      }
    })();
  });
  after(() => server.close());

  test("pages in name order, numbers by value, to the last page", async () => {
    assert.deepEqual((await list(api, "amount=3&fields=name")).map((d) => d.name), ["device 0", "device 1", "device 2"]);
    assert.deepEqual((await list(api, "amount=50&page=2000")).map((d) => d.name).slice(-2), ["device 99998", "device 99999"]);
    assert.deepEqual(await list(api, "amount=50&page=2001"), []);
  });

  test("orders by last input with filters at this size", async () => {
    const newest = await list(api, "amount=2&orderBy=last_input,desc&filter[tags][0][value]=s9&fields=last_input");
    assert.deepEqual(newest.map((d) => d.name), ["device 99999", "device 99969"]);
    const named = await list(api, "amount=5&filter[name]=device 4242*");
    assert.deepEqual(named.map((d) => d.name), ["device 4242", "device 42420", "device 42421", "device 42422", "device 42423"]);
  });
});

describe("live device state (a whole Sluice)", () => {
  let sluice: TestSluice;
  before(async () => {
    sluice = await startSluice();
  });
  after(() => sluice.close());

  const info = async (id: string) => {
    const response = await fetch(`${sluice.api}/device/${id}`, { headers: { token: sluice.adminToken } });
    return ((await response.json()) as { result: DeviceListItemJson }).result;
  };

  test("GET /status tells the MQTT listeners' ports", async () => {
    const body = (await (await fetch(`${sluice.api}/status`)).json()) as { result: StatusJson };
    assert.deepEqual(body.result.mqtt, { tcp: sluice.ports.mqtt, tls: sluice.ports.mqtts, ws: sluice.ports.ws, wss: sluice.ports.wss, ws_path: "/mqtt" });
  });

  test("connected and last_input follow MQTT, live on /events", async () => {
    const { deviceId, token } = await sluice.device();
    const stream = await openStream(`${sluice.api}/events?channels=device_connection,device_last_input.${deviceId}&token=${sluice.adminToken}`);
    assert.equal(stream.status, 200);
    assert.equal((await info(deviceId)).connected, false);
    assert.equal((await info(deviceId)).last_input, null);

    const client = await sluice.connect({ username: "Token", password: token });
    const connected = JSON.parse((await stream.next()).data) as { channel: string; payload: DeviceConnectionEvent };
    assert.deepEqual(connected, { channel: "device_connection", payload: { device_id: deviceId, connected: true } });
    assert.equal((await info(deviceId)).connected, true);

    const before = Date.now();
    await client.publishAsync("up", "21.5", { qos: 1 });
    // Shown at once (noted in memory), written within a second.
    assert.ok(Date.parse((await info(deviceId)).last_input!) >= before - 5);
    const input = JSON.parse((await stream.next(3000)).data) as { channel: string; payload: DeviceLastInputEvent };
    assert.equal(input.channel, "device_last_input");
    assert.equal(input.payload.device_id, deviceId);
    const row = await until(async () => ((await sluice.server.identity.getDevice((await sluice.server.identity.authenticateAccountToken(sluice.adminToken))!.accountId, deviceId)).lastInput ?? undefined));
    assert.equal(row.toISOString(), input.payload.last_input);

    await client.endAsync();
    const gone = JSON.parse((await stream.next()).data) as { payload: DeviceConnectionEvent };
    assert.deepEqual(gone.payload, { device_id: deviceId, connected: false });
    assert.equal((await info(deviceId)).connected, false);
    stream.close();
  });

  test("a device with two connections stays connected until the last one closes", async () => {
    const { deviceId, token } = await sluice.device();
    const one = await sluice.connect({ username: "Token", password: token, clientId: `a-${deviceId}` });
    const two = await sluice.connect({ username: "Token", password: token, clientId: `b-${deviceId}` });
    await one.endAsync();
    assert.equal((await info(deviceId)).connected, true);
    await two.endAsync();
    await until(async () => ((await info(deviceId)).connected ? undefined : true));
  });
});
