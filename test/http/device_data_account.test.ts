import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import sdk from "@tago-io/sdk";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// A device's data through an ACCOUNT token, as the SDK's Resources.devices calls it (and as the
// console does with its session): send, read, edit and delete, with /data's rules and answers.
const { Resources } = sdk;

let sluice: TestSluice;
before(async () => {
  sluice = await startSluice();
});
after(() => sluice.close());

const resources = () => new Resources({ token: sluice.adminToken, region: { api: sluice.api, sse: `${sluice.api}/events` } });
type Loose = Record<string, unknown>;

async function call(method: string, path: string, body?: unknown, token = sluice.adminToken) {
  const response = await fetch(`${sluice.api}${path}`, {
    method,
    headers: { token, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { status: boolean; result?: unknown; message?: string } };
}

describe("PUT and DELETE /device/:id/data (editDeviceData, deleteDeviceData)", () => {
  test("edits a record's value, unit, time and metadata; the answer counts what changed", async () => {
    const { deviceId } = await sluice.device();
    const r = resources();
    await r.devices.sendDeviceData(deviceId, [{ variable: "temp", value: 20, unit: "C", metadata: { a: 1 } }]);
    const [record] = (await r.devices.getDeviceData(deviceId, { variables: ["temp"] })) as unknown as Loose[];
    assert.ok(record);
    const answer = await r.devices.editDeviceData(deviceId, { id: record.id as string, value: 21.5, unit: "F", time: "2024-05-01T12:00:00Z", metadata: { b: 2 } } as never);
    assert.equal(answer, "1 item(s) updated");
    const [edited] = (await call("GET", `/device/${deviceId}/data?variables=temp`)).body.result as Loose[];
    assert.equal(edited!.value, 21.5);
    assert.equal(edited!.unit, "F");
    assert.equal(edited!.time, "2024-05-01T12:00:00.000Z");
    assert.deepEqual(edited!.metadata, { b: 2 });
  });

  test("an edit that breaks the record rules is refused as /data refuses it, naming the record", async () => {
    const { deviceId } = await sluice.device();
    const refused = await call("PUT", `/device/${deviceId}/data`, [{ id: "x", unit: "u".repeat(26) }]);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.message, "record 0: unit must be at most 25 characters");
    const noId = await call("PUT", `/device/${deviceId}/data`, { value: 1 });
    assert.equal(noId.status, 400);
    assert.match(noId.body.message!, /id is required/);
  });

  test("another device's record ids are not edited or deleted", async () => {
    const a = await sluice.device();
    const b = await sluice.device();
    const r = resources();
    await r.devices.sendDeviceData(a.deviceId, { variable: "v", value: 1 });
    const [record] = (await r.devices.getDeviceData(a.deviceId, {})) as unknown as Loose[];
    assert.equal((await call("PUT", `/device/${b.deviceId}/data`, { id: record!.id, value: 2 })).body.result, "0 item(s) updated");
    assert.equal((await call("DELETE", `/device/${b.deviceId}/data?ids=${record!.id as string}`)).body.result, "0 Data Removed");
    assert.equal(((await r.devices.getDeviceData(a.deviceId, {})) as unknown as Loose[])[0]!.value, 1);
  });

  test("deletes by ids, or by filter (variables, dates) up to qty, as DELETE /data", async () => {
    const { deviceId } = await sluice.device();
    const r = resources();
    const records = Array.from({ length: 30 }, (_, i) => ({ variable: i % 2 ? "odd" : "even", value: i, time: new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString() }));
    await r.devices.sendDeviceData(deviceId, records);
    const evens = (await r.devices.getDeviceData(deviceId, { variables: ["even"], qty: 3 })) as unknown as Loose[];
    assert.equal(await r.devices.deleteDeviceData(deviceId, { ids: evens.map((e) => e.id as string) }), "3 Data Removed");
    assert.equal(await r.devices.deleteDeviceData(deviceId, { variables: ["odd"], end_date: "2024-01-01T00:10:00Z", qty: 100 } as never), "5 Data Removed");
    assert.equal(await r.devices.amount(deviceId), 22);
    const refused = await call("DELETE", `/device/${deviceId}/data?query=count`);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.message, "query=count does not select records, so it cannot be used to delete");
  });

  test("an unknown device is 404; a device token cannot use the account routes", async () => {
    assert.equal((await call("PUT", "/device/000000000000000000000000/data", { id: "x", value: 1 })).status, 404);
    assert.equal((await call("DELETE", "/device/000000000000000000000000/data")).status, 404);
    const { deviceId, token } = await sluice.device();
    assert.equal((await call("DELETE", `/device/${deviceId}/data`, undefined, token)).status, 401);
  });
});
