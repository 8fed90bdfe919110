import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { MqttClient } from "mqtt";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Second outside review (attack3). docs/security.md: "An analysis token cannot outlive its
// regeneration". An analysis token may create device tokens (`POST /device/token`,
// `POST /device/token/:deviceId`) and devices with their first token (`POST /device`), and a
// device token can subscribe to `#` in the account's MQTT namespace, so those tokens outlived
// the analysis token's regeneration: regenerating a leaked analysis token did not end what the
// leak gave.
//
// Decision: refusing these calls would break TagoIO provisioning analyses (they create devices
// with `context.token`), so a device token created with an analysis token is bound to it
// (`minted_by`) and revoked, its live MQTT connections closed, when that analysis token is
// REGENERATED. Deleting the analysis does not revoke them (a provisioning analysis removed
// later must not cut its devices off). Device tokens created with other tokens are untouched.

const started: TestSluice[] = [];
after(() => Promise.all(started.map((s) => s.close())));

async function call<T>(s: TestSluice, method: string, path: string, body?: unknown, token = s.adminToken): Promise<{ status: number; body: { status: boolean; result: T; message?: string } }> {
  const res = await fetch(`${s.api}${path}`, {
    method,
    headers: { token, ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { status: boolean; result: T; message?: string } };
}

/** Device tokens got with `token` every way there is: both token routes and POST /device. */
async function mintAll(s: TestSluice, deviceId: string, token: string): Promise<Record<string, string>> {
  const byBody = await call<{ token: string }>(s, "POST", "/device/token", { device: deviceId, name: "b", permission: "full" }, token);
  const byParam = await call<{ token: string }>(s, "POST", `/device/token/${deviceId}`, { name: "p", permission: "full" }, token);
  const device = await call<{ device_id: string; token: string }>(s, "POST", "/device", { name: "d" }, token);
  for (const r of [byBody, byParam, device]) assert.equal(r.status, 200, JSON.stringify(r.body));
  return {
    "POST /device/token": byBody.body.result.token,
    "POST /device/token/:deviceId": byParam.body.result.token,
    "POST /device": device.body.result.token,
  };
}

const dataStatus = async (s: TestSluice, token: string) => (await call(s, "GET", "/data?variable=secret", undefined, token)).status;

function closed(client: MqttClient, ms = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    if (client.disconnected || !client.connected) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    client.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe("second review: device tokens minted by an analysis token", () => {
  test("regenerating the analysis token revokes the device tokens it minted (all routes) and closes their MQTT connections", async () => {
    const s = await startSluice();
    started.push(s);
    const victim = await s.device({ permission: "full" });
    await call(s, "POST", "/data", [{ variable: "secret", value: 42 }], victim.token);
    const analysis = (await call<{ id: string; token: string }>(s, "POST", "/analysis", { name: "provisioning" })).body.result;
    const minted = await mintAll(s, victim.deviceId, analysis.token);
    const kept = await mintAll(s, victim.deviceId, s.adminToken);
    for (const token of [...Object.values(minted), ...Object.values(kept)]) assert.equal(await dataStatus(s, token), 200);

    // The list shows which tokens an analysis token minted.
    const list = (await call<{ name: string; minted_by: string | null }[]>(s, "GET", `/device/token/${victim.deviceId}?fields=name,minted_by`)).body.result;
    assert.deepEqual(list.filter((t) => t.minted_by !== null).map((t) => t.name).sort(), ["b", "p"]);

    const live = await s.connect({ username: "Token", password: minted["POST /device/token"]!, protocolVersion: 5 });
    await new Promise<void>((resolve, reject) => live.subscribe("#", (err) => (err ? reject(err) : resolve())));
    const bystander = await s.connect({ username: "Token", password: kept["POST /device/token"]!, protocolVersion: 5 });

    // The leak is noticed: the analysis token is regenerated.
    assert.equal((await call(s, "GET", `/analysis/${analysis.id}/token`)).status, 200);

    for (const [route, token] of Object.entries(minted)) assert.equal(await dataStatus(s, token), 401, `${route}: minted by the analysis token, must be revoked`);
    for (const [route, token] of Object.entries(kept)) assert.equal(await dataStatus(s, token), 200, `${route}: created with an account token, must survive`);
    assert.equal(await closed(live), true, "the minted token's MQTT connection must be closed");
    assert.equal(bystander.connected, true, "an account-created token's MQTT connection stays");
    bystander.end(true);
    assert.equal(await dataStatus(s, victim.token), 200);
  });

  test("deleting the analysis keeps the device tokens its token minted", async () => {
    const s = await startSluice();
    started.push(s);
    const victim = await s.device({ permission: "full" });
    const analysis = (await call<{ id: string; token: string }>(s, "POST", "/analysis", { name: "provisioning" })).body.result;
    const minted = await mintAll(s, victim.deviceId, analysis.token);
    assert.equal((await call(s, "DELETE", `/analysis/${analysis.id}`)).status, 200);
    assert.equal((await call(s, "GET", "/device", undefined, analysis.token)).status, 401);
    for (const [route, token] of Object.entries(minted)) assert.equal(await dataStatus(s, token), 200, `${route}: must survive the analysis's deletion`);
  });
});
