import assert from "node:assert/strict";
import { createCipheriv, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { consoleLine, createAnalysis, resourcesOf, waitFor } from "../helpers/analysis.js";

// examples/aes-decrypt end to end: a device publishes an AES-256-GCM payload over MQTT, an
// mqtt_topic action of type "script" runs the example analysis (run mode sluice), and the
// decrypted readings land in the device's bucket.

let sluice: TestSluice;
before(async () => {
  sluice = await startSluice();
});
after(async () => {
  await sluice.close();
});

function encrypt(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64");
}

test("an encrypted MQTT payload is decrypted by the example analysis and stored", async () => {
  const key = randomBytes(32);
  const dev = await sluice.device();
  const resources = resourcesOf(sluice);
  // Tests run from the repository root (scripts/test.mjs).
  const code = readFileSync(join(process.cwd(), "examples", "aes-decrypt", "analysis.js"), "utf8");
  const { id } = await createAnalysis(resources, code, { name: "aes decrypt", variables: [{ key: "AES_KEY", value: key.toString("hex") }] });
  await resources.actions.create({
    name: "decrypt uplinks",
    type: "mqtt_topic",
    trigger: [{ device: dev.deviceId, topic: "secure/up" } as never],
    action: { type: "script", script: [id] } as never,
  });

  const device = await sluice.connect({ username: "Token", password: dev.token });
  await device.publishAsync("secure/up", encrypt(key, JSON.stringify({ temperature: 21.5, humidity: 40 })), { qos: 1 });
  // A payload encrypted with another key fails the tag check and stores nothing.
  await device.publishAsync("secure/up", encrypt(randomBytes(32), JSON.stringify({ temperature: -99 })), { qos: 1 });

  const api = sluice.api;
  const read = async () => {
    const response = await fetch(`${api}/data?variables=temperature&variables=humidity&qty=10`, { headers: { token: dev.token } });
    return ((await response.json()) as { result: { variable: string; value: unknown }[] }).result;
  };
  const records = await waitFor(async () => {
    const r = await read();
    return r.length >= 2 ? r : undefined;
  }, 15_000, "the decrypted records");
  assert.deepEqual(records.map((r) => [r.variable, r.value]).sort(), [["humidity", 40], ["temperature", 21.5]]);
  await consoleLine(sluice, id, /could not decrypt/);
  await consoleLine(sluice, id, /stored 2 decrypted record/);
  assert.equal((await read()).length, 2);
});
