import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type SdkResources, type TestServer } from "../helpers/http_server.js";

// Devices through the official @tago-io/sdk over real HTTP: if these pass, TagoIO code that
// manages devices works unchanged against Sluice.

let server: TestServer;
let sdk: SdkResources;

before(async () => {
  server = await startTestServer();
  sdk = server.resources();
});
after(() => server.close());

const rejectsWith = (message: string) => (err: unknown) => {
  // The SDK rejects with the server's `message` string, not an Error.
  assert.equal(err, message);
  return true;
};

describe("POST /device (devices.create)", () => {
  test("returns the device id, a bucket id equal to it, and a token", async () => {
    const created = await sdk.devices.create({ name: "thermo", connector: "c1", network: "n1", type: "mutable" });
    assert.match(created.device_id, /^[0-9a-f]{24}$/);
    assert.equal(created.bucket_id, created.device_id);
    assert.match(created.token, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  test("the returned token authenticates as the new device, with full permission", async () => {
    const created = await sdk.devices.create({ name: "auth-me", connector: "c1", network: "n1", type: "mutable" });
    const principal = await server.identity.authenticateDevice(created.token);
    assert.equal(principal?.deviceId, created.device_id);
    assert.equal(principal?.accountId, server.accountId);
    assert.equal(principal?.permission, "full");
  });
});

describe("GET /device/:id (devices.info)", () => {
  test("maps the device to TagoIO's DeviceInfo, with dates the SDK turns into Date objects", async () => {
    const before = Date.now();
    const { device_id } = await sdk.devices.create({
      name: "meter", connector: "c1", network: "n1", type: "mutable", tags: [{ key: "site", value: "north" }],
    });
    const info = await sdk.devices.info(device_id);
    assert.equal(info.id, device_id);
    assert.equal(info.name, "meter");
    assert.equal(info.active, true);
    assert.deepEqual(info.tags, [{ key: "site", value: "north" }]);
    assert.deepEqual(info.bucket, { id: device_id, name: "meter" });
    assert.equal(info.profile, server.accountId);
    assert.ok(info.created_at instanceof Date && info.created_at.getTime() >= before - 1000);
    assert.ok(info.updated_at instanceof Date);
    assert.equal(info.last_input, null);
  });

  test("echoes back the TagoIO fields Sluice stores without interpreting", async () => {
    const { device_id } = await sdk.devices.create({
      name: "echo", connector: "conn-1", network: "net-1", type: "immutable", chunk_period: "month", chunk_retention: 6,
      description: "in the basement", visible: false,
    });
    const info = await sdk.devices.info(device_id);
    assert.equal(info.type, "immutable");
    assert.equal(info.connector, "conn-1");
    assert.equal(info.network, "net-1");
    assert.equal(info.description, "in the basement");
    assert.equal(info.visible, false);
    assert.equal(info.type === "immutable" && info.chunk_period, "month");
    assert.equal(info.type === "immutable" && info.chunk_retention, 6);
  });

  test("keeps fields it has never heard of", async () => {
    const input = { name: "custom", connector: "c", network: "n", type: "mutable", installed_by: "ana" } as const;
    const { device_id } = await sdk.devices.create(input as Parameters<SdkResources["devices"]["create"]>[0]);
    const info = (await sdk.devices.info(device_id)) as unknown as Record<string, unknown>;
    assert.equal(info.installed_by, "ana");
  });

  test("shows the payload parser base64-encoded as payload_decoder", async () => {
    const parser = "payload = payload.map((r) => r);";
    const { device_id } = await sdk.devices.create({
      name: "parsed", connector: "c1", network: "n1", type: "mutable", parse_function: parser,
    });
    const info = await sdk.devices.info(device_id);
    assert.equal(Buffer.from(info.payload_decoder!, "base64").toString(), parser);
  });

  test("rejects an unknown device with 404 Device not found", async () => {
    await assert.rejects(sdk.devices.info("000000000000000000000000"), rejectsWith("Device not found"));
  });
});

describe("GET /device (devices.list)", () => {
  let fresh: TestServer;
  let api: SdkResources;
  before(async () => {
    fresh = await startTestServer();
    api = fresh.resources();
    for (const [name, site] of [["sensor 10", "a"], ["sensor 2", "b"], ["gateway", "a"], ["Sensor 1", "c"]] as const) {
      await api.devices.create({ name, connector: "c", network: "n", type: "mutable", tags: [{ key: "site", value: site }] });
      await new Promise((resolve) => setTimeout(resolve, 2)); // distinct created_at, for the ordering test
    }
  });
  after(() => fresh.close());

  test("orders by name ascending by default, with numbers in names in numeric order", async () => {
    const list = await api.devices.list();
    assert.deepEqual(list.map((d) => d.name), ["gateway", "Sensor 1", "sensor 2", "sensor 10"]);
  });

  test("returns id, name and tags by default, plus the fields asked for", async () => {
    const [first] = await api.devices.list({ amount: 1 });
    assert.deepEqual(Object.keys(first!).sort(), ["id", "name", "tags"]);
    const [withFields] = await api.devices.list({ amount: 1, fields: ["id", "name", "active", "created_at", "bucket"] });
    assert.equal(withFields!.active, true);
    assert.ok(withFields!.created_at instanceof Date);
    assert.equal(withFields!.bucket, withFields!.id);
  });

  test("pages with page and amount", async () => {
    const page1 = await api.devices.list({ page: 1, amount: 3 });
    const page2 = await api.devices.list({ page: 2, amount: 3 });
    assert.equal(page1.length, 3);
    assert.deepEqual(page2.map((d) => d.name), ["sensor 10"]);
  });

  test("filters by name with * as a case-insensitive wildcard", async () => {
    const list = await api.devices.list({ filter: { name: "sensor*" } });
    assert.deepEqual(list.map((d) => d.name), ["Sensor 1", "sensor 2", "sensor 10"]);
  });

  test("filters by name exactly when there is no wildcard", async () => {
    const list = await api.devices.list({ filter: { name: "sensor 1" } });
    assert.deepEqual(list.map((d) => d.name), ["Sensor 1"]);
  });

  test("filters by tag key alone", async () => {
    const list = await api.devices.list({ filter: { tags: [{ key: "site" }] } });
    assert.equal(list.length, 4);
  });

  test("filters by tag", async () => {
    const list = await api.devices.list({ filter: { tags: [{ key: "site", value: "a" }] } });
    assert.deepEqual(list.map((d) => d.name), ["gateway", "sensor 10"]);
  });

  test("orders by the orderBy field and direction", async () => {
    const list = await api.devices.list({ orderBy: ["created_at", "desc"], fields: ["id", "name", "created_at"] });
    assert.deepEqual(list.map((d) => d.name), ["Sensor 1", "gateway", "sensor 2", "sensor 10"]);
  });

  test("does not list another account's devices", async () => {
    const other = await fresh.otherAccount();
    assert.deepEqual(await fresh.resources(other.token).devices.list(), []);
  });
});

describe("PUT /device/:id (devices.edit)", () => {
  test("renames the device and reports Successfully Updated", async () => {
    const { device_id } = await sdk.devices.create({ name: "old", connector: "c", network: "n", type: "mutable" });
    assert.equal(await sdk.devices.edit(device_id, { name: "new" }), "Successfully Updated");
    assert.equal((await sdk.devices.info(device_id)).name, "new");
  });

  test("replaces tags and merges the uninterpreted fields", async () => {
    const { device_id } = await sdk.devices.create({
      name: "merge", connector: "c", network: "n", type: "mutable", description: "before", tags: [{ key: "a", value: "1" }],
    });
    await sdk.devices.edit(device_id, { description: "after", tags: [{ key: "b", value: "2" }] });
    const info = await sdk.devices.info(device_id);
    assert.equal(info.description, "after");
    assert.equal(info.connector, "c");
    assert.deepEqual(info.tags, [{ key: "b", value: "2" }]);
  });

  test("deactivating a device stops its token from authenticating", async () => {
    const { device_id, token } = await sdk.devices.create({ name: "off", connector: "c", network: "n", type: "mutable" });
    await sdk.devices.edit(device_id, { active: false });
    assert.equal((await sdk.devices.info(device_id)).active, false);
    assert.equal(await server.identity.authenticateDevice(token), undefined);
  });

  test("ignores read-only fields sent back from an info", async () => {
    const { device_id } = await sdk.devices.create({ name: "ro", connector: "c", network: "n", type: "mutable" });
    // A client that edits the object it fetched sends id, bucket and dates back.
    const edit = { name: "ro2", id: "x", bucket: { id: "x", name: "x" }, created_at: "2000-01-01T00:00:00.000Z" };
    await sdk.devices.edit(device_id, edit as Parameters<SdkResources["devices"]["edit"]>[1]);
    const info = await sdk.devices.info(device_id);
    assert.equal(info.id, device_id);
    assert.deepEqual(info.bucket, { id: device_id, name: "ro2" });
    assert.notEqual(info.created_at.getFullYear(), 2000);
  });
});

describe("DELETE /device/:id (devices.delete)", () => {
  test("removes the device and reports Successfully Removed", async () => {
    const { device_id } = await sdk.devices.create({ name: "gone", connector: "c", network: "n", type: "mutable" });
    assert.equal(await sdk.devices.delete(device_id), "Successfully Removed");
    await assert.rejects(sdk.devices.info(device_id), rejectsWith("Device not found"));
  });

  test("revokes the device's tokens", async () => {
    const { device_id, token } = await sdk.devices.create({ name: "gone2", connector: "c", network: "n", type: "mutable" });
    await sdk.devices.delete(device_id);
    assert.equal(await server.identity.authenticateDevice(token), undefined);
  });

  test("rejects deleting an unknown device with 404", async () => {
    await assert.rejects(sdk.devices.delete("000000000000000000000000"), rejectsWith("Device not found"));
  });
});
