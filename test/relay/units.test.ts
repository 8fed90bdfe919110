import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { DeviceResolver, keyOf, type DeviceLookup } from "../../src/relay/device_mapping.js";
import { MASK, validateRelayInput } from "../../src/relay/relay_model.js";
import { RelaySecrets } from "../../src/relay/secrets.js";

describe("relay device mapping", () => {
  const topic = { source: "topic", match: "serial" } as const;
  test("topic levels, counted from either end", () => {
    assert.equal(keyOf({ ...topic, index: 1 }, "a/b/c", Buffer.from("")), "b");
    assert.equal(keyOf({ ...topic, index: -1 }, "a/b/c", Buffer.from("")), "c");
    assert.equal(keyOf({ ...topic, index: 5 }, "a/b/c", Buffer.from("")), undefined);
    assert.equal(keyOf({ ...topic, index: -1 }, "a/b/", Buffer.from("")), undefined);
  });
  test("JSON fields: strings and numbers, nothing else", () => {
    const m = { source: "json", field: "meta.id", match: "id" } as const;
    assert.equal(keyOf(m, "t", Buffer.from('{"meta":{"id":"x1"}}')), "x1");
    assert.equal(keyOf(m, "t", Buffer.from('{"meta":{"id":42}}')), "42");
    assert.equal(keyOf(m, "t", Buffer.from('{"meta":{"id":{}}}')), undefined);
    assert.equal(keyOf(m, "t", Buffer.from("not json")), undefined);
  });
  test("misses are remembered only briefly, hits until cleared", async () => {
    let now = 0;
    let calls = 0;
    let known: string | undefined;
    const lookup: DeviceLookup = {
      deviceBySerial: async () => (calls++, known),
      deviceByTag: async () => undefined,
      deviceById: async () => undefined,
      serialOf: async () => undefined,
    };
    const r = new DeviceResolver(lookup, () => now);
    const m = { source: "topic", index: -1, match: "serial" } as const;
    assert.equal(await r.resolve("acc", m, "SN"), undefined);
    known = "dev1";
    assert.equal(await r.resolve("acc", m, "SN"), undefined); // still the cached miss
    now += 6000;
    assert.equal(await r.resolve("acc", m, "SN"), "dev1");
    assert.equal(await r.resolve("acc", m, "SN"), "dev1");
    assert.equal(calls, 2);
  });
});

describe("relay secrets", () => {
  test("round trip; another key, relay or field cannot decrypt", () => {
    const a = RelaySecrets.fromKey(Buffer.alloc(32, 1));
    const secret = "a relay password";
    const sealed = a.encrypt(secret, "r1/password");
    // Every part of the sealed text, decoded, must not hold the secret: only a cipher passes this.
    for (const part of sealed.split(".")) assert.ok(!Buffer.from(part, "base64").includes(secret));
    assert.equal(a.decrypt(sealed, "r1/password"), secret);
    assert.throws(() => a.decrypt(sealed, "r2/password"), /cannot be decrypted/);
    assert.throws(() => RelaySecrets.fromKey(Buffer.alloc(32, 2)).decrypt(sealed, "r1/password"), /cannot be decrypted/);
  });
  test("a value whose tag is cut short is refused: only the full 16-byte GCM tag is taken", () => {
    const a = RelaySecrets.fromKey(Buffer.alloc(32, 1));
    const [version, iv, tag, body] = a.encrypt("pw", "r1/password").split(".") as [string, string, string, string];
    // A GCM tag truncated to its first bytes is what a forger needs 2^32 tries to match.
    const short = Buffer.from(tag, "base64").subarray(0, 4).toString("base64");
    assert.throws(() => a.decrypt([version, iv, short, body].join("."), "r1/password"), /cannot be decrypted/);
    const long = Buffer.concat([Buffer.from(tag, "base64"), Buffer.alloc(1)]).toString("base64");
    assert.throws(() => a.decrypt([version, iv, long, body].join("."), "r1/password"), /cannot be decrypted/);
  });
  test("an existing key file is set back to 0600 when opened", () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-secret-"));
    try {
      const path = join(dir, "relay-secret");
      writeFileSync(path, `${"ab".repeat(32)}\n`, { mode: 0o644 });
      chmodSync(path, 0o644);
      assert.equal(RelaySecrets.open("", dir).generated, undefined);
      assert.equal(statSync(path).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("generated into the data dir with mode 0600 when not configured, and reused", () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-secret-"));
    try {
      const first = RelaySecrets.open("", dir);
      assert.ok(first.generated);
      assert.equal(statSync(first.generated).mode & 0o777, 0o600);
      const again = RelaySecrets.open("", dir);
      assert.equal(again.generated, undefined);
      assert.equal(again.secrets.decrypt(first.secrets.encrypt("x", "c"), "c"), "x");
      assert.throws(() => RelaySecrets.open("short", dir), /16 characters/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("relay input", () => {
  const base = { name: "r", host: "h", subscriptions: ["a/#"], mapping: { source: "topic" } };
  test("defaults: persistent session, stable client id, last topic level as serial", () => {
    const { settings } = validateRelayInput(base, undefined, "abc");
    assert.equal(settings.clean, false);
    assert.equal(settings.client_id, "sluice-relay-abc");
    assert.deepEqual(settings.mapping, { source: "topic", index: -1, match: "serial" });
    assert.deepEqual(settings.subscriptions, [{ topic: "a/#", qos: 1 }]);
    assert.equal(settings.port, 1883);
    assert.equal(validateRelayInput({ ...base, tls: true }, undefined, "abc").settings.port, 8883);
  });
  test("the mask keeps a secret, null clears it", () => {
    const { settings } = validateRelayInput(base, undefined, "abc");
    assert.deepEqual(validateRelayInput({ password: MASK }, settings, "abc").secrets, {});
    assert.deepEqual(validateRelayInput({ password: null }, settings, "abc").secrets, { password: null });
    assert.throws(() => validateRelayInput({ mapping: { source: "tag" } }, settings, "abc"), /mapping.source/);
    assert.throws(() => validateRelayInput({ mapping: { source: "json", field: "a", match: "tag" } }, settings, "abc"), /tag_key/);
    assert.throws(() => validateRelayInput({ downlink_topic: "a/+/b" }, settings, "abc"), /downlink_topic/);
  });
});
