import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { boundDetail, payloadPreview } from "../../src/inspector/detail.js";
import { Inspector, type InspectorOptions } from "../../src/inspector/inspector.js";
import { serializeEvent } from "../../src/inspector/serialize.js";
import type { InspectorEvent } from "../../src/inspector/types.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** An inspector on a clock the test moves by hand. */
function withClock(options: InspectorOptions = {}): { inspector: Inspector; advance(ms: number): void } {
  let now = Date.parse("2024-05-01T12:00:00Z");
  const inspector = new Inspector({ ...options, now: () => now });
  return { inspector, advance: (ms) => (now += ms) };
}

const summaries = (events: InspectorEvent[]) => events.map((e) => e.summary);

describe("ring bounds", () => {
  test("keeps the newest maxEventsPerDevice events, newest first", () => {
    const inspector = new Inspector({ maxEventsPerDevice: 3 });
    for (let i = 1; i <= 5; i++) inspector.record("d1", "message_in", `m${i}`);
    assert.deepEqual(summaries(inspector.list("d1")), ["m5", "m4", "m3"]);
  });

  test("the default keeps 500 per device", () => {
    const inspector = new Inspector();
    for (let i = 1; i <= 600; i++) inspector.record("d1", "message_in", `m${i}`);
    const events = inspector.list("d1", { limit: 500 });
    assert.equal(events.length, 500);
    assert.equal(events.at(-1)!.summary, "m101");
  });

  test("drops events older than maxAgeMs, on read as well as on insert", () => {
    const { inspector, advance } = withClock({ maxAgeMs: 60_000 });
    inspector.record("d1", "connect", "old");
    advance(30_000);
    inspector.record("d1", "message_in", "newer");
    advance(40_000); // "old" is now 70 s old, "newer" 40 s
    assert.deepEqual(summaries(inspector.list("d1")), ["newer"]);
    const bytesAfterRead = inspector.stats().bytes;
    advance(30_000);
    inspector.record("d1", "message_in", "newest");
    assert.deepEqual(summaries(inspector.list("d1")), ["newest"]);
    assert.ok(inspector.stats().bytes < bytesAfterRead * 2, "aged events' bytes are released");
  });

  test("the default age bound is 24 h", () => {
    const { inspector, advance } = withClock();
    inspector.record("d1", "connect", "yesterday");
    advance(24 * 3600_000 - 1);
    assert.equal(inspector.list("d1").length, 1);
    advance(2);
    assert.equal(inspector.list("d1").length, 0);
  });

  test("ids increase across devices, so a stream can resume after any of them", () => {
    const inspector = new Inspector();
    inspector.record("a", "connect", "a1");
    inspector.record("b", "connect", "b1");
    inspector.record("a", "disconnect", "a2");
    const [a2, a1] = inspector.list("a");
    const [b1] = inspector.list("b");
    assert.ok(a1!.id < b1!.id && b1!.id < a2!.id);
  });
});

describe("list filters", () => {
  function sample(): Inspector {
    const inspector = new Inspector();
    inspector.record("d1", "connect", "client c1 connected", { clientId: "c1" });
    inspector.record("d1", "message_in", "PUBLISH data/up", { topic: "data/up", payload: Buffer.from('{"Temperature":21}') });
    inspector.record("d1", "parser_log", "console.log: hello");
    inspector.record("d1", "error", "parser threw TypeError", { code: "PARSER_ERROR" });
    inspector.record("d2", "message_in", "PUBLISH other/device");
    return inspector;
  }

  test("kinds keeps only the listed kinds", () => {
    assert.deepEqual(summaries(sample().list("d1", { kinds: ["connect", "error"] })), ["parser threw TypeError", "client c1 connected"]);
  });

  test("search is case-insensitive over the summary", () => {
    assert.deepEqual(summaries(sample().list("d1", { search: "CONSOLE" })), ["console.log: hello"]);
  });

  test("search also looks into the detail's JSON (payload previews included)", () => {
    assert.deepEqual(summaries(sample().list("d1", { search: "temperature" })), ["PUBLISH data/up"]);
    assert.deepEqual(summaries(sample().list("d1", { search: "parser_error" })), ["parser threw TypeError"]);
  });

  test("limit pages newest first, and before=<id> gives the next page", () => {
    const inspector = sample();
    const first = inspector.list("d1", { limit: 2 });
    assert.deepEqual(summaries(first), ["parser threw TypeError", "console.log: hello"]);
    const second = inspector.list("d1", { limit: 2, before: first.at(-1)!.id });
    assert.deepEqual(summaries(second), ["PUBLISH data/up", "client c1 connected"]);
  });

  test("since=<id> keeps only later events; dates work for since and before", () => {
    const { inspector, advance } = withClock();
    inspector.record("d1", "connect", "t0");
    advance(1000);
    inspector.record("d1", "message_in", "t1");
    advance(1000);
    inspector.record("d1", "message_in", "t2");
    const [t2, t1, t0] = inspector.list("d1");
    assert.deepEqual(summaries(inspector.list("d1", { since: t0!.id })), ["t2", "t1"]);
    assert.deepEqual(summaries(inspector.list("d1", { since: t1!.time })), ["t2"]);
    assert.deepEqual(summaries(inspector.list("d1", { before: t2!.time })), ["t1", "t0"]);
  });

  test("limit defaults to 50 and is clamped to 1..500", () => {
    const inspector = new Inspector();
    for (let i = 0; i < 520; i++) inspector.record("d1", "message_in", `m${i}`);
    assert.equal(inspector.list("d1").length, 50);
    assert.equal(inspector.list("d1", { limit: 9999 }).length, 500);
    assert.equal(inspector.list("d1", { limit: 0 }).length, 1);
  });

  test("an unknown device lists nothing", () => {
    assert.deepEqual(new Inspector().list("nobody"), []);
  });
});

describe("enable / disable", () => {
  test("a device is enabled by default; switched off, wants() is false and record drops events", async () => {
    const inspector = new Inspector();
    assert.equal(inspector.wants("d1"), true);
    await inspector.setEnabled("d1", false);
    assert.equal(inspector.wants("d1"), false);
    assert.equal(inspector.wants("d2"), true);
    inspector.record("d1", "connect", "dropped");
    assert.deepEqual(inspector.list("d1"), []);
    await inspector.setEnabled("d1", true);
    inspector.record("d1", "connect", "kept");
    assert.deepEqual(summaries(inspector.list("d1")), ["kept"]);
  });

  test("the switch is persisted through the callback, and loaded back from `disabled`", async () => {
    const saved: [string, boolean][] = [];
    const inspector = new Inspector({ persistEnabled: (id, on) => void saved.push([id, on]) });
    await inspector.setEnabled("d1", false);
    await inspector.setEnabled("d1", false); // no change, no write
    await inspector.setEnabled("d1", true);
    assert.deepEqual(saved, [["d1", false], ["d1", true]]);
    const restarted = new Inspector({ disabled: ["d9"] });
    assert.equal(restarted.wants("d9"), false);
  });

  test("a failed save leaves the switch as it was and raises a typed error", async () => {
    const inspector = new Inspector({ persistEnabled: () => Promise.reject(new Error("disk full")) });
    await assert.rejects(inspector.setEnabled("d1", false), { name: "SluiceError", code: "INSPECTOR_PERSIST_FAILED" });
    assert.equal(inspector.wants("d1"), true);
  });

  test("events already recorded stay readable after switching off", async () => {
    const inspector = new Inspector();
    inspector.record("d1", "connect", "before");
    await inspector.setEnabled("d1", false);
    assert.deepEqual(summaries(inspector.list("d1")), ["before"]);
  });
});

describe("subscribe", () => {
  test("a listener gets each event recorded after it subscribed, on a later tick, until it unsubscribes", async () => {
    const inspector = new Inspector();
    inspector.record("d1", "connect", "before");
    const seen: string[] = [];
    const unsubscribe = inspector.subscribe("d1", (events) => seen.push(...events.map((e) => e.summary)));
    assert.equal(inspector.watching("d1"), true);
    inspector.record("d1", "message_in", "live");
    inspector.record("d2", "message_in", "other device");
    assert.deepEqual(seen, [], "not from record: off the publish path");
    await tick();
    assert.deepEqual(seen, ["live"]);
    unsubscribe();
    inspector.record("d1", "message_in", "after");
    await tick();
    assert.deepEqual(seen, ["live"]);
    assert.equal(inspector.watching("d1"), false);
    unsubscribe(); // twice is harmless
  });

  test("a throwing listener neither fails record nor starves the other listeners", async () => {
    const inspector = new Inspector();
    const seen: string[] = [];
    inspector.subscribe("d1", () => {
      throw new Error("broken");
    });
    inspector.subscribe("d1", (events) => seen.push(...events.map((e) => e.summary)));
    inspector.record("d1", "message_in", "m");
    await tick();
    assert.deepEqual(seen, ["m"]);
  });

  test("a tick's events reach a listener in one call, oldest first; one subscribed later gets only later ones", async () => {
    const inspector = new Inspector();
    const early: string[][] = [];
    const late: string[][] = [];
    inspector.subscribe("d1", (events) => early.push(events.map((e) => e.summary)));
    inspector.record("d1", "message_in", "a");
    inspector.record("d1", "message_in", "b");
    inspector.subscribe("d1", (events) => late.push(events.map((e) => e.summary)));
    inspector.record("d1", "message_in", "c");
    await tick();
    assert.deepEqual(early, [["a", "b", "c"]]);
    assert.deepEqual(late, [["c"]], "a and b were recorded before it subscribed (its backlog has them)");
  });

  test("forget drops the device's events and switch, and ends its listeners", async () => {
    const inspector = new Inspector();
    inspector.record("d1", "connect", "c");
    await inspector.setEnabled("d1", false);
    let ended = 0;
    inspector.subscribe("d1", () => {}, () => ended++);
    inspector.forget("d1");
    assert.deepEqual(inspector.list("d1"), []);
    assert.equal(inspector.wants("d1"), true);
    assert.equal(inspector.watching("d1"), false);
    assert.equal(ended, 1);
    assert.equal(inspector.stats().bytes, 0);
  });
});

describe("overall memory bounds", () => {
  test("past maxDevices, a ring not used since it was created goes first (CLOCK, an LRU approximation)", () => {
    const inspector = new Inspector({ maxDevices: 3 });
    inspector.record("a", "connect", "a");
    inspector.record("b", "connect", "b");
    inspector.record("c", "connect", "c");
    inspector.record("a", "message_in", "a again"); // a is used again; b and c are not
    inspector.record("d", "connect", "d");
    assert.equal(inspector.stats().devices, 3);
    assert.equal(inspector.list("b").length, 0, "b was evicted");
    assert.equal(inspector.list("a").length, 2);
    assert.equal(inspector.list("c").length, 1);
    assert.equal(inspector.list("d").length, 1);
  });

  test("reading a ring counts as using it", () => {
    const inspector = new Inspector({ maxDevices: 2 });
    inspector.record("a", "connect", "a");
    inspector.record("b", "connect", "b");
    inspector.list("a");
    inspector.record("c", "connect", "c");
    assert.equal(inspector.list("a").length, 1);
    assert.equal(inspector.list("b").length, 0);
  });

  test("rings keep going when their bytes pass maxTotalBytes, and the count stays bounded", () => {
    const inspector = new Inspector({ maxTotalBytes: 50_000 });
    for (let i = 0; i < 2000; i++) inspector.record(`d${i % 200}`, "message_in", "x".repeat(100), { payload: Buffer.alloc(200, 0x61) });
    const { bytes, devices } = inspector.stats();
    assert.ok(bytes <= 50_000, `bytes ${bytes}`);
    assert.ok(devices < 200 && devices > 0, `devices ${devices}`);
  });

  test("the ring just written is never evicted, even alone over the byte budget", () => {
    const inspector = new Inspector({ maxTotalBytes: 100 });
    inspector.record("a", "connect", "a");
    inspector.record("b", "connect", "b");
    assert.equal(inspector.list("b").length, 1);
  });

  test("summaries are cut to maxSummaryChars", () => {
    const inspector = new Inspector({ maxSummaryChars: 10 });
    inspector.record("d1", "parser_log", "a".repeat(50));
    assert.equal(inspector.list("d1")[0]!.summary, `${"a".repeat(10)}…`);
  });
});

describe("detail truncation", () => {
  test("a binary payload becomes a 256-byte hex preview with its full size", () => {
    const preview = payloadPreview(Buffer.alloc(10_000, 0x01));
    assert.equal(preview.bytes, 10_000);
    assert.equal(preview.truncated, true);
    assert.equal(preview.hex, "01".repeat(256));
    assert.equal(preview.text, undefined);
  });

  test("a text payload previews as text, without splitting a multi-byte character", () => {
    assert.deepEqual(payloadPreview(Buffer.from('{"t":21}')), { bytes: 8, text: '{"t":21}', truncated: false });
    const cut = payloadPreview(Buffer.from("ab€"), 3); // € is 3 bytes: only its first one fits
    assert.deepEqual(cut, { bytes: 5, text: "ab", truncated: true });
  });

  test("record bounds the detail: long strings, long arrays, deep nesting, Buffers, Errors, Dates", () => {
    const inspector = new Inspector();
    const records = Array.from({ length: 8000 }, (_, i) => ({ variable: `v${i}`, value: i }));
    inspector.record("d1", "parser_output", "8000 records", {
      records,
      note: "n".repeat(5000),
      deep: { a: { b: { c: { d: { e: 1 } } } } },
      payload: Buffer.from("hello"),
      error: Object.assign(new TypeError("bad"), { code: "E_BAD" }),
      at: new Date("2024-05-01T00:00:00Z"),
      skip: () => 1,
    });
    const detail = inspector.list("d1")[0]!.detail!;
    const json = JSON.stringify(detail);
    assert.ok(json.length < 2048, `detail JSON is ${json.length} characters`);
    const kept = detail.records as unknown[];
    assert.ok(kept.length <= 21);
    assert.equal(detail.truncated, true, "cut details say so");
  });

  test("small details are kept as they were (Buffers and Dates made JSON-ready)", () => {
    const { detail } = boundDetail({
      topic: "a/b",
      qos: 1,
      retain: false,
      payload: Buffer.from("hi"),
      at: new Date("2024-05-01T00:00:00Z"),
      error: Object.assign(new TypeError("bad"), { code: "E_BAD" }),
      deep: { a: { b: { c: { d: { e: 1 } } } } },
      missing: undefined,
    });
    assert.deepEqual(detail, {
      topic: "a/b",
      qos: 1,
      retain: false,
      payload: { bytes: 2, text: "hi", truncated: false },
      at: "2024-05-01T00:00:00.000Z",
      error: { name: "TypeError", message: "bad", code: "E_BAD" },
      deep: { a: { b: { c: { d: "…" } } } },
    });
  });

  test("long strings keep their first 256 characters and say how long they were", () => {
    const { detail } = boundDetail({ log: "x".repeat(1000) });
    assert.equal(detail.log, `${"x".repeat(256)}…(1000 chars)`);
  });

  test('an own "__proto__" key (from a parsed payload) stays a plain key', () => {
    const { detail } = boundDetail(JSON.parse('{"__proto__":{"polluted":true}}') as Record<string, unknown>);
    assert.equal(Object.getPrototypeOf(detail), Object.prototype);
    assert.equal((detail as { polluted?: unknown }).polluted, undefined);
    assert.equal(JSON.stringify(detail), '{"__proto__":{"polluted":true}}');
  });

  test("a cyclic detail is cut at the depth bound instead of looping", () => {
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    assert.doesNotThrow(() => JSON.stringify(boundDetail(cyclic).detail));
  });
});

test("serializeEvent gives the API's JSON shape", () => {
  const event: InspectorEvent = { id: 7, deviceId: "d1", time: new Date("2024-05-01T12:00:00Z"), kind: "connect", summary: "hi" };
  assert.deepEqual(serializeEvent(event), { id: 7, device_id: "d1", time: "2024-05-01T12:00:00.000Z", kind: "connect", summary: "hi", detail: null });
});
