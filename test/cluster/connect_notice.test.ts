import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConnectClock, decodeNotice, encodeNotice, MAX_CLOCK_LEAD_MS, MAX_NOTICE_BYTES } from "../../src/cluster/connect_notice.js";
import { connectSubject } from "../../src/cluster/subjects.js";
import { stampBefore } from "../../src/mqtt/cluster_link.js";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe("connect notices", () => {
  test("round-trip, odd client ids and namespaces included", () => {
    for (const clientId of ["a", "with space.dot*>", "ünï/cødé", "x".repeat(65_535)]) {
      const notice = { namespace: "acc.1 *", clientId, origin: "node-a/1f2e", at: 1_700_000_000_000 };
      assert.deepEqual(decodeNotice(encodeNotice(notice)), { ok: true, notice });
    }
  });

  test("anything else is malformed, another version is a version drop; nothing throws", () => {
    const good = { v: 1, ns: "n", id: "c", origin: "o/1", at: 5 };
    const malformed: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array(MAX_NOTICE_BYTES + 1).fill(0x20),
      new Uint8Array([0xc3, 0x28]),
      enc(null), enc([good]), enc("str"), enc(7),
      enc({ ...good, v: "1" }),
      enc({ ...good, ns: 1 }),
      enc({ ...good, id: "" }), enc({ ...good, id: ["c"] }), enc({ ...good, id: "x".repeat(65_536) }),
      enc({ ...good, origin: "" }), enc({ ...good, origin: "o".repeat(256) }),
      enc({ ...good, at: -1 }), enc({ ...good, at: 1.5 }), enc({ ...good, at: "5" }), enc({ ...good, at: 2 ** 60 }),
      new TextEncoder().encode('{"v":1,"ns":"n","id":"c","origin":"o/1","at":5'),
    ];
    for (const data of malformed) assert.deepEqual(decodeNotice(data), { ok: false, reason: "malformed" });
    assert.deepEqual(decodeNotice(enc({ ...good, v: 2 })), { ok: false, reason: "version" });
    assert.equal(decodeNotice(enc(good)).ok, true);
  });

  test("the subject escapes the namespace as one token", () => {
    assert.equal(connectSubject("anonymous"), "sluice.c.anonymous.connect");
    assert.equal(connectSubject("a.b *"), "sluice.c.a=2Eb=20=2A.connect");
    assert.equal(connectSubject(""), "sluice.c.=.connect");
  });
});

describe("the connect clock", () => {
  test("stamps increase even when the wall clock stands still or goes back", () => {
    let now = 1000;
    const clock = new ConnectClock(() => now);
    assert.equal(clock.stamp(), 1000);
    assert.equal(clock.stamp(), 1001);
    now = 500;
    assert.equal(clock.stamp(), 1002);
  });

  test("a stamp heard of orders every later connection after it; one too far ahead is refused", () => {
    const now = 1000;
    const clock = new ConnectClock(() => now);
    assert.equal(clock.observe(now + 5000), true);
    assert.equal(clock.stamp(), now + 5001);
    assert.equal(clock.observe(now + MAX_CLOCK_LEAD_MS + 1), false);
    assert.equal(clock.stamp(), now + 5002);
  });

  test("stamps order by time, then origin: two nodes always agree", () => {
    const a = { at: 10, origin: "a/1" };
    const b = { at: 10, origin: "b/1" };
    assert.equal(stampBefore(a, b), true);
    assert.equal(stampBefore(b, a), false);
    assert.equal(stampBefore({ at: 9, origin: "z" }, a), true);
    assert.equal(stampBefore(a, a), false);
  });
});
