import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeChange } from "../../src/cluster/change_notices.js";

// A change notice comes off NATS, where anyone connected may publish: each field is checked,
// and the worst a forged one can do is make nodes read their actions again.
test("decodeChange takes only a known kind from a bounded, versioned notice", () => {
  const enc = (o: unknown) => new TextEncoder().encode(typeof o === "string" ? o : JSON.stringify(o));
  assert.deepEqual(decodeChange(enc({ v: 1, kind: "actions", origin: "n1/ab" })), { kind: "actions", origin: "n1/ab" });
  assert.equal(decodeChange(enc({ v: 2, kind: "actions", origin: "n1" })), "version");
  assert.equal(decodeChange(enc({ v: 1, kind: "users", origin: "n1" })), "malformed");
  assert.equal(decodeChange(enc({ v: 1, kind: "actions" })), "malformed");
  assert.equal(decodeChange(enc({ v: 1, kind: "actions", origin: "x".repeat(201) })), "malformed");
  assert.equal(decodeChange(enc("not json")), "malformed");
  assert.equal(decodeChange(enc("[1]")), "malformed");
  assert.equal(decodeChange(new Uint8Array([0xc3, 0x28])), "malformed");
  assert.equal(decodeChange(new Uint8Array(2000).fill(0x20)), "malformed");
});
