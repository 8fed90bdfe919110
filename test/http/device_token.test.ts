import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type SdkResources, type TestServer } from "../helpers/http_server.js";

let server: TestServer;
let sdk: SdkResources;

before(async () => {
  server = await startTestServer();
  sdk = server.resources();
});
after(() => server.close());

const newDevice = async (name = "dev") =>
  sdk.devices.create({ name, connector: "c", network: "n", type: "mutable" });

const rejectsWith = (pattern: RegExp) => (err: unknown) => {
  // The SDK rejects with the server's `message` string, not an Error.
  assert.equal(typeof err, "string");
  assert.match(err as string, pattern);
  return true;
};

describe("POST /device/token (devices.tokenCreate)", () => {
  test("returns a token that authenticates as the device with the permission asked for", async () => {
    const { device_id } = await newDevice();
    const created = await sdk.devices.tokenCreate(device_id, { name: "reader", permission: "read" });
    assert.equal(created.permission, "read");
    const principal = await server.identity.authenticateDevice(created.token);
    assert.equal(principal?.deviceId, device_id);
    assert.equal(principal?.permission, "read");
  });

  test("a token without expire_time, or with \"never\", does not expire", async () => {
    const { device_id } = await newDevice();
    assert.equal((await sdk.devices.tokenCreate(device_id, { name: "a", permission: "full" })).expire_date, "never");
    const never = await sdk.devices.tokenCreate(device_id, { name: "b", permission: "full", expire_time: "never" });
    assert.equal(never.expire_date, "never");
    assert.equal((await server.identity.authenticateDevice(never.token))?.expiresAt, null);
  });

  test("a Date expire_time sets the expiry, returned as a Date", async () => {
    const { device_id } = await newDevice();
    const expiry = new Date(Date.now() + 3_600_000);
    const created = await sdk.devices.tokenCreate(device_id, { name: "t", permission: "write", expire_time: expiry });
    assert.ok(created.expire_date instanceof Date);
    assert.equal(created.expire_date.getTime(), expiry.getTime());
    assert.equal((await server.identity.authenticateDevice(created.token))?.expiresAt?.getTime(), expiry.getTime());
  });

  test("rejects an expire_time in the past", async () => {
    const { device_id } = await newDevice();
    const past = new Date(Date.now() - 1000);
    await assert.rejects(sdk.devices.tokenCreate(device_id, { name: "t", permission: "full", expire_time: past }), rejectsWith(/expire_time must be in the future/));
  });

  test("rejects an expire_time that is neither a date nor \"never\"", async () => {
    const { device_id } = await newDevice();
    const body = { name: "t", permission: "full", expire_time: "someday" } as unknown as Parameters<SdkResources["devices"]["tokenCreate"]>[1];
    await assert.rejects(sdk.devices.tokenCreate(device_id, body), rejectsWith(/expire_time must be "never" or an ISO date/));
  });

  test("rejects a permission other than full, write or read", async () => {
    const { device_id } = await newDevice();
    await assert.rejects(sdk.devices.tokenCreate(device_id, { name: "t", permission: "deny" }), rejectsWith(/permission/));
  });

  test("rejects a token for an unknown device with 404", async () => {
    await assert.rejects(sdk.devices.tokenCreate("000000000000000000000000", { name: "t", permission: "full" }), rejectsWith(/^Device not found$/));
  });

  test("POST /device/token/:deviceId creates a token too", async () => {
    const { device_id } = await newDevice();
    const response = await fetch(`${server.url}/device/token/${device_id}`, {
      method: "POST",
      headers: { token: server.accountToken, "content-type": "application/json" },
      body: JSON.stringify({ name: "by-path", permission: "write" }),
    });
    const body = (await response.json()) as { status: boolean; result: { token: string } };
    assert.equal(response.status, 200);
    assert.equal((await server.identity.authenticateDevice(body.result.token))?.permission, "write");
  });
});

describe("GET /device/token/:deviceId (devices.tokenList)", () => {
  test("lists the device's tokens newest first, with the SDK's default fields plus id", async () => {
    const { device_id } = await newDevice();
    await new Promise((resolve) => setTimeout(resolve, 2)); // a later created_at than the default token's
    await sdk.devices.tokenCreate(device_id, { name: "second", permission: "read" });
    const list = await sdk.devices.tokenList(device_id);
    assert.deepEqual(list.map((t) => [t.name, t.permission]), [["second", "read"], ["Default", "full"]]);
    assert.deepEqual(Object.keys(list[0]!).sort(), ["id", "name", "permission", "token"]);
  });

  test("shows each token as its masked prefix, never the full token", async () => {
    const { device_id, token } = await newDevice();
    const created = await sdk.devices.tokenCreate(device_id, { name: "x", permission: "full" });
    const response = await fetch(`${server.url}/device/token/${device_id}?fields=id,token,name,permission,expire_time,created_at,last_authorization,serie_number`, {
      headers: { token: server.accountToken },
    });
    const raw = await response.text();
    assert.ok(!raw.includes(token) && !raw.includes(created.token), "a full token leaked into the list");
    const list = (JSON.parse(raw) as { result: { token: string }[] }).result;
    assert.deepEqual(list.map((t) => t.token).sort(), [`${token.slice(0, 8)}-****`, `${created.token.slice(0, 8)}-****`].sort());
  });

  test("reports expiry and dates the SDK turns into Date objects", async () => {
    const { device_id } = await newDevice();
    const expiry = new Date(Date.now() + 86_400_000);
    await sdk.devices.tokenCreate(device_id, { name: "expiring", permission: "full", expire_time: expiry });
    const list = await sdk.devices.tokenList(device_id, { fields: ["name", "expire_time", "created_at", "last_authorization"] });
    const byName = new Map(list.map((t) => [t.name, t]));
    assert.equal(byName.get("Default")!.expire_time, "never");
    assert.equal((byName.get("expiring")!.expire_time as Date).getTime(), expiry.getTime());
    assert.ok((byName.get("expiring")!.created_at as unknown) instanceof Date);
  });

  test("records when a token last authenticated", async () => {
    const { device_id, token } = await newDevice();
    await server.identity.authenticateDevice(token);
    await new Promise((resolve) => setTimeout(resolve, 10)); // the touch is written without being awaited
    const [item] = await sdk.devices.tokenList(device_id, { fields: ["last_authorization"] });
    assert.ok((item!.last_authorization as unknown) instanceof Date);
  });

  test("pages with page and amount", async () => {
    const { device_id } = await newDevice();
    for (const name of ["b", "c"]) await sdk.devices.tokenCreate(device_id, { name, permission: "full" });
    const page = await sdk.devices.tokenList(device_id, { page: 2, amount: 2, orderBy: ["name", "asc"] });
    assert.deepEqual(page.map((t) => t.name), ["Default"]); // b, c | Default
  });

  test("rejects listing the tokens of another account's device with 404", async () => {
    const { device_id } = await newDevice();
    const other = await server.otherAccount();
    await assert.rejects(server.resources(other.token).devices.tokenList(device_id), rejectsWith(/^Device not found$/));
  });
});

describe("DELETE /device/token/:token (devices.tokenDelete)", () => {
  test("revokes a token given in full", async () => {
    const { device_id } = await newDevice();
    const created = await sdk.devices.tokenCreate(device_id, { name: "x", permission: "full" });
    assert.equal(await sdk.devices.tokenDelete(created.token), "Token Successfully Removed");
    assert.equal(await server.identity.authenticateDevice(created.token), undefined);
  });

  test("revokes a token given by the id the list shows", async () => {
    const { device_id, token } = await newDevice();
    // Sluice adds `id` to every listed token; the SDK's types do not know the field.
    const [listed] = (await sdk.devices.tokenList(device_id)) as unknown as { id: string }[];
    await sdk.devices.tokenDelete(listed!.id);
    assert.equal(await server.identity.authenticateDevice(token), undefined);
    assert.deepEqual(await sdk.devices.tokenList(device_id), []);
  });

  test("leaves the device's other tokens working", async () => {
    const { device_id, token } = await newDevice();
    const created = await sdk.devices.tokenCreate(device_id, { name: "x", permission: "full" });
    await sdk.devices.tokenDelete(created.token);
    assert.equal((await server.identity.authenticateDevice(token))?.deviceId, device_id);
  });

  test("emits a revocation so live sessions on the token can be dropped", async () => {
    const { device_id } = await newDevice();
    const created = await sdk.devices.tokenCreate(device_id, { name: "x", permission: "full" });
    const revoked = new Promise<{ tokenIds?: string[] }>((resolve) => server.identity.once("revoked", resolve));
    await sdk.devices.tokenDelete(created.token);
    assert.equal((await revoked).tokenIds?.length, 1);
  });

  test("rejects revoking another account's token with 404 and leaves it working", async () => {
    const { token } = await newDevice();
    const other = await server.otherAccount();
    await assert.rejects(server.resources(other.token).devices.tokenDelete(token), rejectsWith(/^Token not found$/));
    assert.ok(await server.identity.authenticateDevice(token));
  });

  test("rejects an unknown token with 404", async () => {
    await assert.rejects(sdk.devices.tokenDelete("00000000-0000-0000-0000-000000000000"), rejectsWith(/^Token not found$/));
  });
});
