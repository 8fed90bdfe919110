import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type * as Base64 from "../../console/src/api/base64.js";
import type * as Draft from "../../console/src/pages/relay/draft.js";
import type { RelayJson } from "../../src/http/api_types.js";
import { loadConsoleModule } from "../helpers/console_module.js";

// The relay form's logic outside the browser (console/src/pages/relay/draft.ts): what a save
// sends, credentials write-only; and the scripts' base64 (console/src/api/base64.ts).
let d: typeof Draft;
let b64: typeof Base64;
before(async () => {
  d = await loadConsoleModule<typeof Draft>("pages/relay/draft.ts");
  b64 = await loadConsoleModule<typeof Base64>("api/base64.ts");
});

const stored: RelayJson = {
  id: "r1", name: "plant", active: true, host: "broker", port: 8883, tls: true, ca: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n", cert: null,
  username: "u", client_id: "sluice-relay-r1", protocol_version: 5, keepalive: 30, clean: false,
  subscriptions: [{ topic: "plant/+/up", qos: 1 }], mapping: { source: "json", field: "meta.serial", match: "tag", tag_key: "serial" },
  downlink_topic: "plant/$SERIAL$/down", forward_to_broker: false, max_queue: 10, reconnect_min_ms: 500, reconnect_max_ms: 5000,
  password: "********", key: "********", created_at: "2026-01-01T00:00:00.000Z", updated_at: "2026-01-01T00:00:00.000Z",
  status: { state: "connected", connected: true, connected_at: null, last_error: null, last_error_at: null, counters: { messages_in: 0, messages_out: 0, queued: 0, dropped: 0, reconnects: 0, unmapped: 0, failed: 0, busy_dropped: 0 } },
};

describe("the relay form", () => {
  test("an edit sends the settings as stored and no secret unless changed", () => {
    const body = d.bodyOf(d.draftOf(stored), false) as Record<string, unknown>;
    assert.equal("password" in body, false);
    assert.equal("key" in body, false);
    assert.deepEqual(body.mapping, { source: "json", field: "meta.serial", match: "tag", tag_key: "serial" });
    assert.deepEqual(body.subscriptions, [{ topic: "plant/+/up", qos: 1 }]);
    assert.equal(body.port, 8883);
    assert.equal(body.ca, stored.ca);
    assert.equal(body.client_id, "sluice-relay-r1");
    assert.equal(body.downlink_topic, "plant/$SERIAL$/down");
    assert.equal(body.protocol_version, 5);
  });

  test("a typed password is sent, a removed one is sent as null, a new key as its PEM", () => {
    const draft = d.draftOf(stored);
    assert.equal(d.bodyOf({ ...draft, password: { kind: "set", value: "pw" } }, false).password, "pw");
    assert.equal(d.bodyOf({ ...draft, password: { kind: "clear" } }, false).password, null);
    assert.equal(d.bodyOf({ ...draft, key: { kind: "set", value: "-----BEGIN PRIVATE KEY-----" } }, false).key, "-----BEGIN PRIVATE KEY-----");
  });

  test("a create leaves out what is empty so the API's defaults apply, and blank topics", () => {
    const draft = { ...d.emptyDraft(), name: "n", host: " h ", subscriptions: [d.subscriptionRow("a/#", 0), d.subscriptionRow("  ")] };
    const body = d.bodyOf(draft, true) as Record<string, unknown>;
    assert.equal("port" in body, false);
    assert.equal("client_id" in body, false);
    assert.equal("password" in body, false);
    assert.equal(body.host, "h");
    assert.deepEqual(body.subscriptions, [{ topic: "a/#", qos: 0 }]);
    assert.deepEqual(body.mapping, { source: "topic", index: -1, match: "serial" });
    // A number the API would refuse goes as typed, for the API to name.
    assert.equal(d.bodyOf({ ...draft, port: "80a" }, true).port, "80a");
  });

  test("a broker URL in the host field fills host, port and TLS", () => {
    const draft = d.emptyDraft();
    assert.deepEqual(pick(d.withHost(draft, "mqtts://broker.example.com:9883")), { host: "broker.example.com", port: "9883", tls: true });
    assert.deepEqual(pick(d.withHost(draft, "mqtt://10.0.0.5")), { host: "10.0.0.5", port: "1883", tls: false });
    assert.deepEqual(pick(d.withHost(draft, "ssl://[::1]:8884/")), { host: "::1", port: "8884", tls: true });
    assert.deepEqual(pick(d.withHost(draft, "broker.example.com")), { host: "broker.example.com", port: "", tls: false });
  });
});

function pick(x: { host: string; port: string; tls: boolean }) {
  return { host: x.host, port: x.port, tls: x.tls };
}

describe("scripts in base64", () => {
  test("UTF-8 text round-trips, and a data: URL reads back", () => {
    const text = "// é ✓ 漢字\nconsole.log(1);\n".repeat(5000);
    assert.equal(b64.base64ToText(b64.textToBase64(text)), text);
    assert.equal(b64.textToBase64("é"), Buffer.from("é").toString("base64"));
    assert.equal(b64.dataUrlText(`data:text/javascript;base64,${Buffer.from("x = 1").toString("base64")}`), "x = 1");
    assert.throws(() => b64.dataUrlText("https://example.com/script.js"), /not a base64 data: URL/);
  });
});
