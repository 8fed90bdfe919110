import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Second outside review (attack3). docs/security.md: "An analysis token cannot outlive its
// regeneration" (src/http/auth.ts: it "must not mint or read credentials that would outlive
// it"). It may still create device tokens for any device of its account (`POST /device/token`,
// `POST /device/token/:deviceId`) and devices with tokens (`POST /device`). Those tokens read
// and write the devices' data over HTTP and MQTT after the analysis token was regenerated,
// so regenerating a leaked analysis token does not end what the leak gave.

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

describe("second review: an analysis token minting device credentials", () => {
  for (const [route, body] of [
    ["/device/token", (deviceId: string) => ({ device: deviceId, name: "kept", permission: "full" })],
    ["/device/token/:deviceId", () => ({ name: "kept", permission: "full" })],
  ] as const) {
    test(`POST ${route} with an analysis token is refused (its token would outlive the regeneration)`, async () => {
      const s = await startSluice();
      started.push(s);
      const victim = await s.device({ permission: "full" });
      await call(s, "POST", "/data", [{ variable: "secret", value: 42 }], victim.token);
      const analysis = (await call<{ id: string; token: string }>(s, "POST", "/analysis", { name: "leaky" })).body.result;
      const minted = await call<{ token: string }>(s, "POST", route.replace(":deviceId", victim.deviceId), body(victim.deviceId), analysis.token);
      // The leak is noticed: the analysis token is regenerated.
      await call(s, "GET", `/analysis/${analysis.id}/token`);
      if (minted.status === 200) {
        const read = await call<{ variable: string }[]>(s, "GET", "/data?variable=secret", undefined, minted.body.result.token);
        assert.fail(`an analysis token minted a device token that outlives its regeneration (GET /data with it: ${read.status}, ${JSON.stringify(read.body.result)})`);
      }
      assert.equal(minted.status, 403);
    });
  }

  test("POST /device with an analysis token does not hand out a device token", async () => {
    const s = await startSluice();
    started.push(s);
    const analysis = (await call<{ id: string; token: string }>(s, "POST", "/analysis", { name: "leaky" })).body.result;
    const created = await call<{ device_id: string; token?: string }>(s, "POST", "/device", { name: "d", network: "n", connector: "c" }, analysis.token);
    await call(s, "GET", `/analysis/${analysis.id}/token`);
    if (created.status === 200 && typeof created.body.result.token === "string") {
      const wrote = await call(s, "POST", "/data", [{ variable: "v", value: 1 }], created.body.result.token);
      assert.fail(`an analysis token got a device token from POST /device that outlives its regeneration (POST /data with it: ${wrote.status})`);
    }
  });
});
