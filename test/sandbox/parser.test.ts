import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { IsolateParserSandbox } from "../../src/sandbox/isolate_parser_sandbox.js";
import { ParserError, type ParserDevice, type ParserFailureKind, type ParserRunInput } from "../../src/sandbox/types.js";

// Payload parsers in the isolate sandbox: what TagoIO parsers rely on works, and nothing a
// parser does reaches the host, another device, or the next message.

const sandbox = new IsolateParserSandbox();
after(() => sandbox.close());

let devices = 0;
function device(overrides: Partial<ParserDevice> = {}): ParserDevice {
  devices++;
  return { id: `device-${devices}`, name: `sensor ${devices}`, params: [], tags: [], ...overrides };
}

const raw = (value: string, topic = "sensors/1"): ParserRunInput["payload"] => [{ variable: "payload", value, metadata: { topic, mqtt_topic: topic } }];

async function fails(promise: Promise<unknown>, kind: ParserFailureKind): Promise<ParserError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ParserError, `expected a ParserError, got ${String(error)}`);
    assert.equal(error.kind, kind, `expected ${kind}, got ${error.kind}: ${error.message}`);
    assert.equal(error.code, `PARSER_${kind.toUpperCase()}`);
    return error;
  }
  assert.fail(`expected the parser to fail with ${kind}`);
}

// The uplink of TagoIO's own snippet: 2 bytes temperature ×100, 2 bytes humidity ×100.
const TAGO_PARSER = `
const payload_raw = payload.find((x) => x.variable === "payload_raw" || x.variable === "payload" || x.variable === "data");
if (payload_raw) {
  try {
    const buffer = Buffer.from(payload_raw.value, "hex");
    const group = payload_raw.group || String(new Date().getTime());
    const data = [
      { variable: "temperature", value: buffer.readInt16BE(0) / 100, unit: "°C" },
      { variable: "humidity", value: buffer.readUInt16BE(2) / 100, unit: "%" },
    ];
    payload = payload.concat(data.map((x) => ({ ...x, group, metadata: payload_raw.metadata })));
  } catch (e) {
    console.error(e);
    payload = [{ variable: "parse_error", value: e.message }];
  }
}
`;

describe("what TagoIO parsers rely on", () => {
  test("a TagoIO-style parser decodes a hex uplink into records", async () => {
    const result = await sandbox.run(TAGO_PARSER, { payload: raw("0a2b1388"), device: device() });
    const records = result.payload as { variable: string; value: unknown; unit?: string; metadata?: unknown }[];
    assert.equal(records.length, 3);
    assert.deepEqual(records.slice(1).map(({ variable, value, unit }) => ({ variable, value, unit })), [
      { variable: "temperature", value: 26.03, unit: "°C" },
      { variable: "humidity", value: 50, unit: "%" },
    ]);
    assert.deepEqual(records[1]!.metadata, { topic: "sensors/1", mqtt_topic: "sensors/1" });
    assert.deepEqual(result.logs, []);
    assert.ok(result.durationMs > 0);
  });

  test("negative readings decode as such", async () => {
    const result = await sandbox.run(TAGO_PARSER, { payload: raw("fc181388"), device: device() });
    assert.equal((result.payload as { value: unknown }[])[1]!.value, -10);
  });

  test("reassigning payload replaces the records", async () => {
    const result = await sandbox.run(`payload = payload.map((r) => ({ variable: "x", value: r.value.length }));`, {
      payload: raw("abcd"),
      device: device(),
    });
    assert.deepEqual(result.payload, [{ variable: "x", value: 4 }]);
  });

  test("editing payload in place is kept", async () => {
    const result = await sandbox.run(`payload[0].value = "edited"; payload.push({ variable: "extra", value: 1 });`, {
      payload: raw("abcd"),
      device: device(),
    });
    assert.deepEqual(result.payload, [{ variable: "payload", value: "edited", metadata: { topic: "sensors/1", mqtt_topic: "sensors/1" } }, { variable: "extra", value: 1 }]);
  });

  test("a top-level return ends the parser early, keeping payload as it is", async () => {
    const result = await sandbox.run(`if (payload.length > 0) return;\npayload = [];`, { payload: raw("ab"), device: device() });
    assert.equal((result.payload as unknown[]).length, 1);
  });

  test("a script ending with an expression statement runs", async () => {
    const result = await sandbox.run(`payload = payload.filter((r) => r.variable !== "payload");\npayload;`, { payload: raw("ab"), device: device() });
    assert.deepEqual(result.payload, []);
  });

  test("raw_payload keeps the records as they arrived, whatever the parser does to payload", async () => {
    const result = await sandbox.run(`payload[0].value = "changed"; payload = payload.concat(raw_payload);`, { payload: raw("ab"), device: device() });
    const values = (result.payload as { value: unknown }[]).map((r) => r.value);
    assert.deepEqual(values, ["changed", "ab"]);
  });

  test("the caller's records are copies: the parser's edits never reach them", async () => {
    const input = raw("ab");
    await sandbox.run(`payload[0].value = "changed"; payload[0].metadata.topic = "x";`, { payload: input, device: device() });
    assert.deepEqual(input, raw("ab"));
  });

  test("device id, name, params and tags are readable", async () => {
    const subject = device({
      params: [{ key: "offset", value: "1.5", sent: false }],
      tags: [{ key: "site", value: "north" }],
    });
    const result = await sandbox.run(
      `const offset = Number(device.params.find((p) => p.key === "offset").value);
       payload = [{ variable: "t", value: 20 + offset, metadata: { id: device.id, name: device.name, site: device.tags[0].value, sent: device.params[0].sent } }];`,
      { payload: [], device: subject },
    );
    assert.deepEqual(result.payload, [{ variable: "t", value: 21.5, metadata: { id: subject.id, name: subject.name, site: "north", sent: false } }]);
  });

  test("dayjs, with its utc and timezone plugins", async () => {
    const result = await sandbox.run(
      `payload = [
         { variable: "utc", value: dayjs.utc("2024-01-15T12:00:00Z").format("YYYY-MM-DD HH:mm") },
         { variable: "sp", value: dayjs.utc("2024-01-15T12:00:00Z").tz("America/Sao_Paulo").format() },
         { variable: "berlin", value: dayjs.tz("2024-07-01 08:00", "Europe/Berlin").toISOString() },
         { variable: "unix", value: dayjs("2024-01-15T12:00:00Z").unix() },
       ];`,
      { payload: [], device: device() },
    );
    assert.deepEqual(
      (result.payload as { value: unknown }[]).map((r) => r.value),
      ["2024-01-15 12:00", "2024-01-15T09:00:00-03:00", "2024-07-01T06:00:00.000Z", 1705320000],
    );
  });

  test("timeUtils", async () => {
    const result = await sandbox.run(
      `payload = [
         { variable: "convert", value: timeUtils.convertTimezone("2024-01-15 09:00:00", "America/Sao_Paulo", "UTC") },
         { variable: "format", value: timeUtils.formatInTimezone("2024-01-15T12:00:00Z", "Asia/Tokyo", "DD/MM HH:mm") },
         { variable: "offset", value: timeUtils.getTimezoneOffset("Asia/Kolkata") },
         { variable: "dst", value: timeUtils.getTimezoneOffset("Europe/Berlin", "2024-07-01T00:00:00Z") },
         { variable: "valid", value: timeUtils.isValidTimezone("Europe/Lisbon") },
         { variable: "invalid", value: timeUtils.isValidTimezone("Mars/Olympus") },
         { variable: "now", value: timeUtils.nowInTimezone("UTC") },
         { variable: "utc", value: timeUtils.toUTC("2024-01-15 09:00", "America/Sao_Paulo") },
       ];`,
      { payload: [], device: device() },
    );
    const values = Object.fromEntries((result.payload as { variable: string; value: unknown }[]).map((r) => [r.variable, r.value]));
    assert.equal(values.convert, "2024-01-15T12:00:00Z");
    assert.equal(values.format, "15/01 21:00");
    assert.equal(values.offset, 330);
    assert.equal(values.dst, 120);
    assert.equal(values.valid, true);
    assert.equal(values.invalid, false);
    assert.ok(Math.abs(Date.parse(String(values.now)) - Date.now()) < 5000, `now: ${String(values.now)}`);
    assert.equal(values.utc, "2024-01-15T12:00:00.000Z");
  });

  test("timeUtils rejects an unknown timezone with a clear error", async () => {
    const error = await fails(sandbox.run(`timeUtils.nowInTimezone("Nowhere/Land")`, { payload: [], device: device() }), "exception");
    assert.match(error.message, /invalid timezone "Nowhere\/Land"/);
  });

  test("console output is captured with its level", async () => {
    const result = await sandbox.run(
      `console.log("decoded", payload.length, { a: 1, b: [1, "x"] }); console.debug("d"); console.info("i"); console.warn("w"); console.error(new Error("e"));`,
      { payload: raw("ab"), device: device() },
    );
    assert.deepEqual(result.logs.slice(0, 4), [
      { level: "log", message: 'decoded 1 {"a": 1, "b": [1, "x"]}' },
      { level: "debug", message: "d" },
      { level: "info", message: "i" },
      { level: "warn", message: "w" },
    ]);
    assert.equal(result.logs[4]!.level, "error");
    assert.match(result.logs[4]!.message, /^Error: e\n\s+at .*parser\.js:1:/);
  });

  test("console output is bounded: lines per message and characters per line", async () => {
    const result = await sandbox.run(`for (let i = 0; i < 500; i++) console.log("x".repeat(5000));`, { payload: [], device: device() });
    assert.equal(result.logs.length, 101);
    assert.ok(result.logs.slice(0, 100).every((line) => line.message.length <= 1025));
    assert.deepEqual(result.logs[100], { level: "warn", message: "400 more console lines dropped (limit: 100 per message)" });
  });

  test("the console lines written before a failure come with the error", async () => {
    const error = await fails(sandbox.run(`console.log("about to fail"); throw new Error("no");`, { payload: [], device: device() }), "exception");
    assert.deepEqual(error.logs, [{ level: "log", message: "about to fail" }]);
  });

  test("Buffer, atob and btoa are there, as in TagoIO's parsers", async () => {
    const result = await sandbox.run(
      `const b = Buffer.from("7b2274223a32317d", "hex");
       payload = [
         { variable: "json", value: JSON.parse(b.toString()).t },
         { variable: "b64", value: Buffer.from("hello").toString("base64") },
         { variable: "atob", value: atob(btoa("hi")) },
         { variable: "isBuffer", value: Buffer.isBuffer(b) },
       ];`,
      { payload: [], device: device() },
    );
    assert.deepEqual((result.payload as { value: unknown }[]).map((r) => r.value), [21, "aGVsbG8=", "hi", true]);
  });
});

/**
 * Filling 32 MB takes a parser some tens of milliseconds, more on a loaded machine: memory-bomb
 * runs get time enough that the heap limit, not the clock, is what stops them.
 */
const ROOM_TO_FILL_THE_HEAP = { timeoutMs: 5000 };

describe("failures, by kind", () => {
  test("a throw is an exception, with its message and line", async () => {
    const error = await fails(sandbox.run(`const a = 1;\n\nthrow new Error("bad frame");`, { payload: [], device: device() }), "exception");
    assert.equal(error.message, "Error: bad frame");
    assert.equal(error.line, 3);
    assert.equal(error.httpStatus, 400);
  });

  test("a runtime TypeError names the line it happened on", async () => {
    const error = await fails(sandbox.run(`let x;\nx.value.length;`, { payload: [], device: device() }), "exception");
    assert.match(error.message, /^TypeError: Cannot read properties of undefined/);
    assert.equal(error.line, 2);
  });

  test("throwing something that is not an Error still reports it", async () => {
    const error = await fails(sandbox.run(`throw "unknown frame type";`, { payload: [], device: device() }), "exception");
    assert.equal(error.message, "Uncaught unknown frame type");
  });

  test("a syntax error is a compile error with its line", async () => {
    const error = await fails(sandbox.run(`const a = 1;\nconst b = ;`, { payload: [], device: device() }), "compile");
    assert.match(error.message, /^SyntaxError: Unexpected token ';' \(line 2\)/);
    assert.equal(error.line, 2);
  });

  test("TypeScript syntax fails to compile, with a hint saying so", async () => {
    const error = await fails(sandbox.run(`const data: number[] = [];\npayload = data;`, { payload: [], device: device() }), "compile");
    assert.match(error.message, /SyntaxError/);
    assert.match(error.message, /looks like TypeScript/);
  });

  test("payload that is not an array or object at the end is invalid_output", async () => {
    for (const script of ["payload = 42;", "payload = undefined;", "payload = null;", `payload = "text";`]) {
      const error = await fails(sandbox.run(script, { payload: [], device: device() }), "invalid_output");
      assert.match(error.message, /payload must be an array of records/);
    }
  });

  test("payload that cannot be serialized is invalid_output", async () => {
    const error = await fails(sandbox.run(`const r = { variable: "x" }; r.self = r; payload = [r];`, { payload: [], device: device() }), "invalid_output");
    assert.match(error.message, /cannot be serialized as JSON/);
    await fails(sandbox.run(`payload = [{ variable: "x", value: 10n }];`, { payload: [], device: device() }), "invalid_output");
  });

  test("output over the size cap is invalid_output", async () => {
    const small = new IsolateParserSandbox({ maxOutputBytes: 1000 });
    try {
      const error = await fails(small.run(`payload = [{ variable: "x", value: "y".repeat(2000) }];`, { payload: [], device: device() }), "invalid_output");
      assert.match(error.message, /larger than 1000 bytes/);
      // Multi-byte characters count as the bytes they take.
      await fails(small.run(`payload = [{ variable: "x", value: "é".repeat(600) }];`, { payload: [], device: device() }), "invalid_output");
    } finally {
      await small.close();
    }
  });

  test("an endless loop is stopped at the time limit; other devices carry on", async () => {
    const started = Date.now();
    await fails(sandbox.run(`while (true) {}`, { payload: [], device: device() }), "timeout");
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 190 && elapsed < 2000, `stopped after ${elapsed} ms`);
    const next = await sandbox.run(`payload = [{ variable: "ok", value: 1 }];`, { payload: [], device: device() });
    assert.deepEqual(next.payload, [{ variable: "ok", value: 1 }]);
  });

  test("the same device runs again after a timeout", async () => {
    const subject = device();
    await fails(sandbox.run(`for (;;) { console.log("tick"); }`, { payload: [], device: subject }), "timeout");
    const next = await sandbox.run(`payload = [{ variable: "ok", value: typeof tick }];`, { payload: [], device: subject });
    assert.deepEqual(next.payload, [{ variable: "ok", value: "undefined" }]);
  });

  test("a per-run time limit overrides the default", async () => {
    const started = Date.now();
    await fails(sandbox.run(`while (true) {}`, { payload: [], device: device() }, { timeoutMs: 30 }), "timeout");
    assert.ok(Date.now() - started < 1000);
  });

  test("time spent in a getter of a thrown object, or in toJSON, counts against the limit", async () => {
    await fails(sandbox.run(`throw { get message() { for (;;) {} } };`, { payload: [], device: device() }), "timeout");
    await fails(sandbox.run(`class Sneaky extends Error { get message() { for (;;) {} } }\nthrow new Sneaky();`, { payload: [], device: device() }), "timeout");
    await fails(sandbox.run(`payload = [{ toJSON() { for (;;) {} } }];`, { payload: [], device: device() }), "timeout");
  });

  test("a huge allocation hits the memory limit; the device gets a fresh isolate next time", async () => {
    const subject = device();
    const neighbour = device();
    await sandbox.run(`payload = [];`, { payload: [], device: neighbour });
    const error = await fails(sandbox.run(`const all = []; while (true) all.push(new Array(100000).fill(1));`, { payload: [], device: subject }, ROOM_TO_FILL_THE_HEAP), "memory");
    assert.match(error.message, /more than 32 MB/);
    const again = await sandbox.run(`payload = [{ variable: "ok", value: 1 }];`, { payload: [], device: subject });
    assert.deepEqual(again.payload, [{ variable: "ok", value: 1 }]);
    const other = await sandbox.run(`payload = [{ variable: "neighbour", value: 1 }];`, { payload: [], device: neighbour });
    assert.deepEqual(other.payload, [{ variable: "neighbour", value: 1 }]);
  });

  test("a huge string or buffer fails without taking the isolate down", async () => {
    await fails(sandbox.run(`"x".repeat(2 ** 30);`, { payload: [], device: device() }), "exception");
    await fails(sandbox.run(`new ArrayBuffer(2 ** 31);`, { payload: [], device: device() }), "exception");
  });
});

describe("nothing reaches the host", () => {
  test("no require, process, fetch, timers, module system", async () => {
    const result = await sandbox.run(
      `payload = ["require", "process", "fetch", "setTimeout", "setInterval", "setImmediate", "queueMicrotask", "module", "exports", "global", "XMLHttpRequest", "WebAssembly", "SharedArrayBuffer"]
         .map((name) => ({ variable: name, value: typeof globalThis[name] }));`,
      { payload: [], device: device() },
    );
    for (const record of result.payload as { variable: string; value: string }[]) assert.equal(record.value, "undefined", record.variable);
  });

  test("calling them throws inside the sandbox", async () => {
    for (const script of [`process.exit(1);`, `require("fs");`, `fetch("http://example.com");`, `setTimeout(() => {}, 1);`]) {
      const error = await fails(sandbox.run(script, { payload: [], device: device() }), "exception");
      assert.match(error.message, /^ReferenceError: \w+ is not defined/);
    }
  });

  test("constructor chains lead to the isolate's own Function, which knows no process", async () => {
    const escapes = [
      `globalThis.constructor.constructor("return process")()`,
      `this.constructor.constructor("return process")()`,
      `payload.constructor.constructor("return process")()`,
      `(() => {}).constructor("return process")()`,
      `dayjs.constructor("return process")()`,
      `Buffer.constructor("return process")()`,
    ];
    for (const escape of escapes) {
      const error = await fails(sandbox.run(`payload = [{ variable: "p", value: typeof (${escape}) }];`, { payload: [], device: device() }), "exception");
      assert.match(error.message, /^ReferenceError: process is not defined/, escape);
    }
    // The async one rejects its promise instead of throwing; left unhandled, that fails the run.
    const asyncEscape = `Object.getPrototypeOf(async function () {}).constructor("return process")()`;
    const error = await fails(sandbox.run(`${asyncEscape};`, { payload: [], device: device() }), "exception");
    assert.match(error.message, /process is not defined/);
    const result = await sandbox.run(`payload = [{ variable: "g", value: typeof globalThis.constructor.constructor("return this")().require }];`, {
      payload: [],
      device: device(),
    });
    assert.deepEqual(result.payload, [{ variable: "g", value: "undefined" }]);
  });

  test("import() is refused", async () => {
    const error = await fails(sandbox.run(`import("fs");`, { payload: [], device: device() }), "exception");
    assert.match(error.message, /not supported/i);
    const handled = await sandbox.run(`import("fs").catch(() => {}); payload = [];`, { payload: [], device: device() });
    assert.deepEqual(handled.payload, []);
  });

  test("the host process is untouched by parsers that try", async () => {
    const exitCode = process.exitCode;
    const envKeys = Object.keys(process.env).sort();
    const hostGlobals = Object.getOwnPropertyNames(globalThis).length;
    const attempts = [
      `process.exitCode = 3;`,
      `globalThis.constructor.constructor("process.exitCode = 3")();`,
      `this.constructor.constructor("process.env.HACKED = '1'")();`,
      `globalThis.hostLeak = 1;`,
      `Object.prototype.polluted = true;`,
      `Array.prototype.push = () => 0;`,
      `JSON.parse = () => ({ hacked: true });`,
    ];
    for (const script of attempts) await sandbox.run(script, { payload: [], device: device() }).catch(() => undefined);
    assert.equal(process.exitCode, exitCode);
    assert.equal(process.env.HACKED, undefined);
    assert.deepEqual(Object.keys(process.env).sort(), envKeys);
    assert.equal(Object.getOwnPropertyNames(globalThis).length, hostGlobals);
    assert.equal((globalThis as Record<string, unknown>).hostLeak, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(JSON.parse('{"a":1}'), { a: 1 });
  });
});

describe("no state survives from one message to the next", () => {
  test("a global set in one run is gone in the next", async () => {
    const subject = device();
    await sandbox.run(`counter = 1; globalThis.other = 2; var declared = 3; this.viaThis = 4;`, { payload: [], device: subject });
    const result = await sandbox.run(
      `payload = [typeof counter, typeof other, typeof declared, typeof viaThis].map((value) => ({ variable: "t", value }));`,
      { payload: [], device: subject },
    );
    assert.deepEqual((result.payload as { value: unknown }[]).map((r) => r.value), ["undefined", "undefined", "undefined", "undefined"]);
  });

  test("built-ins cannot be patched for a later run", async () => {
    const subject = device();
    const patches = `
      Array.prototype.map = function () { return ["patched"]; };
      Object.prototype.polluted = "yes";
      JSON.stringify = () => "[]";
      Math.random = () => 4;
      dayjs.prototype.format = () => "patched";
      Buffer.from = () => "patched";
      timeUtils.isValidTimezone = () => false;
      console.log = () => {};
      payload = [];`;
    await sandbox.run(patches, { payload: [], device: subject });
    const result = await sandbox.run(
      `console.log("still here");
       payload = [
         { variable: "map", value: [1].map((x) => x + 1)[0] },
         { variable: "polluted", value: typeof ({}).polluted },
         { variable: "random", value: Math.random() < 1 },
         { variable: "format", value: dayjs.utc("2024-01-01").format("YYYY") },
         { variable: "buffer", value: Buffer.from("ab", "hex")[0] },
         { variable: "tz", value: timeUtils.isValidTimezone("UTC") },
       ];`,
      { payload: [], device: subject },
    );
    assert.deepEqual((result.payload as { value: unknown }[]).map((r) => r.value), [2, "undefined", true, "2024", 0xab, true]);
    assert.deepEqual(result.logs, [{ level: "log", message: "still here" }]);
  });

  test("patching a built-in in strict code is a TypeError, not a silent change", async () => {
    const error = await fails(sandbox.run(`"use strict";\nArray.prototype.map = null;`, { payload: [], device: device() }), "exception");
    assert.match(error.message, /^TypeError/);
  });

  test("objects may still override inherited methods (the frozen-prototype override mistake is avoided)", async () => {
    const result = await sandbox.run(
      `class DecodeError extends Error { constructor(m) { super(m); this.name = "DecodeError"; } }
       const point = { x: 1 }; point.toString = () => "P";
       function Reading() {} Reading.prototype.valueOf = function () { return 7; };
       payload = [
         { variable: "name", value: new DecodeError("m").name },
         { variable: "str", value: String(point) },
         { variable: "num", value: new Reading() + 1 },
       ];`,
      { payload: [], device: device() },
    );
    assert.deepEqual((result.payload as { value: unknown }[]).map((r) => r.value), ["DecodeError", "P", 8]);
  });

  test("global lexical declarations through eval do not survive", async () => {
    const subject = device();
    await sandbox.run(`(0, eval)("let kept = 1; class Kept {}"); eval("var alsoKept = 2");`, { payload: [], device: subject });
    const result = await sandbox.run(`payload = [{ variable: "t", value: [typeof kept, typeof Kept, typeof alsoKept].join() }];`, { payload: [], device: subject });
    assert.deepEqual(result.payload, [{ variable: "t", value: "undefined,undefined,undefined" }]);
  });

  test("a script cannot close its wrapper to run code outside it", async () => {
    const error = await fails(sandbox.run(`}); let leaked = 1; (() => {`, { payload: [], device: device() }), "compile");
    assert.match(error.message, /must be a script on its own/);
  });

  test("the parser function itself cannot carry state", async () => {
    const subject = device();
    const script = `function probe() { return probe.caller; }
      const self = probe();
      if (self) self.count = (self.count || 0) + 1;
      payload = [{ variable: "count", value: String(self && self.count) }];`;
    const first = await sandbox.run(script, { payload: [], device: subject });
    const second = await sandbox.run(script, { payload: [], device: subject });
    assert.deepEqual(first.payload, second.payload);
  });

  test("a dayjs default timezone or locale set by one run is reset for the next", async () => {
    const subject = device();
    await sandbox.run(`dayjs.tz.setDefault("Asia/Tokyo");`, { payload: [], device: subject });
    const result = await sandbox.run(`payload = [{ variable: "t", value: dayjs.tz("2024-01-01 00:00").toISOString() }];`, { payload: [], device: subject });
    // Without a default, dayjs.tz reads the wall clock in the host's zone; with Tokyo's it would be 2023-12-31T15:00.
    const expected = new Date(2024, 0, 1, 0, 0).toISOString();
    assert.deepEqual(result.payload, [{ variable: "t", value: expected }]);
  });

  test("RegExp legacy statics of one run are cleared for the next", async () => {
    const subject = device();
    await sandbox.run(`/(secret-\\d+)/.exec("token secret-42");`, { payload: [], device: subject });
    const result = await sandbox.run(`payload = [{ variable: "t", value: RegExp.$1 + "|" + RegExp.lastMatch }];`, { payload: [], device: subject });
    assert.deepEqual(result.payload, [{ variable: "t", value: "|" }]);
  });

  test("a global pinned as non-configurable makes the sandbox replace the context", async () => {
    const subject = device();
    await sandbox.run(`Object.defineProperty(globalThis, "pinned", { value: 1, configurable: false }); payload = [];`, { payload: [], device: subject });
    const result = await sandbox.run(`payload = [{ variable: "t", value: typeof pinned }];`, { payload: [], device: subject });
    assert.deepEqual(result.payload, [{ variable: "t", value: "undefined" }]);
  });

  test("runs of one device queued together each see their own input", async () => {
    const subject = device();
    const script = `payload = [{ variable: "echo", value: payload[0].value }];`;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => sandbox.run(script, { payload: raw(String(i)), device: subject })));
    assert.deepEqual(results.map((r) => (r.payload as { value: unknown }[])[0]!.value), Array.from({ length: 20 }, (_, i) => String(i)));
  });
});

describe("runs of one device waiting together share one call, not their failures", () => {
  // Runs queued for one device at once go into its isolate in one call (DeviceIsolate.runMany);
  // each must still behave as if it had run alone.
  const echo = (index: number) => raw(String(index));
  const values = (results: PromiseSettledResult<{ payload: unknown }>[]) =>
    results.map((r) => (r.status === "fulfilled" ? (r.value.payload as { value: unknown }[])[0]!.value : (r.reason as ParserError).kind));

  async function together(script: string, count: number, subject = device(), limits?: { timeoutMs?: number }) {
    return Promise.allSettled(Array.from({ length: count }, (_, i) => sandbox.run(script, { payload: echo(i), device: subject }, limits)));
  }

  test("a message that throws fails alone; the others keep their outputs and console lines", async () => {
    const script = `console.log("run " + payload[0].value); if (payload[0].value === "3") throw new Error("bad frame"); payload = [{ variable: "echo", value: payload[0].value }];`;
    const results = await together(script, 8);
    assert.deepEqual(values(results), ["0", "1", "2", "exception", "4", "5", "6", "7"]);
    const failed = (results[3] as PromiseRejectedResult).reason as ParserError;
    assert.equal(failed.message, "Error: bad frame");
    assert.deepEqual(failed.logs, [{ level: "log", message: "run 3" }]);
    results.forEach((r, i) => {
      if (r.status === "fulfilled") assert.deepEqual(r.value.logs, [{ level: "log", message: `run ${i}` }]);
    });
  });

  test("a message that loops forever times out alone; the others are stored", async () => {
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const started = Date.now();
    const results = await together(`if (payload[0].value === "2") while (true) {} payload = [{ variable: "echo", value: payload[0].value }];`, 6);
    delay.disable();
    assert.deepEqual(values(results), ["0", "1", "timeout", "3", "4", "5"]);
    assert.ok(Date.now() - started >= 190, "the looping message had its whole time limit");
    assert.ok(delay.max / 1e6 < 120, `event loop held for ${(delay.max / 1e6).toFixed(1)} ms`);
  });

  test("with the slice as long as the time limit, the looping message still fails alone", async () => {
    const variant = new IsolateParserSandbox({ loopSliceMs: 1000 });
    try {
      const subject = device();
      const script = `if (payload[0].value === "1") while (true) {} payload = [{ variable: "echo", value: payload[0].value }];`;
      const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => variant.run(script, { payload: echo(i), device: subject }, { timeoutMs: 50 })));
      assert.deepEqual(values(results), ["0", "timeout", "2", "3"]);
    } finally {
      await variant.close();
    }
  });

  test("a message that exhausts the heap fails alone; the others are stored", async () => {
    const script = `if (payload[0].value === "2") { const all = []; while (true) all.push(new Array(100000).fill(1)); } payload = [{ variable: "echo", value: payload[0].value }];`;
    const results = await together(script, 5);
    assert.deepEqual(values(results), ["0", "1", "memory", "3", "4"]);
  });

  test("a message that leaves a promise rejected fails alone", async () => {
    const results = await together(`if (payload[0].value === "1") import("fs"); payload = [{ variable: "echo", value: payload[0].value }];`, 4);
    assert.deepEqual(values(results), ["0", "exception", "2", "3"]);
  });

  test("globals of one message are gone for the next one in the same call", async () => {
    const script = `payload = [{ variable: "seen", value: typeof leaked }]; leaked = 1; globalThis.other = 2;`;
    const results = await together(script, 5);
    assert.deepEqual(values(results), ["undefined", "undefined", "undefined", "undefined", "undefined"]);
  });

  test("a message that pins a global: the messages after it get a fresh context", async () => {
    const script = `payload = [{ variable: "seen", value: typeof pinned }]; if (raw_payload[0].value === "1") Object.defineProperty(globalThis, "pinned", { value: 1, configurable: false });`;
    const results = await together(script, 4);
    assert.deepEqual(values(results), ["undefined", "undefined", "undefined", "undefined"]);
  });

  test("each message gets its own inputs, and editing one message's device reaches no other", async () => {
    const subject = device({ params: [{ key: "k", value: "v", sent: false }] });
    const script = `const before = device.params.length; device.params.push({ key: "x" }); raw_payload[0].value = "edited"; payload = [{ variable: "p", value: payload[0].value + ":" + before }];`;
    const results = await together(script, 6, subject);
    assert.deepEqual(values(results), ["0:1", "1:1", "2:1", "3:1", "4:1", "5:1"]);
  });

  test("runs with other scripts or limits queued in between keep their own", async () => {
    const subject = device();
    const a = `payload = [{ variable: "a", value: payload[0].value }];`;
    const b = `payload = [{ variable: "b", value: payload[0].value }];`;
    const runs = [a, a, b, a, b, b].map((script, i) => sandbox.run(script, { payload: echo(i), device: subject }, i === 3 ? { timeoutMs: 100 } : undefined));
    const results = await Promise.all(runs);
    assert.deepEqual(results.map((r) => (r.payload as { variable: string; value: string }[])[0]).map((r) => `${r!.variable}${r!.value}`), ["a0", "a1", "b2", "a3", "b4", "b5"]);
  });
});

describe("isolates and their lifecycle", () => {
  test("isolates are bounded: the least recently used device loses its isolate", async () => {
    const small = new IsolateParserSandbox({ maxIsolates: 2 });
    try {
      for (let i = 0; i < 5; i++) await small.run(`payload = [];`, { payload: [], device: device() });
      assert.equal(small.isolateCount, 2);
    } finally {
      await small.close();
    }
  });

  test("runs always on threads (loopSliceMs 0), or always on the event loop, behave the same", async () => {
    for (const loopSliceMs of [0, 1000]) {
      const variant = new IsolateParserSandbox({ loopSliceMs });
      try {
        const result = await variant.run(TAGO_PARSER, { payload: raw("0a2b1388"), device: device() });
        assert.equal((result.payload as unknown[]).length, 3);
        await fails(variant.run(`while (true) {}`, { payload: [], device: device() }), "timeout");
        await fails(variant.run(`throw new Error("x")`, { payload: [], device: device() }), "exception");
        const subject = device();
        await fails(variant.run(`const all = []; while (true) all.push(new Array(100000).fill(1));`, { payload: [], device: subject }, ROOM_TO_FILL_THE_HEAP), "memory");
        assert.deepEqual((await variant.run(`payload = [];`, { payload: [], device: subject })).payload, []);
      } finally {
        await variant.close();
      }
    }
  });

  test("a parser slower than the event-loop slice is run again on a thread, invisibly", async () => {
    const subject = device();
    const slow = `console.log("run"); const until = Date.now() + 30; while (Date.now() < until) {} payload = [{ variable: "slow", value: true }];`;
    for (let i = 0; i < 3; i++) {
      const result = await sandbox.run(slow, { payload: [], device: subject });
      assert.deepEqual(result.payload, [{ variable: "slow", value: true }]);
      assert.deepEqual(result.logs, [{ level: "log", message: "run" }], "only the attempt that counted writes to the console");
    }
  });

  test("a parser running to its time limit holds the event loop for the slice only", async () => {
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    await fails(sandbox.run(`while (true) {}`, { payload: [], device: device() }), "timeout");
    delay.disable();
    const maxMs = delay.max / 1e6;
    assert.ok(maxMs < 120, `event loop held for ${maxMs.toFixed(1)} ms`);
  });

  test("after close, runs are refused", async () => {
    const closing = new IsolateParserSandbox();
    await closing.run(`payload = [];`, { payload: [], device: device() });
    await closing.close();
    assert.equal(closing.isolateCount, 0);
    await assert.rejects(closing.run(`payload = [];`, { payload: [], device: device() }), { code: "SANDBOX_CLOSED" });
  });

  test("a run in flight when the sandbox closes is refused, not reported as the parser's fault", async () => {
    const closing = new IsolateParserSandbox();
    await closing.run(`payload = [];`, { payload: [], device: device() });
    const subject = device();
    const running = closing.run(`while (true) {}`, { payload: [], device: subject }, { timeoutMs: 2000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await closing.close();
    await assert.rejects(running, { code: "SANDBOX_CLOSED" });
  });

  test("invalid limits are refused", async () => {
    await assert.rejects(sandbox.run(`payload = []`, { payload: [], device: device() }, { memoryMb: 4 }), { code: "INVALID_INPUT" });
    await assert.rejects(sandbox.run(`payload = []`, { payload: [], device: device() }, { timeoutMs: 0 }), { code: "INVALID_INPUT" });
  });
});
